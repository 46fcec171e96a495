#!/usr/bin/env bash
# sqlite-only: holds SQLite's write lock with the sqlite3 shell
# End-to-end: actors and roles, purpose-bound access, and signed audit
# checkpoints through the real binary. Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

"$BIN" init --policy "$SRC/policies/ocr-factory.json" >/dev/null
ID=$("$BIN" subject add --kind customer --field first_name=Aino --field last_name=Roolitesti \
	--field email=aino.roolitesti@example.com --field hetu=131052-308T)

check "the operator adds a marketing actor" 0 "$BIN" actor add mk-1 --role marketing
MK=$out
expect "actor add prints the token alone" grep -qxE '[A-Za-z0-9_-]{43}' <<<"$MK"
check "the operator adds a customer service actor" 0 "$BIN" actor add cs-1 --role customer_service
CS=$out
check "an unknown role is refused" 2 "$BIN" actor add x-1 --role overlord
check "actor list --json" 0 "$BIN" --json actor list
expect "the JSON list shows roles, not tokens" bash -c 'grep -q "\"marketing\"" <<<"$0" && ! grep -q "$1" <<<"$0"' "$out" "$MK"
check "actor list" 0 "$BIN" actor list
expect "the table shows a header and roles, not tokens" \
	bash -c 'grep -qE "^NAME +ROLE +CREATED +REVOKED$" <<<"$0" && grep -qE "^mk-1 +marketing +[0-9TZ:-]+ +active$" <<<"$0" && ! grep -qF -- "$1" <<<"$0"' "$out" "$MK"

check "an actor without its token is refused" 2 env REKISTERI_ACTOR=mk-1 "$BIN" subject show "$ID" --purpose marketing_communications
check "a wrong token is refused" 4 env REKISTERI_ACTOR=mk-1 REKISTERI_TOKEN="${CS}" "$BIN" subject show "$ID" --purpose marketing_communications
check "marketing reads for marketing" 0 env REKISTERI_ACTOR=mk-1 REKISTERI_TOKEN="$MK" "$BIN" subject show "$ID" --purpose marketing_communications
expect "marketing sees the e-mail" grep -q "aino.roolitesti@example.com" <<<"$out"
expect "marketing does not see the HETU" bash -c '! grep -q "131052" <<<"$0"' "$out"
check "marketing asking for a HETU is refused" 4 env REKISTERI_ACTOR=mk-1 REKISTERI_TOKEN="$MK" "$BIN" subject find --by hetu 131052-308T --purpose marketing_communications
check "marketing outside its purposes is refused" 4 env REKISTERI_ACTOR=mk-1 REKISTERI_TOKEN="$MK" "$BIN" subject show "$ID" --purpose customer_relationship
expect "the refusal names role and purpose" grep -q "role marketing may not process for purpose customer_relationship" <<<"$err"
expect "refusals are in the audit trail" test "$(rows "SELECT count(*) FROM audit WHERE actor='mk-1' AND outcome='refused'")" -ge 2
check "customer service sees a masked HETU" 0 env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$BIN" subject show "$ID"
expect "the HETU is masked" grep -q "131052-\*\*\*\*" <<<"$out"
check "marketing may not add actors" 4 env REKISTERI_ACTOR=mk-1 REKISTERI_TOKEN="$MK" "$BIN" actor add mk-2 --role marketing
check "customer service may not read the audit trail" 4 env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$BIN" audit log
check "nor verify or checkpoint it" 4 env REKISTERI_ACTOR=cs-1 REKISTERI_TOKEN="$CS" "$BIN" audit checkpoint "$WORK/cs-cp"
expect "a refused checkpoint leaves no file" test ! -e "$WORK/cs-cp"
check "the data protection officer reads it" 0 "$BIN" actor add dpo-1 --role dpo
DPO=$out
check "audit log as the DPO" 0 env REKISTERI_ACTOR=dpo-1 REKISTERI_TOKEN="$DPO" "$BIN" audit log
check "audit log for the subject" 0 "$BIN" audit log --subject "$ID"
expect "the log shows who processed the subject" bash -c 'grep -q "mk-1" <<<"$0" && grep -q "cs-1" <<<"$0"' "$out"
check "revoke" 0 "$BIN" actor revoke mk-1
check "a revoked actor is refused" 4 env REKISTERI_ACTOR=mk-1 REKISTERI_TOKEN="$MK" "$BIN" subject show "$ID" --purpose marketing_communications

# --- a read that cannot be audited prints nothing -----------------------------
# the holder waits out the probe below (the two may meet)
sqlite3 -cmd ".timeout 10000" "$REKISTERI_DB" "BEGIN IMMEDIATE;" ".shell sleep 30" >/dev/null 2>&1 &
holder=$!
# until the holder has the write lock
for _ in $(seq 100); do
	sqlite3 "$REKISTERI_DB" "BEGIN IMMEDIATE; ROLLBACK;" 2>/dev/null || break
	sleep 0.1
done
check "a read while a writer holds the register fails" 1 "$BIN" subject show "$ID"
expect "it prints nothing" test -z "$out"
pkill -P "$holder" 2>/dev/null; kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
check "the trail verifies after the writer is gone" 0 "$BIN" audit verify
expect "the trail shows the read that printed nothing" test "$(rows "SELECT count(*) FROM audit WHERE action = 'subject.show' AND outcome = 'unaudited'")" = 1

# --- checkpoints ----------------------------------------------------------------
# the register's record of where the trail ends, as a copy of the file
# taken before the checkpoint would hold it
old_head=$(rows "SELECT hex(value) FROM meta WHERE key = 'audit_head'")
check "audit checkpoint" 0 "$BIN" audit checkpoint "$WORK/cp"
check "verify with the checkpoint" 0 "$BIN" audit verify --checkpoint "$WORK/cp"
"$BIN" subject show "$ID" >/dev/null
check "later entries still verify with it" 0 "$BIN" audit verify --checkpoint "$WORK/cp"
seq=$(grep '^seq: ' "$WORK/cp" | cut -d' ' -f2)
# the whole file rolled back to before the checkpoint: trail and head agree,
# and only the checkpoint kept elsewhere tells
rows "DELETE FROM audit WHERE seq >= $seq; UPDATE meta SET value = X'$old_head' WHERE key = 'audit_head'"
check "a cut tail with an old head passes the plain chain check" 0 "$BIN" audit verify
check "a cut tail is caught by the checkpoint" 5 "$BIN" audit verify --checkpoint "$WORK/cp"
expect "the missing signed entry is named" grep -q "entry $seq " <<<"$err"
# the tail cut and the head left: the register's head tells, and writes go
# on after the gap instead of hiding it
last=$(rows "SELECT max(seq) FROM audit")
rows "DELETE FROM audit WHERE seq >= $((last - 1))"
check "a cut tail is caught by the register's head" 5 "$BIN" audit verify
expect "the cut is named" grep -Eq "entries were removed|is missing" <<<"$err"
"$BIN" subject show "$ID" >/dev/null
check "a write after the cut does not hide it" 5 "$BIN" audit verify
sed 's/^seq: .*/seq: 1/' "$WORK/cp" >"$WORK/cp-edited"
check "an edited checkpoint is refused" 5 "$BIN" audit verify --checkpoint "$WORK/cp-edited"

# --- the trail itself removed or its head forged --------------------------------
cp "$REKISTERI_DB" "$WORK/before-empty.db"
rows "DELETE FROM audit"
check "an emptied trail is not intact" 5 "$BIN" audit verify
rows "DELETE FROM meta WHERE key = 'audit_head'"
check "a trail without its head is not intact" 5 "$BIN" audit verify
expect "the missing head is named" grep -q "missing" <<<"$err"
rows "INSERT INTO meta (key, value) VALUES ('audit_head', X'$old_head')"
check "an emptied trail with an old head is not intact" 5 "$BIN" audit verify
rows "UPDATE meta SET value = X'00$old_head' WHERE key = 'audit_head'"
check "a head of the wrong size is not intact" 5 "$BIN" audit verify
flipped=$(printf '%s' "$old_head" | sed 's/^\(..\)./\1F/')
rows "UPDATE meta SET value = X'$flipped' WHERE key = 'audit_head'"
check "a head edited without the key is not intact" 5 "$BIN" audit verify

e2e_finish
