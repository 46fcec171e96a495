#!/usr/bin/env bash
# Attack: invisible characters that the text check does not know. Variation
# selectors (U+FE00-FE0F, U+E0100-E01EF) and other invisible format
# characters (U+1D173-1D17A, U+13430-1343F, U+1BCA0-1BCA3) pass as text,
# so a name, a user name or an e-mail address can carry one and look the
# same as another subject's while its blind index differs; and since they
# are no card number separators either, a card number with one between its
# digit groups is stored.
. "$(dirname "$0")/e2e-common.sh"

u() { python3 -c "import sys; print(sys.argv[1].replace('~', chr(int(sys.argv[2], 16))))" "$1" "$2"; }

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
IN='' check "add a customer" 0 "$BIN" subject add --kind customer \
	--field first_name=Aino --field last_name=Qwertyläinen --field username=aino.q
A=$out
for cp in FE0F FE00 E0100 1D173 13430 1BCA0; do
	IN='' check "a user name with U+$cp exits 2" 2 "$BIN" subject add --kind customer \
		--field first_name=Aino --field last_name=Qwertyläinen --field username="$(u 'aino~.q' $cp)"
	IN='' check "a first name with U+$cp exits 2" 2 "$BIN" subject add --kind customer \
		--field first_name="$(u 'Ai~no' $cp)" --field last_name=Qwertyläinen
	IN="{\"kind\": \"complaint\", \"text\": \"$(u '4111~1111~1111~1111' $cp)\"}" \
		check "a card number with U+$cp between the groups exits 2" 2 "$BIN" record add "$A" --type feedback
done
e2e_finish
