#!/usr/bin/env bash
# End-to-end: erasure with its receipt and restriction of processing
# through the real binary. Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

"$BIN" init --policy "$POLICY" >/dev/null
A=$("$BIN" subject add --kind customer --field first_name=Eino --field last_name=Poistuva \
	--field email=eino.poistuva@example.com --field hetu=131052-308T)
B=$("$BIN" subject add --kind customer --field first_name=Saara --field last_name=Pysyvä \
	--field email=saara.pysyva@example.com)
IN='{"amount": "19.90", "currency": "EUR", "method": "invoice", "invoice_number": "L-1001"}' \
	check "a payment (a bookkeeping voucher)" 0 "$BIN" record add "$A" --type payment
IN='{"kind": "complaint", "text": "Laite hajosi"}' \
	check "a complaint" 0 "$BIN" record add "$A" --type feedback
check "a cookie link" 0 "$BIN" cookie link "$A" cookie-e2e-erase
check "an actor of customer service" 0 "$BIN" actor add cs-1 --role customer_service
CS=$out
check "the data protection lead" 0 "$BIN" actor add dpo-1 --role dpo
DPO=$out
check "a request about the subject to stay" 0 "$BIN" dsr open "$B" access
check "the erasure request" 0 "$BIN" dsr open "$A" erasure
check "a backup before the erasure" 0 "$BIN" backup "$WORK/before.db"

check "customer service may not erase" 4 env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$BIN" erase "$A"
check "a dry run" 0 "$BIN" erase "$A" --dry-run
expect "the dry run says what it would erase" grep -q "^Would erase subject $A" <<<"$out"
expect "the dry run names the voucher kept and until when" grep -qE "record\(s\) of type payment until [0-9]{4}-12-31" <<<"$out"
check "the subject is still there after the dry run" 0 "$BIN" subject show "$A"

check "the data protection lead erases" 0 env REKISTERI_ACTOR=dpo-1 REKISTERI_TOKEN="$DPO" "$BIN" --json erase "$A"
receipt=$out
expect "the receipt is JSON with the subject" grep -q "\"subject\": \"$A\"" <<<"$receipt"
expect "the receipt keeps the voucher" grep -q '"retention": "bookkeeping_vouchers"' <<<"$receipt"
expect "the receipt lists the erased complaint" grep -q '"type": "feedback"' <<<"$receipt"
expect "the receipt holds no value" bash -c '! grep -qiE "Eino|Poistuva|example.com|131052|L-1001|hajosi" <<<"$1"' _ "$receipt"
expect "the data key is destroyed" grep -q '"data_key": "destroyed"' <<<"$receipt"
check "the subject is gone" 3 "$BIN" subject show "$A"
check "the e-mail no longer finds it" 3 "$BIN" subject find --by email eino.poistuva@example.com
check "erasing again says when" 3 "$BIN" erase "$A"
expect "... with the date" grep -q "erased on [0-9-]*" <<<"$err"
expect "the held voucher is in the held records" test "$(rows "SELECT count(*) FROM held_record WHERE type = 'payment'")" = 1
expect "nothing of the subject is left in the tables" test "$(rows "SELECT (SELECT count(*) FROM record WHERE subject_id = '$A') + (SELECT count(*) FROM value WHERE subject_id = '$A') + (SELECT count(*) FROM consent WHERE subject_id = '$A') + (SELECT count(*) FROM cookie WHERE subject_id = '$A')")" = 0
expect "the audit trail records the erasure" test "$(rows "SELECT count(*) FROM audit WHERE action = 'subject.erase' AND outcome = 'ok'")" = 1
check "the trail and the rows verify" 0 "$BIN" audit verify

check "the old backup is restored" 0 "$BIN" restore "$WORK/before.db"
check "the erased subject stays erased" 3 "$BIN" subject show "$A"
check "the other subject came back" 0 "$BIN" subject show "$B"
check "the trail verifies after the restore" 0 "$BIN" audit verify
check "the requests after the restore" 0 "$BIN" dsr list
expect "the request of the subject that came back still names it" grep -qE "^1 .* $B\$" <<<"$out"
expect "the erased subject's request says it was erased" grep -qE "^2 .*\(erased\)\$" <<<"$out"

# Restriction
check "restrict needs a reason" 2 "$BIN" restrict "$B"
IN='accuracy contested by the subject' check "restrict with a reason on stdin" 0 "$BIN" restrict "$B" --reason-stdin
check "customer service cannot read a restricted subject" 4 env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$BIN" subject show "$B"
expect "... and is told why" grep -q "restricted (GDPR Art. 18)" <<<"$err"
check "the operator cannot read it for customer service either" 4 "$BIN" subject show "$B" --purpose customer_relationship
check "the legal-claims purpose still reads it" 0 env REKISTERI_ACTOR=dpo-1 REKISTERI_TOKEN="$DPO" "$BIN" subject show "$B" --purpose misuse_prevention
check "may-contact says no" 4 "$BIN" may-contact "$B" --channel email
expect "... because of the restriction" grep -q "restricted" <<<"$out"
check "a correction is still allowed" 0 "$BIN" subject update "$B" --field last_name=Korjattu
check "the history shows the restriction" 0 "$BIN" --json consent history "$B"
expect "... with its reason" grep -q "accuracy contested" <<<"$out"
check "customer service may not lift it" 4 env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$BIN" unrestrict "$B" --reason told
check "unrestrict" 0 "$BIN" unrestrict "$B" --reason "subject told on 2026-12-03"
check "customer service reads it again" 0 env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$BIN" subject show "$B"
check "the trail and the rows verify at the end" 0 "$BIN" audit verify

e2e_finish
