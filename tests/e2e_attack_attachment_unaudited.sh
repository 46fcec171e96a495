#!/usr/bin/env bash
# sqlite-only: holds SQLite's write lock with the sqlite3 shell
# Attack: `record attachment` writes the decrypted attachment to its output
# file before the read's audit entry is committed. While the entry waits
# for the database (another connection holds the write lock) the plaintext
# is already on disk; a reader killed in that window leaves the file behind
# and no entry in the trail, not even an "unaudited" one.
. "$(dirname "$0")/e2e-common.sh"

e2e_aino
MARK=RKATTACKMARK-attachment-7e1f
{ head -c 5000 /dev/urandom; printf '%s' "$MARK"; head -c 100 /dev/urandom; } >"$WORK/call.ogg"
IN='{"channel": "call", "direction": "inbound"}' \
	check "add a communication with an attachment" 0 "$BIN" record add "$A" \
	--type communication --attach "$WORK/call.ogg" --attach-type audio/ogg
R=$out

# Another connection holds the write lock for a while.
sqlite3 -cmd ".timeout 10000" "$REKISTERI_DB" "BEGIN IMMEDIATE;" ".shell sleep 6" "COMMIT;" &
locker=$!
sleep 1
"$BIN" record attachment "$A" "$R" --out "$WORK/out.ogg" >/dev/null 2>&1 &
reader=$!
sleep 2
# The reader is waiting for its audit entry; the plaintext must not be out yet.
if [ -e "$WORK/out.ogg" ] && grep -q "$MARK" "$WORK/out.ogg"; then
	bad "plaintext attachment is on disk before its audit entry is committed"
else
	ok "no plaintext before the audit entry"
fi
kill -9 "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
wait "$locker"
expect "a killed reader leaves no plaintext attachment behind" \
	bash -c "! grep -qs '$MARK' '$WORK/out.ogg'"
IN='' check "audit log" 0 "$BIN" audit log
if [ -e "$WORK/out.ogg" ]; then
	expect "an attachment that left has its entry in the trail" \
		grep -q "record.attachment" <<<"$out"
fi
e2e_finish
