#!/usr/bin/env bash
# Four writers on one PostgreSQL database (run by tests/pg-suite.sh with
# REKISTERI_TEST_PG=1): four CLI processes each add subjects and give
# each a consent at the same time. Proves that the counts match, that the
# audit trail is one chain without a gap or a fork (seq 1..N, each entry's
# prev the hash of the one before), and that audit verify passes; prints
# the writes per second of one writer and of four (with an audited reader
# beside them), which is the price of
# the one chain (the writers take turns on its head).
. "$(dirname "$0")/e2e-common.sh"
if [ "${REKISTERI_TEST_PG:-0}" != 1 ]; then
	echo "pg_concurrency: needs REKISTERI_TEST_PG=1 (tests/pg-suite.sh)" >&2
	exit 1
fi
N=${RK_PG_WRITES:-25} # subjects per writer
psql_q() { "$RK_PG_BIN/psql" -h "$RK_PG_HOST" -U postgres -d "$RK_PG_DBNAME" -Atqc "$1"; }
now_ms() { date +%s%3N; }

# writer TAG COUNT: adds COUNT subjects with a consent each; the exit
# status counts the failures
writer() {
	local tag=$1 n=$2 i id bad=0
	for i in $(seq 1 "$n"); do
		id=$("$BIN" subject add --kind customer --field last_name="W$tag" \
			--field email="w$tag.$i@example.com" 2>>"$WORK/err.$tag") ||
			{ bad=$((bad + 1)); continue; }
		"$BIN" consent give "$id" location --channel app \
			>/dev/null 2>>"$WORK/err.$tag" || bad=$((bad + 1))
	done
	return $bad
}

check "init" 0 "$BIN" init --policy "$POLICY"
base=$(psql_q "SELECT count(*) FROM audit")

t0=$(now_ms)
writer solo "$N"
solo_rc=$?
t1=$(now_ms)
expect "one writer alone: no failures" test "$solo_rc" -eq 0

# reader COUNT: reads a subject COUNT times; each read is audited, so it
# appends to the same chain as the writers
reader() {
	local n=$1 i bad=0
	for i in $(seq 1 "$n"); do
		"$BIN" subject show "$R" >/dev/null 2>>"$WORK/err.r" || bad=$((bad + 1))
	done
	return $bad
}
R=$(psql_q "SELECT id FROM subject ORDER BY id LIMIT 1")
reads_before=$(psql_q "SELECT count(*) FROM audit WHERE action = 'subject.show'")

t2=$(now_ms)
pids=()
for w in 1 2 3 4; do
	writer "$w" "$N" &
	pids+=($!)
done
reader "$N" &
rpid=$!
conc_fail=0
for p in "${pids[@]}"; do wait "$p" || conc_fail=$((conc_fail + $?)); done
wait "$rpid" || conc_fail=$((conc_fail + $?))
t3=$(now_ms)
expect "four writers and a reader at once: no failures" test "$conc_fail" -eq 0
reads=$(psql_q "SELECT count(*) FROM audit WHERE action = 'subject.show'")
expect "every read is in the trail ($((reads - reads_before)) of $N)" \
	test $((reads - reads_before)) -eq "$N"
[ "$conc_fail" -eq 0 ] || cat "$WORK"/err.* | sort | uniq -c | head -5

subjects=$(psql_q "SELECT count(*) FROM subject")
consents=$(psql_q "SELECT count(*) FROM consent")
expect "subjects: 5 x $N (got $subjects)" test "$subjects" -eq $((5 * N))
expect "consents: 5 x $N (got $consents)" test "$consents" -eq $((5 * N))
got=$(psql_q "SELECT count(*) FROM consent c JOIN subject s ON s.id = c.subject_id")
expect "every consent hangs on a subject" test "$got" -eq "$consents"

entries=$(psql_q "SELECT count(*) FROM audit")
range=$(psql_q "SELECT min(seq) || ' ' || max(seq) FROM audit")
expect "the trail numbers 1..$entries without a gap ($range)" \
	test "$range" = "1 $entries"
forks=$(psql_q "SELECT count(*) FROM audit a JOIN audit b ON b.seq = a.seq + 1 WHERE b.prev <> a.hash")
expect "each entry's prev is the hash of the one before (no fork)" \
	test "$forks" -eq 0
dup=$(psql_q "SELECT count(*) - count(DISTINCT prev) FROM audit")
expect "no two entries share a predecessor" test "$dup" -eq 0
expect "the concurrent writes are all in the trail" \
	test "$entries" -ge $((base + 10 * N))
check "audit verify passes" 0 "$BIN" audit verify
expect "verify counted every subject" grep -q "$subjects subjects" <<<"$out"

solo_ms=$((t1 - t0)) conc_ms=$((t3 - t2))
[ "$solo_ms" -gt 0 ] || solo_ms=1
[ "$conc_ms" -gt 0 ] || conc_ms=1
printf 'measured: 1 writer %d writes in %d ms (%d/s); 4 writers %d writes in %d ms (%d/s); %d audit entries\n' \
	$((2 * N)) "$solo_ms" $((2000 * N / solo_ms)) $((8 * N)) "$conc_ms" \
	$((8000 * N / conc_ms)) "$entries"
e2e_finish
