# Shared by the end-to-end scripts (tests/e2e_*.sh), which source it first:
# the binary and source tree from the environment, a scratch folder removed
# on exit, a register of its own in it, the check helpers, and a server
# started for the script (e2e_serve). Each script ends with e2e_finish,
# which prints "N passed, N failed" and sets the exit status.
set -u
BIN=${REKISTERI_BIN:?REKISTERI_BIN must name the rekisteri binary}
SRC=${RK_SOURCE_DIR:?RK_SOURCE_DIR must name the source tree}
POLICY="$SRC/policies/ocr-factory.json"
WORK=$(mktemp -d)
e2e_cleanup() {
	# a script may stop what it started by defining e2e_stop
	if declare -F e2e_stop >/dev/null; then e2e_stop; fi
	e2e_serve_stop
	if [ -n "${RK_PG_DBNAME-}" ]; then
		"$RK_PG_BIN/dropdb" -h "$RK_PG_HOST" -U postgres --if-exists \
			"$RK_PG_DBNAME" >/dev/null 2>&1 || true
	fi
	rm -rf "$WORK"
}
trap e2e_cleanup EXIT
export REKISTERI_DB="$WORK/r.db"
unset REKISTERI_KEY_FILE REKISTERI_ACTOR REKISTERI_TOKEN
# REKISTERI_TEST_PG=1 (tests/pg-suite.sh): the register is a fresh
# database of its own on the test cluster whose socket folder is
# RK_PG_HOST; the key file stays where <db>.key would be.
if [ "${REKISTERI_TEST_PG:-0}" = 1 ]; then
	: "${RK_PG_HOST:?REKISTERI_TEST_PG=1 needs RK_PG_HOST}"
	: "${RK_PG_BIN:?REKISTERI_TEST_PG=1 needs RK_PG_BIN}"
	RK_PG_DBNAME="rk_$(basename "$0" .sh)_$$"
	"$RK_PG_BIN/createdb" -h "$RK_PG_HOST" -U postgres "$RK_PG_DBNAME" ||
		exit 1
	export REKISTERI_DB="postgresql:///$RK_PG_DBNAME?host=$RK_PG_HOST&user=postgres"
	# The binary through a wrapper that gives the PostgreSQL register
	# its key file "$WORK/r.db.key" when the script names neither a
	# --db nor a --key-file, so that a second register a script makes
	# in a file keeps its own <db>.key.
	RK_PG_REAL_BIN=$BIN
	BIN="$WORK/rekisteri"
	cat >"$BIN" <<WRAP
#!/usr/bin/env bash
for a in "\$@"; do
	case \$a in --db | --db=* | --key-file | --key-file=*) exec "$RK_PG_REAL_BIN" "\$@" ;; esac
done
case \${REKISTERI_DB-} in
postgresql://* | postgres://*) export REKISTERI_KEY_FILE=\${REKISTERI_KEY_FILE:-"$WORK/r.db.key"} ;;
esac
exec "$RK_PG_REAL_BIN" "\$@"
WRAP
	chmod +x "$BIN"
fi

# The register's key file: <db>.key beside a SQLite file; on PostgreSQL
# the one the wrapper above names. What a forced restore keeps of the
# register as it was lands beside the database file, or for a PostgreSQL
# register beside its key file: "${RK_KEY%.key}.before-restore-*".
RK_KEY="$REKISTERI_DB.key"
if [ -n "${RK_PG_DBNAME-}" ]; then RK_KEY="$WORK/r.db.key"; fi
pass=0 fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s\n' "$1"; }
# check NAME EXPECTED_EXIT CMD...: runs CMD with standard input from $IN
# (empty when unset), keeps stdout/stderr in $out/$err
check() {
	local name=$1 want=$2
	shift 2
	out=$(printf '%s' "${IN-}" | "$@" 2>"$WORK/stderr"); rc=$?
	err=$(cat "$WORK/stderr")
	if [ "$rc" -eq "$want" ]; then ok "$name"; else bad "$name (exit $rc, wanted $want; stderr: $err)"; fi
}
expect() { # expect NAME CONDITION-COMMAND...
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
# rows SQL [DB]: a query on the register's file (or DB) with the sqlite3 shell
rows() { sqlite3 -cmd ".timeout 10000" "${2:-$REKISTERI_DB}" "$1"; }
# e2e_erase_pair: a new register with two customers, $A (to be erased)
# and $B (to stay), for the scripts that try to bring an erasure back.
e2e_erase_pair() {
	IN='' check "init" 0 "$BIN" init --policy "$POLICY"
	IN='' check "a subject to erase" 0 "$BIN" subject add --kind customer \
		--field first_name=Eino --field last_name=Poistettava \
		--field email=eino.poistettava@example.com
	A=$out
	IN='' check "another subject" 0 "$BIN" subject add --kind customer \
		--field first_name=Saara --field last_name=Pysyva \
		--field email=saara.pysyva@example.com
	B=$out
}
# e2e_restore_as_advised BACKUP: a value of $B spoiled, so that `audit
# verify` tells the operator to restore a backup; BACKUP restored as
# advised; $A (erased since the backup) must stay erased.
e2e_restore_as_advised() {
	rows "UPDATE value SET confirmed_at = confirmed_at + 1 WHERE subject_id = '$B'"
	IN='' "$BIN" audit verify >/dev/null 2>"$WORK/verify.err"
	expect "the tool advises a restore" grep -q "restore a backup" "$WORK/verify.err"
	IN='' "$BIN" restore "$1" >/dev/null 2>&1
	IN='' check "the erased subject stays erased after it" 3 "$BIN" subject show "$A"
	IN='' check "its e-mail finds nothing" 3 "$BIN" subject find --by email \
		eino.poistettava@example.com
}
# On PostgreSQL, a query on a register at a database URL goes to psql
# (rows separated by newlines, columns by |, as the sqlite3 shell does),
# with SQLite's dialect translated where the scripts use it: PRAGMAs go,
# x'..' blob literals become bytea, hex(col) becomes upper-case hex.
if [ -n "${RK_PG_DBNAME-}" ]; then
	rows() {
		local db=${2:-$REKISTERI_DB} sql
		case $db in
		postgresql://* | postgres://*)
			sql=$(printf '%s' "$1" | sed -E \
				-e 's/PRAGMA [^;]*;//g' \
				-e "s/(^|[^A-Za-z0-9_])[xX]'([0-9A-Fa-f]*)'/\\1'\\\\x\\2'::bytea/g" \
				-e "s/hex\\(([a-z_]+)\\)/upper(encode(\\1, 'hex'))/g")
			"$RK_PG_BIN/psql" -d "$db" -X -Atq -v ON_ERROR_STOP=1 -c "$sql"
			;;
		*) sqlite3 -cmd ".timeout 10000" "$db" "$1" ;;
		esac
	}
fi

# e2e_init_customer NAME FIELD=VALUE...: the register made on the seed
# policy (the check "init") and a customer added with the fields (the check
# NAME); the customer's ID in $A.
e2e_init_customer() {
	local name=$1 a fields=()
	shift
	for a in "$@"; do fields+=(--field "$a"); done
	IN='' check "init" 0 "$BIN" init --policy "$POLICY"
	IN='' check "$name" 0 "$BIN" subject add --kind customer "${fields[@]}"
	A=$out
}
# e2e_aino [FIELD=VALUE...]: e2e_init_customer for the attack scripts'
# customer, Aino Qwertyläinen.
e2e_aino() {
	e2e_init_customer "add a customer" first_name=Aino last_name=Qwertyläinen "$@"
}

# e2e_cookie_profile [NO-RECORD]: e2e_aino with the cookie C1 linked, the
# analytics consent and (unless an argument is given) one browsing record
# BROWSE that came through the cookie; links and cookie_records count the
# customer's links and the records that came through one.
BROWSE='{"url": "https://example.com/tuotteet", "at": "2025-01-31T12:00:00Z"}'
C1=GA1.2.1111111111.1738324800
e2e_cookie_profile() {
	e2e_aino email=aino@example.com
	check "link a cookie" 0 "$BIN" cookie link "$A" "$C1"
	check "consent to analytics cookies" 0 "$BIN" consent give "$A" analytics_cookies
	[ $# -gt 0 ] && return 0
	IN=$BROWSE check "browsing under the cookie reaches the subject" 0 \
		"$BIN" record add --cookie "$C1" --type browsing --purpose analytics
}
links() { rows "SELECT count(*) FROM cookie WHERE subject_id = '$A'"; }
cookie_records() { rows "SELECT count(*) FROM record WHERE subject_id = '$A' AND cookie_hash IS NOT NULL"; }

# e2e_sum_combine: the pinned subject sum read three times (S1, S2, S3) as
# the customer A's marketing consent is withdrawn and a second customer B
# is updated, a copy of the file taken at S1 ($WORK/first.db), and F, the
# sum S3 - S2 + S1 (little-endian mod 2^256): today's rows with A as in
# the copy. put_first_a then writes A's rows from the copy into the file.
e2e_sum_combine() {
	sum() { rows "SELECT hex(value) FROM meta WHERE key = 'subject_set'"; }
	e2e_aino email=aino@example.com
	IN='' check "the marketing consent" 0 "$BIN" consent give "$A" email_marketing
	IN='' check "a second customer" 0 "$BIN" subject add --kind customer \
		--field first_name=Bertta --field last_name=Qwertyläinen
	B=$out
	check "may-contact says yes" 0 "$BIN" may-contact "$A" --channel email
	expect "the sum is stored with its tag" [ "$(sum | wc -c)" -eq 129 ]
	S1=$(sum)
	rows "VACUUM INTO '$WORK/first.db'" >/dev/null
	IN='' check "the consent withdrawn" 0 "$BIN" consent withdraw "$A" email_marketing
	check "may-contact says no" 4 "$BIN" may-contact "$A" --channel email
	S2=$(sum)
	IN='' check "the second customer updated" 0 "$BIN" subject update "$B" \
		--field first_name=Bertha
	S3=$(sum)
	check "audit verify passes before the edit" 0 "$BIN" audit verify
	F=$(python3 - "$S1" "$S2" "$S3" <<'PY'
import sys
s1, s2, s3 = (int.from_bytes(bytes.fromhex(h[:64]), "little") for h in sys.argv[1:4])
print(((s3 - s2 + s1) % (1 << 256)).to_bytes(32, "little").hex().upper())
PY
)
	expect "the combined sum is not the first read" [ "$F" != "${S1:0:64}" ]
	expect "the combined sum is not the last read" [ "$F" != "${S3:0:64}" ]
}
put_first_a() {
	rows "ATTACH '$WORK/first.db' AS o;
		INSERT OR REPLACE INTO subject SELECT * FROM o.subject WHERE id = '$A';
		DELETE FROM value WHERE subject_id = '$A';
		INSERT INTO value SELECT * FROM o.value WHERE subject_id = '$A';
		DELETE FROM consent WHERE subject_id = '$A';
		INSERT INTO consent SELECT * FROM o.consent WHERE subject_id = '$A';"
}

# ---- a server of the script's own ------------------------------------------
# e2e_serve [SERVE OPTIONS...]: starts `rekisteri serve` on a free loopback
# port (two threads unless the options say --threads), its log appended to
# $WORK/server.log, and waits until /readyz answers 200: over HTTPS, the
# certificate not checked, when the options name --tls-cert; with the curl
# arguments of the array E2E_READY_CURL added when the script sets it. Sets
# SPID, P (the port) and U (the base URL). Returns 1 when the server exits
# or is not ready within 10 s. e2e_serve_stop stops it; the cleanup on exit
# does too, however the script ends.
SPID=
e2e_serve_stop() {
	if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
		kill -TERM "$SPID" 2>/dev/null
		wait "$SPID" 2>/dev/null
	fi
	SPID=
}
e2e_serve() {
	local scheme=http threads=(--threads 2) a i
	for a in "$@"; do
		case $a in
		--tls-cert | --tls-cert=*) scheme=https ;;
		--threads | --threads=*) threads=() ;;
		esac
	done
	rm -f "$WORK/port"
	"$BIN" serve --listen 127.0.0.1:0 --port-file "$WORK/port" "${threads[@]}" \
		"$@" 2>>"$WORK/server.log" &
	SPID=$!
	for i in $(seq 1 200); do
		if [ -s "$WORK/port" ]; then
			P=$(cat "$WORK/port")
			U="$scheme://127.0.0.1:$P"
			curl -sk -o /dev/null -w '%{http_code}' ${E2E_READY_CURL+"${E2E_READY_CURL[@]}"} \
				"$U/readyz" | grep -q 200 && return 0
		fi
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}
# e2e_must NAME CMD...: runs CMD (a server's start, say); when it fails,
# NAME is a failed check, the server's log is shown and the script ends.
e2e_must() {
	local name=$1
	shift
	"$@" && return 0
	bad "$name"
	if [ -f "$WORK/server.log" ]; then cat "$WORK/server.log"; fi
	e2e_finish
	exit 1
}
# e2e_aino_served [SERVE OPTIONS...]: a register with a customer-service
# actor (its token in $T, the purpose in $CR), a server of the script's own
# started with the options (the script ends if it does not start), and
# Aino added through it (her ID in $A); etag prints her ETag as the server
# answers it.
e2e_aino_served() {
	check "init" 0 "$BIN" init --policy "$POLICY"
	"$BIN" actor add cs --role customer_service >"$WORK/tok" || bad "actor add"
	T=$(cat "$WORK/tok")
	CR=customer_relationship
	e2e_must "the server starts" e2e_serve "$@"
	ok "the server starts"
	A=$(curl -s -X POST -H "Authorization: Bearer $T" -H "Rekisteri-Purpose: $CR" \
		-H 'Content-Type: application/json' \
		--data-binary '{"kind":"customer","fields":{"first_name":"Aino","last_name":"Qwertyläinen"}}' \
		"$U/v1/subjects" | jq -r .id)
}
etag() {
	curl -s -D - -o /dev/null -H "Authorization: Bearer $T" -H "Rekisteri-Purpose: $CR" \
		"$U/v1/subjects/$A" | grep -i '^etag:' | cut -d' ' -f2- | tr -d '\r'
}

e2e_finish() {
	printf '%d passed, %d failed\n' "$pass" "$fail"
	[ "$fail" -eq 0 ]
}

# ---- a streaming-replication standby of the pg suite's cluster ------------
# e2e_standby NAME: for the replica scripts (tests/pg-suite.sh runs them with
# REKISTERI_TEST_PG=1): SB the standby's socket folder (started by the
# script with tests/pg-cluster.sh standby, stopped on every way out),
# REPLICA its URL, pq HOST SQL [DB] a query, wait_replay until the standby
# has replayed all the primary wrote (a wait, not a measured time: it gives
# up after a minute).
e2e_standby() {
	if [ "${REKISTERI_TEST_PG:-0}" != 1 ]; then
		echo "$1: needs REKISTERI_TEST_PG=1 (tests/pg-suite.sh)" >&2
		exit 1
	fi
	SB="$WORK/sb"
	REPLICA="postgresql:///$RK_PG_DBNAME?host=$SB&user=postgres"
	e2e_stop() { bash "$SRC/tests/pg-cluster.sh" stop "$SB"; }
	pq() { "$RK_PG_BIN/psql" -h "$1" -U postgres -d "${3:-$RK_PG_DBNAME}" -Atqc "$2"; }
	wait_replay() {
		local lsn i
		lsn=$(pq "$RK_PG_HOST" "SELECT pg_current_wal_insert_lsn()")
		for i in $(seq 1 600); do
			[ "$(pq "$SB" "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] &&
				return 0
			sleep 0.1
		done
		return 1
	}
}
