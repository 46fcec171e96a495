#!/usr/bin/env bash
# Attack: evidence destruction through restore. Someone who can write the
# database file but holds no key alters one byte of the latest audit entry;
# the trail no longer verifies, and `restore` of an older backup then
# replaces the whole live trail with the backup's. Every entry written
# since the backup (here: reads of a subject's data) is gone, and the trail
# verifies intact. A broken trail is evidence: a restore may add to it, but
# not throw its intact entries away.
. "$(dirname "$0")/e2e-common.sh"

e2e_aino
IN='' check "backup" 0 "$BIN" backup "$WORK/bk.db"
for i in 1 2 3; do
	IN='' check "read the subject ($i)" 0 "$BIN" subject show "$A"
done
shows() { rows "SELECT count(*) FROM audit WHERE action = 'subject.show'"; }
expect "three reads in the trail" test "$(shows)" = 3
last=$(rows "SELECT max(seq) FROM audit")
rows "UPDATE audit SET outcome = 'ok ' WHERE seq = $last"
IN='' check "the altered trail does not verify" 5 "$BIN" audit verify
"$BIN" restore "$WORK/bk.db" >/dev/null 2>&1
expect "the reads made since the backup are still in the trail after a restore ($(shows) left)" \
	test "$(shows)" -ge 3
e2e_finish
