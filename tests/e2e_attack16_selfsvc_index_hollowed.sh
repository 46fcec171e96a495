#!/usr/bin/env bash
# sqlite-only: edits the database file with the sqlite3 shell
# Attack: open a spent self-service link again past the exchange's look-up
# of its earlier open. Someone who can write the database file puts back
# the self-service table and its pinned set as they were while the link was
# unused (as in e2e_attack15_selfsvc_table_rollback), and empties the
# partial index of opens the look-up goes through: dropped and made again
# with a condition no row meets, its old definition then written back into
# sqlite_schema (writable_schema). The trail itself is untouched and SQLite
# trusts the index, so the exchange finds no earlier open. What catches it
# is `audit verify`: a link opens once, and the trail now names two opens
# of the same link (docs/architecture.md says what stays open).
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

a5_start
person_link "a link for the person"
selfsvc_keep
req "the person opens her data" 201 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
req "the link works once" 410 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
e2e_serve_stop

# the table and its pin from the copy, and the index of opens hollowed
IDX_SQL=$(rows "SELECT sql FROM sqlite_schema WHERE name = 'audit_selfsvc_open'")
expect "the index of opens is there" test -n "$IDX_SQL"
selfsvc_put_back "
DROP INDEX audit_selfsvc_open;
CREATE INDEX audit_selfsvc_open ON audit(fields, subject) WHERE action = 'selfservice.open' AND outcome = 'ok' AND seq < 0;"
rows "PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = '${IDX_SQL//\'/\'\'}' WHERE name = 'audit_selfsvc_open';
PRAGMA writable_schema = OFF;"
expect "the index reads as it was" \
	test "$(rows "SELECT sql FROM sqlite_schema WHERE name = 'audit_selfsvc_open'")" = "$IDX_SQL"
expect "the trail still holds the open" \
	test "$(rows "SELECT count(*) FROM audit NOT INDEXED WHERE action = 'selfservice.open' AND outcome = 'ok'")" = 1
check "the trail's chain is untouched" 0 "$BIN" audit verify

e2e_must "the server starts again" start
# the exchange trusts the index: the status is recorded, not asserted
curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	--data-binary "{\"secret\":\"$SECRET\"}" "$U/v1/self/session" >"$WORK/status"
echo "the exchange past the emptied index answered $(cat "$WORK/status")"
e2e_serve_stop
check "audit verify reports the link opened twice" 5 "$BIN" audit verify
expect "... and names both entries" grep -q "opens a self-service link that entry [0-9]* opened already" <<<"$out$err"
e2e_finish
