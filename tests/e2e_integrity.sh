#!/usr/bin/env bash
# sqlite-only: copies the database file, edits it with SQLite SQL
# End-to-end tests that what decides access is bound to the register's keys:
# every column edited with the sqlite3 shell (no key needed for that) is
# refused on read with exit 5, never believed. Each case works on its own
# copy of one prepared register, so the edits do not add up.
. "$(dirname "$0")/e2e-common.sh"

export REKISTERI_KEY_FILE="$WORK/r.db.key"
BASE="$WORK/r.db"
LOC='{"latitude": "60.1699", "longitude": "24.9384", "recorded_at": "2025-01-31T12:00:00Z"}'

# --- the register every case starts from -------------------------------------
e2e_init_customer "add a customer" first_name=Ilmatar last_name=Zyxwvutila \
	email=vanha@example.com
OLD_CT=$(rows "SELECT hex(ciphertext) FROM value WHERE subject_id = '$A' AND field = 'email'")
OLD_ROW=$(rows "SELECT id || ',' || quote(ciphertext) || ',' || quote(purposes) || ',' ||
	quote(legal_basis) || ',' || quote(source) || ',' || collected_at || ',' ||
	confirmed_at || ',' || quote(expires_at) || ',' || quote(bidx)
	FROM value WHERE subject_id = '$A' AND field = 'email'")
check "update the e-mail" 0 "$BIN" subject update "$A" --field email=uusi@example.com
check "give e-mail marketing consent" 0 "$BIN" consent give "$A" email_marketing
check "withdraw it" 0 "$BIN" consent withdraw "$A" email_marketing
check "add a prospect (values with an expiry)" 0 "$BIN" subject add --kind prospect \
	--field last_name=Prospektinen --field email=prospekti@example.com
P=$out
check "add a customer who prohibits direct marketing" 0 "$BIN" subject add --kind customer \
	--field last_name=Kieltäjä --field email=kielto@example.com
D=$out
check "record the prohibition" 0 "$BIN" object "$D" direct_marketing
check "give location consent" 0 "$BIN" consent give "$A" location
IN="$LOC" check "add a location record" 0 "$BIN" record add "$A" --type location --purpose analytics
IN='{"product": "Skanneri", "amount": "10.00", "currency": "EUR"}' \
	check "add a purchase" 0 "$BIN" record add "$A" --type purchase
check "link a cookie" 0 "$BIN" cookie link "$A" GA1.2.555
check "add an actor" 0 "$BIN" actor add cs-1 --role customer_service
CS=$out
check "add an actor to revoke" 0 "$BIN" actor add cs-2 --role customer_service
CS2=$out
check "revoke it" 0 "$BIN" actor revoke cs-2
rows "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null

# before each edit: a copy of the prepared register
fresh() {
	rm -f "$WORK"/c.db*
	cp "$BASE" "$WORK/c.db"
	export REKISTERI_DB="$WORK/c.db"
}
edit() { rows "$1" "$WORK/c.db" >/dev/null; }

fresh
check "untouched: the subject reads" 0 "$BIN" subject show "$A"
expect "untouched: the current e-mail is shown" grep -q uusi@example.com <<<"$out"
check "untouched: the prospect reads" 0 "$BIN" subject show "$P"
check "untouched: the records list" 0 "$BIN" record list "$A"
check "untouched: may-contact decides (withdrawn)" 4 "$BIN" may-contact "$A" --channel email
check "untouched: the prohibition holds" 4 "$BIN" may-contact "$D" --channel post
check "untouched: the actor authenticates" 0 env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$BIN" subject show "$A"
check "untouched: the revoked actor is refused" 4 env REKISTERI_ACTOR=cs-2 REKISTERI_TOKEN="$CS2" "$BIN" subject show "$A"
check "untouched: subject list" 0 "$BIN" subject list
check "untouched: audit verify" 0 "$BIN" audit verify

# --- audit verify checks the rows too ---------------------------------------------
fresh
check "audit verify names the subjects it checked" 0 "$BIN" --json audit verify
expect "rows intact, three subjects" grep -q '"rows_intact": true, "subjects": 3' <<<"$out"
edit "UPDATE value SET purposes = purposes || ',marketing_communications' WHERE subject_id = '$A' AND field = 'email'"
check "audit verify finds an edited value" 5 "$BIN" audit verify
expect "and says what, without data" grep -q "set of values" <<<"$err"
fresh
edit "UPDATE actor SET revoked_at = 0 WHERE name = 'cs-2'"
check "audit verify finds an un-revoked actor" 5 "$BIN" audit verify
fresh
edit "DELETE FROM consent WHERE id = (SELECT max(id) FROM consent)"
check "audit verify finds a removed ledger entry" 5 "$BIN" --json audit verify
expect "the JSON says the rows are not intact" grep -q '"rows_intact": false' <<<"$out"

# --- a look-up names its subject by the pseudonym copied onto the lookup value
fresh
check "find by e-mail" 0 "$BIN" subject find --by email uusi@example.com
check "the subject's trail" 0 "$BIN" --json audit log --subject "$A"
expect "shows the look-up under the subject's pseudonym" \
	jq -e '[.[] | select(.action == "subject.find")] | length == 1' <<<"$out"
edit "UPDATE value SET pseudonym = (SELECT pseudonym FROM subject WHERE id = '$P') WHERE subject_id = '$A' AND field = 'email'"
check "audit verify finds a look-up's pseudonym copy swapped" 5 "$BIN" audit verify
expect "and says what, without data" grep -q "lookup value names another pseudonym" <<<"$err"
fresh
edit "UPDATE value SET pseudonym = NULL"
check "without the copies (a register from PostgreSQL), find still works" 0 "$BIN" subject find --by email uusi@example.com
check "and its entry names the subject" 0 "$BIN" --json audit log --subject "$A"
expect "the look-up is in the subject's trail" \
	jq -e '[.[] | select(.action == "subject.find")] | length == 1' <<<"$out"
check "and audit verify passes" 0 "$BIN" audit verify

# --- values ------------------------------------------------------------------
fresh
edit "UPDATE value SET purposes = purposes || ',marketing_communications' WHERE subject_id = '$A' AND field = 'email'"
check "a purpose added to a value is refused" 5 "$BIN" subject show "$A"
check "also when the value is read for that purpose" 5 "$BIN" subject show "$A" --purpose marketing_communications
expect "and nothing is printed" test -z "$out"

fresh
edit "UPDATE value SET purposes = 'customer_relationship' WHERE subject_id = '$A' AND field = 'first_name'"
check "a purpose removed from a value is refused" 5 "$BIN" subject show "$A"

fresh
edit "UPDATE value SET expires_at = NULL WHERE subject_id = '$P'"
check "an expiry cleared is refused" 5 "$BIN" subject show "$P"

fresh
edit "UPDATE value SET expires_at = '2999-12-31' WHERE subject_id = '$P' AND field = 'email'"
check "an expiry moved is refused" 5 "$BIN" subject show "$P"

fresh
edit "UPDATE value SET legal_basis = 'consent' WHERE subject_id = '$A' AND field = 'email'"
check "a legal basis changed is refused" 5 "$BIN" subject show "$A"

fresh
edit "UPDATE value SET source = 'group_company' WHERE subject_id = '$A' AND field = 'email'"
check "a source changed is refused" 5 "$BIN" subject show "$A"

fresh
edit "UPDATE value SET ciphertext = X'$OLD_CT' WHERE subject_id = '$A' AND field = 'email'"
check "an old ciphertext put back is refused" 5 "$BIN" subject show "$A"
expect "and the old e-mail is not printed" test -z "$out"

fresh
edit "DELETE FROM value WHERE subject_id = '$A' AND field = 'email';
	INSERT INTO value (id, subject_id, field, ciphertext, purposes, legal_basis, source,
	collected_at, confirmed_at, expires_at, bidx) VALUES (${OLD_ROW%%,*}, '$A', 'email', ${OLD_ROW#*,})"
check "a whole old value row put back is refused" 5 "$BIN" subject show "$A"

fresh
edit "DELETE FROM value WHERE subject_id = '$A' AND field = 'first_name'"
check "a value removed is refused" 5 "$BIN" subject show "$A"

fresh
edit "INSERT INTO value (subject_id, field, ciphertext, purposes, legal_basis, source,
	collected_at, confirmed_at) SELECT subject_id, 'job_title', ciphertext, purposes,
	legal_basis, source, collected_at, confirmed_at FROM value
	WHERE subject_id = '$A' AND field = 'last_name'"
check "a value added is refused" 5 "$BIN" subject show "$A"

fresh
edit "UPDATE value SET field = 'job_title' WHERE subject_id = '$A' AND field = 'first_name'"
check "a value's field renamed is refused" 5 "$BIN" subject show "$A"

# --- subjects ----------------------------------------------------------------
fresh
edit "UPDATE subject SET kind = 'contact' WHERE id = '$A'"
check "a subject's kind changed is refused" 5 "$BIN" subject show "$A"
check "also by may-contact" 5 "$BIN" may-contact "$A" --channel email
check "and by subject list" 5 "$BIN" subject list

fresh
edit "UPDATE subject SET rel_end = '2020-01-01' WHERE id = '$A'"
check "a relationship end set is refused" 5 "$BIN" subject show "$A"

# --- the consent ledger ------------------------------------------------------
fresh
edit "DELETE FROM consent WHERE id = (SELECT max(id) FROM consent
	WHERE subject_id = '$A' AND scope = 'email_marketing')"
check "the newest (withdrawal) entry deleted is refused" 5 "$BIN" may-contact "$A" --channel email
check "also by consent history" 5 "$BIN" --json consent history "$A"

fresh
edit "UPDATE consent SET given = 1 WHERE subject_id = '$A' AND scope = 'email_marketing' AND given = 0"
check "a withdrawal flipped to consent is refused" 5 "$BIN" may-contact "$A" --channel email

fresh
edit "UPDATE consent SET given = 0 WHERE subject_id = '$D' AND scope = 'direct_marketing'"
check "an objection lifted by an edit is refused" 5 "$BIN" may-contact "$D" --channel post
check "also when the subject is shown for marketing" 5 "$BIN" subject show "$D" --purpose marketing_communications

fresh
edit "DELETE FROM consent WHERE subject_id = '$D'"
check "the whole ledger of a subject deleted is refused" 5 "$BIN" may-contact "$D" --channel post

fresh
edit "UPDATE consent SET id = -id WHERE subject_id = '$A' AND scope = 'email_marketing';
	UPDATE consent SET id = (SELECT max(id) FROM consent) + 1
	WHERE id = (SELECT min(id) FROM consent WHERE subject_id = '$A');"
check "ledger entries reordered are refused" 5 "$BIN" may-contact "$A" --channel email

fresh
edit "UPDATE consent SET at = at + 86400 WHERE subject_id = '$A' AND scope = 'location'"
check "a consent's time changed is refused" 5 "$BIN" --json consent history "$A"

# --- records -----------------------------------------------------------------
fresh
edit "UPDATE record SET purposes = purposes || ',marketing_communications' WHERE subject_id = '$A' AND type = 'purchase'"
check "a purpose added to a record is refused" 5 "$BIN" record list "$A"

fresh
edit "UPDATE record SET expires_at = NULL WHERE subject_id = '$A'"
check "a record's expiry cleared is refused" 5 "$BIN" record list "$A"

fresh
edit "UPDATE record SET legal_basis = 'consent' WHERE subject_id = '$A' AND type = 'purchase'"
check "a record's basis changed is refused" 5 "$BIN" record list "$A"

fresh
edit "UPDATE record SET type = 'event' WHERE subject_id = '$A' AND type = 'purchase'"
check "a record's type changed is refused" 5 "$BIN" record list "$A"

fresh
edit "UPDATE record SET id = id + 100 WHERE subject_id = '$A' AND type = 'purchase'"
check "a record's id changed is refused" 5 "$BIN" record list "$A"

fresh
edit "INSERT INTO record (subject_id, type, ciphertext, purposes, legal_basis, source, created_at)
	SELECT '$D', type, ciphertext, purposes, legal_basis, source, created_at FROM record
	WHERE subject_id = '$A' AND type = 'purchase'"
check "a purchase copied to another subject is refused" 5 "$BIN" record list "$D"

fresh
edit "DELETE FROM record WHERE subject_id = '$A' AND type = 'purchase'"
check "a record removed is refused" 5 "$BIN" record list "$A"
check "also when listing another type" 5 "$BIN" record list "$A" --type location --purpose analytics

fresh
LOC_ROW=$(rows "SELECT quote(id) || ',' || quote(type) || ',' || quote(ciphertext) || ',' ||
	quote(purposes) || ',' || quote(legal_basis) || ',' || quote(source) || ',' ||
	created_at || ',' || quote(expires_at) || ',' || attachment_size || ',' ||
	quote(attachment_type) || ',' || quote(mac)
	FROM record WHERE subject_id = '$A' AND type = 'location'" "$WORK/c.db")
check "withdrawing location consent deletes the location record" 0 "$BIN" consent withdraw "$A" location
check "which reads" 0 "$BIN" record list "$A"
edit "INSERT INTO record (id, type, ciphertext, purposes, legal_basis, source, created_at,
	expires_at, attachment_size, attachment_type, mac, subject_id) VALUES ($LOC_ROW, '$A')"
check "a deleted record put back is refused" 5 "$BIN" record list "$A"

# --- cookie and device identifiers ------------------------------------------
BROWSE='{"url": "https://example.com/tuotteet", "at": "2025-01-31T12:00:00Z"}'
fresh
IN='' check "consent to analytics cookies" 0 "$BIN" consent give "$A" analytics_cookies
IN="$BROWSE" check "untouched: a record by cookie goes to its subject" 0 \
	"$BIN" record add --cookie GA1.2.555 --type browsing --purpose analytics
fresh
edit "UPDATE cookie SET subject_id = '$D'"
IN="$BROWSE" check "a cookie moved to another subject is refused" 5 \
	"$BIN" record add --cookie GA1.2.555 --type browsing --purpose analytics
check "also when it is linked again" 5 "$BIN" cookie link "$D" GA1.2.555
check "and by audit verify" 5 "$BIN" audit verify

# --- actors ------------------------------------------------------------------
fresh
edit "UPDATE actor SET role = 'admin' WHERE name = 'cs-1'"
check "an actor's role raised is refused" 5 env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$BIN" subject show "$A"

fresh
edit "UPDATE actor SET revoked_at = 0 WHERE name = 'cs-2'"
check "a revoked actor un-revoked is refused" 5 env REKISTERI_ACTOR=cs-2 REKISTERI_TOKEN="$CS2" "$BIN" subject show "$A"

fresh
edit "UPDATE actor SET token_hash = (SELECT token_hash FROM actor WHERE name = 'cs-1') WHERE name = 'cs-2'"
check "a token hash copied between actors is refused" 5 env REKISTERI_ACTOR=cs-2 REKISTERI_TOKEN="$CS" "$BIN" subject show "$A"

fresh
edit "INSERT INTO actor (name, role, token_hash, created_at, revoked_at, mac)
	SELECT 'evil', 'admin', token_hash, created_at, 0, mac FROM actor WHERE name = 'cs-1'"
check "a forged actor is refused" 5 env REKISTERI_ACTOR=evil REKISTERI_TOKEN="$CS" "$BIN" subject show "$A"
check "and spoils the set for everyone" 5 env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$BIN" subject show "$A"
check "actor list refuses it too" 5 "$BIN" actor list

fresh
edit "DELETE FROM actor WHERE name = 'cs-2'"
check "an actor removed is noticed" 5 env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$BIN" subject show "$A"

# --- the stored policy (roles, purposes, retention) ------------------------------
fresh
edit "UPDATE policy_version SET body = replace(body, '\"customer_service\"', '\"customer_servic3\"')"
check "an edited stored policy is refused" 5 "$BIN" subject show "$A"

fresh
edit "INSERT INTO policy_version (version, body, created_at)
	SELECT version + 1, body, created_at FROM policy_version WHERE version = 1"
check "a policy version slipped in is refused" 5 "$BIN" subject show "$A"

# --- the row key itself ------------------------------------------------------
fresh
edit "DELETE FROM meta WHERE key = 'row_key'"
check "a register without its row key does not open" 5 "$BIN" subject show "$A"

fresh
edit "DELETE FROM meta WHERE key = 'row_key'; UPDATE meta SET value = x'01' WHERE key = 'row_macs_pending';
	UPDATE value SET purposes = purposes || ',marketing_communications'"
check "nor is it bound again from edited rows" 5 "$BIN" subject show "$A"

# --- legitimate changes keep reading -------------------------------------------
fresh
check "an update after all this reads" 0 "$BIN" subject update "$A" --field first_name=Ilma
check "the subject still reads" 0 "$BIN" subject show "$A"
check "the relationship ends" 0 "$BIN" subject end "$A"
check "and still reads, with expiries set" 0 "$BIN" subject show "$A"
check "withdrawing a consent that deletes data" 0 "$BIN" consent withdraw "$A" location
check "still reads" 0 "$BIN" record list "$A"
check "the ledger still verifies" 0 "$BIN" --json consent history "$A"

e2e_finish
