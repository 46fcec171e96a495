#!/usr/bin/env bash
# Attack: a disclosure-log line, a breach row or a breach's date deleted or
# edited with the sqlite3 shell. `disclosure list` and `breach list` notice
# it, and so does `audit verify`, which walks the disclosure chain and the
# breach set with the rest of the register.
. "$(dirname "$0")/e2e-common.sh"

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
IN='' check "a customer" 0 "$BIN" subject add --kind customer --field first_name=Aino --field last_name=Loki --field street_address="Katu 1"
A=$out
IN='' check "consent" 0 "$BIN" consent give "$A" third_party_marketing
IN='' check "disclosure" 0 "$BIN" disclose direct_marketing_partners --purpose marketing_communications --subject "$A"
IN='a breach' check "breach" 0 "$BIN" breach open --aware-at 2026-12-01T10:00:00Z --description-stdin --category contact
IN='' check "intact before" 0 "$BIN" audit verify
cp "$REKISTERI_DB" "$WORK/before.db"
rows "DELETE FROM disclosure" >/dev/null
IN='' check "the list notices the deleted line" 5 "$BIN" disclosure list
IN='' check "audit verify notices it too" 5 "$BIN" audit verify
cp "$WORK/before.db" "$REKISTERI_DB"
rm -f "$REKISTERI_DB-wal" "$REKISTERI_DB-shm"
IN='' check "intact again from the copy" 0 "$BIN" audit verify
rows "UPDATE breach SET aware_at = aware_at + 86400" >/dev/null
IN='' check "audit verify notices a moved awareness time" 5 "$BIN" audit verify
cp "$WORK/before.db" "$REKISTERI_DB"
rm -f "$REKISTERI_DB-wal" "$REKISTERI_DB-shm"
rows "DELETE FROM breach" >/dev/null
IN='' check "audit verify notices a deleted breach" 5 "$BIN" audit verify
e2e_finish
