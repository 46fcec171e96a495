#!/usr/bin/env bash
# The web console and the self-service page: the static files' headers and
# path checks with curl, the self-service API with curl (single use,
# refusals, own subject only, audit), then both flows in headless Chromium
# through Playwright (tests/browser/console.test.mjs), with screenshots in
# the build directory (screenshots/). Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/browser-setup.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

check "init" 0 "$BIN" init --policy "$POLICY"
TOK_DPO=$("$BIN" actor add dpo1 --role dpo) || bad "actor add dpo1"
TOK_CS=$("$BIN" actor add cs1 --role customer_service) || bad "actor add cs1"
TOK_ADM=$("$BIN" actor add adm1 --role admin) || bad "actor add adm1"
check "a missing --web-dir is refused" 2 "$BIN" serve --listen 127.0.0.1:0 --web-dir "$WORK/nowhere"

e2e_must "the server starts" start
ok "the server starts with --web-dir"

# ---- static files ----
req "GET /console" 200 GET /console
expect "HTML" grep -qi '^content-type: text/html' "$WORK/hdr"
expect "CSP without inline script or style" grep -qi "^content-security-policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'" "$WORK/hdr"
expect "X-Frame-Options DENY" test "$(hdr X-Frame-Options)" = DENY
expect "nosniff" test "$(hdr X-Content-Type-Options)" = nosniff
expect "no referrer" test "$(hdr Referrer-Policy)" = no-referrer
expect "pages are revalidated" test "$(hdr Cache-Control)" = no-cache
expect "no inline script or style in the pages" bash -c "! grep -qiE '<script>|<script [^>]*>[^<]|<style|[[:space:]]style=|[[:space:]]on[a-z]+=' '$SRC/web/console.html' '$SRC/web/me.html'"
expect "no innerHTML, outerHTML, insertAdjacentHTML or document.write in the scripts" bash -c "! grep -nE 'innerHTML|outerHTML|insertAdjacentHTML|document\\.write' '$SRC'/web/*.js"
req "GET /me" 200 GET /me
req "GET /assets/console.js" 200 GET /assets/console.js
expect "JavaScript type" grep -qi '^content-type: text/javascript' "$WORK/hdr"
req "GET /assets/style.css" 200 GET /assets/style.css
expect "CSS type" grep -qi '^content-type: text/css' "$WORK/hdr"
req "the API answers carry the same headers" 200 GET /healthz
expect "CSP on JSON too" grep -qi "^content-security-policy: default-src 'none'" "$WORK/hdr"
expect "API answers are not stored" test "$(hdr Cache-Control)" = no-store
for p in /assets/ /assets/../console.html /assets/..%2fconsole.html /assets/.hidden.js \
	/assets/console.html /assets/x/../console.js /console/../me /assets/CONSOLE.JS \
	/assets/package.json /console/x /me/../../etc/passwd /assets/%2e%2e/x.js; do
	code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$U$p")
	if [ "$code" = 404 ] || [ "$code" = 400 ]; then ok "refused: $p ($code)"; else bad "refused: $p (status $code)"; fi
done
req "POST /console is 405" 405 POST /console

# ---- a subject to work on ----
XSS_A='Maija <script>window.__xss=1;alert(1)</script>'
XSS_B='<img src=x onerror="window.__xss=1;alert(2)">'
EMAIL=maija.meikalainen@example.fi
subj=$(jq -nc --arg a "$XSS_A" --arg b "$XSS_B" --arg e "$EMAIL" \
	'{kind: "customer", fields: {first_name: $a, last_name: $b, email: $e, phone: "0401234567"}}')
req "add a subject whose values hold markup" 201 POST /v1/subjects "$TOK_DPO" "$subj"
ID=$(jq -r .id <<<"$body")
req "give an e-mail marketing consent" 201 POST "/v1/subjects/$ID/consents" "$TOK_DPO" '{"scope":"email_marketing","given":true,"channel":"web"}'
req "add a feedback record with markup in it" 201 POST "/v1/subjects/$ID/records" "$TOK_DPO" '{"type":"feedback","fields":{"kind":"complaint","text":"Paketti <b>myöhässä</b> <img src=x onerror=alert(3)>","product":"Skanneri X"}}'
printf 'a letter from the customer\n' >"$WORK/letter.txt"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOK_DPO" \
	-H "Rekisteri-Purpose: customer_relationship" \
	-F 'record={"type":"communication","fields":{"channel":"email","direction":"inbound"}};type=application/json' \
	-F "attachment=@$WORK/letter.txt;type=text/plain" "$U/v1/subjects/$ID/records")
if [ "$code" = 201 ]; then ok "a record with an attachment"; else bad "a record with an attachment ($code)"; fi
req "link a cookie" 201 POST "/v1/subjects/$ID/cookies" "$TOK_DPO" '{"cookie":"c-one-1234567890"}'
req "link another cookie" 201 POST "/v1/subjects/$ID/cookies" "$TOK_DPO" '{"cookie":"c-two-1234567890"}'
req "add another subject" 201 POST /v1/subjects "$TOK_DPO" '{"kind":"customer","fields":{"first_name":"Other","last_name":"Person","email":"other@example.fi"}}'
OTHER=$(jq -r .id <<<"$body")
# a request received long ago: its deadline has passed
old=$(date -u -d '-100 days' +%F)
req "an old access request" 201 POST /v1/dsr "$TOK_DPO" "{\"subject\":\"$OTHER\",\"type\":\"access\",\"received\":\"$old\"}"

# ---- the self-service API ----
req "whoami" 200 GET /v1/whoami "$TOK_CS"
expect "whoami names the role and its purposes" jq -e '.role == "customer_service" and (.purposes | length) > 0' <<<"$body" >/dev/null
expect "a role that sees HETUs masked may not search by them" jq -e '[.lookup[] | select(.hetu)] | length == 0' <<<"$body" >/dev/null
req "whoami of the data protection lead" 200 GET /v1/whoami "$TOK_DPO"
expect "the lead may search by HETU and handles requests" jq -e '([.lookup[] | select(.hetu)] | length == 1) and .rights and .audit' <<<"$body" >/dev/null
req "the notice as text" 200 GET "/v1/notice?lang=en" "$TOK_CS"
req "the retention dry run" 200 GET /v1/retention/dry-run "$TOK_DPO"
expect "a dry run" jq -e '.dry_run == true' <<<"$body" >/dev/null
req "a link needs a token" 401 POST "/v1/subjects/$OTHER/self-service-link"
req "customer service may not issue a link (it opens all of the data)" 403 POST "/v1/subjects/$OTHER/self-service-link" "$TOK_CS"
req "the data protection lead issues a link" 201 POST "/v1/subjects/$OTHER/self-service-link" "$TOK_DPO"
S1=$(jq -r .secret <<<"$body")
expect "the link carries the secret after #" jq -e --arg s "$S1" '.path == "/me#" + $s' <<<"$body" >/dev/null
S1HEX=$(printf '%s' "$S1" | od -An -tx1 | tr -d ' \n')
expect "the secret is not stored" test "$(rows "SELECT count(*) FROM selfsvc WHERE hash = x'$S1HEX' OR subject_id = '$S1'")" = 0
req "a wrong secret is refused" 410 POST /v1/self/session "" '{"secret":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'
req "the link is exchanged for a session" 201 POST /v1/self/session "" "{\"secret\":\"$S1\"}"
SES=$(jq -r .token <<<"$body")
req "the link works once only" 410 POST /v1/self/session "" "{\"secret\":\"$S1\"}"
expect "a clear answer" jq -e '.error.code == "link_expired"' <<<"$body" >/dev/null
req "the session reads its own report" 200 GET /v1/self "$SES"
expect "the own subject only" jq -e --arg id "$OTHER" '.subject.id == $id' <<<"$body" >/dev/null
req "a session is no staff token" 401 GET "/v1/subjects/$ID" "$SES"
req "a staff token is no session" 401 GET /v1/self "$TOK_DPO"
req "compelling grounds are not the subject's" 400 POST /v1/self/objections "$SES" '{"purpose":"customer_relationship","compelling_grounds":"x"}'
req "a self request of another type is refused" 400 POST /v1/self/requests "$SES" '{"type":"access"}'
req "sign out" 200 DELETE /v1/self/session "$SES"
req "the ended session is refused" 401 GET /v1/self "$SES"
for i in 1 2 3; do
	req "link $i for one subject" 201 POST "/v1/subjects/$OTHER/self-service-link" "$TOK_DPO"
done
req "a fourth unused link is rate-limited" 429 POST "/v1/subjects/$OTHER/self-service-link" "$TOK_DPO"
expect "by the subject's live links" jq -e '.error.message | test("unused self-service links")' <<<"$body" >/dev/null
for i in $(seq 1 20); do
	curl -s -o "$WORK/body" -X POST -H "Authorization: Bearer $TOK_ADM" \
		-H "Rekisteri-Purpose: customer_relationship" "$U/v1/subjects/$OTHER/self-service-link"
done
req "an actor issues at most 20 links in ten minutes" 429 POST "/v1/subjects/$ID/self-service-link" "$TOK_ADM"
expect "by the actor's count" jq -e '.error.message | test("from this actor")' <<<"$body" >/dev/null
expect "with Retry-After" test -n "$(hdr Retry-After)"
req "another actor is not held back" 201 POST "/v1/subjects/$ID/self-service-link" "$TOK_DPO"
check "audit verify passes" 0 "$BIN" audit verify
log=$("$BIN" audit log 2>/dev/null)
expect "link issues are audited" grep -q "selfservice.link" <<<"$log"
expect "the subject's actions are audited as self-service" grep -q "(self-service).*subject.export" <<<"$log"
expect "a refused exchange is audited" grep -q "(self-service).*selfservice.open.*refused" <<<"$log"

# ---- in a real browser ----
if browser_skipped; then
	:
elif browser_missing; then
	bad "the browser run needs node, npm and chromium (scripts/install-deps.sh)"
else
	browser_setup "$SRC/tests/browser/console.test.mjs" || bad "npm ci"
	rm -rf "$BUILD/screenshots"
	out=$(U=$U TOK_DPO=$TOK_DPO SUBJECT=$ID EMAIL=$EMAIL XSS_A=$XSS_A XSS_B=$XSS_B \
		SHOTS="$BUILD/screenshots" node "$BR/console.test.mjs" 2>&1)
	browser_tally $? "$out"
	expect "screenshots were saved" test "$(ls "$BUILD/screenshots" | wc -l)" -ge 10
	check "audit verify passes after the browser run" 0 "$BIN" audit verify
fi

e2e_serve_stop
e2e_finish
