#!/usr/bin/env bash
# End-to-end tests of `rekisteri record`: the real binary on a real SQLite
# file. Each check states what it proves; the script ends with
# "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

not_in() { ! grep -q -- "$1" <<<"$2"; }

e2e_aino

# --- add and list -------------------------------------------------------------
IN='{"product": "Tulostin X", "amount": "129.90", "currency": "EUR", "warranty_until": "1.5.2027"}' \
	check "add a purchase" 0 "$BIN" record add "$A" --type purchase
P=$out
expect "add prints the record number alone" grep -qxE '[0-9]+' <<<"$P"
IN='{"amount": "129.90", "currency": "EUR", "method": "card", "card_token": "tok_9xZ", "card_last4": "4242", "card_expiry": "12/29"}' \
	check "add a payment with token, last four and expiry" 0 "$BIN" --json record add "$A" --type payment
expect "add --json prints {\"id\": N}" grep -qxE '\{"id": [0-9]+\}' <<<"$out"
IN='' check "list" 0 "$BIN" record list "$A"
expect "list shows the purchase" grep -q "Tulostin X" <<<"$out"
expect "list shows the normalised date" grep -q "2027-05-01" <<<"$out"
expect "list shows one block per record" test "$(grep -c '^record ' <<<"$out")" -eq 2
IN='' check "list --json" 0 "$BIN" --json record list "$A" --type purchase
expect "list --json is an array of the purchase" grep -q '"product": "Tulostin X"' <<<"$out"
expect "list --type filters" not_in '"card_last4"' "$out"
IN='' check "list for a purpose no record serves" 0 "$BIN" --json record list "$A" --purpose marketing_communications
expect "it is empty" test "$out" = "[]"
IN='' check "list for an undeclared purpose" 2 "$BIN" record list "$A" --purpose world_domination
IN='' check "list of a missing subject" 3 "$BIN" record list 0123456789abcdef0123456789abcdef

# --- refusals change nothing --------------------------------------------------
n=$(rows "SELECT count(*) FROM record")
IN='{"product": "Tulostin X", "currency": "EUR"}' \
	check "a record without a required field exits 2" 2 "$BIN" record add "$A" --type purchase
IN='{"product": "Tulostin X", "amount": "1", "currency": "EUR", "shoe_size": 44}' \
	check "an unknown field exits 2" 2 "$BIN" record add "$A" --type purchase
expect "the error does not repeat the unknown name" not_in "shoe_size" "$err"
expect "the error lists the fields a purchase has" grep -q "product" <<<"$err"
IN='{"product": "Tulostin X", "amount": "paljon", "currency": "EUR"}' \
	check "a bad value exits 2" 2 "$BIN" record add "$A" --type purchase
expect "the bad value is not echoed" not_in "paljon" "$err"
IN='{"product": "Tulostin X",' check "broken JSON exits 2" 2 "$BIN" record add "$A" --type purchase
IN='' check "no JSON at all exits 2" 2 "$BIN" record add "$A" --type purchase
IN='{"amount": "1", "currency": "EUR", "method": "card", "card_token": "4111 1111 1111 1111"}' \
	check "a card number as the token exits 2" 2 "$BIN" record add "$A" --type payment
expect "the card number is not echoed" not_in "4111" "$err"
expect "the error says a card number is never stored" grep -q "never stored" <<<"$err"
IN='{"kind": "complaint", "text": "Kortilta 5500-0000-0000-0004 veloitettiin kahdesti"}' \
	check "a card number in a feedback text exits 2" 2 "$BIN" record add "$A" --type feedback
expect "that card number is not echoed either" not_in "5500" "$err"
IN='{"product": "x", "amount": "1", "currency": "EUR"}' \
	check "a record for a missing subject exits 3" 3 "$BIN" record add 0123456789abcdef0123456789abcdef --type purchase
IN='{}' check "an unknown record type exits 2" 2 "$BIN" record add "$A" --type spaceship
IN='{"product": "x", "amount": "1", "currency": "EUR"}' \
	check "a purpose the type does not serve exits 4" 4 "$BIN" record add "$A" --type purchase --purpose analytics
expect "refused records wrote nothing" test "$(rows 'SELECT count(*) FROM record')" = "$n"
# The card numbers as written (four digits alone also occur by chance in
# the hex of IDs and hashes).
db_text=$(strings "$REKISTERI_DB" "$REKISTERI_DB-wal" 2>/dev/null)
for card in "4111 1111 1111 1111" 4111111111111111 "5500-0000-0000-0004" \
	5500000000000004; do
	expect "no card number reached the database ($card)" not_in "$card" "$db_text"
done

# --- location needs consent ---------------------------------------------------
LOC='{"latitude": 60.1699, "longitude": 24.9384, "recorded_at": "2024-05-01T10:00:00Z"}'
IN=$LOC check "location without consent exits 4" 4 "$BIN" record add "$A" --type location --purpose analytics
expect "the refusal names the consent" grep -q "consent" <<<"$err"
expect "and wrote nothing" test "$(rows "SELECT count(*) FROM record WHERE type = 'location'")" = 0
IN='' check "give location consent" 0 "$BIN" consent give "$A" location
IN=$LOC check "location with consent" 0 "$BIN" record add "$A" --type location --purpose analytics
IN='' check "withdraw location consent" 0 "$BIN" consent withdraw "$A" location
IN=$LOC check "location after withdrawal exits 4" 4 "$BIN" record add "$A" --type location --purpose analytics

# --- attachments --------------------------------------------------------------
head -c 200000 /dev/urandom >"$WORK/call.ogg"
MARK=RKE2EMARK-5d1c0b9a-attach-run-42
printf '%s' "$MARK" >>"$WORK/call.ogg"
head -c 1000 /dev/urandom >>"$WORK/call.ogg"
IN='{"channel": "call", "direction": "inbound"}' \
	check "add a communication with an attachment" 0 "$BIN" record add "$A" --type communication \
	--attach "$WORK/call.ogg" --attach-type audio/ogg
R=$out
IN='' check "list shows the attachment" 0 "$BIN" --json record list "$A" --type communication
expect "with its size and type" grep -q '"size": 201032' <<<"$out"
IN='' check "get the attachment" 0 "$BIN" record attachment "$A" "$R" --out "$WORK/out.ogg"
expect "it is byte-identical" cmp -s "$WORK/call.ogg" "$WORK/out.ogg"
expect "it is mode 0600" test "$(stat -c %a "$WORK/out.ogg")" = 600
IN='' check "an existing output file is refused" 2 "$BIN" record attachment "$A" "$R" --out "$WORK/out.ogg"
expect "the attachment is not in the database in plaintext" not_in "$MARK" "$(cat "$REKISTERI_DB" "$REKISTERI_DB-wal" 2>/dev/null | strings)"
n=$(rows "SELECT count(*) FROM attachment_chunk")
truncate -s $((104857600 + 1)) "$WORK/huge.wav"
IN='{"channel": "call", "direction": "inbound"}' \
	check "an attachment over the limit exits 2" 2 "$BIN" record add "$A" --type communication --attach "$WORK/huge.wav"
expect "and wrote no chunk" test "$(rows 'SELECT count(*) FROM attachment_chunk')" = "$n"
IN='{"product": "x", "amount": "1", "currency": "EUR"}' \
	check "an attachment on a purchase exits 2" 2 "$BIN" record add "$A" --type purchase --attach "$WORK/call.ogg"
rows "UPDATE attachment_chunk SET seq = -1 WHERE record_id = $R AND seq = 0;
      UPDATE attachment_chunk SET seq = 0 WHERE record_id = $R AND seq = 1;
      UPDATE attachment_chunk SET seq = 1 WHERE record_id = $R AND seq = -1;"
IN='' check "swapped chunks exit 5" 5 "$BIN" record attachment "$A" "$R" --out "$WORK/swapped.ogg"
expect "and leave no output file" test ! -e "$WORK/swapped.ogg"

# --- cookies ------------------------------------------------------------------
BROWSE='{"url": "https://example.com/", "at": "2024-05-01T10:00:00Z"}'
IN=$BROWSE check "a browsing record for an unlinked cookie exits 3" 3 "$BIN" record add --cookie ck-e2e-1 --type browsing --purpose analytics
IN='' check "link the cookie" 0 "$BIN" cookie link "$A" ck-e2e-1
IN='' check "consent to analytics cookies" 0 "$BIN" consent give "$A" analytics_cookies
IN=$BROWSE check "a browsing record through the cookie" 0 "$BIN" record add --cookie ck-e2e-1 --type browsing --purpose analytics
IN='' check "it is the subject's" 0 "$BIN" --json record list "$A" --type browsing --purpose analytics
expect "listed under the subject" grep -q '"url": "https://example.com/"' <<<"$out"
# --- browsing for marketing needs the personalisation consent --------------
BID=$(rows "SELECT id FROM record WHERE type = 'browsing' ORDER BY id LIMIT 1")
REFUSED="SELECT count(*) FROM audit WHERE outcome = 'refused' AND action IN ('record.add', 'record.attachment')"
refused=$(rows "$REFUSED")
IN='' check "browsing for analytics needs no consent" 0 "$BIN" --json record list "$A" --purpose analytics
expect "it is listed" grep -q '"type": "browsing"' <<<"$out"
IN='' check "list for marketing without personalisation consent" 0 "$BIN" --json record list "$A" --purpose marketing_communications
expect "has no browsing data" not_in '"browsing"' "$out"
IN='' check "the same with --type browsing" 0 "$BIN" --json record list "$A" --type browsing --purpose marketing_communications
expect "is empty" test "$out" = "[]"
IN='' check "a browsing record read for marketing exits 4" 4 "$BIN" record attachment "$A" "$BID" --out "$WORK/b.out" --purpose marketing_communications
expect "the refusal names the consent" grep -q "personalisation" <<<"$err"
expect "and writes no file" test ! -e "$WORK/b.out"
n=$(rows "SELECT count(*) FROM record")
IN=$BROWSE check "browsing stored for marketing without consent exits 4" 4 "$BIN" record add "$A" --type browsing --purpose marketing_communications
expect "the refusal names the consent too" grep -q "personalisation" <<<"$err"
expect "and stores nothing" test "$(rows 'SELECT count(*) FROM record')" = "$n"
expect "both refusals are in the audit trail" test "$(rows "$REFUSED")" -eq $((refused + 2))
IN='' check "give personalisation consent" 0 "$BIN" consent give "$A" personalisation
IN=$BROWSE check "browsing stored for marketing with consent" 0 "$BIN" record add "$A" --type browsing --purpose marketing_communications
IN='' check "list for marketing with consent" 0 "$BIN" --json record list "$A" --type browsing --purpose marketing_communications
expect "has all the browsing data" test "$(grep -c '"type": "browsing"' <<<"$out")" -eq 2
IN='' check "prohibit direct marketing" 0 "$BIN" object "$A" direct_marketing
IN='' check "marketing is refused after the prohibition" 4 "$BIN" --json record list "$A" --type browsing --purpose marketing_communications
expect "the refusal names the prohibition" grep -q "direct-marketing prohibition" <<<"$err"
IN='' check "analytics still sees it" 0 "$BIN" --json record list "$A" --type browsing --purpose analytics
expect "both records" test "$(grep -c '"type": "browsing"' <<<"$out")" -eq 2
IN='' check "add a second customer" 0 "$BIN" subject add --kind customer \
	--field first_name=Eero --field last_name=Asdfgström
B=$out
IN=$BROWSE check "browsing for the second customer needs the cookie consent" 4 "$BIN" record add "$B" --type browsing --purpose analytics
IN='' check "consent to analytics cookies" 0 "$BIN" consent give "$B" analytics_cookies
IN=$BROWSE check "browsing for the second customer" 0 "$BIN" record add "$B" --type browsing --purpose analytics
IN='' check "the second customer gives personalisation consent" 0 "$BIN" consent give "$B" personalisation
IN='' check "list for marketing" 0 "$BIN" --json record list "$B" --purpose marketing_communications
expect "has the browsing data" grep -q '"type": "browsing"' <<<"$out"
IN='' check "the second customer withdraws it" 0 "$BIN" consent withdraw "$B" personalisation
IN='' check "list for marketing after the withdrawal" 0 "$BIN" --json record list "$B" --purpose marketing_communications
expect "is empty again too" test "$out" = "[]"
IN='' check "record --help" 0 "$BIN" record --help
IN='' check "the audit trail verifies" 0 "$BIN" audit verify

e2e_finish
