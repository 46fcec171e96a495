// Attacks on the console's newest forms in headless Chromium (started by
// tests/e2e_attack6_console_forms.sh, which passes the address, the tokens
// and the subject in the environment): a double click on the add-record
// form with a file must add one record; a file over the server's upload
// limit must show the refusal (413); a file without a media type goes as
// application/octet-stream; a role that may not add a person sees the
// server's refusal in the form. Ends with "N passed, N failed".
import { ok, bad, step, expect, launch, finish } from "./harness.mjs";

const U = process.env.U;
const TOK_DPO = process.env.TOK_DPO;
const TOK_MKT = process.env.TOK_MKT;
const EMAIL = process.env.EMAIL;
const SUBJECT = process.env.SUBJECT;

const browser = await launch();

// The subject's records as the API lists them (all types).
async function records(tok) {
  const r = await fetch(U + "/v1/subjects/" + SUBJECT + "/records?limit=1000", {
    headers: { Authorization: "Bearer " + tok, "Rekisteri-Purpose": "customer_relationship" },
  });
  const d = await r.json();
  return d.items || d.records || d;
}

async function signIn(ctx, tok) {
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(U + "/console");
  await page.waitForSelector("#token");
  await page.fill("#token", tok);
  await page.click("form.signin button[type=submit]");
  await page.waitForSelector("#find-value");
  return { page, errors };
}

// Waits until cond holds (the answers of requests already sent).
async function expectEventually(cond) {
  for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(cond(), "the requests sent were answered");
}

const statusSays = (page, kind, re) => page.waitForFunction(([k, src]) => {
  const s = document.getElementById("status");
  return s && !s.classList.contains("hidden") && s.classList.contains(k) && new RegExp(src).test(s.textContent);
}, [kind, re.source], { timeout: 15000 });

try {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const { page, errors } = await signIn(ctx, TOK_DPO);

  await step("find the subject", async () => {
    await page.selectOption("#find-by", "email");
    await page.fill("#find-value", EMAIL);
    await page.click("form.find button[type=submit]");
    await page.waitForSelector("#values");
    await page.click("#rec-add summary");
  });

  await step("a double click on the record form with a file adds one record", async () => {
    const before = (await records(TOK_DPO)).length;
    await page.selectOption("#rec-add-type", "communication");
    await page.setInputFiles("#rec-add-file", { name: "kirje.bin", mimeType: "application/x-kirje", buffer: Buffer.alloc(60000, 7) });
    await page.selectOption("#rec-f-channel", "email");
    await page.selectOption("#rec-f-direction", "inbound");
    // every POST the page sends, and its answer: both clicks of a double
    // click go out before the first answer could come back
    let sent = 0, done = 0;
    const isPost = (q) => q.method() === "POST" && q.url().endsWith("/records");
    page.on("request", (q) => { if (isPost(q)) sent++; });
    page.on("requestfinished", (q) => { if (isPost(q)) done++; });
    page.on("requestfailed", (q) => { if (isPost(q)) done++; });
    await page.dblclick("#rec-add form button[type=submit]");
    await statusSays(page, "ok", /#\d+/);
    await expectEventually(() => done === sent);
    expect(sent === 1, `one request sent, not ${sent}`);
    const after = (await records(TOK_DPO)).length;
    expect(after === before + 1, `one record added, not ${after - before}`);
  });

  await step("a file over the upload limit shows the server's refusal (413)", async () => {
    const before = (await records(TOK_DPO)).length;
    await page.selectOption("#rec-add-type", "communication");
    await page.setInputFiles("#rec-add-file", { name: "iso.bin", mimeType: "application/x-iso", buffer: Buffer.alloc(400000, 9) });
    await page.selectOption("#rec-f-channel", "email");
    await page.selectOption("#rec-f-direction", "inbound");
    await page.click("#rec-add form button[type=submit]");
    await statusSays(page, "error", /413/);
    expect((await records(TOK_DPO)).length === before, "nothing added");
  });

  await step("a file with no media type goes as application/octet-stream", async () => {
    const before = (await records(TOK_DPO)).length;
    await page.selectOption("#rec-add-type", "communication");
    await page.setInputFiles("#rec-add-file", { name: "noext", mimeType: "", buffer: Buffer.from("raw bytes\n") });
    await page.selectOption("#rec-f-channel", "email");
    await page.selectOption("#rec-f-direction", "inbound");
    await page.click("#rec-add form button[type=submit]");
    await statusSays(page, "ok", /#\d+/);
    const list = await records(TOK_DPO);
    expect(list.length === before + 1, "one record added");
    expect(JSON.stringify(list).includes("application/octet-stream"), "typed application/octet-stream");
  });

  await step("no script error on the staff page", async () => {
    expect(errors.length === 0, errors.join("; "));
  });

  // A role that may not add a person: the form shows the refusal.
  const ctx2 = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const m = await signIn(ctx2, TOK_MKT);
  await step("a role that may not add a person sees the server's refusal", async () => {
    const form = await m.page.$("#new-subject");
    if (form === null) return; // not offered at all: nothing to refuse
    await m.page.click("#new-subject summary");
    const req = await m.page.$$("#new-fields input[required], #new-fields select[required]");
    for (const i of req) await i.fill("Testi");
    await m.page.click("#new-subject form button[type=submit]");
    await m.page.waitForFunction(() => document.getElementById("new-error").textContent.length > 0, null, { timeout: 15000 });
    expect(/\(4\d\d\)/.test(await m.page.textContent("#new-error")), "the refusal's status is shown");
    expect(m.errors.length === 0, m.errors.join("; "));
  });
} catch (e) {
  bad("the run", e);
} finally {
  await browser.close();
}
finish();
