#!/usr/bin/env bash
# A streaming-replication standby as a read replica (run by
# tests/pg-suite.sh with REKISTERI_TEST_PG=1): a second cluster follows the
# suite's (tests/pg-cluster.sh standby). Shows that --read-replica reads
# come from the standby (with replay paused, a read there misses the
# primary's newest write; without the option it does not), that the read's
# audit entry is on the primary, that a stopped standby falls back to the
# primary, that a server that is not a standby is refused, that audit
# verify passes, and a manual fail-over: the standby promoted carries the
# register on, audit verify intact.
. "$(dirname "$0")/e2e-common.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
e2e_standby pg_replica
shows() { grep -q "$1" <<<"$out"; }

check "init" 0 "$BIN" init --policy "$POLICY"
check "add" 0 "$BIN" subject add --kind customer --field last_name=Ennen \
	--field email=ennen@example.com
A=$out
expect "the standby starts" bash "$HERE/pg-cluster.sh" standby "$RK_PG_HOST" "$SB"
expect "the standby replays the register" wait_replay

check "show through the replica" 0 "$BIN" --read-replica "$REPLICA" subject show "$A"
expect "it shows the subject" shows Ennen
reads=$(pq "$RK_PG_HOST" "SELECT count(*) FROM audit WHERE action = 'subject.show'")
expect "the read's audit entry is on the primary" test "$reads" -eq 1

# Replay paused: the primary moves on, the standby does not.
pq "$SB" "SELECT pg_wal_replay_pause()" >/dev/null
check "update on the primary" 0 "$BIN" subject update "$A" --field last_name=Jalkeen
check "the replica's read is stale" 0 env REKISTERI_READ_REPLICA="$REPLICA" \
	"$BIN" subject show "$A"
expect "it shows the value before the update (the read ran there)" shows Ennen
check "without the replica" 0 "$BIN" subject show "$A"
expect "the primary shows the update" shows Jalkeen
check "a write with the replica set" 0 "$BIN" --read-replica "$REPLICA" \
	subject update "$A" --field email=jalkeen@example.com
expect "the write reached the primary" \
	test "$(pq "$RK_PG_HOST" "SELECT count(*) FROM audit WHERE action = 'subject.update'")" -eq 2
pq "$SB" "SELECT pg_wal_replay_resume()" >/dev/null
expect "the standby catches up" wait_replay
check "the replica after replay" 0 "$BIN" --read-replica "$REPLICA" subject show "$A"
expect "it shows the update" shows Jalkeen
check "list through the replica" 0 "$BIN" --read-replica "$REPLICA" subject list
expect "it lists the subject" shows "$A"

# A verb whose read on the standby fails runs again on the primary: its
# answer shows once, no error of the first run shows, and a value it read
# from standard input is given to the second run too. The standby lags
# a second register's whole life: its database is there, empty.
"$RK_PG_BIN/createdb" -h "$RK_PG_HOST" -U postgres "${RK_PG_DBNAME}_lag"
expect "the standby has the empty database" wait_replay
pq "$SB" "SELECT pg_wal_replay_pause()" >/dev/null
LAG=(--db "postgresql:///${RK_PG_DBNAME}_lag?host=$RK_PG_HOST&user=postgres"
	--key-file "$WORK/lag.key"
	--read-replica "postgresql:///${RK_PG_DBNAME}_lag?host=$SB&user=postgres")
check "a register the standby has not seen" 0 "$BIN" "${LAG[@]}" init \
	--policy "$POLICY"
check "its subject" 0 "$BIN" "${LAG[@]}" subject add --kind customer \
	--field last_name=Myohainen --field email=myohainen@example.com
L=$out
check "show through the standby, again on the primary" 0 "$BIN" "${LAG[@]}" \
	subject show "$L"
expect "the answer shows once" test "$(grep -c Myohainen <<<"$out")" -eq 1
expect "no error of the first run shows" test -z "$err"
check "list, again on the primary" 0 "$BIN" "${LAG[@]}" subject list
expect "the subject is listed once" test "$(grep -c "$L" <<<"$out")" -eq 1
IN=$'myohainen@example.com\n' check "find by a value on standard input" 0 \
	"$BIN" "${LAG[@]}" subject find --by email -
expect "found once" test "$(grep -c "$L" <<<"$out")" -eq 1
# An answer longer than the first buffers of the held output: it grows
# (each outgrown buffer wiped) and comes out whole, as the primary gives it.
for i in $(seq 1 90); do
	"$BIN" "${LAG[@]}" subject add --kind customer --field last_name=Lista \
		--field "email=lista$i@example.com" >/dev/null || bad "list subject $i"
done
check "a long list, again on the primary" 0 "$BIN" "${LAG[@]}" subject list --json
LONG=$out
check "the same list on the primary alone" 0 "$BIN" "${LAG[@]:0:4}" subject list --json
expect "the held answer is longer than 8 kB" test "${#LONG}" -gt 8192
expect "it is the primary's answer, byte for byte" test "$LONG" = "$out"
pq "$SB" "SELECT pg_wal_replay_resume()" >/dev/null
expect "the standby catches up" wait_replay

check "the primary is no replica" 2 "$BIN" --read-replica "$REKISTERI_DB" subject show "$A"
expect "the refusal says why" grep -q "not a standby" <<<"$err"

# A stopped standby: reads fall back to the primary.
expect "the standby stops" bash "$HERE/pg-cluster.sh" down "$SB"
check "show with the standby stopped" 0 "$BIN" --read-replica "$REPLICA" subject show "$A"
expect "the primary answered" shows Jalkeen
check "audit verify on the primary" 0 "$BIN" audit verify

# Manual fail-over: the standby, started again and caught up, is
# promoted; the register goes on there with the same key file.
expect "the standby starts again" bash "$HERE/pg-cluster.sh" up "$SB"
expect "it catches up" wait_replay
check "the primary's last write" 0 "$BIN" subject add --kind customer \
	--field last_name=Viimeinen --field email=viimeinen@example.com
expect "it is replayed before the switch" wait_replay
expect "the standby is promoted" bash "$HERE/pg-cluster.sh" promote "$SB"
PROMOTED=(--db "$REPLICA" --key-file "$WORK/r.db.key")
check "audit verify on the promoted server" 0 "$BIN" "${PROMOTED[@]}" audit verify
check "the promoted server reads" 0 "$BIN" "${PROMOTED[@]}" subject show "$A"
expect "with the last update" shows Jalkeen
check "and writes" 0 "$BIN" "${PROMOTED[@]}" subject add --kind customer \
	--field last_name=Uusi --field email=uusi@example.com
check "audit verify after the write" 0 "$BIN" "${PROMOTED[@]}" audit verify
check "a promoted server is no replica" 2 "$BIN" --read-replica "$REPLICA" \
	subject show "$A"
e2e_finish
