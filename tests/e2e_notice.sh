#!/usr/bin/env bash
# End-to-end tests of the privacy notice rendered from the stored policy
# and of policy changes (diff, apply, versions, whom a change affects)
# through the real binary. Each check states what it proves; the script
# ends with "N passed, N failed".
. "$(dirname "$0")/e2e-common.sh"

SEED="$SRC/tests/data/notice/rekisteriseloste.txt"
SEEDCHECK="$SRC/tests/data/notice/seed_sentences.py"
HTMLCHECK="$SRC/tests/data/notice/html_check.py"

# policy_edit OUT PYTHON: a copy of the example policy changed by PYTHON
# (which edits the dict p)
policy_edit() {
	python3 - "$POLICY" "$1" "$2" <<'PY'
import json, sys
p = json.load(open(sys.argv[1], encoding='utf-8'))
exec(sys.argv[3])
json.dump(p, open(sys.argv[2], 'w', encoding='utf-8'), ensure_ascii=False, indent=1)
PY
}

# --- policy check: warnings ---------------------------------------------------
check "the example policy is valid, with warnings" 0 "$BIN" policy check "$POLICY"
expect "the warnings go to standard error, marked as such" grep -q 'warning: .*"portability"' "$WORK/stderr"
expect "the missing restriction right is warned about" grep -q 'warning: .*"restriction"' "$WORK/stderr"
expect "legitimate interest without the interests is warned about" grep -q 'warning: legal basis "legitimate_interest"' "$WORK/stderr"
expect "retention without its criteria is warned about" grep -q 'warning: retention rule "relationship"' "$WORK/stderr"
expect "a warning points at its line" grep -qE 'ocr-factory.json:[0-9]+:5: warning: retention rule "kyc"' "$WORK/stderr"
policy_edit "$WORK/nosa.json" 'del p["supervisory_authority"]; p["purposes"]["orphan_purpose"] = {"label": {"fi": "x", "en": "x"}}'
check "a policy without an authority is still valid" 0 "$BIN" policy check "$WORK/nosa.json"
expect "the missing right to complain is warned about" grep -q 'warning: no "supervisory_authority"' "$WORK/stderr"
expect "a purpose without a legal basis is warned about" grep -q 'warning: purpose "orphan_purpose" has no legal basis' "$WORK/stderr"
check "--json puts the warnings in their own array" 0 "$BIN" --json policy check "$WORK/nosa.json"
expect "... valid, with warnings and no problems" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["valid"] is True and d["problems"] == [] and len(d["warnings"]) >= 2
assert all(w["line"] >= 1 for w in d["warnings"])' "$out"
policy_edit "$WORK/filled.json" '
p["rights"] = {"portability": {"fi": "Siirto.", "en": "Portability."}, "restriction": {"fi": "Rajoitus.", "en": "Restriction."}}
p["legal_bases"]["legitimate_interest"]["interests"] = {"fi": "Asiakassuhteen hoito.", "en": "Customer care."}
for r in p["retention"].values():
    r["criteria"] = {"fi": "Asiakassuhde päättyy kahden vuoden kuluttua viimeisestä ostosta.", "en": "The relationship ends two years after the last purchase."}'
check "a policy that says everything" 0 "$BIN" policy check "$WORK/filled.json"
expect "... gets no warnings" test ! -s "$WORK/stderr"

# --- the notice ----------------------------------------------------------------
check "init" 0 "$BIN" init --policy "$POLICY"
check "the Finnish notice" 0 "$BIN" notice --out "$WORK/fi.txt"
check "every sentence of the seed, in the seed's order" 0 python3 "$SEEDCHECK" "$SEED" "$WORK/fi.txt"
check "the English notice" 0 "$BIN" notice --lang en --out "$WORK/en.txt"
expect "... is in English" grep -q "^Privacy notice" "$WORK/en.txt"
expect "... translates the prose" grep -q "We keep your data at least for the duration of the customer relationship." "$WORK/en.txt"
expect "... and lists the purposes" grep -q "Offering and developing products and services" "$WORK/en.txt"
expect "the notice tells of the right to complain" grep -q "valvontaviranomaiselle: Tietosuojavaltuutetun toimisto, PL 800, 00531 Helsinki" "$WORK/fi.txt"
expect "the notice gives each purpose its legal bases" grep -q "Tilausten toimitus, käsittely ja arkistointi: sopimus, lakisääteinen velvoite" "$WORK/fi.txt"
expect "the notice lists the transfer outside the EEA and its safeguard" grep -q "maa US, Euroopan komission hyväksymät vakiosopimuslausekkeet" "$WORK/fi.txt"
for lang in fi en; do
	for fmt in text md html; do
		check "renders in $lang as $fmt" 0 "$BIN" notice --lang $lang --format $fmt --out "$WORK/n-$lang.$fmt"
		expect "... and is not empty" test -s "$WORK/n-$lang.$fmt"
	done
	check "the $lang HTML parses: lang, headings, lists, no script or external asset" 0 python3 "$HTMLCHECK" "$WORK/n-$lang.html" $lang
done
expect "Markdown has the chapter headings" grep -q '^## 3\. Rekisterin nimi' "$WORK/n-fi.md"
check "the HTML's text holds the seed too" 0 python3 "$SEEDCHECK" "$SEED" "$WORK/n-fi.html" --html
check "the notice of a file not stored" 0 "$BIN" notice --policy "$WORK/filled.json" --out "$WORK/filled.txt"
expect "... has a place for portability" grep -q "^Oikeus siirtää tiedot järjestelmästä toiseen" "$WORK/filled.txt"
expect "... for the legitimate interests" grep -q "^Oikeutetut etumme" "$WORK/filled.txt"
expect "... and for the retention criteria" grep -q "kahden vuoden kuluttua viimeisestä ostosta" "$WORK/filled.txt"
check "--json" 0 "$BIN" --json notice --lang en
expect "... carries the notice and its version" python3 -c '
import json, sys
d = json.loads(sys.argv[1]); assert d["version"] == 1 and d["lang"] == "en" and "Privacy notice" in d["notice"]' "$out"
check "an unknown language is bad usage" 2 "$BIN" notice --lang sv
check "an unknown format is bad usage" 2 "$BIN" notice --format pdf
check "a version that does not exist is not found" 3 "$BIN" notice --version 7
check "--out never overwrites" 2 "$BIN" notice --out "$WORK/fi.txt"
# HTML escapes every value of the policy
policy_edit "$WORK/evil.json" 'p["controller"]["name"] = "Evil <script>alert(1)</script> & Co \"Oy\""'
check "a policy with markup in a value renders" 0 "$BIN" notice --policy "$WORK/evil.json" --format html --out "$WORK/evil.html"
expect "... escaped" grep -q 'Evil &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co &quot;Oy&quot;' "$WORK/evil.html"
expect "... and no script element" bash -c "! grep -qi '<script' '$WORK/evil.html'"

# --- subjects and consents under version 1 ------------------------------------
add() { "$BIN" subject add --kind customer --field last_name="$1" --field email="$2" --field job_title=Tester; }
A=$(add Aalto a@example.com) B=$(add Berg b@example.com) C=$(add Castren c@example.com) D=$(add Dahl d@example.com)
expect "four subjects" test -n "$A" -a -n "$B" -a -n "$C" -a -n "$D"
check "A consents to e-mail marketing under version 1" 0 "$BIN" consent give "$A" email_marketing
check "C consents to location data under version 1" 0 "$BIN" consent give "$C" location
check "D consents to e-mail marketing" 0 "$BIN" consent give "$D" email_marketing
check "... and withdraws it" 0 "$BIN" consent withdraw "$D" email_marketing

# --- a change that widens a purpose -------------------------------------------
policy_edit "$WORK/v2.json" '
p["fields"]["birth_date"]["purposes"].append("marketing_communications")
p["recipients"]["ad_network"] = {"label": {"fi": "mainosverkosto", "en": "advertising network"}, "kind": "processor", "country": "CA", "safeguard": "adequacy", "purposes": ["marketing_communications"]}
p["retention"]["kyc"]["period"] = "P6Y"'
check "diff" 0 "$BIN" policy diff "$WORK/v2.json"
expect "... says the purpose is widened, with what" grep -q "purpose marketing_communications is widened: it now also uses the fields birth_date; data for it now also goes to ad_network" <<<"$out"
expect "... names the new recipient and country" grep -q "new recipient ad_network in CA" <<<"$out"
expect "... and the new country" grep -q "personal data now goes to a new country, CA" <<<"$out"
expect "... says retention was lengthened" grep -q "retention rule kyc: retention lengthened from P5Y0M0D to P6Y0M0D" <<<"$out"
check "diff changes nothing: there is no version 2" 3 "$BIN" notice --version 2
check "apply --json" 0 "$BIN" --json policy apply "$WORK/v2.json"
expect "... stored as version 2, listing exactly A to ask again" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["version"] == 2, d["version"]
assert d["affected"]["subjects"] == [sys.argv[2]], d["affected"]
assert {c["scope"] for c in d["affected"]["consents"]} == {"email_marketing"}
assert all(c["given_under"] == 1 for c in d["affected"]["consents"])' "$out" "$A"
check "B consents to e-mail marketing under version 2" 0 "$BIN" --json consent give "$B" email_marketing
check "policy affected" 0 "$BIN" --json policy affected
expect "... still lists A and not B, who consented under the new text" python3 -c '
import json, sys
d = json.loads(sys.argv[1]); assert d["subjects"] == [sys.argv[2]], d' "$out" "$A"
check "consent history" 0 "$BIN" --json consent history "$A"
expect "... A's consent keeps version 1" grep -q '"notice_version": 1' <<<"$out"
check "version 1 still renders" 0 "$BIN" notice --version 1 --out "$WORK/v1.txt"
expect "... as version 1" grep -q "Tietosuojaselosteen versio 1," "$WORK/v1.txt"
check "... and still holds the seed" 0 python3 "$SEEDCHECK" "$SEED" "$WORK/v1.txt"
check "version 2 renders" 0 "$BIN" notice --lang en --out "$WORK/v2.txt"
expect "... with the new recipient" grep -q "advertising network (CA)" "$WORK/v2.txt"
check "versions" 0 "$BIN" policy versions
expect "... lists two, the second current" python3 -c '
import json, sys
d = json.loads(sys.argv[1]); assert [v["version"] for v in d] == [1, 2] and d[1]["current"] and not d[0]["current"]' "$out"
check "applying the same policy again is refused" 2 "$BIN" policy apply "$WORK/v2.json"

# --- a change that would orphan data ------------------------------------------
python3 - "$WORK/v2.json" "$WORK/v3.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1], encoding='utf-8'))
del p["fields"]["job_title"]
json.dump(p, open(sys.argv[2], 'w', encoding='utf-8'), ensure_ascii=False)
PY
check "diff of a removed field" 0 "$BIN" policy diff "$WORK/v3.json"
expect "... says apply would be refused, and why" grep -q "field job_title is removed but holds 4 values" <<<"$out"
before=$(rows "SELECT count(*) FROM value WHERE field = 'job_title'")
check "apply of a removed field that holds values is refused" 4 "$BIN" policy apply "$WORK/v3.json"
expect "... with the reason" grep -q "would orphan stored data: field job_title is removed but holds 4 values" <<<"$err"
expect "... and nothing changed: still version 2" test "$(rows 'SELECT max(version) FROM policy_version')" = 2
expect "... and the values are there" test "$(rows "SELECT count(*) FROM value WHERE field = 'job_title'")" = "$before"
check "the refusal is audited" 0 "$BIN" --json audit log
expect "... as a refused policy.apply" grep -q '"action": "policy.apply", .*"outcome": "refused"' <<<"$(tr -d '\n' <<<"$out" | sed 's/},/}\n/g')"
check "--drop-field of a field the policy keeps is bad usage" 2 "$BIN" policy apply "$WORK/v3.json" --drop-field email
check "apply --drop-field deletes the values" 0 "$BIN" policy apply "$WORK/v3.json" --drop-field job_title
expect "... now version 3" test "$(rows 'SELECT max(version) FROM policy_version')" = 3
expect "... and no job_title values left" test "$(rows "SELECT count(*) FROM value WHERE field = 'job_title'")" = 0
check "each deletion is audited" 0 "$BIN" --json audit log
expect "... four policy.drop_field entries" test "$(grep -c '"policy.drop_field"' <<<"$out")" = 4
check "the subjects still read after the drop" 0 "$BIN" subject show "$A"
python3 - "$WORK/v3.json" "$WORK/v4.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1], encoding='utf-8'))
del p["consent_scopes"]["location"]
del p["record_types"]["location"]
p["marketing"] = p.get("marketing", {})
json.dump(p, open(sys.argv[2], 'w', encoding='utf-8'), ensure_ascii=False)
PY
check "a removed scope with ledger entries is refused" 4 "$BIN" policy apply "$WORK/v4.json"
expect "... naming the scope" grep -q "consent scope location is removed but has 1 ledger entries" <<<"$err"
check "the integrity of the register holds after the changes" 0 "$BIN" audit verify
check "version 1 still renders after three changes" 0 "$BIN" notice --version 1 --format html --out "$WORK/v1.html"
# An edited old version is caught
rows "UPDATE policy_version SET body = replace(body, 'OCR Factory Oy', 'OCR Fuctory Oy') WHERE version = 1"
check "an altered old version is an integrity failure" 5 "$BIN" notice --version 1

# --- who may ---------------------------------------------------------------------
check "add an actor" 0 "$BIN" actor add clerk --role customer_service
TOKEN=$(sed -n 's/.*token: *//p' <<<"$out" | head -1)
[ -n "$TOKEN" ] || TOKEN=$(tail -1 <<<"$out")
check "anyone may read the notice" 0 env REKISTERI_TOKEN="$TOKEN" "$BIN" --actor clerk notice
check "only the administrator applies a policy" 4 env REKISTERI_TOKEN="$TOKEN" "$BIN" --actor clerk policy apply "$WORK/v4.json"
check "... or lists whom to ask again" 4 env REKISTERI_TOKEN="$TOKEN" "$BIN" --actor clerk policy affected

e2e_finish
