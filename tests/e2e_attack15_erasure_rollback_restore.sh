#!/usr/bin/env bash
# sqlite-only: edits the database file with the sqlite3 shell
# Attack: undo an erasure through a forced restore. Someone who can write
# the database file puts the record of erasures back as it was before an
# erasure, rows and pinned sum together (a genuine older state, so no tag
# or MAC is wrong), then breaks an entry of the live audit trail. The
# operator, told the trail is broken, restores the last backup with
# --force: the backup's trail replaces the live one. The live trail's
# erasure entries, read before it goes, keep the erased subject erased.
#
# Then the same with a subject that retention deleted: its entry in the
# trail names it as erased too, when the record of erasures is rebuilt
# from a trail that verifies.
. "$(dirname "$0")/e2e-common.sh"

e2e_erase_pair
old_set=$(rows "SELECT hex(value) FROM meta WHERE key = 'erasure_set'")
IN='' check "a backup before the erasure" 0 "$BIN" backup "$WORK/before.db"
IN='' check "erase" 0 "$BIN" erase "$A"

rows "DELETE FROM erasure; UPDATE meta SET value = X'$old_set' WHERE key = 'erasure_set'"
rows "UPDATE audit SET actor = 'someone' WHERE seq = (SELECT max(seq) FROM audit)"
IN='' check "the broken trail is detected" 5 "$BIN" audit verify
IN='' check "the forced restore runs" 0 "$BIN" restore --force "$WORK/before.db"
IN='' check "the erased subject stays erased" 3 "$BIN" subject show "$A"
IN='' check "its e-mail finds nothing" 3 "$BIN" subject find --by email \
	eino.poistettava@example.com
IN='' check "the other subject is back" 0 "$BIN" subject show "$B"
expect "the erasure is remembered again" \
	test "$(rows "SELECT count(*) FROM erasure")" = 1
expect "and the trail that goes on names it" \
	test "$(rows "SELECT count(*) FROM audit WHERE action = 'subject.erase' AND fields = 'replayed_by_restore'")" = 1
IN='' check "the register verifies after the restore" 0 "$BIN" audit verify
IN='' check "a later backup" 0 "$BIN" backup "$WORK/after.db"
IN='' check "restoring it keeps the subject erased" 0 "$BIN" restore "$WORK/after.db"
IN='' check "... it stays erased" 3 "$BIN" subject show "$A"

# Retention: a prospect deleted whole at the end of its period.
export REKISTERI_DB="$WORK/r2.db"
IN='' check "init again" 0 "$BIN" init --policy "$POLICY"
IN='' check "a prospect" 0 "$BIN" subject add --kind prospect \
	--field first_name=Pekka --field email=pekka.prospekti@example.com
P=$out
IN='' check "a backup before retention" 0 "$BIN" backup "$WORK/before2.db"
IN='' check "retention deletes the prospect" 0 "$BIN" retention run \
	--allow-early --as-of "$(date -u -d '+6 months +1 day' +%F)"
IN='' check "... it is gone" 3 "$BIN" subject show "$P"
rows "DELETE FROM erasure"
IN='' check "the cut record of erasures is detected" 5 "$BIN" audit verify
IN='' check "an unforced restore is refused" 5 "$BIN" restore "$WORK/before2.db"
IN='' check "the forced restore rebuilds it from the trail" 0 "$BIN" \
	restore --force "$WORK/before2.db"
IN='' check "the deleted prospect stays deleted" 3 "$BIN" subject show "$P"
IN='' check "its e-mail finds nothing" 3 "$BIN" subject find --by email \
	pekka.prospekti@example.com
IN='' check "the register verifies" 0 "$BIN" audit verify
e2e_finish
