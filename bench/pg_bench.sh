#!/usr/bin/env bash
# Runs bench_pg (rekisteri on PostgreSQL against a plaintext COPY of the
# same rows) on a throwaway cluster. Usage: pg_bench.sh BENCH_PG_BINARY [N]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH=${1:?pg_bench.sh BENCH_PG_BINARY [N]}
N=${2:-2000}
WORK=$(mktemp -d)
trap 'bash "$HERE/../tests/pg-cluster.sh" stop "$WORK/pg"; rm -rf "$WORK"' EXIT
bash "$HERE/../tests/pg-cluster.sh" start "$WORK/pg" >/dev/null
PGBIN=$(bash "$HERE/../tests/pg-cluster.sh" bin)
"$PGBIN/createdb" -h "$WORK/pg" -U postgres bench
cd "$WORK"
RK_BENCH_PG_URL="postgresql:///bench?host=$WORK/pg&user=postgres" "$BENCH" --n "$N"
