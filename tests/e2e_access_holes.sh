#!/usr/bin/env bash
# End-to-end: the holes a role must not find in the access rules, through
# the real binary. A role that sees a field only masked cannot recover it by
# looking subjects up with guesses; marketing cannot change or end a subject
# who prohibited direct marketing; identifiers and secrets can always come
# from standard input instead of the command line. Ends with
# "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

HETU=131052-308T
# the 31 check characters of a HETU
CHECKS="0 1 2 3 4 5 6 7 8 9 A B C D E F H J K L M N P R S T U V W X Y"
# audited NAME ACTOR ACTION OUTCOME: how many such entries the trail holds
audited() {
	"$BIN" --json audit log | jq --arg a "$1" --arg x "$2" --arg o "$3" \
		'[.[] | select(.actor == $a and .action == $x and .outcome == $o)] | length'
}

check "init" 0 "$BIN" init --policy "$POLICY"

# --- identifiers from standard input -------------------------------------------
IN="$HETU
aino.reika@example.com
" check "subject add reads field values with --field-stdin" 0 "$BIN" subject add --kind customer \
	--field first_name=Aino --field last_name=Reikäinen --field-stdin hetu --field-stdin email
ID=$out
expect "it prints the new ID" grep -qxE '[0-9a-f]{32}' <<<"$ID"
check "show" 0 "$BIN" --json subject show "$ID"
expect "the HETU came from standard input" test "$(jq -r '.fields.hetu[0].value' <<<"$out")" = "$HETU"
expect "the e-mail came from standard input (second line)" \
	test "$(jq -r '.fields.email[0].value' <<<"$out")" = "aino.reika@example.com"
IN="$HETU" check "subject find reads the value from standard input with -" 0 "$BIN" subject find --by hetu -
expect "and finds the subject" test "$out" = "$ID"
IN="aino.reika@example.com" check "so does --json subject find" 0 "$BIN" --json subject find --by email -
expect "the JSON lists the subject" test "$(jq -r '.[0].id' <<<"$out")" = "$ID"
IN='' check "find - without a value on standard input exits 2" 2 "$BIN" subject find --by hetu -
IN="uusi.osoite@example.com" check "subject update reads --field-stdin" 0 "$BIN" subject update "$ID" --field-stdin email
IN="uusi.osoite@example.com" check "the new e-mail finds the subject" 0 "$BIN" subject find --by email -
expect "and only that one" test "$out" = "$ID"
IN='' check "--field-stdin without a name exits 2" 2 "$BIN" subject update "$ID" --field-stdin
IN="hunter2hunter2" check "a password through --field-stdin" 0 "$BIN" subject update "$ID" --field-stdin password --purpose products_services
IN='' check "a password on the command line is still refused" 2 "$BIN" subject update "$ID" --field password=hunter2hunter2 --purpose products_services
IN="ck-from-stdin-1" check "cookie link reads the identifier with -" 0 "$BIN" cookie link "$ID" -
IN='' check "consent to analytics cookies" 0 "$BIN" consent give "$ID" analytics_cookies
IN='ck-from-stdin-1
{"url": "https://example.com/", "at": "2025-01-31T12:00:00Z"}' \
	check "record add --cookie - reads the identifier, then the JSON" 0 "$BIN" record add --cookie - --type browsing --purpose analytics
check "the record reached the subject" 0 "$BIN" --json record list "$ID" --type browsing --purpose analytics
expect "one browsing record" test "$(jq 'length' <<<"$out")" = 1
IN="Lomake 7: kyllä" check "consent evidence from standard input" 0 "$BIN" consent give "$ID" email_marketing --evidence-stdin
for s in "$HETU" reika@example uusi.osoite hunter2 ck-from-stdin Lomake; do
	expect "nothing read from standard input shows in the audit trail ($s)" \
		bash -c '! "$0" --json audit log | grep -qF -- "$1"' "$BIN" "$s"
done

# --- a masked HETU cannot be recovered by lookups --------------------------------
# a subject of its own, added the old way, so that these checks stand alone
check "add a subject with a HETU" 0 "$BIN" subject add --kind customer \
	--field first_name=Aino --field last_name=Reikäinen --field hetu="$HETU" \
	--field email=uusi.osoite@example.com
ID=$out
CS=$("$BIN" actor add cs-1 --role customer_service)
BI=$("$BIN" actor add bi-1 --role billing)
MK=$("$BIN" actor add mk-1 --role marketing)
as_cs() { env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$@"; }
as_bi() { env REKISTERI_ACTOR=bi-1 REKISTERI_TOKEN="$BI" "$@"; }
as_mk() { env REKISTERI_ACTOR=mk-1 REKISTERI_TOKEN="$MK" "$@"; }

check "customer service sees the HETU" 0 as_cs "$BIN" --json subject show "$ID"
expect "only masked" test "$(jq -r '.fields.hetu[0].value' <<<"$out")" = "131052-****"
found=0
for c in $CHECKS; do
	if as_cs "$BIN" subject find --by hetu "131052-308$c" >/dev/null 2>&1; then found=$((found + 1)); fi
done
expect "no guess of the check character finds the subject" test "$found" -eq 0
check "a HETU lookup by a role that sees it masked exits 4" 4 as_cs "$BIN" subject find --by hetu "$HETU"
expect "the refusal says why" grep -q "only masked" <<<"$err"
expect "and does not echo the HETU" bash -c '! grep -q 131052 <<<"$0"' "$err"
IN="$HETU" check "from standard input too" 4 as_cs "$BIN" subject find --by hetu -
expect "every refused guess is in the audit trail" test "$(audited cs-1 subject.find refused)" -ge 33
check "customer service still finds by e-mail" 0 as_cs "$BIN" subject find --by email uusi.osoite@example.com
check "billing, which sees HETUs whole, finds by HETU" 0 as_bi "$BIN" subject find --by hetu "$HETU"
expect "the subject is among them" test "$(grep -c "$ID" <<<"$out")" = 1

# --- marketing and a direct-marketing prohibition --------------------------------
check "marketing may update a subject without a prohibition" 0 as_mk "$BIN" subject update "$ID" \
	--field email=markkinointi@example.com --purpose marketing_communications
check "prohibit direct marketing" 0 "$BIN" object "$ID" direct_marketing
before=$("$BIN" --json subject show "$ID" | jq -c '.fields.email, .relationship')
check "marketing may not update a subject who prohibited it" 4 as_mk "$BIN" subject update "$ID" \
	--field email=vaara@example.com --purpose marketing_communications
expect "the refusal names the prohibition" grep -q "direct-marketing prohibition" <<<"$err"
check "marketing may not end the relationship of such a subject" 4 as_mk "$BIN" subject end "$ID" \
	--purpose marketing_communications
check "nor through another of its purposes" 4 as_mk "$BIN" subject update "$ID" \
	--field email=vaara@example.com --purpose feedback_research
expect "nothing changed" test "$("$BIN" --json subject show "$ID" | jq -c '.fields.email, .relationship')" = "$before"
expect "the refused update and end are audited" \
	test "$(( $(audited mk-1 subject.update refused) + $(audited mk-1 subject.end refused) ))" -ge 3
check "customer service still updates the subject" 0 as_cs "$BIN" subject update "$ID" --field email=asiakas@example.com

# --- the documentation says who the command line acts as -----------------------
expect "the manual says master-key holders act as the operator" \
	grep -q "act as the operator" "$SRC/docs/rekisteri.1"
expect "the README says staff get tokens through the server" \
	grep -qiE "tokens +through +the +server" <(tr "\n" " " <"$SRC/README.md")

e2e_finish
