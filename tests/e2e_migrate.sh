#!/usr/bin/env bash
# End-to-end tests of moving a register (rekisteri migrate --to DB): on
# SQLite into another SQLite file; on PostgreSQL (tests/pg-suite.sh) into a
# SQLite file and from there into a second PostgreSQL database. Each move
# must verify, read the same, keep its audit trail, carry nothing in
# plaintext and refuse to overwrite anything.
. "$(dirname "$0")/e2e-common.sh"

# as DB KEY ARGS...: the binary on another register
as() {
	local db=$1 key=$2
	shift 2
	"${RK_PG_REAL_BIN:-$BIN}" --db "$db" --key-file "$key" "$@"
}
KEY="$WORK/r.db.key"

check "init" 0 "$BIN" init --policy "$POLICY"
check "add a customer" 0 "$BIN" subject add --kind customer \
	--field first_name=Ilmatar --field last_name=Zyxwvutila \
	--field email=ilmatar.muutto@example.com
A=$out
check "a consent" 0 "$BIN" consent give "$A" location --channel app
check "show before" 0 "$BIN" subject show "$A"
before=$out
check "consent history before" 0 "$BIN" consent history "$A"
hist_before=$out

M="$WORK/moved.db"
check "migrate --help" 0 "$BIN" migrate --help
expect "the help names --to" grep -q -- "--to DB" <<<"$out"
check "migrate without --to is bad usage" 2 "$BIN" migrate
check "move into a SQLite file" 0 "$BIN" --json migrate --to "$M"
expect "the move says it verified" grep -q '"verified": true' <<<"$out"
check "the moved register verifies" 0 as "$M" "$KEY" audit verify
check "it reads the same" 0 as "$M" "$KEY" subject show "$A"
expect "the same subject view" test "$out" = "$before"
check "the same consent history" 0 as "$M" "$KEY" consent history "$A"
expect "the ledger came along" test "$out" = "$hist_before"
expect "no plaintext in the moved file" \
	bash -c "! grep -q 'ilmatar.muutto' '$M'"
check "the source's trail records the move" 0 "$BIN" audit log
expect "an entry register.migrate" grep -q "register.migrate" <<<"$out"
check "a move never overwrites a file" 2 "$BIN" migrate --to "$M"
check "the moved register takes new subjects" 0 as "$M" "$KEY" \
	subject add --kind customer --field last_name=Toinen
check "and still verifies" 0 as "$M" "$KEY" audit verify

if [ -n "${RK_PG_DBNAME-}" ]; then
	# from the SQLite file into a second PostgreSQL database
	"$RK_PG_BIN/createdb" -h "$RK_PG_HOST" -U postgres "${RK_PG_DBNAME}_2"
	P2="postgresql:///${RK_PG_DBNAME}_2?host=$RK_PG_HOST&user=postgres"
	check "move back into PostgreSQL" 0 as "$M" "$KEY" migrate --to "$P2"
	check "it verifies there" 0 as "$P2" "$KEY" audit verify
	check "and reads the same" 0 as "$P2" "$KEY" subject show "$A"
	expect "the same subject view again" test "$out" = "$before"
	check "a database that holds a register is refused" 1 \
		as "$M" "$KEY" migrate --to "$P2"
	check "new subjects after the moves" 0 as "$P2" "$KEY" \
		subject add --kind customer --field last_name=Kolmas
	check "verify after them" 0 as "$P2" "$KEY" audit verify
	"$RK_PG_BIN/dropdb" -h "$RK_PG_HOST" -U postgres "${RK_PG_DBNAME}_2"
fi
e2e_finish
