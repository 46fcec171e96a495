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

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
IN='' check "add a customer" 0 "$BIN" subject add --kind customer \
	--field first_name=Aino --field last_name=Qwertyläinen \
	--field email=aino@example.com
A=$out
IN='' check "consent" 0 "$BIN" consent give "$A" email_marketing
IN='' check "backup" 0 "$BIN" backup "$WORK/bk.db"
IN='' check "withdraw" 0 "$BIN" consent withdraw "$A" email_marketing
IN='' check "update e-mail" 0 "$BIN" subject update "$A" \
	--field email=new@example.com
IN='' check "may not contact after the withdrawal" 4 "$BIN" may-contact "$A" \
	--channel email
rows "ATTACH '$WORK/bk.db' AS b;
DELETE FROM consent WHERE subject_id = '$A';
DELETE FROM value WHERE subject_id = '$A';
UPDATE subject SET (vdigest, chead, rhead, mac, audit_seq) =
  (SELECT vdigest, chead, rhead, mac, audit_seq FROM b.subject
   WHERE id = '$A') WHERE id = '$A';
INSERT INTO consent SELECT * FROM b.consent WHERE subject_id = '$A';
INSERT INTO value SELECT * FROM b.value WHERE subject_id = '$A';"
IN='' check "a subject rolled back to the backup's rows is detected" 5 \
	"$BIN" audit verify
e2e_finish
