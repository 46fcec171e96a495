#!/usr/bin/env bash
# Attack: anyone could lock the staff out. Failed self-service
# exchanges (POST /v1/self/session needs no credential at all) count toward
# the same per-address failure limit as staff tokens, and a blocked address
# is refused good staff tokens too. The documented deployment puts a TLS
# proxy in front (--insecure-listen), so every client has the proxy's
# address: ten requests a minute from an anonymous outsider kept the whole
# console and every API client at 429. Link guesses are now counted apart
# from staff authentication (a bucket of their own).
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

a5_start --auth-fails 5
req "staff work" 200 GET /v1/whoami "$TOK_DPO"
for i in $(seq 1 6); do
	curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
		--data-binary '{"secret":"guessguessguessguessguessguessguessguessgue"}' "$U/v1/self/session"
done
req "anonymous link guesses are blocked" 429 POST /v1/self/session "" '{"secret":"x"}'
req "staff with a good token still work" 200 GET /v1/whoami "$TOK_DPO"

e2e_serve_stop
e2e_finish
