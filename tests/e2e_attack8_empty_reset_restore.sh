#!/usr/bin/env bash
# A cookie reset that finds nothing after an earlier reset adds no ledger
# entry, on the grounds that the earlier entry covers what any backup could
# bring back. It does not when a link was made after the earlier reset and
# then went without a reset (a restore of an older backup took it): a backup
# made while that link stood still holds it, its link time is after the
# newest reset entry, and restoring that backup brought the identifier and
# the browsing records that came through it back, undoing the person's
# reset. Such a reset must be kept in the ledger; one that follows another
# with no link between still adds nothing. Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

BROWSE='{"url": "https://example.com/tuotteet", "at": "2025-01-31T12:00:00Z"}'
C1=GA1.2.1111111111.1738324800
C2=GA1.2.2222222222.1738324900
links() { rows "SELECT count(*) FROM cookie WHERE subject_id = '$A'"; }
records() { rows "SELECT count(*) FROM record WHERE subject_id = '$A'"; }
resets() { rows "SELECT count(*) FROM consent WHERE subject_id = '$A' AND scope = 'rk:cookie_reset'"; }
# The ledger and the links keep seconds: a link of a reset's own second
# counts as reset with it, so the steps below wait for the next second
# (a wait for the clock to move, not a measured time).
next_second() {
	local t
	t=$(date +%s)
	while [ "$(date +%s)" = "$t" ]; do sleep 0.05; done
}

e2e_aino
check "consent to analytics cookies" 0 "$BIN" consent give "$A" analytics_cookies
check "a backup without links" 0 "$BIN" backup "$WORK/old.db"
check "link a cookie" 0 "$BIN" cookie link "$A" "$C1"
check "the first reset" 0 "$BIN" cookie reset "$A"
expect "is in the ledger" test "$(resets)" = 1
next_second
check "link another cookie after it" 0 "$BIN" cookie link "$A" "$C2"
IN=$BROWSE check "browsing under it" 0 \
	"$BIN" record add --cookie "$C2" --type browsing --purpose analytics
check "a backup while it is linked" 0 "$BIN" backup "$WORK/linked.db"
check "a restore of the older backup takes the link away" 0 \
	"$BIN" restore "$WORK/old.db"
expect "no link is left" test "$(links)" = 0
next_second
check "the person resets again" 0 "$BIN" cookie reset "$A"
expect "this reset is kept in the ledger" test "$(resets)" = 2
check "a restore of the backup made while the link stood" 0 \
	"$BIN" restore "$WORK/linked.db"
expect "the link made before the last reset stays unlinked" test "$(links)" = 0
expect "the browsing under it stays deleted" test "$(records)" = 0
check "audit verify passes" 0 "$BIN" audit verify

# With no link since, a repeated reset still adds nothing.
next_second
check "an empty reset right after" 0 "$BIN" cookie reset "$A"
expect "adds no ledger entry" test "$(resets)" = 2
check "audit verify passes at the end" 0 "$BIN" audit verify

e2e_finish
