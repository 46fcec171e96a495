#!/usr/bin/env bash
# Attack: a disclosure-log line, a breach row or a breach's date deleted or
# edited with the sqlite3 shell (psql on PostgreSQL). `disclosure list` and `breach list` notice
# it, and so does `audit verify`, which walks the disclosure chain and the
# breach set with the rest of the register.
. "$(dirname "$0")/e2e-common.sh"
# A copy of the register to go back to: the file, or on PostgreSQL a
# database made from it as a template (no one is connected between verbs).
snap() {
	if [ -n "${RK_PG_DBNAME-}" ]; then
		"$RK_PG_BIN/createdb" -h "$RK_PG_HOST" -U postgres \
			-T "$RK_PG_DBNAME" "${RK_PG_DBNAME}_before"
	else
		cp "$REKISTERI_DB" "$WORK/before.db"
	fi
}
back() {
	if [ -n "${RK_PG_DBNAME-}" ]; then
		"$RK_PG_BIN/dropdb" -h "$RK_PG_HOST" -U postgres "$RK_PG_DBNAME" &&
			"$RK_PG_BIN/createdb" -h "$RK_PG_HOST" -U postgres \
				-T "${RK_PG_DBNAME}_before" "$RK_PG_DBNAME"
	else
		cp "$WORK/before.db" "$REKISTERI_DB"
		rm -f "$REKISTERI_DB-wal" "$REKISTERI_DB-shm"
	fi
}
e2e_stop() {
	if [ -n "${RK_PG_DBNAME-}" ]; then
		"$RK_PG_BIN/dropdb" -h "$RK_PG_HOST" -U postgres --if-exists \
			"${RK_PG_DBNAME}_before" >/dev/null 2>&1 || true
	fi
}

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
IN='' check "a customer" 0 "$BIN" subject add --kind customer --field first_name=Aino --field last_name=Loki --field street_address="Katu 1"
A=$out
IN='' check "consent" 0 "$BIN" consent give "$A" third_party_marketing
IN='' check "disclosure" 0 "$BIN" disclose direct_marketing_partners --purpose marketing_communications --subject "$A"
IN='a breach' check "breach" 0 "$BIN" breach open --aware-at 2026-12-01T10:00:00Z --description-stdin --category contact
IN='' check "intact before" 0 "$BIN" audit verify
snap
rows "DELETE FROM disclosure" >/dev/null
IN='' check "the list notices the deleted line" 5 "$BIN" disclosure list
IN='' check "audit verify notices it too" 5 "$BIN" audit verify
back
IN='' check "intact again from the copy" 0 "$BIN" audit verify
rows "UPDATE breach SET aware_at = aware_at + 86400" >/dev/null
IN='' check "audit verify notices a moved awareness time" 5 "$BIN" audit verify
back
rows "DELETE FROM breach" >/dev/null
IN='' check "audit verify notices a deleted breach" 5 "$BIN" audit verify
e2e_finish
