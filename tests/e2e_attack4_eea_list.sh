#!/usr/bin/env bash
# Attack: the register takes the EU/EEA from the policy's
# "countries"."eu_eea" list. A policy that lists the US there, so that a
# recipient in the US would receive personal data without any safeguard
# (GDPR Chapter V), is refused by `policy check` and by `policy apply`; the
# notice in force keeps the safeguard.
. "$(dirname "$0")/e2e-common.sh"
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
IN='' check "and not applied" 2 "$BIN" policy apply "$WORK/p.json"
expect "the notice in force is still version 1" test "$(rows "SELECT max(version) FROM policy_version")" = 1
IN='' check "a customer" 0 "$BIN" subject add --kind customer --field first_name=Aino --field last_name=Siirto --field email=a@example.com
A=$out
IN='' check "the transfer to the US goes under its safeguard" 0 "$BIN" --json disclose cloud_services --purpose orders --subject "$A"
expect "the log records the safeguard" test "$(rows "SELECT count(*) FROM disclosure WHERE safeguard = 'scc'")" = 1
e2e_finish
