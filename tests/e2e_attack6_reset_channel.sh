#!/usr/bin/env bash
# A cookie reset is an entry of the subject's ledger, the evidence of how
# it was asked for; every reset was kept there as channel "cli", also one
# made through the API (DELETE /v1/subjects/ID/cookies, where a consent's
# channel defaults to "api") and one the subject made on their own page
# (DELETE /v1/self/cookies, "web" like the page's consents). The ledger
# must name the channel the reset came through. Ends with "N passed, N
# failed".
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

a5_start
person_link "a self-service link"
resets() { # the channels of the subject's reset entries, in order
	"$BIN" --json consent history "$ID" | jq -r '[.[] | select(.scope == "rk:cookie_reset") | .channel] | join(",")'
}
req "link a cookie" 201 POST "/v1/subjects/$ID/cookies" "$TOK_DPO" '{"cookie":"c-one-1234567890"}'
check "reset from the command line" 0 "$BIN" cookie reset "$ID"
req "link another" 201 POST "/v1/subjects/$ID/cookies" "$TOK_DPO" '{"cookie":"c-two-1234567890"}'
req "reset through the API" 200 DELETE "/v1/subjects/$ID/cookies" "$TOK_DPO"
req "link a third" 201 POST "/v1/subjects/$ID/cookies" "$TOK_DPO" '{"cookie":"c-three-1234567890"}'
req "reset the profile through the API" 200 DELETE "/v1/subjects/$ID/cookies?profile=1" "$TOK_DPO"
req "the link is exchanged for a session" 201 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
SES=$(jq -r .token <<<"$body")
req "link a fourth" 201 POST "/v1/subjects/$ID/cookies" "$TOK_DPO" '{"cookie":"c-four-1234567890"}'
req "the subject resets on their own page" 200 DELETE /v1/self/cookies "$SES"
expect "the ledger names each reset's channel" test "$(resets)" = "cli,api,api,web"
# A reset that finds nothing after an earlier one is audited but adds no
# ledger entry (the earlier one covers a restore), so the subject cannot
# grow their own ledger by resetting again and again.
req "an empty reset on their own page" 200 DELETE /v1/self/cookies "$SES"
req "and one through the API" 200 DELETE "/v1/subjects/$ID/cookies" "$TOK_DPO"
expect "adds no ledger entry" test "$(resets)" = "cli,api,api,web"
e2e_serve_stop
check "audit verify passes" 0 "$BIN" audit verify
e2e_finish
