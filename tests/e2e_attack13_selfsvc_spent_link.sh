#!/usr/bin/env bash
# A spent self-service link written back as it was unused: the one-time
# binding of the self-service set (for registers from before its pin)
# walked the trail without its kept head, so with the pin removed, the
# binding's mark set and the audit table emptied for one open, it pinned
# the rows as they were, edit and all, and the entries put back chained on.
# Now a trail that does not reach its kept head binds nothing: the spent
# link opens nothing and audit verify refuses. (A whole older copy of the
# set with its pin is a rollback the pins cannot see.) Ends with "N
# passed, N failed".
# sqlite-only: rows are edited with the sqlite3 shell.
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

a5_start
person_link "a link for the person"
K=$(rows "SELECT hex(hash) || '|' || subject_id || '|' || created_at || '|' || expires_at || '|' || hex(mac) FROM selfsvc WHERE kind = 0")
IFS='|' read -r KH KS KC KE KM <<<"$K"
KEPT="(x'$KH', '$KS', 0, $KC, $KE, 0, x'$KM')"
COLS="(hash, subject_id, kind, created_at, expires_at, used_at, mac)"
req "the person opens her data" 201 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
req "the link works once" 410 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
e2e_serve_stop
check "verify passes" 0 "$BIN" audit verify
cp "$REKISTERI_DB" "$WORK/spent.db"

# the binding redone over an emptied trail
cp "$WORK/spent.db" "$REKISTERI_DB"; rm -f "$REKISTERI_DB-wal" "$REKISTERI_DB-shm"
rows "VACUUM INTO '$WORK/trail.db'" >/dev/null
rows "DELETE FROM selfsvc WHERE kind = 0; INSERT INTO selfsvc $COLS VALUES $KEPT;
	DELETE FROM meta WHERE key = 'selfsvc_set';
	INSERT OR REPLACE INTO meta (key, value) VALUES ('selfsvc_set_pending', X'01');
	DELETE FROM audit;"
"$BIN" subject list >/dev/null 2>&1
rows "ATTACH '$WORK/trail.db' AS t; INSERT INTO audit SELECT * FROM t.audit;"
check "audit verify refuses the written-back link" 5 "$BIN" audit verify
e2e_must "the server starts" start
req "the spent link opens nothing" 500 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
e2e_finish
