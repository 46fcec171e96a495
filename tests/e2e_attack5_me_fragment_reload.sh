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

a5_browser_link
browser_skip_ends
browser_setup "$SRC/tests/browser/attack5_reload.mjs" || bad "npm ci"
out=$(U=$U SECRET=$SECRET node "$BR/attack5_reload.mjs" 2>&1) || bad "the browser run: $out"
printf '%s\n' "$out" | sed 's/^/  browser: /'
expect "the skip link was followed" grep -q 'state: address #main' <<<"$out"
expect "after the reload the person still sees the data" grep -q 'state: data shown true' <<<"$out"
expect "the reload posted no second exchange" grep -q 'state: exchanges 1$' <<<"$out"
e2e_serve_stop
"$BIN" audit log >"$WORK/audit.txt" 2>&1
expect "no refused exchange was audited" bash -c "! grep -q 'selfservice.open.*refused' '$WORK/audit.txt'"
e2e_finish
