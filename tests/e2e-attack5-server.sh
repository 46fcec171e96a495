# Shared by the tests/e2e_attack5_*.sh scripts (and tests/pending/e2e_attack5_*)
# and tests/e2e_console.sh: `rekisteri serve` with the web files on a free
# port (e2e_serve) and calling it with curl. Sourced after e2e-common.sh.
command -v curl >/dev/null || { echo "curl is needed"; exit 1; }
command -v jq >/dev/null || { echo "jq is needed"; exit 1; }

# start [ARGS...]: the script's server (e2e_serve) with the source tree's
# web files (or those of $WEBDIR), its log in $WORK/server.log; sets $U
start() { e2e_serve --grace 5 --web-dir "${WEBDIR:-$SRC/web}" "$@"; }
# req NAME WANT METHOD PATH [TOKEN] [BODY] [PURPOSE]: the answer's body in
# $body, its headers in $WORK/hdr
req() {
	local name=$1 want=$2 method=$3 path=$4 tok=${5-} data=${6-}
	local args=(-s -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' -X "$method"
		-H "Rekisteri-Purpose: ${7:-customer_relationship}")
	[ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
	[ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
	code=$(curl "${args[@]}" "$U$path")
	body=$(cat "$WORK/body")
	if [ "$code" = "$want" ]; then ok "$name"; else bad "$name (status $code, wanted $want: $(head -c 300 "$WORK/body"))"; fi
}
hdr() { grep -i "^$1:" "$WORK/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
# jqx FILTER...: jq -e on standard input, quiet (for expect, whose own
# output must not be redirected)
jqx() { jq -e "$@" >/dev/null; }
# a5_start [ARGS...]: the register made, a data protection lead's token in
# $TOK_DPO, and the server started with ARGS (or the script ends, failed).
a5_start() {
	check "init" 0 "$BIN" init --policy "$POLICY"
	TOK_DPO=$("$BIN" actor add dpo1 --role dpo) || bad "actor add dpo1"
	e2e_must "the server starts" start "$@"
}
# person_link [NAME]: the customer Maija Meikalainen, made by the data
# protection lead ($TOK_DPO), in $ID, and a self-service link for her
# (the check NAME, "a link" unless given) whose secret is in $SECRET.
person_link() {
	req "a subject" 201 POST /v1/subjects "$TOK_DPO" \
		'{"kind":"customer","fields":{"first_name":"Maija","last_name":"Meikalainen","email":"maija@example.fi"}}'
	ID=$(jq -r .id <<<"$body")
	req "${1:-a link}" 201 POST "/v1/subjects/$ID/self-service-link" "$TOK_DPO"
	SECRET=$(jq -r .secret <<<"$body")
}
# a5_browser_link: the start of a browser's visit to the person's link: the
# browser there (browser_needed, from browser-setup.sh), the server started
# (a5_start) and the person with her link (person_link).
a5_browser_link() {
	browser_needed
	a5_start
	person_link
}
# selfsvc_keep: the self-service table and its pinned set, as they are now
# (the person's link unused), kept in the file: the rows in the table
# kept_selfsvc, the set's value in $SET
selfsvc_keep() {
	rows "CREATE TABLE kept_selfsvc AS SELECT * FROM selfsvc"
	SET=$(rows "SELECT hex(value) FROM meta WHERE key = 'selfsvc_set'")
}
# selfsvc_put_back [SQL]: both put back as selfsvc_keep kept them (a
# genuine older state: every row's MAC and the set's tag match), and SQL
# run in the same call
selfsvc_put_back() {
	rows "DELETE FROM selfsvc; INSERT INTO selfsvc SELECT * FROM kept_selfsvc;
DROP TABLE kept_selfsvc; UPDATE meta SET value = x'$SET' WHERE key = 'selfsvc_set';${1-}"
}
