#!/usr/bin/env bash
# Every writer verb against every kind of edit made with the sqlite3 shell:
# a value's source, expiry, purposes or collection time changed, a value
# row deleted or copied, a record row deleted. After each edit audit
# verify fails (5); the writer then runs (whatever its exit) and audit
# verify must still fail (5) unless the writer removed the edited
# subject. A writer that exits 0 and leaves audit verify passing bound the
# edit: FAIL. Each case on a register of its own. Ends with
# "N passed, N failed".
# sqlite-only: a fresh register per case is a new file (the writers' checks
# are the library's, the same on PostgreSQL; e2e_attack10 runs there)
. "$(dirname "$0")/e2e-common.sh"

BROWSE='{"url": "https://example.com/tuotteet", "at": "2025-01-31T12:00:00Z"}'
PURCHASE='{"product": "Scanner", "quantity": 1, "amount": "9.90", "currency": "EUR", "order_number": "A-1"}'
base() { # a fresh register: Aino with values, consents, records, a cookie
	rm -f "$WORK"/r.db*
	"$BIN" init --policy "$POLICY" >/dev/null 2>&1
	A=$("$BIN" subject add --kind customer --field first_name=Aino \
		--field last_name=Qwertyläinen --field email=aino@example.com \
		--field phone=+358401234567 --field city=Turku 2>/dev/null)
	"$BIN" consent give "$A" location </dev/null >/dev/null 2>&1
	"$BIN" consent give "$A" analytics_cookies </dev/null >/dev/null 2>&1
	"$BIN" cookie link "$A" GA1.2.1.1 >/dev/null 2>&1
	printf '%s' "$PURCHASE" | "$BIN" record add "$A" --type purchase >/dev/null 2>&1
	printf '%s' "$PURCHASE" | "$BIN" record add "$A" --type purchase >/dev/null 2>&1
	printf '%s' "$BROWSE" | "$BIN" record add --cookie GA1.2.1.1 --type browsing --purpose analytics >/dev/null 2>&1
	R1=$(rows "SELECT min(id) FROM record WHERE type = 'purchase'")
	R2=$(rows "SELECT max(id) FROM record WHERE type = 'purchase'")
}
edit() {
	case $1 in
	source) rows "UPDATE value SET source = 'service_use' WHERE field = 'city'" ;;
	expires) rows "UPDATE value SET expires_at = '2099-01-01' WHERE field = 'email'" ;;
	purposes) rows "UPDATE value SET purposes = purposes || ',analytics' WHERE field = 'phone'" ;;
	collected) rows "UPDATE value SET collected_at = collected_at - 86400000000 WHERE field = 'city'" ;;
	value_deleted) rows "DELETE FROM value WHERE field = 'phone'" ;;
	value_copied) rows "INSERT INTO value (subject_id, field, ciphertext, purposes, legal_basis, source, collected_at, confirmed_at, expires_at, bidx, pseudonym) SELECT subject_id, field, ciphertext, purposes, legal_basis, source, collected_at, confirmed_at, expires_at, bidx, pseudonym FROM value WHERE field = 'city'" ;;
	record_deleted) rows "DELETE FROM record WHERE id = $R1" ;;
	esac
}
writer() {
	case $1 in
	consent_give) "$BIN" consent give "$A" personalisation ;;
	consent_withdraw) "$BIN" consent withdraw "$A" location ;;
	object) "$BIN" object "$A" direct_marketing ;;
	cookie_link) "$BIN" cookie link "$A" GA1.2.9.9 ;;
	cookie_reset) "$BIN" cookie reset "$A" ;;
	record_add) printf '%s' "$PURCHASE" | "$BIN" record add "$A" --type purchase ;;
	record_update) printf '%s' "$PURCHASE" | "$BIN" record update "$A" "$R2" ;;
	record_delete) "$BIN" record delete "$A" "$R2" ;;
	subject_update) "$BIN" subject update "$A" --field first_name=Aina ;;
	subject_end) "$BIN" subject end "$A" ;;
	subject_convert) "$BIN" subject convert "$A" --kind contact ;;
	subject_confirm) "$BIN" subject confirm "$A" ;;
	restrict) "$BIN" restrict "$A" --reason test ;;
	dsr_open) "$BIN" dsr open "$A" access ;;
	retention) "$BIN" subject end "$A" >/dev/null 2>&1; "$BIN" retention run --as-of 2098-01-01 --allow-early ;;
	key_rotate) "$BIN" key rotate ;;
	key_rotate_reencrypt) "$BIN" key rotate --reencrypt ;;
	erase) "$BIN" erase "$A" ;;
	esac
}
for e in ${E11_EDITS:-source expires purposes collected value_deleted value_copied record_deleted}; do
	for w in ${E11_WRITERS:-consent_give consent_withdraw object cookie_link cookie_reset record_add \
		record_update record_delete subject_update subject_end subject_convert \
		subject_confirm restrict dsr_open retention key_rotate key_rotate_reencrypt erase}; do
		base
		if ! "$BIN" audit verify >/dev/null 2>&1; then bad "$e/$w: the base does not verify"; continue; fi
		edit "$e"
		"$BIN" audit verify >/dev/null 2>&1; v0=$?
		if [ "$v0" != 5 ]; then bad "$e/$w: the edit is not found (audit verify $v0)"; continue; fi
		writer "$w" </dev/null >"$WORK/wout" 2>&1; wr=$?
		"$BIN" audit verify >/dev/null 2>&1; v1=$?
		gone=$(rows "SELECT count(*) FROM subject WHERE id = '$A'")
		if [ "$v1" = 5 ] || [ "$gone" = 0 ]; then
			ok "$e/$w (writer exit $wr, audit verify $v1, subject rows $gone)"
		else
			bad "$e/$w bound the edit (writer exit $wr, audit verify $v1)"
		fi
	done
done
e2e_finish
