#!/usr/bin/env bash
# sqlite-only: kill -9 of writers on a SQLite file, its log and the shell
# End-to-end attack on the store's file layer (src/sqlvfs.c, which keeps a
# transaction's log frames back until its commit frame): `rekisteri serve`
# (group commit, then --no-group-commit) takes POST /v1/subjects from four
# clients at once while a CLI loop adds subjects through its own process
# and a sqlite3 shell holds a read transaction open (the log cannot start
# anew, so it grows past the shim's buffer many times); then the server,
# the CLI writer and the shell are killed with SIGKILL. Every subject whose
# POST was answered 201, and every one the CLI printed, must be in the
# register when it is opened again (the log recovered from its checksums),
# `audit verify` and PRAGMA integrity_check must pass.
. "$(dirname "$0")/e2e-common.sh"
command -v curl >/dev/null || { echo "curl is needed"; exit 1; }

check "init" 0 "$BIN" init --policy "$POLICY"
TOK="w:$("$BIN" actor add w --role customer_service)"
SECONDS_RUN=${ATTACK9_SECONDS:-4}
HOLD=
e2e_stop() {
	if [ -n "$HOLD" ]; then kill -KILL "$HOLD" 2>/dev/null; fi
	HOLD=
}

# poster N: POSTs subjects until killed; each 201's ID goes to posted.N
poster() {
	local i=0 r
	while :; do
		i=$((i + 1))
		r=$(curl -s -m 20 -w ' %{http_code}' \
			-H "Authorization: Bearer $TOK" \
			-H "Rekisteri-Purpose: customer_relationship" \
			-H "Content-Type: application/json" \
			-d "{\"kind\":\"prospect\",\"fields\":{\"email\":\"p$1-$i@example.fi\"}}" \
			"$U/v1/subjects") || continue
		case $r in
		*' 201') printf '%s\n' "$r" | sed 's/.*"id":"\([0-9a-f]*\)".*/\1/' >>"$WORK/posted.$1" ;;
		esac
	done
}
# cli_writer: adds subjects with the CLI until killed; the printed IDs of
# the adds that exited 0 go to cli.ids
cli_writer() {
	local i=0 id
	while :; do
		i=$((i + 1))
		if id=$("$BIN" subject add --kind prospect --field "email=c-$i@example.fi" 2>/dev/null); then
			printf '%s\n' "$id" >>"$WORK/cli.ids"
		fi
	done
}

phase() {
	local name=$1 pids=() k want missing id
	shift
	: >"$WORK/cli.ids"
	e2e_must "$name: the server starts" e2e_serve --no-access-log --threads 4 "$@"
	ok "$name: the server starts"
	# a reader holding its snapshot: the log cannot start anew
	mkfifo "$WORK/hold.$name"
	sqlite3 "$REKISTERI_DB" <"$WORK/hold.$name" >/dev/null 2>&1 &
	HOLD=$!
	exec 7>"$WORK/hold.$name"
	printf 'BEGIN;\nSELECT count(*) FROM sqlite_master;\n' >&7
	for k in 1 2 3 4; do
		: >"$WORK/posted.$k"
		poster "$k" &
		pids+=($!)
	done
	cli_writer &
	pids+=($!)
	sleep "$SECONDS_RUN"
	# the crash: the server first, while the clients still send
	kill -KILL "$SPID"
	wait "$SPID" 2>/dev/null
	SPID=
	# the CLI loop and the add it runs now, then the shell
	for k in "${pids[@]}"; do
		pkill -KILL -P "$k" 2>/dev/null
		kill -KILL "$k" 2>/dev/null
		wait "$k" 2>/dev/null
	done
	exec 7>&-
	e2e_stop
	wait 2>/dev/null
	cat "$WORK"/posted.* "$WORK/cli.ids" | grep -E '^[0-9a-f]{32}$' | sort -u >"$WORK/want.$name"
	want=$(wc -l <"$WORK/want.$name")
	echo "$name: $want subjects acknowledged, log $(stat -c %s "$REKISTERI_DB-wal" 2>/dev/null || echo 0) bytes"
	expect "$name: writes were acknowledged ($want)" test "$want" -gt 20
	# the register opened anew: every acknowledged subject is there
	rows "SELECT id FROM subject" | sort -u >"$WORK/have.$name"
	missing=$(comm -23 "$WORK/want.$name" "$WORK/have.$name" | wc -l)
	expect "$name: no acknowledged subject lost ($missing of $want missing)" test "$missing" -eq 0
	for id in $(shuf -n 3 "$WORK/want.$name"); do
		check "$name: subject show of an acknowledged one" 0 "$BIN" subject show "$id" --purpose customer_relationship
	done
	check "$name: integrity_check" 0 rows "PRAGMA integrity_check"
	expect "$name: integrity_check says ok" test "$out" = ok
	check "$name: audit verify" 0 "$BIN" audit verify
}

phase group
phase nogroup --no-group-commit
e2e_finish
