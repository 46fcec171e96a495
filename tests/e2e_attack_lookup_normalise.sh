#!/usr/bin/env bash
# Attack: look-ups by e-mail and user name are not over normalised values.
# The same address written in decomposed form (NFD, what macOS input and
# many copy-pastes give), or with its internationalised domain upper-cased,
# has a different blind index, so `subject find` misses the subject who is
# in the register: an access request or a direct-marketing prohibition
# looked up that way finds nobody, and a second subject is made instead.
. "$(dirname "$0")/e2e-common.sh"

nf() { python3 -c "import sys, unicodedata; print(unicodedata.normalize(sys.argv[1], sys.argv[2]))" "$1" "$2"; }

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
IN='' check "add a customer with a Finnish e-mail address (NFC)" 0 "$BIN" subject add --kind customer \
	--field first_name=Aino --field last_name=Mäkelä --field email="$(nf NFC 'aino.mäkelä@kärkkäinen.fi')" \
	--field username="$(nf NFC 'aino.mäkelä')"
A=$out
IN='' check "the address in NFD finds her" 0 "$BIN" subject find --by email "$(nf NFD 'aino.mäkelä@kärkkäinen.fi')"
expect "it is the same subject" test "$out" = "$A"
IN='' check "the user name in NFD finds her" 0 "$BIN" subject find --by username "$(nf NFD 'aino.mäkelä')"
IN='' check "the domain upper-cased finds her" 0 "$BIN" subject find --by email 'aino.mäkelä@KÄRKKÄINEN.FI'
IN='' check "the domain in full-width letters finds her" 0 "$BIN" subject find --by email 'aino.mäkelä@ｋäｒｋｋäｉｎｅｎ.ｆｉ'
expect "it is the same subject" test "$out" = "$A"
IN='' check "an accent that joins no letter is refused" 2 "$BIN" subject add --kind customer \
	--field first_name=Aino --field last_name=Mäkelä --field email="$(printf 'aino.x\xcc\x88@example.fi')"
e2e_finish
