#!/usr/bin/env bash
# Attack (pending: needs the held records pinned under the row key and
# checked by `audit verify`, in integrity.c): the records a legal hold keeps
# after an erasure (bookkeeping vouchers) carry a MAC that nothing ever
# checks. Someone who can write the database file deletes them, or moves
# their hold date, and `audit verify` still reports the register intact.
. "$(dirname "$0")/../e2e-common.sh"

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
