#!/usr/bin/env bash
# The replay of a cookie reset at restore asks whether the reset came after
# the ledger head the backup's subject row pins. A backup taken after the
# reset, given the link's row from a backup taken before it with its
# linked_at moved past the reset: the head is past the reset, so only links
# dated before it go, and the link the reset removed came back while the
# time was under no MAC. The link's MAC binds its time now: the backup is
# refused. Ends with "N passed, N failed".
# sqlite-only: the backup file is edited with the sqlite3 shell.
. "$(dirname "$0")/e2e-common.sh"

e2e_cookie_profile no-record
check "a backup while the cookie is linked" 0 "$BIN" backup "$WORK/before.db"
sleep 1.1
check "reset the cookie profile" 0 "$BIN" cookie reset "$A"
expect "the reset unlinked the link" test "$(links)" = 0
check "a backup after the reset" 0 "$BIN" backup "$WORK/after.db"
# The edit: the later backup gets the earlier one's link, dated later.
rows "ATTACH '$WORK/before.db' AS b; INSERT INTO cookie SELECT * FROM b.cookie;
	UPDATE cookie SET linked_at = linked_at + 1000000000;" "$WORK/after.db"
check "the edited backup is refused" 5 "$BIN" restore "$WORK/after.db"
expect "the link did not come back" test "$(links)" = 0
IN=$BROWSE check "browsing under the reset cookie reaches no one" 3 \
	"$BIN" record add --cookie "$C1" --type browsing --purpose analytics
check "audit verify passes" 0 "$BIN" audit verify
e2e_finish
