#!/usr/bin/env bash
# Attack: kill `restore --into NEW.db` while it copies. It creates NEW.db
# (O_EXCL) and copies the backup straight into it, without a temporary
# name and a rename: a process killed in between leaves an empty NEW.db.
# That file is no register ("no schema"), and the retry is refused because
# NEW.db exists already: the recovery of a lost register is blocked until
# someone deletes files by hand. The manual says nothing is left at NEW.db
# on failure. The kill is made exact with strace: SIGKILL when the copy
# opens NEW.db-journal.
. "$(dirname "$0")/e2e-common.sh"

if ! command -v strace >/dev/null 2>&1; then
	echo "skipped: strace is needed"
	exit 0
fi
e2e_aino
IN='' check "backup" 0 "$BIN" backup "$WORK/bk.db"
# killed as it writes the copy, and again as it gives the copy its name
strace -qq -f -o /dev/null -e trace=pwrite64 \
	-e inject=pwrite64:signal=KILL:when=3 \
	"$BIN" --key-file "$RK_KEY" restore --into "$WORK/n.db" \
	"$WORK/bk.db" >/dev/null 2>&1
expect "a restore killed while copying leaves nothing at NEW.db" \
	test ! -e "$WORK/n.db"
strace -qq -f -o /dev/null -e trace=link,linkat \
	-e inject=link,linkat:signal=KILL \
	"$BIN" --key-file "$RK_KEY" restore --into "$WORK/n.db" \
	"$WORK/bk.db" >/dev/null 2>&1
expect "a killed restore --into leaves nothing or a whole register at NEW.db" \
	sh -c "[ ! -e '$WORK/n.db' ] || '$BIN' --db '$WORK/n.db' \
		--key-file '$RK_KEY' audit verify >/dev/null 2>&1"
IN='' check "the restore --into can be run again" 0 "$BIN" \
	--key-file "$RK_KEY" restore --into "$WORK/n.db" "$WORK/bk.db"
e2e_finish
