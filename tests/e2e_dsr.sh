#!/usr/bin/env bash
# End-to-end tests of data subject requests and their deadlines (GDPR Art.
# 12(3)) through the real binary on a real SQLite file: the number printed
# alone, dates as YYYY-MM-DD, the overdue list, one extension within the
# first month, closing with the recipients to tell, who may, rows edited
# with the sqlite3 shell, and requests outliving their subject. Late and
# timely requests come from receipt dates far in the past and today (UTC,
# the register's clock), so no check depends on the day it runs. Each check
# states what it proves; the script ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

TODAY=$(date -u +%F)
# numbers: the request numbers of the --json list in $out, "1 2 "
numbers() { grep -o '"number": [0-9]*' <<<"$out" | sed 's/.*: //' | tr '\n' ' '; }

check "init" 0 "$BIN" init --policy "$POLICY"
check "add a customer" 0 "$BIN" subject add --kind customer \
	--field last_name=Zyxwvutila --field email=ilmatar@example.com
A=$out
check "add a second customer" 0 "$BIN" subject add --kind customer \
	--field last_name=Qwertyläinen --field email=vaino@example.fi
B=$out

# --- help --------------------------------------------------------------------
check "dsr --help" 0 "$BIN" dsr --help
expect "the help names every form" grep -q "dsr close N --outcome done|refused" <<<"$out"
for v in open list show extend close; do
	check "dsr $v --help" 0 "$BIN" dsr "$v" --help
	expect "dsr $v --help prints the usage" grep -q "^usage: rekisteri dsr open" <<<"$out"
done
check "the verb list names dsr" 0 "$BIN" --help
expect "rekisteri --help lists dsr" grep -q "^  dsr open ID TYPE" <<<"$out"
check "dsr without a form is bad usage" 2 "$BIN" dsr

# --- open, show, list ----------------------------------------------------------
check "open an erasure request received 31.1.2025" 0 "$BIN" dsr open "$A" erasure --received 2025-01-31 --verified-by strong-auth
expect "open prints the number alone" test "$out" = "1"
check "show it" 0 "$BIN" dsr show 1
expect "show: received as YYYY-MM-DD" grep -qE '^received: +2025-01-31$' <<<"$out"
expect "show: due the last day of February" grep -qE '^due: +2025-02-28$' <<<"$out"
expect "show: late" grep -qE '^status: +open \(overdue\)$' <<<"$out"
expect "show: the method of verification" grep -qE '^verified by: +strong-auth$' <<<"$out"
check "open --json" 0 "$BIN" --json dsr open "$A" access
expect "open --json is one JSON document with the number" test "$out" = '{"number": 2}'
check "show --json" 0 "$BIN" --json dsr show 2
expect "show --json: received today" grep -q "\"received\": \"$TODAY\"" <<<"$out"
expect "show --json: due is a date" grep -qE '"due": "[0-9]{4}-[0-9]{2}-[0-9]{2}"' <<<"$out"
expect "show --json: not late" grep -q '"overdue": false' <<<"$out"
check "open: received on Holy Saturday's month" 0 "$BIN" dsr open "$B" portability --received 2025-03-19
check "its due date skips Easter" 0 "$BIN" dsr show 3
expect "received 2025-03-19: due Tuesday 2025-04-22" grep -qE '^due: +2025-04-22$' <<<"$out"
check "open: received 2020-01-15, long late" 0 "$BIN" dsr open "$B" objection --received 2020-01-15
check "open: received 2021-06-01, to be closed" 0 "$BIN" dsr open "$B" restriction --received 2021-06-01
check "an unknown type is refused" 2 "$BIN" dsr open "$A" complaint
check "a receipt in the future is refused" 2 "$BIN" dsr open "$A" access --received 2999-01-01
check "a date that does not exist is refused" 2 "$BIN" dsr open "$A" access --received 2025-02-29
check "a method is a short name" 2 "$BIN" dsr open "$A" access --verified-by "passport 1234"
check "an unknown subject" 3 "$BIN" dsr open 0123456789abcdef0123456789abcdef access
check "not a subject ID" 2 "$BIN" dsr open nobody access
check "no such request" 3 "$BIN" dsr show 99
check "not a number" 2 "$BIN" dsr show 1x

check "list" 0 "$BIN" dsr list
expect "list has a header" grep -qE '^NUMBER +TYPE +STATUS +RECEIVED +DUE +EXTENDED +CLOSED +SUBJECT$' <<<"$out"
expect "list shows the dates and the subject" grep -qE "^1 +erasure +overdue +2025-01-31 +2025-02-28 +- +- +$A\$" <<<"$out"

# --- extend ----------------------------------------------------------------------
IN="many requests at once" check "extend a request received today (reason on standard input)" 0 "$BIN" dsr extend 2 --reason -
expect "extend shows the extended due date" grep -qE '^extended due: +[0-9]{4}-[0-9]{2}-[0-9]{2}$' <<<"$out"
expect "extend shows its reason" grep -qE '^extended for: +"many requests at once"$' <<<"$out"
expect "the reason is sealed in the database" test "$(cat "$REKISTERI_DB" "$REKISTERI_DB-wal" 2>/dev/null | grep -c "many requests at once")" = 0
check "extend twice is refused" 2 "$BIN" dsr extend 2 --reason "again"
expect "the refusal says why" grep -q "only once" <<<"$err"
check "extend after the first month is refused" 2 "$BIN" dsr extend 1 --reason "late"
expect "that refusal says why" grep -q "first month ended on 2025-02-28" <<<"$err"
check "extend needs a reason" 2 "$BIN" dsr extend 3
check "a reason holds no HETU" 2 "$BIN" dsr extend 3 --reason "asks for 131052-308T"

# --- close -----------------------------------------------------------------------
check "close 5 done" 0 "$BIN" dsr close 5 --outcome done
expect "closing a restriction lists the recipients to tell" grep -q "^recipients to tell (Art. 19):" <<<"$out"
expect "the recipients have kind and country" grep -qE '^  [a-z_]+ +(processor|third_party|authority) +[A-Z]{2}$' <<<"$out"
check "a refusal needs its reason" 2 "$BIN" dsr close 1 --outcome refused
check "an outcome is done or refused" 2 "$BIN" dsr close 1 --outcome later
check "close needs --outcome" 2 "$BIN" dsr close 1
check "close an erasure request --json" 0 "$BIN" --json dsr close 1 --outcome done
expect "close --json lists the recipients" grep -q '"recipients": \[' <<<"$out"
expect "close --json says how they were chosen" grep -q '"recipients_basis": "purposes"' <<<"$out"
expect "the closing date is today" grep -q "\"closed\": \"$TODAY\"" <<<"$out"
check "close twice is refused" 2 "$BIN" dsr close 1 --outcome done
check "closing an access request" 0 "$BIN" --json dsr close 2 --outcome refused --reason "manifestly unfounded"
expect "an access request tells no recipients" grep -q '"recipients": null' <<<"$out"

# --- the overdue list ---------------------------------------------------------------
# Open now: 3 (due 2025-04-22) and 4 (received 2020): both late.
check "list --overdue --json" 0 "$BIN" --json dsr list --overdue
expect "--overdue shows exactly the late open requests" test "$(numbers)" = "3 4 "
check "list --json (open ones)" 0 "$BIN" --json dsr list
expect "list shows the open ones" test "$(numbers)" = "3 4 "
check "list --all --json" 0 "$BIN" --json dsr list --all
expect "list --all shows closed ones too" test "$(numbers)" = "1 2 3 4 5 "
check "open one received today" 0 "$BIN" dsr open "$A" rectification
check "list --overdue --json again" 0 "$BIN" --json dsr list --overdue
expect "a request received today is not late" test "$(numbers)" = "3 4 "
check "list --due-before" 0 "$BIN" --json dsr list --due-before 2021-01-01
expect "--due-before keeps the deadlines before the date" test "$(numbers)" = "4 "
check "--due-before needs a date" 2 "$BIN" dsr list --due-before soon
check "--open and --all exclude each other" 2 "$BIN" dsr list --open --all
check "list --overdue" 0 "$BIN" dsr list --overdue
expect "the readable overdue list marks them" test "$(grep -c ' overdue ' <<<"$out")" = 2

# --- who may -----------------------------------------------------------------------
check "add a customer service actor" 0 "$BIN" actor add cs1 --role customer_service
CS=$out
check "add the data protection lead" 0 "$BIN" actor add lead --role dpo
LEAD=$out
check "customer service may not list requests" 4 env REKISTERI_TOKEN="$CS" "$BIN" --actor cs1 dsr list
expect "the refusal names the rule" grep -q "may not handle data subject requests" <<<"$err"
check "customer service may not open one" 4 env REKISTERI_TOKEN="$CS" "$BIN" --actor cs1 dsr open "$A" access
check "customer service may not close one" 4 env REKISTERI_TOKEN="$CS" "$BIN" --actor cs1 dsr close 3 --outcome done
check "the data protection lead may list" 0 env REKISTERI_TOKEN="$LEAD" "$BIN" --actor lead dsr list
check "the data protection lead may open" 0 env REKISTERI_TOKEN="$LEAD" "$BIN" --actor lead dsr open "$B" access
check "the audit log" 0 "$BIN" audit log
expect "the refusals are audited" test "$(grep -cE $'\tcs1\tdsr\\.(list|open|close)\t.*\trefused$' <<<"$out")" = 3
expect "opening is audited with the subject's pseudonym" grep -qE $'\toperator\tdsr\\.open\t[0-9a-f]{32}\t.*\tok$' <<<"$out"
expect "reads are audited" grep -qE $'\tlead\tdsr\\.list\t' <<<"$out"
expect "no reason in the trail" test "$(grep -c "manifestly" <<<"$out")" = 0

# --- edited behind the register's back ------------------------------------------------
rows "UPDATE dsr SET due = '2030-01-01' WHERE id = 4"
check "a due date edited with sqlite3 is caught by list" 5 "$BIN" dsr list
check "... and by show" 5 "$BIN" dsr show 3
check "... and by close" 5 "$BIN" dsr close 3 --outcome done
rows "UPDATE dsr SET due = '2020-02-17' WHERE id = 4"
check "put back, it lists again" 0 "$BIN" dsr list
rows "DELETE FROM dsr WHERE id = 4"
check "a request deleted with sqlite3 is caught" 5 "$BIN" dsr list

# --- requests outlive their subject ----------------------------------------------------
W="$WORK/s"
mkdir "$W"
export REKISTERI_DB="$W/r.db"
check "init a second register" 0 "$BIN" init --policy "$POLICY"
check "add a customer there" 0 "$BIN" subject add --kind customer --field last_name=Zyxwvutila
C=$out
check "an erasure request for it" 0 "$BIN" dsr open "$C" erasure
P=$(rows "SELECT pseudonym FROM dsr WHERE id = 1")
rows "DELETE FROM subject WHERE id = '$C'"
check "with the subject row gone, requests still list" 0 "$BIN" --json dsr list
expect "the request keeps the pseudonym" grep -q "\"pseudonym\": \"$P\"" <<<"$out"
expect "the subject shows as gone" grep -q '"subject": null' <<<"$out"
check "and it can be closed" 0 "$BIN" dsr close 1 --outcome done
expect "the recipients come from the purposes at receipt" grep -qE '^  [a-z_]+ +(processor|third_party|authority) +[A-Z]{2}$' <<<"$out"

e2e_finish
