#!/usr/bin/env bash
# sqlite-only: looks for ciphertext in the file and its WAL, copies the file
# End-to-end tests of the data subject's rights through the real binary on a
# real SQLite file: rectification and erasure of one record, lifting the
# direct-marketing prohibition, objecting to legitimate-interest processing
# for a purpose (and compelling grounds against it), a cookie profile reset
# that resets, and a prospect becoming a customer. Each check states what it
# proves; the script ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

PURCHASE='{"product": "Skanneri RKX-1", "amount": "129.90", "currency": "EUR"}'
PURCHASE2='{"product": "Skanneri RKX-2", "amount": "139.90", "currency": "EUR"}'
CARD='{"product": "4111 1111 1111 1111", "amount": "1.00", "currency": "EUR"}'
FEEDBACK='{"kind": "feedback", "text": "Hyvä palvelu"}'
BROWSE='{"url": "https://example.com/tuotteet", "at": "2025-01-31T12:00:00Z"}'
CALL='{"channel": "call", "direction": "inbound", "text": "soitto"}'
# has_bytes FILE HEX: whether FILE holds the bytes HEX (a missing file holds none)
has_bytes() { [ -f "$1" ] && od -An -v -tx1 "$1" | tr -d ' \n' | grep -q "$2"; }
verified() { "$BIN" audit verify >/dev/null 2>&1; }

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
IN='' check "add a customer" 0 "$BIN" subject add --kind customer \
	--field last_name=Oikeuksinen --field gender=female --field job_title=Insinööri
A=$out

# --- rectification of a record -----------------------------------------------
IN=$PURCHASE check "add a purchase" 0 "$BIN" record add "$A" --type purchase
R1=$out
OLD=$(rows "SELECT lower(hex(ciphertext)) FROM record WHERE id = $R1")
expect "the old ciphertext is in the files before" bash -c "$(declare -f has_bytes); has_bytes '$REKISTERI_DB' $OLD || has_bytes '$REKISTERI_DB-wal' $OLD"
IN=$CARD check "update refuses a card number as add does (exit 2)" 2 "$BIN" record update "$A" "$R1"
IN='{"product": "x"}' check "update refuses a record without its required fields" 2 "$BIN" record update "$A" "$R1"
IN=$PURCHASE2 check "update of a record the subject has not exits 3" 3 "$BIN" record update "$A" 999
IN='' check "update without JSON exits 2" 2 "$BIN" record update "$A" "$R1"
IN=$PURCHASE2 check "update replaces the fields" 0 "$BIN" --json record update "$A" "$R1"
expect "--json says updated" grep -q '"updated": true' <<<"$out"
IN='' check "list after update" 0 "$BIN" record list "$A" --purpose orders
expect "the new value is there" grep -q "RKX-2" <<<"$out"
expect "the old value is not" bash -c "! grep -q 'RKX-1' <<<'$out'"
expect "the old ciphertext is in neither the database nor its WAL" \
	bash -c "$(declare -f has_bytes); ! has_bytes '$REKISTERI_DB' $OLD && ! has_bytes '$REKISTERI_DB-wal' $OLD"
expect "audit verify passes after the update" verified
IN='' check "audit log" 0 "$BIN" audit log
expect "the trail names the record and the changed fields" grep -qE "record\.update.*record:$R1,type:purchase,.*amount.*product" <<<"$out"
expect "but no value" bash -c "! grep -q 'RKX' <<<'$out'"

# --- erasure of one record ------------------------------------------------------
printf 'puhelun tallenne\n' >"$WORK/call.txt"
IN=$CALL check "add a communication with an attachment" 0 "$BIN" record add "$A" --type communication --attach "$WORK/call.txt"
R2=$out
expect "its chunks are stored" test "$(rows "SELECT count(*) FROM attachment_chunk WHERE record_id = $R2")" -gt 0
IN='' check "delete it" 0 "$BIN" record delete "$A" "$R2"
expect "the record is gone" test "$(rows "SELECT count(*) FROM record WHERE id = $R2")" -eq 0
expect "its attachment chunks are gone" test "$(rows "SELECT count(*) FROM attachment_chunk")" -eq 0
expect "the other record stays" test "$(rows "SELECT count(*) FROM record")" -eq 1
IN='' check "delete again exits 3" 3 "$BIN" record delete "$A" "$R2"
expect "audit verify passes after the delete" verified

# --- an edited record row is still caught -------------------------------------------
rows "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp "$REKISTERI_DB" "$WORK/edit.db"; cp "$REKISTERI_DB.key" "$WORK/edit.db.key"
rows "UPDATE record SET purposes = 'analytics' WHERE id = $R1" "$WORK/edit.db"
IN='' check "an edited rectified row exits 5" 5 "$BIN" --db "$WORK/edit.db" record list "$A" --purpose analytics
IN='' check "and audit verify exits 5" 5 "$BIN" --db "$WORK/edit.db" audit verify

# --- lifting the direct-marketing prohibition --------------------------------------
IN='' check "prohibit direct marketing" 0 "$BIN" object "$A" direct_marketing
IN='' check "may-contact by post: no" 4 "$BIN" may-contact "$A" --channel post
IN='' check "the subject lifts it" 0 "$BIN" --json object "$A" direct_marketing --lift
expect "--json says it is no longer active" grep -q '"active": false' <<<"$out"
IN='' check "may-contact by post: yes again" 0 "$BIN" may-contact "$A" --channel post
IN='' check "e-mail follows the rules again" 4 "$BIN" may-contact "$A" --channel email
expect "(no e-mail address obtained with the sale: consent is needed)" grep -q "obtained in connection with a sale" <<<"$out"
IN='' check "consent history" 0 "$BIN" consent history "$A"
expect "the history shows the prohibition and its lifting" grep -qE "direct_marketing +lifted" <<<"$out"
expect "the prohibition itself is still in the ledger" grep -qE "direct_marketing +objected" <<<"$out"
expect "audit verify (ledger chain MACs) passes after the lift" verified

# --- objection for a purpose (Art. 21(1)) ---------------------------------------------
IN=$FEEDBACK check "add feedback (legitimate interest)" 0 "$BIN" record add "$A" --type feedback
IN='' check "object for a purpose the policy does not declare exits 2" 2 "$BIN" object "$A" --purpose no_such_purpose
IN='' check "object to processing for customer_relationship" 0 "$BIN" object "$A" --purpose customer_relationship
IN='' check "show for customer_relationship" 0 "$BIN" subject show "$A" --purpose customer_relationship
expect "the legitimate-interest values are withheld" bash -c "! grep -qE '^(gender|job_title) ' <<<'$out'"
expect "the contract-based ones are shown" grep -q "^last_name " <<<"$out"
IN='' check "records for customer_relationship" 0 "$BIN" --json record list "$A" --purpose customer_relationship
expect "the feedback record is withheld" bash -c "! grep -q '\"type\": \"feedback\"' <<<'$out'"
expect "the purchase (contract) is listed" grep -q '"type": "purchase"' <<<"$out"
IN='' check "show for marketing_communications" 0 "$BIN" subject show "$A" --purpose marketing_communications
expect "another purpose is not affected" grep -q "^gender " <<<"$out"
IN='' check "records for feedback_research" 0 "$BIN" --json record list "$A" --purpose feedback_research
expect "the feedback record is there for another purpose" grep -q '"type": "feedback"' <<<"$out"
IN='' check "add a customer service actor" 0 "$BIN" actor add cs1 --role customer_service
CS=$out
IN='' check "add a data protection lead" 0 "$BIN" actor add dpo1 --role dpo
DPO=$out
IN='asiakas riitauttaa laskun' REKISTERI_TOKEN=$CS check "customer service may not record compelling grounds (exit 4)" 4 \
	"$BIN" --actor cs1 object "$A" --purpose customer_relationship --compelling-grounds
IN='' check "grounds without a reason exit 2" 2 "$BIN" object "$A" --purpose customer_relationship --compelling-grounds
IN='perintä on kesken' REKISTERI_TOKEN=$DPO check "the data protection lead records compelling grounds" 0 \
	"$BIN" --actor dpo1 object "$A" --purpose customer_relationship --compelling-grounds
IN='' check "show for customer_relationship again" 0 "$BIN" subject show "$A" --purpose customer_relationship
expect "compelling grounds bring the values back" grep -q "^gender " <<<"$out"
IN='' check "consent history with the objection" 0 "$BIN" consent history "$A"
expect "the history names the purpose objection" grep -qE "objection +purpose:customer_relationship +objected" <<<"$out"
expect "and the compelling grounds" grep -qE "compelling_grounds +grounds:customer_relationship +recorded" <<<"$out"
IN='' check "object again" 0 "$BIN" object "$A" --purpose customer_relationship
IN='' check "show after a new objection" 0 "$BIN" subject show "$A" --purpose customer_relationship
expect "a new objection withholds again" bash -c "! grep -q '^gender ' <<<'$out'"
IN='' check "lift the purpose objection" 0 "$BIN" object "$A" --purpose customer_relationship --lift
IN='' check "show after the lift" 0 "$BIN" subject show "$A" --purpose customer_relationship
expect "lifted: shown again" grep -q "^gender " <<<"$out"
expect "audit verify passes after the objections" verified

# --- cookie profile reset ---------------------------------------------------------------
IN='' check "add a second customer" 0 "$BIN" subject add --kind customer --field last_name=Evästeinen
B=$out
IN='' check "link a cookie" 0 "$BIN" cookie link "$B" ck-rights-1
IN='' check "link another" 0 "$BIN" cookie link "$B" ck-rights-2
IN='' check "consent to analytics cookies" 0 "$BIN" consent give "$B" analytics_cookies
IN=$BROWSE check "browsing through the first" 0 "$BIN" record add --cookie ck-rights-1 --type browsing --purpose analytics
IN=$BROWSE check "browsing through the second" 0 "$BIN" record add --cookie ck-rights-2 --type browsing --purpose analytics
IN=$BROWSE check "browsing added directly" 0 "$BIN" record add "$B" --type browsing --purpose analytics
KEEP=$out
IN=$PURCHASE check "a purchase" 0 "$BIN" record add "$B" --type purchase
IN='' check "reset the profile" 0 "$BIN" cookie reset "$B"
expect "the output counts identifiers and records" grep -q "unlinked 2 identifiers, deleted 2 records" <<<"$out"
expect "exactly the cookie-borne records are gone" test "$(rows "SELECT group_concat(id) FROM record WHERE subject_id = '$B' AND type = 'browsing'")" = "$KEEP"
expect "the purchase stays" test "$(rows "SELECT count(*) FROM record WHERE subject_id = '$B' AND type = 'purchase'")" -eq 1
IN='' check "audit log" 0 "$BIN" audit log
expect "the reset's audit entry carries the counts" grep -qE "cookie\.reset.*identifiers:2,records:2" <<<"$out"
IN='' check "reset again with --json" 0 "$BIN" --json cookie reset "$B"
expect "nothing more to delete" grep -q '"deleted_records": 0' <<<"$out"
expect "audit verify passes after the reset" verified

# --- a prospect becomes a customer ------------------------------------------------------
IN='' check "a HETU on a prospect is refused (exit 4)" 4 "$BIN" subject add --kind prospect --field email=p@example.com --field hetu=131052-308T
expect "the message names the field and the kind" grep -q "hetu.*prospect" <<<"$err"
expect "but never the value" bash -c "! grep -q '308T' <<<'$err'"
IN='' check "a HETU on a business contact is refused (exit 4)" 4 "$BIN" subject add --kind contact --field last_name=K --field hetu=131052-308T
IN='' check "add a prospect" 0 "$BIN" subject add --kind prospect --field email=prospekti@example.com
P=$out
expect "a prospect's value expires" test -n "$(rows "SELECT expires_at FROM value WHERE subject_id = '$P' AND field = 'email'")"
IN='' check "update with a HETU is refused (exit 4)" 4 "$BIN" subject update "$P" --field hetu=131052-308T
IN='' check "convert without the customer's required field exits 2" 2 "$BIN" subject convert "$P" --kind customer
IN='' check "add the last name" 0 "$BIN" subject update "$P" --field last_name=Prospekti
IN='' check "convert to a customer" 0 "$BIN" --json subject convert "$P" --kind customer
expect "a customer number was issued" grep -q '"customer_number_issued": true' <<<"$out"
expect "the customer number is stored" test "$(rows "SELECT count(*) FROM value WHERE subject_id = '$P' AND field = 'customer_number'")" -eq 1
expect "the expiry follows the customer's rule (open while ongoing)" test -z "$(rows "SELECT expires_at FROM value WHERE subject_id = '$P' AND field = 'email'")"
expect "the kind is stored" test "$(rows "SELECT kind FROM subject WHERE id = '$P'")" = customer
IN='' check "a customer may hold a HETU" 0 "$BIN" subject update "$P" --field hetu=131052-308T
IN='' check "back to a prospect is refused while it holds one (exit 4)" 4 "$BIN" subject convert "$P" --kind prospect
IN='' check "--drop-disallowed drops it" 0 "$BIN" subject convert "$P" --kind prospect --drop-disallowed
expect "it says what it dropped" grep -q "dropped: hetu" <<<"$out"
expect "the HETU is gone" test "$(rows "SELECT count(*) FROM value WHERE subject_id = '$P' AND field = 'hetu'")" -eq 0
expect "the prospect's expiry is back" test -n "$(rows "SELECT expires_at FROM value WHERE subject_id = '$P' AND field = 'email'")"
IN='' check "audit log" 0 "$BIN" audit log
expect "the conversions are audited" test "$(grep -c 'subject\.convert.*ok' <<<"$out")" -eq 2
expect "the drop is audited" grep -q "dropped:hetu" <<<"$out"
expect "audit verify passes after the conversions" verified
rows "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp "$REKISTERI_DB" "$WORK/kind.db"; cp "$REKISTERI_DB.key" "$WORK/kind.db.key"
rows "UPDATE subject SET kind = 'customer' WHERE id = '$P'" "$WORK/kind.db"
IN='' check "an edited kind exits 5" 5 "$BIN" --db "$WORK/kind.db" subject show "$P"

# --- help and usage ----------------------------------------------------------------------
IN='' check "record --help" 0 "$BIN" record --help
expect "it documents update and delete" grep -q "record update ID RECORD" <<<"$out"
IN='' check "object --help" 0 "$BIN" object --help
expect "it documents --compelling-grounds" grep -q "compelling-grounds" <<<"$out"
IN='' check "subject --help" 0 "$BIN" subject --help
expect "it documents convert" grep -q "subject convert ID --kind KIND" <<<"$out"

e2e_finish
