#!/usr/bin/env bash
# End-to-end: the JSON documents described in docs/api.md are the ones the
# code makes. In docs/api.md each document is an HTML comment
# "<!-- shape: NAME -->", a table of its keys, and a ```json example. Each
# document is produced here through the real binary (--json), with data
# that fills every optional key, and
# - its key paths with their value types must be those of the example: a
#   key in the output but not in the example, or the reverse, fails and is
#   named;
# - every key path of the example must have a row in the table, with the
#   same type, and "yes" in its null column where the example shows null;
#   every row must be a key of the example.
# Ends with "N passed, N failed".
#
# Paths are written as jq would reach them: ".relationship.end",
# "[].fields" ("[]" is any element of an array). An object whose keys are
# names from the policy (field names, record fields) is declared in the
# marker, "<!-- shape: NAME map=PATH[,PATH] -->", and its keys are written
# "*". Types are JSON's, with "integer" for a number without a fraction;
# a table's "array of string" covers the elements too. Where a key may be
# null, an array document's example shows both kinds of value when the
# test data makes both (one element each); otherwise the filled form.
. "$(dirname "$0")/e2e-common.sh"
export LC_ALL=C

DOC=${RK_API_DOC:-$SRC/docs/api.md}

# doc_example NAME FILE: the JSON example of shape NAME in FILE
doc_example() {
	awk -v name="$1" '
		state == 0 && $1 == "<!--" && $2 == "shape:" && $3 == name { state = 1; next }
		state == 1 && /^```json[[:space:]]*$/ { state = 2; next }
		state == 1 && NF > 0 && !/^\|/ { exit 1 }
		state == 2 && /^```[[:space:]]*$/ { found = 1; exit 0 }
		state == 2 { print }
		END { if (!found) exit 1 }
	' "$2"
}
# doc_maps NAME FILE: the comma-separated map paths the marker declares
doc_maps() {
	awk -v name="$1" '
		$1 == "<!--" && $2 == "shape:" && $3 == name {
			for (i = 4; i <= NF; i++)
				if ($i ~ /^map=/) print substr($i, 5)
			exit
		}
	' "$2"
}
# doc_table NAME FILE: "PATH TYPE NULL" for each row of the table of NAME
# (TYPE "array of string" becomes "array:string")
doc_table() {
	awk -v name="$1" '
		state == 0 && $1 == "<!--" && $2 == "shape:" && $3 == name { state = 1; next }
		state == 1 && /^```/ { exit }
		state == 1 && /^\|/ {
			n = split($0, c, "|")
			if (n < 5) next
			p = c[2]; t = c[3]; z = c[4]
			gsub(/^[ \t]+|[ \t]+$/, "", p)
			gsub(/^[ \t]+|[ \t]+$/, "", t)
			gsub(/^[ \t]+|[ \t]+$/, "", z)
			if (p !~ /^`.*`$/) next
			p = substr(p, 2, length(p) - 2)
			sub(/^array of /, "array:", t)
			print p, t, z
		}
	' "$2"
}
# doc_shapes FILE: every shape name FILE declares
doc_shapes() { awk '$1 == "<!--" && $2 == "shape:" { print $3 }' "$1" | sort; }

# shape_of MAPS: "PATH TYPE" lines, sorted and unique, of the document on
# standard input
shape_of() {
	jq -r --arg maps "$1" '
		def norm($m): reduce .[] as $k (""; . as $pre
			| if ($k | type) == "number" then $pre + "[]"
			  elif any($m[]; . == $pre) then $pre + ".*"
			  else $pre + "." + $k end);
		($maps | split(",") | map(select(. != ""))) as $m
		| [("(document) " + type),
		   (paths as $p | ($p | norm($m)) + " "
			+ (getpath($p) | if type == "number" and . == floor
				then "integer" else type end))]
		| unique | .[]'
}

# shape_diff NAME FILE DOCUMENT: prints one line per difference between
# the document and the example of NAME in FILE; nothing when they agree
shape_diff() {
	local name=$1 file=$2 doc=$3 example maps want got line
	if ! example=$(doc_example "$name" "$file"); then
		echo "docs/api.md has no \`\`\`json example after <!-- shape: $name -->"
		return
	fi
	maps=$(doc_maps "$name" "$file")
	if ! want=$(shape_of "$maps" <<<"$example" 2>/dev/null); then
		echo "the example of $name in docs/api.md is not valid JSON"
		return
	fi
	if ! got=$(shape_of "$maps" <<<"$doc" 2>/dev/null) || [ -z "$doc" ]; then
		echo "the output for $name is not valid JSON"
		return
	fi
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		echo "key ${line% *} (${line##* }) is in the output but not in the example of docs/api.md"
	done < <(comm -13 <(printf '%s\n' "$want") <(printf '%s\n' "$got"))
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		echo "key ${line% *} (${line##* }) is in the example of docs/api.md but not in the output"
	done < <(comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$got"))
	table_diff "$name" "$file" "$want"
}

# table_diff NAME FILE SHAPE: prints one line per disagreement between the
# table of NAME and the shape ("PATH TYPE" lines) of its example
table_diff() {
	local name=$1 file=$2 shape=$3 table p t z ty parent
	table=$(doc_table "$name" "$file")
	if [ -z "$table" ]; then
		echo "docs/api.md has no table of keys after <!-- shape: $name -->"
		return
	fi
	while read -r p t z; do
		ty=${t%%:*}
		if ! grep -q "^$(re "$p") " <<<"$shape"; then
			echo "key $p is in the table of docs/api.md but not in its example"
		elif ! grep -qx "$(re "$p") $ty" <<<"$shape"; then
			echo "key $p is $t in the table of docs/api.md but $(grep "^$(re "$p") " <<<"$shape" | grep -v ' null$' | cut -d' ' -f2 | paste -sd/) in its example"
		fi
		if [ "$z" != yes ] && grep -qx "$(re "$p") null" <<<"$shape"; then
			echo "key $p is null in the example of docs/api.md, but its table says it is never null"
		fi
	done <<<"$table"
	while read -r p ty; do
		[ "$p" = "(document)" ] && continue
		grep -q "^$(re "$p") " <<<"$table" && continue
		# the elements of an "array of X" row
		parent=${p%\[\]}
		if [ "$parent" != "$p" ] && grep -qx "$(re "$parent") array:$ty .*" <<<"$table"; then
			continue
		fi
		echo "key $p ($ty) is in the example of docs/api.md but not in its table"
	done <<<"$shape"
}
# re TEXT: TEXT as a basic regular expression that matches only itself
re() { sed 's/[][\.*^$/]/\\&/g' <<<"$1"; }

CHECKED=()
# shape NAME: the last command's output ($out) has the shape of the example
shape() {
	local name=$1 diff line
	CHECKED+=("$name")
	diff=$(shape_diff "$name" "$DOC" "$out")
	if [ -z "$diff" ]; then
		ok "shape $name agrees with docs/api.md"
		return
	fi
	while IFS= read -r line; do
		bad "shape $name: $line"
	done <<<"$diff"
}

# --- producing every document ---------------------------------------------------

check "init" 0 "$BIN" --json init --policy "$POLICY"
shape init

printf '{"controller": \n' >"$WORK/bad-policy.json"
check "policy check of a broken file" 2 "$BIN" --json policy check "$WORK/bad-policy.json"
shape policy-check

check "subject add" 0 "$BIN" --json subject add --kind customer \
	--field first_name=Maija --field last_name=Meikäläinen \
	--field email=maija@example.com --field email=m.meikalainen@example.com \
	--field phone="040 123 4567" --field hetu=131052-308T \
	--field street_address="Esimerkkikatu 1" --field postal_code=00100 \
	--field city=Helsinki --field country=FI --field birth_date=1952-10-13 \
	--field username=maija --source data_subject
shape subject-add
ID=$(jq -r .id <<<"$out")

check "subject update" 0 "$BIN" --json subject update "$ID" --field city=Espoo
shape subject-update

# Ended first, so that the relationship has an end and every value and
# record an expiry date (a record's is fixed when it is added).
check "subject end" 0 "$BIN" --json subject end "$ID"
shape subject-end

IN='{"channel": "email", "direction": "inbound", "text": "Hei", "at": "2026-12-01T10:00:00Z"}'
printf 'a recorded message\n' >"$WORK/message.txt"
check "record add with an attachment" 0 "$BIN" --json record add "$ID" \
	--type communication --attach "$WORK/message.txt" --attach-type text/plain
shape record-add
RID=$(jq -r .id <<<"$out")
IN='{"product": "Scanner", "quantity": 2, "amount": "129.90", "currency": "EUR", "order_number": "A-1", "warranty_until": "2028-12-01"}'
check "record add without one" 0 "$BIN" --json record add "$ID" --type purchase
unset IN

check "record attachment" 0 "$BIN" --json record attachment "$ID" "$RID" --out "$WORK/out.txt"
shape record-attachment

IN='signed form 2026/12'
check "consent give" 0 "$BIN" --json consent give "$ID" location --channel web --evidence-stdin
shape consent-set
unset IN
check "consent withdraw" 0 "$BIN" --json consent withdraw "$ID" location
shape consent-set
check "object" 0 "$BIN" --json object "$ID" direct_marketing
shape object

# exit 4: the prohibition just recorded says no
check "may-contact" 4 "$BIN" --json may-contact "$ID" --channel email
shape may-contact

check "cookie link" 0 "$BIN" --json cookie link "$ID" cookie-1
shape cookie-link
check "cookie reset" 0 "$BIN" --json cookie reset "$ID"
shape cookie-reset

check "subject show" 0 "$BIN" --json subject show "$ID"
shape subject
subject_out=$out
check "subject list" 0 "$BIN" --json subject list
shape subject-list
check "subject find" 0 "$BIN" --json subject find --by email maija@example.com
shape subject-find

check "record list" 0 "$BIN" --json record list "$ID"
shape record-list
check "consent history" 0 "$BIN" --json consent history "$ID"
shape consent-history

IN='accuracy contested' check "restrict" 0 "$BIN" --json restrict "$ID" --reason-stdin
shape restrict
check "unrestrict" 0 "$BIN" --json unrestrict "$ID" --reason told
shape restrict
EID=$("$BIN" subject add --kind customer --field first_name=Eero --field last_name=Poisto \
	--field email=eero@example.com)
IN='{"amount": "5.00", "currency": "EUR", "method": "cash"}' \
	check "a voucher to keep" 0 "$BIN" record add "$EID" --type payment
IN='{"kind": "feedback", "text": "ok"}' \
	check "a record to erase" 0 "$BIN" record add "$EID" --type feedback
check "cookie link to erase" 0 "$BIN" cookie link "$EID" cookie-erase
check "erase" 0 "$BIN" --json erase "$EID"
shape erasure-receipt
check "actor add" 0 "$BIN" --json actor add cs1 --role customer_service
shape actor-add
check "actor add another" 0 "$BIN" --json actor add mk1 --role marketing
check "actor revoke" 0 "$BIN" --json actor revoke mk1
shape actor-revoke
check "actor list" 0 "$BIN" --json actor list
shape actor-list

# Data subject requests: one extended and refused (every key filled),
# one open (the keys that are null until then).
check "dsr open" 0 "$BIN" --json dsr open "$ID" erasure --verified-by strong-auth
shape dsr-open
check "dsr open another" 0 "$BIN" dsr open "$ID" access
check "dsr extend" 0 "$BIN" --json dsr extend 1 --reason "many requests at once"
shape dsr-extend
check "dsr close" 0 "$BIN" --json dsr close 1 --outcome refused --reason "manifestly unfounded"
shape dsr-close
check "dsr show" 0 "$BIN" --json dsr show 1
shape dsr-show
check "dsr list" 0 "$BIN" --json dsr list --all
shape dsr-list

check "audit checkpoint" 0 "$BIN" --json audit checkpoint "$WORK/cp"
shape audit-checkpoint
check "audit verify" 0 "$BIN" --json audit verify
shape audit-verify
check "audit log" 0 "$BIN" --json audit log
shape audit-log

check "backup" 0 "$BIN" --json backup "$WORK/backup.db"
shape backup
check "restore" 0 "$BIN" --json restore "$WORK/backup.db"
shape restore
check "key rotate" 0 "$BIN" --json key rotate
shape key-rotate
RETIRED=$(jq -r .retired_key_id <<<"$out")
check "key rotate --reencrypt" 0 "$BIN" --json key rotate --reencrypt
shape key-rotate
check "key reencrypt" 0 "$BIN" --json key reencrypt
shape key-reencrypt
check "key reencrypt --restart" 0 "$BIN" --json key reencrypt --restart
shape key-reencrypt
# two rotations: the current key and two retired ones
check "key list" 0 "$BIN" --json key list
shape key-list
out=$(jq '.keys' <<<"$out")
shape keys
check "key retire" 0 "$BIN" --json key retire "$RETIRED"
shape key-retire

# a backup under today's key, for the restores below
check "backup under the current key" 0 "$BIN" backup "$WORK/backup2.db"
check "restore --into" 0 "$BIN" --json --key-file "$RK_KEY" \
	restore --into "$WORK/into.db" "$WORK/backup2.db"
shape restore-into

# A register whose rows were edited without the key: the other form of
# audit verify's document.
rows "UPDATE actor SET revoked_at = 0 WHERE name = 'mk1'" "$WORK/into.db" >/dev/null
check "audit verify of edited rows" 5 "$BIN" --json --db "$WORK/into.db" \
	--key-file "$RK_KEY" audit verify
shape audit-verify-rows

# A broken trail: audit verify names the entry, and only a forced restore
# replaces the trail, with a note.
rows "UPDATE audit SET actor = 'mallory' WHERE seq = 3" >/dev/null
check "audit verify of an edited trail" 5 "$BIN" --json audit verify
shape audit-verify
check "restore --force over the edited trail" 0 "$BIN" --json restore --force "$WORK/backup2.db"
shape restore-force
check "audit verify after the forced restore" 0 "$BIN" --json audit verify
shape audit-verify
check "version" 0 "$BIN" --json version
shape version

# --- every shape of the document was checked ------------------------------------

missing=$(comm -23 <(doc_shapes "$DOC") <(printf '%s\n' "${CHECKED[@]}" | sort -u))
expect "every shape in docs/api.md is produced by this test" [ -z "$missing" ]
for name in $missing; do bad "shape $name is in docs/api.md but this test does not produce it"; done

# --- the comparison itself fails when the doc alone changes ---------------------

# A key added to the example only (the subject's, after its "kind") must be
# named; so must a key taken out of it.
awk '/<!-- shape: subject( |-->)/ { s = 1 }
	s && /"kind":/ { print; print "  \"doc_only\": \"x\","; s = 0; next }
	{ print }' "$DOC" >"$WORK/api-extra.md"
diff=$(shape_diff subject "$WORK/api-extra.md" "$subject_out")
expect "a key only in the doc is named" grep -q 'key \.doc_only (string) is in the example' <<<"$diff"
awk '/<!-- shape: subject( |-->)/ { s = 1 }
	s && /"kind":/ { s = 0; next }
	{ print }' "$DOC" >"$WORK/api-less.md"
diff=$(shape_diff subject "$WORK/api-less.md" "$subject_out")
expect "a key only in the code is named" grep -q 'key \.kind (string) is in the output' <<<"$diff"

e2e_finish
