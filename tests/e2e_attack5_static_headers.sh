#!/usr/bin/env bash
# Attacks on the static files and the answers' headers that hold today:
# traversal in every spelling (encoded, double-encoded, overlong UTF-8,
# backslashes, NUL, doubled slashes), links, directories and hidden files
# planted in the web directory, no listing, the media types; every answer
# the server itself makes (pages, assets, JSON, errors, 405, 401, 410,
# 413, 415, 429) carries the CSP, X-Frame-Options, nosniff and
# Referrer-Policy, and data answers are not cached; no CORS is granted to a
# foreign origin.
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

check "init" 0 "$BIN" init --policy "$POLICY"
TOK_DPO=$("$BIN" actor add dpo1 --role dpo) || bad "actor add dpo1"
printf 'OUTSIDE-THE-WEB-DIR\n' >"$WORK/outside.js"
WEBDIR="$WORK/web"
mkdir -p "$WEBDIR/sub.js"
cp "$SRC"/web/* "$WEBDIR/"
printf 'PLANTED\n' >"$WEBDIR/sub.js/x.js"
printf 'HIDDEN\n' >"$WEBDIR/.hidden.js"
ln -s "$WORK/outside.js" "$WEBDIR/evil.js"
ln -s "$WORK/outside.js" "$WEBDIR/evil2.css"
ln -s /etc "$WEBDIR/etc"
mv "$WEBDIR/me.html" "$WEBDIR/me-real.html"
ln -s "$WEBDIR/me-real.html" "$WEBDIR/me.html"
e2e_must "the server starts" start --max-body 4096 --auth-fails 3

# ---- paths ----
for p in /assets/evil.js /assets/evil2.css /assets/sub.js /assets/sub.js/x.js /assets/.hidden.js \
	/me /me/ /assets/etc/passwd /assets/..%2foutside.js /assets/%2e%2e%2fconsole.html \
	'/assets/..%5cconsole.html' '/assets/..\console.html' /assets/%252e%252e%252fconsole.html \
	/assets/%c0%ae%c0%ae%c0%afconsole.html /assets/%ef%bc%8e%ef%bc%8e%ef%bc%8fconsole.html \
	/assets//style.css /assets/./style.css /assets/style.css/ /assets/style.css%2f \
	'/assets/style.css;x.js' /assets/ /assets /ASSETS/style.css /Console /console/. /console/.. \
	/console.html /me.html /web/console.html /assets/console.html /assets/texts.js.map \
	/v1/../console /v1/self/../../console.html /assets/%2e%2e/%2e%2e/etc/passwd /..%2f..%2fetc%2fpasswd \
	'/assets/x.js%0d%0aX-Injected:%201'; do
	code=$(curl -s --path-as-is -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' "$U$p")
	if [ "$code" = 404 ] || [ "$code" = 400 ]; then ok "refused: $p ($code)"; else bad "refused: $p (status $code)"; fi
	expect "nothing from outside or planted: $p" bash -c "! grep -qE 'OUTSIDE-THE-WEB-DIR|PLANTED|HIDDEN|root:' '$WORK/body'"
	expect "no injected header: $p" bash -c "! grep -qi '^X-Injected' '$WORK/hdr'"
done
# a NUL ends the name: what is served is the file before it, with its own type
code=$(curl -s -o /dev/null -D "$WORK/hdr" -w '%{http_code}' "$U/assets/style.css%00.js")
expect "a NUL does not change the media type ($code)" bash -c "[ $code = 404 ] || grep -qi '^content-type: text/css' '$WORK/hdr'"
code=$(curl -s -o /dev/null -w '%{http_code}' "$U/console/")
expect "/console/ is the console ($code)" test "$code" = 200
curl -s --path-as-is -o "$WORK/body" "$U/assets/style.css%00/../../etc/passwd"
expect "a NUL before ../ serves at most the asset before it" bash -c "! grep -q 'root:' '$WORK/body'"

# ---- media types ----
for f in console.js me.js common.js report.js texts.js; do
	req "asset $f" 200 GET "/assets/$f"
	expect "$f is JavaScript" test "$(hdr Content-Type)" = "text/javascript; charset=utf-8"
done
req "asset style.css" 200 GET /assets/style.css
expect "CSS" test "$(hdr Content-Type)" = "text/css; charset=utf-8"

# ---- the headers of every kind of answer ----
headers() { # headers NAME CACHE: the four security headers and Cache-Control
	local csp
	csp=$(hdr Content-Security-Policy)
	expect "$1: CSP forbids inline script and framing" bash -c "grep -q \"default-src 'none'\" <<<\"\$0\" && grep -q \"script-src 'self'\" <<<\"\$0\" && grep -q \"frame-ancestors 'none'\" <<<\"\$0\" && ! grep -q unsafe <<<\"\$0\"" "$csp"
	expect "$1: X-Frame-Options DENY" test "$(hdr X-Frame-Options)" = DENY
	expect "$1: nosniff" test "$(hdr X-Content-Type-Options)" = nosniff
	expect "$1: no referrer" test "$(hdr Referrer-Policy)" = no-referrer
	expect "$1: Cache-Control $2" test "$(hdr Cache-Control)" = "$2"
	expect "$1: no CORS" bash -c "! grep -qi '^access-control-' '$WORK/hdr'"
}
ORIGIN=(-H 'Origin: https://evil.example')
one() { # one NAME WANT CACHE CURL-ARGS...
	local name=$1 want=$2 cache=$3
	shift 3
	code=$(curl -s -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' "${ORIGIN[@]}" "$@")
	if [ "$code" = "$want" ]; then ok "$name ($code)"; else bad "$name (status $code, wanted $want)"; fi
	headers "$name" "$cache"
}
one "the console page" 200 no-cache "$U/console"
one "the console page again" 200 no-cache "$U/console/"
one "an asset" 200 no-cache "$U/assets/me.js"
one "a static 404" 404 no-store "$U/assets/nothing.js"
one "an API 404" 404 no-store "$U/v1/nothing"
one "a static 405" 405 no-store -X POST "$U/console"
one "an API 405" 405 no-store -X PUT "$U/v1/whoami"
one "a preflight" 405 no-store -X OPTIONS -H 'Access-Control-Request-Method: POST' "$U/v1/self/session"
one "whoami" 200 no-store -H "Authorization: Bearer $TOK_DPO" "$U/v1/whoami"
one "415" 415 no-store -X POST -H 'Content-Type: text/plain' --data-binary '{}' "$U/v1/self/session"
one "413" 413 no-store -X POST -H 'Content-Type: application/json' --data-binary "{\"secret\":\"$(head -c 8000 /dev/zero | tr '\0' A)\"}" "$U/v1/self/session"
one "400" 400 no-store -X POST -H 'Content-Type: application/json' --data-binary '{"secret":' "$U/v1/self/session"
one "410" 410 no-store -X POST -H 'Content-Type: application/json' --data-binary '{"secret":"x"}' "$U/v1/self/session"
one "401" 401 no-store "$U/v1/self"
one "401 again" 401 no-store -H 'Authorization: Bearer nope' "$U/v1/self"
one "401 a third time" 401 no-store -H 'Authorization: Bearer nope2' "$U/v1/self"
one "429" 429 no-store -H 'Authorization: Bearer nope' "$U/v1/self"
expect "429 says when to come back" test -n "$(hdr Retry-After)"
one "the static pages are not rate-limited" 200 no-cache "$U/console"
one "healthz" 200 no-store "$U/healthz"
one "openapi" 200 no-store "$U/v1/openapi.json"

# ---- the pages themselves ----
for f in console.html me.html; do
	expect "$f: no inline script, style or handler" bash -c "! grep -qiE '<script>|<script [^>]*>[^<]|<style|[[:space:]]style=|[[:space:]]on[a-z]+=|javascript:' '$SRC/web/$f'"
	expect "$f: no external origin" bash -c "! grep -qiE '(src|href)=\"(https?:)?//' '$SRC/web/$f'"
done
expect "the scripts build no markup from strings" bash -c "! grep -nE 'innerHTML|outerHTML|insertAdjacentHTML|document\\.write|srcdoc|eval\\(|new Function|setTimeout\\(\"' '$SRC'/web/*.js"
expect "the scripts put no token in a URL" bash -c "! grep -nE '[?&](token|secret)=' '$SRC'/web/*.js"
expect "the scripts keep tokens in sessionStorage only" bash -c "! grep -nE 'localStorage\\.setItem\\((TOKEN_KEY|KEY)' '$SRC'/web/*.js"

e2e_serve_stop
expect "the server log names no token" bash -c "! grep -qF -- '$TOK_DPO' '$WORK/server.log'"
e2e_finish
