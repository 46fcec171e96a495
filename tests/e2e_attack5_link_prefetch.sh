#!/usr/bin/env bash
# Attack: whoever merely opened a self-service link spent it and got
# the session. /me exchanged the secret as soon as its script ran, with no
# action by the person; mail security scanners and link previews that
# render pages (headless browsers) do exactly that, so the person finds a
# used link ("ask for a new one"), and the scanner's operator held a live
# 30-minute session on the person's data. The page now shows a button
# ("Open my data") and exchanges the secret only on that click.
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"
. "$(dirname "$0")/browser-setup.sh"

a5_browser_link

browser_skip_ends
browser_setup "$SRC/tests/browser/attack5_prefetch.mjs" || bad "npm ci"
U=$U SECRET=$SECRET node "$BR/attack5_prefetch.mjs" || bad "the scanner's visit"
req "the person's click still finds a working link" 201 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
e2e_serve_stop
"$BIN" audit log >"$WORK/audit.txt" 2>&1
expect "one exchange in the audit trail (the person's)" test "$(grep -c 'selfservice.open.*ok' "$WORK/audit.txt")" -le 1
e2e_finish
