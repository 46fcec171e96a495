#!/usr/bin/env bash
# Attacks on the self-service link and session that hold today: a link
# works once, also when eight exchanges race; guessed, malformed and
# crossed secrets get nothing; a session reaches no staff route and acts on
# its own person only, whatever ID the path, query or body names; an
# erased person's session and links die with the person; secrets and
# tokens reach no log, no error body and no cache; errors name fields, not
# values.
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

check "init" 0 "$BIN" init --policy "$POLICY"
TOK_DPO=$("$BIN" actor add dpo1 --role dpo) || bad "actor add dpo1"
TOK_CS=$("$BIN" actor add cs1 --role customer_service) || bad "actor add cs1"
# a high failure limit: this script fails on purpose many times
e2e_must "the server starts" start --auth-fails 1000
req "subject A" 201 POST /v1/subjects "$TOK_DPO" \
	'{"kind":"customer","fields":{"first_name":"Aino","last_name":"Alpha","email":"aino@example.fi","hetu":"131052-308T"}}'
A=$(jq -r .id <<<"$body")
req "subject B" 201 POST /v1/subjects "$TOK_DPO" \
	'{"kind":"customer","fields":{"first_name":"Bertta","last_name":"Beta","email":"bertta@example.fi"}}'
B=$(jq -r .id <<<"$body")
req "B links a cookie" 201 POST "/v1/subjects/$B/cookies" "$TOK_DPO" '{"cookie":"b-cookie-1234567890"}'

link() { # link SUBJECT: a fresh secret in $secret
	req "a link for $1" 201 POST "/v1/subjects/$1/self-service-link" "$TOK_DPO"
	secret=$(jq -r .secret <<<"$body")
	expect "the answer is not cached" test "$(hdr Cache-Control)" = no-store
}

# ---- one link, one session, even in a race ----
link "$A"
RACE=$secret
racers=()
for i in $(seq 1 8); do
	curl -s -o "$WORK/race.$i" -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
		--data-binary "{\"secret\":\"$RACE\"}" "$U/v1/self/session" >"$WORK/code.$i" &
	racers+=($!)
done
wait "${racers[@]}"
wins=$(cat "$WORK"/code.* | grep -c '^201$')
gone=$(cat "$WORK"/code.* | grep -c '^410$')
expect "one of eight racing exchanges wins ($wins)" test "$wins" = 1
expect "the other seven get 410 ($gone)" test "$gone" = 7
expect "the losers get no token" bash -c "! grep -l token $WORK/race.* | xargs -r grep -L '\"expires\"' | grep -q ."
SES_A=$(cat "$WORK"/race.* | jq -r 'select(.token) | .token')
req "the used link again" 410 POST /v1/self/session "" "{\"secret\":\"$RACE\"}"
expect "no token in the refusal" bash -c "! grep -q token '$WORK/body'"

# ---- guessed and malformed secrets ----
req "an unknown secret of the right form" 410 POST /v1/self/session "" \
	"{\"secret\":\"${RACE:0:42}$([ "${RACE:42:1}" = A ] && echo B || echo A)\"}"
req "an empty secret" 410 POST /v1/self/session "" '{"secret":""}'
req "a long secret" 410 POST /v1/self/session "" "{\"secret\":\"$(head -c 5000 /dev/zero | tr '\0' A)\"}"
req "a secret that is not a string" 400 POST /v1/self/session "" '{"secret":["x"]}'
req "a secret with a NUL" 400 POST /v1/self/session "" "{\"secret\":\"${RACE}\\u0000\"}"
req "no body" 400 POST /v1/self/session ""
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-urlencode "secret=$RACE" "$U/v1/self/session")
expect "a form post (a foreign page's) is refused ($code)" test "$code" = 415
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/plain' --data-binary "{\"secret\":\"$RACE\"}" "$U/v1/self/session")
expect "text/plain (no CORS preflight) is refused ($code)" test "$code" = 415
req "a session token is no link secret" 410 POST /v1/self/session "" "{\"secret\":\"$SES_A\"}"
link "$A"
LIVE=$secret
req "a live link's secret is no session" 401 GET /v1/self "$LIVE"
req "a staff token is no session" 401 GET /v1/self "$TOK_CS"
req "a session named as an actor" 401 GET /v1/self "(self-service):$SES_A"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $SES_A" -H 'Rekisteri-Actor: dpo1' "$U/v1/self")
expect "a session beside Rekisteri-Actor is refused ($code)" test "$code" = 401
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $SES_A" -H "Authorization: Bearer $SES_A" "$U/v1/self")
expect "two Authorization headers are refused ($code)" test "$code" = 400
code=$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/self?token=$SES_A")
expect "a token in the URL is not taken ($code)" test "$code" = 401

# ---- the session reaches no staff route ----
for p in "GET /v1/subjects/$A" "GET /v1/subjects/$B" "GET /v1/subjects/$B/export" "GET /v1/whoami" \
	"GET /v1/actors" "GET /v1/audit/log" "GET /v1/dsr" "GET /v1/subjects" "POST /v1/subjects/$B/self-service-link" \
	"GET /v1/retention/dry-run" "GET /v1/notice"; do
	set -- $p
	code=$(curl -s -o /dev/null -w '%{http_code}' -X "$1" -H "Authorization: Bearer $SES_A" \
		-H 'Rekisteri-Purpose: customer_relationship' "$U$2")
	expect "a session is refused on $p ($code)" test "$code" = 401
done

# ---- own subject only ----
req "the own report" 200 GET /v1/self "$SES_A"
expect "it is A's" jqx --arg id "$A" '.subject.id == $id' <<<"$body"
expect "self answers are not cached" test "$(hdr Cache-Control)" = no-store
req "another ID in the query is ignored" 200 GET "/v1/self?id=$B&subject=$B" "$SES_A"
expect "still A's" jqx --arg id "$A" '.subject.id == $id' <<<"$body"
for p in "/v1/self/$B" "/v1/self/consents/$B" "/v1/self/../subjects/$B" "/v1/self%2f$B" "/v1/self/policy/$B"; do
	code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $SES_A" "$U$p")
	if [ "$code" = 404 ] || [ "$code" = 401 ]; then ok "no route: $p ($code)"; else bad "no route: $p (status $code)"; fi
done
req "a consent naming B in the body" 201 POST /v1/self/consents "$SES_A" \
	"{\"scope\":\"email_marketing\",\"given\":true,\"subject\":\"$B\",\"id\":\"$B\"}"
req "an objection naming B" 201 POST /v1/self/objections "$SES_A" \
	"{\"objection\":\"direct_marketing\",\"subject\":\"$B\",\"id\":\"$B\"}"
req "a request naming B" 201 POST /v1/self/requests "$SES_A" "{\"type\":\"rectification\",\"subject\":\"$B\"}"
expect "the request is A's" jqx --arg id "$A" '.subject == $id' <<<"$body"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X DELETE -H "Authorization: Bearer $SES_A" "$U/v1/self/cookies?subject=$B&id=$B")
expect "a cookie reset naming B resets A's ($code)" test "$code" = 200
req "B's ledger" 200 GET "/v1/subjects/$B/consents" "$TOK_DPO"
expect "B's ledger is untouched" jqx 'length == 0' <<<"$body"
req "A's ledger" 200 GET "/v1/subjects/$A/consents" "$TOK_DPO"
expect "A's has both, and the cookie reset" jqx 'length == 3 and (map(.scope) | index("rk:cookie_reset")) != null' <<<"$body"
req "B's cookie was still linked" 200 DELETE "/v1/subjects/$B/cookies" "$TOK_DPO"
expect "staff unlink it now" jqx '.unlinked == 1' <<<"$body"
req "the session's DSR list" 401 GET "/v1/dsr?all=1" "$SES_A"
req "compelling grounds, even null-ish, are refused" 400 POST /v1/self/objections "$SES_A" \
	'{"purpose":"customer_relationship","compelling_grounds":""}'
req "the operator's writes are not the subject's: erase" 404 POST "/v1/self/erase" "$SES_A" '{}'
req "restrict" 404 POST "/v1/self/restrict" "$SES_A" '{"reason":"x"}'

# ---- sign out ----
req "sign out" 200 DELETE /v1/self/session "$SES_A"
req "the ended session" 401 GET /v1/self "$SES_A"
req "sign out twice" 401 DELETE /v1/self/session "$SES_A"

# ---- erasure takes the links and sessions ----
link "$B"
SB=$secret
link "$B"
SB2=$secret
req "B's session" 201 POST /v1/self/session "" "{\"secret\":\"$SB\"}"
SES_B=$(jq -r .token <<<"$body")
req "B reads" 200 GET /v1/self "$SES_B"
req "B is erased" 200 POST "/v1/subjects/$B/erase" "$TOK_DPO" '{}'
req "B's session is dead" 401 GET /v1/self "$SES_B"
req "B's session writes nothing" 401 POST /v1/self/consents "$SES_B" '{"scope":"email_marketing","given":true}'
req "B's unused link is dead" 410 POST /v1/self/session "" "{\"secret\":\"$SB2\"}"
expect "no self-service row of B is left" test "$(rows "SELECT count(*) FROM selfsvc WHERE subject_id = '$B'")" = 0
req "no link for an erased subject" 404 POST "/v1/subjects/$B/self-service-link" "$TOK_DPO"
expect "and no secret" bash -c "! grep -q secret '$WORK/body'"
req "no link for an unknown subject" 404 POST "/v1/subjects/0123456789abcdef0123456789abcdef/self-service-link" "$TOK_DPO"

# ---- errors carry no values ----
link "$A"
req "a session again" 201 POST /v1/self/session "" "{\"secret\":\"$secret\"}"
SES_A=$(jq -r .token <<<"$body")
for b in '{"kind":"customer","fields":{"email":"SECRETVAL-no-at"}}' '{"kind":"customer","fields":{"hetu":"SECRETVAL-12"}}' \
	'{"kind":"customer","fields":{"phone":"SECRETVAL"}}' '{"kind":"customer","fields":{"birth_date":"SECRETVAL"}}' \
	'{"kind":"customer","fields":{"postal_code":"SECRETVAL"}}' '{"kind":"customer","fields":{"gender":"SECRETVAL"}}'; do
	req "invalid: $b" 422 POST /v1/subjects "$TOK_DPO" "$b"
	expect "the message holds no value" bash -c "! grep -q SECRETVAL '$WORK/body'"
done
req "a lookup of an unknown value" 200 POST /v1/lookup "$TOK_DPO" '{"by":"email","value":"SECRETVAL@example.fi"}'
expect "the answer holds no value" bash -c "! grep -q SECRETVAL '$WORK/body'"
req "a self consent of an unknown scope" 422 POST /v1/self/consents "$SES_A" '{"scope":"SECRETVAL","given":true}'
req "a self request of an unknown type" 400 POST /v1/self/requests "$SES_A" '{"type":"SECRETVAL"}'
expect "not echoed" bash -c "! grep -q SECRETVAL '$WORK/body'"

# ---- nothing secret in the log or the audit trail ----
e2e_serve_stop
for s in "$RACE" "$LIVE" "$SB" "$SB2" "$SES_A" "$SES_B" "$TOK_DPO" "$TOK_CS" aino@example.fi Alpha 131052-308T SECRETVAL; do
	expect "the server log does not hold ${s:0:6}…" bash -c "! grep -qF -- '$s' '$WORK/server.log'"
done
"$BIN" audit log >"$WORK/audit.txt" 2>&1
for s in "$RACE" "$LIVE" "$SB" "$SES_A" "$SES_B"; do
	expect "the audit log does not hold ${s:0:6}…" bash -c "! grep -qF -- '$s' '$WORK/audit.txt'"
done
LIVEHEX=$(printf '%s' "$LIVE" | od -An -tx1 | tr -d ' \n')
dump=$(rows "SELECT hex(hash) || ' ' || hex(mac) || ' ' || subject_id FROM selfsvc")
expect "there are self-service rows to look at" test -n "$dump"
expect "no secret or token is stored in the clear" \
	bash -c '! grep -qiF -- "$1" <<<"$3" && ! grep -qF -- "$2" <<<"$3"' _ "$LIVEHEX" "$LIVE" "$dump"
check "audit verify passes" 0 "$BIN" audit verify

e2e_finish
