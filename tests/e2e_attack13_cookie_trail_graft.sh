#!/usr/bin/env bash
# A restore replays a cookie reset made since the backup. A first defence
# read the backup's end from its own trail, which only has to verify
# against the backup's own kept head: a later trail (the live one, taken
# after the reset) and its head grafted onto the old backup moved the end
# past the reset, the replay fell back to the links' times (under no MAC),
# and a link dated after the reset came back with its record. The replay
# now asks the subject's ledger instead: a reset after the ledger head the
# backup's subject row pins (under its MAC) unlinks every identifier that
# came back; and the link's MAC now binds its time, so the edited link is
# refused before any of that. Ends with "N passed, N failed".
# sqlite-only: the backup file is edited with the sqlite3 shell.
. "$(dirname "$0")/e2e-common.sh"

e2e_cookie_profile
check "a backup while the cookie is linked" 0 "$BIN" backup "$WORK/before.db"
sleep 1.1
check "reset the cookie profile" 0 "$BIN" cookie reset "$A"
expect "the reset unlinked the link and its record" test "$(links)/$(cookie_records)" = 0/0
sleep 1.1
check "any later entry (a read)" 0 "$BIN" subject list

# The graft: the backup's rows, the live file's trail and kept head.
rows "VACUUM INTO '$WORK/live-copy.db'" >/dev/null
cp "$WORK/before.db" "$WORK/graft.db"
rows "ATTACH '$WORK/live-copy.db' AS l;
	DELETE FROM audit; INSERT INTO audit SELECT * FROM l.audit;
	UPDATE meta SET value = (SELECT value FROM l.meta WHERE key = 'audit_head')
		WHERE key = 'audit_head';
	UPDATE cookie SET linked_at = linked_at + 1000000000;" "$WORK/graft.db"
check "the grafted backup is refused" 5 "$BIN" restore "$WORK/graft.db"
expect "the link did not come back" test "$(links)" = 0
expect "nor the record that came through it" test "$(cookie_records)" = 0
IN=$BROWSE check "browsing under the old cookie reaches no one" 3 \
	"$BIN" record add --cookie "$C1" --type browsing --purpose analytics
check "audit verify passes" 0 "$BIN" audit verify
e2e_finish
