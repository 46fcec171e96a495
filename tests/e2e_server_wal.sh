#!/usr/bin/env bash
# sqlite-only: the size of SQLite's write-ahead log under group commits
# End-to-end: a steady stream of POST /v1/subjects (wrk, 16 connections)
# keeps the write-ahead log near its checkpoint size, with group commit
# (every write in a group) and without. The checkpointer copies the log
# back on its own thread while writes go on appending; the log starts anew
# only once all of it was copied: with group commit the writer copies the
# rest between two groups, without it a commit that finds the log past
# three times its size does (backpressure). Without those the log was
# never all copied back and grew by hundreds of MiB in a few seconds. No
# timing is asserted: the bound is on the log's largest size.
. "$(dirname "$0")/e2e-common.sh"

if ! command -v wrk >/dev/null; then
	echo "wrk is not installed: the run is skipped"
	e2e_finish
	exit 0
fi
command -v curl >/dev/null || { echo "curl is needed"; exit 1; }

check "init" 0 "$BIN" init --policy "$POLICY"
TOK="w:$("$BIN" actor add w --role customer_service)"
cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $TOK"
wrk.headers["Rekisteri-Purpose"] = "customer_relationship"
wrk.headers["Content-Type"] = "application/json"
local n = 0
local tid = 0
setup = function(thread) tid = tid + 1; thread:set("tid", tid) end
request = function()
	n = n + 1
	return wrk.format(nil, nil, nil, '{"kind":"prospect","fields":{"email":"w' .. tostring(tid) .. '-' .. n .. '@example.fi"}}')
end
LUA
# run_phase NAME SERVE-ARGS...: POSTs for a few seconds against a server
# started with SERVE-ARGS; the log's largest size is checked.
run_phase() {
	e2e_must "$1: the server starts and gets ready" e2e_serve --no-access-log "${@:2}"
	ok "$1: the server starts and gets ready"
	rm -f "$WORK/wrk.out"
	# The largest size the log reaches, sampled while wrk runs.
	max_wal=0
	# A generous timeout: on a loaded machine (sanitizers, other jobs) a
	# commit's fsync may stall past wrk's default of 2 s, which would be
	# counted as a socket error though the request succeeds.
	wrk -t 2 -c 16 -d "${WAL_SECONDS:-6}s" --timeout 30s -s "$WORK/post.lua" "$U/v1/subjects" >"$WORK/wrk.out" &
	WPID=$!
	# the long-reader phase: a shell holds a read transaction for three
	# seconds from the second one on
	if [ "$1" = long-reader ]; then
		(sleep 1; (echo "BEGIN;"; echo "SELECT count(*) FROM audit;"; sleep 3; echo "COMMIT;") |
			sqlite3 "$REKISTERI_DB" >/dev/null) &
		RPID=$!
	fi
	while kill -0 "$WPID" 2>/dev/null; do
		s=$(stat -c %s "$REKISTERI_DB-wal" 2>/dev/null || echo 0)
		[ "$s" -gt "$max_wal" ] && max_wal=$s
		sleep 0.2
	done
	wait "$WPID"
	cat "$WORK/wrk.out"
	s=$(stat -c %s "$REKISTERI_DB-wal" 2>/dev/null || echo 0)
	[ "$s" -gt "$max_wal" ] && max_wal=$s
	n=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
	metrics=$(curl -s "$U/metrics")
	writes=$(awk '$1 == "rekisteri_group_writes_total" {print $2}' <<<"$metrics")
	groups=$(awk '$1 == "rekisteri_group_commits_total" {print $2}' <<<"$metrics")
	echo "requests $n, group writes $writes in $groups commits, largest log $((max_wal / 1048576)) MiB"
	expect "$1: no request failed" bash -c '! grep -q "Non-2xx\|Socket errors" "$0"' "$WORK/wrk.out"
	if [ "$1" = group ]; then
		expect "writes shared commits ($writes in $groups)" test "${writes:-0}" -gt "${groups:-0}"
	fi
	# 4000 pages of 4 KiB before a checkpoint is owed: 16 MiB, and what comes
	# in while the checkpointer copies. 64 MiB leaves room for a slow machine;
	# the unbounded log passed it within a second or two.
	if [ "$1" = long-reader ]; then
		wait "$RPID"
		# The log grows behind the reader (writes go on); past 16 times
		# its cap of 47 MiB (750 MiB) writes would wait for the reader.
		expect "$1: the log stays under the hard cap ($((max_wal / 1048576)) MiB)" \
			test "$max_wal" -lt $((800 * 1048576))
	else
		expect "$1: the log stays bounded ($((max_wal / 1048576)) MiB)" test "$max_wal" -lt $((64 * 1048576))
	fi
	e2e_serve_stop
	if [ "$1" = long-reader ]; then
		# SQLite cuts a log longer than journal_size_limit (64 MiB) when
		# it starts anew: the close's checkpoint does so here.
		s=$(stat -c %s "$REKISTERI_DB-wal" 2>/dev/null || echo 0)
		expect "$1: the log is cut back after ($((s / 1048576)) MiB)" test "$s" -le $((64 * 1048576))
	fi
	check "$1: audit verify after the run" 0 "$BIN" audit verify
}
run_phase group
# Without group commit every worker writes: the deferred checkpoints never
# copy all of the log, and past three times its size the commit that finds
# it so copies the rest itself (backpressure). On the register the first
# phase filled, where copies are slow.
run_phase no-group --no-group-commit
# A long reader (an export, a backup, a shell left in a transaction) keeps
# the log from starting anew. Writes go on and the log grows behind it:
# the RESTART past the cap waits a quarter of a second for the reader and
# then backs off, instead of holding every write for the busy timeout
# (10 s) again at each commit. How long requests waited is measured by
# bench/bench_long_reader.sh, not asserted here.
run_phase long-reader
e2e_finish
