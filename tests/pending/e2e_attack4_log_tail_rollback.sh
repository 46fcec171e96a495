#!/usr/bin/env bash
# Attack (pending): cut the tail of the disclosure log or of the breach
# register. Someone who can write the database file but holds no key keeps
# the pin in meta ("disclosure_head", "breach_set") from an older copy (a
# backup), then deletes the newest rows and puts the old pin back. The
# remaining rows and the pin match each other, so `disclosure list`,
# `breach list` and `audit verify` all pass although the audit trail still
# holds the entries of the disclosure and the breach that vanished. The
# pins should be bound to the audit trail (as subject rows are by their
# audit_seq), or verify should count the log against the trail.
. "$(dirname "$0")/../e2e-common.sh"

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
IN='' check "a customer" 0 "$BIN" subject add --kind customer --field first_name=Aino --field last_name=Loki --field street_address="Katu 1" --field email=a@example.com
A=$out
IN='' check "consent" 0 "$BIN" consent give "$A" third_party_marketing
IN='' check "first disclosure" 0 "$BIN" disclose direct_marketing_partners --purpose marketing_communications --subject "$A"
IN='first' check "first breach" 0 "$BIN" breach open --aware-at 2026-12-01T10:00:00Z --description-stdin --category contact
rows "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
dh=$(rows "SELECT hex(value) FROM meta WHERE key = 'disclosure_head'")
bs=$(rows "SELECT hex(value) FROM meta WHERE key = 'breach_set'")
IN='' check "second disclosure" 0 "$BIN" disclose direct_marketing_partners --purpose marketing_communications --subject "$A"
IN='second' check "second breach" 0 "$BIN" breach open --aware-at 2026-12-02T10:00:00Z --description-stdin --category contact
rows "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
rows "DELETE FROM disclosure WHERE id = (SELECT max(id) FROM disclosure);
UPDATE meta SET value = x'$dh' WHERE key = 'disclosure_head';
DELETE FROM breach WHERE id = (SELECT max(id) FROM breach);
UPDATE meta SET value = x'$bs' WHERE key = 'breach_set';"
IN='' check "the cut disclosure log is refused" 5 "$BIN" disclosure list --subject "$A"
IN='' check "the cut breach register is refused" 5 "$BIN" breach list --all
IN='' check "audit verify finds the cut" 5 "$BIN" audit verify
e2e_finish
