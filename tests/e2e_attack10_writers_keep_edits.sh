#!/usr/bin/env bash
# A value edited with the sqlite3 shell is found by audit verify against
# the subject's values digest. Writers that changed no value used to
# recompute that digest from the rows as they were (a consent, a record, a
# cookie reset), and so bound the edit: audit verify passed again. Now
# those keep the pinned digest, and writers that change values (a
# withdrawal purges, an end moves expiries) check the values first and
# refuse. Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

e2e_aino email=aino@example.com
IN='' check "the location consent" 0 "$BIN" consent give "$A" location
check "audit verify passes before the edit" 0 "$BIN" audit verify
orig=$(rows "SELECT source FROM value WHERE field = 'email'")
rows "UPDATE value SET source = 'service_use' WHERE field = 'email'"
check "audit verify finds the edit" 5 "$BIN" audit verify

# Writers that change no value: they may go on, the edit stays found.
IN='' check "a consent given" 0 "$BIN" consent give "$A" analytics_cookies
check "the edit is still found after a consent" 5 "$BIN" audit verify
IN='' check "an objection" 0 "$BIN" object "$A" direct_marketing
check "the edit is still found after an objection" 5 "$BIN" audit verify
IN='{"product": "Scanner", "quantity": 1, "amount": "9.90", "currency": "EUR", "order_number": "A-1"}' \
	check "a record added" 0 "$BIN" record add "$A" --type purchase
check "the edit is still found after a record" 5 "$BIN" audit verify
IN='' check "a cookie linked" 0 "$BIN" cookie link "$A" cookie-1
IN='' check "a cookie reset" 0 "$BIN" cookie reset "$A"
check "the edit is still found after a cookie reset" 5 "$BIN" audit verify

# Writers that change values and digest them anew: refused.
digest_before=$(rows "SELECT hex(vdigest) FROM subject WHERE id = '$A'")
IN='' check "a withdrawal (it purges values) is refused" 5 "$BIN" consent withdraw "$A" location
IN='' check "the end of the relationship (it moves expiries) is refused" 5 "$BIN" subject end "$A"
expect "the refused writers left the digest as it was" \
	test "$(rows "SELECT hex(vdigest) FROM subject WHERE id = '$A'")" = "$digest_before"
check "the edit is still found at the end" 5 "$BIN" audit verify

# Undoing the edit makes the register whole again: nothing was bound to it.
rows "UPDATE value SET source = '$orig' WHERE field = 'email'"
check "audit verify passes once the edit is undone" 0 "$BIN" audit verify
IN='' check "the withdrawal now goes through" 0 "$BIN" consent withdraw "$A" location
check "audit verify passes after it" 0 "$BIN" audit verify
e2e_finish
