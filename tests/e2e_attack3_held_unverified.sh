#!/usr/bin/env bash
# Attack: the records a legal hold keeps after an erasure (bookkeeping
# vouchers) deleted, or their hold date moved, by someone who can write the
# database file. Their rows carry MACs and their set is pinned under the
# row key: `audit verify` reports it.
. "$(dirname "$0")/e2e-common.sh"

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
IN='' check "a subject" 0 "$BIN" subject add --kind customer \
	--field first_name=Eino --field last_name=Maksaja --field email=m@example.com
A=$out
IN='{"amount": "19.90", "currency": "EUR", "method": "invoice", "invoice_number": "L-1"}' \
	check "a payment (a voucher)" 0 "$BIN" record add "$A" --type payment
IN='' check "erase" 0 "$BIN" erase "$A"
expect "the voucher is held" test "$(rows "SELECT count(*) FROM held_record")" = 1
rows "UPDATE held_record SET hold_until = '2000-01-01'"
IN='' check "a held record's date moved is detected" 5 "$BIN" audit verify
rows "DELETE FROM held_record"
IN='' check "a held record deleted is detected" 5 "$BIN" audit verify
e2e_finish
