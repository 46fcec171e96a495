// The staff console and the self-service page in headless Chromium, against
// a real `rekisteri serve` (started by tests/e2e_console.sh, which passes
// the address, the tokens and the subject in the environment). Every step
// saves a screenshot under SHOTS. Ends with "N passed, N failed".
import { ok, bad, step, expect, launch, finish } from "./harness.mjs";
import fs from "node:fs";
import path from "node:path";

const U = process.env.U;
const TOK_DPO = process.env.TOK_DPO;
const SUBJECT = process.env.SUBJECT;
const EMAIL = process.env.EMAIL;
const SHOTS = process.env.SHOTS;
const XSS_A = process.env.XSS_A; // a value holding <script>
const XSS_B = process.env.XSS_B; // a value holding <img onerror>
fs.mkdirSync(SHOTS, { recursive: true });

let shot = 0;
// Text that only a slip of the page would show (a missing value).
const slips = [];
async function snap(page, name) {
  shot++;
  const txt = await page.evaluate(() => document.querySelector("main").innerText);
  if (/\b(undefined|null|NaN|\[object Object\])\b/.test(txt)) slips.push(name);
  await page.screenshot({ path: path.join(SHOTS, String(shot).padStart(2, "0") + "-" + name + ".png"), fullPage: true });
}

const browser = await launch();

// Markup in a value must never run: no dialog, no flag set by an onerror,
// no element made from data.
const xssHits = [];
async function guard(page, who) {
  page.on("dialog", async (d) => { xssHits.push(who + ": dialog " + d.message()); await d.dismiss(); });
  page.on("pageerror", (e) => console.log("# page error (" + who + "): " + e.message));
  const cspViolations = [];
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
  return cspViolations;
}
async function noInjected(page, where) {
  const r = await page.evaluate(() => ({
    imgs: document.querySelectorAll("img").length,
    scripts: [...document.querySelectorAll("script")].filter((s) => !s.src).length,
    flag: window.__xss === 1,
  }));
  expect(r.imgs === 0, where + ": an img element was created from data");
  expect(r.scripts === 0, where + ": an inline script element exists");
  expect(!r.flag, where + ": injected code ran");
}

try {
  // ---------------- staff ----------------
  const staff = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
  const page = await staff.newPage();
  const csp = await guard(page, "console");

  await step("the console answers with strict headers", async () => {
    const res = await page.goto(U + "/console");
    const h = res.headers();
    expect(res.status() === 200, "status " + res.status());
    expect(/default-src 'none'/.test(h["content-security-policy"]) && /frame-ancestors 'none'/.test(h["content-security-policy"]), "CSP");
    expect(h["x-frame-options"] === "DENY", "X-Frame-Options");
    expect(h["x-content-type-options"] === "nosniff", "nosniff");
    expect(h["referrer-policy"] === "no-referrer", "Referrer-Policy");
    await page.waitForSelector("#token");
    await snap(page, "sign-in");
  });

  await step("a wrong token is refused with a message", async () => {
    await page.fill("#token", "not-a-token");
    await page.click("form.signin button[type=submit]");
    await page.waitForFunction(() => document.getElementById("signin-error").textContent.length > 0);
  });

  await step("the language switches and is remembered", async () => {
    await page.click("#lang");
    await page.waitForFunction(() => document.documentElement.lang === "en");
    expect((await page.textContent("form.signin h1")).includes("Sign in"), "English heading");
    await page.reload();
    await page.waitForSelector("#token");
    expect((await page.evaluate(() => document.documentElement.lang)) === "en", "remembered after reload");
    await page.click("#lang");
    await page.waitForFunction(() => document.documentElement.lang === "fi");
  });

  await step("sign in with the data protection lead's token", async () => {
    await page.fill("#token", TOK_DPO);
    await page.click("form.signin button[type=submit]");
    await page.waitForSelector("#find-value");
    expect(!(await page.url()).includes(TOK_DPO), "the token is not in the URL");
    await page.waitForSelector("#dsr-banner .banner.bad");
    await snap(page, "signed-in-find");
  });

  await step("find the subject by e-mail", async () => {
    await page.selectOption("#find-by", "email");
    await page.fill("#find-value", EMAIL);
    await page.click("form.find button[type=submit]");
    await page.waitForSelector("#values");
    expect((await page.textContent("#subject-id")).trim() === SUBJECT, "the right subject");
    await page.waitForFunction(() => document.getElementById("subject-title").textContent.startsWith("Maija"));
    await snap(page, "subject-customer-relationship");
  });

  let rowsA = 0;
  await step("values show purpose, basis, source and expiry, and markup as text", async () => {
    const txt = await page.textContent("#values");
    expect(txt.includes(XSS_A) && txt.includes(XSS_B), "the markup values are shown as text");
    expect(txt.includes("Asiakasnumero"), "customer number shown for the customer relationship");
    const heads = await page.$$eval("#values thead th", (t) => t.map((x) => x.textContent));
    expect(heads.length >= 6, "columns");
    rowsA = await page.$$eval("#values tbody tr", (r) => r.length);
    await noInjected(page, "subject view");
  });

  await step("records by type, markup as text", async () => {
    await page.waitForSelector("#records-box ul.records li");
    const txt = await page.textContent("#records-box");
    expect(txt.includes("<b>myöhässä</b>"), "record text as text");
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#records-box ul.records li button")]);
    expect(fs.readFileSync(await dl.path(), "utf8") === "a letter from the customer\n", "the attachment downloads whole");
    await page.selectOption("#rec-type", "purchase");
    await page.waitForFunction(() => !document.querySelector("#records-box ul.records"));
    await page.selectOption("#rec-type", "");
    await page.waitForSelector("#records-box ul.records li");
    await noInjected(page, "records");
  });

  await step("edit a value in place", async () => {
    const row = page.locator("#values tbody tr", { hasText: "Puhelinnumero" });
    await row.locator("button").click();
    await page.fill("#edit-phone", "0409876543");
    await page.press("#edit-phone", "Enter");
    await page.waitForFunction(() => document.querySelector("#values") && document.querySelector("#values").textContent.includes("+358409876543"));
  });

  // The status line says how the last action went.
  const statusSays = (kind, re) => page.waitForFunction(([k, src]) => {
    const s = document.getElementById("status");
    return s && !s.classList.contains("hidden") && s.classList.contains(k) && new RegExp(src).test(s.textContent);
  }, [kind, re.source]);

  await step("add a purchase record through the form the policy describes", async () => {
    // the list reloads with the page after the edit before
    await page.waitForSelector("#records-box ul.records li");
    const before = await page.$$eval("#records-box ul.records li", (l) => l.length);
    await page.click("#rec-add summary");
    await page.selectOption("#rec-add-type", "purchase");
    expect(await page.$eval("#rec-f-product", (i) => i.required && i.maxLength === 200), "product: required, at most 200");
    expect(await page.$eval("#rec-f-warranty_until", (i) => i.type === "date"), "a date field is a date input");
    await page.fill("#rec-f-product", "Skanneri <b>RKX-9</b>");
    await page.fill("#rec-f-amount", "12,5 euroa");
    await page.fill("#rec-f-currency", "EUR");
    await page.click("#rec-add form button[type=submit]");
    await statusSays("error", /\(422\)|\(400\)/);
    expect((await page.$$eval("#records-box ul.records li", (l) => l.length)) === before, "a bad amount adds nothing");
    await page.fill("#rec-f-amount", "149.90");
    await page.fill("#rec-f-quantity", "2");
    await page.click("#rec-add form button[type=submit]");
    await statusSays("ok", /#\d+/);
    await page.waitForFunction((n) => document.querySelectorAll("#records-box ul.records li").length === n + 1, before);
    const txt = await page.textContent("#records-box");
    expect(txt.includes("Skanneri <b>RKX-9</b>") && txt.includes("149.90"), "the new record is listed, markup as text");
    await noInjected(page, "record form");
    await snap(page, "record-added");
  });

  await step("add a record with an attachment; it downloads as it was sent", async () => {
    const before = await page.$$eval("#records-box ul.records li", (l) => l.length);
    await page.selectOption("#rec-add-type", "communication");
    const bytes = Buffer.from("kirje \u00e4\u00f6 <b>ei merkintää</b>\n\u0000\u0001binary tail", "utf8");
    await page.setInputFiles("#rec-add-file", { name: "kirje.bin", mimeType: "application/x-kirje", buffer: bytes });
    await page.selectOption("#rec-f-channel", "email");
    await page.selectOption("#rec-f-direction", "inbound");
    await page.click("#rec-add form button[type=submit]");
    await statusSays("ok", /#\d+/);
    await page.waitForFunction((n) => document.querySelectorAll("#records-box ul.records li").length === n + 1, before);
    const li = page.locator("#records-box ul.records li", { hasText: "application/x-kirje" });
    expect((await li.count()) === 1, "the new record shows its attachment's type");
    const [dl] = await Promise.all([page.waitForEvent("download"), li.locator("button").click()]);
    expect(Buffer.compare(fs.readFileSync(await dl.path()), bytes) === 0, "the attachment downloads byte for byte");
    await noInjected(page, "attachment form");
  });

  await step("end the relationship, then undo an end given by mistake", async () => {
    const today = new Date().toISOString().slice(0, 10);
    await page.fill("#rel-end-date", today);
    await page.click("#rel-end button[type=submit]");
    await page.waitForSelector("#rel-ended");
    expect((await page.$("#values")) !== null, "an ended relationship's values are still shown");
    await snap(page, "relationship-ended");
    await page.click("#rel-undo");
    await page.waitForSelector("#rel-end");
  });

  await step("restrict processing: the data is then refused, the restriction can be lifted", async () => {
    await page.waitForSelector("#restricted-state");
    expect((await page.textContent("#restricted-state")).trim() === "ei rajoitettu", "not restricted at first");
    await page.fill("#restrict-reason", "Henkilö kiistää tietojen paikkansapitävyyden.");
    await page.click("#restrict-form button[type=submit]");
    await page.waitForFunction(() => document.querySelector("#restricted-state") && document.querySelector("#restricted-state").textContent.trim() === "rajoitettu");
    expect((await page.$("#values")) === null, "a restricted person's values are not shown");
    expect((await page.textContent("main")).includes("18"), "the refusal names the restriction");
    await snap(page, "restricted");
    await page.fill("#restrict-reason", "Tiedot tarkistettu ja oikaistu.");
    await page.click("#restrict-form button[type=submit]");
    await page.waitForSelector("#values");
    await page.waitForFunction(() => document.querySelector("#restricted-state") && document.querySelector("#restricted-state").textContent.trim() === "ei rajoitettu");
    await page.click("#h-consents ~ div details summary");
    const hist = await page.textContent("#h-consents ~ div details");
    expect(hist.includes("Käsittelyn rajoitus"), "the restriction is in the history under its own name");
  });

  await step("change the kind to a prospect and back to a customer", async () => {
    const kindLine = () => page.textContent("section[aria-labelledby='h-values'] p.muted");
    expect((await kindLine()).includes("Ryhmä: Asiakas "), "a customer at first");
    await page.selectOption("#rel-kind", "prospect");
    await page.click("#rel-convert button[type=submit]");
    await statusSays("ok", /Ryhmä vaihdettu/);
    await page.waitForFunction(() => /Ryhmä: Potentiaalinen asiakas/.test(document.querySelector("section[aria-labelledby='h-values'] p.muted")?.textContent));
    expect(!(await page.$$eval("#rel-kind option", (o) => o.map((x) => x.value))).includes("prospect"), "the kind it has is not offered");
    await page.selectOption("#rel-kind", "customer");
    await page.click("#rel-convert button[type=submit]");
    await statusSays("ok", /Ryhmä vaihdettu/);
    await page.waitForFunction(() => /Ryhmä: Asiakas /.test(document.querySelector("section[aria-labelledby='h-values'] p.muted")?.textContent));
    expect((await page.textContent("#values")).includes("Asiakasnumero"), "the customer number is still there");
    await snap(page, "kind-changed");
  });

  await step("viewed under another purpose, the subject shows less", async () => {
    await page.selectOption("#view-purpose", "marketing_communications");
    await page.waitForFunction(() => document.querySelector("#values caption") && document.querySelector("h2#h-values").textContent.includes("Asiakas- ja jäsen- ja markkinointi"));
    const txt = await page.textContent("#values");
    const rowsB = await page.$$eval("#values tbody tr", (r) => r.length);
    expect(!txt.includes("Asiakasnumero"), "no customer number for marketing");
    expect(rowsB < rowsA, `fewer values (${rowsB} < ${rowsA})`);
    await snap(page, "subject-marketing");
    await page.selectOption("#view-purpose", "customer_relationship");
    await page.waitForSelector("li[data-key='objection-direct_marketing'] button");
  });

  await step("record a direct-marketing prohibition; marketing is then refused", async () => {
    await page.waitForSelector("#may-contact.yes");
    await page.click("li[data-key='objection-direct_marketing'] button");
    await page.waitForSelector("li[data-key='objection-direct_marketing'].on");
    await page.waitForSelector("#may-contact.no");
    await snap(page, "prohibition-recorded");
  });

  await step("open an access request, extend its deadline and close it", async () => {
    await page.selectOption("#dsr-type", "access");
    await page.click("#h-requests ~ form button[type=submit]");
    await page.waitForSelector("#h-requests ~ div table.dsr tbody tr");
    await snap(page, "request-open");
    const before = await page.textContent("#h-requests ~ div table.dsr tbody tr td:nth-child(4)");
    await page.click("#h-requests ~ div table.dsr tbody tr td.actions button:nth-child(1)");
    await page.fill("input[id^='extend-reason-']", "Pyyntö on laaja: liitteitä on paljon.");
    await page.press("input[id^='extend-reason-']", "Enter");
    await page.waitForFunction(() => {
      const tr = document.querySelector("#h-requests ~ div table.dsr tbody tr");
      return tr && tr.querySelector("td.actions > button");
    });
    const after = await page.textContent("#h-requests ~ div table.dsr tbody tr td:nth-child(4)");
    expect(after !== before, `the deadline moved (${before} -> ${after})`);
    await page.click("#h-requests ~ div table.dsr tbody tr td.actions button:nth-child(2)");
    await page.selectOption("select[id^='close-outcome-']", "done");
    await page.click("td.actions form button[type=submit]");
    await page.waitForFunction(() => {
      const tr = document.querySelector("#h-requests ~ div table.dsr tbody tr");
      return tr && tr.classList.contains("closed");
    });
    await snap(page, "request-closed");
  });

  await step("the access report shows in the page and downloads as JSON", async () => {
    await page.click("#report-show");
    await page.waitForSelector("#report .report .vlist");
    const txt = await page.textContent("#report");
    expect(txt.includes(XSS_A) && txt.includes(XSS_B), "markup as text in the report");
    await noInjected(page, "report");
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#report-download")]);
    const file = await dl.path();
    const doc = JSON.parse(fs.readFileSync(file, "utf8"));
    expect(doc.subject && doc.subject.id === SUBJECT, "the report is the subject's");
    expect(doc.values.some((v) => v.value === XSS_A), "the report holds the values");
    const [dlh] = await Promise.all([page.waitForEvent("download"), page.click("#report-html")]);
    const html = fs.readFileSync(await dlh.path(), "utf8");
    expect(dlh.suggestedFilename().endsWith(".html") && /^<!DOCTYPE html>/i.test(html), "a printable page");
    expect(html.includes("&lt;script&gt;") && !html.includes(XSS_A), "markup in values is escaped in the page");
    await snap(page, "report");
  });

  await step("the subject's audit log and the audit check", async () => {
    await page.click("#audit-show");
    await page.waitForSelector("#h-audit ~ div table.audit tbody tr");
    await page.click("nav a[href='#audit']");
    await page.waitForSelector("#verify .decision.yes");
    await snap(page, "audit-verify");
  });

  await step("the requests register, retention dry run and the notice", async () => {
    await page.click("nav a[href='#requests']");
    await page.waitForSelector("table.dsr tbody tr.overdue");
    expect((await page.textContent("table.dsr tbody tr.overdue")).includes("myöhässä"), "an overdue request is marked");
    await page.click("#dsr-all");
    await page.waitForSelector("table.dsr tbody tr.closed");
    await snap(page, "requests");
    await page.click("nav a[href='#retention']");
    await page.waitForSelector("main dl.kv");
    await snap(page, "retention");
    await page.click("nav a[href='#notice']");
    await page.waitForFunction(() => document.querySelector(".notice-text") && document.querySelector(".notice-text").textContent.length > 200);
    await snap(page, "notice");
  });

  let link = null;
  await step("issue a self-service link", async () => {
    await page.click("nav a[href='#find']");
    await page.selectOption("#find-by", "email");
    await page.fill("#find-value", EMAIL);
    await page.click("form.find button[type=submit]");
    await page.waitForSelector("#link-make");
    await page.click("#link-make");
    await page.waitForSelector("#link-url");
    link = await page.inputValue("#link-url");
    expect(/\/me#[A-Za-z0-9_-]{43}$/.test(link), "the secret is in the fragment");
  });

  // ---------------- self-service ----------------
  const selfCtx = await browser.newContext({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
  const me = await selfCtx.newPage();
  await guard(me, "me");
  const requested = [];
  me.on("request", (r) => requested.push(r.url()));

  await step("the link opens the person's own page and the address is cleaned", async () => {
    await me.goto(link);
    // nothing is spent until the person asks (a link preview only looks)
    await me.waitForSelector("#me-open");
    await snap(me, "me-ask");
    await me.click("#me-open");
    await me.waitForSelector("#me-consents");
    expect(!me.url().includes("#"), "no fragment left: " + me.url());
    expect(requested.every((u) => !u.includes(link.split("#")[1])), "the secret was never in a requested URL");
    const txt = await me.textContent("main");
    expect(txt.includes(XSS_A) && txt.includes(XSS_B), "the person's data, markup as text");
    await noInjected(me, "self-service page");
    await snap(me, "me-open");
  });

  await step("withdraw a consent (as easy as giving it)", async () => {
    await me.waitForSelector("li[data-key='consent-email_marketing'].on");
    await me.click("li[data-key='consent-email_marketing'] button");
    await me.waitForSelector("li[data-key='consent-email_marketing']:not(.on)");
    await snap(me, "me-consent-withdrawn");
  });

  await step("reset the cookie profile", async () => {
    await me.click("#me-cookies");
    await me.waitForSelector("#me-cookie-result .notice.ok");
    expect((await me.textContent("#me-cookie-result")).includes("2"), "two identifiers unlinked");
  });

  await step("download the own data as JSON", async () => {
    const [dl] = await Promise.all([me.waitForEvent("download"), me.click("#me-download")]);
    const doc = JSON.parse(fs.readFileSync(await dl.path(), "utf8"));
    expect(doc.subject.id === SUBJECT, "own data");
  });

  await step("ask for erasure: the request and its due date are shown", async () => {
    await me.click("#me-erase");
    await me.click("#me-erase-yes");
    await me.waitForSelector("#me-request-result .notice.ok");
    const txt = await me.textContent("#me-request-result");
    expect(/#\d+/.test(txt) && /\d{1,2}\.\d{1,2}\.\d{4}/.test(txt), "number and due date: " + txt);
    await snap(me, "me-erasure-requested");
  });

  await step("the used link gets a clear page and no data", async () => {
    const again = await (await browser.newContext()).newPage();
    await again.goto(link);
    await again.click("#me-open");
    await again.waitForSelector("#me-message h1:not(:empty)");
    await again.waitForFunction(() => /käytetty|used/.test(document.querySelector("main").textContent));
    const txt = await again.textContent("main");
    expect(/käytetty|used/.test(txt), "says the link was used");
    expect(!txt.includes(XSS_A) && (await again.$$("table")).length === 0, "no data");
    await snap(again, "me-link-used");
  });

  await step("the person's page in English", async () => {
    await me.click("#lang");
    await me.waitForFunction(() => document.querySelector("main h1") && document.querySelector("main h1").textContent === "Your data");
    await snap(me, "me-english");
  });

  // ---------------- back to staff: erase ----------------
  await step("the withdrawal and the request are seen by staff", async () => {
    await page.reload();
    await page.waitForSelector("#find-value");
    await page.selectOption("#find-by", "email");
    await page.fill("#find-value", EMAIL);
    await page.click("form.find button[type=submit]");
    await page.waitForSelector("li[data-key='consent-email_marketing']:not(.on)");
    await page.waitForSelector("#h-requests ~ div table.dsr tbody tr:not(.closed)");
  });

  await step("erase with a typed confirmation; the receipt is shown", async () => {
    await page.fill("#erase-confirm", "väärin");
    await page.click("#h-erase ~ form button[type=submit]");
    await page.waitForSelector("#status.error, #status .error, #status:not(.hidden)");
    expect((await page.$("#receipt")) === null, "a wrong word erases nothing");
    await page.fill("#erase-confirm", "POISTA");
    await page.click("#h-erase ~ form button[type=submit]");
    await page.waitForSelector("#receipt");
    expect((await page.$("#values")) === null, "the erased person's data is no longer on the page");
    expect((await page.textContent("#receipt")).includes("nimitiedot"), "the receipt names the categories");
    await snap(page, "erased-receipt");
  });

  await step("readable at 200% zoom (no sideways scrolling of the page)", async () => {
    await page.setViewportSize({ width: 680, height: 900 }); // 1360 px at 200 %
    await page.click("nav a[href='#requests']");
    await page.waitForSelector("table.dsr");
    const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(over <= 1, "page overflows by " + over + " px");
    await snap(page, "zoom-200");
  });

  await step("keyboard: the skip link comes first and the menu is reachable", async () => {
    // start from the top of the page, as after loading it
    await page.evaluate(() => {
      document.body.setAttribute("tabindex", "-1");
      document.body.focus();
      document.body.removeAttribute("tabindex");
    });
    await page.keyboard.press("Tab");
    const first = await page.evaluate(() => document.activeElement && document.activeElement.className);
    expect(first === "skip", "first stop is the skip link, got " + first);
    let reached = false;
    for (let i = 0; i < 6 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate(() => !!(document.activeElement && document.activeElement.closest("nav")));
    }
    expect(reached, "a menu link gets the focus by Tab");
    await page.keyboard.press("Enter");
    await page.waitForSelector("main h1");
  });

  // Adding a person: the form is made from the policy (whoami): the kind's
  // required fields marked, the fields its kind may not hold and those the
  // register issues or that need a consent left out.
  const NEW_EMAIL = "uusi.asiakas." + Date.now() + "@example.fi";
  const lookupCount = (email) => page.evaluate(async ([e, tok]) => {
    const me = await (await fetch("/v1/whoami", { headers: { "Authorization": "Bearer " + tok } })).json();
    const r = await fetch("/v1/lookup", { method: "POST", headers: { "Authorization": "Bearer " + tok, "Rekisteri-Purpose": me.default_purpose, "Content-Type": "application/json" }, body: JSON.stringify({ by: "email", value: e }) });
    if (r.status === 404) return 0;
    const d = await r.json();
    return d.ids ? d.ids.length : "status " + r.status + " " + JSON.stringify(d);
  }, [email, TOK_DPO]);
  await step("the new-person form follows the policy's kinds", async () => {
    await page.click('nav a[href="#find"]');
    await page.waitForSelector("#new-subject");
    await page.click("#new-subject summary");
    await page.selectOption("#new-kind", "customer");
    expect(await page.$eval("#new-f-last_name", (i) => i.required), "a customer's last name is required");
    expect(!(await page.$eval("#new-f-first_name", (i) => i.required)), "the first name is optional");
    expect((await page.$("#new-f-hetu")) !== null, "a customer may be given a HETU");
    expect((await page.$("#new-f-customer_number")) === null, "the customer number is the register's to issue");
    expect((await page.$("#new-f-marketing_id")) === null, "a field that needs a consent is not offered");
    expect(await page.$eval("#new-f-email", (i) => i.type === "email"), "an e-mail input");
    await page.selectOption("#new-kind", "contact");
    expect((await page.$("#new-f-hetu")) === null, "a contact person may not be given a HETU");
    await page.selectOption("#new-kind", "customer");
    await snap(page, "new-subject-form");
  });

  await step("a person with a bad value is refused and nothing is added", async () => {
    await page.fill("#new-f-last_name", "Uusi <i>Asiakas</i>");
    await page.fill("#new-f-email", NEW_EMAIL);
    await page.fill("#new-f-postal_code", "ABCDE");
    await page.click("#new-subject form button[type=submit]");
    await page.waitForFunction(() => document.getElementById("new-error").textContent.length > 0);
    expect(/\((400|422)\)/.test(await page.textContent("#new-error")), "the refusal is shown with its status");
    const n = await lookupCount(NEW_EMAIL);
    expect(n === 0, "no person was added (" + n + ")");
  });

  await step("add a person: a double click adds one, and the page opens it", async () => {
    await page.fill("#new-f-postal_code", "00100");
    await page.fill("#new-f-city", "Helsinki");
    await page.dblclick("#new-subject form button[type=submit]");
    await page.waitForSelector("#values");
    await statusSays("ok", /./);
    const txt = await page.textContent("#values");
    expect(txt.includes("Uusi <i>Asiakas</i>") && txt.includes(NEW_EMAIL) && txt.includes("00100"), "the values as given, markup as text");
    expect(txt.includes("Asiakasnumero"), "the register issued a customer number");
    const n = await lookupCount(NEW_EMAIL);
    expect(n === 1, "exactly one person has the e-mail (" + n + ")");
    await noInjected(page, "new person");
    await snap(page, "new-subject-added");
  });

  await step("add a value the person has none of", async () => {
    await page.click("#add-value summary");
    const offered = await page.$$eval("#add-value-field option", (o) => o.map((x) => x.value));
    expect(!offered.includes("last_name") && !offered.includes("email"), "fields with a value are not offered");
    expect(!offered.includes("customer_number"), "nor the customer number");
    await page.selectOption("#add-value-field", "street_address");
    await page.fill("#add-v-street_address", "Mannerheimintie 1");
    await page.click("#add-value form button[type=submit]");
    await page.waitForFunction(() => document.querySelector("#values") && document.querySelector("#values").textContent.includes("Mannerheimintie 1"));
    const txt = await page.textContent("#values");
    expect(txt.includes("Helsinki") && txt.includes(NEW_EMAIL), "the other values stay");
  });

  await step("sign out clears the token", async () => {
    await page.click("#signout");
    await page.waitForSelector("#token");
    expect((await page.evaluate(() => sessionStorage.length)) === 0, "no token kept");
  });

  await step("no page showed undefined, null or NaN", async () => {
    expect(slips.length === 0, "on: " + slips.join(", "));
  });

  await step("no markup ran anywhere and no CSP violation", async () => {
    expect(xssHits.length === 0, xssHits.join("; "));
    expect(csp.length === 0, csp.join("; "));
  });
} catch (e) {
  bad("the run", e);
} finally {
  await browser.close();
}
finish();
