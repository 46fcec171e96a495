#!/usr/bin/env bash
# soak_server.sh: the HTTP API under wrk for BENCH_SECONDS (default 60) with
# mixed reads and writes (GET subject, POST lookup, POST subject, PATCH
# subject, in turn), then checks that:
#   - no request failed (every answer 2xx, counted in wrk's response hook;
#     no socket error or timeout),
#   - the subjects in the register are the 201s the server answered to
#     POST /v1/subjects (its metrics; nothing lost, nothing created twice)
#     plus at most the requests whose client left before reading the
#     answer (wrk stops at its deadline with requests in flight), and the
#     clients saw every 201 the server answered,
#   - `rekisteri audit verify` passes after the server stopped,
#   - the server's memory is stable: VmRSS after a warm-up and at the end
#     (printed, with samples between); the end may exceed the start by at
#     most SOAK_RSS_SLACK_MB (default 64: SQLite's page caches, 32 MiB per
#     handle, fill as the register grows).
# Exits 0 when all hold, 1 otherwise. Prints the rates and percentiles.
#
# usage: REKISTERI_BIN=build/rekisteri bash bench/soak_server.sh
# BENCH_SECONDS (60), BENCH_CONNECTIONS (16), BENCH_THREADS (2),
# SOAK_WARMUP (5 seconds), SOAK_SEED (200 subjects), BENCH_SERVE_ARGS.
set -euo pipefail
BIN=${REKISTERI_BIN:-build/rekisteri}
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECS=${BENCH_SECONDS:-60}
CONNS=${BENCH_CONNECTIONS:-16}
WT=${BENCH_THREADS:-2}
WARM=${SOAK_WARMUP:-5}
SEED=${SOAK_SEED:-200}
SLACK=${SOAK_RSS_SLACK_MB:-64}
command -v wrk >/dev/null || { echo "soak_server: wrk is needed (apt-get install wrk)"; exit 1; }
command -v curl >/dev/null || { echo "soak_server: curl is needed"; exit 1; }
command -v jq >/dev/null || { echo "soak_server: jq is needed"; exit 1; }
W=$(mktemp -d)
SPID=
cleanup() {
	if [ -n "$SPID" ]; then
		kill -TERM "$SPID" 2>/dev/null || true
		wait "$SPID" 2>/dev/null || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT
export REKISTERI_DB=$W/r.db
unset REKISTERI_KEY_FILE REKISTERI_ACTOR REKISTERI_TOKEN
"$BIN" init --policy "$SRC/policies/ocr-factory.json" >/dev/null
TOK="soak:$("$BIN" actor add soak --role customer_service)"
# shellcheck disable=SC2086
"$BIN" serve --listen 127.0.0.1:0 --port-file "$W/port" --no-access-log \
	${BENCH_SERVE_ARGS:-} 2>"$W/server.log" &
SPID=$!
for _ in $(seq 1 200); do
	[ -s "$W/port" ] && curl -sf "http://127.0.0.1:$(cat "$W/port")/readyz" >/dev/null && break
	sleep 0.05
done
U="http://127.0.0.1:$(cat "$W/port")"
H=(-H "Authorization: Bearer $TOK" -H "Rekisteri-Purpose: customer_relationship" -H "Content-Type: application/json")
for i in $(seq 1 "$SEED"); do
	curl -s "${H[@]}" -X POST --data-binary \
		"{\"kind\":\"customer\",\"fields\":{\"first_name\":\"Soak\",\"last_name\":\"Test$i\",\"email\":\"s$i@example.fi\"}}" \
		"$U/v1/subjects"
	echo
done | jq -r .id >"$W/ids"
[ "$(grep -c . "$W/ids")" -eq "$SEED" ] || { echo "soak_server: seeding failed"; exit 1; }

# The mix, one request of each kind in turn; every answer is counted by
# status in the response hook, per thread, and summed in done().
{
	echo "local ids = {"
	sed 's/.*/"&",/' "$W/ids"
	echo "}"
	cat <<LUA
local tok = "$TOK"
-- globals, so that thread:get and thread:set reach them
local threads = {}
local nthreads = 0
tid = 0
setup = function(thread)
	nthreads = nthreads + 1
	thread:set("tid", nthreads)
	table.insert(threads, thread)
end
local n = 0
ok, bad, created = 0, 0, 0
local hdr = {["Authorization"] = "Bearer " .. tok,
	["Rekisteri-Purpose"] = "customer_relationship",
	["Content-Type"] = "application/json"}
request = function()
	n = n + 1
	local k = n % 4
	local id = ids[math.random(#ids)]
	if k == 0 then
		return wrk.format("GET", "/v1/subjects/" .. id, hdr)
	elseif k == 1 then
		return wrk.format("POST", "/v1/lookup", hdr,
			'{"by":"email","value":"s' .. math.random(#ids) .. '@example.fi"}')
	elseif k == 2 then
		return wrk.format("POST", "/v1/subjects", hdr,
			'{"kind":"prospect","fields":{"email":"k' .. tostring(tid) .. '-' .. n .. '@example.fi"}}')
	end
	return wrk.format("PATCH", "/v1/subjects/" .. id, hdr,
		'{"fields":{"last_name":"Muutettu' .. n .. '"}}')
end
response = function(status, headers, body)
	if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
	if status == 201 then created = created + 1 end
end
done = function(summary, latency, requests)
	local o, b, c = 0, 0, 0
	for _, t in ipairs(threads) do
		o = o + t:get("ok"); b = b + t:get("bad"); c = c + t:get("created")
	end
	local e = summary.errors
	io.write(string.format("SOAK ok=%d non2xx=%d created=%d sockerr=%d\n", o, b, c,
		e.connect + e.read + e.write + e.timeout))
	for _, p in ipairs({50, 90, 99, 99.9}) do
		io.write(string.format("SOAK p%s %.2fms\n", p, latency:percentile(p) / 1000))
	end
end
LUA
} >"$W/mix.lua"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status"; }
# wrk NAME SECONDS: sets OK BAD CREATED SOCKERR, prints the summary
soak() {
	local f="$W/out.$1"
	wrk -t "$WT" -c "$CONNS" -d "${2}s" --latency -s "$W/mix.lua" "$U" >"$f"
	OK=$(awk '/^SOAK ok=/ {sub("ok=", "", $2); print $2}' "$f")
	BAD=$(awk '/^SOAK ok=/ {sub("non2xx=", "", $3); print $3}' "$f")
	CREATED=$(awk '/^SOAK ok=/ {sub("created=", "", $4); print $4}' "$f")
	SOCKERR=$(awk '/^SOAK ok=/ {sub("sockerr=", "", $5); print $5}' "$f")
	printf '%-8s %6ss  %10s req/s  ok %s  non-2xx %s  created %s  socket errors %s  %s\n' \
		"$1" "$2" "$(awk '/^Requests\/sec:/ {print $2}' "$f")" "$OK" "$BAD" "$CREATED" "$SOCKERR" \
		"$(awk '/^SOAK p/ {printf "%s %s  ", $2, $3}' "$f")"
}
echo "== soak_server: $WT wrk threads, $CONNS connections, warm-up ${WARM}s, run ${SECS}s; mix GET subject / POST lookup / POST subject / PATCH subject"
soak warm-up "$WARM"
TOTAL_CREATED=$CREATED
FAILS=$((BAD + SOCKERR))
RSS0=$(rss_kb)
# RSS samples while the run goes on (every tenth of it)
(
	step=$(((SECS + 9) / 10))
	for _ in $(seq 1 10); do
		sleep "$step"
		kill -0 "$SPID" 2>/dev/null || break
		printf '%s ' "$(awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status" 2>/dev/null)"
	done
) >"$W/rss" &
RSP=$!
soak run "$SECS"
RSS1=$(rss_kb)
kill "$RSP" 2>/dev/null || true
wait "$RSP" 2>/dev/null || true
TOTAL_CREATED=$((TOTAL_CREATED + CREATED))
FAILS=$((FAILS + BAD + SOCKERR))
echo "rss after warm-up ${RSS0} kB, at the end ${RSS1} kB (samples: $(cat "$W/rss"))"
# The server's own counts for POST /v1/subjects (the seeds too): 201s, and
# 499s, requests whose client left before the answer (wrk stops at its
# deadline without reading the answers in flight; such a subject was
# created all the same). The clients saw the 201s but those in flight.
metric() {
	curl -s "$U/metrics" | awk -v s="$1" '
		index($0, "rekisteri_http_requests_total{method=\"POST\",route=\"/v1/subjects\",status=\"" s "\"}") == 1 {print $2}'
}
# Requests still in flight when wrk returned finish first: the counts are
# read once two readings a moment apart agree.
prev=
for _ in $(seq 1 100); do
	cur="$(metric 201) $(metric 499)"
	[ "$cur" = "$prev" ] && break
	prev=$cur
	sleep 0.2
done
SERVER_CREATED=$(metric 201)
SERVER_GONE=$(metric 499)
SERVER_CREATED=${SERVER_CREATED:-0}
SERVER_GONE=${SERVER_GONE:-0}
kill -TERM "$SPID"
wait "$SPID"
SPID=
N=$(sqlite3 -cmd ".timeout 10000" "$REKISTERI_DB" "SELECT count(*) FROM subject")
echo "subjects: $N in the register; the server answered $SERVER_CREATED x 201 ($SEED of them seeds) and $SERVER_GONE to clients gone at wrk's deadlines; the clients saw $TOTAL_CREATED x 201"
rc=0
[ "$FAILS" -eq 0 ] || { echo "FAIL: $FAILS requests failed"; rc=1; }
if [ "$N" -lt "$SERVER_CREATED" ] || [ "$N" -gt $((SERVER_CREATED + SERVER_GONE)) ] ||
	[ "$SERVER_GONE" -gt $((2 * CONNS)) ]; then
	echo "FAIL: subjects in the register and 201s answered differ"
	rc=1
fi
if [ "$TOTAL_CREATED" -gt $((SERVER_CREATED - SEED)) ] ||
	[ "$TOTAL_CREATED" -lt $((SERVER_CREATED - SEED - 2 * CONNS)) ]; then
	echo "FAIL: the clients saw $TOTAL_CREATED x 201, the server answered $((SERVER_CREATED - SEED))"
	rc=1
fi
if "$BIN" audit verify >/dev/null 2>"$W/verify.err"; then
	echo "audit verify after the run: intact"
else
	echo "FAIL: audit verify: $(cat "$W/verify.err")"
	rc=1
fi
if [ $((RSS1 - RSS0)) -gt $((SLACK * 1024)) ]; then
	echo "FAIL: RSS grew by $(((RSS1 - RSS0) / 1024)) MiB (more than ${SLACK} MiB)"
	rc=1
fi
[ "$rc" -eq 0 ] && echo "soak: 0 errors, counts match, audit intact, memory stable"
exit "$rc"
