#!/usr/bin/env bash
# A backup that lies about its subjects: one person deleted from the backup
# file with all their rows (the sqlite3 shell, no key). The backup pins its
# set of subjects as the register does, but the restore never compared the
# file's subjects with that pin: it brought the register back without the
# person (no erasure, no receipt, no trail entry) and `audit verify` then
# passed, since the live pin is rebuilt from the restored rows. The restore
# (in place and --into) must refuse and change nothing. Ends with
# "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

e2e_aino email=aino@example.com
IN='' check "add a second customer" 0 "$BIN" subject add --kind customer \
	--field first_name=Bertta --field last_name=Zyxwvutila \
	--field email=bertta@example.com
B=$out
check "Bertta consents" 0 "$BIN" consent give "$B" email_marketing
check "a backup" 0 "$BIN" backup "$WORK/b.db"
cp "$WORK/b.db" "$WORK/whole.db"
sqlite3 "$WORK/b.db" "PRAGMA foreign_keys = ON;
	DELETE FROM subject WHERE id = '$B'"
expect "Bertta is gone from the edited backup" \
	test "$(rows "SELECT count(*) FROM subject WHERE id = '$B'" "$WORK/b.db")" = 0
check "a restore of the edited backup is refused as integrity" 5 \
	"$BIN" restore "$WORK/b.db"
expect "the message names the set of subjects" grep -qi "subjects" <<<"$err"
expect "the message carries no personal data" \
	eval '! grep -qiE "aino|bertta|example.com" <<<"$err"'
check "nothing was restored: Bertta is there" 0 "$BIN" subject show "$B"
check "audit verify passes" 0 "$BIN" audit verify
check "a new register from the edited backup is refused" 5 \
	"$BIN" restore --into "$WORK/new.db" --key-file "$RK_KEY" "$WORK/b.db"
expect "no new register is left" test ! -e "$WORK/new.db"
check "the whole backup restores" 0 "$BIN" restore "$WORK/whole.db"
check "Bertta is there after it" 0 "$BIN" subject show "$B"
check "audit verify passes after it" 0 "$BIN" audit verify

e2e_finish
