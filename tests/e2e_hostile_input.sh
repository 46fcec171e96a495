#!/usr/bin/env bash
# End-to-end: classes of hostile or careless input through the real binary,
# each handled right and changing nothing when refused: amounts as JSON
# numbers, card numbers in other digits and groupings anywhere free text is
# taken, dates in the future, country codes that are not countries,
# invisible and direction-changing characters, text that would forge lines
# of the output, empty optional fields, operands that start with a dash,
# missing input files, and a relationship end given by mistake. Ends with
# "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

not_in() { ! grep -qF -- "$1" <<<"$2"; }
# u 'TEXT': TEXT with \uXXXX escapes made into UTF-8 (printf %b knows them)
u() { printf '%b' "$1"; }
# cnt SQL: the number a query on the register gives
cnt() { rows "$1"; }

check "init" 0 "$BIN" init --policy "$POLICY"
check "add a customer" 0 "$BIN" subject add --kind customer --field first_name=Aino --field last_name=Vihamielinen
A=$out
TODAY=$(date -u +%F)
FUTURE=$(date -u -d '+2 days' +%F)

# --- money keeps its digits ----------------------------------------------------------
n=$(cnt "SELECT count(*) FROM record")
IN='{"product": "Tulostin", "amount": 129.90, "currency": "EUR"}' \
	check "an amount as a JSON number with a fraction exits 2" 2 "$BIN" record add "$A" --type purchase
expect "the error says to give it as a string" grep -q 'as a string' <<<"$err"
IN='{"product": "Tulostin", "amount": 12345678901234567.89, "currency": "EUR"}' \
	check "a long amount that a double cannot hold exits 2" 2 "$BIN" record add "$A" --type purchase
IN='{"product": "Tulostin", "amount": 1e3, "currency": "EUR"}' \
	check "an amount with an exponent exits 2" 2 "$BIN" record add "$A" --type purchase
IN='{"product": "Tulostin", "amount": 2.5, "quantity": 2.0, "currency": "EUR"}' \
	check "a quantity as a JSON number with a fraction exits 2" 2 "$BIN" record add "$A" --type purchase
expect "refused amounts stored nothing" test "$(cnt "SELECT count(*) FROM record")" = "$n"
IN='{"product": "Tulostin", "amount": "123456789012345.678901", "currency": "EUR"}' \
	check "an amount as decimal text" 0 "$BIN" record add "$A" --type purchase
IN='{"amount": 1299, "currency": "EUR", "method": "invoice"}' \
	check "an amount as a JSON integer" 0 "$BIN" record add "$A" --type payment
check "list" 0 "$BIN" --json record list "$A"
expect "the decimal text is kept exactly" \
	test "$(jq -r '.[] | select(.type == "purchase") | .fields.amount' <<<"$out")" = "123456789012345.678901"
expect "the integer is kept exactly" \
	test "$(jq -r '.[] | select(.type == "payment") | .fields.amount' <<<"$out")" = "1299"

# --- card numbers in any digits and groupings, anywhere free text is taken -----------
CARDS=(
	"4111 1111 1111 1111"
	"4111$(u '\u00a0')1111$(u '\u00a0')1111$(u '\u00a0')1111"
	"4111$(u '\u2013')1111$(u '\u2013')1111$(u '\u2013')1111"
	"4111/1111/1111/1111"
	"4111_1111_1111_1111"
	"4111$(u '\u200b')1111$(u '\u200b')1111$(u '\u200b')1111"
	"$(u '\uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11')"
	"$(u '\u0664\u0661\u0661\u0661-\u0661\u0661\u0661\u0661-\u0661\u0661\u0661\u0661-\u0661\u0661\u0661\u0661')"
	"$(u '\u06f4\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1')"
	"$(u '\u096a\u0967\u0967\u0967 \u0967\u0967\u0967\u0967 \u0967\u0967\u0967\u0967 \u0967\u0967\u0967\u0967')"
	"5500-0000-0000-0004"
)
nrec=$(cnt "SELECT count(*) FROM record")
nval=$(cnt "SELECT count(*) FROM value")
ncon=$(cnt "SELECT count(*) FROM consent")
for i in "${!CARDS[@]}"; do
	c=${CARDS[$i]}
	IN=$(jq -cn --arg t "Maksoin kortilla $c eilen" '{kind: "complaint", text: $t}') \
		check "card number form $i in a record text exits 2" 2 "$BIN" record add "$A" --type feedback
	expect "the error says a card number is never stored ($i)" grep -q "never stored" <<<"$err"
	IN=$(jq -cn --arg t "$c" '{amount: "1", currency: "EUR", method: "card", invoice_number: $t}') \
		check "card number form $i in a record field exits 2" 2 "$BIN" record add "$A" --type payment
	IN='' check "card number form $i in a subject field exits 2" 2 "$BIN" subject update "$A" --field job_title="Kortti $c"
	IN="Suostumus, kortti $c" check "card number form $i in consent evidence exits 2" 2 \
		"$BIN" consent give "$A" email_marketing --evidence-stdin
done
expect "no refused card number stored a record" test "$(cnt "SELECT count(*) FROM record")" = "$nrec"
expect "nor a value" test "$(cnt "SELECT count(*) FROM value")" = "$nval"
expect "nor a ledger entry" test "$(cnt "SELECT count(*) FROM consent")" = "$ncon"
IN='{"kind": "feedback", "text": "Tilaus 12345, asiakasnumero 100234, puhelin 040 123 4567"}' \
	check "ordinary numbers in a text are fine" 0 "$BIN" record add "$A" --type feedback

# --- dates in the future ---------------------------------------------------------------
check "a birth date in the future exits 2" 2 "$BIN" subject update "$A" --field birth_date="$FUTURE"
expect "the error says why" grep -q "future" <<<"$err"
check "a HETU born in the future exits 2" 2 "$BIN" subject update "$A" --field hetu=010199A0022
check "a birth date in the past is fine" 0 "$BIN" subject update "$A" --field birth_date=1980-02-29
check "a relationship end in the future exits 2" 2 "$BIN" subject end "$A" --date "$FUTURE"
IN="{\"product\": \"Tulostin\", \"amount\": \"1\", \"currency\": \"EUR\", \"warranty_until\": \"$FUTURE\"}" \
	check "a warranty may end in the future" 0 "$BIN" record add "$A" --type purchase
IN="{\"amount\": \"1\", \"currency\": \"EUR\", \"method\": \"invoice\", \"due_date\": \"$FUTURE\"}" \
	check "an invoice may be due in the future" 0 "$BIN" record add "$A" --type payment

# --- country codes -----------------------------------------------------------------------
for cc in FI fi SE US AX; do
	check "country $cc is an ISO 3166-1 code" 0 "$BIN" subject update "$A" --field country="$cc"
done
for cc in XX ZZ EU UK XK AA QQ; do
	check "country $cc is refused" 2 "$BIN" subject update "$A" --field country="$cc"
done
check "the stored country" 0 "$BIN" --json subject show "$A"
expect "is the last valid one, upper-cased" test "$(jq -r '.fields.country[0].value' <<<"$out")" = "AX"

# --- invisible and direction-changing characters ------------------------------------------
for cp in 202A 202B 202C 202D 202E 2066 2067 2068 2069 200B 200C 200D 200E 200F 2060 2061 2062 2063 2064 FEFF 2028 2029 061C; do
	name="Eve$(u "\\u$cp")lyn"
	check "U+$cp in a name is refused" 2 "$BIN" subject update "$A" --field first_name="$name"
done
IN=$(jq -cn --arg t "$(u 'Hyv\u00e4 \u202etekstin\u202c palvelu')" '{kind: "feedback", text: $t}') \
	check "a bidirectional override in a record text is refused" 2 "$BIN" record add "$A" --type feedback
IN="$(u 'kyll\u00e4 \u2066x\u2069')" check "an isolate in consent evidence is refused" 2 \
	"$BIN" consent give "$A" email_marketing --evidence-stdin
check "names in other scripts are fine" 0 "$BIN" subject update "$A" --field first_name="$(u 'Ä\u00efn\u00f6 \u0410\u043d\u043d\u0430 \u674e')"

# --- text cannot forge lines of the output -------------------------------------------------
FAKE='Hyvä palvelu\nrecord 999  purchase\n  product       Ilmainen tulostin\tx\r\nrecord 1000'
IN=$(jq -cn --arg t "$(printf '%b' "$FAKE")" '{kind: "feedback", text: $t}') \
	check "a multi-line feedback text is stored" 0 "$BIN" record add "$A" --type feedback
check "record list" 0 "$BIN" record list "$A" --type feedback
expect "it prints no forged record line" test "$(grep -c '^record ' <<<"$out")" -eq 2
expect "nor a forged field line" bash -c '! grep -q "^  product" <<<"$0"' "$out"
expect "the line ends are shown escaped" grep -qF 'Hyvä palvelu\nrecord 999' <<<"$out"
expect "and the tab too" grep -qF 'tulostin\tx' <<<"$out"
check "record list --json" 0 "$BIN" --json record list "$A" --type feedback
expect "keeps the text as it was stored" \
	test "$(jq -r '.[1].fields.text' <<<"$out")" = "$(printf '%b' "$FAKE" | tr -d '\r')"

# --- empty optional fields are absent ----------------------------------------------------------
IN='{"product": "Kaapeli", "amount": "9.90", "currency": "EUR", "order_number": "", "warranty_until": "", "quantity": null}' \
	check "empty optional record fields are accepted" 0 "$BIN" record add "$A" --type purchase
R=$out
check "list it" 0 "$BIN" --json record list "$A" --type purchase
expect "and stored as absent" \
	test "$(jq -c --argjson r "$R" '.[] | select(.id == $r) | .fields | keys' <<<"$out")" = '["amount","currency","product"]'
IN='{"product": "", "amount": "9.90", "currency": "EUR"}' \
	check "an empty required field is missing" 2 "$BIN" record add "$A" --type purchase
expect "and named so" grep -q "field product is required" <<<"$err"
check "an empty optional field in subject add is left out" 0 "$BIN" subject add --kind customer \
	--field last_name=Tyhjä --field email= --field phone=
check "show it" 0 "$BIN" --json subject show "$out"
expect "without the empty fields" test "$(jq -c '.fields | keys' <<<"$out")" = '["customer_number","last_name"]'

# --- -- ends the options -------------------------------------------------------------------------
check "a user name that starts with a dash" 0 "$BIN" subject add --kind customer --field last_name=Viiva --field username=-viiva-
D=$out
check "is found after --" 0 "$BIN" subject find --by username -- -viiva-
expect "the right subject" test "$out" = "$D"
check "-- works with options before it" 0 "$BIN" --json subject find --by username -- -viiva-
expect "--json before -- still counts" test "$(jq -r '.[0].id' <<<"$out")" = "$D"
check "a cookie identifier that starts with a dash" 0 "$BIN" cookie link "$D" -- -ck-viiva
check "a backup to a file that starts with a dash" 0 bash -c 'cd "$1" && "$2" backup -- -varmuuskopio.db' _ "$WORK" "$BIN"
expect "is written under that name" test -f "$WORK/-varmuuskopio.db"
check "a --help after -- is an operand, not a request for help" 3 "$BIN" subject find --by username -- --help

# --- a missing input file is exit 2 in every verb ---------------------------------------------
M=$WORK/ei-ole/olemassa
check "init --policy with a missing file" 2 "$BIN" --db "$WORK/x.db" init --policy "$M.json"
check "policy check of a missing file" 2 "$BIN" policy check "$M.json"
IN='{"channel": "call", "direction": "inbound"}' \
	check "record add --attach with a missing file" 2 "$BIN" record add "$A" --type communication --attach "$M.ogg"
check "restore of a missing backup" 2 "$BIN" restore "$M.db"
check "audit verify --checkpoint with a missing file" 2 "$BIN" audit verify --checkpoint "$M.cp"
check "a missing key file" 2 "$BIN" --key-file "$M.key" subject list
expect "each error names the file" grep -q "ei-ole/olemassa" <<<"$err"
check "a directory where a file belongs" 2 "$BIN" policy check "$WORK"
check "a backup into a missing directory" 2 "$BIN" backup "$M.db"
check "a checkpoint into a missing directory" 2 "$BIN" audit checkpoint "$M.cp"
check "an attachment written into a missing directory" 2 "$BIN" record attachment "$A" 1 --out "$M.ogg"

# --- a relationship end given by mistake can be corrected ----------------------------------------
# (moving the date by days is covered by test_hostile_input, which sets the
# clock; here the subject began today, so today is the only end there is)
check "end the relationship" 0 "$BIN" subject end "$A" --date "$TODAY"
check "show" 0 "$BIN" --json subject show "$A"
expect "the end stands" test "$(jq -r '.relationship.end' <<<"$out")" = "$TODAY"
expect "retention runs from the end" test "$(jq -r '.fields.last_name[0].expires' <<<"$out")" != null
check "ending again without a date is refused" 2 "$BIN" subject end "$A"
expect "and says how to correct it" grep -q -- "--undo" <<<"$err"
check "the end can be given again with --date" 0 "$BIN" subject end "$A" --date "$TODAY"
check "a corrected end before the start is refused" 2 "$BIN" subject end "$A" --date 2001-01-01
check "the end can be taken back with --undo" 0 "$BIN" subject end "$A" --undo
check "show again" 0 "$BIN" --json subject show "$A"
expect "the relationship goes on" test "$(jq -r '.relationship.end' <<<"$out")" = null
expect "retention from the end is open again" test "$(jq -r '.fields.last_name[0].expires' <<<"$out")" = null
check "undo of an ongoing relationship exits 2" 2 "$BIN" subject end "$A" --undo
check "--undo with --date is bad usage" 2 "$BIN" subject end "$A" --undo --date "$TODAY"
check "the log" 0 "$BIN" --json audit log
expect "the correction is audited" test "$(jq '[.[] | select(.action == "subject.end.change" and .outcome == "ok")] | length' <<<"$out")" = 1
expect "so is the undo" test "$(jq '[.[] | select(.action == "subject.end.undo" and .outcome == "ok")] | length' <<<"$out")" = 1

check "the audit trail verifies" 0 "$BIN" audit verify
e2e_finish
