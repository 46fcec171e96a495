#!/usr/bin/env bash
# sqlite-only: copies the database file and its WAL
# End-to-end tests of the rekisteri command line: the real binary on a real
# SQLite file. Each check states what it proves; the script ends with
# "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

# --- policy check -----------------------------------------------------------
check "seed policy is valid" 0 "$BIN" policy check "$POLICY"
sed 's/"purposes"/"purpoes"/' "$POLICY" >"$WORK/typo.json"
check "a policy with a typo is refused" 2 "$BIN" policy check "$WORK/typo.json"
line=$(grep -n '"purpoes"' "$WORK/typo.json" | head -1 | cut -d: -f1)
expect "the typo is reported as file:line:column" \
	grep -qE "^$WORK/typo.json:$line:[0-9]+: .*purpoes" "$WORK/stderr"
printf '{\n  "rekisteri_policy": 1,\n  "controller": {\n' >"$WORK/broken.json"
check "a truncated policy is refused" 2 "$BIN" policy check "$WORK/broken.json"
expect "a syntax error names its line" grep -qE "broken.json:[0-9]+:[0-9]+: " "$WORK/stderr"

# --- init -------------------------------------------------------------------
check "init creates a register" 0 "$BIN" init --policy "$POLICY"
expect "the key file is mode 0600" test "$(stat -c %a "$REKISTERI_DB.key")" = 600
expect "the database file is not world-readable" test "$(( 0$(stat -c %a "$REKISTERI_DB") & 077 ))" -eq 0
cp "$REKISTERI_DB.key" "$WORK/key.before"
check "init never overwrites" 2 "$BIN" init --policy "$POLICY"
expect "the key is unchanged after a refused init" cmp -s "$REKISTERI_DB.key" "$WORK/key.before"
chmod 0640 "$REKISTERI_DB.key"
check "a group-readable key file is refused" 2 "$BIN" subject list
expect "the refusal says how to fix the mode" grep -q "600" "$WORK/stderr"
chmod 0600 "$REKISTERI_DB.key"

# --- subjects ---------------------------------------------------------------
check "add a customer" 0 "$BIN" subject add --kind customer \
	--field first_name=Ilmatar --field last_name=Zyxwvutila \
	--field email=Ilmatar.Zyxwvutila@Example.COM --field phone="040 123 4567" \
	--field hetu=131052-308T --field postal_code=02270 --field city=Espoo
A=$out
expect "add prints a 32-hex ID alone" grep -qxE '[0-9a-f]{32}' <<<"$A"
check "add a second customer with a new-sign HETU" 0 "$BIN" subject add --kind customer \
	--field first_name=Väinö --field last_name=Qwertyläinen --field email=vaino@example.fi \
	--field hetu=010190Y246L
B=$out
check "add a prospect" 0 "$BIN" subject add --kind prospect --field email=prospect@example.org
P=$out
n_subjects=$(rows "SELECT count(*) FROM subject")
n_values=$(rows "SELECT count(*) FROM value")

check "an invalid HETU is refused" 2 "$BIN" subject add --kind customer --field last_name=X --field hetu=131052-308U
expect "the error does not echo the HETU" bash -c '! grep -q "131052" <<<"$0"' "$err"
check "an invalid e-mail is refused" 2 "$BIN" subject add --kind customer --field last_name=X --field email=secret.person@
expect "the error does not echo the e-mail" bash -c '! grep -q "secret.person" <<<"$0"' "$err"
check "an unknown field is refused" 2 "$BIN" subject add --kind customer --field last_name=X --field shoe_size=44
check "a name typed where a field goes is refused" 2 "$BIN" subject add --kind customer --field last_name=X --field Zyxwvutila=1
expect "the error does not repeat it" bash -c '! grep -q Zyxwvutila <<<"$0"' "$err"
expect "the error lists the fields" grep -q "first_name" <<<"$err"
check "an unknown kind is refused" 2 "$BIN" subject add --kind alien --field last_name=X
check "a customer number cannot be given" 2 "$BIN" subject add --kind customer --field last_name=X --field customer_number=1
check "a temporary HETU is refused by the seed policy" 2 "$BIN" subject add --kind customer --field last_name=X --field hetu=010594Y9032
check "a password on the command line is refused" 2 "$BIN" subject add --kind customer --field last_name=X --field password=hunter22hunter
expect "refused adds wrote no subject" test "$(rows 'SELECT count(*) FROM subject')" = "$n_subjects"
expect "refused adds wrote no value" test "$(rows 'SELECT count(*) FROM value')" = "$n_values"

check "find by e-mail, any case" 0 "$BIN" subject find --by email ILMATAR.zyxwvutila@example.com
expect "find prints the one matching ID" test "$out" = "$A"
check "find by phone in another format" 0 "$BIN" subject find --by phone +358401234567
expect "phone find matches" test "$out" = "$A"
check "find by HETU" 0 "$BIN" subject find --by hetu 131052-308T
expect "HETU find matches" test "$out" = "$A"
check "find by new-sign HETU" 0 "$BIN" subject find --by hetu 010190Y246L
expect "new-sign HETU find matches" test "$out" = "$B"
check "a different century sign is a different person" 3 "$BIN" subject find --by hetu 010190W246L
expect "no match prints nothing" test -z "$out"
check "find by a non-lookup field is refused" 2 "$BIN" subject find --by city Espoo
check "customer numbers are issued" 0 "$BIN" subject show "$A" --json
cn=$(grep -A2 '"customer_number"' <<<"$out" | grep -oE '"value": "[0-9]+"' | grep -oE '[0-9]+')
expect "the customer has a customer number" test -n "$cn"
check "find by customer number" 0 "$BIN" subject find --by customer_number "$cn"
expect "customer number find matches" test "$out" = "$A"

check "show for the default purpose" 0 "$BIN" subject show "$A"
expect "show prints the name" grep -q "Zyxwvutila" <<<"$out"
check "show --json" 0 "$BIN" --json subject show "$A"
expect "show --json has the id" grep -q "\"id\": \"$A\"" <<<"$out"
check "show for an undeclared purpose is refused" 2 "$BIN" subject show "$A" --purpose world_domination
check "show of a missing subject" 3 "$BIN" subject show 0123456789abcdef0123456789abcdef
check "show of a malformed ID" 2 "$BIN" subject show nonsense

check "update the e-mail" 0 "$BIN" subject update "$A" --field email=new.address@example.com
check "the old e-mail no longer finds" 3 "$BIN" subject find --by email ilmatar.zyxwvutila@example.com
check "the new e-mail finds" 0 "$BIN" subject find --by email new.address@example.com
check "an invalid update is refused" 2 "$BIN" subject update "$A" --field postal_code=123
check "removing a required field is refused" 2 "$BIN" subject update "$A" --field last_name=
TODAY=$(date -u +%F)
check "an end before the start is refused" 2 "$BIN" subject end "$A" --date 2001-01-31
check "end the relationship" 0 "$BIN" subject end "$A" --date "$TODAY"
check "ending twice is refused" 2 "$BIN" subject end "$A"
check "list" 0 "$BIN" subject list
expect "list shows all subjects" test "$(wc -l <<<"$out")" -eq 3
expect "list shows the end date" grep -q "$A.*$TODAY" <<<"$out"
check "list prospects" 0 "$BIN" subject list --kind prospect
expect "prospect list has only the prospect" test "$(cut -f1,2 <<<"$out")" = "$(printf '%s\tprospect' "$P")"

# --- plaintext on disk ------------------------------------------------------
for f in "$REKISTERI_DB" "$REKISTERI_DB-wal"; do
	[ -f "$f" ] || continue
	for s in Zyxwvutila Qwertyl 131052-308T 010190Y246L new.address@example.com prospect@example.org 358401234567; do
		if grep -aq -- "$s" "$f"; then bad "plaintext $s found in $(basename "$f")"; else ok "no plaintext $s in $(basename "$f")"; fi
	done
done

# --- audit ------------------------------------------------------------------
check "audit verify on an intact trail" 0 "$BIN" audit verify
check "audit log for a subject" 0 "$BIN" audit log --subject "$A"
expect "the log shows the show and the update" bash -c 'grep -q subject.show <<<"$0" && grep -q subject.update <<<"$0"' "$out"
expect "the log names no subject by ID" bash -c '! grep -q "$1" <<<"$0"' "$out" "$A"
cp "$REKISTERI_DB" "$WORK/pristine.db"
rows "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
cp "$REKISTERI_DB" "$WORK/pristine.db"
rows "UPDATE audit SET actor='mallory' WHERE seq=3"
check "an edited entry is detected" 5 "$BIN" audit verify
expect "the edited entry is named" grep -q "entry 3 " "$WORK/stderr"
cp "$WORK/pristine.db" "$REKISTERI_DB"; rm -f "$REKISTERI_DB-wal" "$REKISTERI_DB-shm"
rows "DELETE FROM audit WHERE seq=4"
check "a removed entry is detected" 5 "$BIN" audit verify
expect "the removed entry is named" grep -q "entry 4 " "$WORK/stderr"
cp "$WORK/pristine.db" "$REKISTERI_DB"; rm -f "$REKISTERI_DB-wal" "$REKISTERI_DB-shm"
rows "UPDATE audit SET seq=-5 WHERE seq=5; UPDATE audit SET seq=5 WHERE seq=6; UPDATE audit SET seq=6 WHERE seq=-5;"
check "reordered entries are detected" 5 "$BIN" audit verify
expect "the first reordered entry is named" grep -q "entry 5 " "$WORK/stderr"
cp "$WORK/pristine.db" "$REKISTERI_DB"; rm -f "$REKISTERI_DB-wal" "$REKISTERI_DB-shm"
check "the restored trail verifies" 0 "$BIN" audit verify

# --- keys -------------------------------------------------------------------
( umask 077; "$BIN" --db "$WORK/other.db" init --policy "$POLICY" >/dev/null )
check "another register's key is refused" 5 "$BIN" --key-file "$WORK/other.db.key" subject list
check "a missing register is reported" 3 "$BIN" --db "$WORK/none.db" subject list

e2e_finish
