#!/usr/bin/env bash
# Attack: a data subject holding one self-service session floods
# the register of requests. POST /v1/self/requests opens a new request each
# time, with no limit and no check for an open request of the same type, so
# one person (or whoever holds a leaked link) fills the data protection
# lead's queue with erasure and rectification requests, each with its own
# legal deadline, at the speed of the network. A second request of a type
# that is still open should get the open one back (or 409/429), and the
# session's writes should have a budget.
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

a5_start
person_link "a self-service link"
req "the session" 201 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
SES=$(jq -r .token <<<"$body")
req "an erasure request" 201 POST /v1/self/requests "$SES" '{"type":"erasure"}'
first=$(jq -r .number <<<"$body")
for i in $(seq 1 25); do
	curl -s -o /dev/null -X POST -H "Authorization: Bearer $SES" \
		-H 'Content-Type: application/json' --data-binary '{"type":"erasure"}' \
		"$U/v1/self/requests"
	curl -s -o /dev/null -X POST -H "Authorization: Bearer $SES" \
		-H 'Content-Type: application/json' --data-binary '{"type":"rectification"}' \
		"$U/v1/self/requests"
done
req "the requests" 200 GET "/v1/dsr?limit=1000" "$TOK_DPO"
n=$(jq --arg id "$ID" '[.items[] | select(.subject == $id and .status == "open")] | length' <<<"$body")
if [ "$n" -le 2 ]; then ok "at most one open request per type ($n)"; else bad "at most one open request per type: $n open"; fi
expect "the first request is still there" jqx --argjson n "$first" '[.items[].number] | index($n) != null' <<<"$body"
check "audit verify passes" 0 "$BIN" audit verify

e2e_serve_stop
e2e_finish
