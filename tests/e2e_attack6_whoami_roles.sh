#!/usr/bin/env bash
# GET /v1/whoami for every role of the example policy: the console builds
# its forms from it, and it must not let a role learn a subject field it
# may not see. Each kind's required fields were listed whole, so a role
# without the name category (processor_research) still learnt last_name.
# Every field name whoami gives (lookup keys, fields, kinds' required) must
# be one of the fields it gives the role, and no subject's value may be in
# it. Ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

a5_start
req "a subject" 201 POST /v1/subjects "$TOK_DPO" \
	'{"kind":"customer","fields":{"first_name":"Wilhelmiina","last_name":"Qvarnstromsky","email":"wq.unique@example.fi","hetu":"131052-308T"}}'
for role in $(jq -r '.roles | keys[]' "$POLICY"); do
	tok=$("$BIN" actor add "who_$role" --role "$role") || { bad "actor add $role"; continue; }
	req "whoami as $role" 200 GET /v1/whoami "$tok"
	expect "$role: every required field of a kind is a field it sees" jqx '
		[.fields[].name] as $seen
		| [.kinds[].required[]] | all(. as $f | $seen | index($f))' <<<"$body"
	expect "$role: every lookup key is a field it sees" jqx '
		[.fields[].name] as $seen
		| [.lookup[].name] | all(. as $f | $seen | index($f))' <<<"$body"
	expect "$role: no subject's value" eval '! grep -qiE "Wilhelmiina|Qvarnstromsky|wq.unique|131052" <<<"$body"'
	cats=$(jq -c --arg r "$role" '.roles[$r].categories' "$POLICY")
	expect "$role: only fields of its categories" jqx --argjson c "$cats" \
		'[.fields[].category] | all(. as $x | $c | index($x))' <<<"$body"
done
e2e_serve_stop
e2e_finish
