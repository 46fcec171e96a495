#!/usr/bin/env bash
# End-to-end: the server writes the answer of GET /v1/subjects/{id} itself
# (server/subject_doc.c: strings escaped a word at a time, a repeated list
# of purposes or number copied from what was written before). It must be
# the library's own document (rk_subject_json, `subject show --json`) as
# the same actor and purpose see it: values with quotes, backslashes and
# UTF-8 at lengths around the eight-byte steps, lists of purposes that
# differ between values, and the same subject after an update. The ETag
# stays the same between two reads and changes with the document.
. "$(dirname "$0")/e2e-common.sh"

command -v curl >/dev/null || { echo "curl is needed"; exit 1; }
command -v jq >/dev/null || { echo "jq is needed"; exit 1; }

check "init" 0 "$BIN" init --policy "$POLICY"
check "an actor of customer service" 0 "$BIN" actor add cs --role customer_service
TOKEN=$out
e2e_must "the server starts" e2e_serve
PURPOSE=customer_relationship

# same ID NAME: the server's document against the CLI's, both sorted
same() {
	local id=$1 name=$2
	curl -s -H "Authorization: Bearer cs:$TOKEN" -H "Rekisteri-Purpose: $PURPOSE" \
		"$U/v1/subjects/$id" | jq -S . >"$WORK/server.json"
	REKISTERI_ACTOR=cs REKISTERI_TOKEN=$TOKEN "$BIN" subject show "$id" \
		--purpose "$PURPOSE" --json | jq -S . >"$WORK/cli.json"
	if [ -s "$WORK/cli.json" ] && cmp -s "$WORK/server.json" "$WORK/cli.json"; then
		ok "$name"
	else
		bad "$name: $(diff "$WORK/server.json" "$WORK/cli.json" | head -5)"
	fi
}

n=0
for v in 'A' 'Ä' 'abcdefg' 'abcdefgh' 'abcdefghi' 'sixteen chars ok' \
	'seventeen chars o' 'quote " at 2' '1234567"' '12345678"' \
	'back\slash' '\\\\' 'ends with \' '"' 'Äiti, Öljy ja Åke — ☃ 𝄞' \
	'x"y\z"w\v"u\t"s\r' ' spaced   out  x ' "apostrophe's and <tags> & {braces}"; do
	n=$((n + 1))
	IN='' check "a customer with first name $n" 0 "$BIN" subject add --kind customer \
		--field "first_name=$v" --field "last_name=L$n$v" --field "email=c$n@example.fi"
	same "$out" "GET subject is the library's document: first name $n"
done
ID=$out

# ETag: the same answer has the same tag; an update changes it
etag() {
	curl -s -o /dev/null -D - -H "Authorization: Bearer cs:$TOKEN" \
		-H "Rekisteri-Purpose: $PURPOSE" "$U/v1/subjects/$ID" |
		tr -d '\r' | awk 'tolower($1) == "etag:" {print $2}'
}
E1=$(etag)
E2=$(etag)
expect "an ETag is sent" test -n "$E1"
expect "two reads of the same subject have the same ETag" test "$E1" = "$E2"
check "an update" 0 "$BIN" subject update "$ID" --field 'last_name=Uusi "nimi" \ tässä'
same "$ID" "GET subject after an update is the library's document"
E3=$(etag)
expect "the update changed the ETag" test -n "$E3" -a "$E3" != "$E1"
e2e_serve_stop

check "audit verify after everything" 0 "$BIN" audit verify
e2e_finish
