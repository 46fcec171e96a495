#!/usr/bin/env bash
# bench_long_reader.sh: POST /v1/subjects under wrk while another process
# holds a read transaction (an export, a backup or a shell left in one),
# beside the same load without it, in the same run. Prints each run's
# latency percentiles, the log's largest size and its size at the end.
# A long reader keeps the write-ahead log from starting anew; the RESTART
# past the log's cap waits a quarter of a second for it and then backs off
# (writes go on, the log grows behind the reader, up to 16 times the cap),
# where it used to hold every write for the 10 s busy timeout.
#
# usage: REKISTERI_BIN=build/rekisteri bash bench/bench_long_reader.sh
# BENCH_SECONDS (default 20), BENCH_READER_SECONDS (8), BENCH_SERVE_ARGS.
set -euo pipefail
BIN=${REKISTERI_BIN:-build/rekisteri}
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECS=${BENCH_SECONDS:-20}
RSECS=${BENCH_READER_SECONDS:-8}
# shellcheck source=bench/bench-common.sh
. "$SRC/bench/bench-common.sh"
for c in wrk curl sqlite3; do
	command -v $c >/dev/null || { echo "bench_long_reader: $c is needed"; exit 1; }
done
W=$(mktemp -d)
SPID=
cleanup() {
	[ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
unset REKISTERI_KEY_FILE REKISTERI_ACTOR

# run NAME READER(0|1): a new register, the server, wrk; the reader from
# the fourth second on when asked
run() {
	export REKISTERI_DB=$W/r$2.db
	"$BIN" init --policy "$SRC/policies/ocr-factory.json" >/dev/null
	local tok="b:$("$BIN" actor add b --role customer_service)"
	bench_serve "$W"
	bench_post_lua "$W/post.lua" "$tok"
	wrk -t2 -c16 -d"${SECS}s" --timeout 30s --latency -s "$W/post.lua" \
		"$U/v1/subjects" >"$W/wrk.out" &
	local wpid=$! max=0 s
	if [ "$2" = 1 ]; then
		(sleep 4; (echo "BEGIN;"; echo "SELECT count(*) FROM audit;"; sleep "$RSECS"; echo "COMMIT;") |
			sqlite3 "$REKISTERI_DB" >/dev/null) &
	fi
	while kill -0 "$wpid" 2>/dev/null; do
		s=$(stat -c %s "$REKISTERI_DB-wal" 2>/dev/null || echo 0)
		[ "$s" -gt "$max" ] && max=$s
		sleep 0.2
	done
	wait "$wpid"
	kill -TERM "$SPID"
	wait "$SPID" || true
	SPID=
	s=$(stat -c %s "$REKISTERI_DB-wal" 2>/dev/null || echo 0)
	awk -v name="$1" -v max="$max" -v end="$s" '
		/requests in/ { n = $1 }
		/^ +50%/ { p50 = $2 } /^ +90%/ { p90 = $2 } /^ +99%/ { p99 = $2 }
		/Latency/ && !lat { lmax = $4; lat = 1 }
		END { printf "%-22s %8d requests  p50 %-9s p90 %-9s p99 %-9s max %-9s log max %4d MiB, at the end %3d MiB\n",
			name, n, p50, p90, p99, lmax, max / 1048576, end / 1048576 }' "$W/wrk.out"
	grep -q "Non-2xx\|Socket errors" "$W/wrk.out" && echo "   (some requests failed: $(grep -E 'Non-2xx|Socket' "$W/wrk.out"))"
	"$BIN" audit verify >/dev/null && echo "   audit verify: intact"
}
echo "== bench_long_reader: POST subject for ${SECS}s, 16 connections; a reader held ${RSECS}s from the 4th second"
run "no reader" 0
run "a ${RSECS}s reader" 1
