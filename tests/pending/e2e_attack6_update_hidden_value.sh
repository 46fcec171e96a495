#!/usr/bin/env bash
# An update under a purpose replaces a field's values, also those that
# purpose does not show: after a policy change adds a purpose to a field,
# the values stored before keep their old purposes and a read under the
# new purpose does not show them; the console then offers "add a value"
# for that field (docs/console.md: "a field with values that the page
# might not show is not offered"), and saving it deletes the value the
# page never showed. Fails today: the hidden value is gone.
# Ends with "N passed, N failed".
. "$(dirname "$0")/../e2e-common.sh"

e2e_init_customer "add a customer" first_name=Ilmatar last_name=Zyxwvutila \
	email=ilmatar@example.com job_title=Paaseppa
jq '.fields.job_title.purposes += ["orders"]' "$POLICY" >"$WORK/p2.json"
check "a policy adds orders to job_title's purposes" 0 "$BIN" policy apply "$WORK/p2.json"
check "read under orders" 0 "$BIN" --json subject show "$A" --purpose orders
expect "the old value is not shown under orders" jq -e '.fields.job_title == null' <<<"$out" >/dev/null
# what the console's add-value form sends for a field the page shows empty
"$BIN" subject update "$A" --purpose orders --field job_title=Uusi >/dev/null 2>&1
check "read under the customer relationship" 0 "$BIN" --json subject show "$A" --purpose customer_relationship
expect "the value orders never showed is still there" \
	jq -e '[.fields.job_title[].value] | index("Paaseppa") != null' <<<"$out" >/dev/null
e2e_finish
