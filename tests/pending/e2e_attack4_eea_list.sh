#!/usr/bin/env bash
# Attack (pending): the EU/EEA is a fixed set of 30 states, but the register
# takes it from the policy's "countries"."eu_eea" list. A policy that lists
# US there passes `policy check` and `policy apply`, and a recipient in the
# US without any safeguard then receives personal data (GDPR Chapter V).
# The policy parser (src/policy.c) should refuse a code that is not an
# EU/EEA state in "eu_eea"; the disclosure should refuse it too.
. "$(dirname "$0")/../e2e-common.sh"
command -v python3 >/dev/null || { echo "python3 needed"; exit 77; }

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
python3 - "$POLICY" >"$WORK/p.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["countries"]["eu_eea"].append("US")
del p["recipients"]["cloud_services"]["safeguard"]
print(json.dumps(p))
PY
IN='' check "a policy that calls the US part of the EU/EEA is refused" 2 "$BIN" policy check "$WORK/p.json"
"$BIN" policy apply "$WORK/p.json" >/dev/null 2>&1
IN='' check "a customer" 0 "$BIN" subject add --kind customer --field first_name=Aino --field last_name=Siirto --field email=a@example.com
A=$out
IN='' check "no transfer to the US without a safeguard" 4 "$BIN" disclose cloud_services --purpose orders --subject "$A"
expect "nothing in the log" test "$(rows "SELECT count(*) FROM disclosure")" = 0
e2e_finish
