#!/usr/bin/env bash
# Attack: card numbers in the forms a URL gives them. The scan accepts
# spaces, dashes, dots and the like between the digit groups, but not '+'
# (a space in a form-encoded query) nor "%20" (a space in a percent-encoded
# one), so a full card number in a browsing record's URL, or pasted from
# one into a feedback text, is stored.
. "$(dirname "$0")/e2e-common.sh"

e2e_aino
IN='{"ip": "192.0.2.1", "url": "https://shop.example/pay?cc=4111+1111+1111+1111", "at": "2026-01-01T00:00:00Z"}' \
	check "a card number with '+' between the groups in a URL exits 2" 2 "$BIN" record add "$A" \
	--type browsing --purpose analytics
IN='{"ip": "192.0.2.1", "url": "https://shop.example/pay?cc=4111%201111%201111%201111", "at": "2026-01-01T00:00:00Z"}' \
	check "a card number with %20 between the groups in a URL exits 2" 2 "$BIN" record add "$A" \
	--type browsing --purpose analytics
IN='{"kind": "complaint", "text": "veloitettiin kortilta 5500+0000+0000+0004"}' \
	check "a card number with '+' between the groups in a text exits 2" 2 "$BIN" record add "$A" \
	--type feedback
e2e_finish
