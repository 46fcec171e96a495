#!/usr/bin/env bash
# End-to-end: the administrator's routes for signed audit checkpoints,
# backups and restores on a real server. The administrator gets 2xx, other
# roles 403; backups are written only into the server's --backup-dir under
# names the server makes, and a restore names one of them, never a path.
. "$(dirname "$0")/e2e-common.sh"

command -v curl >/dev/null || { echo "curl is needed"; exit 1; }
# start [OPTIONS...]: the script's server (e2e_serve); sets $U
start() { e2e_serve "$@"; }
# req NAME WANT METHOD PATH TOKEN [BODY]
req() {
	local name=$1 want=$2 method=$3 path=$4 tok=$5 data=${6-}
	local args=(-s -o "$WORK/body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $tok")
	[ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
	code=$(curl "${args[@]}" "$U$path")
	body=$(cat "$WORK/body")
	if [ "$code" = "$want" ]; then ok "$name"; else bad "$name (status $code, wanted $want: $body)"; fi
}
jqb() { jq -r "$1" <<<"$body"; }

check "init" 0 "$BIN" init --policy "$POLICY"
for a in adm:admin cs:customer_service; do
	n=${a%%:*}
	"$BIN" actor add "$n" --role "${a#*:}" >"$WORK/tok.$n" || bad "actor add $n"
done
ADM=$(cat "$WORK/tok.adm")
CS=$(cat "$WORK/tok.cs")
mkdir -p "$WORK/backups"
check "a --backup-dir that is not a folder is refused" 2 "$BIN" serve \
	--listen 127.0.0.1:0 --backup-dir "$WORK/none"
e2e_must "the server starts" start --backup-dir "$WORK/backups"
ok "the server starts with --backup-dir"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $CS" \
	-H 'Rekisteri-Purpose: customer_relationship' -H 'Content-Type: application/json' \
	--data-binary '{"kind":"customer","fields":{"first_name":"Varma","last_name":"Kopio","email":"v@example.fi"}}' \
	"$U/v1/subjects")
expect "a subject to back up ($code)" test "$code" = 201

# --- checkpoints
req "customer service may not sign a checkpoint" 403 POST /v1/audit/checkpoints "$CS"
req "the administrator signs a checkpoint" 201 POST /v1/audit/checkpoints "$ADM"
CP=$(jqb .checkpoint)
expect "the checkpoint is signed text" grep -q "^signature: " <<<"$CP"
expect "and kept in the backup folder" test -s "$WORK/backups/$(jqb .name)"
req "the administrator verifies the chain against it" 200 POST /v1/audit/checkpoints/verify "$ADM" \
	"$(jq -n --arg c "$CP" '{checkpoint: $c}')"
expect "intact" test "$(jqb .intact)" = true
req "customer service may not verify checkpoints" 403 POST /v1/audit/checkpoints/verify "$CS" \
	"$(jq -n --arg c "$CP" '{checkpoint: $c}')"
req "a checkpoint that is not one is refused" 422 POST /v1/audit/checkpoints/verify "$ADM" \
	'{"checkpoint":"rekisteri? no"}'
req "a body without the checkpoint is 400" 400 POST /v1/audit/checkpoints/verify "$ADM" '{"x":1}'

# --- backups
req "customer service may not make a backup" 403 POST /v1/backups "$CS"
req "the administrator makes a backup" 201 POST /v1/backups "$ADM"
NAME=$(jqb .name)
expect "it is named by the server ($NAME)" grep -Eq '^rekisteri-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}\.db$' <<<"$NAME"
expect "it is in the backup folder" test -s "$WORK/backups/$NAME"
expect "and nowhere else" test "$(find "$WORK" -name "$NAME" | wc -l)" = 1
req "customer service may not restore" 403 POST "/v1/backups/$NAME/restore" "$CS"
req "the administrator restores it" 200 POST "/v1/backups/$NAME/restore" "$ADM"
req "an unknown backup is 404" 404 POST /v1/backups/rekisteri-nope.db/restore "$ADM"
req "a name the server did not make is 404" 404 POST /v1/backups/r.db/restore "$ADM"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $ADM" \
	"$U/v1/backups/..%2F..%2Fr.db/restore")
expect "a path in the name is not a backup ($code)" test "$code" = 404
req "a bad force is 400" 400 POST "/v1/backups/$NAME/restore?force=yes" "$ADM"
req "the chain verifies over HTTP" 200 GET /v1/audit/verify "$ADM"
expect "intact after the restore" test "$(jqb .intact)" = true

# --- the list of backups: the administrator's, names and sizes only
req "customer service may not list the backups" 403 GET /v1/backups "$CS"
req "the administrator lists the backups" 200 GET /v1/backups "$ADM"
expect "the backup is listed" test "$(jq -r --arg n "$NAME" '.backups[] | select(.name == $n) | .name' <<<"$body")" = "$NAME"
expect "with its size" test "$(jq -r --arg n "$NAME" '.backups[] | select(.name == $n) | .bytes' <<<"$body")" = "$(stat -c %s "$WORK/backups/$NAME")"
expect "and its time" grep -Eq '"time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"' <<<"$body"
expect "checkpoints and other files are not backups" test "$(jq '[.backups[] | select(.name | test("^rekisteri-.*\\.db$") | not)] | length' <<<"$body")" = 0
expect "no personal data in the list" sh -c '! grep -q Varma "$1"' _ "$WORK/body"

# --- the document
curl -s "$U/v1/openapi.json" >"$WORK/openapi.json"
for p in /v1/audit/checkpoints /v1/audit/checkpoints/verify /v1/backups "/v1/backups/{name}/restore"; do
	expect "the OpenAPI document has $p" jq -e --arg p "$p" '.paths[$p].post' "$WORK/openapi.json" >/dev/null
done
expect "the OpenAPI document has GET /v1/backups" jq -e '.paths["/v1/backups"].get' "$WORK/openapi.json" >/dev/null
e2e_serve_stop
# (the server's audit queue is committed when it stops)
expect "the refused listing is audited" sh -c '"$1" audit log | grep -q backup.list' _ "$BIN"

# --- without --backup-dir: checkpoints are answered, backups are not
e2e_must "the server starts without --backup-dir" start
req "a checkpoint without a backup folder: the text only" 201 POST /v1/audit/checkpoints "$ADM"
expect "no name" test "$(jqb .name)" = null
req "no backups without a backup folder" 404 POST /v1/backups "$ADM"
req "and no list of them" 404 GET /v1/backups "$ADM"
e2e_serve_stop
check "audit verify after everything" 0 "$BIN" audit verify
e2e_finish
