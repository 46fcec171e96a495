#!/usr/bin/env bash
# Attack: an attachment's media type (--attach-type) is stored in plaintext
# in the record table, and the only check is its shape type/subtype. A full card number
# or a HETU as the subtype is accepted and lands in the database in
# plaintext, although a card number is refused everywhere else and personal
# data is never stored unencrypted.
. "$(dirname "$0")/e2e-common.sh"

e2e_aino
printf 'hello' >"$WORK/a.txt"
IN='{"channel": "email", "direction": "inbound"}' \
	check "a card number as the media type's subtype exits 2" 2 "$BIN" record add "$A" \
	--type communication --attach "$WORK/a.txt" --attach-type text/4111111111111111
IN='{"channel": "email", "direction": "inbound"}' \
	check "a HETU as the media type's subtype exits 2" 2 "$BIN" record add "$A" \
	--type communication --attach "$WORK/a.txt" --attach-type application/131052-308T
db=$(cat "$REKISTERI_DB" "$REKISTERI_DB-wal" 2>/dev/null | strings)
expect "no card number in the database in plaintext" bash -c '! grep -q 4111111111111111 <<<"$1"' _ "$db"
expect "no HETU in the database in plaintext" bash -c '! grep -qi 131052-308t <<<"$1"' _ "$db"
e2e_finish
