#!/usr/bin/env bash
# A cookie reset since a backup is replayed when the backup is restored:
# the identifiers it had unlinked go again with the records that came
# through them. The replay used to pick the links by their linked_at
# column, which no MAC bound: a backup edited to date its link after the
# reset brought the link and its record back. The link's MAC now binds its
# time (the edited backup is refused), and a reset from after the backup
# (after the ledger head its subject row pins) unlinks every identifier
# that came back. Ends with "N passed, N failed".
# sqlite-only: the edit is made to a backup file with the sqlite3 shell.
. "$(dirname "$0")/e2e-common.sh"

e2e_cookie_profile
check "a backup while the cookie is linked" 0 "$BIN" backup "$WORK/before.db"
sleep 1.1
check "reset the cookie profile" 0 "$BIN" cookie reset "$A"
expect "the reset unlinked the link and its record" test "$(links)/$(cookie_records)" = 0/0

# the backup's link dated after the reset, and after the backup
cp "$WORK/before.db" "$WORK/edited.db"
rows "UPDATE cookie SET linked_at = linked_at + 1000000000" "$WORK/edited.db"
expect "the backup's link now claims a later date" \
	test "$(rows "SELECT count(*) FROM cookie WHERE linked_at > strftime('%s', 'now')" "$WORK/edited.db")" = 1
check "the edited backup is refused" 5 "$BIN" restore "$WORK/edited.db"
expect "nothing came back" test "$(links)/$(cookie_records)" = 0/0
check "restore the backup as it was made" 0 "$BIN" restore "$WORK/before.db"
expect "the link did not come back" test "$(links)" = 0
expect "nor the record that came through it" test "$(cookie_records)" = 0
IN=$BROWSE check "browsing under the old cookie reaches no one" 3 \
	"$BIN" record add --cookie "$C1" --type browsing --purpose analytics
check "audit verify passes" 0 "$BIN" audit verify
e2e_finish
