#!/usr/bin/env python3
"""The library's layers: every call between modules of src/ goes down.

Each module (one .c file) has a rank below; a call from one module to a
function defined in another is allowed only to a lower rank. The few calls
that still go sideways or up are listed in KNOWN with the reason, and are
printed on every run; anything else fails, and so does a module that has
no rank (a new file must say where it sits).

usage: lint_layers.py SRC_DIR
"""
import glob
import os
import re
import sys

RANKS = {
    # below everything: plain file helpers
    "fsutil": -1,
    # base: no register handle
    "crypto": 0, "audit_action": 0, "ident": 0, "jsonpos": 0, "htmlesc": 0, "stats_sdc": 0,
    "store_sqlite": 0, "sqlvfs": -1, "sqlmutex": -1,
    "json_secret": 1, "ajournal": 1, "htmlbuf": 1,
    "store_sqlite_access": 1, "store_sqlite_admin": 1,
    "store_sqlite_consent": 1, "store_sqlite_disclose": 1,
    "store_sqlite_dsr": 1, "store_sqlite_erase": 1,
    "store_sqlite_notice": 1, "store_sqlite_paper": 1,
    "store_sqlite_record": 1, "store_sqlite_retention": 1,
    "store_sqlite_selfsvc": 1, "store_sqlite_group": 1,
    # the PostgreSQL backend (store_pg.c also opens either backend by name)
    "store_pg": 1, "store_pg_more": 2, "store_pg_paper": 2,
    "store_pg_selfsvc": 2, "store_copy": 2, "store_pg_admin": 3,
    "store_pg_copy": 0,
    "export_html": 2,
    "policy": 3,
    # the kernel: the handle and its plain store transaction, its keys, the
    # audit trail, the row MACs; then what composes them: a write
    # transaction (txn) and opening a register (open)
    "register": 10, "keys_load": 11, "audit": 12, "integrity": 13,
    "txn": 14, "open": 15, "replica": 14,
    # what every operation asks before it acts
    "ledger": 20, "access": 21, "op": 22,
    # the operations: they call the layers below, never each other
    "subject": 30, "record": 30, "consent": 30, "dsr": 30, "erase": 30,
    "retention": 30, "disclose": 30, "breach": 30, "notice": 30,
    "keys_data": 30, "ropa": 30, "stats": 30, "selfservice": 30,
    "console": 30,
    # what composes operations
    "export": 40, "keys": 40, "backup": 40, "policy_change": 40,
    "migrate": 40,
}

# (caller, callee): why it is still there. Empty: every call goes down.
KNOWN = {}

DEF = re.compile(r"^[a-z][^\n;(=]*?\b([a-z_][a-z0-9_]*)\(", re.M)
CALL = re.compile(r"\b([a-z_][a-z0-9_]*)\s*\(")


def strip(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\\n])*"', '""', text)
    return re.sub(r"'(\\.|[^'\\\n])*'", "''", text)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    files = sorted(glob.glob(os.path.join(src, "*.c")))
    if not files:
        print("lint_layers: no sources in", src)
        return 1
    texts, defs = {}, {}
    for f in files:
        mod = os.path.basename(f)[:-2]
        texts[mod] = strip(open(f, encoding="utf-8").read())
        for m in DEF.finditer(texts[mod]):
            line = texts[mod][m.start():texts[mod].find("\n", m.start())]
            if line.startswith(("static", "typedef")):
                continue
            defs.setdefault(m.group(1), mod)
    bad, seen_known = [], set()
    for mod in texts:
        if mod not in RANKS:
            bad.append(f"{mod}.c has no rank in tests/lint_layers.py")
            continue
        for name in sorted(set(CALL.findall(texts[mod]))):
            to = defs.get(name)
            if to is None or to == mod:
                continue
            if to not in RANKS or RANKS[to] < RANKS[mod]:
                continue
            if (mod, to) in KNOWN:
                seen_known.add((mod, to))
                continue
            bad.append(f"{mod}.c (rank {RANKS[mod]}) calls {name}() of "
                       f"{to}.c (rank {RANKS[to]}): not a lower layer")
    for (a, b), why in sorted(KNOWN.items()):
        state = "still there" if (a, b) in seen_known else "GONE: drop it"
        print(f"known: {a} -> {b}: {why} ({state})")
        if (a, b) not in seen_known:
            bad.append(f"{a} -> {b} is listed in KNOWN but no longer "
                       "called: remove it from the list")
    for b in bad:
        print("lint_layers:", b)
    print(f"lint_layers: {len(texts)} modules, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
