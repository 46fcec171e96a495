#!/usr/bin/env bash
# End-to-end: every verb of the command line answers --help (usage on
# standard output, exit 0, whatever else stands beside it) and --json (one
# JSON document on standard output). Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

# Every verb, as it is typed before its operands.
VERBS=(
	"init" "policy check" "subject add" "subject show" "subject find"
	"subject update" "subject end" "subject list" "record add" "record list"
	"record attachment" "consent give" "consent withdraw" "consent history"
	"object" "may-contact" "cookie link" "cookie reset" "audit verify"
	"audit checkpoint" "audit log" "actor add" "actor list" "actor revoke"
	"key rotate" "backup" "restore" "version"
)
VERBS+=("dsr open" "dsr list" "dsr show" "dsr extend" "dsr close")
# help_ok NAME: the last command printed a usage on standard output
help_ok() { expect "$1 prints its usage" grep -q '^usage: rekisteri' <<<"$out"; }

check "init" 0 "$BIN" init --policy "$POLICY"
for v in "${VERBS[@]}"; do
	# shellcheck disable=SC2086 # the verb is two words
	check "$v --help" 0 "$BIN" $v --help
	help_ok "$v --help"
	check "$v -h" 0 "$BIN" $v -h
	help_ok "$v -h"
	# --help after other options and operands still asks for help
	check "$v X --purpose P --help" 0 "$BIN" $v 0123456789abcdef0123456789abcdef --purpose orders --help
	help_ok "$v with arguments and --help"
done
check "rekisteri --help" 0 "$BIN" --help
help_ok "rekisteri --help"
check "help" 0 "$BIN" help
help_ok "help"
expect "the usage names every verb" \
	bash -c 'for v in "${@:2}"; do for w in $v; do grep -qw -- "$w" <<<"$1" || exit 1; done; done' _ "$out" "${VERBS[@]}"

# --- --json: one JSON document from every verb ---------------------------------
# jcheck NAME EXPECTED_EXIT CMD...: check, then the output must parse
jcheck() {
	local name=$1
	check "$@"
	expect "$name prints JSON" jq -e . <<<"$out" >/dev/null
}
jcheck "policy check --json" 0 "$BIN" --json policy check "$POLICY"
jcheck "init --json" 0 "$BIN" --json --db "$WORK/j.db" init --policy "$POLICY"
jcheck "subject add --json" 0 "$BIN" --json subject add --kind customer --field last_name=Json --field email=json@example.com
ID=$(jq -r .id <<<"$out")
jcheck "subject show --json" 0 "$BIN" --json subject show "$ID"
jcheck "subject find --json" 0 "$BIN" --json subject find --by email json@example.com
jcheck "subject find --json, no match" 3 "$BIN" --json subject find --by email none@example.com
jcheck "subject update --json" 0 "$BIN" --json subject update "$ID" --field first_name=Jaana
jcheck "subject list --json" 0 "$BIN" --json subject list
IN='{"channel": "email", "direction": "inbound"}' \
	jcheck "record add --json" 0 "$BIN" --json record add "$ID" --type communication --attach "$POLICY"
RID=$(jq -r .id <<<"$out")
jcheck "record list --json" 0 "$BIN" --json record list "$ID"
jcheck "record attachment --json" 0 "$BIN" --json record attachment "$ID" "$RID" --out "$WORK/att"
jcheck "consent give --json" 0 "$BIN" --json consent give "$ID" email_marketing
jcheck "consent withdraw --json" 0 "$BIN" --json consent withdraw "$ID" email_marketing
jcheck "consent history --json" 0 "$BIN" --json consent history "$ID"
jcheck "may-contact --json" 0 "$BIN" --json may-contact "$ID" --channel post
jcheck "cookie link --json" 0 "$BIN" --json cookie link "$ID" ck-json
jcheck "cookie reset --json" 0 "$BIN" --json cookie reset "$ID"
jcheck "object --json" 0 "$BIN" --json object "$ID" direct_marketing
jcheck "subject end --json" 0 "$BIN" --json subject end "$ID"
jcheck "subject end --undo --json" 0 "$BIN" --json subject end "$ID" --undo
jcheck "actor add --json" 0 "$BIN" --json actor add js-1 --role marketing
jcheck "actor list --json" 0 "$BIN" --json actor list
jcheck "actor revoke --json" 0 "$BIN" --json actor revoke js-1
jcheck "audit verify --json" 0 "$BIN" --json audit verify
jcheck "audit checkpoint --json" 0 "$BIN" --json audit checkpoint "$WORK/cp"
jcheck "audit log --json" 0 "$BIN" --json audit log
jcheck "backup --json" 0 "$BIN" --json backup "$WORK/b.db"
jcheck "restore --json" 0 "$BIN" --json restore "$WORK/b.db"
jcheck "key rotate --json" 0 "$BIN" --json key rotate
jcheck "version --json" 0 "$BIN" --json version
expect "version --json names the version" jq -e '.version | test("^[0-9]+\\.[0-9]+\\.[0-9]+")' <<<"$out" >/dev/null
jcheck "--json after the verb" 0 "$BIN" version --json

e2e_finish
