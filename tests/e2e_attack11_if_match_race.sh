#!/usr/bin/env bash
# Many PATCHes of one subject at once, all with the same (current) ETag in
# If-Match, each with another value: exactly one may win (204), the rest
# must be 412 (lost updates otherwise), with group commit and several
# worker threads. Then a list with that old ETag is 412 too, and audit
# verify passes. Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

e2e_aino_served --threads 4 --grace 5
for round in 1 2 3; do
	E=$(etag)
	for i in $(seq 1 24); do
		curl -s -o /dev/null -w '%{http_code}\n' -X PATCH -H "Authorization: Bearer $T" \
			-H "Rekisteri-Purpose: $CR" -H 'Content-Type: application/json' \
			-H "If-Match: \"x\", $E" \
			--data-binary "{\"fields\":{\"city\":\"Kaupunki$round-$i\"}}" \
			"$U/v1/subjects/$A" >"$WORK/code.$i" &
	done
	wait $(jobs -p | grep -v "^$SPID$") 2>/dev/null
	won=$(cat "$WORK"/code.* | grep -c '^204$')
	lost=$(cat "$WORK"/code.* | grep -c '^412$')
	expect "round $round: exactly one PATCH won ($won x 204, $lost x 412)" test "$won" = 1 -a "$lost" = 23
	rm -f "$WORK"/code.*
done
e2e_serve_stop
check "audit verify passes" 0 "$BIN" audit verify
e2e_finish
