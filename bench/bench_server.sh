#!/usr/bin/env bash
# bench_server.sh: the HTTP API under wrk, beside a static route of the same
# server in the same run. GET /v1/subjects/{id}, POST /v1/lookup and POST
# /v1/subjects against GET /healthz (no handle, no database); prints each
# rate, its ratio to the static baseline and the latency percentiles.
#
# usage: REKISTERI_BIN=build/rekisteri bash bench/bench_server.sh
# BENCH_SECONDS (default 10), BENCH_CONNECTIONS (16), BENCH_THREADS (2);
# BENCH_SERVE_ARGS: more options for the server (--no-group-commit to
# compare). When build/bench_subjects is beside the binary, the library's
# own one-commit-per-subject rate is measured in the same run and POST
# subject is compared with it (the group commit's goal: at least as fast).
set -euo pipefail
BIN=${REKISTERI_BIN:-build/rekisteri}
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-16}
WT=${BENCH_THREADS:-2}
command -v wrk >/dev/null || { echo "bench_server: wrk is needed (apt-get install wrk)"; exit 1; }
command -v curl >/dev/null || { echo "bench_server: curl is needed"; exit 1; }
W=$(mktemp -d)
SPID=
cleanup() {
	[ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
export REKISTERI_DB=$W/r.db
unset REKISTERI_KEY_FILE REKISTERI_ACTOR
"$BIN" init --policy "$SRC/policies/ocr-factory.json" >/dev/null
TOK="bench:$("$BIN" actor add bench --role customer_service)"
# shellcheck disable=SC2086
"$BIN" serve --listen 127.0.0.1:0 --port-file "$W/port" --no-access-log ${BENCH_SERVE_ARGS:-} 2>"$W/server.log" &
SPID=$!
for _ in $(seq 1 200); do
	[ -s "$W/port" ] && curl -sf "http://127.0.0.1:$(cat "$W/port")/readyz" >/dev/null && break
	sleep 0.05
done
U="http://127.0.0.1:$(cat "$W/port")"
H=(-H "Authorization: Bearer $TOK" -H "Rekisteri-Purpose: customer_relationship" -H "Content-Type: application/json")
# a few hundred subjects, so that reads and look-ups do not all hit one row
for i in $(seq 1 300); do
	curl -s "${H[@]}" -X POST --data-binary \
		"{\"kind\":\"customer\",\"fields\":{\"first_name\":\"Bench\",\"last_name\":\"Mark$i\",\"email\":\"b$i@example.fi\"}}" \
		"$U/v1/subjects"
	echo
done | jq -r .id >"$W/ids"
ID=$(sed -n 150p "$W/ids")

cat >"$W/get.lua" <<LUA
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer $TOK"
wrk.headers["Rekisteri-Purpose"] = "customer_relationship"
LUA
cat >"$W/lookup.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $TOK"
wrk.headers["Rekisteri-Purpose"] = "customer_relationship"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
	n = n + 1
	return wrk.format(nil, nil, nil, '{"by":"email","value":"b' .. (n % 300 + 1) .. '@example.fi"}')
end
LUA
cat >"$W/post.lua" <<LUA
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

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SPID/stat"; }
# run NAME URL [LUA]: wrk with latency percentiles; sets RATE, P50/P99 and
# CPU (the server's CPU microseconds per request)
run() {
	local name=$1 url=$2 lua=${3-}
	local args=(-t "$WT" -c "$CONNS" -d "${SECS}s" --latency)
	[ -n "$lua" ] && args+=(-s "$lua")
	local f="$W/out.$RANDOM" c0 c1 n
	c0=$(cpu_ticks)
	wrk "${args[@]}" "$url" >"$f"
	c1=$(cpu_ticks)
	n=$(awk '/requests in/ {print $1}' "$f")
	# the server's CPU time per request (user + system): steadier than
	# rates on a machine that other work shares
	CPU=$(awk -v a="$c0" -v b="$c1" -v n="$n" -v hz="$(getconf CLK_TCK)" \
		'BEGIN {if (n > 0) printf "%.1f", (b - a) * 1e6 / hz / n; else print 0}')
	RATE=$(awk '/^Requests\/sec:/ {print $2}' "$f")
	P50=$(awk '$1 == "50%" {print $2}' "$f")
	P90=$(awk '$1 == "90%" {print $2}' "$f")
	P99=$(awk '$1 == "99%" {print $2}' "$f")
	NON2XX=$(awk '/Non-2xx/ {print $NF}' "$f")
	ERRS=$(awk '/Socket errors/ {print $0}' "$f")
	printf '%-22s %10s req/s  p50 %-9s p90 %-9s p99 %-9s cpu %6s us/req  non-2xx %s %s\n' \
		"$name" "$RATE" "$P50" "$P90" "$P99" "$CPU" "${NON2XX:-0}" "$ERRS"
}
echo "== bench_server: $WT wrk threads, $CONNS connections, ${SECS}s each; server threads = cores ($(nproc))"
run "static GET /healthz" "$U/healthz"
BASE=$RATE
BASECPU=$CPU
run "GET subject" "$U/v1/subjects/$ID" "$W/get.lua"
GET=$RATE
GETCPU=$CPU
run "POST lookup" "$U/v1/lookup" "$W/lookup.lua"
LOOK=$RATE
run "POST subject" "$U/v1/subjects" "$W/post.lua"
POST=$RATE
# the same reads at a quarter of the connections: latency off the peak
CONNS=$((CONNS / 4 > 0 ? CONNS / 4 : 1))
run "GET subject (c=$CONNS)" "$U/v1/subjects/$ID" "$W/get.lua"
awk -v b="$BASE" -v g="$GET" -v l="$LOOK" -v p="$POST" -v bc="$BASECPU" -v gc="$GETCPU" 'BEGIN {
	printf "ratio GET subject / static:  %.3f (goal >= 0.3)\n", g / b
	if (gc > 0)
		printf "ratio by CPU per request (static / GET subject): %.3f\n", bc / gc
	printf "ratio POST lookup / static:  %.3f\n", l / b
	printf "ratio POST subject / static: %.3f\n", p / b
}'
# The library's one commit per subject, in the same run (the server is
# idle meanwhile): POST subject shares commits and should beat it.
BS=$(cd "$(dirname "$BIN")" && pwd)/bench_subjects
if [ -x "$BS" ]; then
	LIB=$(cd "$W" && "$BS" --n "${BENCH_LIB_N:-5000}" --dir "$W" 2>/dev/null |
		awk '/^insert, one commit per subject:/ {for (i = 1; i <= NF; i++) if ($i == "rekisteri") {sub("/s", "", $(i + 1)); print $(i + 1)}}')
	if [ -n "$LIB" ]; then
		awk -v p="$POST" -v l="$LIB" 'BEGIN {
			printf "library one commit per subject: %.0f/s\n", l
			printf "ratio POST subject / library one-commit: %.3f (goal >= 1)\n", p / l
		}'
	fi
fi
kill -TERM "$SPID"
wait "$SPID"
SPID=
"$BIN" audit verify >/dev/null && echo "audit verify after the run: intact"
