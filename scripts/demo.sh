#!/usr/bin/env bash
# A tour of rekisteri on a small demo register in ./demo/.
# The first run creates the register from the example policy (the seed
# notice) and adds three fictional people; later runs reuse it.
# All data is made up: names are Finnish placeholder names, e-mail
# addresses are at example.fi / example.com, and the one HETU is the
# official example 131052-308T.
set -euo pipefail

cd "$(dirname "$0")/.."
bin=${REKISTERI_BIN:-build/rekisteri}
dir=demo
db=$dir/rekisteri.db
policy=policies/ocr-factory.json

if [ ! -x "$bin" ]; then
	echo "demo: $bin not found; build first (make build)" >&2
	exit 1
fi
shown_bin=$bin
case $bin in
/*) ;;
*) bin=$PWD/$bin ;;
esac
# The demo uses its own register, whatever the environment says.
unset REKISTERI_DB REKISTERI_KEY_FILE

step() {
	printf '\n== %s\n' "$1"
	shift
	printf '$ rekisteri %s\n' "$*"
}

rk() {
	"$bin" "$@"
}

umask 077
if [ -e "$db" ]; then
	echo "demo: reusing the register in $db (rm -rf $dir to start over)"
else
	mkdir -p "$dir"
	step "Create a register and its master key from the seed notice" \
		init --db "$db" --policy "$policy"
	rk init --db "$db" --policy "$policy"
	echo "(the master key is in $db.key, readable by its owner only)"

	step "Add a customer: Maija Mallikas, with the official example HETU" \
		subject add --db "$db" --kind customer --field first_name=Maija ...
	maija=$(rk subject add --db "$db" --kind customer \
		--field first_name=Maija --field last_name=Mallikas \
		--field email=maija.mallikas@example.fi \
		--field hetu=131052-308T \
		--field postal_code=00100 --field city=Helsinki \
		--field country=FI)
	echo "$maija"

	step "Add a customer: Matti Meikäläinen" \
		subject add --db "$db" --kind customer --field first_name=Matti ...
	rk subject add --db "$db" --kind customer \
		--field first_name=Matti --field last_name=Meikäläinen \
		--field email=matti.meikalainen@example.com \
		--field city=Tampere --field country=FI

	step "Add a prospect who left only an e-mail address" \
		subject add --db "$db" --kind prospect --field email=...
	rk subject add --db "$db" --kind prospect \
		--field first_name=Essi \
		--field email=essi.esimerkki@example.fi

	step "Record Maija's purchase (JSON on standard input)" \
		record add --db "$db" "$maija" --type purchase
	printf '%s' '{"product": "OCR Scanner 3000", "amount": "249.00", "currency": "EUR", "warranty_until": "2028-11-30"}' |
		rk record add --db "$db" "$maija" --type purchase

	step "Maija gives e-mail marketing consent on the web" \
		consent give --db "$db" "$maija" email_marketing --channel web
	rk consent give --db "$db" "$maija" email_marketing --channel web
fi

step "Find a subject by e-mail (through the blind index, not plaintext)" \
	subject find --db "$db" --by email maija.mallikas@example.fi
found=$(rk subject find --db "$db" --by email maija.mallikas@example.fi)
echo "$found"
id=${found%%$'\n'*}

step "Show what customer service may see for the customer relationship" \
	subject show --db "$db" "$id" --purpose customer_relationship
rk subject show --db "$db" "$id" --purpose customer_relationship

step "May we e-mail her our own offers? (exit 4 would mean no)" \
	may-contact --db "$db" "$id" --channel email
rk may-contact --db "$db" "$id" --channel email || true

step "A marketing assistant, with a token of her own, reads for marketing" \
	actor add --db "$db" mk-demo --role marketing
if token=$(rk actor add --db "$db" mk-demo --role marketing 2>/dev/null); then
	echo "(token shown once; only its hash is stored)"
	REKISTERI_ACTOR=mk-demo REKISTERI_TOKEN=$token \
		rk subject show --db "$db" "$id" --purpose marketing_communications
	step "The same assistant asking for the customer relationship is refused" \
		subject show --db "$db" "$id" --purpose customer_relationship
	REKISTERI_ACTOR=mk-demo REKISTERI_TOKEN=$token \
		rk subject show --db "$db" "$id" --purpose customer_relationship ||
		echo "(exit $?: refused by policy, and the refusal is in the audit trail)"
else
	echo "(the actor exists from an earlier run)"
fi

step "List the subjects (IDs, kinds and dates only; no personal data)" \
	subject list --db "$db"
rk subject list --db "$db"

step "Verify the audit trail: every read and write above left an entry" \
	audit verify --db "$db"
rk audit verify --db "$db"

printf '\nThe demo register is in %s/. Try: %s --help\n' "$dir" "$shown_bin"

# The HTTP API on the demo register, only when someone is at the terminal
# (a run without one, as in scripts, ends here and never waits).
if [ -t 0 ] && [ -t 1 ] && [ -z "${DEMO_NO_SERVER-}" ]; then
	web="web-$(date +%s)"
	tok=$(rk actor add --db "$db" "$web" --role customer_service)
	lead="lead-$(date +%s)"
	leadtok=$(rk actor add --db "$db" "$lead" --role dpo)
	port=${DEMO_PORT:-8080}
	step "The HTTP API and the web console on the demo register (Ctrl-C stops it)" \
		serve --db "$db" --listen "127.0.0.1:$port" --web-dir web
	cat <<EOT
The web console: http://127.0.0.1:$port/console
  sign in as the data protection lead $lead with the token
  $leadtok
  (find Maija by e-mail maija.mallikas@example.fi; "Luo linkki" makes her
  self-service link for /me)

A customer service actor for the API: $web (its token is shown once).
Paste these into another terminal while the server runs:

  T='$tok'
  curl -s -X POST http://127.0.0.1:$port/v1/lookup -H "Authorization: Bearer \$T" \\
    -H 'Rekisteri-Purpose: customer_relationship' -H 'Content-Type: application/json' \\
    -d '{"by": "email", "value": "maija.mallikas@example.fi"}'
  curl -s http://127.0.0.1:$port/v1/subjects/$id -H "Authorization: Bearer \$T" \\
    -H 'Rekisteri-Purpose: customer_relationship'
  curl -s http://127.0.0.1:$port/v1/openapi.json | head -c 300

EOT
	# Ctrl-C reaches the server, which finishes, commits its audit queue
	# and exits 0; the demo then ends normally.
	"$bin" serve --db "$db" --listen "127.0.0.1:$port" --no-access-log \
		--web-dir web || true
	echo "(server stopped)"
fi
