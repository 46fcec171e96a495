#!/usr/bin/env bash
# End-to-end tests of the HTTP API server: a real `rekisteri serve` on a free
# loopback port, driven by curl. Every route, every error status, the role x
# purpose matrix, idempotency, ETags, pagination, concurrency (many clients
# creating and reading at once, counts match, audit verify passes after),
# and a shutdown under load that loses nothing committed. Ends with
# "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

command -v curl >/dev/null || { echo "curl is needed (scripts/install-deps.sh)"; exit 1; }

# start [OPTIONS...]: the script's server (e2e_serve); sets $P and $U
start() { e2e_serve --grace 20 "$@"; }

# req NAME WANT_STATUS METHOD PATH [TOKEN] [PURPOSE] [BODY] [CURL ARGS...]:
# the answer's body in $body, headers in $WORK/hdr
req() {
	local name=$1 want=$2 method=$3 path=$4 tok=${5-} pur=${6-} data=${7-}
	shift 4
	shift $(($# < 3 ? $# : 3))
	local args=(-s -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' -X "$method")
	[ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
	[ -n "$pur" ] && args+=(-H "Rekisteri-Purpose: $pur")
	[ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
	code=$(curl "${args[@]}" "$@" "$U$path")
	body=$(cat "$WORK/body")
	if [ "$code" = "$want" ]; then ok "$name"; else bad "$name (status $code, wanted $want: $body)"; fi
}
jqb() { jq -r "$1" <<<"$body"; }
hdr() { grep -i "^$1:" "$WORK/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

check "init" 0 "$BIN" init --policy "$POLICY"
check "a refused non-loopback address without TLS" 2 "$BIN" serve --listen 0.0.0.0:0
expect "it says why" grep -q "without TLS" <<<"$err"
for a in cs:customer_service mk:marketing dpo:dpo adm:admin bill:billing; do
	n=${a%%:*}
	"$BIN" actor add "$n" --role "${a#*:}" >"$WORK/tok.$n" || bad "actor add $n"
	printf -v "T_$n" '%s:%s' "$n" "$(cat "$WORK/tok.$n")"
done
# Customer service sends the bare token, as `actor add` printed it; the
# others name themselves (NAME:TOKEN).
T_cs=$(cat "$WORK/tok.cs")
CR=customer_relationship
MC=marketing_communications

e2e_must "the server starts and gets ready" start
ok "the server starts and gets ready"

# --- health, metrics, OpenAPI ----------------------------------------------------
req "healthz" 200 GET /healthz
req "readyz" 200 GET /readyz
expect "readyz says ready" test "$(jqb .status)" = ready
req "openapi" 200 GET /v1/openapi.json
expect "it is OpenAPI 3.1" test "$(jqb .openapi)" = 3.1.0
cp "$WORK/body" "$WORK/openapi.json"

# --- subjects ---------------------------------------------------------------------
NEW='{"kind":"customer","fields":{"first_name":"Aino","last_name":"Zyxwvutila","email":"aino@example.fi","hetu":"131052-308T"}}'
req "add a subject" 201 POST /v1/subjects "$T_cs" $CR "$NEW"
A=$(jqb .id)
expect "the answer is the ID" grep -qE '^[0-9a-f]{32}$' <<<"$A"
expect "Location names it" test "$(hdr Location)" = "/v1/subjects/$A"
expect "an X-Request-Id" test -n "$(hdr X-Request-Id)"
expect "no cache keeps it" test "$(hdr Cache-Control)" = no-store
req "read it" 200 GET "/v1/subjects/$A" "$T_cs" $CR
expect "its e-mail for customer service" test "$(jqb '.fields.email[0].value')" = aino@example.fi
expect "a masked HETU for customer service" test "$(jqb '.fields.hetu[0].value')" = "131052-****"
ETAG=$(hdr ETag)
expect "an ETag" test -n "$ETAG"

# the role x purpose matrix
req "marketing may not read for the customer relationship" 403 GET "/v1/subjects/$A" "$T_mk" $CR
expect "a 403 says refused" test "$(jqb .error.code)" = refused
req "marketing reads for marketing" 200 GET "/v1/subjects/$A" "$T_mk" $MC
expect "marketing sees no HETU" test "$(jqb '.fields.hetu')" = null
req "customer service may not read for marketing" 403 GET "/v1/subjects/$A" "$T_cs" $MC
req "billing sees the whole HETU" 200 GET "/v1/subjects/$A" "$T_bill" orders
expect "the whole HETU" test "$(jqb '.fields.hetu[0].value')" = 131052-308T
req "the DPO reads for misuse prevention" 200 GET "/v1/subjects/$A" "$T_dpo" misuse_prevention
req "billing may not read for analytics" 403 GET "/v1/subjects/$A" "$T_bill" analytics
req "an undeclared purpose" 422 GET "/v1/subjects/$A" "$T_cs" world_domination

req "look-up by e-mail" 200 POST /v1/lookup "$T_cs" $CR '{"by":"email","value":"AINO@example.fi"}'
expect "finds her" test "$(jqb '.ids[0]')" = "$A"
req "look-up of nobody" 200 POST /v1/lookup "$T_cs" $CR '{"by":"email","value":"nobody@example.fi"}'
expect "an empty list" test "$(jqb '.ids | length')" = 0

# ETag / If-Match
req "update with a stale ETag" 412 PATCH "/v1/subjects/$A" "$T_cs" $CR '{"fields":{"first_name":"Aune"}}' -H 'If-Match: "00000000000000000000000000000000"'
req "update with the ETag" 204 PATCH "/v1/subjects/$A" "$T_cs" $CR '{"fields":{"first_name":"Aune"}}' -H "If-Match: $ETAG"
req "the old ETag no longer matches" 412 PATCH "/v1/subjects/$A" "$T_cs" $CR '{"fields":{"first_name":"Anni"}}' -H "If-Match: $ETAG"
req "read the update" 200 GET "/v1/subjects/$A" "$T_cs" $CR
expect "the new name" test "$(jqb '.fields.first_name[0].value')" = Aune
expect "a new ETag" test "$(hdr ETag)" != "$ETAG"
ETAG2=$(hdr ETag)
req "the same ETag, weak, does not match" 412 PATCH "/v1/subjects/$A" "$T_cs" $CR '{"fields":{"first_name":"Anni"}}' -H "If-Match: W/$ETAG2"
req "a malformed If-Match" 400 PATCH "/v1/subjects/$A" "$T_cs" $CR '{"fields":{"first_name":"Anni"}}' -H "If-Match: ${ETAG2//\"/}"
req "a list with neither ETag" 412 PATCH "/v1/subjects/$A" "$T_cs" $CR '{"fields":{"first_name":"Anni"}}' -H "If-Match: $ETAG, \"x\""
req "read after the refused updates" 200 GET "/v1/subjects/$A" "$T_cs" $CR
expect "the name as it was" test "$(jqb '.fields.first_name[0].value')" = Aune
expect "the same ETag" test "$(hdr ETag)" = "$ETAG2"
req "a list with the ETag second" 204 PATCH "/v1/subjects/$A" "$T_cs" $CR '{"fields":{"first_name":"Anni"}}' -H "If-Match: $ETAG , $ETAG2"
req "read the listed update" 200 GET "/v1/subjects/$A" "$T_cs" $CR
expect "its name" test "$(jqb '.fields.first_name[0].value')" = Anni
req "update without If-Match" 204 PATCH "/v1/subjects/$A" "$T_cs" $CR '{"fields":{"city":"Turku"}}'

# idempotency
req "create with a key" 201 POST /v1/subjects "$T_cs" $CR '{"kind":"prospect","fields":{"email":"idem@example.fi"}}' -H 'Idempotency-Key: k-1'
I1=$(jqb .id)
req "the same key and body again" 201 POST /v1/subjects "$T_cs" $CR '{"kind":"prospect","fields":{"email":"idem@example.fi"}}' -H 'Idempotency-Key: k-1'
expect "the same ID" test "$(jqb .id)" = "$I1"
req "look-up finds one subject, not two" 200 POST /v1/lookup "$T_cs" $CR '{"by":"email","value":"idem@example.fi"}'
expect "one subject" test "$(jqb '.ids | length')" = 1
req "the same key with another body" 409 POST /v1/subjects "$T_cs" $CR '{"kind":"prospect","fields":{"email":"other@example.fi"}}' -H 'Idempotency-Key: k-1'
req "another actor's same key is its own" 201 POST /v1/subjects "$T_dpo" $CR '{"kind":"prospect","fields":{"email":"dpo-idem@example.fi"}}' -H 'Idempotency-Key: k-1'

# pagination
for i in 1 2 3 4 5; do
	curl -s -o /dev/null -X POST -H "Authorization: Bearer $T_cs" -H "Rekisteri-Purpose: $CR" \
		-H 'Content-Type: application/json' \
		--data-binary "{\"kind\":\"prospect\",\"fields\":{\"email\":\"page$i@example.fi\"}}" "$U/v1/subjects"
done
total=$("$BIN" --json subject list | jq length)
seen=0 cur= pages=0
while :; do
	req "a page of subjects" 200 GET "/v1/subjects?limit=2${cur:+&cursor=$cur}" "$T_cs"
	seen=$((seen + $(jqb '.items | length')))
	pages=$((pages + 1))
	cur=$(jqb '.next_cursor // empty')
	[ -z "$cur" ] || [ $pages -gt 50 ] && break
done
expect "the pages hold every subject once ($seen of $total)" test "$seen" = "$total"
req "a cursor not of ours" 400 GET "/v1/subjects?cursor=bm9wZQ" "$T_cs"
req "a bad limit" 400 GET "/v1/subjects?limit=0" "$T_cs"

req "end the relationship" 200 POST "/v1/subjects/$A/end" "$T_cs" $CR '{}'
req "undo the end" 200 DELETE "/v1/subjects/$A/end" "$T_cs" $CR
req "a conversion that lacks a required field" 422 POST "/v1/subjects/$I1/convert" "$T_cs" $CR '{"kind":"customer"}'
req "complete the prospect" 204 PATCH "/v1/subjects/$I1" "$T_cs" $CR '{"fields":{"last_name":"Idempotentti"}}'
req "convert the prospect to a customer" 200 POST "/v1/subjects/$I1/convert" "$T_cs" $CR '{"kind":"customer"}'
expect "a customer number issued" test "$(jqb .customer_number_issued)" = true

# --- records and attachments ------------------------------------------------------
REC='{"type":"purchase","fields":{"product":"OCR Scanner 3000","amount":"249.00","currency":"EUR"}}'
req "add a record" 201 POST "/v1/subjects/$A/records" "$T_cs" orders "$REC"
R1=$(jqb .record)
head -c 3000 /dev/urandom >"$WORK/att.bin"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $T_cs" \
	-H "Rekisteri-Purpose: $CR" \
	-F 'record={"type":"communication","fields":{"channel":"call","direction":"inbound"}};type=application/json' \
	-F "attachment=@$WORK/att.bin;type=audio/ogg" "$U/v1/subjects/$A/records")
body=$(cat "$WORK/body")
if [ "$code" = 201 ]; then ok "add a record with an attachment (multipart)"; else bad "multipart record ($code: $body)"; fi
R2=$(jqb .record)
req "list the records" 200 GET "/v1/subjects/$A/records?limit=1" "$T_cs" $CR
expect "one on the first page" test "$(jqb '.items | length')" = 1
C=$(jqb '.next_cursor')
req "the next page" 200 GET "/v1/subjects/$A/records?limit=1&cursor=$C" "$T_cs" $CR
expect "the second record" test "$(jqb '.items[0].id')" = "$R2"
code=$(curl -s -o "$WORK/att.out" -w '%{http_code}' -H "Authorization: Bearer $T_cs" \
	-H "Rekisteri-Purpose: $CR" "$U/v1/subjects/$A/records/$R2/attachment")
expect "the attachment streams back ($code)" test "$code" = 200
expect "byte for byte" cmp -s "$WORK/att.bin" "$WORK/att.out"
req "rectify a record" 200 PUT "/v1/subjects/$A/records/$R1" "$T_cs" orders '{"fields":{"product":"OCR Scanner 3001","amount":"249.00","currency":"EUR"}}'
req "an invalid record value" 422 PUT "/v1/subjects/$A/records/$R1" "$T_cs" orders '{"fields":{"amount":"lots"}}'
req "delete a record" 200 DELETE "/v1/subjects/$A/records/$R1" "$T_cs" orders
req "a deleted record is gone" 404 DELETE "/v1/subjects/$A/records/$R1" "$T_cs" orders
req "marketing may not add purchases" 403 POST "/v1/subjects/$A/records" "$T_mk" orders "$REC"

# --- consents, objections, may-contact, cookies -----------------------------------
req "give e-mail consent" 201 POST "/v1/subjects/$A/consents" "$T_cs" $CR '{"scope":"email_marketing","given":true,"channel":"web"}'
req "may-contact by e-mail" 200 GET "/v1/subjects/$A/may-contact?channel=email" "$T_mk" $MC
expect "yes" test "$(jqb .allowed)" = true
req "prohibit direct marketing" 201 POST "/v1/subjects/$A/objections" "$T_cs" $CR '{"objection":"direct_marketing","channel":"phone"}'
req "may-contact now" 200 GET "/v1/subjects/$A/may-contact?channel=email" "$T_mk" $MC
expect "no" test "$(jqb .allowed)" = false
req "the ledger" 200 GET "/v1/subjects/$A/consents" "$T_cs" $CR
expect "two entries" test "$(jqb 'length')" = 2
req "lift the prohibition" 201 POST "/v1/subjects/$A/objections" "$T_cs" $CR '{"objection":"direct_marketing","lift":true}'
req "an objection without a name" 400 POST "/v1/subjects/$A/objections" "$T_cs" $CR '{"lift":true}'
req "consent to analytics cookies" 201 POST "/v1/subjects/$A/consents" "$T_cs" $CR '{"scope":"analytics_cookies","given":true,"channel":"web"}'
req "link a cookie" 201 POST "/v1/subjects/$A/cookies" "$T_cs" $CR '{"cookie":"c-123456789"}'
req "a record through the cookie" 201 POST /v1/cookie-records "$T_mk" analytics '{"cookie":"c-123456789","type":"browsing","fields":{"url":"https://example.com/a","at":"2025-01-31T12:00:00Z"}}'
req "reset the cookie profile" 200 DELETE "/v1/subjects/$A/cookies?profile=1" "$T_cs" $CR
expect "one unlinked" test "$(jqb .unlinked)" = 1

# --- rights -------------------------------------------------------------------------
req "export as JSON" 200 GET "/v1/subjects/$A/export" "$T_dpo" $CR
expect "the access report" test "$(jqb .schema)" = rekisteri-export
req "export as HTML" 200 GET "/v1/subjects/$A/export?format=html&lang=en" "$T_dpo" $CR
expect "HTML" grep -q '^text/html' <<<"$(hdr Content-Type)"
req "customer service may not export" 403 GET "/v1/subjects/$A/export" "$T_cs" $CR
req "restrict" 200 POST "/v1/subjects/$A/restrict" "$T_dpo" $CR '{"reason":"accuracy contested"}'
req "restricted" 200 GET "/v1/subjects/$A/restriction" "$T_dpo" $CR
expect "yes" test "$(jqb .restricted)" = true
req "a restricted subject is not read" 403 GET "/v1/subjects/$A" "$T_cs" $CR
req "unrestrict" 200 POST "/v1/subjects/$A/unrestrict" "$T_dpo" $CR '{"reason":"checked"}'
req "open a request" 201 POST /v1/dsr "$T_dpo" $CR "{\"subject\":\"$A\",\"type\":\"access\"}"
N=$(jqb .number)
req "list requests" 200 GET "/v1/dsr" "$T_dpo" $CR
expect "one" test "$(jqb '.items | length')" = 1
req "show it" 200 GET "/v1/dsr/$N" "$T_dpo" $CR
req "extend it" 200 POST "/v1/dsr/$N/extend" "$T_dpo" $CR '{"reason":"many records"}'
req "close it" 200 POST "/v1/dsr/$N/close" "$T_dpo" $CR '{"outcome":"done"}'
req "a request that is not there" 404 GET "/v1/dsr/999" "$T_dpo" $CR
req "customer service keeps no requests" 403 GET "/v1/dsr" "$T_cs" $CR
req "erase, dry run" 200 POST "/v1/subjects/$I1/erase" "$T_dpo" $CR '{"dry_run":true}'
expect "a receipt" test "$(jqb .dry_run)" = true
req "erase" 200 POST "/v1/subjects/$I1/erase" "$T_dpo" $CR '{}'
req "the erased subject is gone" 404 GET "/v1/subjects/$I1" "$T_dpo" $CR

# --- actors and audit ---------------------------------------------------------------
req "list actors as admin" 200 GET /v1/actors "$T_adm"
req "customer service may not list actors" 403 GET /v1/actors "$T_cs"
req "add an actor" 201 POST /v1/actors "$T_adm" "" '{"name":"tmp","role":"customer_service"}'
T_tmp="tmp:$(jqb .token)"
req "the new actor works" 200 GET "/v1/subjects/$A" "$T_tmp" $CR
req "revoke it" 200 DELETE /v1/actors/tmp "$T_adm"
req "the revoked token stops at once" 401 GET "/v1/subjects/$A" "$T_tmp" $CR
req "an actor name taken" 422 POST /v1/actors "$T_adm" "" '{"name":"cs","role":"customer_service"}'
req "audit verify" 200 GET /v1/audit/verify "$T_dpo"
expect "intact" test "$(jqb .intact)/$(jqb .rows_intact)" = true/true
req "audit log, a page" 200 GET "/v1/audit/log?limit=5" "$T_dpo"
expect "five entries and a cursor" test "$(jqb '.items | length')/$(jqb '.next_cursor | type')" = 5/string
C=$(jqb .next_cursor)
req "audit log, the next page" 200 GET "/v1/audit/log?limit=5&cursor=$C" "$T_dpo"
expect "it goes on after the first" test "$(jqb '.items[0].seq')" = 6
req "marketing may not read the trail" 403 GET /v1/audit/log "$T_mk"

# --- errors -------------------------------------------------------------------------
req "no token" 401 GET "/v1/subjects/$A" "" $CR
expect "WWW-Authenticate" test -n "$(hdr WWW-Authenticate)"
req "a wrong token" 401 GET "/v1/subjects/$A" "cs:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" $CR
req "a bare token with Rekisteri-Actor" 200 GET "/v1/subjects/$A" "$(cat "$WORK/tok.cs")" $CR "" -H 'Rekisteri-Actor: cs'
req "no purpose" 400 GET "/v1/subjects/$A" "$T_cs"
expect "purpose_required" test "$(jqb .error.code)" = purpose_required
req "not JSON" 400 POST /v1/subjects "$T_cs" $CR '{"kind":'
req "not an object" 400 POST /v1/subjects "$T_cs" $CR '[1,2]'
req "duplicate keys" 400 POST /v1/subjects "$T_cs" $CR '{"kind":"customer","kind":"prospect","fields":{}}'
deep=$(printf '{"a":%.0s' $(seq 1 40))1$(printf '}%.0s' $(seq 1 40))
req "too deep" 400 POST /v1/subjects "$T_cs" $CR "$deep"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $T_cs" \
	-H "Rekisteri-Purpose: $CR" -H 'Content-Type: text/plain' --data-binary "$NEW" "$U/v1/subjects")
expect "a wrong media type is 415 ($code)" test "$code" = 415
head -c 1100000 /dev/zero | tr '\0' 'a' >"$WORK/big"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $T_cs" \
	-H "Rekisteri-Purpose: $CR" -H 'Content-Type: application/json' \
	--data-binary @"$WORK/big" "$U/v1/subjects")
expect "a body over the limit is 413 ($code)" test "$code" = 413
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' b)" "$U/healthz")
expect "headers over the limit are refused ($code)" test "$code" -ge 400 -a "$code" -lt 500
# The connection's buffer is 16 KiB: 12 KB of headers on a data call still
# fit beside the answer's own; 20 KB do not (431).
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $T_cs" \
	-H "Rekisteri-Purpose: $CR" -H "X-Pad: $(head -c 12000 /dev/zero | tr '\0' p)" "$U/v1/subjects/$A")
expect "12 KB of headers are served ($code)" test "$code" = 200
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $T_cs" \
	-H "Rekisteri-Purpose: $CR" -H "X-Pad: $(head -c 20000 /dev/zero | tr '\0' p)" "$U/v1/subjects/$A")
expect "20 KB of headers are 431 ($code)" test "$code" = 431
req "an invalid value" 422 POST /v1/subjects "$T_cs" $CR '{"kind":"customer","fields":{"last_name":"X","email":"not an address"}}'
expect "the message names no value" bash -c '! grep -q "not an address" <<<"$0"' "$body"
req "no such subject" 404 GET /v1/subjects/0123456789abcdef0123456789abcdef "$T_cs" $CR
req "no such route" 404 GET /v1/nothing
req "a method the route does not take" 405 PUT /v1/lookup "$T_cs" $CR '{}'
expect "Allow" test "$(hdr Allow)" = POST
raw=$(printf 'POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}' |
	timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P; cat >&3; cat <&3" 2>/dev/null | head -1)
expect "two Content-Lengths are refused ($raw)" grep -q '^HTTP/1.1 400' <<<"$raw"
raw=$(printf 'POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n' |
	timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P; cat >&3; cat <&3" 2>/dev/null | head -1)
expect "a length beside chunked coding is refused ($raw)" grep -q '^HTTP/1.1 400' <<<"$raw"

# 500: a subject's row edited behind the register's back fails its MAC
rows "UPDATE subject SET kind = 'prospect' WHERE id = '$A'"
req "a tampered row is an integrity failure" 500 GET "/v1/subjects/$A" "$T_cs" $CR
expect "integrity" test "$(jqb .error.code)" = integrity
rows "UPDATE subject SET kind = 'customer' WHERE id = '$A'"
req "put back, it reads again" 200 GET "/v1/subjects/$A" "$T_cs" $CR

# 429: failed authentications from one address (127.0.0.2, so that the
# other tests' address is not blocked)
n429=0
for i in $(seq 1 12); do
	code=$(curl -s -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' --interface 127.0.0.2 \
		-H "Authorization: Bearer cs:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB" \
		-H "Rekisteri-Purpose: $CR" "$U/v1/subjects/$A")
	[ "$code" = 429 ] && { n429=$i; break; }
done
expect "repeated failed authentications get 429 (at try $n429)" test "$n429" -gt 1
expect "with Retry-After" test "$(hdr Retry-After)" -gt 0
code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H "Authorization: Bearer $T_cs" \
	-H "Rekisteri-Purpose: $CR" "$U/v1/subjects/$A")
expect "the address stays blocked even with a good token ($code)" test "$code" = 429
req "other addresses are not" 200 GET "/v1/subjects/$A" "$T_cs" $CR

# --- the OpenAPI document agrees with the routes ----------------------------------
for pth in /v1/subjects "/v1/subjects/{id}" "/v1/subjects/{id}/records/{record}/attachment" \
	/v1/lookup /v1/dsr "/v1/dsr/{number}/close" /v1/actors /v1/audit/log /metrics; do
	expect "the document has $pth" jq -e --arg p "$pth" '.paths[$p]' "$WORK/openapi.json" >/dev/null
done
# every path of the document answers something other than 404 (templates
# filled with a sample), and every route exercised above is in it
ndoc=0 n404=0
while read -r m pth; do
	ndoc=$((ndoc + 1))
	url=${pth//\{id\}/$A}
	url=${url//\{record\}/1}
	url=${url//\{number\}/1}
	url=${url//\{name\}/nobody}
	mm=$(tr a-z A-Z <<<"$m")
	c=$(curl -s -o /dev/null -w '%{http_code}' -X "$mm" "$U$url")
	[ "$c" = 404 ] || [ "$c" = 405 ] && { n404=$((n404 + 1)); echo "  $mm $pth -> $c"; }
done < <(jq -r '.paths | to_entries[] | .key as $p | .value | keys[] | "\(.) \($p)"' "$WORK/openapi.json")
expect "every operation of the document is routed ($ndoc operations)" test "$n404" = 0 -a "$ndoc" -gt 30
# a real validator, when it can be installed (npm); else said so
VAL=${RK_OPENAPI_VALIDATOR_DIR:-$WORK/npm}
if [ -d "$VAL/node_modules/@seriousme/openapi-schema-validator" ] ||
	(command -v npm >/dev/null && timeout 120 npm install --silent --no-audit --no-fund \
		--prefix "$VAL" @seriousme/openapi-schema-validator@2 >/dev/null 2>&1); then
	cat >"$WORK/validate.mjs" <<'EOF'
import { Validator } from "@seriousme/openapi-schema-validator";
const v = new Validator();
const r = await v.validate(process.argv[2]);
if (!r.valid) { console.log(JSON.stringify(r.errors, null, 1)); process.exit(1); }
console.log("valid OpenAPI " + v.version);
EOF
	cp "$WORK/validate.mjs" "$VAL/validate.mjs"
	check "a real validator accepts the document" 0 node "$VAL/validate.mjs" "$WORK/openapi.json"
	echo "$out"
else
	echo "skip: no OpenAPI validator could be installed (npm)"
fi

# --- metrics and the access log -----------------------------------------------------
req "metrics" 200 GET /metrics
expect "requests by route and status" grep -q 'rekisteri_http_requests_total{method="GET",route="/v1/subjects/{id}",status="200"}' <<<"$body"
expect "a latency histogram" grep -q 'rekisteri_http_request_duration_seconds_bucket{le="+Inf"}' <<<"$body"
expect "open handles" grep -q '^rekisteri_register_handles 2$' <<<"$body"
expect "the access log has JSON lines with a route template" \
	grep -q '"route":"/v1/subjects/{id}","status":200' "$WORK/server.log"
expect "the access log holds no personal data or token" \
	bash -c '! grep -qE "aino@example|131052|Zyxwvutila|$0|$1" "$2"' \
	"$(cat "$WORK/tok.cs")" "$A" "$WORK/server.log"

# --- concurrency: many clients creating and reading at once -----------------------
before=$("$BIN" --json subject list | jq length)
export U T_cs CR
seq 1 80 | xargs -P 8 -I{} bash -c '
	id=$(curl -s -X POST -H "Authorization: Bearer $T_cs" -H "Rekisteri-Purpose: $CR" \
		-H "Content-Type: application/json" \
		--data-binary "{\"kind\":\"prospect\",\"fields\":{\"email\":\"load{}@example.fi\"}}" \
		"$U/v1/subjects" | jq -r .id)
	c=$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $T_cs" \
		-H "Rekisteri-Purpose: $CR" "$U/v1/subjects/$id")
	echo "$id $c"' >"$WORK/load.out"
expect "80 creates and reads answered" test "$(grep -c ' 200$' "$WORK/load.out")" = 80
expect "80 distinct IDs" test "$(cut -d' ' -f1 "$WORK/load.out" | sort -u | grep -cE '^[0-9a-f]{32}$')" = 80
after=$("$BIN" --json subject list | jq length)
expect "the count grew by 80 ($before -> $after)" test "$((after - before))" = 80

# --- 503 while shutting down; requests in flight finish -----------------------------
exec 3<>"/dev/tcp/127.0.0.1/$P"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&3
head -c 200 <&3 >/dev/null
# a request in flight: its headers and half its body
exec 4<>"/dev/tcp/127.0.0.1/$P"
SLOW='{"kind":"prospect","fields":{"email":"inflight@example.fi"}}'
printf 'POST /v1/subjects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nRekisteri-Purpose: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
	"$T_cs" "$CR" "${#SLOW}" "${SLOW:0:10}" >&4
sleep 0.3
kill -TERM "$SPID"
for i in $(seq 1 100); do grep -q draining "$WORK/server.log" && break; sleep 0.05; done
printf 'GET /v1/subjects/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nRekisteri-Purpose: %s\r\n\r\n' "$A" "$T_cs" "$CR" >&3
line=$(timeout 5 cat <&3 | tr -d '\r' | grep -o 'HTTP/1.1 [0-9]*' | tail -1)
expect "a new request while draining gets 503 ($line)" grep -q '^HTTP/1.1 503' <<<"$line"
exec 3>&-
printf '%s' "${SLOW:10}" >&4
line=$(timeout 10 cat <&4 | head -1)
exec 4>&-
expect "the request in flight finished ($line)" grep -q '^HTTP/1.1 201' <<<"$line"
wait "$SPID"
rc=$?
SPID=
expect "the server stopped cleanly (exit $rc)" test "$rc" = 0
check "its subject is there" 0 "$BIN" subject find --by email inflight@example.fi
expect "the log says the audit queue was committed" grep -q "audit queue committed" "$WORK/server.log"

# --- SIGTERM under load loses nothing committed -------------------------------------
start || bad "the server starts again"
export U T_cs CR
: >"$WORK/term.out"
(seq 1 400 | xargs -P 6 -I{} bash -c '
	out=$(curl -s -w " %{http_code}" -X POST -H "Authorization: Bearer $T_cs" \
		-H "Rekisteri-Purpose: $CR" -H "Content-Type: application/json" \
		--data-binary "{\"kind\":\"prospect\",\"fields\":{\"email\":\"term{}@example.fi\"}}" \
		"$U/v1/subjects" 2>/dev/null)
	case $out in *" 201") echo "${out% 201}";; esac' >"$WORK/term.out" 2>/dev/null) &
LOADPID=$!
for i in $(seq 1 200); do [ "$(wc -l <"$WORK/term.out")" -ge 20 ] && break; sleep 0.05; done
kill -TERM "$SPID"
wait "$SPID"
rc=$?
SPID=
wait "$LOADPID"
expect "stopped cleanly under load (exit $rc)" test "$rc" = 0
n=0 missing=0
while read -r line; do
	id=$(jq -r .id <<<"$line")
	n=$((n + 1))
	"$BIN" subject show "$id" >/dev/null 2>&1 || missing=$((missing + 1))
done <"$WORK/term.out"
expect "every one of the $n answered 201 is in the register" test "$missing" = 0 -a "$n" -ge 20
check "audit verify after everything" 0 "$BIN" audit verify

# --- TLS ----------------------------------------------------------------------------
if command -v openssl >/dev/null &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$WORK/k.pem" -out "$WORK/c.pem" -days 1 -subj /CN=localhost 2>/dev/null; then
	e2e_serve --threads 1 --tls-cert "$WORK/c.pem" --tls-key "$WORK/k.pem"
	code=$(curl -sk -o /dev/null -w '%{http_code}' "$U/readyz")
	expect "TLS: ready over HTTPS ($code)" test "$code" = 200
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(cat "$WORK/port")/readyz")
	expect "TLS: plain HTTP gets no answer ($code)" test "$code" != 200
	e2e_serve_stop
	check "a missing certificate is refused" 2 "$BIN" serve --listen 127.0.0.1:0 \
		--tls-cert "$WORK/none.pem" --tls-key "$WORK/k.pem"
else
	echo "skip: no openssl to make a test certificate"
fi
e2e_finish
