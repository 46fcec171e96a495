#!/usr/bin/env bash
# A record row deleted with the sqlite3 shell is found by audit verify (the
# subject row pins the records' chain head). A consent withdrawal purges
# the records that rested on the consent and recomputes the head from the
# rows left, each checked against its own MAC only: it used to bind the
# deletion, and audit verify passed again. Now a withdrawal walks the
# chain against the pinned head first and refuses (exit 5). Ends with
# "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

e2e_aino email=aino@example.com
IN='' check "the location consent" 0 "$BIN" consent give "$A" location
IN='{"product": "Scanner", "quantity": 1, "amount": "9.90", "currency": "EUR", "order_number": "A-1"}' \
	check "a record added" 0 "$BIN" record add "$A" --type purchase
IN='{"product": "Printer", "quantity": 1, "amount": "99.00", "currency": "EUR", "order_number": "A-2"}' \
	check "a second record added" 0 "$BIN" record add "$A" --type purchase
check "audit verify passes before the edit" 0 "$BIN" audit verify
rows "DELETE FROM record WHERE id = (SELECT min(id) FROM record)"
check "audit verify finds the deleted record" 5 "$BIN" audit verify
IN='' check "a withdrawal after the deletion is refused" 5 "$BIN" consent withdraw "$A" location
check "the deletion is still found after the withdrawal" 5 "$BIN" audit verify
e2e_finish
