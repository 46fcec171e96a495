#!/usr/bin/env bash
# A backup whose subject row was altered (no key needed) is refused, but the
# error says "does not decrypt" and is garbled: fit_restored formats the
# register's own error buffer into itself (reg_fail with r->err as an
# argument, overlapping vsnprintf, undefined behaviour), so the reason that
# names the row MAC is overwritten by its own prefix. The operator is told
# a wrong and unreadable reason for refusing the backup.
. "$(dirname "$0")/e2e-common.sh"

e2e_aino
IN='' check "end the relationship" 0 "$BIN" subject end "$A"
IN='' check "backup" 0 "$BIN" backup "$WORK/bk.db"
rows "UPDATE subject SET rel_end = NULL" "$WORK/bk.db"
IN='' check "the altered backup is refused" 5 "$BIN" restore "$WORK/bk.db"
expect "the reason names the row MAC ($err)" \
	grep -q "does not match its MAC" "$WORK/stderr"
expect "the reason is said once, not garbled into itself ($err)" \
	test "$(grep -o "what the backup brings back" "$WORK/stderr" | wc -l)" -le 1
e2e_finish
