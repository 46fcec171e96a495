#!/usr/bin/env bash
# The pinned sum of the subject rows is linear: from three copies of the
# file taken at different times, S3 - S2 + S1 is the sum of today's rows
# with one subject put back as it was in the first copy. Written into meta
# with that subject's old rows, it made a consent withdrawal undone pass
# audit verify (reads check each row against its own MAC, which the old
# row has, so may-contact said yes again). The sums now carry a keyed
# tag: the combined sum is refused however it is written (without a tag,
# with either copy's tag), and so is a whole older sum put back with the
# one subject's rows. Ends with "N passed, N failed".
# sqlite-only: the edit copies rows between files with ATTACH; the sums are
# the same code on PostgreSQL.
. "$(dirname "$0")/e2e-common.sh"

e2e_aino email=aino@example.com
IN='' check "the marketing consent" 0 "$BIN" consent give "$A" email_marketing
IN='' check "a second customer" 0 "$BIN" subject add --kind customer \
	--field first_name=Bertta --field last_name=Qwertyläinen
B=$out
check "may-contact says yes" 0 "$BIN" may-contact "$A" --channel email
sum() { rows "SELECT hex(value) FROM meta WHERE key = 'subject_set'"; }
expect "the sum is stored with its tag" [ "$(sum | wc -c)" -eq 129 ]
S1=$(sum)
rows "VACUUM INTO '$WORK/first.db'" >/dev/null
IN='' check "the consent withdrawn" 0 "$BIN" consent withdraw "$A" email_marketing
check "may-contact says no" 4 "$BIN" may-contact "$A" --channel email
S2=$(sum)
IN='' check "the second customer updated" 0 "$BIN" subject update "$B" \
	--field first_name=Bertha
S3=$(sum)
check "audit verify passes before the edit" 0 "$BIN" audit verify
cp "$REKISTERI_DB" "$WORK/live.db"

# F = S3 - S2 + S1 over the 32 bytes of the sum, little-endian mod 2^256.
F=$(python3 - "$S1" "$S2" "$S3" <<'PY'
import sys
s1, s2, s3 = (int.from_bytes(bytes.fromhex(h[:64]), "little") for h in sys.argv[1:4])
print(((s3 - s2 + s1) % (1 << 256)).to_bytes(32, "little").hex().upper())
PY
)
expect "the combined sum is not the first read" [ "$F" != "${S1:0:64}" ]
expect "the combined sum is not the last read" [ "$F" != "${S3:0:64}" ]

# The first copy's rows of the first customer: the subject row, its values
# and its consents (the withdrawal's row goes).
put_back() {
	cp "$WORK/live.db" "$REKISTERI_DB"
	rm -f "$REKISTERI_DB-wal" "$REKISTERI_DB-shm"
	rows "ATTACH '$WORK/first.db' AS o;
		INSERT OR REPLACE INTO subject SELECT * FROM o.subject WHERE id = '$A';
		DELETE FROM value WHERE subject_id = '$A';
		INSERT INTO value SELECT * FROM o.value WHERE subject_id = '$A';
		DELETE FROM consent WHERE subject_id = '$A';
		INSERT INTO consent SELECT * FROM o.consent WHERE subject_id = '$A';
		UPDATE meta SET value = X'$1' WHERE key = 'subject_set';"
}
for form in "without a tag:$F" "with the first copy's tag:$F${S1:64}" \
	"with the last copy's tag:$F${S3:64}" "the first copy's whole sum:$S1"; do
	name=${form%%:*}
	put_back "${form#*:}"
	check "combined sum $name: audit verify refuses" 5 "$BIN" audit verify
	# A later write moves the sum by its own rows only: it blesses
	# nothing (or it refuses the sum it loads).
	IN='' "$BIN" subject update "$B" --field first_name=Berta >/dev/null 2>&1
	check "combined sum $name: still refused after a write" 5 "$BIN" audit verify
done

# The live register as it was still works: nothing above was needed.
cp "$WORK/live.db" "$REKISTERI_DB"
rm -f "$REKISTERI_DB-wal" "$REKISTERI_DB-shm"
check "the register as it was verifies" 0 "$BIN" audit verify
check "and may-contact says no" 4 "$BIN" may-contact "$A" --channel email
e2e_finish
