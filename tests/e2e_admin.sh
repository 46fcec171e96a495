#!/usr/bin/env bash
# End-to-end tests of key rotation, backup and restore through the real
# binary. Each check states what it proves; the script ends with
# "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"
LOOP_PID=
e2e_stop() { # the background write load, if it still runs
	if [ -n "$LOOP_PID" ]; then kill "$LOOP_PID" 2>/dev/null; wait "$LOOP_PID" 2>/dev/null; fi
}
KEY="$REKISTERI_DB.key"

add() { # add N: a customer with exactly three fields
	"$BIN" subject add --kind customer --field first_name=Testi \
		--field last_name="Testinen$1" --field email="testi.$1@example.com"
}

# --- setup ------------------------------------------------------------------
check "init" 0 "$BIN" init --policy "$POLICY"
check "add a customer" 0 add 1
A=$out
check "show before the rotation" 0 "$BIN" subject show "$A"
shown_before=$out
check "backup before the rotation" 0 "$BIN" backup "$WORK/before-rotation.db"

# --- key rotation -----------------------------------------------------------
cp -p "$KEY" "$WORK/old.key"
check "key rotate" 0 "$BIN" key rotate
expect "the key file changed" bash -c '! cmp -s "$0" "$1"' "$KEY" "$WORK/old.key"
expect "the new key file is mode 0600" test "$(stat -c %a "$KEY")" = 600
expect "no .new key is left behind" test ! -e "$KEY.new"
check "subject show after the rotation" 0 "$BIN" subject show "$A"
expect "the subject reads as before" test "$out" = "$shown_before"
check "find by e-mail after the rotation" 0 "$BIN" subject find --by email testi.1@example.com
expect "the blind index still finds the subject" test "$out" = "$A"
check "the old key file is refused" 5 "$BIN" --key-file "$WORK/old.key" subject show "$A"
expect "the refusal says nothing personal" bash -c '! grep -q "Testinen" <<<"$0"' "$err"
check "audit verify after the rotation" 0 "$BIN" audit verify
check "the rotation is in the audit log" 0 "$BIN" audit log
expect "the log shows key.rotate" grep -q "key.rotate" <<<"$out"
check "key rotate --json" 0 "$BIN" --json key rotate
expect "--json says rotated" grep -q '"rotated": true' <<<"$out"
check "key without rotate is bad usage" 2 "$BIN" key
check "key rotate --help" 0 "$BIN" key rotate --help

# --- a crash between commit and rename --------------------------------------
cp -p "$KEY" "$WORK/new.key"
# A crash before the commit leaves a .new key that wraps nothing.
( umask 077; "$BIN" --db "$WORK/other.db" init --policy "$POLICY" >/dev/null )
cp -p "$WORK/other.db.key" "$KEY.new"
check "opening with a stale .new key works" 0 "$BIN" subject show "$A"
expect "the stale .new key was removed" test ! -e "$KEY.new"
expect "the key file is untouched" cmp -s "$KEY" "$WORK/new.key"
# The state a crash right after the commit leaves: database on the new key,
# the new key in .new, the previous one still in the key file.
check "key rotate again" 0 "$BIN" key rotate
cp -p "$KEY" "$KEY.new"
cp -p "$WORK/new.key" "$KEY"
check "opening finishes an interrupted rotation" 0 "$BIN" subject show "$A"
expect "the .new key was moved into place" bash -c 'test ! -e "$0.new" && test "$(stat -c %a "$0")" = 600' "$KEY"

# --- backup under a write load ----------------------------------------------
: >"$WORK/loop-failures"
(
	for i in $(seq 100 299); do
		add "$i" >/dev/null 2>>"$WORK/loop-failures" || echo "add $i failed" >>"$WORK/loop-failures"
	done
) &
LOOP_PID=$!
for _ in $(seq 200); do
	[ "$(rows 'SELECT count(*) FROM subject')" -ge 20 ] && break
	sleep 0.05
done
check "backup while subjects are being added" 0 "$BIN" backup "$WORK/b.db"
wait "$LOOP_PID"; LOOP_PID=
expect "the background adds all succeeded" test ! -s "$WORK/loop-failures"
expect "the backup is mode 0600" test "$(stat -c %a "$WORK/b.db")" = 600
nb=$(rows 'SELECT count(*) FROM subject' "$WORK/b.db")
expect "the backup holds subjects" test "$nb" -ge 20
expect "no subject in the backup lacks a value" test "$(rows 'SELECT count(*) FROM subject s WHERE (SELECT count(*) FROM value v WHERE v.subject_id = s.id) != 4' "$WORK/b.db")" = 0
expect "the live register went on" test "$(rows 'SELECT count(*) FROM subject')" -eq 201
check "a backup never overwrites" 2 "$BIN" backup "$WORK/b.db"
check "backup --json" 0 "$BIN" --json backup "$WORK/b2.db"
expect "--json names the file" grep -q '"backup": ' <<<"$out"
check "the backup opens as a register" 0 "$BIN" --db "$WORK/b.db" --key-file "$KEY" audit verify

# --- restore ----------------------------------------------------------------
check "add after the backup" 0 add 900
late=$out
n_live=$(rows 'SELECT count(*) FROM subject')
check "restore from garbage is refused" 2 "$BIN" restore "$SRC/policies/ocr-factory.json"
expect "nothing changed after a refused restore" test "$(rows 'SELECT count(*) FROM subject')" = "$n_live"
check "a backup from before the rotation is refused" 2 "$BIN" restore "$WORK/before-rotation.db"
expect "the refusal explains the key" grep -q "another master key" "$WORK/stderr"
expect "nothing changed after the key refusal" test "$(rows 'SELECT count(*) FROM subject')" = "$n_live"
check "restore a missing file" 2 "$BIN" restore "$WORK/none.db"
check "restore" 0 "$BIN" restore "$WORK/b.db"
expect "the register is back at the backup's subjects" test "$(rows 'SELECT count(*) FROM subject')" = "$nb"
check "a subject added after the backup is gone" 3 "$BIN" subject show "$late"
check "the first subject reads as before" 0 "$BIN" subject show "$A"
expect "its values are the same" test "$out" = "$shown_before"
check "audit verify after the restore" 0 "$BIN" audit verify
check "the restore is in the audit log" 0 "$BIN" audit log
expect "the log shows register.restore" grep -q "register.restore" <<<"$out"
check "restore --json" 0 "$BIN" --json restore "$WORK/b.db"
expect "--json names the file" grep -q '"restored": ' <<<"$out"
check "restore --help" 0 "$BIN" restore --help

e2e_finish
