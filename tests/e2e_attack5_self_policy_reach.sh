#!/usr/bin/env bash
# Attack: the self-service session describes itself as the
# operator. GET /v1/self/policy is h_whoami on a handle that
# rk_selfservice_authenticate left without a role ("the operator's
# reach"), so the data subject's page is told it may read the audit trail
# and handle requests and may look people up by every lookup field, HETU
# included. Nothing uses it today, but it shows the session's real reach
# (see e2e_attack5_link_escalation.sh) and invites a page change to use
# it. The answer should hold the names and labels the page needs (scopes,
# objections, fields) and no staff capability.
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

a5_start
person_link
req "a session" 201 POST /v1/self/session "" "{\"secret\":\"$SECRET\"}"
SES=$(jq -r .token <<<"$body")
req "the page's policy" 200 GET /v1/self/policy "$SES"
expect "the page needs scopes and objections" jqx '(.scopes | length) > 0 and (.objections | length) > 0' <<<"$body"
expect "no audit capability" jqx '.audit != true' <<<"$body"
expect "no rights-handling capability" jqx '.rights != true' <<<"$body"
expect "no look-ups (HETU least of all)" jqx '(.lookup // []) | length == 0' <<<"$body"

e2e_serve_stop
e2e_finish
