#!/usr/bin/env bash
# An update replaces a field's values with the ones it sends. A value sent
# again unchanged used to be deleted and written anew: it took the update's
# source and today's collection time, which also restarted its retention.
# The console's edit sends every value of the field with the one changed,
# so editing one e-mail address rewrote the provenance of the others. Now a
# value the field already holds stays as it is (source, collection time,
# expiry); only new values are written and only values not sent again go.
# An update finds a value edited without the key before it re-pins them.
# Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

e2e_init_customer "add a customer with two addresses" first_name=Ilmatar last_name=Zyxwvutila \
	email=ilmatar@example.com email=ilmatar.toinen@example.com
check "read before" 0 "$BIN" --json subject show "$A"
before=$out
keep_src=$(jq -r '.fields.email[] | select(.value == "ilmatar@example.com") | .source' <<<"$before")
keep_at=$(jq -r '.fields.email[] | select(.value == "ilmatar@example.com") | .collected_at' <<<"$before")
expect "the address came from the data subject" test "$keep_src" = data_subject
expect "its collection time is known" test -n "$keep_at" -a "$keep_at" != null
sleep 1 # a value written anew would show a later second
check "update: the first address again, the second replaced, from another source" 0 \
	"$BIN" subject update "$A" --source service_use \
	--field email=ilmatar@example.com --field email=ilmatar.uusi@example.com
check "read after" 0 "$BIN" --json subject show "$A"
expect "the field holds the two addresses sent" \
	jq -e '[.fields.email[].value] | sort == ["ilmatar.uusi@example.com", "ilmatar@example.com"]' <<<"$out" >/dev/null
expect "the address sent again keeps its source" \
	jq -e '.fields.email[] | select(.value == "ilmatar@example.com") | .source == "data_subject"' <<<"$out" >/dev/null
expect "and its collection time" \
	jq -e --argjson at "$keep_at" '.fields.email[] | select(.value == "ilmatar@example.com") | .collected_at == $at' <<<"$out" >/dev/null
expect "the new address has the update's source" \
	jq -e '.fields.email[] | select(.value == "ilmatar.uusi@example.com") | .source == "service_use"' <<<"$out" >/dev/null
expect "and a later collection time" \
	jq -e --argjson at "$keep_at" '.fields.email[] | select(.value == "ilmatar.uusi@example.com") | .collected_at > $at' <<<"$out" >/dev/null
check "the kept address still finds the subject" 0 "$BIN" --json subject find --by email ilmatar@example.com
expect "the same subject" jq -e --arg a "$A" '[.[].id] == [$a]' <<<"$out" >/dev/null
check "the new address finds it" 0 "$BIN" --json subject find --by email ilmatar.uusi@example.com
expect "the same subject" jq -e --arg a "$A" '[.[].id] == [$a]' <<<"$out" >/dev/null
check "the replaced address finds no one" 3 "$BIN" --json subject find --by email ilmatar.toinen@example.com
check "sending the same value twice keeps one and adds one" 0 \
	"$BIN" subject update "$A" --field email=ilmatar@example.com --field email=ilmatar@example.com
check "read" 0 "$BIN" --json subject show "$A"
expect "two rows of the address, one of them the kept one" \
	jq -e --argjson at "$keep_at" '[.fields.email[] | select(.value == "ilmatar@example.com")] | length == 2 and (map(select(.collected_at == $at and .source == "data_subject")) | length == 1)' <<<"$out" >/dev/null
check "removing the field deletes the kept values too" 0 "$BIN" subject update "$A" --field email=
check "read" 0 "$BIN" --json subject show "$A"
expect "no address left" jq -e '.fields.email == null' <<<"$out" >/dev/null
check "audit verify passes" 0 "$BIN" audit verify
# An update re-pins the subject's values, kept ones and other fields'
# with them: a value edited without the key must stop it, not be blessed.
check "another address" 0 "$BIN" subject update "$A" --field email=ilmatar@example.com
rows "UPDATE value SET purposes = purposes || ',marketing_communications' WHERE field = 'email'"
check "an update of another field is refused" 5 "$BIN" subject update "$A" --field last_name=Uusi
check "the edit is still found" 5 "$BIN" audit verify
e2e_finish
