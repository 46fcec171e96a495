#!/usr/bin/env bash
# End-to-end tests of the controller's paperwork through the real binary:
# the records of processing (ropa) in Markdown, HTML and JSON with the
# register's counts, the breach register (open with the description on
# standard input, the deadline in Finnish time, update, subjects to tell,
# close, tampering caught), and anonymous statistics (no released count
# below k, suppressed cells shown as x, CSV, audit entries, refusals).
# Breaches are opened with awareness times far in the past, so no check
# depends on the day it runs. Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

check "init" 0 "$BIN" init --policy "$POLICY"
GENDERS=(female male female female other male female)
for i in $(seq 1 21); do
	g=${GENDERS[$((i % 7))]}
	check "add customer $i" 0 "$BIN" subject add --kind customer \
		--field last_name="Tilasto$i" --field gender="$g" \
		--field birth_date="19$((50 + i * 2))-0$((i % 9 + 1))-15" \
		--field postal_code="0$((i % 3))100" --field email="t$i@example.com"
	[ "$i" = 1 ] && FIRST=$out
done
IN='{"product": "Lukulaite", "amount": "10.00", "currency": "EUR"}' \
	check "a purchase" 0 "$BIN" record add "$FIRST" --type purchase

# --- help ---------------------------------------------------------------------
for v in ropa "breach open" "breach list" "breach show" "breach update" "breach close" "breach subjects" stats; do
	# shellcheck disable=SC2086 # the verb is two words
	check "$v --help" 0 "$BIN" $v --help
	expect "$v --help prints the usage" grep -q '^usage: rekisteri' <<<"$out"
done
check "rekisteri --help" 0 "$BIN" --help
expect "the usage names ropa, breach and stats" bash -c 'grep -q "^  ropa " <<<"$1" && grep -q "^  breach open" <<<"$1" && grep -q "^  stats --by" <<<"$1"' _ "$out"

# --- ropa -----------------------------------------------------------------------
check "ropa (Markdown)" 0 "$BIN" ropa
expect "ropa: a Finnish heading" grep -q '^# Seloste käsittelytoimista' <<<"$out"
expect "ropa: the controller" grep -q 'OCR Factory Oy' <<<"$out"
expect "ropa: 21 customers counted" grep -qE '^\| Asiakas \| 21 \|$' <<<"$out"
expect "ropa: the security section of the notice" grep -q 'riskienha' <<<"$out"
check "ropa --lang en" 0 "$BIN" ropa --lang en
expect "ropa en: Art. 30 heading" grep -q '^# Record of processing activities' <<<"$out"
expect "ropa en: the register's measures" grep -q 'keyed blind indexes' <<<"$out"
check "ropa --format html --out" 0 "$BIN" ropa --format html --lang en --out "$WORK/ropa.html"
expect "ropa html: lang attribute" grep -q '<html lang="en">' "$WORK/ropa.html"
expect "ropa html: nothing fetched" grep -q "default-src 'none'" "$WORK/ropa.html"
expect "ropa html: mode 0600" test "$(stat -c %a "$WORK/ropa.html")" = 600
check "ropa --out refuses an existing file" 2 "$BIN" ropa --out "$WORK/ropa.html"
check "ropa --json" 0 "$BIN" --json ropa
expect "ropa json: parses, counts emails" bash -c 'jq -e ".data_categories[] | select(.name == \"contact\") | .fields[] | select(.name == \"email\") | .values == 21" <<<"$1" >/dev/null' _ "$out"
expect "ropa json: purchase records counted" bash -c 'jq -e ".record_types[] | select(.name == \"purchase\") | .records == 1" <<<"$1" >/dev/null' _ "$out"
expect "ropa: no personal data" bash -c '! grep -q "Tilasto\|example.com" <<<"$1"' _ "$out"
check "ropa: a bad format" 2 "$BIN" ropa --format pdf

# --- breach -------------------------------------------------------------------
IN="A laptop with the customer list was stolen from a car." \
	check "breach open" 0 "$BIN" breach open --aware-at 2026-03-27T12:00 --description-stdin \
	--category contact --with-field email
expect "open prints the number alone" test "$out" = "1"
check "breach show 1" 0 "$BIN" breach show 1
expect "show: aware at in Finnish time" grep -qE '^aware at: +2026-03-27T12:00\+02:00$' <<<"$out"
expect "show: the deadline across the change of summer time" grep -qE '^deadline: +2026-03-30T13:00\+03:00 \(2026-03-30T10:00Z\)$' <<<"$out"
expect "show: overdue" grep -qE '^status: +open \(overdue\)$' <<<"$out"
expect "show: 21 affected" grep -qE '^affected subjects: +21 ' <<<"$out"
expect "show: the description" grep -q 'laptop with the customer list' <<<"$out"
check "breach show --json" 0 "$BIN" --json breach show 1
expect "show --json: overdue by" bash -c 'jq -e "(.time_left | startswith(\"overdue by \")) and .overdue == true" <<<"$1" >/dev/null' _ "$out"
check "breach list" 0 "$BIN" breach list
expect "list: one line for breach 1" grep -qE '^1 +open +2026-03-27T12:00\+02:00' <<<"$out"
check "description on the command line is refused" 2 "$BIN" breach open --aware-at 2026-03-27T12:00
IN="x" check "a repeated Finnish hour is refused" 2 "$BIN" breach open --aware-at 2025-10-26T03:30 --description-stdin
IN="x" check "a future awareness is refused" 2 "$BIN" breach open --aware-at 2999-01-01T00:00Z --description-stdin
check "subjects before the risk is high" 2 "$BIN" breach subjects 1
check "close before the risk is assessed" 2 "$BIN" breach close 1
check "update: high risk, told late" 0 "$BIN" breach update 1 --risk high --dpa-notified-at 2026-03-31T09:00
expect "update: late" grep -qE '^ombudsman told at: +2026-03-31T09:00\+03:00 \(late\)$' <<<"$out"
check "subjects to tell" 0 "$BIN" breach subjects 1
expect "subjects: 21 IDs, the first among them" bash -c '[ "$(wc -l <<<"$1")" = 21 ] && grep -qx "$2" <<<"$1"' _ "$out" "$FIRST"
expect "subjects: no e-mail addresses" bash -c '! grep -q "@" <<<"$1"' _ "$out"
check "close before the subjects are told" 2 "$BIN" breach close 1
IN="Passwords reset." check "update: subjects told, measures" 0 "$BIN" breach update 1 --subjects-notified-at 2026-03-31T12:00 --measures-stdin
check "close" 0 "$BIN" breach close 1
expect "closed" grep -qE '^status: +closed$' <<<"$out"
check "list shows no open breach" 0 "$BIN" breach list
expect "no open breaches" test "$out" = "(no breaches)"
check "list --all" 0 "$BIN" --json breach list --all
expect "list --all: the closed one" bash -c 'jq -e "length == 1 and .[0].status == \"closed\"" <<<"$1" >/dev/null' _ "$out"
check "no such breach" 3 "$BIN" breach show 9
expect "the description is sealed in the file" bash -c '! cat "$1"* | grep -qa "customer list was stolen"' _ "$REKISTERI_DB"
rows "UPDATE breach SET aware_at = aware_at + 3600"
check "an edited breach is refused" 5 "$BIN" breach list --all
rows "UPDATE breach SET aware_at = aware_at - 3600"
check "put back, it reads" 0 "$BIN" breach list --all

# --- stats --------------------------------------------------------------------
check "stats --by gender" 0 "$BIN" stats --by gender
expect "stats: female counted" grep -qE '^female +[0-9]+$' <<<"$out"
check "stats --json" 0 "$BIN" --json stats --by age_band,gender
expect "stats json: no released count below 5" bash -c 'jq -e "[.cells[].count, .totals[].count, .total] | map(select(. != null)) | all(. >= 5)" <<<"$1" >/dev/null' _ "$out"
expect "stats json: something suppressed" bash -c 'jq -e "[.cells[].count] | any(. == null)" <<<"$1" >/dev/null' _ "$out"
check "stats text: 2-D with totals" 0 "$BIN" stats --by age_band,gender
expect "stats text: x for suppressed" grep -qE ' x( |$)' <<<"$out"
check "stats csv" 0 "$BIN" stats --by region,gender --format csv
expect "csv: a header" grep -q '^region,gender,count,status' <<<"$out"
expect "csv: the grand total row" grep -qE '^\*,\*,21,released' <<<"$out"
check "stats --k 10" 0 "$BIN" --json stats --by gender --k 10
expect "k 10: no released count below 10" bash -c 'jq -e "[.cells[].count, .total] | map(select(. != null)) | all(. >= 10)" <<<"$1" >/dev/null' _ "$out"
check "stats --k 2 is refused" 2 "$BIN" stats --by gender --k 2
check "an unknown dimension" 2 "$BIN" stats --by shoe_size
check "stats without --by" 2 "$BIN" stats
check "product of purchases" 0 "$BIN" --json stats --by product
expect "the one product bought is not named" bash -c '! grep -q Lukulaite <<<"$1"' _ "$out"
check "audit log" 0 "$BIN" audit log
expect "every release is audited with its dimensions and k" grep -q 'stats.release.*age_band,gender,k=5' <<<"$out"
expect "breaches are audited" bash -c 'grep -q "breach.open" <<<"$1" && grep -q "breach.close" <<<"$1" && grep -q "breach.subjects" <<<"$1"' _ "$out"
expect "ropa is audited" grep -q 'ropa.render' <<<"$out"

# --- who may --------------------------------------------------------------------
check "actor add cs" 0 "$BIN" actor add cs --role customer_service
CS=$out
check "actor add mk" 0 "$BIN" actor add mk --role marketing
MK=$out
REKISTERI_TOKEN=$CS check "customer service may not release statistics" 4 "$BIN" --actor cs stats --by gender
REKISTERI_TOKEN=$CS check "customer service may not list breaches" 4 "$BIN" --actor cs breach list
REKISTERI_TOKEN=$CS check "customer service may not read the ropa" 4 "$BIN" --actor cs ropa
REKISTERI_TOKEN=$MK check "marketing works for analytics: may" 0 "$BIN" --actor mk stats --by gender

check "audit verify" 0 "$BIN" audit verify
e2e_finish
