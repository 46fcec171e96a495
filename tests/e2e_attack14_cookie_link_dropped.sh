#!/usr/bin/env bash
# A cookie reset since a backup is replayed at restore. It deleted the
# records whose cookie_hash was one of the subject's links: a backup edited
# to drop the link row (no set pins the links) but keep the record that
# came through it brought the record from before the reset back. The
# replay now goes by the records' own columns (cookie_hash and created_at,
# under each record's MAC). Ends with "N passed, N failed".
# sqlite-only: the backup file is edited with the sqlite3 shell.
. "$(dirname "$0")/e2e-common.sh"

e2e_cookie_profile
check "a backup while the cookie is linked" 0 "$BIN" backup "$WORK/before.db"
sleep 1.1
check "reset the cookie profile" 0 "$BIN" cookie reset "$A"
expect "the reset unlinked the link and its record" test "$(links)/$(cookie_records)" = 0/0

# The edit: the link's row out of the backup, its record kept.
rows "DELETE FROM cookie;" "$WORK/before.db"
check "restore the edited backup" 0 "$BIN" restore "$WORK/before.db"
expect "the record that came through the reset link did not come back" \
	test "$(cookie_records)" = 0
check "record list reads" 0 "$BIN" record list "$A" --purpose analytics
expect "and shows no browsing record" test -z "$(printf '%s' "$out" | grep -i tuotteet)"
check "audit verify passes" 0 "$BIN" audit verify
e2e_finish
