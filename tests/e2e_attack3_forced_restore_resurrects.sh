#!/usr/bin/env bash
# Attack: bring an erased subject back without any key. Someone who
# can write the database file deletes the subject's row from the erasure
# table (nothing notices: `audit verify` still passes) and breaks one entry
# of the live audit trail. The operator, told the trail is broken, restores
# the last backup with --force, as the message advises: the backup's trail
# replaces the live one, so the erasure entry would be gone too. The set of
# erasures is pinned under the row key: its cut row shows in `audit verify`,
# and with the trail broken as well nothing could replay the erasure, so the
# restore is refused even when forced, and nothing changes.
. "$(dirname "$0")/e2e-common.sh"

e2e_erase_pair
IN='' check "a backup before the erasure" 0 "$BIN" backup "$WORK/before.db"
IN='' check "erase" 0 "$BIN" erase "$A"

rows "DELETE FROM erasure"
IN='' check "a deleted erasure row is detected" 5 "$BIN" audit verify

rows "UPDATE audit SET actor = 'someone' WHERE seq = (SELECT max(seq) FROM audit)"
IN='' check "the broken trail is detected" 5 "$BIN" audit verify
IN='' check "the forced restore is refused" 5 "$BIN" restore --force "$WORK/before.db"
expect "... and says why" grep -q "record of erasures" <<<"$err"
IN='' check "the erased subject stays erased" 3 "$BIN" subject show "$A"
IN='' check "its e-mail finds nothing" 3 "$BIN" subject find --by email \
	eino.poistettava@example.com
e2e_finish
