#!/usr/bin/env bash
# sqlite-only: holds the register's write lock with the sqlite3 shell
# The restore checks the backup file, then takes the register's write lock
# and copies the file's rows: it reads the file twice. While it waits for
# the lock (another writer holds it), the file is replaced by one with a
# record deleted and a link moved to another person (sqlite3 shell, no
# key). After the copy only values, data keys, pseudonym copies and the set
# of subjects were checked again, so the restore said done and the register
# failed its own verify. What it copied must be checked where it lies:
# refused, nothing changed. (Whether the swap lands after the check depends
# on the machine; either way the restore must refuse, and no time is
# asserted.) Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

C1=GA1.2.1111111111.1738324800
BROWSE='{"url": "https://example.com/tuotteet", "at": "2025-01-31T12:00:00Z"}'

e2e_aino email=aino@example.com
IN='' check "add a second customer" 0 "$BIN" subject add --kind customer \
	--field first_name=Bertta --field last_name=Zyxwvutila \
	--field email=bertta@example.com
B=$out
check "consent to analytics cookies" 0 "$BIN" consent give "$A" analytics_cookies
check "link a cookie" 0 "$BIN" cookie link "$A" "$C1"
IN=$BROWSE check "a record" 0 "$BIN" record add "$A" --type browsing --purpose analytics
IN=$BROWSE check "another" 0 "$BIN" record add "$A" --type browsing --purpose analytics
check "a backup" 0 "$BIN" backup "$WORK/b.db"
cp "$WORK/b.db" "$WORK/bad.db"
sqlite3 "$WORK/bad.db" "DELETE FROM record WHERE id = (SELECT max(id) FROM record);
	UPDATE cookie SET subject_id = '$B'"
check "Aino moves after the backup" 0 "$BIN" subject update "$A" \
	--field last_name=Muutettu

# The lock is held until the file is swapped.
mkfifo "$WORK/go"
sqlite3 -cmd ".timeout 10000" "$REKISTERI_DB" "BEGIN IMMEDIATE;" \
	".shell touch '$WORK/locked'; cat '$WORK/go' >/dev/null" "COMMIT;" &
LOCKER=$!
while [ ! -e "$WORK/locked" ]; do sleep 0.05; done
"$BIN" restore "$WORK/b.db" >"$WORK/out" 2>"$WORK/err" &
RP=$!
# The check has run when the restore has opened the backup and closed it
# again (it then waits for the lock): seen through its open files; a check
# too quick to be seen is over after a while of not seeing it.
opened() { ls -l "/proc/$RP/fd" 2>/dev/null | grep -q "$WORK/b.db"; }
seen=0 closed=0
for i in $(seq 1 200); do
	if opened; then seen=1 closed=0; else closed=$((closed + 1)); fi
	[ $seen = 1 ] && [ $closed -ge 4 ] && break
	[ $seen = 0 ] && [ "$i" -ge 40 ] && break
	kill -0 "$RP" 2>/dev/null || break
	sleep 0.025
done
cp "$WORK/bad.db" "$WORK/b.db"
echo go >"$WORK/go"
wait "$LOCKER"
wait "$RP"
rc=$?
err=$(cat "$WORK/err")
expect "the restore of the swapped file is refused as integrity (exit $rc)" test "$rc" = 5
expect "the message carries no personal data" \
	eval '! grep -qiE "aino|bertta|example.com|Muutettu" <<<"$err"'
check "audit verify passes" 0 "$BIN" audit verify
check "nothing was restored" 0 "$BIN" subject show "$A"
expect "Aino's new name stays" grep -q Muutettu <<<"$out"

e2e_finish
