#!/usr/bin/env bash
# Attack (pending): whoever merely opens a self-service link spends it and
# gets the session. /me exchanges the secret as soon as its script runs, with
# no action by the person; mail security scanners and link previews that
# render pages (headless browsers) do exactly that, so the person finds a
# used link ("ask for a new one"), and the scanner's operator held a live
# 30-minute session on the person's data. The page should show a button
# ("Open my data") and exchange the secret only on that click (the secret
# can stay in the fragment until then).
. "$(dirname "$0")/../e2e-common.sh"
. "$(dirname "$0")/../e2e-attack5-server.sh"

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

BR="$BUILD/browser"
mkdir -p "$BR"
cp "$SRC/tests/browser/package.json" "$SRC/tests/browser/package-lock.json" \
	"$SRC/tests/browser/attack5_prefetch.mjs" "$BR/"
if [ ! -d "$BR/node_modules/playwright-core" ]; then
	(cd "$BR" && npm ci --no-audit --no-fund --loglevel=error) || bad "npm ci"
fi
U=$U SECRET=$SECRET node "$BR/attack5_prefetch.mjs" || bad "the scanner's visit"
req "the person's click still finds a working link" 201 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
e2e_stop
"$BIN" audit log >"$WORK/audit.txt" 2>&1
expect "one exchange in the audit trail (the person's)" test "$(grep -c 'selfservice.open.*ok' "$WORK/audit.txt")" -le 1
e2e_finish
