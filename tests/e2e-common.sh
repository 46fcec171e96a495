# Shared by the end-to-end scripts (tests/e2e_*.sh), which source it first:
# the binary and source tree from the environment, a scratch folder removed
# on exit, a register of its own in it, and the check helpers. Each script
# ends with e2e_finish, which prints "N passed, N failed" and sets the exit
# status.
set -u
BIN=${REKISTERI_BIN:?REKISTERI_BIN must name the rekisteri binary}
SRC=${RK_SOURCE_DIR:?RK_SOURCE_DIR must name the source tree}
POLICY="$SRC/policies/ocr-factory.json"
WORK=$(mktemp -d)
e2e_cleanup() {
	# a script may stop what it started by defining e2e_stop
	if declare -F e2e_stop >/dev/null; then e2e_stop; fi
	rm -rf "$WORK"
}
trap e2e_cleanup EXIT
export REKISTERI_DB="$WORK/r.db"
unset REKISTERI_KEY_FILE REKISTERI_ACTOR REKISTERI_TOKEN

pass=0 fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s\n' "$1"; }
# check NAME EXPECTED_EXIT CMD...: runs CMD with standard input from $IN
# (empty when unset), keeps stdout/stderr in $out/$err
check() {
	local name=$1 want=$2
	shift 2
	out=$(printf '%s' "${IN-}" | "$@" 2>"$WORK/stderr"); rc=$?
	err=$(cat "$WORK/stderr")
	if [ "$rc" -eq "$want" ]; then ok "$name"; else bad "$name (exit $rc, wanted $want; stderr: $err)"; fi
}
expect() { # expect NAME CONDITION-COMMAND...
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
# rows SQL [DB]: a query on the register's file (or DB) with the sqlite3 shell
rows() { sqlite3 -cmd ".timeout 10000" "${2:-$REKISTERI_DB}" "$1"; }
e2e_finish() {
	printf '%d passed, %d failed\n' "$pass" "$fail"
	[ "$fail" -eq 0 ]
}
