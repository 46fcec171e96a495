#!/usr/bin/env bash
# End-to-end: a short run of bench/soak_server.sh (about 5 seconds of wrk
# with GET subject, POST lookup, POST subject and PATCH subject mixed, on
# writes that share group commits): no request fails, the subjects in the
# register match the 201s answered, the audit chain verifies after, memory
# is printed at both ends. No timing is asserted.
. "$(dirname "$0")/e2e-common.sh"

if ! command -v wrk >/dev/null; then
	echo "wrk is not installed: the soak run is skipped"
	e2e_finish
	exit 0
fi
# Under AddressSanitizer freed memory waits in its quarantine (256 MiB):
# the RSS bound says nothing about leaks there (LeakSanitizer does).
slack=64
if grep -q __asan_init "${RK_PG_REAL_BIN:-$BIN}" 2>/dev/null; then
	slack=1024
	echo "a sanitizer build: the RSS bound is ${slack} MiB"
fi
check "a 5 s mixed soak run" 0 env REKISTERI_BIN="$BIN" BENCH_SECONDS=5 \
	SOAK_WARMUP=1 SOAK_SEED=50 BENCH_CONNECTIONS=8 SOAK_RSS_SLACK_MB=$slack \
	bash "$SRC/bench/soak_server.sh"
printf '%s\n' "$out"
expect "no request failed" grep -q "non-2xx 0  created [0-9]*  socket errors 0" <<<"$out"
expect "the counts match and the audit chain verifies" \
	grep -q "soak: 0 errors, counts match, audit intact" <<<"$out"
expect "subjects were created in groups" grep -Eq "answered [0-9]+ x 201" <<<"$out"
e2e_finish
