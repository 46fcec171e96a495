#!/usr/bin/env bash
# The console's edit button on one value of a field that holds several
# (two e-mail addresses) sent the field with only the edited value, and
# the update replaces a field's values whole: the other address was
# deleted without a word. In headless Chromium
# (tests/browser/attack7.test.mjs). Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/browser-setup.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

a5_start
EMAIL=maija@example.fi EMAIL2=maija.toinen@example.fi EMAIL3=maija.uusi@example.fi
req "a subject with two e-mail addresses" 201 POST /v1/subjects "$TOK_DPO" \
	"{\"kind\":\"customer\",\"fields\":{\"first_name\":\"Maija\",\"last_name\":\"Meikalainen\",\"email\":[\"$EMAIL\",\"$EMAIL2\"]}}"
ID=$(jq -r .id <<<"$body")

if browser_skipped; then
	:
elif browser_missing; then
	bad "the browser run needs node, npm and chromium (scripts/install-deps.sh)"
else
	browser_setup "$SRC/tests/browser/attack7.test.mjs" || bad "npm ci"
	out=$(U=$U TOK_DPO=$TOK_DPO SUBJECT=$ID EMAIL=$EMAIL EMAIL2=$EMAIL2 EMAIL3=$EMAIL3 \
		node "$BR/attack7.test.mjs" 2>&1)
	browser_tally $? "$out"
	expect "the browser run ran its steps" test "$np" -ge 2
fi
e2e_serve_stop
check "audit verify passes" 0 "$BIN" audit verify
e2e_finish
