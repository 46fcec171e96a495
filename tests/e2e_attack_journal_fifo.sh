#!/usr/bin/env bash
# Attack: a FIFO under a journal's name beside the database. Every open
# looks for journals of stopped processes and opens each one for reading
# without O_NONBLOCK, so every command hangs for ever instead of failing or
# passing the odd file over.
. "$(dirname "$0")/e2e-common.sh"

e2e_aino
mkfifo "$REKISTERI_DB-audit-0123456789abcdef0123456789abcdef.j"
timeout 10 "$BIN" subject list >/dev/null 2>&1
rc=$?
expect "a FIFO named like a journal does not hang subject list (exit $rc)" test "$rc" -ne 124
timeout 10 "$BIN" audit verify >/dev/null 2>&1
rc=$?
expect "nor audit verify (exit $rc)" test "$rc" -ne 124
e2e_finish
