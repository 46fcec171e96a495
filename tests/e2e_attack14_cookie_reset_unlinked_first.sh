#!/usr/bin/env bash
# A cookie reset deletes the records that came through the subject's
# identifiers. It found them through the link rows, which no set pins: a
# link row deleted with the shell before the reset left the records that
# came through it in place. It now goes by the records' own column (the
# identifier's hash, under each record's MAC). The removed link itself is
# not seen: audit verify passes, with nothing left behind of it. Ends with
# "N passed, N failed".
# sqlite-only: rows are edited with the sqlite3 shell.
. "$(dirname "$0")/e2e-common.sh"

e2e_cookie_profile
# The edit: the link's row removed.
rows "DELETE FROM cookie WHERE subject_id = '$A';"
check "reset the cookie profile" 0 "$BIN" cookie reset "$A"
expect "the records that came through the cookie are gone" test "$(cookie_records)" = 0
check "audit verify passes" 0 "$BIN" audit verify
e2e_finish
