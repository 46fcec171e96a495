#!/usr/bin/env bash
# sqlite-only: a deferred-constraint trigger made with the sqlite3 shell fails the group's commit
# End-to-end: findings of a review of the HTTP server, each against a real
# server. A PATCH of a restricted subject is 403 with and without If-Match
# (and the refusal is audited); a multipart part in a
# Content-Transfer-Encoding is refused (415), not stored undecoded; an empty
# chunked body is 400, not taken as {}. And a group commit that fails
# answers 500 to every write of the group and stores none of them.
. "$(dirname "$0")/e2e-common.sh"

command -v curl >/dev/null || { echo "curl is needed"; exit 1; }
check "init" 0 "$BIN" init --policy "$POLICY"
CS=$("$BIN" actor add cs --role customer_service)
DPO=$("$BIN" actor add dpo --role dpo)
e2e_serve
CR=customer_relationship
# c NAME WANT TOKEN METHOD PATH [CURL ARGS...]
c() {
	local name=$1 want=$2 tok=$3 method=$4 path=$5
	shift 5
	code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $tok" \
		-H "Rekisteri-Purpose: $CR" "$@" "$U$path")
	if [ "$code" = "$want" ]; then ok "$name"; else bad "$name (status $code, wanted $want: $(cat "$WORK/body"))"; fi
}
J=(-H 'Content-Type: application/json')
c "a subject" 201 "$CS" POST /v1/subjects "${J[@]}" \
	--data-binary '{"kind":"customer","fields":{"first_name":"Rajoitettu","last_name":"Testi","email":"r@example.fi"}}'
A=$(jq -r .id "$WORK/body")

# --- PATCH of a restricted subject
c "restrict it" 200 "$DPO" POST "/v1/subjects/$A/restrict" "${J[@]}" --data-binary '{"reason":"accuracy contested"}'
c "PATCH without If-Match is refused" 403 "$CS" PATCH "/v1/subjects/$A" "${J[@]}" \
	--data-binary '{"fields":{"last_name":"Muutos"}}'
c "PATCH with If-Match: * is refused the same" 403 "$CS" PATCH "/v1/subjects/$A" "${J[@]}" \
	-H 'If-Match: *' --data-binary '{"fields":{"last_name":"Muutos"}}'
c "unrestrict" 200 "$DPO" POST "/v1/subjects/$A/unrestrict" "${J[@]}" --data-binary '{"reason":"checked"}'
c "the value was not changed" 200 "$CS" GET "/v1/subjects/$A"
expect "last name as it was" test "$(jq -r '.fields.last_name[0].value' "$WORK/body")" = Testi
c "PATCH after the restriction is lifted" 204 "$CS" PATCH "/v1/subjects/$A" "${J[@]}" \
	--data-binary '{"fields":{"last_name":"Muutos"}}'

# --- multipart with a transfer encoding
printf 'hello' >"$WORK/att.txt"
c "a base64-encoded attachment part is 415" 415 "$CS" POST "/v1/subjects/$A/records" \
	-F 'record={"type":"communication","fields":{"channel":"call","direction":"inbound"}};type=application/json' \
	-F "attachment=@$WORK/att.txt;type=text/plain;encoder=base64"
c "the same part as it is is stored" 201 "$CS" POST "/v1/subjects/$A/records" \
	-F 'record={"type":"communication","fields":{"channel":"call","direction":"inbound"}};type=application/json' \
	-F "attachment=@$WORK/att.txt;type=text/plain"

# --- an empty chunked body
c "an empty chunked POST body is 400" 400 "$CS" POST /v1/subjects "${J[@]}" \
	-H 'Transfer-Encoding: chunked' --data-binary @/dev/null
c "an empty chunked PATCH body is 400" 400 "$CS" PATCH "/v1/subjects/$A" "${J[@]}" \
	-H 'Transfer-Encoding: chunked' --data-binary @/dev/null
c "a chunked body with an object is taken" 201 "$CS" POST /v1/subjects "${J[@]}" \
	-H 'Transfer-Encoding: chunked' --data-binary '{"kind":"prospect","fields":{"email":"c@example.fi"}}'

# --- a group commit that fails: no request of it answers 201, nothing is
# stored, and a retry with the same Idempotency-Key works afterwards
before=$(rows "SELECT count(*) FROM subject")
rows "CREATE TABLE spoil (s TEXT REFERENCES subject(id) DEFERRABLE INITIALLY DEFERRED);
CREATE TRIGGER spoil_commit AFTER INSERT ON audit WHEN NEW.action = 'subject.add'
BEGIN INSERT INTO spoil VALUES ('no such subject'); END"
pids=()
for i in 1 2 3; do
	curl -s -o "$WORK/fail.$i" -w '%{http_code}\n' -X POST -H "Authorization: Bearer $CS" \
		-H "Rekisteri-Purpose: $CR" "${J[@]}" -H "Idempotency-Key: retry-$i" \
		--data-binary "{\"kind\":\"prospect\",\"fields\":{\"email\":\"g$i@example.fi\"}}" \
		"$U/v1/subjects" >"$WORK/fail.code.$i" &
	pids+=($!)
done
wait "${pids[@]}"
codes=$(cat "$WORK"/fail.code.* | sort | uniq -c | tr -s ' ')
expect "every write of the failed group answers 500 ($codes)" test "$(cat "$WORK"/fail.code.* | sort -u)" = 500
expect "and says nothing was stored" grep -q "nothing of it was stored" "$WORK/fail.1"
expect "nothing of the group is in the register" test "$(rows "SELECT count(*) FROM subject")" = "$before"
rows "DROP TRIGGER spoil_commit; DROP TABLE spoil"
c "the same request with the same key again" 201 "$CS" POST /v1/subjects "${J[@]}" \
	-H "Idempotency-Key: retry-1" --data-binary '{"kind":"prospect","fields":{"email":"g1@example.fi"}}'
expect "now it is stored" test "$(rows "SELECT count(*) FROM subject")" = $((before + 1))
e2e_serve_stop
n=$(rows "SELECT count(*) FROM audit WHERE action = 'subject.show' AND outcome = 'refused'")
expect "the refused PATCHes are audited ($n refused reads)" test "$n" -ge 2
check "audit verify" 0 "$BIN" audit verify
e2e_finish
