#!/usr/bin/env bash
# sqlite-only: edits the database file with the sqlite3 shell
# Attack: undo an erasure through an ordinary (unforced) restore, with a
# trail that verifies. A restore keeps erased subjects erased by the
# record of erasures and by the live trail's `subject.erase` entries.
# Someone who can write the database file, and read the backup (or any
# older copy of the register), puts back from that copy, together:
#   - the trail's end: the entries after the backup's last one are deleted
#     and meta `audit_head` (under its MAC) is the backup's, so the chain
#     ends exactly where its pinned head says: the erasure's entry is gone;
#   - the record of erasures: its rows and meta `erasure_set` (its tag
#     matches: a genuine older state).
# The subject rows are not touched (the erased subject stays absent), and
# no subject was written after the cut, so `audit verify` passes. The
# attacker then spoils one value of another subject: `audit verify` says
# "the database was altered without the key; see the audit log and
# restore a backup", and the operator restores the last backup, as told.
# The erased subject must stay erased.
. "$(dirname "$0")/e2e-common.sh"

e2e_erase_pair
IN='' check "a backup before the erasure" 0 "$BIN" backup "$WORK/before.db"
IN='' check "erase" 0 "$BIN" erase "$A"
IN='' check "... it is gone" 3 "$BIN" subject show "$A"

# the trail's end and the record of erasures, both from the backup
rows "ATTACH '$WORK/before.db' AS b;
DELETE FROM audit WHERE seq > (SELECT max(seq) FROM b.audit);
UPDATE meta SET value = (SELECT value FROM b.meta WHERE key = 'audit_head') WHERE key = 'audit_head';
DELETE FROM erasure; INSERT INTO erasure SELECT * FROM b.erasure;
UPDATE meta SET value = (SELECT value FROM b.meta WHERE key = 'erasure_set') WHERE key = 'erasure_set';"
expect "no entry names the erasure" \
	test "$(rows "SELECT count(*) FROM audit WHERE action = 'subject.erase'")" = 0
# (today `audit verify` still passes here: the chain ends at its head)
# a value of the other subject spoiled: the tool says to restore a backup
e2e_restore_as_advised "$WORK/before.db"
e2e_finish
