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

e2e_sum_combine
cp "$REKISTERI_DB" "$WORK/live.db"

# The first copy's rows of the first customer: the subject row, its values
# and its consents (the withdrawal's row goes).
put_back() {
	cp "$WORK/live.db" "$REKISTERI_DB"
	rm -f "$REKISTERI_DB-wal" "$REKISTERI_DB-shm"
	put_first_a
	rows "UPDATE meta SET value = X'$1' WHERE key = 'subject_set'"
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
