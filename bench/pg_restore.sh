#!/usr/bin/env bash
# Times moving and restoring a register of N subjects on PostgreSQL (a
# throwaway cluster) beside SQLite: bench_subjects makes a SQLite register
# through the bulk path; then `migrate --to` PostgreSQL, `backup` and
# `restore` there, and the same backup and restore on SQLite. Prints the
# seconds of each step; asserts nothing about them.
# Usage: pg_restore.sh BUILD_DIR [N]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:?pg_restore.sh BUILD_DIR [N]}" && pwd)
N=${2:-20000}
BIN=$BUILD/rekisteri
WORK=$(mktemp -d)
chmod 755 "$WORK"
trap 'bash "$HERE/../tests/pg-cluster.sh" stop "$WORK/pg"; rm -rf "$WORK"' EXIT
bash "$HERE/../tests/pg-cluster.sh" start "$WORK/pg" >/dev/null
PGBIN=$(bash "$HERE/../tests/pg-cluster.sh" bin)
"$PGBIN/createdb" -h "$WORK/pg" -U postgres bench
PG="postgresql:///bench?host=$WORK/pg&user=postgres"

# the register: the bulk one bench_subjects keeps
"$BUILD/bench_subjects" --n "$N" --dir "$WORK" --keep --skip-commit \
	>"$WORK/gen.log"
GEN=$(ls -d "$WORK"/*/ | grep -v "/pg/$" | head -n 1)
DB=$GEN/rk-bulk.db
KEY=$GEN/rk-bulk.key

secs() { # label command...: runs it, prints its wall-clock seconds
	local label=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	"$@" >"$WORK/step.log" 2>&1 || {
		echo "FAIL $label"
		cat "$WORK/step.log"
		exit 1
	}
	t1=$(date +%s.%N)
	awk -v l="$label" -v a="$t0" -v b="$t1" 'BEGIN { printf "%-40s %8.2f s\n", l, b - a }'
}

echo "register: $N subjects, $(du -k "$DB" | cut -f1) kB SQLite file"
on() { # on DB ARGS...: the binary on that register
	local db=$1
	shift
	"$BIN" --db "$db" --key-file "$KEY" "$@"
}
secs "migrate SQLite -> PostgreSQL" on "$DB" migrate --to "$PG"
secs "backup PostgreSQL" on "$PG" backup "$WORK/pg-backup.db"
secs "restore PostgreSQL" on "$PG" restore "$WORK/pg-backup.db"
secs "audit verify PostgreSQL" on "$PG" audit verify
secs "migrate PostgreSQL -> SQLite" on "$PG" migrate --to "$WORK/back.db"
secs "backup SQLite" on "$DB" backup "$WORK/sq-backup.db"
secs "restore SQLite" on "$DB" restore "$WORK/sq-backup.db"
