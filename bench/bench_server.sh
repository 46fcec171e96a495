#!/usr/bin/env bash
# bench_server.sh: the HTTP API under wrk, beside a static route of the same
# server in the same run. GET /v1/subjects/{id}, POST /v1/lookup and POST
# /v1/subjects against GET /healthz (no handle, no database); prints each
# rate, its ratio to the static baseline and the latency percentiles.
#
# GET subject against the static route is also measured by the server's
# CPU time per request (perf stat -e task-clock on the server's process when
# perf is there, else its /proc ticks), the two routes alternately
# BENCH_PAIRS times (default 3), with the median ratio: on a machine that
# other work shares, CPU per request is steadier than rates. Then GET
# subject at about half of its peak rate (wrk cannot hold a fixed rate, so
# each connection waits between its requests, see half.lua): the rate
# reached and p50/p90/p99 against the goal of p99 under 10 ms.
#
# usage: REKISTERI_BIN=build/rekisteri bash bench/bench_server.sh
# BENCH_SECONDS (default 10), BENCH_CONNECTIONS (16), BENCH_THREADS (2),
# BENCH_PAIRS (3); BENCH_SERVE_ARGS: more options for the server
# (--no-group-commit to compare). When build/bench_subjects is beside the
# binary, the library's own one-commit-per-subject rate is measured in the
# same run and POST subject is compared with it (the group commit's goal: at
# least as fast).
set -euo pipefail
BIN=${REKISTERI_BIN:-build/rekisteri}
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-16}
WT=${BENCH_THREADS:-2}
PAIRS=${BENCH_PAIRS:-3}
command -v wrk >/dev/null || { echo "bench_server: wrk is needed (apt-get install wrk)"; exit 1; }
command -v curl >/dev/null || { echo "bench_server: curl is needed"; exit 1; }
# shellcheck source=bench/bench-common.sh
. "$SRC/bench/bench-common.sh"
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
bench_serve "$W"
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
bench_post_lua "$W/post.lua" "$TOK"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SPID/stat"; }
# perf stat counts the server's task clock exactly (the /proc ticks are
# 10 ms apart); it may be missing or not allowed.
PERF=
if command -v perf >/dev/null &&
	perf stat -x, -e task-clock -p "$SPID" -- sleep 0.1 >/dev/null 2>&1; then
	PERF=1
fi
# run NAME URL [LUA] [CONNECTIONS]: wrk with latency percentiles; sets
# RATE, P50/P90/P99 and CPU (the server's CPU microseconds per request)
run() {
	local name=$1 url=$2 lua=${3-} conns=${4:-$CONNS}
	local args=(-t "$WT" -c "$conns" -d "${SECS}s" --latency)
	[ -n "$lua" ] && args+=(-s "$lua")
	local f="$W/out.$RANDOM" c0 c1 n ppid=
	if [ -n "$PERF" ]; then
		perf stat -x, -e task-clock -p "$SPID" -o "$f.perf" &
		ppid=$!
		sleep 0.2 # attached before the first request
	fi
	c0=$(cpu_ticks)
	wrk "${args[@]}" "$url" >"$f"
	c1=$(cpu_ticks)
	if [ -n "$ppid" ]; then
		kill -INT "$ppid"
		wait "$ppid" || true
	fi
	n=$(awk '/requests in/ {print $1}' "$f")
	# the server's CPU time per request (user + system): steadier than
	# rates on a machine that other work shares
	if [ -n "$ppid" ] && [ -s "$f.perf" ]; then
		CPU=$(awk -F, -v n="$n" '$3 == "task-clock" {
			if (n > 0) printf "%.1f", $1 * 1000 / n; else print 0}' "$f.perf")
	else
		CPU=$(awk -v a="$c0" -v b="$c1" -v n="$n" -v hz="$(getconf CLK_TCK)" \
			'BEGIN {if (n > 0) printf "%.1f", (b - a) * 1e6 / hz / n; else print 0}')
	fi
	RATE=$(awk '/^Requests\/sec:/ {print $2}' "$f")
	P50=$(awk '$1 == "50%" {print $2}' "$f")
	P90=$(awk '$1 == "90%" {print $2}' "$f")
	P99=$(awk '$1 == "99%" {print $2}' "$f")
	NON2XX=$(awk '/Non-2xx/ {print $NF}' "$f")
	ERRS=$(awk '/Socket errors/ {print $0}' "$f")
	printf '%-22s %10s req/s  p50 %-9s p90 %-9s p99 %-9s cpu %6s us/req  non-2xx %s %s\n' \
		"$name" "$RATE" "$P50" "$P90" "$P99" "$CPU" "${NON2XX:-0}" "$ERRS"
}
echo "== bench_server: $WT wrk threads, $CONNS connections, ${SECS}s each; server threads = cores ($(nproc)); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   server CPU per request from $([ -n "$PERF" ] && echo "perf stat task-clock" || echo "/proc ticks")"
# The static route and GET subject alternately: their CPU per request and
# rate ratios, each pair's and the medians.
GETCPUS=
RATIOS=
for k in $(seq 1 "$PAIRS"); do
	run "static GET /healthz" "$U/healthz"
	BASE=$RATE
	BASECPU=$CPU
	run "GET subject" "$U/v1/subjects/$ID" "$W/get.lua"
	GET=$RATE
	GETCPU=$CPU
	PEAK=$(awk -v a="${PEAK:-0}" -v b="$GET" 'BEGIN {print (b > a ? b : a)}')
	r=$(awk -v b="$BASECPU" -v g="$GETCPU" 'BEGIN {if (g > 0) printf "%.3f", b / g; else print 0}')
	RATIOS="$RATIOS $r"
	GETCPUS="$GETCPUS $GETCPU"
	echo "   pair $k: CPU per request static $BASECPU us, GET subject $GETCPU us: ratio $r"
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
CPURATIO=$(echo "$RATIOS" | median)
run "POST lookup" "$U/v1/lookup" "$W/lookup.lua"
LOOK=$RATE
run "POST subject" "$U/v1/subjects" "$W/post.lua"
POST=$RATE
# GET subject at about half of its peak rate (the highest of the pairs):
# each of the connections waits between its requests so that together they
# ask half the peak. The delay is in whole milliseconds, so it alternates
# between the two nearest to keep the mean; a request's own time comes on
# top of it, so a second run takes off what the first one lost that way.
HALF=$(awk -v p="$PEAK" 'BEGIN {printf "%.0f", p / 2}')
MEANMS=$(awk -v c="$CONNS" -v h="$HALF" 'BEGIN {printf "%.3f", c * 1000 / h}')
half_lua() {
	cat >"$W/half.lua" <<LUA
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer $TOK"
wrk.headers["Rekisteri-Purpose"] = "customer_relationship"
local mean = $1
local lo = math.floor(mean)
local frac = mean - lo
delay = function()
	if math.random() < frac then return lo + 1 end
	return lo
end
LUA
}
half_lua "$MEANMS"
run "GET subject at ~$HALF/s" "$U/v1/subjects/$ID" "$W/half.lua"
MEANMS=$(awk -v c="$CONNS" -v h="$HALF" -v r="$RATE" -v m="$MEANMS" 'BEGIN {
	if (r <= 0) { print m; exit }
	x = m - (c * 1000 / r - m)
	printf "%.3f", (x > 0 ? x : 0) }')
half_lua "$MEANMS"
run "GET subject at ~$HALF/s" "$U/v1/subjects/$ID" "$W/half.lua"
HALFRATE=$RATE
HALFP99=$P99
awk -v b="$BASE" -v g="$GET" -v l="$LOOK" -v p="$POST" -v cr="$CPURATIO" -v n="$PAIRS" 'BEGIN {
	printf "ratio GET subject / static:  %.3f (rates, last pair)\n", g / b
	printf "ratio by CPU per request (static / GET subject): %.3f median of %d pairs (goal >= 0.3)\n", cr, n
	printf "ratio POST lookup / static:  %.3f\n", l / b
	printf "ratio POST subject / static: %.3f\n", p / b
}'
# p99 in ms from wrk's figure ("812.00us", "3.21ms", "1.02s")
p99ms=$(echo "$HALFP99" | awk '/us$/ {sub("us", ""); print $0 / 1000; next}
	/ms$/ {sub("ms", ""); print $0 + 0; next} /s$/ {sub("s", ""); print $0 * 1000; next} {print "nan"}')
awk -v pk="$PEAK" -v h="$HALFRATE" -v p="$p99ms" 'BEGIN {
	printf "GET subject at half of peak: peak %.0f/s, asked %.0f/s, reached %.0f/s (%.0f%% of peak); p99 %.2f ms (goal < 10 ms: %s)\n",
		pk, pk / 2, h, 100 * h / pk, p, (p < 10 ? "meets" : "above")
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
