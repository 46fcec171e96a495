#!/usr/bin/env bash
# End-to-end: the server's guards around the API: /metrics open to loopback
# clients only by default, behind its own bearer token with
# --metrics-token-file; --allowed-host answers 421 to requests for other
# host names (a page whose DNS name was rebound to the server's address);
# --trusted-proxy: the failed-authentication limit per client behind a proxy.
. "$(dirname "$0")/e2e-common.sh"

command -v curl >/dev/null || { echo "curl is needed"; exit 1; }
# start [OPTIONS...]: the script's server (e2e_serve), asked for its
# readiness as localhost (allowed by every --allowed-host below); sets
# $PORT and $U
E2E_READY_CURL=(-H "Host: localhost")
start() { e2e_serve "$@" && PORT=$P; }
# code NAME WANT PATH [curl args...]
code() {
	local name=$1 want=$2 path=$3
	shift 3
	local c
	c=$(curl -s -o "$WORK/body" -w '%{http_code}' "$@" "$U$path")
	if [ "$c" = "$want" ]; then ok "$name"; else bad "$name (status $c, wanted $want: $(cat "$WORK/body"))"; fi
}

check "init" 0 "$BIN" init --policy "$POLICY"

# --- the defaults: /metrics for loopback clients, any Host
e2e_must "the server starts" start
code "metrics answer a loopback client without a token" 200 /metrics
expect "in the Prometheus format" grep -q '^# TYPE rekisteri_http_requests_total' "$WORK/body"
code "any Host is served without --allowed-host" 200 /healthz -H "Host: evil.example"
e2e_serve_stop

# --- a metrics token
printf 'too-short\n' >"$WORK/short"
check "a metrics token under 16 characters is refused" 2 "$BIN" serve \
	--listen 127.0.0.1:0 --metrics-token-file "$WORK/short"
check "a missing metrics token file is refused" 2 "$BIN" serve \
	--listen 127.0.0.1:0 --metrics-token-file "$WORK/none"
MT=metrics-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$MT" >"$WORK/mtoken"
e2e_must "the server starts with a metrics token" start --metrics-token-file "$WORK/mtoken"
code "metrics without the token are 401" 401 /metrics
expect "an error body, not metrics" grep -q '"unauthorized"' "$WORK/body"
code "metrics with a wrong token are 401" 401 /metrics -H "Authorization: Bearer ${MT}x"
code "metrics with a token of the same length but wrong are 401" 401 /metrics -H "Authorization: Bearer ${MT%?}y"
code "metrics with the token are 200" 200 /metrics -H "Authorization: Bearer $MT"
expect "the metrics themselves" grep -q '^rekisteri_http_requests_total' "$WORK/body"
code "health needs no token" 200 /healthz
e2e_serve_stop
expect "the metrics token is not in the server's log" sh -c '! grep -q "$1" "$2"' _ "$MT" "$WORK/server.log"

# --- allowed hosts
check "an empty --allowed-host is refused" 2 "$BIN" serve --listen 127.0.0.1:0 --allowed-host ""
e2e_must "the server starts with --allowed-host" start --allowed-host localhost --allowed-host ::1
code "an allowed Host with its port" 200 /healthz -H "Host: localhost:$PORT"
code "an allowed Host without a port" 200 /healthz -H "Host: LOCALHOST"
code "an IPv6 Host given without brackets" 200 /healthz -H "Host: [::1]:$PORT"
code "another Host is 421" 421 /healthz -H "Host: rebound.example:$PORT"
expect "with the JSON error" grep -q '"misdirected_request"' "$WORK/body"
code "the console for another Host is 421" 421 /console -H "Host: rebound.example"
code "a prefix of an allowed name is not it" 421 /healthz -H "Host: localhost.example"
code "the address itself is not an allowed name" 421 /healthz
code "a Host with a broken IPv6 form is 421" 421 /healthz -H "Host: [::1"
e2e_serve_stop
# --- behind a reverse proxy: the failed-authentication limit counts the
# client X-Forwarded-For names when the peer is a --trusted-proxy, and only
# then; what the client itself wrote left of the proxy's entry is not believed
check "a --trusted-proxy that is no address is refused" 2 "$BIN" serve \
	--listen 127.0.0.1:0 --trusted-proxy proxy.example
check "a --trusted-proxy with a port is refused" 2 "$BIN" serve \
	--listen 127.0.0.1:0 --trusted-proxy 127.0.0.1:80
BADTOK="Authorization: Bearer not-a-token"
e2e_must "the server starts with --trusted-proxy" start --auth-fails 3 --trusted-proxy 127.0.0.1
for n in 1 2 3; do
	code "client A's bad token $n is 401" 401 /v1/whoami -H "$BADTOK" -H "X-Forwarded-For: 203.0.113.7"
done
code "client A is then rate limited" 429 /v1/whoami -H "$BADTOK" -H "X-Forwarded-For: 203.0.113.7"
code "client B behind the same proxy is not" 401 /v1/whoami -H "$BADTOK" -H "X-Forwarded-For: 203.0.113.8"
code "nor is the proxy's own address" 401 /v1/whoami -H "$BADTOK"
code "a forged entry left of the proxy's does not free client A" 429 /v1/whoami -H "$BADTOK" \
	-H "X-Forwarded-For: 203.0.113.99, 203.0.113.7"
code "nor does a forged header before the proxy's own" 429 /v1/whoami -H "$BADTOK" \
	-H "X-Forwarded-For: 203.0.113.99" -H "X-Forwarded-For: 203.0.113.7"
code "client A written another way (IPv4 in IPv6) is client A" 429 /v1/whoami -H "$BADTOK" \
	-H "X-Forwarded-For: 203.0.113.8, ::ffff:203.0.113.7"
code "/metrics is refused to a client behind the proxy" 403 /metrics -H "X-Forwarded-For: 198.51.100.4"
code "and answers the proxy's own host" 200 /metrics
e2e_serve_stop
e2e_must "the server starts without --trusted-proxy" start --auth-fails 3
for n in 1 2 3; do
	code "without --trusted-proxy, bad token $n is 401" 401 /v1/whoami -H "$BADTOK" -H "X-Forwarded-For: 203.0.113.$n"
done
code "and X-Forwarded-For is not believed: the peer is limited" 429 /v1/whoami -H "$BADTOK" -H "X-Forwarded-For: 203.0.113.50"
code "nor does it open /metrics' loopback rule to a client it names" 200 /metrics -H "X-Forwarded-For: 198.51.100.4"
e2e_serve_stop

check "audit verify after everything" 0 "$BIN" audit verify
e2e_finish
