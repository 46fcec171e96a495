#!/usr/bin/env bash
# sqlite-only: looks for ciphertext in the database file and its WAL
# End-to-end: the retention run (with --as-of moving its day), the review
# list and subject confirm through the real binary. Ends with "N passed,
# N failed".
. "$(dirname "$0")/e2e-common.sh"

"$BIN" init --policy "$POLICY" >/dev/null
MARK=RKMARK-e2e-retention-71c3
P=$("$BIN" subject add --kind prospect --field first_name=$MARK --field email=prospekti@example.com)
C=$("$BIN" subject add --kind customer --field first_name=$MARK --field last_name=Asiakas \
	--field email=asiakas@example.com --field hetu=131052-308T)
IN='{"amount": "19.90", "currency": "EUR", "method": "invoice", "invoice_number": "L-1001"}' \
	check "a payment (a voucher)" 0 "$BIN" record add "$C" --type payment
IN='{"url": "https://example.com/'$MARK'", "at": "2024-03-01T12:00:00Z"}' \
	check "a browsing record" 0 "$BIN" record add "$C" --type browsing --purpose products_services
check "customer service" 0 "$BIN" actor add cs-1 --role customer_service
CS=$out

today=$(date -u +%F)
day() { date -u -d "$today + $1" +%F; }
expect "the prospect's values expire in six months" \
	test "$(rows "SELECT DISTINCT expires_at FROM value WHERE subject_id = '$P'")" = "$(day '6 months')"
expect "a record added during the relationship has no expiry yet" \
	test -z "$(rows "SELECT expires_at FROM record WHERE type = 'browsing'")"
check "the relationship ends" 0 "$BIN" subject end "$C"
expect "... and the browsing record expires with it" \
	test "$(rows "SELECT expires_at FROM record WHERE type = 'browsing'")" = "$today"

check "customer service may not run it" 4 env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$BIN" retention run
check "retention --help" 0 "$BIN" retention --help
expect "... says what it does" grep -q "legal hold" <<<"$out"
check "a bad date" 2 "$BIN" retention run --as-of 2024-13-01

check "a run today deletes nothing" 0 "$BIN" --json retention run
expect "... nothing changed" python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["subjects"]["changed"] != 0)' <<<"$out"

before=$(rows "SELECT count(*) FROM value"):$(rows "SELECT count(*) FROM record")
check "a dry run a year ahead" 0 "$BIN" --json retention run --dry-run --as-of "$(day '1 year')"
dry=$out
expect "the dry run would delete the prospect" \
	python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(not (d["dry_run"] and d["subjects"]["deleted"] == 1))' <<<"$dry"
expect "the dry run changed nothing" \
	test "$(rows "SELECT count(*) FROM value"):$(rows "SELECT count(*) FROM record")" = "$before"
expect "the report holds no value" bash -c '! grep -qiE "'$MARK'|example.com|131052|L-1001" <<<"$1"' _ "$dry"
nvalues=$(rows "SELECT count(*) FROM value")
check "a real run a year ahead is refused" 2 "$BIN" retention run --as-of "$(day '1 year')"
expect "it says how to look ahead" grep -q -- "--dry-run" <<<"$err"
expect "and deleted nothing" test "$(rows "SELECT count(*) FROM value")" = "$nvalues"

ct=$(rows "SELECT hex(ciphertext) FROM value WHERE subject_id = '$P' LIMIT 1")
expect "the prospect's ciphertext is in the file" \
	python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); w=b""
try: w=open(sys.argv[1]+"-wal","rb").read()
except OSError: pass
sys.exit(bytes.fromhex(sys.argv[2])[:48] not in d + w)' "$REKISTERI_DB" "$ct"

check "the day before the prospect's period ends" 0 "$BIN" --json retention run --allow-early --as-of "$(day '6 months')"
expect "... the prospect is kept" python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["deleted"]["values"] != 1)' <<<"$out"
check "the prospect is still there" 0 "$BIN" subject show "$P"
check "the next day" 0 "$BIN" retention run --allow-early --as-of "$(day '6 months + 1 day')"
expect "... the report names the prospect rule" grep -q "rule prospect: 2 values" <<<"$out"
check "the prospect is gone" 3 "$BIN" subject show "$P"
check "its e-mail finds nobody" 3 "$BIN" subject find --by email prospekti@example.com
expect "no ciphertext of it is left in the file or its WAL" \
	python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); w=b""
try: w=open(sys.argv[1]+"-wal","rb").read()
except OSError: pass
sys.exit(bytes.fromhex(sys.argv[2])[:48] in d + w)' "$REKISTERI_DB" "$ct"
expect "the customer's contact data went at the end" \
	test "$(rows "SELECT count(*) FROM value WHERE subject_id = '$C' AND field = 'email'")" = 0
check "the customer's KYC data stays" 0 "$BIN" subject show "$C"
expect "... its name is shown" grep -q "$MARK" <<<"$out"
check "the trail and the rows verify" 0 "$BIN" audit verify

check "five years after the end" 0 "$BIN" --json retention run --allow-early --as-of "$(day '5 years + 1 day')"
expect "... the KYC data goes, the voucher keeps the subject" \
	python3 -c 'import json,sys; d=json.load(sys.stdin); r={x["rule"]:x for x in d["rules"]}; sys.exit(not (r["kyc"]["values"] == 4 and d["subjects"]["deleted"] == 0))' <<<"$out"
year=$(date -u +%Y)
check "the day the voucher's period ends" 0 "$BIN" --json retention run --allow-early --as-of "$((year + 6))-12-31"
expect "... the voucher is kept" python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["deleted"]["records"] != 0)' <<<"$out"
check "the next day" 0 "$BIN" --json retention run --allow-early --as-of "$((year + 7))-01-01"
expect "... the voucher and the subject go" \
	python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(not (d["deleted"]["records"] == 1 and d["subjects"]["deleted"] == 1))' <<<"$out"
check "the customer is gone" 3 "$BIN" subject show "$C"
expect "every subject changed is audited with its rules" \
	test "$(rows "SELECT count(*) FROM audit WHERE action LIKE 'retention.delete%' AND subject IS NOT NULL")" = 4
expect "each run is audited" test "$(rows "SELECT count(*) FROM audit WHERE action = 'retention.run'")" -ge 5
expect "no audit entry holds a value" test "$(rows "SELECT count(*) FROM audit WHERE fields LIKE '%$MARK%'")" = 0
check "the trail and the rows verify at the end" 0 "$BIN" audit verify

# A run killed part-way (kill -9) is run again and finishes.
for i in $(seq 1 300); do printf 'p%d@example.com\n' "$i"; done >"$WORK/emails"
while read -r e; do "$BIN" subject add --kind prospect --field email="$e" >/dev/null || break; done <"$WORK/emails"
expect "300 prospects" test "$(rows "SELECT count(*) FROM subject")" = 300
"$BIN" retention run --allow-early --as-of "$(day '1 year')" >/dev/null 2>&1 &
runpid=$!
sleep 0.3
kill -9 "$runpid" 2>/dev/null
wait "$runpid" 2>/dev/null
check "the run is run again" 0 "$BIN" retention run --allow-early --as-of "$(day '1 year')"
expect "... and every prospect has gone" test "$(rows "SELECT count(*) FROM subject")" = 0
check "the trail and the rows verify after it" 0 "$BIN" audit verify

# Review and confirm
R=$("$BIN" subject add --kind customer --field first_name=Vanha --field last_name=Arvo --field email=vanha@example.com)
check "review --help" 0 "$BIN" review --help
check "a bad duration" 2 "$BIN" review --older-than 2x
check "nothing is old yet" 0 "$BIN" --json review --older-than 1d
expect "... none listed" python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["count"] != 0)' <<<"$out"
# Values confirmed long ago, made so by hand (which breaks the subject's
# digest: the listing shows them, a confirmation refuses the altered rows).
rows "UPDATE value SET confirmed_at = confirmed_at - 800*86400 WHERE subject_id = '$R'" >/dev/null
check "review lists values not confirmed for two years" 0 "$BIN" --json review
expect "... the subject with its field names" python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["subjects"][0]; sys.exit(not (d["count"] == 1 and s["subject"] == sys.argv[1] and "email" in [f["field"] for f in s["fields"]] and all(f["age_days"] >= 799 for f in s["fields"])))' "$R" <<<"$out"
expect "... and no value" bash -c '! grep -qiE "Vanha|Arvo|example.com" <<<"$1"' _ "$out"
check "a confirmation refuses rows altered without the key" 5 "$BIN" subject confirm "$R"
rows "UPDATE value SET confirmed_at = confirmed_at + 800*86400 WHERE subject_id = '$R'" >/dev/null
check "confirm one field" 0 "$BIN" subject confirm "$R" --field email
check "confirm all" 0 "$BIN" --json subject confirm "$R"
expect "... counts the values" grep -q '"confirmed": 4' <<<"$out"
check "review lists none of its values" 0 "$BIN" review
expect "... the list holds no value" bash -c '! grep -qiE "Vanha|Arvo|example.com" <<<"$1"' _ "$out"
check "subject confirm --help" 0 "$BIN" subject confirm --help
check "confirm an unknown field" 2 "$BIN" subject confirm "$R" --field nosuch
expect "confirmations are audited" test "$(rows "SELECT count(*) FROM audit WHERE action = 'subject.confirm' AND outcome = 'ok'")" = 2
check "the trail and the rows verify after the review" 0 "$BIN" audit verify

e2e_finish
