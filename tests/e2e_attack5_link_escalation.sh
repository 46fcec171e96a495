#!/usr/bin/env bash
# Attack: a low-privilege staff member tried to read everything about any
# person through the self-service page (it could, until links were kept to
# the roles that answer the subjects' requests). Issuing a self-service link needs
# only a purpose the actor's role has (access_check), while the session the
# link opens acts "with the operator's reach" (rk_selfservice_authenticate
# sets no role). So an actor of role processor_research, which sees neither
# names nor identifiers and may not export, issues a link for any subject
# ID (a look-up by e-mail finds it), exchanges the secret itself and
# reads the whole access report, the personal identity code unmasked
# included; it can also give or withdraw consents and open requests in the
# person's name, audited as "(self-service)". The same link reads a
# subject whose processing is restricted, which the role may not read. Issuing a link should need a
# role that may export (the data protection lead, the administrator), as
# the access report it opens does.
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

check "init" 0 "$BIN" init --policy "$POLICY"
TOK_DPO=$("$BIN" actor add dpo1 --role dpo) || bad "actor add dpo1"
TOK_RES=$("$BIN" actor add res1 --role processor_research) || bad "actor add res1"
TOK_MK=$("$BIN" actor add mk1 --role marketing) || bad "actor add mk1"
e2e_must "the server starts" start
HETU=131052-308T
req "a subject with a HETU" 201 POST /v1/subjects "$TOK_DPO" \
	"{\"kind\":\"customer\",\"fields\":{\"first_name\":\"Maija\",\"last_name\":\"Meikalainen\",\"email\":\"maija@example.fi\",\"hetu\":\"$HETU\"}}"
ID=$(jq -r .id <<<"$body")

# what the research role may see and do by itself
req "the research role finds the subject by e-mail" 200 POST /v1/lookup "$TOK_RES" '{"by":"email","value":"maija@example.fi"}' feedback_research
expect "the ID is found" jqx --arg id "$ID" '.ids | index($id) != null' <<<"$body"
req "the research role reads the subject under its purpose" 200 GET "/v1/subjects/$ID" "$TOK_RES" "" feedback_research
expect "it sees no name and no HETU" jqx '(.fields | has("hetu") | not) and (.fields | has("first_name") | not)' <<<"$body"
req "the research role may not export" 403 GET "/v1/subjects/$ID/export" "$TOK_RES" "" feedback_research

# the way around: a self-service link
for who in RES MK; do
	tok_var=TOK_$who
	req "a $who actor may not issue a self-service link" 403 POST "/v1/subjects/$ID/self-service-link" "${!tok_var}" "" \
		"$([ $who = RES ] && echo feedback_research || echo marketing_communications)"
	secret=$(jq -r '.secret // empty' <<<"$body")
	if [ -n "$secret" ]; then
		req "(the link is exchanged by the actor itself)" 201 POST /v1/self/session "" "{\"secret\":\"$secret\"}"
		ses=$(jq -r .token <<<"$body")
		req "(the session reads the whole report)" 200 GET /v1/self "$ses"
		expect "the $who actor does not get the HETU through the session" \
			bash -c "! grep -q '$HETU' '$WORK/body'"
		expect "nor the name" bash -c "! grep -q 'Meikalainen' '$WORK/body'"
	fi
done
# restriction: customer service may not read a restricted subject at all,
# yet its link reads everything
TOK_CS=$("$BIN" actor add cs1 --role customer_service) || bad "actor add cs1"
req "the subject is restricted" 200 POST "/v1/subjects/$ID/restrict" "$TOK_DPO" '{"reason":"accuracy contested"}'
req "customer service may not read it now" 403 GET "/v1/subjects/$ID" "$TOK_CS"
req "nor issue a link to read it through" 403 POST "/v1/subjects/$ID/self-service-link" "$TOK_CS"
secret=$(jq -r '.secret // empty' <<<"$body")
if [ -n "$secret" ]; then
	req "(the link is exchanged by the actor itself)" 201 POST /v1/self/session "" "{\"secret\":\"$secret\"}"
	ses=$(jq -r .token <<<"$body")
	req "(the session reads the restricted subject)" 200 GET /v1/self "$ses"
	expect "customer service does not get the restricted data" bash -c "! grep -q '$HETU' '$WORK/body'"
fi
req "the subject's restriction is lifted" 200 POST "/v1/subjects/$ID/unrestrict" "$TOK_DPO" '{"reason":"checked"}'
req "the data protection lead may issue a link" 201 POST "/v1/subjects/$ID/self-service-link" "$TOK_DPO"
check "audit verify passes" 0 "$BIN" audit verify

e2e_serve_stop
e2e_finish
