#!/usr/bin/env bash
# End-to-end: the set of self-service rows is pinned, so a link's row copied
# while it was unused and written back after the link was spent (with the
# database, without the key) opens nothing: the exchange fails with
# integrity and `audit verify` exits 5. A row deleted or slipped in shows
# the same way. And a restriction's ledger entry names the way it came in:
# "api" through the server, "cli" from the command line.
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

a5_start
person_link "a link for the person"

# --- a spent link's row written back as it was unused ------------------------
# the row copied while unused (its columns kept by the shell: no table of
# our own, which a backup would refuse on PostgreSQL)
K=$(rows "SELECT hex(hash) || '|' || subject_id || '|' || created_at || '|' || expires_at || '|' || hex(mac) FROM selfsvc WHERE kind = 0")
IFS='|' read -r KH KS KC KE KM <<<"$K"
expect "the unused row was copied" test -n "$KM"
KEPT="(x'$KH', '$KS', 0, $KC, $KE, 0, x'$KM')"
COLS="(hash, subject_id, kind, created_at, expires_at, used_at, mac)"
req "the person opens her data" 201 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
req "the link works once" 410 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
rows "DELETE FROM selfsvc WHERE hash = x'$KH'; INSERT INTO selfsvc $COLS VALUES $KEPT"
expect "the row is unused again" \
	test "$(rows 'SELECT count(*) FROM selfsvc WHERE kind = 0 AND used_at = 0')" = 1
req "the row written back opens nothing" 500 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
expect "no second session was handed out" \
	test "$(rows 'SELECT count(*) FROM selfsvc WHERE kind = 1')" = 1
check "audit verify reports it" 5 "$BIN" audit verify
expect "and names the self-service rows" grep -q "self-service" <<<"$out$err"

# --- the row deleted: still not the set the register pinned ----------------
rows "DELETE FROM selfsvc WHERE kind = 0"
check "the written-back row deleted: verify still fails" 5 "$BIN" audit verify
# the spent row as the register wrote it cannot be made without the key; a
# restore is the way back, and it ends every link
e2e_serve_stop
check "the trail has the refusal" 0 "$BIN" audit log
expect "as an integrity failure" grep -q "selfservice.open.*integrity" <<<"$out"
check "a backup" 0 "$BIN" backup "$WORK/b.db"
check "the restore" 0 "$BIN" restore "$WORK/b.db"
check "verify passes after the restore" 0 "$BIN" audit verify
expect "no link or session survives a restore" test "$(rows 'SELECT count(*) FROM selfsvc')" = 0
e2e_must "the server starts again" start

# --- a row slipped in (an old one, under its own valid MAC), one deleted ----
OLD=$SECRET
req "a new link after the restore" 201 POST "/v1/subjects/$ID/self-service-link" "$TOK_DPO"
SECRET=$(jq -r .secret <<<"$body")
rows "INSERT INTO selfsvc $COLS VALUES $KEPT"
check "a row slipped in fails verify" 5 "$BIN" audit verify
req "the slipped-in link opens nothing" 500 POST /v1/self/session "" "{\"secret\":\"$OLD\"}"
req "nor does the new one while the set is wrong" 500 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
rows "DELETE FROM selfsvc WHERE hash = x'$KH'"
check "without it the register verifies" 0 "$BIN" audit verify
req "and the new link works" 201 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
rows "DELETE FROM selfsvc WHERE kind = 1"
check "a session deleted fails verify" 5 "$BIN" audit verify

# --- a restriction's channel -------------------------------------------------
req "restricted through the server" 200 POST "/v1/subjects/$ID/restrict" "$TOK_DPO" '{"reason":"kiistetty osoite"}'
IN='' check "lifted from the command line" 0 "$BIN" unrestrict "$ID" --reason "osoite tarkistettu"
check "the history" 0 "$BIN" --json consent history "$ID"
expect "the server's restriction says api" \
	jqx '[.[] | select(.scope == "rk:restriction" and .given == true)] | length == 1 and .[0].channel == "api"' <<<"$out"
expect "the command line's lift says cli" \
	jqx '[.[] | select(.scope == "rk:restriction" and .given == false)] | length == 1 and .[0].channel == "cli"' <<<"$out"
e2e_finish
