#!/usr/bin/env bash
# A lookup value's row carries a copy of its subject's pseudonym, which names
# the subject in a look-up's audit entry; no MAC covers the copy (integrity
# verify compares it with the subject's row). A backup whose copies were
# edited with the sqlite3 shell (the backup file is SQLite on both backends)
# was restored without a word: the register then failed audit verify and
# every look-up of one person was audited under another's pseudonym. The
# restore (in place and --into) must refuse it and change nothing; a backup
# without copies (as from PostgreSQL) restores and look-ups name the right
# subject. Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

e2e_aino email=aino@example.com
IN='' check "add a second customer" 0 "$BIN" subject add --kind customer \
	--field first_name=Bertta --field last_name=Zyxwvutila \
	--field email=bertta@example.com
B=$out
PA=$(rows "SELECT pseudonym FROM subject WHERE id = '$A'")
PB=$(rows "SELECT pseudonym FROM subject WHERE id = '$B'")
check "a backup" 0 "$BIN" backup "$WORK/b.db"
cp "$WORK/b.db" "$WORK/null.db"
# The copies of Aino's lookup values name Bertta in the backup.
sqlite3 "$WORK/b.db" "UPDATE value SET pseudonym = '$PB'
	WHERE subject_id = '$A' AND bidx IS NOT NULL"
check "Aino moves after the backup" 0 "$BIN" subject update "$A" \
	--field last_name=Muutettu
check "a restore of the edited backup is refused as integrity" 5 \
	"$BIN" restore "$WORK/b.db"
expect "the message names the lookup value" grep -qi "lookup value" <<<"$err"
expect "the message carries no personal data" \
	eval '! grep -qiE "aino|bertta|example.com" <<<"$err"'
check "nothing was restored: Aino's new name stays" 0 "$BIN" subject show "$A"
expect "Aino's new name is there" grep -q Muutettu <<<"$out"
check "audit verify passes" 0 "$BIN" audit verify
check "a new register from the edited backup is refused" 5 \
	"$BIN" restore --into "$WORK/new.db" --key-file "$RK_KEY" "$WORK/b.db"
expect "no new register is left" test ! -e "$WORK/new.db"

# Without copies (a register copied from PostgreSQL has none): look-ups read
# the subject's row, and the restore is fine.
sqlite3 "$WORK/null.db" "UPDATE value SET pseudonym = NULL"
check "a restore of a backup without copies" 0 "$BIN" restore "$WORK/null.db"
check "audit verify passes after it" 0 "$BIN" audit verify
check "look Aino up" 0 "$BIN" subject find --by email aino@example.com
expect "the look-up finds Aino" test "$out" = "$A"
last=$(rows "SELECT subject FROM audit WHERE action = 'subject.find'
	ORDER BY seq DESC LIMIT 1")
expect "the look-up's audit entry names Aino" test "$last" = "$PA"

e2e_finish
