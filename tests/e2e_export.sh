#!/usr/bin/env bash
# End-to-end tests of `rekisteri export`: the access report (GDPR Art. 15)
# as JSON checked against docs/export.schema.json and as HTML in both
# languages (parsed: no markup from the register gets through), the
# attachments written back byte for byte, the portable export (Art. 20)
# with the provided data only, the one audit entry per export, and the
# refusal of a role that does not see everything. Each check states what it
# proves; the script ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

SCHEMA="$SRC/docs/export.schema.json"
PY=python3

# audits ACTION: how many entries of ACTION the trail holds
audits() { rows "SELECT count(*) FROM audit WHERE action = '$1'"; }
# pyjson EXPR: evaluates a Python expression over the JSON in $out as d
pyjson() { "$PY" -c "import json,sys; d=json.loads(sys.stdin.read()); sys.exit(0 if ($1) else 1)" <<<"$out"; }

HOSTILE_FIRST='<script>alert(1)</script>'
HOSTILE_LAST='"><img src=x onerror=alert(1)>'
HOSTILE_TEXT="</td></table><script>alert('x')</script><svg onload=alert(2)> & \"quoted\""

check "init" 0 "$BIN" init --policy "$POLICY"
check "add a customer with every kind of field" 0 "$BIN" subject add --kind customer \
	--field first_name="$HOSTILE_FIRST" --field last_name="$HOSTILE_LAST" \
	--field email=maija@example.com --field email=m2@example.com \
	--field phone="040 123 4567" --field street_address="O'Brienintie 1 & <b>" \
	--field postal_code=00100 --field city=Helsinki --field country=FI \
	--field gender=female --field birth_date=1952-10-13 --field hetu=131052-308T \
	--field organization="Yritys Oy" --field business_id=3154631-3 \
	--field job_title="Ostaja" --field username=maija
ID=$out
IN='s3cret-Passw0rd'
check "a password" 0 "$BIN" subject update "$ID" --password-stdin --purpose products_services
unset IN
check "a second subject" 0 "$BIN" subject add --kind customer --field last_name=Toinen
OTHER=$out

# consents and the prohibition: given, withdrawn, objected
check "location consent" 0 "$BIN" consent give "$ID" location --channel app
check "personalisation consent" 0 "$BIN" consent give "$ID" personalisation --channel web
IN='Lomake 7 <i>kyllä</i>'
check "e-mail consent with evidence" 0 "$BIN" consent give "$ID" email_marketing --channel web --evidence-stdin
unset IN
check "e-mail consent withdrawn" 0 "$BIN" consent withdraw "$ID" email_marketing --channel phone
check "a marketing identifier (consent basis, from service use)" 0 \
	"$BIN" subject update "$ID" --field marketing_id=mk-77 --purpose marketing_communications

# a record of every type of the example policy
add_rec() { # add_rec TYPE JSON [ARGS...]
	local t=$1 j=$2
	shift 2
	IN=$j check "record $t" 0 "$BIN" record add "$ID" --type "$t" "$@"
}
add_rec purchase '{"product": "Scanner, \"Pro\"", "quantity": 2, "amount": "129.90", "currency": "EUR", "order_number": "A-1", "warranty_until": "2028-12-01"}'
add_rec payment '{"amount": "129.90", "currency": "EUR", "method": "card", "invoice_number": "L-9", "status": "paid", "card_token": "tok_abcdef123", "card_brand": "visa", "card_last4": "4242", "card_expiry": "12/29"}'
add_rec product_use '{"product": "Scanner", "feature": "OCR", "at": "2025-01-31T12:00:00Z"}'
add_rec feedback "$(jq -nc --arg t "$HOSTILE_TEXT" '{kind: "complaint", text: $t}')"
add_rec event '{"event": "Koulutus", "date": "2025-02-01", "kind": "training"}'
add_rec location '{"latitude": "60.1699", "longitude": "24.9384", "recorded_at": "2025-01-31T12:00:00Z"}' --purpose products_services
IN='' check "consent to analytics cookies" 0 "$BIN" consent give "$ID" analytics_cookies
add_rec browsing '{"url": "https://example.com/tuotteet", "ip": "192.0.2.1", "user_agent": "Testi/1.0", "at": "2025-01-31T12:00:00Z"}' --purpose analytics
add_rec marketing_action '{"campaign": "Kevät", "channel": "email", "response": "opened"}' --purpose marketing_communications
head -c 3000 /dev/urandom >"$WORK/call.bin"
printf 'tail\0bytes\n' >>"$WORK/call.bin"
add_rec communication "$(jq -nc --arg t "$HOSTILE_TEXT" '{channel: "call", direction: "inbound", text: $t}')" \
	--attach "$WORK/call.bin" --attach-type audio/mpeg
RID=$out
# last: from now on no marketing-purpose write is allowed
check "the direct-marketing prohibition" 0 "$BIN" object "$ID" direct_marketing --channel phone

# --- the JSON access report -----------------------------------------------------
before=$(audits subject.export)
check "export (JSON)" 0 "$BIN" export "$ID"
JSON=$out
expect "the export is exactly one audit entry" test "$(audits subject.export)" = $((before + 1))
expect "the entry names the subject's pseudonym and the fields read" \
	test "$(rows "SELECT count(*) FROM audit WHERE action = 'subject.export' AND subject = (SELECT pseudonym FROM subject WHERE id = '$ID') AND fields LIKE '%first_name%' AND fields LIKE '%communication%' AND outcome = 'ok'")" = 1
expect "it validates against docs/export.schema.json" "$PY" -c "
import json, sys, jsonschema
s = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(s)
jsonschema.Draft202012Validator(s).validate(json.loads(sys.stdin.read()))" "$SCHEMA" <<<"$JSON"
expect "the schema refuses a document with an unknown key (it can fail)" bash -c "! jq '.extra = 1' <<<\"\$1\" | $PY -c '
import json, sys, jsonschema
jsonschema.validate(json.load(sys.stdin), json.load(open(sys.argv[1])))' \"$SCHEMA\" 2>/dev/null" _ "$JSON"
expect "schema and version" pyjson 'd["schema"] == "rekisteri-export" and d["version"] == 1 and d["lang"] == "fi"'
expect "the controller with its Y-tunnus and contact person" \
	pyjson 'd["controller"]["name"] == "OCR Factory Oy" and d["controller"]["business_id"] == "3154631-3" and d["contact_person"]["email"] == "miia@ocrfactory.fi"'
expect "the supervisory authority from the policy" \
	pyjson 'd["supervisory_authority"]["name"] == "Tietosuojavaltuutetun toimisto" and d["supervisory_authority"]["url"] == "https://tietosuoja.fi"'
expect "the subject with its relationship" \
	pyjson "d['subject']['id'] == '$ID' and d['subject']['kind'] == 'customer' and d['subject']['relationship_start'] is not None"
expect "purposes of the data with Finnish labels" \
	pyjson 'len(d["purposes"]) == 7 and all(p["label"] for p in d["purposes"])'
expect "categories of the data held" \
	pyjson '{c["name"] for c in d["categories"]} >= {"name", "contact", "identifiers", "credentials", "marketing", "gender"}'
expect "every field's value, whatever the purpose (gender is not for orders, marketing_id only for marketing)" \
	pyjson '{v["field"] for v in d["values"]} >= {"first_name","last_name","email","phone","street_address","postal_code","city","country","gender","birth_date","hetu","customer_number","organization","business_id","job_title","username","password","marketing_id"}'
expect "both e-mail addresses" pyjson 'sorted(v["value"] for v in d["values"] if v["field"] == "email") == ["m2@example.com", "maija@example.com"]'
expect "the HETU is shown whole" pyjson '[v["value"] for v in d["values"] if v["field"] == "hetu"] == ["131052-308T"]'
expect "a password shows as set, never its hash" \
	pyjson '[(v["value"], v["hidden"]) for v in d["values"] if v["field"] == "password"] == [(None, True)]'
expect "no Argon2 hash anywhere in the export" bash -c '! grep -qi argon2 <<<"$1"' _ "$JSON"
expect "each value has label, category, purposes, basis, source, times and retention" \
	pyjson 'all(v["label"] and v["category_label"] and v["purposes"] and v["legal_basis_label"] and v["source_label"] and v["collected_at"] and v["confirmed_at"] and v["retention"] for v in d["values"])'
expect "records of every type of the policy" \
	pyjson '{r["type"] for r in d["records"]} == {"purchase","payment","product_use","feedback","event","location","browsing","marketing_action","communication"}'
expect "records carry their decrypted fields with labels" \
	pyjson 'any(f["name"] == "product" and f["value"] == "Scanner, \"Pro\"" and f["label"] == "Tuote tai palvelu" for r in d["records"] for f in r["fields"])'
expect "the attachment is listed with media type and size" \
	pyjson "[(r['attachment']['media_type'], r['attachment']['size'], r['attachment']['file']) for r in d['records'] if r['attachment']] == [('audio/mpeg', $(stat -c %s "$WORK/call.bin"), '$RID.mp3')]"
expect "the ledger holds the whole history with notice versions" \
	pyjson '[(e["scope"], e["given"], e["notice_version"]) for e in d["ledger"]] == [("location", True, 1), ("personalisation", True, 1), ("email_marketing", True, 1), ("email_marketing", False, 1), ("analytics_cookies", True, 1), ("direct_marketing", True, 1)]'
expect "the objection is marked as one, with its label" \
	pyjson '[e["label"] for e in d["ledger"] if e["kind"] == "objection"] == ["Suoramarkkinointikielto"]'
expect "the evidence is decrypted" pyjson 'any(e["evidence"] == "Lomake 7 <i>kyllä</i>" for e in d["ledger"])'
expect "recipients whose purposes meet the data's, with the US transfer's safeguard" \
	pyjson 'any(r["name"] == "cloud_services" and r["country"] == "US" and r["outside_eea"] and r["safeguard"] == "scc" for r in d["recipients"]) and all(not r["outside_eea"] for r in d["recipients"] if r["country"] == "FI")'
expect "retention rules with labels, per category and record type" \
	pyjson 'any(r["rule"] == "bookkeeping_vouchers" and "purchase" in r["record_types"] and r["legal_hold"] for r in d["retention"]) and any(r["rule"] == "kyc" and "identifiers" in r["categories"] and r["label"] for r in d["retention"])'
expect "the rights, complaint included" \
	pyjson '[r["right"] for r in d["rights"]] == ["access","rectification","erasure","restriction","objection","portability","withdraw_consent","complaint"]'
expect "a value marked provided: contract basis from the subject" \
	pyjson '[v["provided"] for v in d["values"] if v["field"] == "first_name"] == [True]'
expect "not provided: legitimate interest, or the controller's own source" \
	pyjson '[v["provided"] for v in d["values"] if v["field"] in ("gender", "customer_number")] == [False, False]'

check "export --lang en" 0 "$BIN" export "$ID" --lang en
expect "English labels" pyjson 'd["lang"] == "en" and any(v["label"] == "First name" for v in d["values"]) and d["supervisory_authority"]["name"] == "Office of the Data Protection Ombudsman"'
expect "the other subject's data is not in it" bash -c '! grep -q "$1" <<<"$2"' _ "$OTHER" "$JSON"

# --- HTML ---------------------------------------------------------------------
cat >"$WORK/scan.py" <<'EOF'
# Parses an HTML page: exits 1 when it holds any element or attribute that
# could run or fetch something, or none of the expected structure.
import sys
from html.parser import HTMLParser

BAD = {"script", "img", "svg", "iframe", "object", "embed", "link", "base",
       "form", "input", "video", "audio", "source", "frame", "math"}

class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.problems, self.text = [], [], []
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in BAD:
            self.problems.append("element " + tag)
        for k, v in attrs:
            if k.startswith("on") or k in ("src", "href", "srcdoc", "action"):
                self.problems.append("attribute %s on %s" % (k, tag))
            if v and "javascript:" in v.lower():
                self.problems.append("javascript: in " + k)
    handle_startendtag = handle_starttag
    def handle_data(self, data):
        self.text.append(data)

p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
p.close()
text = "".join(p.text)
for want in sys.argv[2:]:
    if want not in text:
        p.problems.append("missing text " + repr(want))
for t in ("html", "head", "body", "h1", "h2", "table", "style"):
    if t not in p.tags:
        p.problems.append("no " + t)
print("\n".join(p.problems))
sys.exit(1 if p.problems else 0)
EOF
for lang in fi en; do
	before=$(audits subject.export)
	check "export --format html --lang $lang" 0 "$BIN" export "$ID" --format html --lang "$lang" --out "$WORK/report-$lang.html"
	expect "html ($lang): one audit entry" test "$(audits subject.export)" = $((before + 1))
	expect "html ($lang): the file is mode 0600" test "$(stat -c %a "$WORK/report-$lang.html")" = 600
	expect "html ($lang): <html lang=\"$lang\">" grep -q "<html lang=\"$lang\">" "$WORK/report-$lang.html"
	expect "html ($lang): no script, img or on* anywhere; hostile values shown as text" \
		"$PY" "$WORK/scan.py" "$WORK/report-$lang.html" "$HOSTILE_FIRST" "$HOSTILE_LAST" \
		"</td></table><script>alert('x')</script>" "O'Brienintie 1 & <b>" "131052-308T" "Lomake 7 <i>kyllä</i>"
	expect "html ($lang): the hostile strings are escaped in the source" \
		grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' "$WORK/report-$lang.html"
	expect "html ($lang): no <script anywhere in the source" bash -c '! grep -qi "<script" "$1"' _ "$WORK/report-$lang.html"
	expect "html ($lang): no external assets (no element that loads one, no url() in the style)" \
		bash -c '! grep -qiE "<(link|img|script|iframe|object|embed)|url\(|@import" "$1"' _ "$WORK/report-$lang.html"
done
expect "html (fi): Finnish labels of the policy and of the page" \
	"$PY" "$WORK/scan.py" "$WORK/report-fi.html" "Etunimi" "Rekisterinpitäjä" "3154631-3" "Tietosuojavaltuutetun toimisto" "Suoramarkkinointikielto" "Ostot" "vakiosopimuslausekkeet"
expect "html (en): English labels of the policy and of the page" \
	"$PY" "$WORK/scan.py" "$WORK/report-en.html" "First name" "Controller" "Office of the Data Protection Ombudsman" "Direct-marketing prohibition" "Purchases" "standard contractual clauses"
expect "the scan fails on a page with a script (it can fail)" bash -c \
	'printf "<html><head><style></style></head><body><h1></h1><h2></h2><table></table><img src=x onerror=alert(1)></body></html>" >"$1/evil.html"; ! '"$PY"' "$1/scan.py" "$1/evil.html" >/dev/null' _ "$WORK"
check "html to standard output" 0 "$BIN" export "$ID" --format html
expect "standard output holds the page" grep -q '^<!DOCTYPE html>' <<<"$out"
check "--json with html and no --out is refused" 2 "$BIN" --json export "$ID" --format html
check "an existing --out file is never overwritten" 2 "$BIN" export "$ID" --out "$WORK/report-fi.html"
expect "it still holds the earlier report" grep -q '<html lang="fi">' "$WORK/report-fi.html"

# --- attachments ------------------------------------------------------------------
check "export --with-attachments" 0 "$BIN" export "$ID" --with-attachments "$WORK/att" --out "$WORK/with-att.json"
expect "the directory was created with mode 0700" test "$(stat -c %a "$WORK/att")" = 700
expect "the attachment is named by its record and media type, mode 0600" test "$(stat -c %a "$WORK/att/$RID.mp3")" = 600
expect "the attachment's bytes are exactly the original's" cmp -s "$WORK/call.bin" "$WORK/att/$RID.mp3"
expect "only that file is in the directory" test "$(ls -A "$WORK/att")" = "$RID.mp3"
before=$(audits subject.export)
check "a second run into the same directory is refused" 2 "$BIN" export "$ID" --with-attachments "$WORK/att"
expect "the refusal prints nothing" test -z "$out"
expect "the attachment is unchanged" cmp -s "$WORK/call.bin" "$WORK/att/$RID.mp3"
expect "the refusal is audited, not as a read" \
	test "$(rows "SELECT outcome FROM audit WHERE action = 'subject.export' ORDER BY seq DESC LIMIT 1")" = invalid
mkdir -p "$WORK/att-existing" && chmod 755 "$WORK/att-existing"
check "an existing directory is used as it is" 0 "$BIN" export "$ID" --with-attachments "$WORK/att-existing" --out "$WORK/w2.json"
expect "... and its file is there" cmp -s "$WORK/call.bin" "$WORK/att-existing/$RID.mp3"

# --- who may ------------------------------------------------------------------------
check "a customer service actor" 0 "$BIN" actor add cs1 --role customer_service
CS_TOKEN=$out
check "a data protection officer" 0 "$BIN" actor add dpo1 --role dpo
DPO_TOKEN=$out
before=$(rows "SELECT count(*) FROM audit WHERE action = 'subject.export' AND outcome = 'refused'")
check "a role without every purpose is refused (exit 4)" 4 env REKISTERI_TOKEN="$CS_TOKEN" "$BIN" --actor cs1 export "$ID"
expect "the refusal says why" grep -q "every purpose and every category" <<<"$err"
expect "the refusal prints nothing" test -z "$out"
expect "the refusal is audited" test "$(rows "SELECT count(*) FROM audit WHERE action = 'subject.export' AND outcome = 'refused' AND actor = 'cs1'")" = $((before + 1))
check "a refused portable export (exit 4)" 4 env REKISTERI_TOKEN="$CS_TOKEN" "$BIN" --actor cs1 export "$ID" --portable --out "$WORK/cs-port"
expect "nothing was written for the refused role" test ! -e "$WORK/cs-port"
check "the data protection officer may export" 0 env REKISTERI_TOKEN="$DPO_TOKEN" "$BIN" --actor dpo1 export "$ID" --lang en
expect "... everything, HETU whole" pyjson '[v["value"] for v in d["values"] if v["field"] == "hetu"] == ["131052-308T"]'

# --- portability ----------------------------------------------------------------------
before=$(audits subject.export.portable)
check "export --portable" 0 "$BIN" export "$ID" --portable --out "$WORK/port"
expect "one audit entry subject.export.portable" test "$(audits subject.export.portable)" = $((before + 1))
expect "the directory is mode 0700 and its files 0600" \
	bash -c 'test "$(stat -c %a "$1")" = 700 && test -z "$(find "$1" -type f ! -perm 600)"' _ "$WORK/port"
out=$(cat "$WORK/port/subject.json")
expect "subject.json: the provided fields, a value or a list" \
	pyjson 'd["fields"]["first_name"] == "<script>alert(1)</script>" and d["fields"]["email"] == ["maija@example.com", "m2@example.com"] and d["fields"]["city"] == "Helsinki" and d["fields"]["marketing_id"] == ["mk-77"]'
expect "subject.json: not legitimate interest, legal obligation or the controller's data" \
	pyjson 'not ({"gender", "job_title", "hetu", "customer_number", "password"} & set(d["fields"]))'
expect "subject.json names its CSV files" \
	pyjson 'd["schema"] == "rekisteri-portable" and d["version"] == 1 and sorted(d["records"]) == ["event", "location", "payment", "product_use", "purchase"]'
expect "one CSV per provided record type, and no other" \
	test "$(cd "$WORK/port" && ls | sort | tr '\n' ' ')" = "event.csv location.csv payment.csv product_use.csv purchase.csv subject.json "
expect "purchase.csv: the header is the type's fields, the values quoted by RFC 4180" "$PY" -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
assert rows[0] == ["product", "quantity", "amount", "currency", "order_number", "warranty_until"], rows[0]
assert rows[1] == ["Scanner, \"Pro\"", "2", "129.90", "EUR", "A-1", "2028-12-01"], rows[1]
assert len(rows) == 2
raw = open(sys.argv[1], "rb").read()
assert b"\"Scanner, \"\"Pro\"\"\"" in raw and raw.endswith(b"\r\n")' "$WORK/port/purchase.csv"
expect "location.csv holds the consented location" grep -q '^latitude,longitude,recorded_at' "$WORK/port/location.csv"
expect "no feedback, browsing, marketing or call data (legitimate interest)" \
	bash -c '! grep -rqE "complaint|192.0.2.1|Kevät|svg" "$1"' _ "$WORK/port"
check "a second portable export into the same directory is refused" 2 "$BIN" export "$ID" --portable --out "$WORK/port"
check "--portable needs --out" 2 "$BIN" export "$ID" --portable
check "--portable takes no --format" 2 "$BIN" export "$ID" --portable --out "$WORK/p2" --format html

# --- bad input ----------------------------------------------------------------------
check "an unknown subject" 3 "$BIN" export 0123456789abcdef0123456789abcdef
check "a malformed ID" 2 "$BIN" export not-an-id
check "an unknown language" 2 "$BIN" export "$ID" --lang sv
check "an unknown format" 2 "$BIN" export "$ID" --format pdf
check "export --help" 0 "$BIN" export --help
expect "the help names --portable" grep -q -- "--portable" <<<"$out"
check "the register still verifies" 0 "$BIN" audit verify

# --- the policy's supervisory_authority section ------------------------------------
jq '.supervisory_authority.phone = "x"' "$POLICY" >"$WORK/p-unknown.json"
check "an unknown key in supervisory_authority is refused" 2 "$BIN" policy check "$WORK/p-unknown.json"
expect "... with file:line:column" grep -qE 'p-unknown\.json:[0-9]+:[0-9]+: .*phone' <<<"$out$err"
jq '.supervisory_authority.url = "javascript:alert(1)"' "$POLICY" >"$WORK/p-url.json"
check "a non-http url is refused" 2 "$BIN" policy check "$WORK/p-url.json"
jq 'del(.supervisory_authority.name)' "$POLICY" >"$WORK/p-noname.json"
check "the authority's name is required" 2 "$BIN" policy check "$WORK/p-noname.json"
jq '.sources.research.provided_by_subject = "yes"' "$POLICY" >"$WORK/p-bool.json"
check "provided_by_subject must be a boolean" 2 "$BIN" policy check "$WORK/p-bool.json"
jq 'del(.supervisory_authority)' "$POLICY" >"$WORK/p-none.json"
check "a policy without the section is valid" 0 "$BIN" policy check "$WORK/p-none.json"
check "a register under it" 0 "$BIN" --db "$WORK/none.db" init --policy "$WORK/p-none.json"
check "a subject there" 0 "$BIN" --db "$WORK/none.db" subject add --kind prospect --field email=x@example.com
N=$out
check "its export" 0 "$BIN" --db "$WORK/none.db" export "$N"
expect "names no authority (null) and still validates" "$PY" -c "
import json, sys, jsonschema
d = json.loads(sys.stdin.read())
assert d['supervisory_authority'] is None
jsonschema.validate(d, json.load(open(sys.argv[1])))" "$SCHEMA" <<<"$out"

e2e_finish
