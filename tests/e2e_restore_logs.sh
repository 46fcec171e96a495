#!/usr/bin/env bash
# End-to-end: restores keep the disclosure log, the breach register and the
# requests live, and `audit verify` (which counts them against the trail)
# still passes after one. A forced restore that replaced a broken trail by
# the backup's says so in its entry; from then on the trail cannot account
# for the logs, and verify passes too.
. "$(dirname "$0")/e2e-common.sh"

e2e_init_customer "a customer" first_name=Aino last_name=Loki \
	"street_address=Katu 1" email=a@example.com
IN='' check "consent" 0 "$BIN" consent give "$A" third_party_marketing
disclose() { IN='' check "$1" 0 "$BIN" disclose direct_marketing_partners --purpose marketing_communications --subject "$A"; }
breach() { IN="$2" check "$1" 0 "$BIN" breach open --aware-at "$3" --description-stdin --category contact; }
IN='' check "a backup" 0 "$BIN" backup "$WORK/b1.db"
disclose "a disclosure after the backup"
breach "a breach after the backup" later 2026-12-02T10:00:00Z
IN='' check "a request after the backup" 0 "$BIN" dsr open "$A" erasure
IN='' check "the backup comes back" 0 "$BIN" restore "$WORK/b1.db"
IN='' check "and the register verifies" 0 "$BIN" audit verify
disclose "another disclosure"
rows "PRAGMA wal_checkpoint(TRUNCATE); UPDATE audit SET actor = 'x' WHERE seq = 2" >/dev/null
IN='' check "a forced restore replaces the broken trail" 0 "$BIN" restore --force "$WORK/b1.db"
IN='' check "and the register verifies" 0 "$BIN" audit verify
e2e_finish
