#!/usr/bin/env bash
# End-to-end tests of disclosures, the disclosure log, transfers outside the
# EU/EEA, the own direct-marketing register and may-contact by the law,
# through the real binary on a real SQLite file. Each check states what it
# proves; the script ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

# pyjson EXPR: EXPR over the JSON document in $out (as d) is true
pyjson() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" <<<"$out"; }

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
add() { # add NAME KIND FIELDS...: the new subject's ID in the variable NAME
	local var=$1 kind=$2
	shift 2
	IN='' check "add $var" 0 "$BIN" subject add --kind "$kind" "$@"
	printf -v "$var" '%s' "$out"
}
add A customer --field first_name=Aino --field last_name=Suostuja --field email=aino@example.com --field street_address="Katu 1" --field postal_code=00100 --field city=Helsinki
add P customer --field first_name=Pekka --field last_name=Kieltaja --field email=pekka@example.com --field street_address="Katu 2"
add R customer --field first_name=Riikka --field last_name=Rajattu --field street_address="Katu 3"
add N customer --field first_name=Niko --field last_name=Eisuostu --field street_address="Katu 4"
for s in "$A" "$P" "$R"; do
	IN='' check "third-party marketing consent" 0 "$BIN" consent give "$s" third_party_marketing
done
IN='' check "P prohibits direct marketing" 0 "$BIN" object "$P" direct_marketing
IN='' check "R is restricted" 0 "$BIN" restrict "$R" --reason kiistetty

# --- third parties' own direct marketing ---------------------------------------
IN='' check "disclose to the marketing partners" 0 "$BIN" disclose direct_marketing_partners --purpose marketing_communications --all-eligible
expect "only the subject who consented and did not prohibit or get restricted" pyjson '[s["id"] for s in d["subjects"]] == ["'"$A"'"]'
expect "only name and postal address, no e-mail" pyjson 'all("email" not in s["values"] and "street_address" in s["values"] for s in d["subjects"])'
expect "the summary counts who was left out and why" grep -q "prohibition=1,restricted=1,no_consent=1" <<<"$err"
IN='' check "a named prohibited subject alone is refused" 4 "$BIN" disclose direct_marketing_partners --purpose marketing_communications --subject "$P"
IN='' check "CSV to a new file" 0 "$BIN" --json disclose direct_marketing_partners --purpose marketing_communications --all-eligible --format csv --out "$WORK/dm.csv"
expect "the summary is JSON" pyjson 'd["disclosed"] == 1 and d["excluded"] == 3'
expect "the CSV has its header and CRLF line ends" bash -c "head -c 32 '$WORK/dm.csv' | grep -q \$'^subject,type,record,name,value\r'"
expect "the file is 0600" test "$(stat -c %a "$WORK/dm.csv")" = 600
IN='' check "an existing --out file is never overwritten" 2 "$BIN" disclose direct_marketing_partners --purpose marketing_communications --all-eligible --out "$WORK/dm.csv"
IN='' check "a purpose the recipient does not serve is refused" 4 "$BIN" disclose direct_marketing_partners --purpose orders --all-eligible
IN='' check "an unknown recipient is bad input" 2 "$BIN" disclose nobody --purpose orders --all-eligible
IN='' check "neither subjects nor --all-eligible is bad usage" 2 "$BIN" disclose software_providers --purpose orders

# --- debt collection: only overdue payments, only billing data -------------------
IN='{"amount": "10.00", "currency": "EUR", "method": "invoice", "status": "overdue"}' check "an overdue payment" 0 "$BIN" record add "$N" --type payment --purpose orders
IN='{"amount": "12.00", "currency": "EUR", "method": "invoice", "status": "paid"}' check "a paid payment" 0 "$BIN" record add "$N" --type payment --purpose orders
IN='{"amount": "15.00", "currency": "EUR", "method": "card", "status": "paid"}' check "another customer's paid payment" 0 "$BIN" record add "$A" --type payment --purpose orders
IN='' check "disclose to debt collection" 0 "$BIN" disclose debt_collection --purpose orders --all-eligible
expect "only the subject with an overdue payment, only that payment" pyjson '[s["id"] for s in d["subjects"]] == ["'"$N"'"] and [r["fields"]["status"] for r in d["subjects"][0]["records"]] == ["overdue"]'

# --- an event's participants --------------------------------------------------------
IN='{"event": "Asiakasilta", "date": "2025-03-01"}' check "A took part in the event" 0 "$BIN" record add "$A" --type event
IN='' check "event participants need --event" 2 "$BIN" disclose event_participants --purpose customer_relationship --all-eligible
IN='' check "disclose the participants of one event" 0 "$BIN" disclose event_participants --purpose customer_relationship --all-eligible --event Asiakasilta
expect "names only, of that event's participants" pyjson '[s["id"] for s in d["subjects"]] == ["'"$A"'"] and sorted(d["subjects"][0]["values"]) == ["first_name", "last_name"]'

# --- an authority, with its legal ground ---------------------------------------------
IN='' check "an authority without a legal ground is bad input" 2 "$BIN" disclose authorities --purpose misuse_prevention --subject "$N"
IN='' check "an authority with its legal ground" 0 "$BIN" disclose authorities --purpose misuse_prevention --subject "$N" --legal-ground "Poliisilaki 872/2011 4:3"

# --- the log: in the subject's list and access report ---------------------------------
IN='' check "disclosure list of A" 0 "$BIN" --json disclosure list --subject "$A"
expect "A's disclosures: the partners twice, the event once" pyjson 'sorted(e["recipient"] for e in d) == ["direct_marketing_partners", "direct_marketing_partners", "event_participants"]'
expect "the log names fields, not values" bash -c "! grep -q 'Suostuja' <<<'$out'"
IN='' check "disclosure list of P is empty" 0 "$BIN" --json disclosure list --subject "$P"
expect "nothing went about P" pyjson 'd == []'
IN='' check "disclosure list of N" 0 "$BIN" disclosure list --subject "$N"
expect "the legal ground is in the list" grep -q "Poliisilaki 872/2011 4:3" <<<"$out"
IN='' check "access report of N" 0 "$BIN" export "$N" --format json --lang en
expect "the report lists N's disclosures" pyjson 'sorted(e["recipient"] for e in d["disclosures"]) == ["authorities", "debt_collection"]'
IN='' check "the HTML report too" 0 "$BIN" export "$N" --format html --lang en
expect "its disclosures section" grep -q "<h2>Disclosures</h2>" <<<"$out"
expect "the disclosures were audited" test "$(rows "SELECT count(*) FROM audit WHERE action = 'disclose' AND outcome = 'ok'")" -ge 5
expect "the refusals were audited" test "$(rows "SELECT count(*) FROM audit WHERE action = 'disclose' AND outcome = 'refused'")" -ge 2
IN='' check "a staff role cannot read the log" 0 "$BIN" actor add cs1 --role customer_service
export REKISTERI_TOKEN=$out
IN='' check "customer service is refused the log" 4 "$BIN" --actor cs1 disclosure list
unset REKISTERI_TOKEN

# --- transfers outside the EU/EEA ---------------------------------------------------------
IN='' check "the US provider has SCCs: allowed" 0 "$BIN" disclose cloud_services --purpose orders --subject "$A"
python3 - "$POLICY" "$WORK/nosafe.json" "$WORK/nolists.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
del p["recipients"]["cloud_services"]["safeguard"]
json.dump(p, open(sys.argv[2], "w"), indent=2, ensure_ascii=False)
del p["countries"]
json.dump(p, open(sys.argv[3], "w"), indent=2, ensure_ascii=False)
EOF
IN='' check "policy check refuses a US recipient without a safeguard" 2 "$BIN" policy check "$WORK/nosafe.json"
expect "with the file, line and column" grep -qE "nosafe.json:[0-9]+:[0-9]+: .*outside the EU/EEA" <<<"$err"
MAIN_DB=$REKISTERI_DB
export REKISTERI_DB="$WORK/r2.db"
IN='' check "a register whose policy names no countries" 0 "$BIN" init --policy "$WORK/nolists.json"
IN='' check "a subject there" 0 "$BIN" subject add --kind customer --field last_name=Pilvi
IN='' check "the transfer cannot be judged: refused" 4 "$BIN" disclose cloud_services --purpose orders --all-eligible
expect "the refusal says why" grep -q "outside the EU/EEA" <<<"$err"
expect "nothing was logged" test "$(rows "SELECT count(*) FROM disclosure")" = 0
export REKISTERI_DB=$MAIN_DB

# --- the own direct-marketing register ------------------------------------------------------
IN='' check "not while the relationship goes on" 4 "$BIN" transfer-to-marketing "$A"
IN='' check "A's relationship ends" 0 "$BIN" subject end "$A"
IN='' check "A moves to the marketing register" 0 "$BIN" --json transfer-to-marketing "$A"
expect "names and the postal address move" pyjson 'd["fields"] == ["first_name", "last_name", "street_address", "postal_code", "city"] and d["retention"] == "marketing_register"'
IN='' check "not twice" 2 "$BIN" transfer-to-marketing "$A"
IN='' check "P's relationship ends" 0 "$BIN" subject end "$P"
IN='' check "never for a subject with the prohibition" 4 "$BIN" transfer-to-marketing "$P"
IN='' check "the move is in A's disclosure list" 0 "$BIN" --json disclosure list --subject "$A"
expect "as the own register" pyjson 'any(e["recipient"] == "rk:marketing_register" and e["recipient_kind"] == "controller" for e in d)'

# --- may-contact by the law --------------------------------------------------------------------
add C customer --field last_name=Ostaja --field email=ostaja@example.com
IN='{"product": "Tulostin X", "amount": "99.00", "currency": "EUR"}' check "C buys a printer" 0 "$BIN" record add "$C" --type purchase
IN='' check "similar products: yes" 0 "$BIN" may-contact "$C" --channel email --product-category printers
expect "with its provision and the opt-out" bash -c "grep -q '917/2014 s. 200(2)' <<<'$out' && grep -q 'refuse' <<<'$out'"
IN='' check "other products: no" 4 "$BIN" may-contact "$C" --channel email --product-category scanners
IN='' check "an unknown category is bad input" 2 "$BIN" may-contact "$C" --channel email --product-category nothing
IN='' check "automated calls need consent" 4 "$BIN" may-contact "$C" --channel automated_call
IN='' check "automated call consent" 0 "$BIN" consent give "$C" automated_call_marketing
IN='' check "then they are allowed" 0 "$BIN" --json may-contact "$C" --channel automated_call
expect "the JSON names rule, law and condition" pyjson 'd["allowed"] and d["law"] == "917/2014 s. 200(1)" and "refuse" in d["condition"]'
IN='' check "a third party the consent names" 0 "$BIN" may-contact "$A" --channel post --for third-party --recipient direct_marketing_partners
IN='' check "a third party it does not name" 4 "$BIN" may-contact "$A" --channel post --for third-party --recipient event_participants
expect "says so" grep -q "names this third party" <<<"$out"
IN='' check "a restricted subject: no" 4 "$BIN" may-contact "$R" --channel post

IN='' check "audit verify" 0 "$BIN" audit verify
e2e_finish
