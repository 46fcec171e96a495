#!/usr/bin/env bash
# Sizing on PostgreSQL beside SQLite: N subjects (four values and a consent
# each) through the CLI into a throwaway cluster and into a SQLite file;
# prints bytes per subject (tables with their indexes) and writes per
# second of one CLI writer. Usage: REKISTERI_BIN=... pg_sizing.sh [N]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${REKISTERI_BIN:?REKISTERI_BIN must name the rekisteri binary}
POLICY="$HERE/../policies/ocr-factory.json"
N=${1:-1000}
WORK=$(mktemp -d)
trap 'bash "$HERE/../tests/pg-cluster.sh" stop "$WORK/pg"; rm -rf "$WORK"' EXIT
bash "$HERE/../tests/pg-cluster.sh" start "$WORK/pg" >/dev/null
PGBIN=$(bash "$HERE/../tests/pg-cluster.sh" bin)
"$PGBIN/createdb" -h "$WORK/pg" -U postgres sizing
URL="postgresql:///sizing?host=$WORK/pg&user=postgres"

load() { # DB KEY: adds N subjects, prints the milliseconds it took
	local db=$1 key=$2 t0 t1 id i
	"$BIN" --db "$db" --key-file "$key" init --policy "$POLICY" >/dev/null
	t0=$(date +%s%3N)
	for i in $(seq 1 "$N"); do
		id=$("$BIN" --db "$db" --key-file "$key" subject add --kind customer \
			--field first_name="Etu$i" --field last_name="Suku$i" \
			--field email="s$i@example.com")
		"$BIN" --db "$db" --key-file "$key" consent give "$id" location \
			--channel app >/dev/null
	done
	t1=$(date +%s%3N)
	echo $((t1 - t0))
}
pg_ms=$(load "$URL" "$WORK/pg.key")
sq_ms=$(load "$WORK/r.db" "$WORK/r.db.key")
"$PGBIN/psql" -d "$URL" -Xq -c "VACUUM ANALYZE" >/dev/null
pg_bytes=$("$PGBIN/psql" -d "$URL" -XAtq -c "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'")
sq_bytes=$(stat -c %s "$WORK/r.db")
rows=$("$PGBIN/psql" -d "$URL" -XAtq -c "SELECT (SELECT count(*) FROM subject) + (SELECT count(*) FROM value) + (SELECT count(*) FROM consent) + (SELECT count(*) FROM audit)")
echo "subjects: $N (values 4 each with the customer number, one consent each)"
echo "rows: $rows"
printf 'postgresql: %d bytes, %d bytes/subject, %d writes/s (one CLI process a write)\n' \
	"$pg_bytes" $((pg_bytes / N)) $((2000 * N / pg_ms))
printf 'sqlite:     %d bytes, %d bytes/subject, %d writes/s (one CLI process a write)\n' \
	"$sq_bytes" $((sq_bytes / N)) $((2000 * N / sq_ms))
"$PGBIN/psql" -d "$URL" -XAtq -F ' ' -c "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 2 DESC LIMIT 6"
