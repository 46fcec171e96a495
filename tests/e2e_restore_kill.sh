#!/usr/bin/env bash
# A restore killed with SIGKILL at many points while it replaces the rows
# leaves the register as it was (or, past its commit, whole as restored):
# it verifies, and a restore run again completes. The kill is made exact
# with strace: SIGKILL at the Nth write to the database (pwrite64 on
# SQLite, sendto to the PostgreSQL server).
. "$(dirname "$0")/e2e-common.sh"

if ! command -v strace >/dev/null 2>&1; then
	echo "skipped: strace is needed"
	exit 0
fi
call=pwrite64
if [ -n "${RK_PG_DBNAME-}" ]; then call=sendto; fi

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
for n in 1 2 3; do
	IN='' check "add customer $n" 0 "$BIN" subject add --kind customer \
		--field first_name="Aino$n" --field last_name=Tappolainen \
		--field email="aino$n@example.com"
done
IN='' check "backup" 0 "$BIN" backup "$WORK/bk.db"
# the subjects and their values: what a restore replaces
state() { rows "SELECT (SELECT count(*) FROM subject) || ',' || (SELECT count(*) FROM value)"; }
# One restore that runs to the end counts the calls a restore makes; the
# kills then fall at tenths of that, most of them inside its transaction.
IN='' check "a customer after the backup" 0 "$BIN" subject add \
	--kind customer --field first_name=Myohainen --field last_name=Uusi
strace -qq -f -o "$WORK/calls" -e trace=$call "$BIN" restore "$WORK/bk.db" >/dev/null 2>&1
total=$(grep -c "$call(" "$WORK/calls")
expect "a whole restore makes calls to count ($total)" test "$total" -ge 20
IN='' check "another customer after the backup" 0 "$BIN" subject add \
	--kind customer --field first_name=Myohainen --field last_name=Uusi
live=$(state)
kills=0 kept=0 broken=0
for k in 1 2 3 4 5 6 7 8 9; do
	when=$((total * k / 10))
	(strace -qq -f -o /dev/null -e trace=$call \
		-e inject=$call:signal=KILL:when=$when \
		"$BIN" restore "$WORK/bk.db" >/dev/null 2>&1) 2>/dev/null
	rc=$?
	[ "$rc" -eq 0 ] && continue # finished before the Nth call
	kills=$((kills + 1))
	s=$(state)
	if [ "$s" = "$live" ]; then
		kept=$((kept + 1))
	else
		# past the commit: the restore is whole, and stays so
		live=$s
	fi
	if ! "$BIN" audit verify >/dev/null 2>&1; then
		broken=$((broken + 1))
		echo "after a kill at $call #$when the register does not verify"
	fi
done
echo "kills: $kills, $kept left the register as it was"
expect "most restores were killed half-way" test "$kept" -ge 5
expect "every killed restore left a register that verifies" test "$broken" = 0
IN='' check "the restore runs again" 0 "$BIN" restore "$WORK/bk.db"
expect "the backup's subjects are back" test "$(state | cut -d, -f1)" = 3
IN='' check "and the register verifies" 0 "$BIN" audit verify
e2e_finish
