#!/usr/bin/env bash
# Attack (pending, low): `audit verify` says "register rows intact" while a
# disclosure-log row or a breach row was deleted with the sqlite3 shell;
# only `disclosure list` / `breach list` notice it. The integrity check
# should walk the disclosure chain and the breach set too.
. "$(dirname "$0")/../e2e-common.sh"

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
IN='' check "a customer" 0 "$BIN" subject add --kind customer --field first_name=Aino --field last_name=Loki --field street_address="Katu 1"
A=$out
IN='' check "consent" 0 "$BIN" consent give "$A" third_party_marketing
IN='' check "disclosure" 0 "$BIN" disclose direct_marketing_partners --purpose marketing_communications --subject "$A"
IN='a breach' check "breach" 0 "$BIN" breach open --aware-at 2026-12-01T10:00:00Z --description-stdin --category contact
rows "DELETE FROM disclosure" >/dev/null
IN='' check "the list notices the deleted line" 5 "$BIN" disclosure list
IN='' check "audit verify notices it too" 5 "$BIN" audit verify
e2e_finish
