#!/usr/bin/env bash
# sqlite-only: cuts ledger rows with the sqlite3 shell
# A ledger cut at its end must not be laundered by a restore: the newest
# entry of a subject's consent ledger (here a cookie reset) deleted without
# the key shows in audit verify; a restore of a backup from before it then
# found the backup's row pinning a head the cut ledger still ends in,
# re-pinned it, brought the unlinked cookie back, and verify passed again.
# The restore must refuse, change nothing, and verify must still fail.
# Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

BROWSE='{"url": "https://example.com/tuotteet", "at": "2025-01-31T12:00:00Z"}'
C1=GA1.2.1111111111.1738324800

e2e_init_customer "add a customer" first_name=Ilmatar last_name=Zyxwvutila \
	email=ilmatar@example.com
check "link a cookie" 0 "$BIN" cookie link "$A" "$C1"
check "consent to analytics cookies" 0 "$BIN" consent give "$A" analytics_cookies
IN=$BROWSE check "browsing under the cookie" 0 \
	"$BIN" record add --cookie "$C1" --type browsing --purpose analytics
check "a backup while the cookie is linked" 0 "$BIN" backup "$WORK/before.db"
check "reset the cookie profile" 0 "$BIN" cookie reset "$A"
links() { rows "SELECT count(*) FROM cookie WHERE subject_id = '$A'"; }
ledger() { rows "SELECT count(*) FROM consent WHERE subject_id = '$A'"; }
expect "the reset unlinked the cookie" test "$(links)" = 0
N=$(ledger)

rows "DELETE FROM consent WHERE subject_id = '$A' AND scope = 'rk:cookie_reset'"
expect "the reset entry is cut from the ledger" test "$(ledger)" = $((N - 1))
check "audit verify sees the cut" 5 "$BIN" audit verify
check "a restore over the cut ledger is refused as integrity" 5 \
	"$BIN" restore "$WORK/before.db"
expect "the message names the ledger" grep -qi "ledger" <<<"$err"
expect "nothing was restored: the cookie stays unlinked" test "$(links)" = 0
check "audit verify still sees the cut" 5 "$BIN" audit verify

e2e_finish
