#!/usr/bin/env bash
# sqlite-only: edits the database file with the sqlite3 shell
# Attack: undo an erasure in two restores. A forced restore puts the
# backup's trail in place of a broken live one; it keeps a subject erased
# since the backup erased (it reads the live trail's erasures first) and
# remembers the erasure in the record of erasures, but the trail that goes
# on is the backup's, which never names that erasure. From then on the
# record of erasures is the only place that does, and it can be put back
# as it was before the erasure (rows and pinned sum together, a genuine
# older state). Nothing notices; the next ordinary restore of the backup
# brings the subject back.
#
# The operator only follows the tool: the trail is broken (one entry's
# actor edited), the restore says to use --force, and later a value edited
# makes `audit verify` say to restore a backup.
. "$(dirname "$0")/e2e-common.sh"

e2e_erase_pair
old_set=$(rows "SELECT hex(value) FROM meta WHERE key = 'erasure_set'")
IN='' check "a backup before the erasure" 0 "$BIN" backup "$WORK/before.db"
IN='' check "erase" 0 "$BIN" erase "$A"

# 1. a broken trail, and the forced restore the tool asks for
rows "UPDATE audit SET actor = 'someone' WHERE seq = (SELECT max(seq) FROM audit)"
IN='' check "an unforced restore is refused" 5 "$BIN" restore "$WORK/before.db"
expect "... and it points to --force" grep -q -- "--force" <<<"$err"
IN='' check "the forced restore runs" 0 "$BIN" restore --force "$WORK/before.db"
IN='' check "the erased subject stays erased" 3 "$BIN" subject show "$A"

# 2. the record of erasures as it was before the erasure
rows "DELETE FROM erasure; UPDATE meta SET value = X'$old_set' WHERE key = 'erasure_set'"
IN='' "$BIN" audit verify >/dev/null 2>&1 # (passes today)
e2e_restore_as_advised "$WORK/before.db"
e2e_finish
