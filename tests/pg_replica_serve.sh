#!/usr/bin/env bash
# `rekisteri serve --read-replica` (run by tests/pg-suite.sh with
# REKISTERI_TEST_PG=1): a standby of the suite's cluster
# (tests/pg-cluster.sh standby) serves the server's pure reads. Shows that a
# GET is served there (with replay paused it shows the value from before an
# update another process made on the primary, and the replica counter in
# /metrics moves), that the server reads its own writes on any handle (a
# PATCH and a POST through the server, then GETs: the new values, from the
# primary), that may-contact stays on the primary, that a read that fails
# on a standby that lags the whole register is run again on the primary
# (its answer right, the retry counted), that a stopped standby falls back
# to the primary, and that audit verify passes.
. "$(dirname "$0")/e2e-common.sh"
command -v curl >/dev/null || { echo "curl is needed"; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
e2e_standby pg_replica_serve
# req NAME WANT_STATUS METHOD PATH [PURPOSE] [BODY]: as customer service
# (or the actor whose token is in $AS); the answer's body in $body
req() {
	local name=$1 want=$2 method=$3 path=$4 pur=${5-} data=${6-}
	local args=(-s -o "$WORK/body" -w '%{http_code}' -X "$method"
		-H "Authorization: Bearer ${AS:-$TOK}")
	[ -n "$pur" ] && args+=(-H "Rekisteri-Purpose: $pur")
	[ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
	code=$(curl "${args[@]}" "$U$path")
	body=$(cat "$WORK/body")
	if [ "$code" = "$want" ]; then ok "$name"; else bad "$name (status $code, wanted $want: $body)"; fi
}
jqb() { jq -r "$1" <<<"$body"; }
# metric NAME: the server's counter (0 when it is not there)
metric() {
	local v
	v=$(curl -s "$U/metrics" | awk -v n="$1" '$1 == n {print $2}')
	echo "${v:-0}"
}
CR=customer_relationship
MC=marketing_communications

check "init" 0 "$BIN" init --policy "$POLICY"
check "an actor" 0 "$BIN" actor add cs --role customer_service
TOK=$out
check "a marketer" 0 "$BIN" actor add mk --role marketing
TOK_MK="mk:$out"
check "an administrator" 0 "$BIN" actor add adm --role admin
TOK_ADM="adm:$out"
expect "the standby starts" bash "$HERE/pg-cluster.sh" standby "$RK_PG_HOST" "$SB"
expect "the standby replays the register" wait_replay

# Four handles, so that reads land on handles other than the writer's.
e2e_must "serve with the read replica" e2e_serve --threads 4 --read-replica "$REPLICA"
ok "serve with the read replica"
expect "the metrics name the replica's counters" \
	test "$(curl -s "$U/metrics" | grep -c '^rekisteri_replica_')" -eq 3

NEW='{"kind":"customer","fields":{"first_name":"Aino","last_name":"Ennen","email":"ennen@example.com"}}'
req "add a subject through the server" 201 POST /v1/subjects $CR "$NEW"
A=$(jqb .id)
req "give e-mail consent through the server" 201 POST "/v1/subjects/$A/consents" $CR \
	'{"scope":"email_marketing","given":true,"channel":"web"}'
expect "the standby replays the server's writes" wait_replay
R0=$(metric rekisteri_replica_reads_total)
req "read it" 200 GET "/v1/subjects/$A" $CR
expect "its name" test "$(jqb '.fields.last_name[0].value')" = Ennen
R1=$(metric rekisteri_replica_reads_total)
expect "the standby served the read" test "$R1" -gt "$R0"

# Replay paused: the primary moves on, the standby does not.
pq "$SB" "SELECT pg_wal_replay_pause()" >/dev/null
check "update on the primary by another process" 0 "$BIN" subject update "$A" \
	--field last_name=Jalkeen
req "read through the server" 200 GET "/v1/subjects/$A" $CR
expect "the value before the update (the standby served it)" \
	test "$(jqb '.fields.last_name[0].value')" = Ennen
R2=$(metric rekisteri_replica_reads_total)
expect "the replica counter moved" test "$R2" -gt "$R1"
check "the primary has the update" 0 "$BIN" subject show "$A"
expect "it shows it" grep -q Jalkeen <<<"$out"
req "find through the server" 200 POST /v1/lookup $CR '{"by":"email","value":"ennen@example.com"}'
expect "it finds the subject" grep -q "$A" <<<"$body"
req "list through the server" 200 GET /v1/subjects
expect "it lists the subject" grep -q "$A" <<<"$body"
req "the records through the server" 200 GET "/v1/subjects/$A/records" $CR
AS=$TOK_ADM req "the access report through the server" 200 GET "/v1/subjects/$A/export" $CR
expect "the report has the old value" grep -q Ennen <<<"$body"

# may-contact decides what a withdrawal must stop: the primary answers.
check "withdraw the consent on the primary" 0 "$BIN" consent withdraw "$A" \
	email_marketing --channel phone
R3=$(metric rekisteri_replica_reads_total)
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $TOK_MK" \
	-H "Rekisteri-Purpose: $MC" "$U/v1/subjects/$A/may-contact?channel=email")
body=$(cat "$WORK/body")
expect "may-contact answers" test "$code" = 200
expect "it says no: the withdrawal the standby has not replayed" \
	test "$(jqb .allowed)" = false
expect "may-contact read nothing on the standby" \
	test "$(metric rekisteri_replica_reads_total)" -eq "$R3"

# Read-your-writes: the server's own writes, with replay still paused.
F0=$(metric 'rekisteri_replica_fallbacks_total{reason="primary"}')
req "update through the server" 204 PATCH "/v1/subjects/$A" $CR '{"fields":{"last_name":"Oma"}}'
for i in 1 2 3 4 5 6; do
	req "read after the write ($i)" 200 GET "/v1/subjects/$A" $CR
	expect "the server's own write ($i)" test "$(jqb '.fields.last_name[0].value')" = Oma
done
expect "those reads went to the primary" \
	test "$(metric 'rekisteri_replica_fallbacks_total{reason="primary"}')" -ge $((F0 + 6))
expect "and none to the standby" test "$(metric rekisteri_replica_reads_total)" -eq "$R3"
NEW2='{"kind":"customer","fields":{"first_name":"Uuno","last_name":"Uusi","email":"uusi@example.com"}}'
req "add a subject through the server" 201 POST /v1/subjects $CR "$NEW2"
B=$(jqb .id)
req "read the new subject" 200 GET "/v1/subjects/$B" $CR
expect "it is there" test "$(jqb '.fields.last_name[0].value')" = Uusi
req "find it" 200 POST /v1/lookup $CR '{"by":"email","value":"uusi@example.com"}'
expect "found" grep -q "$B" <<<"$body"

pq "$SB" "SELECT pg_wal_replay_resume()" >/dev/null
expect "the standby catches up" wait_replay
R4=$(metric rekisteri_replica_reads_total)
req "read after replay" 200 GET "/v1/subjects/$B" $CR
expect "the new subject" test "$(jqb '.fields.last_name[0].value')" = Uusi
expect "served by the standby again" test "$(metric rekisteri_replica_reads_total)" -gt "$R4"

# Measured, not asserted: of 100 reads with the standby caught up, how
# many the standby served, and their mean time through curl.
R5=$(metric rekisteri_replica_reads_total)
P5=$(metric 'rekisteri_replica_fallbacks_total{reason="primary"}')
ms=0
for i in $(seq 1 100); do
	t=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $TOK" \
		-H "Rekisteri-Purpose: $CR" "$U/v1/subjects/$A")
	ms=$(awk -v a="$ms" -v b="$t" 'BEGIN{print a + b * 1000}')
done
echo "measured: 100 GETs: $(($(metric rekisteri_replica_reads_total) - R5)) standby reads," \
	"$(($(metric 'rekisteri_replica_fallbacks_total{reason="primary"}') - P5)) on the primary," \
	"mean $(awk -v a="$ms" 'BEGIN{printf "%.2f", a / 100}') ms"

# A write whose WAL position cannot be learned (the primary does not say,
# as when the connection drops right after the commit): reads stay on the
# primary until one learns where the primary's WAL ends, then the standby
# serves them again. A function of the same name earlier on the server's
# search path stands in for the primary not saying.
e2e_serve_stop
pq "$RK_PG_HOST" "CREATE SCHEMA trap; CREATE TABLE trap.flag (lose boolean);
	INSERT INTO trap.flag VALUES (false);
	CREATE FUNCTION trap.pg_current_wal_insert_lsn() RETURNS pg_lsn
	LANGUAGE sql AS 'SELECT CASE WHEN (SELECT lose FROM trap.flag) THEN NULL
	ELSE pg_catalog.pg_current_wal_insert_lsn() END'" >/dev/null
TRAPDB="$REKISTERI_DB&options=-c%20search_path%3Dpublic,trap,pg_catalog"
e2e_must "serve with the stand-in" e2e_serve --db "$TRAPDB" --key-file "$WORK/r.db.key" --threads 4 \
	--read-replica "$REPLICA"
ok "serve with the stand-in"
pq "$RK_PG_HOST" "UPDATE trap.flag SET lose = true" >/dev/null
R6=$(metric rekisteri_replica_reads_total)
req "update while the position is lost" 204 PATCH "/v1/subjects/$A" $CR '{"fields":{"last_name":"Kadonnut"}}'
for i in 1 2 3 4; do
	req "read after it ($i)" 200 GET "/v1/subjects/$A" $CR
	expect "the write shows ($i)" test "$(jqb '.fields.last_name[0].value')" = Kadonnut
done
expect "none of those went to the standby" \
	test "$(metric rekisteri_replica_reads_total)" -eq "$R6"
pq "$RK_PG_HOST" "UPDATE trap.flag SET lose = false" >/dev/null
back=0
for i in 1 2 3 4 5 6 7 8; do
	wait_replay
	req "read once the primary says again ($i)" 200 GET "/v1/subjects/$A" $CR
	expect "the write still shows ($i)" test "$(jqb '.fields.last_name[0].value')" = Kadonnut
	if [ "$(metric rekisteri_replica_reads_total)" -gt "$R6" ]; then
		back=1
		break
	fi
done
expect "the standby serves reads again, without a restart" test "$back" = 1
e2e_serve_stop
pq "$RK_PG_HOST" "DROP SCHEMA trap CASCADE" >/dev/null

# --replica-max-lag: a change another process makes (the server's floor
# cannot know of it) shows within the bound, or the read goes to the
# primary; a standby that replays recent commits serves as before.
e2e_must "serve with a lag bound" e2e_serve --threads 4 --read-replica "$REPLICA" \
	--replica-max-lag 5000
ok "serve with a lag bound"
check "a write on the primary by another process" 0 "$BIN" subject update "$A" \
	--field last_name=Tuore
expect "the standby replays it" wait_replay
R7=$(metric rekisteri_replica_reads_total)
req "read with the standby caught up" 200 GET "/v1/subjects/$A" $CR
expect "the value" test "$(jqb '.fields.last_name[0].value')" = Tuore
expect "the standby served it (its replay is recent)" \
	test "$(metric rekisteri_replica_reads_total)" -gt "$R7"
pq "$SB" "SELECT pg_wal_replay_pause()" >/dev/null
check "another process's change, which the standby does not replay" 0 \
	"$BIN" subject update "$A" --field last_name=Muutettu
sleep 6
R8=$(metric rekisteri_replica_reads_total)
req "read once the bound has passed" 200 GET "/v1/subjects/$A" $CR
expect "the change shows (the primary answered)" \
	test "$(jqb '.fields.last_name[0].value')" = Muutettu
expect "the standby served nothing" test "$(metric rekisteri_replica_reads_total)" -eq "$R8"
pq "$SB" "SELECT pg_wal_replay_resume()" >/dev/null
check "one more write" 0 "$BIN" subject update "$A" --field last_name=Kadonnut
expect "the standby catches up" wait_replay
req "read after the catch-up" 200 GET "/v1/subjects/$A" $CR
expect "served by the standby again" test "$(metric rekisteri_replica_reads_total)" -gt "$R8"
e2e_serve_stop
e2e_must "serve with the read replica again" e2e_serve --threads 4 --read-replica "$REPLICA"
ok "serve with the read replica again"

# A stopped standby: the reads fall back to the primary.
expect "the standby stops" bash "$HERE/pg-cluster.sh" down "$SB"
req "read with the standby stopped" 200 GET "/v1/subjects/$A" $CR
expect "the primary answered" test "$(jqb '.fields.last_name[0].value')" = Kadonnut
AS=$TOK_ADM req "audit verify through the server" 200 GET /v1/audit/verify
e2e_serve_stop
check "audit verify" 0 "$BIN" audit verify
expect "the standby starts again" bash "$HERE/pg-cluster.sh" up "$SB"
expect "it catches up" wait_replay

# A standby that lags a second register's whole life (its database is
# there, empty): a read on it fails, runs again on the primary, and only
# that answer shows.
LAGDB="${RK_PG_DBNAME}_lag"
"$RK_PG_BIN/createdb" -h "$RK_PG_HOST" -U postgres "$LAGDB"
expect "the standby has the empty database" wait_replay
pq "$SB" "SELECT pg_wal_replay_pause()" >/dev/null
LAG=(--db "postgresql:///$LAGDB?host=$RK_PG_HOST&user=postgres" --key-file "$WORK/lag.key")
check "a register the standby has not seen" 0 "$BIN" "${LAG[@]}" init --policy "$POLICY"
check "its actor" 0 "$BIN" "${LAG[@]}" actor add cs --role customer_service
TOK=$out
check "its subject" 0 "$BIN" "${LAG[@]}" subject add --kind customer \
	--field last_name=Myohainen --field email=myohainen@example.com
L=$out
e2e_must "serve it with the lagging standby" e2e_serve "${LAG[@]}" \
	--read-replica "postgresql:///$LAGDB?host=$SB&user=postgres"
ok "serve it with the lagging standby"
req "read through the lagging standby" 200 GET "/v1/subjects/$L" $CR
expect "the primary's answer" test "$(jqb '.fields.last_name[0].value')" = Myohainen
expect "the retry is counted" \
	test "$(metric 'rekisteri_replica_fallbacks_total{reason="retry"}')" -ge 1
req "list through the lagging standby" 200 GET /v1/subjects
expect "the subject is listed once" test "$(grep -o "$L" <<<"$body" | wc -l)" -eq 1
e2e_serve_stop
pq "$SB" "SELECT pg_wal_replay_resume()" >/dev/null
check "audit verify of the second register" 0 "$BIN" "${LAG[@]}" audit verify
"$RK_PG_BIN/dropdb" -h "$RK_PG_HOST" -U postgres --if-exists "$LAGDB" >/dev/null 2>&1
e2e_finish
