#!/usr/bin/env bash
# Attack: the register's record of where the trail ends (meta 'audit_head')
# is a MAC over (seq, hash) and nothing else, so an old value of it stays
# valid for ever. Anyone who once read the database (or holds a backup) can
# later delete every audit entry written since, put the old head back, and
# `audit verify` says the trail is intact, although the subjects, records and
# reads of that period are still there and their entries are gone.
. "$(dirname "$0")/e2e-common.sh"

e2e_aino
# The attacker keeps a copy of the head (a backup holds the same row).
OLDHEAD=$(rows "SELECT hex(value) FROM meta WHERE key = 'audit_head'")
OLDSEQ=$(rows "SELECT max(seq) FROM audit")

# Processing the attacker wants to hide.
IN='' check "add another customer" 0 "$BIN" subject add --kind customer \
	--field first_name=Eero --field last_name=Esimerkki --field email=e@example.com
E=$out
IN='' check "show it" 0 "$BIN" subject show "$E"
IN='' check "show the first" 0 "$BIN" subject show "$A"
IN='' check "the trail verifies before the attack" 0 "$BIN" audit verify

rows "DELETE FROM audit WHERE seq > $OLDSEQ;
      UPDATE meta SET value = X'$OLDHEAD' WHERE key = 'audit_head';"
expect "the subject written after the old head is still there" \
	test "$(rows "SELECT count(*) FROM subject WHERE id = '$E'")" = 1
IN='' check "a trail cut back to an old head does not verify (exit 5)" 5 "$BIN" audit verify
e2e_finish
