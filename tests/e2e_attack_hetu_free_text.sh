#!/usr/bin/env bash
# Attack: a HETU in free text. The hetu field is shown masked to roles that
# do not need it (customer_service) and they may not look subjects up by it,
# but a HETU written into a feedback text or a job title is stored as is and
# shown whole to the same role, while a card number in the same place is
# refused. (Refusing it at write or masking it at read both close this.)
. "$(dirname "$0")/e2e-common.sh"

HETU=131052-308T
IN='' check "init" 0 "$BIN" init --policy "$POLICY"
IN='' check "add a customer" 0 "$BIN" subject add --kind customer \
	--field first_name=Aino --field last_name=Qwertyläinen --field hetu="$HETU"
A=$out
IN='' check "add a customer service actor" 0 "$BIN" actor add cs1 --role customer_service
TOK=$out
printf '{"kind": "complaint", "text": "Asiakkaan henkilötunnus on %s, soittakaa"}' "$HETU" |
	"$BIN" record add "$A" --type feedback >/dev/null 2>&1
"$BIN" subject update "$A" --field job_title="hetu $HETU" >/dev/null 2>&1
IN='' check "customer service shows the subject" 0 env REKISTERI_ACTOR=cs1 REKISTERI_TOKEN="$TOK" \
	"$BIN" subject show "$A"
expect "the hetu field itself is masked for customer service" bash -c '! grep "^hetu" <<<"$2" | grep -q "$1"' _ "$HETU" "$out"
expect "the HETU is not shown whole through the job title" bash -c '! grep -q "$1" <<<"$2"' _ "$HETU" "$out"
IN='' check "customer service lists the records" 0 env REKISTERI_ACTOR=cs1 REKISTERI_TOKEN="$TOK" \
	"$BIN" record list "$A"
expect "the HETU is not shown whole through a feedback text" bash -c '! grep -q "$1" <<<"$2"' _ "$HETU" "$out"
IN="{\"amount\": \"1\", \"currency\": \"EUR\", \"method\": \"card\", \"card_token\": \"$HETU\"}" \
	check "a HETU as a payment's card token exits 2" 2 "$BIN" record add "$A" --type payment
expect "the error names the field, not the value" bash -c 'grep -q card_token <<<"$2" && ! grep -q "$1" <<<"$2"' _ "$HETU" "$err"
IN="{\"kind\": \"complaint\", \"text\": \"hetu $HETU\"}" \
	check "a HETU in a feedback text exits 2" 2 "$BIN" record add "$A" --type feedback
expect "the error says to use the hetu field" bash -c 'grep -q "hetu field" <<<"$2" && ! grep -q "$1" <<<"$2"' _ "$HETU" "$err"
IN='' check "a HETU in a job title exits 2" 2 "$BIN" subject update "$A" --field job_title="hetu $HETU"
expect "the error names the field, not the value" bash -c 'grep -q job_title <<<"$2" && ! grep -q "$1" <<<"$2"' _ "$HETU" "$err"
e2e_finish
