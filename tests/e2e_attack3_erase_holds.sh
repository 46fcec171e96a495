#!/usr/bin/env bash
# Attacks on erasure and restriction that the register withstands, kept so
# that they stay withstood: an erasure killed with SIGKILL at random moments
# leaves the whole subject or nothing of it, and the register verifies
# either way; an erased subject's wrapped data key is in neither the
# database file nor its WAL; an erasure row deleted without the key, a key
# rotation in between, and a restore of an older backup do not bring the
# subject back; a restriction survives a restore of a backup made before
# it and a re-encryption; malformed IDs are refused as bad input.
. "$(dirname "$0")/e2e-common.sh"
command -v python3 >/dev/null || { echo "python3 needed"; exit 77; }

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
IN='' check "another subject" 0 "$BIN" subject add --kind customer \
	--field first_name=Saara --field last_name=Pysyva --field email=s@example.com
C=$out
IN='' check "a big subject" 0 "$BIN" subject add --kind customer \
	--field first_name=Eino --field last_name=Poistettava \
	--field email=eino.poistettava@example.com --field hetu=131052-308T
A=$out
head -c 1500000 /dev/urandom >"$WORK/call.bin"
for i in 1 2; do
	IN='{"channel": "call", "direction": "inbound", "text": "puhelu"}' \
		check "a recorded call $i" 0 "$BIN" record add "$A" \
		--type communication --attach "$WORK/call.bin"
done
n=0
for i in $(seq 1 120); do
	printf '{"amount": "1.%02d", "currency": "EUR", "method": "invoice", "invoice_number": "L-%d"}' \
		$((i % 100)) "$i" | "$BIN" record add "$A" --type payment >/dev/null &&
		printf '{"kind": "complaint", "text": "valitus %d"}' "$i" |
		"$BIN" record add "$A" --type feedback >/dev/null && n=$((n + 2))
done
expect "240 more records" test "$n" = 240
IN='' check "a cookie link" 0 "$BIN" cookie link "$A" cookie-poistettava
IN='' check "restricted" 0 "$BIN" restrict "$A" --reason contested
IN='' check "a restricted subject is not erased" 4 "$BIN" erase "$A"
IN='' check "until the restriction is lifted" 0 "$BIN" unrestrict "$A" --reason "erasure asked"
IN='' check "a backup before the erasure" 0 "$BIN" backup "$WORK/before.db"
key=$(rows "SELECT hex(wrapped_key) FROM subject WHERE id = '$A'")
# The register as it is, for each killed erasure to start from: a copy of
# the file, or on PostgreSQL a database made from it as a template.
if [ -n "${RK_PG_DBNAME-}" ]; then
	pgdb() { printf 'postgresql:///%s?host=%s&user=postgres' "$1" "$RK_PG_HOST"; }
	"$RK_PG_BIN/createdb" -h "$RK_PG_HOST" -U postgres -T "$RK_PG_DBNAME" \
		"${RK_PG_DBNAME}_t" || exit 1
	e2e_stop() {
		for d in "${RK_PG_DBNAME}_t" "${RK_PG_DBNAME}_k"; do
			"$RK_PG_BIN/dropdb" -h "$RK_PG_HOST" -U postgres \
				--if-exists "$d" >/dev/null 2>&1 || true
		done
	}
	template=$(pgdb "${RK_PG_DBNAME}_t")
else
	cp "$REKISTERI_DB" "$WORK/template.db"
	template="$WORK/template.db"
fi
cp "$RK_KEY" "$WORK/template.db.key"

# state DB: subject rows, its records, values, held records, erasures, erase entries
state() {
	rows "SELECT (SELECT count(*) FROM subject WHERE id = '$A') || ',' ||
		(SELECT count(*) FROM record WHERE subject_id = '$A') || ',' ||
		(SELECT count(*) FROM value WHERE subject_id = '$A') || ',' ||
		(SELECT count(*) FROM attachment_chunk) || ',' ||
		(SELECT count(*) FROM held_record) || ',' ||
		(SELECT count(*) FROM erasure) || ',' ||
		(SELECT count(*) FROM audit WHERE action = 'subject.erase' AND outcome = 'ok')" "$1"
}
whole=$(state "$template")
kills_ok=1 seen_whole=0 seen_none=0
# kills up to 30 ms in; a PostgreSQL erasure connects first, so up to 150
spread=30
if [ -n "${RK_PG_DBNAME-}" ]; then spread=150; fi
for i in $(seq 1 20); do
	k="$WORK/k.db"
	rm -f "$k" "$k-wal" "$k-shm" "$k".key "$k"-audit-*
	if [ -n "${RK_PG_DBNAME-}" ]; then
		"$RK_PG_BIN/dropdb" -h "$RK_PG_HOST" -U postgres --if-exists \
			"${RK_PG_DBNAME}_k" >/dev/null 2>&1
		"$RK_PG_BIN/createdb" -h "$RK_PG_HOST" -U postgres \
			-T "${RK_PG_DBNAME}_t" "${RK_PG_DBNAME}_k" || exit 1
		cp "$WORK/template.db.key" "$k.key"
		k=$(pgdb "${RK_PG_DBNAME}_k")
	else
		cp "$WORK/template.db" "$k"
		cp "$WORK/template.db.key" "$k.key"
	fi
	REKISTERI_DB="$k" REKISTERI_KEY_FILE="$WORK/k.db.key" "$BIN" erase "$A" >/dev/null 2>&1 &
	pid=$!
	sleep "0.$(printf '%03d' $((RANDOM % spread)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if ! REKISTERI_DB="$k" REKISTERI_KEY_FILE="$WORK/k.db.key" "$BIN" audit verify >/dev/null 2>&1; then
		kills_ok=0
		echo "after kill $i the register does not verify"
	fi
	s=$(state "$k")
	case "$s" in
	"$whole") seen_whole=$((seen_whole + 1)) ;;
	0,0,0,0,120,1,1) seen_none=$((seen_none + 1)) ;;
	*) kills_ok=0; echo "after kill $i: half an erasure ($s, whole was $whole)" ;;
	esac
done
echo "kills: $seen_whole left the subject whole, $seen_none erased it"
expect "every erasure killed left all or nothing, and verified" test "$kills_ok" = 1

IN='' check "erase" 0 "$BIN" --json erase "$A"
if [ -n "${RK_PG_DBNAME-}" ]; then
	# PostgreSQL keeps dead rows until VACUUM and its WAL until recycled
	# (docs/postgresql.md): the receipt must not claim otherwise.
	expect "the receipt says the log was not emptied" grep -q '"log_cleared": false' <<<"$out"
else
expect "the log was emptied" grep -q '"log_cleared": true' <<<"$out"
found=$(python3 -c '
import os, sys
k = bytes.fromhex(sys.argv[2])
hit = 0
for suffix in ("", "-wal"):
    p = sys.argv[1] + suffix
    if os.path.exists(p) and k in open(p, "rb").read():
        hit = 1
print(hit)' "$REKISTERI_DB" "$key")
expect "the wrapped data key is in neither the file nor its WAL" test "$found" = 0
fi

IN='' check "the keys rotate, data re-encrypted" 0 "$BIN" key rotate --reencrypt
rows "DELETE FROM erasure"
IN='' check "the register sees the record of erasures was cut" 5 "$BIN" audit verify
IN='' check "a restore is refused then" 5 "$BIN" restore "$WORK/before.db"
IN='' check "the old backup is restored by force (the trail verifies)" 0 "$BIN" restore --force "$WORK/before.db"
IN='' check "the subject stays erased (the trail remembers)" 3 "$BIN" subject show "$A"
IN='' check "the other subject is there" 0 "$BIN" subject show "$C"
IN='' check "the register verifies" 0 "$BIN" audit verify

IN='' check "a backup before a restriction" 0 "$BIN" backup "$WORK/before2.db"
IN='' check "restrict the other" 0 "$BIN" restrict "$C" --reason contested
IN='' check "restore the backup from before it" 0 "$BIN" restore "$WORK/before2.db"
IN='' check "the restriction holds after the restore" 4 "$BIN" subject show "$C"
IN='' check "and after a re-encryption" 0 "$BIN" key rotate --reencrypt
IN='' check "... it still holds" 4 "$BIN" record list "$C"
IN='' check "... but not for legal claims" 0 "$BIN" subject show "$C" --purpose misuse_prevention

upper=$(tr 'a-f' 'A-F' <<<"$C")
for id in "$upper" "${C}0" "${C:0:31}" "../$C" "$C " ""; do
	IN='' check "erase refuses the ID '$id'" 2 "$BIN" erase "$id" --dry-run
	IN='' check "restrict refuses the ID '$id'" 2 "$BIN" unrestrict "$id" --reason x
done
IN='' check "a reason with a control character is refused" 2 \
	"$BIN" unrestrict "$C" --reason "$(printf 'told\033[2J')"
IN=$(head -c 5000 /dev/zero | tr '\0' x) check "a huge reason is refused" 2 \
	"$BIN" unrestrict "$C" --reason-stdin
IN='' check "the register verifies" 0 "$BIN" audit verify

# A trail broken by accident and a forced restore: the record of erasures,
# which stays live, still erases the subject again.
IN='' check "a third subject" 0 "$BIN" subject add --kind customer \
	--field first_name=Kolmas --field last_name=Poistettava --field email=k@example.com
D=$out
IN='' check "a backup before its erasure" 0 "$BIN" backup "$WORK/before3.db"
IN='' check "erase it" 0 "$BIN" erase "$D"
rows "UPDATE audit SET actor = 'someone' WHERE seq = (SELECT max(seq) FROM audit)"
IN='' check "a forced restore over the broken trail" 0 "$BIN" restore --force "$WORK/before3.db"
IN='' check "the erased subject stays erased" 3 "$BIN" subject show "$D"
IN='' check "the restriction still holds" 4 "$BIN" subject show "$C"
IN='' check "the register verifies at the end" 0 "$BIN" audit verify
e2e_finish
