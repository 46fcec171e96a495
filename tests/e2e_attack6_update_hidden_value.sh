#!/usr/bin/env bash
# An update under a purpose replaces a field's values, also those that
# purpose does not show: after a policy change adds a purpose to a field,
# the values stored before keep their old purposes and a read under the
# new purpose does not show them; the console then offers "add a value"
# for that field (docs/console.md: "a field with values that the page
# might not show is not offered"), and saving it deleted the value the
# page never showed. Such an update is now refused and changes nothing; under
# a purpose that shows the value it goes through. Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

e2e_init_customer "add a customer" first_name=Ilmatar last_name=Zyxwvutila \
	email=ilmatar@example.com job_title=Paaseppa
jq '.fields.job_title.purposes += ["orders"]' "$POLICY" >"$WORK/p2.json"
check "a policy adds orders to job_title's purposes" 0 "$BIN" policy apply "$WORK/p2.json"
check "read under orders" 0 "$BIN" --json subject show "$A" --purpose orders
expect "the old value is not shown under orders" jq -e '.fields.job_title == null' <<<"$out" >/dev/null
# what the console's add-value form sends for a field the page shows empty
check "an update under orders is refused" 4 "$BIN" subject update "$A" --purpose orders --field job_title=Uusi
expect "the refusal says why, without the value" \
	grep -q "job_title holds a value that purpose orders does not show" <<<"$err"
expect "and names no value" test -z "$(grep -o 'Paaseppa' <<<"$err")"
check "read under the customer relationship" 0 "$BIN" --json subject show "$A" --purpose customer_relationship
expect "the value orders never showed is still there" \
	jq -e '[.fields.job_title[].value] == ["Paaseppa"]' <<<"$out" >/dev/null
check "the same update under a purpose that shows the value" 0 "$BIN" subject update "$A" \
	--purpose customer_relationship --field job_title=Uusi
check "read under orders now" 0 "$BIN" --json subject show "$A" --purpose orders
expect "the new value serves orders too" jq -e '[.fields.job_title[].value] == ["Uusi"]' <<<"$out" >/dev/null
check "the refusal is in the audit trail" 0 "$BIN" --json audit log --subject "$A"
expect "as a refused update" jq -e '[.[] | select(.action == "subject.update" and .outcome == "refused")] | length == 1' <<<"$out" >/dev/null
e2e_finish
