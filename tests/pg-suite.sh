#!/usr/bin/env bash
# Runs the end-to-end scripts on PostgreSQL: starts a throwaway cluster
# (tests/pg-cluster.sh), runs each tests/e2e_*.sh with REKISTERI_TEST_PG=1
# (a fresh database per script), then the concurrency test, and stops the
# cluster on every way out. Scripts that attack the SQLite file itself
# carry a "# sqlite-only" line and are skipped; "# pg-pending" marks one
# that needs a store function the PostgreSQL backend lacks so far.
# Arguments: script names to run instead of all of them.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
: "${REKISTERI_BIN:?REKISTERI_BIN must name the rekisteri binary}"
: "${RK_SOURCE_DIR:=$(dirname "$HERE")}"
export RK_SOURCE_DIR
CLUSTER=$(mktemp -d)/pg
trap 'bash "$HERE/pg-cluster.sh" stop "$CLUSTER"; rmdir "$(dirname "$CLUSTER")" 2>/dev/null' EXIT
bash "$HERE/pg-cluster.sh" start "$CLUSTER" >/dev/null || exit 1
RK_PG_BIN=$(bash "$HERE/pg-cluster.sh" bin)
export REKISTERI_TEST_PG=1 RK_PG_HOST=$CLUSTER RK_PG_BIN

if [ $# -gt 0 ]; then
	scripts=("$@")
else
	scripts=("$HERE"/e2e_*.sh "$HERE/pg_concurrency.sh" "$HERE/pg_replica.sh"
		"$HERE/pg_replica_serve.sh")
fi
passed=0 failed=0 skipped=0 failures=""
# The store's unit tests (tests/test_store_pg.c) on a database of their own.
if [ $# -eq 0 ] && [ -x "${RK_TEST_STORE_PG-}" ]; then
	"$RK_PG_BIN/createdb" -h "$CLUSTER" -U postgres rk_store_unit || exit 1
	log=$(mktemp)
	if RK_TEST_PG_URL="postgresql:///rk_store_unit?host=$CLUSTER&user=postgres" \
		"$RK_TEST_STORE_PG" >"$log" 2>&1; then
		printf 'ok   test_store_pg (%s)\n' "$(grep -c '^\[       OK' "$log") tests"
		passed=$((passed + 1))
	else
		printf 'FAIL test_store_pg\n'
		sed 's/^/     /' "$log" | tail -n 20
		failed=$((failed + 1))
		failures="$failures test_store_pg"
	fi
	rm -f "$log"
fi
for s in "${scripts[@]}"; do
	[ -f "$s" ] || s="$HERE/$s"
	name=$(basename "$s" .sh)
	if [ "${RK_PG_FORCE:-0}" != 1 ] &&
		grep -qE '^# (sqlite-only|pg-pending)' "$s"; then
		printf 'skip %s (%s)\n' "$name" \
			"$(grep -m1 -E '^# (sqlite-only|pg-pending)' "$s" | cut -c3-)"
		skipped=$((skipped + 1))
		continue
	fi
	log=$(mktemp)
	if bash "$s" >"$log" 2>&1; then
		printf 'ok   %s (%s)\n' "$name" "$(tail -n 1 "$log")"
		grep -E '^measured:' "$log" | sed 's/^/     /'
		passed=$((passed + 1))
	else
		printf 'FAIL %s\n' "$name"
		grep -E '^FAIL' "$log" | head -n 20 | sed 's/^/     /'
		tail -n 3 "$log" | sed 's/^/     /'
		failed=$((failed + 1))
		failures="$failures $name"
	fi
	rm -f "$log"
done
printf 'PostgreSQL: %d scripts passed, %d failed, %d skipped\n' \
	"$passed" "$failed" "$skipped"
[ -n "$failures" ] && printf 'failed:%s\n' "$failures"
[ "$failed" -eq 0 ]
