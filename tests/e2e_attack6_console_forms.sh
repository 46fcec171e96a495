#!/usr/bin/env bash
# The console's add-record form with a file, in headless Chromium
# (tests/browser/attack6.test.mjs): a double click must add one record (the
# form sent the upload twice: no Idempotency-Key, no guard), a file over
# the server's upload limit must show 413, a file without a media type
# goes as application/octet-stream, and a role that may not add a person
# sees the refusal in the form. Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/browser-setup.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

a5_start --max-upload 200000
TOK_MKT=$("$BIN" actor add mkt1 --role marketing) || bad "actor add mkt1"
EMAIL=maija@example.fi
req "a subject" 201 POST /v1/subjects "$TOK_DPO" \
	"{\"kind\":\"customer\",\"fields\":{\"first_name\":\"Maija\",\"last_name\":\"Meikalainen\",\"email\":\"$EMAIL\"}}"
ID=$(jq -r .id <<<"$body")

if browser_skipped; then
	:
elif browser_missing; then
	bad "the browser run needs node, npm and chromium (scripts/install-deps.sh)"
else
	browser_setup "$SRC/tests/browser/attack6.test.mjs" || bad "npm ci"
	out=$(U=$U TOK_DPO=$TOK_DPO TOK_MKT=$TOK_MKT SUBJECT=$ID EMAIL=$EMAIL \
		node "$BR/attack6.test.mjs" 2>&1)
	browser_tally $? "$out"
	expect "the browser run ran its steps" test "$np" -ge 5
fi
e2e_serve_stop
check "audit verify passes" 0 "$BIN" audit verify
e2e_finish
