#!/usr/bin/env python3
"""Every audit action the library writes is documented in docs/audit.md,
and the document names no action the library does not write.

The actions are one table: the enum in src/audit_action.h and the names
array in src/audit_action.c ([AUD_X] = "name"). Every enum member has one
name, no name is given twice, and no other source file spells an action's
name as a string literal (it passes the enum). An objection of the policy
is audited under the policy's name (object.NAME): docs/audit.md describes
it in prose, not in the table.

usage: lint_audit_actions.py SOURCE_ROOT
"""
import glob
import os
import re
import sys


def strip_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    src = os.path.join(root, "src")
    problems = []
    header = strip_comments(open(os.path.join(src, "audit_action.h"),
                                 encoding="utf-8").read())
    m = re.search(r"typedef enum audit_action\s*\{(.*?)\}", header, re.S)
    if m is None:
        print("lint_audit_actions: no enum audit_action in "
              "src/audit_action.h")
        return 1
    members = [x.strip() for x in m.group(1).split(",") if x.strip()]
    members = [x for x in members if x != "AUD_COUNT"]
    table = strip_comments(open(os.path.join(src, "audit_action.c"),
                                encoding="utf-8").read())
    entries = re.findall(r'\[(AUD_[A-Z0-9_]+)\]\s*=\s*"([^"]*)"', table)
    names = {}
    for member, name in entries:
        if member in names:
            problems.append(f"{member} has two names")
        names[member] = name
    for member in members:
        if member not in names:
            problems.append(f"{member} has no name in src/audit_action.c")
    for member in names:
        if member not in members:
            problems.append(f"{member} is named but not in the enum")
    code = set(names.values())
    if len(code) != len(names):
        problems.append("two actions share a name")
    for f in sorted(glob.glob(os.path.join(src, "*.[ch]"))):
        if os.path.basename(f).startswith("audit_action."):
            continue
        text = strip_comments(open(f, encoding="utf-8").read())
        for lit in sorted(set(re.findall(r'"([a-z_.]+)"', text)) & code):
            problems.append(f"{os.path.basename(f)} spells the action "
                            f"{lit} as a string: pass its AUD_ constant")
    doc_path = os.path.join(root, "docs", "audit.md")
    text = open(doc_path, encoding="utf-8").read()
    text = text[text.index("## Actions"):]
    doc = set(re.findall(r"^\| `([a-z_.]+)` \|", text, re.M))
    for name in sorted(code - doc):
        problems.append(f"{name} is written but not in docs/audit.md")
    for name in sorted(doc - code):
        problems.append(f"docs/audit.md names {name}, which nothing writes")
    for p in problems:
        print("lint_audit_actions:", p)
    print(f"lint_audit_actions: {len(code)} actions, {len(problems)} "
          "problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
