#!/usr/bin/env bash
# sqlite-only: edits the database file with the sqlite3 shell
# Attack: hide a self-service link's open from the exchange's look-up by
# changing only how its entry in the trail is stored, not what the chain
# hashes. Someone who can write the database file puts back the
# self-service table and its pinned set as they were while the link was
# unused (as in e2e_attack15_selfsvc_table_rollback), then rewrites the
# `fields` of the link's `selfservice.open` entry
#   1. as a BLOB of the very same bytes, or
#   2. as the same text with a NUL byte and more after it.
# Both read as the same C string, so the chain's hash still matched, but
# SQL compares them otherwise and the look-up (fields = ?) misses them.
# The trail's reader now tells an entry stored so: `audit verify` reports
# it as altered (exit 5). The exchange itself still trusts the look-up
# (docs/architecture.md says what that leaves open).
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

attempt() { # attempt NAME SQL-EXPRESSION-FOR-THE-NEW-FIELDS
	local name=$1 expr=$2
	export REKISTERI_DB="$WORK/$name.db"
	a5_start
	person_link "$name: a link for the person"
	selfsvc_keep
	req "$name: the person opens her data" 201 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
	req "$name: the link works once" 410 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
	e2e_serve_stop

	selfsvc_put_back "
UPDATE audit SET fields = $expr WHERE action = 'selfservice.open' AND outcome = 'ok'"
	expect "$name: the open's entry holds the link's ID still" \
		test "$(rows "SELECT count(*) FROM audit WHERE action = 'selfservice.open' AND CAST(fields AS TEXT) GLOB 'link:*'")" = 1
	check "$name: audit verify reports the entry as altered" 5 "$BIN" audit verify
	expect "$name: ... and names it" grep -q "was altered" <<<"$out$err"
}

attempt blob "CAST(fields AS BLOB)"
attempt nul "fields || char(0)"
e2e_finish
