#!/usr/bin/env bash
# End-to-end tests of consents, the direct-marketing prohibition, the
# marketing decision and cookie profiles through the real binary on a real
# SQLite file. Each check states what it proves; the script ends with
# "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

# checkin NAME EXPECTED_EXIT INPUT CMD...: the same with INPUT on stdin
checkin() {
	local name=$1 want=$2 input=$3
	shift 3
	out=$(printf '%s' "$input" | "$@" 2>"$WORK/stderr"); rc=$?
	err=$(cat "$WORK/stderr")
	if [ "$rc" -eq "$want" ]; then ok "$name"; else bad "$name (exit $rc, wanted $want; stderr: $err)"; fi
}
# history_has SCOPE GIVEN VERSION: the --json history in $out (one JSON
# object a ledger entry) has such an entry
history_has() {
	tr -d '\n' <<<"$out" | sed 's/},/}\n/g' |
		grep -qE "\"scope\": \"$1\", +\"given\": $2, .*\"notice_version\": $3,"
}

LOC='{"latitude": "60.1699", "longitude": "24.9384", "recorded_at": "2025-01-31T12:00:00Z"}'
BROWSE='{"url": "https://example.com/tuotteet", "at": "2025-01-31T12:00:00Z"}'

e2e_init_customer "add a customer" first_name=Ilmatar last_name=Zyxwvutila \
	email=ilmatar@example.com
check "add a second customer" 0 "$BIN" subject add --kind customer \
	--field last_name=Qwertyläinen --field email=vaino@example.fi
B=$out
check "add a business contact" 0 "$BIN" subject add --kind contact \
	--field last_name=Yrityskontakti --field email=ostaja@yritys.example
K=$out

# --- the consent ledger ------------------------------------------------------
check "give location consent" 0 "$BIN" consent give "$A" location --channel app
checkin "give e-mail consent with evidence" 0 "Lomake 12: kyllä, Zyxwvutila" \
	"$BIN" consent give "$A" email_marketing --channel web --evidence-stdin
check "withdraw e-mail consent" 0 "$BIN" consent withdraw "$A" email_marketing --channel phone
check "an undeclared scope is refused" 2 "$BIN" consent give "$A" world_domination
check "an invalid channel is refused" 2 "$BIN" consent give "$A" location --channel "Web Form"
check "consent for a missing subject" 3 "$BIN" consent give 0123456789abcdef0123456789abcdef location
check "consent history" 0 "$BIN" consent history "$A"
expect "the history has a header" grep -qE '^TIME +KIND +SCOPE +STATE +CHANNEL +NOTICE +ACTOR +EVIDENCE$' <<<"$out"
expect "the readable history shows the withdrawal with its notice version" \
	grep -qE '^[0-9TZ:-]+ +consent +email_marketing +withdrawn +phone +notice v1 +[a-z]' <<<"$out"
expect "the readable history quotes the evidence at the end" \
	grep -qE ' email_marketing +given +web +notice v1 +[a-z0-9._-]+ +"Lomake 12: kyllä, Zyxwvutila"$' <<<"$out"
check "consent history --json" 0 "$BIN" --json consent history "$A"
expect "history is a JSON array of 3 entries" \
	test "$(grep -c '"kind": "consent"' <<<"$out")" = 3
expect "history shows the location consent with its notice version" history_has location true 1
expect "history shows the e-mail consent with its notice version" history_has email_marketing true 1
expect "history shows the withdrawal with its notice version" history_has email_marketing false 1
expect "history shows the channel" grep -q '"channel": "phone"' <<<"$out"
expect "history shows the evidence" grep -q "Lomake 12" <<<"$out"
expect "history entries are in order" \
	test "$(grep -o '"given": [a-z]*' <<<"$out" | tr '\n' ' ')" = '"given": true "given": true "given": false '

# --- the direct-marketing prohibition -----------------------------------------
check "a customer without consent or purchases: no e-mail" 4 "$BIN" may-contact "$B" --channel email
expect "the rule says consent is needed" grep -q "^no: e-mail marketing to a consumer needs prior consent" <<<"$out"
check "a customer may get post" 0 "$BIN" may-contact "$B" --channel post
expect "yes prints the rule" grep -q "^yes: " <<<"$out"
check "a business contact may get e-mail" 0 "$BIN" may-contact "$K" --channel email
check "e-mail consent for the second customer" 0 "$BIN" consent give "$B" email_marketing
check "third-party consent for the second customer" 0 "$BIN" consent give "$B" third_party_marketing
check "with consent, e-mail is allowed" 0 "$BIN" may-contact "$B" --channel email
check "object direct_marketing" 0 "$BIN" object "$B" direct_marketing --channel phone
check "object direct_marketing for the contact" 0 "$BIN" object "$K" direct_marketing
check "an undeclared objection is refused" 2 "$BIN" object "$B" everything
check "a later e-mail consent" 0 "$BIN" consent give "$B" email_marketing --channel web
for ch in email sms phone post; do
	for who in own third-party; do
		check "after the prohibition: no $ch ($who)" 4 "$BIN" may-contact "$B" --channel "$ch" --for "$who"
		expect "the prohibition is the rule ($ch, $who)" grep -q "^no: direct-marketing prohibition overrides every consent" <<<"$out"
	done
	check "the contact refused: no $ch" 4 "$BIN" may-contact "$K" --channel "$ch"
done
check "may-contact --json" 4 "$BIN" --json may-contact "$B" --channel email
expect "--json gives allowed and rule" \
	grep -qE '^\{"allowed": false, "rule": "direct-marketing prohibition[^"]*", "law": "[^"]+", "condition": ""\}$' <<<"$out"
check "an unknown channel is refused" 2 "$BIN" may-contact "$B" --channel fax
check "an unknown --for is refused" 2 "$BIN" may-contact "$B" --channel post --for everyone
check "the history shows the objection" 0 "$BIN" --json consent history "$B"
expect "the objection is in the ledger" grep -q '"kind": "objection"' <<<"$out"
check "the readable history of the objection" 0 "$BIN" consent history "$B"
expect "the readable history shows the objection" \
	grep -qE '^[0-9TZ:-]+ +objection +direct_marketing +objected +phone +notice v1 ' <<<"$out"

# --- location data needs consent, and goes with it ----------------------------
checkin "a location record without consent is refused" 4 "$LOC" "$BIN" record add "$B" --type location --purpose analytics
expect "the refusal names the missing consent" grep -qi consent "$WORK/stderr"
expect "no location row was written" test "$(rows "SELECT count(*) FROM record WHERE type = 'location'")" = 0
checkin "a location record with consent" 0 "$LOC" "$BIN" record add "$A" --type location --purpose analytics
checkin "a second location record" 0 "$LOC" "$BIN" record add "$A" --type location --purpose analytics
expect "two location rows are stored" test "$(rows "SELECT count(*) FROM record WHERE subject_id = '$A' AND type = 'location'")" = 2
# the sealed location records as they lie on disk, to look for them after
LOCHEX=$(rows "SELECT hex(ciphertext) FROM record WHERE subject_id = '$A' AND type = 'location'")
check "withdraw location consent" 0 "$BIN" consent withdraw "$A" location --channel app
expect "no location rows remain" test "$(rows "SELECT count(*) FROM record WHERE subject_id = '$A' AND type = 'location'")" = 0
# perl is part of every Debian system (perl-base)
on_disk() { # on_disk HEX FILE: whether the bytes occur in the file
	[ -f "$2" ] && perl -0777 -ne 'BEGIN { $n = pack("H*", shift @ARGV) } exit(index($_, $n) >= 0 ? 0 : 1)' "$1" "$2"
}
for h in $LOCHEX; do
	for f in "$REKISTERI_DB" "$REKISTERI_DB-wal"; do
		if on_disk "$h" "$f"; then bad "a withdrawn location record is still in $(basename "$f")"; else ok "a withdrawn location record is gone from $(basename "$f")"; fi
	done
done
check "record list after the withdrawal" 0 "$BIN" record list "$A" --type location --purpose analytics
expect "record list shows no location data" bash -c '! grep -q latitude <<<"$0"' "$out"
checkin "a new location record is refused again" 4 "$LOC" "$BIN" record add "$A" --type location --purpose analytics

# --- cookie profiles ------------------------------------------------------------
check "link a cookie" 0 "$BIN" cookie link "$A" GA1.2.1234567890.1738324800
check "linking it again is fine" 0 "$BIN" cookie link "$A" GA1.2.1234567890.1738324800
check "another subject cannot take it" 2 "$BIN" cookie link "$B" GA1.2.1234567890.1738324800
check "consent to analytics cookies" 0 "$BIN" consent give "$A" analytics_cookies
checkin "browsing under the cookie reaches the subject" 0 "$BROWSE" \
	"$BIN" record add --cookie GA1.2.1234567890.1738324800 --type browsing --purpose analytics
check "reset the cookie profile" 0 "$BIN" cookie reset "$A"
expect "reset reports one identifier" grep -q "unlinked 1 identifier" <<<"$out"
expect "no identifier of the subject remains" test "$(rows "SELECT count(*) FROM cookie WHERE subject_id = '$A'")" = 0
checkin "browsing under the old cookie no longer reaches anyone" 3 "$BROWSE" \
	"$BIN" record add --cookie GA1.2.1234567890.1738324800 --type browsing --purpose analytics
check "cookie reset --json" 0 "$BIN" --json cookie reset "$A"
expect "--json reports zero unlinked" grep -q '"unlinked": 0' <<<"$out"

# --- nothing personal on disk or in the audit trail ----------------------------
for f in "$REKISTERI_DB" "$REKISTERI_DB-wal"; do
	[ -f "$f" ] || continue
	for s in "Lomake 12" GA1.2.1234567890 60.1699; do
		if grep -aq -- "$s" "$f"; then bad "plaintext $s found in $(basename "$f")"; else ok "no plaintext $s in $(basename "$f")"; fi
	done
done
expect "the audit records the withdrawal" test "$(rows "SELECT count(*) FROM audit WHERE action = 'consent.withdraw' AND fields = 'location'")" = 1
expect "the audit records the prohibition" test "$(rows "SELECT count(*) FROM audit WHERE action = 'object.direct_marketing'")" -ge 2
check "audit verify" 0 "$BIN" audit verify

e2e_finish
