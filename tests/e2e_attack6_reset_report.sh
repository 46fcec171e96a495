#!/usr/bin/env bash
# The printable access report (export --format html) told the subject that
# a cookie reset was an "objection in force" ("kielto tai vastustus",
# "voimassa"): the reset is an entry of the ledger of kind objection, and
# only the JSON report and the web page knew it as a thing done. Its row
# must read as an action done, in both languages, while a real objection
# still reads as one in force. Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

C1=GA1.2.1111111111.1738324800
e2e_init_customer "add a customer" first_name=Ilmatar last_name=Zyxwvutila \
	email=ilmatar@example.com
check "link a cookie" 0 "$BIN" cookie link "$A" "$C1"
check "reset the cookie profile" 0 "$BIN" cookie reset "$A"
check "the subject objects to direct marketing" 0 \
	"$BIN" object "$A" direct_marketing

row() { grep -F "$1" <<<"$out"; }
check "the printable report in English" 0 "$BIN" export "$A" --format html --lang en
R=$(row "Cookie identifiers unlinked")
expect "has the reset's row" test -n "$R"
expect "the reset is done" grep -q "<td>done</td>" <<<"$R"
expect "not an objection in force" eval '! grep -qE "objection|in force" <<<"$R"'
expect "a real objection is still in force" grep -q "<td>in force</td>" <<<"$out"

check "the printable report in Finnish" 0 "$BIN" export "$A" --format html --lang fi
R=$(row "Evästetunnisteet irrotettu")
expect "has the reset's row" test -n "$R"
expect "the reset is done" grep -q "<td>tehty</td>" <<<"$R"
expect "not an objection in force" eval '! grep -qE "kielto|voimassa" <<<"$R"'

e2e_finish
