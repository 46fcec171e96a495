#!/usr/bin/env bash
# Attack: roll one subject back to an older state. Someone who can write the
# database file but holds no key copies a subject's row, values and consent
# ledger from an older backup over the live ones. The subject row's MAC,
# value digest and consent chain head are all the backup's own, so they
# match each other; its audit_seq is older than the trail's last entry for
# the subject, yet `audit verify` only checks that it is not past the kept
# head. A withdrawn consent is back (may-contact says yes) and the e-mail
# changed since is the old one again, and verify says intact.
. "$(dirname "$0")/e2e-common.sh"

e2e_aino email=aino@example.com
IN='' check "consent" 0 "$BIN" consent give "$A" email_marketing
IN='' check "backup" 0 "$BIN" backup "$WORK/bk.db"
IN='' check "withdraw" 0 "$BIN" consent withdraw "$A" email_marketing
IN='' check "update e-mail" 0 "$BIN" subject update "$A" \
	--field email=new@example.com
IN='' check "may not contact after the withdrawal" 4 "$BIN" may-contact "$A" \
	--channel email
if [ -n "${RK_PG_DBNAME-}" ]; then
	# PostgreSQL cannot attach the backup file: its rows are read with
	# the sqlite3 shell and written as INSERTs (blobs as bytea).
	bk() { sqlite3 -cmd ".headers on" -cmd ".mode insert $1" \
		"$WORK/bk.db" "SELECT * FROM $1 WHERE subject_id = '$A'"; }
	head=$(sqlite3 "$WORK/bk.db" "SELECT 'UPDATE subject SET vdigest = x''' ||
	  hex(vdigest) || ''', chead = x''' || hex(chead) || ''', rhead = ' ||
	  coalesce('x''' || hex(rhead) || '''', 'NULL') || ', mac = x''' ||
	  hex(mac) || ''', audit_seq = ' || audit_seq || ' WHERE id = ''' ||
	  id || ''';' FROM subject WHERE id = '$A'")
	rows "BEGIN;
DELETE FROM consent WHERE subject_id = '$A';
DELETE FROM value WHERE subject_id = '$A';
$head
$(bk consent)
$(bk value)
COMMIT;"
else
rows "ATTACH '$WORK/bk.db' AS b;
DELETE FROM consent WHERE subject_id = '$A';
DELETE FROM value WHERE subject_id = '$A';
UPDATE subject SET (vdigest, chead, rhead, mac, audit_seq) =
  (SELECT vdigest, chead, rhead, mac, audit_seq FROM b.subject
   WHERE id = '$A') WHERE id = '$A';
INSERT INTO consent SELECT * FROM b.consent WHERE subject_id = '$A';
INSERT INTO value SELECT * FROM b.value WHERE subject_id = '$A';"
fi
IN='' check "a subject rolled back to the backup's rows is detected" 5 \
	"$BIN" audit verify
e2e_finish
