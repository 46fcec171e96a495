#!/usr/bin/env bash
# Attack: cut the tail of the disclosure log, the breach register or the
# data subject requests, or undo a breach's or a request's last change.
# Someone who can write the database file but holds no key keeps the pins
# in meta ("disclosure_head", "breach_set", "dsr_set") and
# the rows from an older copy, then deletes or puts back the newest rows and
# puts the old pins back. Rows and pins match each other, but the audit
# trail (whose own chain and head `audit verify` checks) still records the
# writes that vanished: `audit verify` must find each cut on its own.
# (Listing the logs checks their chains and pins only: counting the trail
# is verify's work, see docs/architecture.md.)
. "$(dirname "$0")/e2e-common.sh"

setup() { # a register with a customer who consented to third-party marketing
	export REKISTERI_DB="$WORK/$1.db"
	IN='' check "$1: init" 0 "$BIN" init --policy "$POLICY"
	IN='' check "$1: a customer" 0 "$BIN" subject add --kind customer --field first_name=Aino --field last_name=Loki --field street_address="Katu 1" --field email=a@example.com
	A=$out
	IN='' check "$1: consent" 0 "$BIN" consent give "$A" third_party_marketing
}
disclose() { IN='' check "$1" 0 "$BIN" disclose direct_marketing_partners --purpose marketing_communications --subject "$A"; }
breach() { IN="$2" check "$1" 0 "$BIN" breach open --aware-at "$3" --description-stdin --category contact; }
meta_hex() { rows "SELECT hex(value) FROM meta WHERE key = '$1'"; }
verify_finds() { # NAME WORD: audit verify exits 5 and names WORD
	IN='' check "$1" 5 "$BIN" audit verify
	expect "$1: the message names $2" grep -q "$2" <<<"$err$out"
}

# 1. The disclosure log's newest line deleted, its pin put back.
setup disclosures
disclose "first disclosure"
rows "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
dh=$(meta_hex disclosure_head)
disclose "second disclosure"
IN='' check "before the cut, verify passes" 0 "$BIN" audit verify
rows "DELETE FROM disclosure WHERE id = (SELECT max(id) FROM disclosure);
UPDATE meta SET value = x'$dh' WHERE key = 'disclosure_head';"
verify_finds "the cut disclosure log is found" "disclosure log"

# 2. The newest breach deleted, the set's pin put back.
setup breaches
breach "first breach" first 2026-12-01T10:00:00Z
rows "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
bs=$(meta_hex breach_set)
breach "second breach" second 2026-12-02T10:00:00Z
IN='' check "before the cut, verify passes" 0 "$BIN" audit verify
rows "DELETE FROM breach WHERE id = (SELECT max(id) FROM breach);
UPDATE meta SET value = x'$bs' WHERE key = 'breach_set';"
verify_finds "the cut breach register is found" "breach"

# 3. A breach's last change undone: the row and the pin from before it.
setup change
breach "a breach" third 2026-12-03T10:00:00Z
rows "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
bs=$(meta_hex breach_set)
# an UPDATE statement that puts every column of the row back as it is now
cols=$(rows "SELECT group_concat(name, ' ') FROM pragma_table_info('breach') WHERE name <> 'id'")
sets=$(for c in $cols; do printf "'%s = ' || quote(%s) || ', ' || " "$c" "$c"; done)
undo=$(rows "SELECT 'UPDATE breach SET ' || ${sets}'id = id WHERE id = 1;' FROM breach WHERE id = 1")
IN='' check "the risk is assessed" 0 "$BIN" breach update 1 --risk high
IN='' check "after the change, verify passes" 0 "$BIN" audit verify
rows "$undo
UPDATE meta SET value = x'$bs' WHERE key = 'breach_set';"
IN='' check "the old row and pin match each other" 0 "$BIN" breach show 1
verify_finds "the undone change is found" "breach"

# 4. The newest data subject request deleted, the set's pin put back.
setup requests
IN='' check "a first request" 0 "$BIN" dsr open "$A" access
rows "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
ds=$(meta_hex dsr_set)
IN='' check "a second request" 0 "$BIN" dsr open "$A" erasure
IN='' check "before the cut, verify passes" 0 "$BIN" audit verify
rows "DELETE FROM dsr WHERE id = (SELECT max(id) FROM dsr);
UPDATE meta SET value = x'$ds' WHERE key = 'dsr_set';"
IN='' check "the rows and the pin match each other" 0 "$BIN" dsr list --all
verify_finds "the cut requests are found" "request"

# 5. A request's closing undone: the row and the pin from before it.
setup closing
IN='' check "a request" 0 "$BIN" dsr open "$A" access
rows "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
ds=$(meta_hex dsr_set)
cols=$(rows "SELECT group_concat(name, ' ') FROM pragma_table_info('dsr') WHERE name <> 'id'")
sets=$(for c in $cols; do printf "'%s = ' || quote(%s) || ', ' || " "$c" "$c"; done)
undo=$(rows "SELECT 'UPDATE dsr SET ' || ${sets}'id = id WHERE id = 1;' FROM dsr WHERE id = 1")
IN='' check "the request is closed" 0 "$BIN" dsr close 1 --outcome done
IN='' check "after closing, verify passes" 0 "$BIN" audit verify
rows "$undo
UPDATE meta SET value = x'$ds' WHERE key = 'dsr_set';"
IN='' check "the old row and pin match each other" 0 "$BIN" dsr show 1
verify_finds "the undone closing is found" "request"

# 6. A request's row edited: verify checks every row's MAC.
IN='' check "closed again" 0 "$BIN" dsr close 1 --outcome done
rows "UPDATE dsr SET due = '2099-01-01' WHERE id = 1"
verify_finds "an edited request is found" "request"

e2e_finish
