# Shared by the server benchmarks (bench/bench_server.sh,
# bench/bench_long_reader.sh), which source it: the server started on a
# free port and the wrk script of POST /v1/subjects.

# bench_serve DIR: `rekisteri serve` on the register $REKISTERI_DB with
# $BENCH_SERVE_ARGS, its log in DIR/server.log, once it is ready; sets
# SPID (its process) and U (its base URL).
bench_serve() {
	rm -f "$1/port"
	# shellcheck disable=SC2086
	"$BIN" serve --listen 127.0.0.1:0 --port-file "$1/port" --no-access-log ${BENCH_SERVE_ARGS:-} 2>"$1/server.log" &
	SPID=$!
	for _ in $(seq 1 200); do
		[ -s "$1/port" ] && curl -sf "http://127.0.0.1:$(cat "$1/port")/readyz" >/dev/null && break
		sleep 0.05
	done
	U="http://127.0.0.1:$(cat "$1/port")"
}

# bench_post_lua FILE TOKEN: a wrk script that creates a new prospect per
# request (an e-mail address of its own per thread and request)
bench_post_lua() {
	cat >"$1" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $2"
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
}
