#!/usr/bin/env bash
# sqlite-only: edits the database file with the sqlite3 shell
# Attack: open a spent self-service link again by putting back the whole
# self-service table and its pinned set as they were while the link was
# unused (a genuine older state: every row's MAC and the set's tag match).
# The trail, which goes on, names the link's open: the exchange finds it
# and refuses as an integrity failure, handing out no session. The lookup
# goes through the partial index of opens, not a walk of the trail.
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

a5_start
person_link "a link for the person"
# the whole table and its pin, copied while the link is unused
selfsvc_keep
expect "the pinned set was copied" test -n "$SET"
req "the person opens her data" 201 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
req "the link works once" 410 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
check "the trail names the open by a link ID" 0 "$BIN" audit log
expect "... which tells nothing of the secret" \
	grep -q "selfservice.open.*link:[0-9a-f]\{32\}" <<<"$out"
expect "... and not the secret itself" bash -c '! grep -qF "$1" <<<"$2"' _ "$SECRET" "$out"

e2e_serve_stop
selfsvc_put_back
expect "the link's row is unused again" \
	test "$(rows 'SELECT count(*) FROM selfsvc WHERE kind = 0 AND used_at = 0')" = 1
expect "no session is left" test "$(rows 'SELECT count(*) FROM selfsvc WHERE kind = 1')" = 0
e2e_must "the server starts again" start
req "the link put back opens nothing" 500 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
expect "... as an integrity failure" jqx '.error.code == "integrity"' <<<"$body"
expect "no second session was handed out" \
	test "$(rows 'SELECT count(*) FROM selfsvc WHERE kind = 1')" = 0
expect "the link's row stays unused (nothing was written)" \
	test "$(rows 'SELECT count(*) FROM selfsvc WHERE kind = 0 AND used_at = 0')" = 1
e2e_serve_stop
check "the refusal is in the trail" 0 "$BIN" audit log
expect "... as an integrity failure" grep -q "selfservice.open.*integrity" <<<"$out"

# the lookup's plan: the partial index, never a scan of the trail
plan=$(rows "EXPLAIN QUERY PLAN SELECT count(*) FROM audit WHERE action = 'selfservice.open' AND outcome = 'ok' AND fields = 'link:x' AND subject = 'y'")
expect "the lookup uses the index of opens" grep -q "audit_selfsvc_open" <<<"$plan"

# a new link for the same person still works
e2e_must "the server starts once more" start
req "a new link" 201 POST "/v1/subjects/$ID/self-service-link" "$TOK_DPO"
SECRET=$(jq -r .secret <<<"$body")
req "opens a session" 201 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
e2e_finish
