#!/usr/bin/env bash
# End-to-end tests of key rotation, backup and restore through the real
# binary. Each check states what it proves; the script ends with
# "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"
LOOP_PID=
e2e_stop() { # the background write load, if it still runs
	if [ -n "$LOOP_PID" ]; then kill "$LOOP_PID" 2>/dev/null; wait "$LOOP_PID" 2>/dev/null; fi
}
KEY="$RK_KEY"

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
check "a backup from before the rotations restores through the keyring" 0 "$BIN" restore "$WORK/before-rotation.db"
expect "the register is back at that backup's one subject" test "$(rows 'SELECT count(*) FROM subject')" = 1
check "its subject reads as before" 0 "$BIN" subject show "$A"
expect "its values are the same" test "$out" = "$shown_before"
check "its subject is found by e-mail (index rebuilt)" 0 "$BIN" subject find --by email testi.1@example.com
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
expect "restore --help names --force and --into" bash -c 'grep -q -- --force <<<"$0" && grep -q -- --into <<<"$0"' "$out"

# --- readers while the key rotates ------------------------------------------
: >"$WORK/reader-failures"
(
	while [ ! -e "$WORK/stop-readers" ]; do
		"$BIN" subject show "$A" >/dev/null 2>>"$WORK/reader-failures"
		rc=$?
		[ "$rc" -ne 0 ] && echo "subject show exit $rc" >>"$WORK/reader-failures"
		"$BIN" subject find --by email testi.1@example.com >/dev/null 2>>"$WORK/reader-failures"
		rc=$?
		[ "$rc" -ne 0 ] && echo "subject find exit $rc" >>"$WORK/reader-failures"
	done
) &
LOOP_PID=$!
rot_fail=0
for _ in 1 2 3 4 5 6; do "$BIN" key rotate >/dev/null 2>>"$WORK/rotate-errors" || rot_fail=1; done
touch "$WORK/stop-readers"
wait "$LOOP_PID"; LOOP_PID=
expect "six rotations while readers read" test "$rot_fail" = 0
expect "no reader failed during the rotations (no false exit 5)" test ! -s "$WORK/reader-failures"

# --- the keyring: list and retire -------------------------------------------
check "key list" 0 "$BIN" key list
expect "key list shows the current key and retired ones" bash -c 'grep -q current <<<"$0" && grep -q retired <<<"$0"' "$out"
check "key list --json" 0 "$BIN" --json key list
expect "--json: the first key is the current one" test "$(jq -r '.keys[0].state' <<<"$out")" = current
first_retired=$(jq -r '[.keys[] | select(.state == "retired")][0].id' <<<"$out")
n_keys=$(jq '.keys | length' <<<"$out")
expect "three rotations retired three keys" test "$n_keys" -ge 4
check "key list --help" 0 "$BIN" key list --help
check "key retire --help" 0 "$BIN" key retire --help
check "key retire of a malformed id is bad usage" 2 "$BIN" key retire nothex
check "key retire of an unknown id is not found" 3 "$BIN" key retire 0123456789abcdef
check "key retire of the oldest key" 0 "$BIN" key retire "$first_retired"
check "key list after the retirement" 0 "$BIN" --json key list
expect "the retired key is gone from the keyring" bash -c '! grep -q "$0" <<<"$1"' "$first_retired" "$out"
n_live=$(rows 'SELECT count(*) FROM subject')
check "a backup under a retired key no longer restores" 2 "$BIN" restore "$WORK/before-rotation.db"
expect "the refusal explains the keyring" grep -q "keyring" "$WORK/stderr"
expect "nothing changed after the refusal" test "$(rows 'SELECT count(*) FROM subject')" = "$n_live"
check "key retire --json of a key retired already is not found" 3 "$BIN" --json key retire "$first_retired"

# --- rotation with re-encryption --------------------------------------------
check "subject show before re-encryption" 0 "$BIN" subject show "$A"
shown=$out
wk_before=$(rows "SELECT hex(wrapped_key) FROM subject WHERE id = '$A'")
ct_before=$(rows "SELECT hex(ciphertext) FROM value WHERE subject_id = '$A' AND field = 'email'")
check "key rotate --reencrypt" 0 "$BIN" key rotate --reencrypt
expect "the output says the data was re-encrypted" grep -q "re-encrypted" <<<"$out"
expect "the output says what the old key file still opens" grep -q "old key file" <<<"$out"
expect "no progress bar when standard error is not a terminal" test -z "$err"
expect "the subject's data key changed" test "$(rows "SELECT hex(wrapped_key) FROM subject WHERE id = '$A'")" != "$wk_before"
expect "its values were sealed again" test "$(rows "SELECT hex(ciphertext) FROM value WHERE subject_id = '$A' AND field = 'email'")" != "$ct_before"
check "subject show after re-encryption" 0 "$BIN" subject show "$A"
expect "the subject reads as before" test "$out" = "$shown"
check "find after re-encryption" 0 "$BIN" subject find --by email testi.1@example.com
check "key reencrypt --json" 0 "$BIN" --json key reencrypt
expect "--json says reencrypted" test "$(jq -r .reencrypted <<<"$out")" = true
check "key rotate --json says what was replaced" 0 "$BIN" --json key rotate
expect "--json lists the index key as replaced" test "$(jq -r '.replaced | index("index_key")' <<<"$out")" != null
expect "--json says what the old key file still opens" test "$(jq -r .old_key_file_opens <<<"$out")" != null
check "key reencrypt --help" 0 "$BIN" key reencrypt --help

# --- restore refuses a backup whose values no longer decrypt ----------------
check "a fresh backup" 0 "$BIN" backup "$WORK/c.db"
cp "$WORK/c.db" "$WORK/moved.db"
rows "UPDATE value SET ciphertext = (SELECT ciphertext FROM value WHERE field = 'last_name' ORDER BY subject_id LIMIT 1) WHERE field = 'last_name'" "$WORK/moved.db" >/dev/null
n_live=$(rows 'SELECT count(*) FROM subject')
check "a backup with a value moved between subjects is refused" 5 "$BIN" restore "$WORK/moved.db"
expect "the refusal says it does not decrypt" grep -q "decrypt" "$WORK/stderr"
expect "the refusal names no value" bash -c '! grep -q Testinen "$0"' "$WORK/stderr"
expect "nothing changed" test "$(rows 'SELECT count(*) FROM subject')" = "$n_live"

# --- restore never throws away evidence -------------------------------------
rows "UPDATE audit SET actor = 'mallory' WHERE seq = 3" >/dev/null
check "audit verify sees the edited trail" 5 "$BIN" audit verify
check "restore over a broken trail is refused" 5 "$BIN" restore "$WORK/c.db"
expect "the refusal says why and how to go on" bash -c 'grep -q "audit trail" "$0" && grep -q -- --force "$0"' "$WORK/stderr"
expect "the broken trail is still there" test "$(rows "SELECT count(*) FROM audit WHERE actor = 'mallory'")" = 1
check "restore --force over a broken trail" 0 "$BIN" restore --force "$WORK/c.db"
expect "the output names the copy kept" grep -q "before-restore" <<<"$out"
copy=$(ls "${RK_KEY%.key}".before-restore-* 2>/dev/null | head -1)
expect "the copy holds the broken trail" test "$(rows "SELECT count(*) FROM audit WHERE actor = 'mallory'" "$copy")" = 1
check "audit verify after the forced restore" 0 "$BIN" audit verify
expect "the forced restore is in the trail" test "$(rows "SELECT count(*) FROM audit WHERE action = 'register.restore' AND fields LIKE 'forced%'")" = 1

check "restore --force --json over an intact trail" 0 "$BIN" --json restore --force "$WORK/c.db"
expect "--json names the file" test "$(jq -r .restored <<<"$out")" = "$WORK/c.db"
check "key rotate before a retirement" 0 "$BIN" --json key rotate
retiring=$(jq -r .retired_key_id <<<"$out")
check "key retire --json" 0 "$BIN" --json key retire "$retiring"
expect "--json names the retired key" test "$(jq -r .retired <<<"$out")" = "$retiring"

# --- a lost database back from a backup and its key file ---------------------
check "a backup to come back from" 0 "$BIN" backup "$WORK/d.db"
check "subject show before the loss" 0 "$BIN" subject show "$A"
shown=$out
mkdir "$WORK/lost"
check "restore --into a new database" 0 "$BIN" --key-file "$KEY" restore --into "$WORK/lost/r.db" "$WORK/d.db"
check "the new register reads the subject" 0 "$BIN" --db "$WORK/lost/r.db" --key-file "$KEY" subject show "$A"
expect "its values are the same" test "$out" = "$shown"
check "the new register's trail verifies" 0 "$BIN" --db "$WORK/lost/r.db" --key-file "$KEY" audit verify
check "restore --into an existing file is refused" 2 "$BIN" --key-file "$KEY" restore --into "$WORK/lost/r.db" "$WORK/d.db"
cp -p "$KEY" "$WORK/lost/s.db.key"
check "restore --into with the key file beside it, --json" 0 "$BIN" --json restore --into "$WORK/lost/s.db" "$WORK/d.db"
expect "--json names the new database" test "$(jq -r .into <<<"$out")" = "$WORK/lost/s.db"
check "restore --into with a key file of another register is refused" 2 "$BIN" --key-file "$WORK/other.db.key" restore --into "$WORK/lost/t.db" "$WORK/d.db"
expect "nothing is left behind" test ! -e "$WORK/lost/t.db"

e2e_finish
