#!/usr/bin/env bash
# sqlite-only: a full disk under a SQLite file (a small tmpfs, needs root)
# End-to-end attack on the store's file layer (src/sqlvfs.c keeps a
# transaction's log frames back and writes them at its commit): the
# register lives on an 8 MiB tmpfs. A CLI transaction larger than the disk
# (an attachment) must fail cleanly; then the server (group commit, then
# --no-group-commit) takes POSTs from two clients while a file fills the
# disk: writes fail with 5xx, none is answered 201 that is not kept; the
# file is removed, writes go on, the server is killed with SIGKILL, and
# every 201-answered subject must be there when the register is opened
# again, integrity_check and audit verify clean. Without root (or a
# mount that fails) the script passes without running.
. "$(dirname "$0")/e2e-common.sh"
command -v curl >/dev/null || { echo "curl is needed"; exit 1; }

MNT="$WORK/tfs"
mkdir -p "$MNT"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=8m tmpfs "$MNT" 2>/dev/null; then
	echo "cannot mount a tmpfs (needs root): the run is skipped"
	e2e_finish
	exit 0
fi
e2e_stop() {
	e2e_serve_stop
	umount "$MNT" 2>/dev/null
}
export REKISTERI_DB="$MNT/r.db"
check "init on the small disk" 0 "$BIN" init --policy "$POLICY"
TOK="w:$("$BIN" actor add w --role customer_service)"
IN='' check "a customer" 0 "$BIN" subject add --kind customer --field first_name=Aino --field last_name=Q
A=$out

# A transaction larger than the disk: its frames spill and the disk fills.
head -c $((12 * 1024 * 1024)) /dev/urandom >"$WORK/big.ogg"
IN='{"channel": "call", "direction": "inbound"}' \
	check "an attachment larger than the disk fails" 1 "$BIN" record add "$A" \
	--type communication --attach "$WORK/big.ogg" --attach-type audio/ogg
expect "no record of it" test "$(rows "SELECT count(*) FROM record")" = 0
IN='' check "a write after it" 0 "$BIN" subject add --kind prospect --field email=after@example.fi
check "integrity_check after the failed transaction" 0 rows "PRAGMA integrity_check"
expect "integrity_check says ok" test "$out" = ok

# poster TAG N: N POSTs; the IDs answered 201 go to acked, codes to codes
poster() {
	local i r
	for i in $(seq 1 "$2"); do
		r=$(curl -s -m 30 -w ' %{http_code}' \
			-H "Authorization: Bearer $TOK" \
			-H "Rekisteri-Purpose: customer_relationship" \
			-H "Content-Type: application/json" \
			-d "{\"kind\":\"prospect\",\"fields\":{\"email\":\"$1-$i@example.fi\"}}" \
			"$U/v1/subjects")
		printf '%s\n' "${r##* }" >>"$WORK/codes"
		case $r in
		*' 201') printf '%s\n' "$r" | sed 's/.*"id":"\([0-9a-f]*\)".*/\1/' >>"$WORK/acked" ;;
		esac
	done
}

phase() {
	local name=$1 p1 p2 want missing
	shift
	: >"$WORK/codes"
	e2e_must "$name: the server starts" e2e_serve --no-access-log --threads 4 "$@"
	ok "$name: the server starts"
	poster "$name-a" 60 &
	p1=$!
	poster "$name-b" 60 &
	p2=$!
	sleep 0.5
	dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null
	wait "$p1" "$p2"
	expect "$name: writes failed on the full disk" grep -q '^5' "$WORK/codes"
	expect "$name: none answered 4xx or 000" bash -c '! grep -q "^[40]" "$0"' "$WORK/codes"
	rm -f "$MNT/filler"
	: >"$WORK/codes"
	poster "$name-c" 20
	expect "$name: writes go on once there is room" test "$(grep -c '^201' "$WORK/codes")" -eq 20
	kill -KILL "$SPID"
	wait "$SPID" 2>/dev/null
	SPID=
	sort -u "$WORK/acked" >"$WORK/want"
	want=$(wc -l <"$WORK/want")
	rows "SELECT id FROM subject" | sort -u >"$WORK/have"
	missing=$(comm -23 "$WORK/want" "$WORK/have" | wc -l)
	expect "$name: no acknowledged subject lost ($missing of $want missing)" test "$missing" -eq 0
	check "$name: integrity_check" 0 rows "PRAGMA integrity_check"
	expect "$name: integrity_check says ok" test "$out" = ok
	check "$name: audit verify" 0 "$BIN" audit verify
}
: >"$WORK/acked"
phase group
phase nogroup --no-group-commit
e2e_finish
