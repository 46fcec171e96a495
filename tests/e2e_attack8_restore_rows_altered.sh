#!/usr/bin/env bash
# A backup whose rows were altered with the sqlite3 shell (no key) where
# the restore's own checks do not look: a record deleted, an identifier's
# link moved to another person, a record's identifier hash cleared. The
# restore checked only that the data decrypts and that values match their
# digest, said "register restored", and the register then failed
# `audit verify`: the restore took in rows that its own verify rejects. It
# must refuse such a backup (in place and --into) and change nothing.
# Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

C1=GA1.2.1111111111.1738324800
BROWSE='{"url": "https://example.com/tuotteet", "at": "2025-01-31T12:00:00Z"}'

e2e_aino email=aino@example.com
IN='' check "add a second customer" 0 "$BIN" subject add --kind customer \
	--field first_name=Bertta --field last_name=Zyxwvutila \
	--field email=bertta@example.com
B=$out
check "consent to analytics cookies" 0 "$BIN" consent give "$A" analytics_cookies
check "link a cookie" 0 "$BIN" cookie link "$A" "$C1"
IN=$BROWSE check "a record" 0 "$BIN" record add "$A" --type browsing --purpose analytics
IN=$BROWSE check "a record under the cookie" 0 \
	"$BIN" record add --cookie "$C1" --type browsing --purpose analytics
check "a backup" 0 "$BIN" backup "$WORK/b.db"
check "Aino moves after the backup" 0 "$BIN" subject update "$A" \
	--field last_name=Muutettu

try() { # try NAME SQL: the backup edited with SQL must be refused
	cp "$WORK/b.db" "$WORK/e.db"
	sqlite3 "$WORK/e.db" "$2"
	check "$1: the restore is refused as integrity" 5 \
		"$BIN" restore "$WORK/e.db"
	expect "$1: the message carries no personal data" \
		eval '! grep -qiE "aino|bertta|example.com|Muutettu" <<<"$err"'
	check "$1: audit verify passes" 0 "$BIN" audit verify
	check "$1: nothing was restored" 0 "$BIN" subject show "$A"
	expect "$1: Aino's new name stays" grep -q Muutettu <<<"$out"
	check "$1: --into is refused too" 5 \
		"$BIN" restore --into "$WORK/new.db" --key-file "$RK_KEY" "$WORK/e.db"
	expect "$1: no new register is left" test ! -e "$WORK/new.db"
}
try "a record deleted" "DELETE FROM record WHERE id = (SELECT max(id) FROM record)"
try "a link moved" "UPDATE cookie SET subject_id = '$B'"
try "a record's identifier cleared" "UPDATE record SET cookie_hash = NULL"

check "the backup as made restores" 0 "$BIN" restore "$WORK/b.db"
check "audit verify passes after it" 0 "$BIN" audit verify

e2e_finish
