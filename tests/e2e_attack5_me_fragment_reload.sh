#!/usr/bin/env bash
# Attack (pending, low): any fragment is taken for a link secret. /me reads
# location.hash as the secret whenever it is there, and its own "Skip to
# content" link (href="#main") puts "#main" in the address; a reload then
# posts "main" to /v1/self/session (a failed authentication counted
# against the person's address), shows "the link was used already" and
# leaves the live session token in sessionStorage, unused and not ended.
# The page should take a fragment only of a secret's form and prefer a
# stored session.
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"
. "$(dirname "$0")/browser-setup.sh"

BUILD=$(cd "$(dirname "$BIN")" && pwd)
check "init" 0 "$BIN" init --policy "$POLICY"
TOK_DPO=$("$BIN" actor add dpo1 --role dpo) || bad "actor add dpo1"
if ! command -v node >/dev/null || ! command -v npm >/dev/null || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
	bad "this test needs node, npm and chromium"
	e2e_finish
	exit 1
fi
if ! start; then
	bad "the server starts"
	cat "$WORK/server.log"
	e2e_finish
	exit 1
fi
req "a subject" 201 POST /v1/subjects "$TOK_DPO" \
	'{"kind":"customer","fields":{"first_name":"Maija","last_name":"Meikalainen","email":"maija@example.fi"}}'
ID=$(jq -r .id <<<"$body")
req "a link" 201 POST "/v1/subjects/$ID/self-service-link" "$TOK_DPO"
SECRET=$(jq -r .secret <<<"$body")
if grep -q '^RK_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
	echo "# skipped the browser run under the sanitizer build: it tests the web files, which the plain build covers"
	e2e_stop
	e2e_finish
	exit
fi
browser_setup "$SRC/tests/browser/attack5_reload.mjs" || bad "npm ci"
out=$(U=$U SECRET=$SECRET node "$BR/attack5_reload.mjs" 2>&1) || bad "the browser run: $out"
printf '%s\n' "$out" | sed 's/^/  browser: /'
expect "the skip link was followed" grep -q 'state: address #main' <<<"$out"
expect "after the reload the person still sees the data" grep -q 'state: data shown true' <<<"$out"
expect "the reload posted no second exchange" grep -q 'state: exchanges 1$' <<<"$out"
e2e_stop
"$BIN" audit log >"$WORK/audit.txt" 2>&1
expect "no refused exchange was audited" bash -c "! grep -q 'selfservice.open.*refused' '$WORK/audit.txt'"
e2e_finish
