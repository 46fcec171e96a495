#!/usr/bin/env bash
# Stored markup against the web console and the self-service page, in
# headless Chromium (tests/browser/attack5.test.mjs): payloads with
# <script>, <img onerror>, <svg onload>, javascript: URLs, quotes and
# closing tags in every text field, a record, consent and objection
# evidence and a restriction reason; then the console (values, edit form,
# records, consent history, report, audit, requests) and /me must show
# them as text and run nothing. A foreign page must not frame the pages,
# read an answer or make a signed-in page act; the link's secret must not
# reach a URL, a Referer or localStorage. Invisible and direction-changing
# characters are refused at the API.
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/browser-setup.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

a5_start

MARK=PAYLOAD5
X1="$MARK\"><script>window.__xss=1;alert(1)</script>"
X2="$MARK'><img src=x onerror=\"window.__xss=1;alert(2)\">"
X3="$MARK<svg/onload=window.__xss=1>"
X4="javascript:window.__xss=1//$MARK"
X5="$MARK</td></tr></table><iframe src=javascript:alert(5)>"
X6="$MARK\`\${alert(6)}\` {{constructor.constructor('alert(7)')()}}"
EMAIL=xss.target@example.fi
subj=$(jq -nc --arg a "$X1" --arg b "$X2" --arg c "$X3" --arg d "$X4" --arg e "$X5" --arg f "$X6" --arg m "$EMAIL" \
	'{kind: "customer", fields: {first_name: $a, last_name: $b, city: $c, street_address: $d, organization: $e, job_title: $f, email: $m}}')
req "a subject with a payload in every text field" 201 POST /v1/subjects "$TOK_DPO" "$subj"
ID=$(jq -r .id <<<"$body")
rec=$(jq -nc --arg a "$X1" --arg b "$X4" '{type: "feedback", fields: {kind: "complaint", text: $a, product: $b}}')
req "a record with payloads" 201 POST "/v1/subjects/$ID/records" "$TOK_DPO" "$rec"
req "a consent with payload evidence" 201 POST "/v1/subjects/$ID/consents" "$TOK_DPO" \
	"$(jq -nc --arg e "$X2" '{scope: "email_marketing", given: true, channel: "web", evidence: $e}')"
req "an objection with payload evidence" 201 POST "/v1/subjects/$ID/objections" "$TOK_DPO" \
	"$(jq -nc --arg e "$X5" '{objection: "direct_marketing", channel: "web", evidence: $e}')"
req "an access request" 201 POST /v1/dsr "$TOK_DPO" "{\"subject\":\"$ID\",\"type\":\"access\"}"
N=$(jq -r .number <<<"$body")
req "extended with a payload reason" 200 POST "/v1/dsr/$N/extend" "$TOK_DPO" "$(jq -nc --arg r "$X1" '{reason: $r}')"
for ch in '\u202e' '\u200b' '\u2066' '\u061c' '\ufeff'; do
	req "a value with $ch is refused" 422 POST /v1/subjects "$TOK_DPO" \
		"{\"kind\":\"customer\",\"fields\":{\"first_name\":\"Ma${ch}ija\",\"email\":\"u@example.fi\"}}"
done
req "a self-service link" 201 POST "/v1/subjects/$ID/self-service-link" "$TOK_DPO"
SECRET=$(jq -r .secret <<<"$body")
req "requests before" 200 GET "/v1/dsr?all=1&limit=1000" "$TOK_DPO"
before=$(jq '.items | length' <<<"$body")

if browser_skipped; then
	:
elif browser_missing; then
	bad "the browser run needs node, npm and chromium (scripts/install-deps.sh)"
else
	browser_setup "$SRC/tests/browser/attack5.test.mjs" || bad "npm ci"
	out=$(U=$U TOK_DPO=$TOK_DPO SUBJECT=$ID EMAIL=$EMAIL SECRET=$SECRET MARK=$MARK \
		node "$BR/attack5.test.mjs" 2>&1)
	browser_tally $? "$out"
	expect "the browser run ran its steps" test "$np" -ge 10
	req "the subject is still there" 200 GET "/v1/subjects/$ID" "$TOK_DPO"
	req "requests after" 200 GET "/v1/dsr?all=1&limit=1000" "$TOK_DPO"
	expect "a foreign page opened no request" test "$(jq '.items | length' <<<"$body")" = "$before"
fi
e2e_serve_stop
check "audit verify passes" 0 "$BIN" audit verify
e2e_finish
