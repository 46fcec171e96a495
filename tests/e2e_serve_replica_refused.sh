#!/usr/bin/env bash
# `rekisteri serve --read-replica` refuses to start, with a clear error and
# exit 2, when the replica cannot be one: on a SQLite register (it has no
# replica), and on PostgreSQL when the URL names a server that is not a
# standby in recovery (here the primary itself). The refusal comes before
# the server listens: no port is written.
. "$(dirname "$0")/e2e-common.sh"

check "init" 0 "$BIN" init --policy "$POLICY"
if [ -n "${RK_PG_DBNAME-}" ]; then
	NOT_STANDBY=$REKISTERI_DB
	WHY="not a standby"
else
	# never reached: the register's kind refuses it first
	NOT_STANDBY="postgresql:///rk_nowhere?host=$WORK/none&user=postgres"
	WHY="needs a PostgreSQL register"
fi
check "serve with a replica that cannot be one" 2 timeout 60 "$BIN" serve \
	--listen 127.0.0.1:0 --port-file "$WORK/port" --threads 2 \
	--read-replica "$NOT_STANDBY"
expect "the refusal says why" grep -q -- "--read-replica: .*$WHY" <<<"$err"
expect "it did not listen" test ! -s "$WORK/port"
check "the same through the environment" 2 env REKISTERI_READ_REPLICA="$NOT_STANDBY" \
	timeout 60 "$BIN" serve --listen 127.0.0.1:0 --port-file "$WORK/port" --threads 2
expect "it says why too" grep -q "$WHY" <<<"$err"
check "--read-replica without a URL" 2 "$BIN" serve --read-replica
check "--replica-max-lag without a replica" 2 timeout 60 "$BIN" serve \
	--listen 127.0.0.1:0 --port-file "$WORK/port" --replica-max-lag 500
expect "the refusal says why" grep -q -- "--replica-max-lag needs --read-replica" <<<"$err"
check "--replica-max-lag below 0" 2 "$BIN" serve --replica-max-lag -1
check "serve --help names the option" 0 "$BIN" serve --help
expect "it does" grep -q -- "--read-replica URL" <<<"$out"
e2e_finish
