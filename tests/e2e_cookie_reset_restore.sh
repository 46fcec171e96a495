#!/usr/bin/env bash
# A cookie reset outlives a restore: the reset is an entry of the subject's
# ledger, which a restore keeps, so the identifiers a backup from before the
# reset brings back are unlinked again, with the records that came through
# them, while a link made after the reset stays when its backup is
# restored. Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

BROWSE='{"url": "https://example.com/tuotteet", "at": "2025-01-31T12:00:00Z"}'
C1=GA1.2.1111111111.1738324800
C2=GA1.2.2222222222.1738324900

e2e_init_customer "add a customer" first_name=Ilmatar last_name=Zyxwvutila \
	email=ilmatar@example.com
check "link a cookie" 0 "$BIN" cookie link "$A" "$C1"
check "consent to analytics cookies" 0 "$BIN" consent give "$A" analytics_cookies
IN=$BROWSE check "browsing under the cookie reaches the subject" 0 \
	"$BIN" record add --cookie "$C1" --type browsing --purpose analytics
IN=$BROWSE check "a record added directly" 0 "$BIN" record add "$A" --type browsing --purpose analytics
cookie_records() { rows "SELECT count(*) FROM record WHERE subject_id = '$A' AND cookie_hash IS NOT NULL"; }
all_records() { rows "SELECT count(*) FROM record WHERE subject_id = '$A'"; }
links() { rows "SELECT count(*) FROM cookie WHERE subject_id = '$A'"; }
expect "one link, one record through it" test "$(links)/$(cookie_records)" = 1/1
DIRECT=$(( $(all_records) - 1 ))

check "a backup while the cookie is linked" 0 "$BIN" backup "$WORK/before.db"
check "reset the cookie profile" 0 "$BIN" cookie reset "$A"
expect "the reset unlinked and deleted" grep -q "unlinked 1 identifier, deleted 1 record" <<<"$out"
check "the ledger holds the reset" 0 "$BIN" --json consent history "$A"
expect "as an entry of its own" jq -e 'map(select(.scope == "rk:cookie_reset")) | length == 1' <<<"$out" >/dev/null
expect "of kind action, a thing done, not an objection in force" \
	jq -e 'map(select(.scope == "rk:cookie_reset")) | .[0].kind == "action"' <<<"$out" >/dev/null
check "the access report" 0 "$BIN" --json export "$A"
expect "shows the reset as an action too" \
	jq -e '.ledger | map(select(.scope == "rk:cookie_reset")) | .[0].kind == "action"' <<<"$out" >/dev/null

# A link made after the reset (a second later: the ledger counts seconds,
# and a link of the reset's own second counts as reset with it).
sleep 1.1
check "link another cookie after the reset" 0 "$BIN" cookie link "$A" "$C2"
IN=$BROWSE check "browsing under it" 0 \
	"$BIN" record add --cookie "$C2" --type browsing --purpose analytics
check "a backup after the reset" 0 "$BIN" backup "$WORK/after.db"

check "restore the backup from before the reset" 0 "$BIN" restore "$WORK/before.db"
expect "no identifier from before the reset came back" test "$(links)" = 0
expect "nor a record that came through one" test "$(cookie_records)" = 0
expect "the records added directly came back" test "$(all_records)" = "$DIRECT"
IN=$BROWSE check "browsing under the old cookie reaches no one" 3 \
	"$BIN" record add --cookie "$C1" --type browsing --purpose analytics
check "the audit trail and the row MACs verify" 0 "$BIN" audit verify

check "restore the backup from after the reset" 0 "$BIN" restore "$WORK/after.db"
expect "the link made after the reset is there" test "$(links)" = 1
expect "with its record" test "$(cookie_records)" = 1
IN=$BROWSE check "browsing under the new cookie reaches the subject" 0 \
	"$BIN" record add --cookie "$C2" --type browsing --purpose analytics
IN=$BROWSE check "the old one still reaches no one" 3 \
	"$BIN" record add --cookie "$C1" --type browsing --purpose analytics
check "the audit trail and the row MACs verify again" 0 "$BIN" audit verify

check "the access report" 0 "$BIN" export "$A"
expect "names the reset" jq -e '[.. | objects | select(.scope? == "rk:cookie_reset") | .label] | length == 1 and (.[0] | type) == "string"' <<<"$out" >/dev/null

e2e_finish
