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

e2e_aino email=aino@example.com
IN='' check "the marketing consent" 0 "$BIN" consent give "$A" email_marketing
IN='' check "a second customer" 0 "$BIN" subject add --kind customer \
	--field first_name=Bertta --field last_name=Qwertyläinen
B=$out
sum() { rows "SELECT hex(value) FROM meta WHERE key = 'subject_set'"; }
S1=$(sum)
rows "VACUUM INTO '$WORK/first.db'" >/dev/null
IN='' check "the consent withdrawn" 0 "$BIN" consent withdraw "$A" email_marketing
check "may-contact says no" 4 "$BIN" may-contact "$A" --channel email
S2=$(sum)
IN='' check "the second customer updated" 0 "$BIN" subject update "$B" \
	--field first_name=Bertha
S3=$(sum)
check "audit verify passes before the edit" 0 "$BIN" audit verify
F=$(python3 - "$S1" "$S2" "$S3" <<'PY'
import sys
s1, s2, s3 = (int.from_bytes(bytes.fromhex(h[:64]), "little") for h in sys.argv[1:4])
print(((s3 - s2 + s1) % (1 << 256)).to_bytes(32, "little").hex().upper())
PY
)
# The edit: A's old rows, the combined sum WITHOUT a tag, the trail moved out.
rows "VACUUM INTO '$WORK/trail.db'" >/dev/null
rows "ATTACH '$WORK/first.db' AS o;
	INSERT OR REPLACE INTO subject SELECT * FROM o.subject WHERE id = '$A';
	DELETE FROM value WHERE subject_id = '$A';
	INSERT INTO value SELECT * FROM o.value WHERE subject_id = '$A';
	DELETE FROM consent WHERE subject_id = '$A';
	INSERT INTO consent SELECT * FROM o.consent WHERE subject_id = '$A';
	UPDATE meta SET value = X'$F' WHERE key = 'subject_set';
	DELETE FROM audit;"
# Any open with the key (its exit status does not matter here).
"$BIN" subject list >/dev/null 2>&1
expect "the open did not tag the combined sum" [ "$(sum)" = "$F" ]
# The removed entries back: the trail is whole again.
rows "ATTACH '$WORK/trail.db' AS t; INSERT INTO audit SELECT * FROM t.audit;"
check "audit verify refuses the edit" 5 "$BIN" audit verify
IN='' check "a write refuses it" 5 "$BIN" subject update "$B" --field first_name=Berta
check "and audit verify still does" 5 "$BIN" audit verify
e2e_finish
