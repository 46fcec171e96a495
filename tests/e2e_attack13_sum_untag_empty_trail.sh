#!/usr/bin/env bash
# A pinned sum without its tag is taken only while the audit trail shows
# no tagging. The walk that decides it did not compare the trail with its
# kept head: with the audit table emptied (and put back later) the next
# open found no marker and tagged whatever sum meta held, the combined
# S3 - S2 + S1 of e2e_attack12_sum_combine.sh, and audit verify passed.
# Now a trail that does not reach its kept head answers nothing: the sum
# stays untagged, and verify and writers refuse it. (Reads check each row
# against its own MAC, which the old row has: may-contact is not asked.)
# Ends with "N passed, N failed".
# sqlite-only: rows move between files with ATTACH.
. "$(dirname "$0")/e2e-common.sh"

e2e_sum_combine
# The edit: A's old rows, the combined sum WITHOUT a tag, the trail moved out.
rows "VACUUM INTO '$WORK/trail.db'" >/dev/null
put_first_a
rows "UPDATE meta SET value = X'$F' WHERE key = 'subject_set'; DELETE FROM audit;"
# Any open with the key (its exit status does not matter here).
"$BIN" subject list >/dev/null 2>&1
expect "the open did not tag the combined sum" [ "$(sum)" = "$F" ]
# The removed entries back: the trail is whole again.
rows "ATTACH '$WORK/trail.db' AS t; INSERT INTO audit SELECT * FROM t.audit;"
check "audit verify refuses the edit" 5 "$BIN" audit verify
IN='' check "a write refuses it" 5 "$BIN" subject update "$B" --field first_name=Berta
check "and audit verify still does" 5 "$BIN" audit verify
e2e_finish
