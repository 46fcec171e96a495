#!/usr/bin/env bash
# A self-service session signed out is gone: its row copied while the
# session was live and written back afterwards (with the database, without
# the key: the row's own MAC is valid) must not open the person's data
# again. Only the pinned set of self-service rows tells the row is no
# longer one the register holds; the session's use must ask it, as the
# link's exchange does. Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

a5_start
person_link
req "the person opens her data" 201 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
S=$(jq -r .token <<<"$body")
req "the session reads her data" 200 GET /v1/self "$S"
# the session's row copied while it is live (kept by the shell)
K=$(rows "SELECT hex(hash) || '|' || subject_id || '|' || created_at || '|' || expires_at || '|' || used_at || '|' || hex(mac) FROM selfsvc WHERE kind = 1")
IFS='|' read -r KH KS KC KE KU KM <<<"$K"
expect "the session's row was copied" test -n "$KM"
req "she signs out" 200 DELETE /v1/self/session "$S"
req "the session no longer works" 401 GET /v1/self "$S"
rows "INSERT INTO selfsvc (hash, subject_id, kind, created_at, expires_at, used_at, mac) VALUES (x'$KH', '$KS', 1, $KC, $KE, $KU, x'$KM')"
check "audit verify sees the row written back" 5 "$BIN" audit verify
req "the written-back session opens nothing" 500 GET /v1/self "$S"
expect "no personal data in the answer" test -z "$(grep -o 'Meikalainen' <<<"$body")"
req "nor does it act for her" 500 DELETE /v1/self/cookies "$S"
expect "the server's log names no session token" test -z "$(grep -F -- "$S" "$WORK/server.log")"
e2e_finish
