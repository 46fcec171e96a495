#!/usr/bin/env bash
# Attack: make a subject vanish. Someone who can write the database file but
# holds no key deletes one subject with all its rows (values, consents,
# records). The set of actors is pinned under a MAC, the set of subjects is
# not: `audit verify` reports the register rows intact, and the subject is
# gone without an erasure, a receipt or an entry in the trail, while its
# earlier entries still stand there.
. "$(dirname "$0")/e2e-common.sh"

e2e_aino email=aino@example.com
IN='' check "add another" 0 "$BIN" subject add --kind customer \
	--field first_name=Eino --field last_name=Asdfläinen \
	--field email=eino@example.com
C=$out
IN='' check "consent" 0 "$BIN" consent give "$C" email_marketing
IN='' check "verify before" 0 "$BIN" audit verify
rows "PRAGMA foreign_keys = ON;
DELETE FROM consent WHERE subject_id = '$C';
DELETE FROM value WHERE subject_id = '$C';
DELETE FROM record WHERE subject_id = '$C';
DELETE FROM cookie WHERE subject_id = '$C';
DELETE FROM subject WHERE id = '$C';"
expect "the subject is gone" test "$(rows "SELECT count(*) FROM subject")" = 1
IN='' check "a subject deleted behind the register's back is detected" 5 \
	"$BIN" audit verify
e2e_finish
