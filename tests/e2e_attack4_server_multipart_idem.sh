#!/usr/bin/env bash
# Attack on the server's multipart record route: the idempotency digest
# covered only the record part, so a replay of the key with another
# attachment (or none, or the record as plain JSON) got the first answer and
# the new file was dropped without a word; and a second attachment part was
# appended to the first and stored as one file.
. "$(dirname "$0")/e2e-common.sh"

command -v curl >/dev/null || { echo "curl is needed"; exit 1; }

# start [OPTIONS...]: the script's server (e2e_serve); sets $P and $U
start() { e2e_serve --grace 20 "$@"; }

check "init" 0 "$BIN" init --policy "$POLICY"
"$BIN" actor add cs --role customer_service >"$WORK/tok" || bad "actor add"
T=$(cat "$WORK/tok")
CR=customer_relationship
e2e_must "the server starts" start

A=$(curl -s -X POST -H "Authorization: Bearer $T" -H "Rekisteri-Purpose: $CR" \
	-H 'Content-Type: application/json' \
	--data-binary '{"kind":"customer","fields":{"last_name":"Testinen","email":"t@example.fi"}}' \
	"$U/v1/subjects" | jq -r .id)
expect "a subject" grep -qE '^[0-9a-f]{32}$' <<<"$A"

REC='{"type":"communication","fields":{"channel":"call","direction":"inbound"}}'
head -c 2000 /dev/urandom >"$WORK/one.bin"
head -c 2000 /dev/urandom >"$WORK/two.bin"
# mp KEY FILE: a multipart record with FILE attached; status, then body
mp() {
	curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $T" \
		-H "Rekisteri-Purpose: $CR" -H "Idempotency-Key: $1" \
		-F "record=$REC;type=application/json" -F "attachment=@$2;type=audio/ogg" \
		"$U/v1/subjects/$A/records"
}
code=$(mp k-1 "$WORK/one.bin")
expect "the first upload is stored ($code)" test "$code" = 201
R1=$(jq -r .record "$WORK/body")
code=$(mp k-1 "$WORK/one.bin")
expect "the same upload again is the first answer ($code)" \
	test "$code/$(jq -r .record "$WORK/body")" = "201/$R1"
code=$(mp k-1 "$WORK/two.bin")
expect "the key with another file is a reused key, not the first answer ($code)" test "$code" = 409
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $T" \
	-H "Rekisteri-Purpose: $CR" -H "Idempotency-Key: k-1" \
	-F "record=$REC;type=application/json" -F "attachment=@$WORK/one.bin;type=audio/mpeg" \
	"$U/v1/subjects/$A/records")
expect "the key with another media type is a reused key ($code)" test "$code" = 409
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $T" \
	-H "Rekisteri-Purpose: $CR" -H "Idempotency-Key: k-1" \
	-F "record=$REC;type=application/json" "$U/v1/subjects/$A/records")
expect "the key without the file is a reused key ($code)" test "$code" = 409
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $T" \
	-H "Rekisteri-Purpose: $CR" -H "Idempotency-Key: k-1" \
	-H 'Content-Type: application/json' --data-binary "$REC" "$U/v1/subjects/$A/records")
expect "the key with the record as JSON is a reused key ($code)" test "$code" = 409
code=$(mp k-2 "$WORK/two.bin")
expect "the second file under its own key is stored ($code)" test "$code" = 201
R2=$(jq -r .record "$WORK/body")
curl -s -o "$WORK/out" -H "Authorization: Bearer $T" -H "Rekisteri-Purpose: $CR" \
	"$U/v1/subjects/$A/records/$R2/attachment"
expect "and reads back byte for byte" cmp -s "$WORK/two.bin" "$WORK/out"

# two attachment parts in one body
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $T" \
	-H "Rekisteri-Purpose: $CR" -F "record=$REC;type=application/json" \
	-F "attachment=@$WORK/one.bin;type=audio/ogg" -F "attachment=@$WORK/two.bin;type=audio/ogg" \
	"$U/v1/subjects/$A/records")
expect "two attachment parts are refused, not joined into one file ($code)" test "$code" = 400
n=$(curl -s -H "Authorization: Bearer $T" -H "Rekisteri-Purpose: $CR" \
	"$U/v1/subjects/$A/records" | jq '.items | length')
expect "two records in all ($n)" test "$n" = 2

e2e_serve_stop
check "audit verify" 0 "$BIN" audit verify
e2e_finish
