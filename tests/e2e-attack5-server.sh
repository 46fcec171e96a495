# Shared by the tests/e2e_attack5_*.sh scripts (and tests/pending/e2e_attack5_*):
# starting `rekisteri serve` on a free port and calling it with curl.
# Sourced after e2e-common.sh.
command -v curl >/dev/null || { echo "curl is needed"; exit 1; }
command -v jq >/dev/null || { echo "jq is needed"; exit 1; }

SPID=
e2e_stop() {
	if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
		kill -TERM "$SPID" 2>/dev/null
		wait "$SPID" 2>/dev/null
	fi
	SPID=
}
# start [ARGS...]: a server on a free port with the source tree's web files
# (or those of $WEBDIR), its log in $WORK/server.log; sets $U
start() {
	rm -f "$WORK/port"
	"$BIN" serve --listen 127.0.0.1:0 --port-file "$WORK/port" --threads 2 \
		--grace 5 --web-dir "${WEBDIR:-$SRC/web}" "$@" 2>>"$WORK/server.log" &
	SPID=$!
	local i
	for i in $(seq 1 200); do
		if [ -s "$WORK/port" ]; then
			U="http://127.0.0.1:$(cat "$WORK/port")"
			curl -s -o /dev/null -w '%{http_code}' "$U/readyz" | grep -q 200 && return 0
		fi
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}
# req NAME WANT METHOD PATH [TOKEN] [BODY] [PURPOSE]: the answer's body in
# $body, its headers in $WORK/hdr
req() {
	local name=$1 want=$2 method=$3 path=$4 tok=${5-} data=${6-}
	local args=(-s -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' -X "$method"
		-H "Rekisteri-Purpose: ${7:-customer_relationship}")
	[ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
	[ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
	code=$(curl "${args[@]}" "$U$path")
	body=$(cat "$WORK/body")
	if [ "$code" = "$want" ]; then ok "$name"; else bad "$name (status $code, wanted $want: $(head -c 300 "$WORK/body"))"; fi
}
hdr() { grep -i "^$1:" "$WORK/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
# jqx FILTER...: jq -e on standard input, quiet (for expect, whose own
# output must not be redirected)
jqx() { jq -e "$@" >/dev/null; }
