#!/usr/bin/env bash
# sqlite-only: edits the database file with the sqlite3 shell
# Attack: undo an erasure through a forced restore, by cutting the very
# trail entry that names it. Someone who can write the database file puts
# the record of erasures back as it was before the erasure (rows and the
# pinned sum together, a genuine older state) and deletes the live trail's
# `subject.erase` entry. That one edit both breaks the trail (so the
# operator is told to restore with --force) and removes the only other
# place that names the erasure: the live trail's entries are read
# unverified before the backup's trail replaces them. The operator follows
# the messages; the erased subject must stay erased.
. "$(dirname "$0")/e2e-common.sh"

e2e_erase_pair
old_set=$(rows "SELECT hex(value) FROM meta WHERE key = 'erasure_set'")
IN='' check "a backup before the erasure" 0 "$BIN" backup "$WORK/before.db"
IN='' check "erase" 0 "$BIN" erase "$A"
IN='' check "... it is gone" 3 "$BIN" subject show "$A"

# the record of erasures as it was, and the erasure's trail entry cut
rows "DELETE FROM erasure; UPDATE meta SET value = X'$old_set' WHERE key = 'erasure_set';
DELETE FROM audit WHERE action = 'subject.erase'"
IN='' check "the broken trail is detected" 5 "$BIN" audit verify
IN='' check "an unforced restore is refused" 5 "$BIN" restore "$WORK/before.db"
# the operator does what the message says
IN='' "$BIN" restore --force "$WORK/before.db" >/dev/null 2>&1
IN='' check "the erased subject stays erased" 3 "$BIN" subject show "$A"
IN='' check "its e-mail finds nothing" 3 "$BIN" subject find --by email \
	eino.poistettava@example.com
e2e_finish
