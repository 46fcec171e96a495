#!/usr/bin/env bash
# End-to-end: SIGHUP reloads the server's TLS certificate and key. The
# server starts with certificate A; the files are replaced with B and the
# server gets SIGHUP: a new connection sees B's fingerprint, and the
# server still answers. A broken certificate on the next SIGHUP leaves B
# serving, and the log says why.
. "$(dirname "$0")/e2e-common.sh"

if ! command -v openssl >/dev/null || ! command -v curl >/dev/null; then
	echo "openssl and curl are needed: skipped"
	e2e_finish
	exit 0
fi
mkcert() { # mkcert NAME: $WORK/NAME.crt and $WORK/NAME.key
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$WORK/$1.key" -out "$WORK/$1.crt" -days 1 -subj "/CN=$1" 2>/dev/null
}
fp_file() { openssl x509 -noout -fingerprint -sha256 -in "$1" | cut -d= -f2; }
# the fingerprint the server presents to a new connection
fp_live() {
	openssl s_client -connect "127.0.0.1:$P" -servername localhost </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}
mkcert a && mkcert b || { bad "openssl makes test certificates"; e2e_finish; exit 1; }
cp "$WORK/a.crt" "$WORK/tls.crt"
cp "$WORK/a.key" "$WORK/tls.key"
check "init" 0 "$BIN" init --policy "$POLICY"
e2e_serve --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key"
code=$(curl -sk -o /dev/null -w '%{http_code}' "$U/readyz")
expect "ready over HTTPS ($code)" test "$code" = 200
A=$(fp_file "$WORK/a.crt")
B=$(fp_file "$WORK/b.crt")
expect "the two certificates differ" test -n "$A" -a "$A" != "$B"
live=$(fp_live)
expect "certificate A is served at start" test "$live" = "$A"

cp "$WORK/b.crt" "$WORK/tls.crt"
cp "$WORK/b.key" "$WORK/tls.key"
kill -HUP "$SPID"
for _ in $(seq 1 100); do
	live=$(fp_live)
	[ "$live" = "$B" ] && break
	sleep 0.05
done
expect "after SIGHUP a new connection sees certificate B" test "$live" = "$B"
code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$P/readyz")
expect "the server answers after the reload ($code)" test "$code" = 200
expect "the reload is logged" grep -q "TLS certificate reloaded" "$WORK/server.log"

# a broken certificate: B stays
printf 'not a certificate\n' >"$WORK/tls.crt"
kill -HUP "$SPID"
for _ in $(seq 1 100); do
	grep -q "does not load" "$WORK/server.log" && break
	sleep 0.05
done
expect "a certificate that does not load is logged as an error" \
	grep -q '"level":"error".*does not load' "$WORK/server.log"
live=$(fp_live)
expect "the old certificate B still serves" test "$live" = "$B"
code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$P/readyz")
expect "and the server answers ($code)" test "$code" = 200
# a key that does not belong to the certificate: refused as well
cp "$WORK/a.crt" "$WORK/tls.crt"
cp "$WORK/b.key" "$WORK/tls.key"
n=$(grep -c "does not load" "$WORK/server.log")
kill -HUP "$SPID"
for _ in $(seq 1 100); do
	[ "$(grep -c "does not load" "$WORK/server.log")" -gt "$n" ] && break
	sleep 0.05
done
live=$(fp_live)
expect "a mismatched key is refused and B still serves" test "$live" = "$B"
kill -TERM "$SPID"
wait "$SPID"
rc=$?
SPID=
expect "stops cleanly after reloads (exit $rc)" test "$rc" = 0
e2e_finish
