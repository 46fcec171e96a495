#!/usr/bin/env python3
"""Every audit action the library writes is documented in docs/audit.md,
and the document names no action the library does not write.

An action is a string literal in src/ of dotted lower-case words
("subject.add"), or one of the few single words below; file names are not
actions.

usage: lint_audit_actions.py SOURCE_ROOT
"""
import glob
import os
import re
import sys

SINGLE = {"disclose", "may_contact", "object"}
NOT_ACTIONS = {"subject.json"}


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    code = set()
    for f in glob.glob(os.path.join(root, "src", "*.[ch]")):
        text = re.sub(r"/\*.*?\*/", " ", open(f, encoding="utf-8").read(),
                      flags=re.S)
        for m in re.finditer(r'"([a-z_]+(?:\.[a-z_]+)+)"', text):
            name = m.group(1)
            if re.search(r"\.(h|c|json|md|db)$", name) or name in NOT_ACTIONS:
                continue
            code.add(name)
        for m in re.finditer(r'"([a-z_]+)"', text):
            if m.group(1) in SINGLE:
                code.add(m.group(1))
    doc_path = os.path.join(root, "docs", "audit.md")
    text = open(doc_path, encoding="utf-8").read()
    text = text[text.index("## Actions"):]
    doc = set(re.findall(r"^\| `([a-z_.]+)` \|", text, re.M))
    bad = 0
    for name in sorted(code - doc):
        print(f"lint_audit_actions: {name} is written but not in docs/audit.md")
        bad += 1
    for name in sorted(doc - code):
        print(f"lint_audit_actions: docs/audit.md names {name}, which "
              "nothing writes")
        bad += 1
    print(f"lint_audit_actions: {len(code)} actions, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
