#!/usr/bin/env bash
# Attack: a restricted subject's data is "only stored" (GDPR Art. 18(2)),
# read and added to for the legal-claims purpose alone. Customer service,
# which has no such purpose, tries the side paths: reading the subject's
# consent history (sealed evidence and the restriction's own reason),
# linking a new cookie identifier (new data), deleting one of its values
# with `subject update --field phone=` (data the subject may need for a
# claim). Each is refused.
. "$(dirname "$0")/e2e-common.sh"

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
IN='' check "customer service" 0 "$BIN" actor add cs-1 --role customer_service
CS=$out
IN='' check "a subject" 0 "$BIN" subject add --kind customer \
	--field first_name=Eino --field last_name=Rajoitettu \
	--field email=eino.rajoitettu@example.com --field phone=0401234567
A=$out
IN='asiakas kiistää osoitteen: oikea osoite Salakatu 5' \
	check "restrict, with a reason that holds personal data" 0 \
	"$BIN" restrict "$A" --reason-stdin
as_cs() { env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$BIN" "$@"; }
IN='' check "customer service cannot read the subject" 4 as_cs subject show "$A"
IN='' check "nor its consent history (sealed evidence, the reason)" 4 \
	as_cs consent history "$A"
expect "... and the reason is not shown to it" \
	bash -c '! grep -q Salakatu <<<"$1"' _ "$out"
IN='' check "nor link a new identifier to it" 4 as_cs cookie link "$A" cookie-rajoitettu-1
IN='' check "nor delete one of its values" 4 as_cs subject update "$A" --field phone=
IN='' check "the phone number is still stored" 0 "$BIN" subject show "$A" \
	--purpose misuse_prevention
expect "... and there" grep -q "^phone" <<<"$out"
e2e_finish
