// Attacks on the console and the self-service page in headless Chromium
// (started by tests/e2e_attack5_xss_browser.sh, which stores the payloads
// and passes the address, the token, the subject and the link secret in
// the environment): markup, script, javascript: URLs and quotes stored in
// every value, record, consent and objection evidence the pages show must
// stay text; a foreign page can neither frame the pages nor make them act;
// tokens stay out of URLs and localStorage. Ends with "N passed, N failed".
import { ok, bad, step, expect, launch, finish } from "./harness.mjs";

const U = process.env.U;
const TOK = process.env.TOK_DPO;
const EMAIL = process.env.EMAIL;
const SUBJECT = process.env.SUBJECT;
const SECRET = process.env.SECRET;
const MARK = process.env.MARK; // a text every payload holds

const browser = await launch();

const hits = [];
function guard(page, who) {
  page.on("dialog", async (d) => { hits.push(who + ": dialog " + d.message()); await d.dismiss(); });
  // a request the payloads would make (img src=x, a javascript: or foreign URL)
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith(U) && !u.startsWith("data:") && !u.startsWith("blob:") && !u.startsWith("about:")) hits.push(who + ": request to " + u);
    if (/\/x(\?|$)|evil/.test(u)) hits.push(who + ": request to " + u);
  });
}
// Nothing made from data: no element a payload names, no handler
// attribute, no javascript: link, no flag set by injected code.
async function clean(page, where) {
  const r = await page.evaluate(() => ({
    imgs: document.querySelectorAll("img, svg, iframe, object, embed, video, audio, math, meta[http-equiv], base, link:not([rel=stylesheet])").length,
    scripts: [...document.querySelectorAll("script")].filter((s) => !s.src || !/\/assets\/[a-z]+\.js$/.test(s.src)).length,
    handlers: [...document.querySelectorAll("*")].filter((e) => [...e.attributes].some((a) => /^on/i.test(a.name))).length,
    jsLinks: [...document.querySelectorAll("[href], [src], [action], [formaction]")].filter((e) => /^\s*(javascript|data|vbscript):/i.test(e.getAttribute("href") || e.getAttribute("src") || e.getAttribute("action") || e.getAttribute("formaction") || "")).length,
    flag: window.__xss === 1,
  }));
  expect(r.imgs === 0, where + ": an element was made from data");
  expect(r.scripts === 0, where + ": a script element that is not ours");
  expect(r.handlers === 0, where + ": an element with an event handler attribute");
  expect(r.jsLinks === 0, where + ": a javascript: or data: link");
  expect(!r.flag, where + ": injected code ran");
}
async function shows(page, sel, n, where) {
  const txt = await page.textContent(sel);
  const count = txt.split(MARK).length - 1;
  expect(count >= n, `${where}: the payloads are shown as text (${count} of at least ${n})`);
}

try {
  // ---------------- the console ----------------
  const staff = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
  const page = await staff.newPage();
  guard(page, "console");

  await step("sign in; the token stays out of the URL and localStorage", async () => {
    await page.goto(U + "/console");
    await page.fill("#token", TOK);
    await page.click("form.signin button[type=submit]");
    await page.waitForSelector("#find-value");
    expect(!page.url().includes(TOK), "token in the URL");
    const ls = await page.evaluate(() => JSON.stringify(localStorage));
    expect(!ls.includes(TOK), "token in localStorage");
  });

  await step("the subject's values: payloads shown as text", async () => {
    await page.selectOption("#find-by", "email");
    await page.fill("#find-value", EMAIL);
    await page.click("form.find button[type=submit]");
    await page.waitForSelector("#values");
    expect((await page.textContent("#subject-id")).trim() === SUBJECT, "the right subject");
    await page.waitForSelector("#records-box ul.records li");
    await page.waitForSelector("#h-consents ~ div details");
    await shows(page, "#values", 4, "values");
    await shows(page, "#subject-title", 1, "the title");
    await shows(page, "#records-box", 2, "records");
    await clean(page, "subject view");
  });

  await step("the edit form holds a payload as a value, not markup", async () => {
    const row = page.locator("#values tbody tr", { hasText: "<svg/onload" });
    await row.locator("button").click();
    const v = await page.inputValue("#edit-city");
    expect(v.includes(MARK) && v.includes("<svg/onload"), "the value in the input");
    await clean(page, "edit form");
    await page.click("form.inline button.ghost");
    await page.waitForSelector("#values");
  });

  await step("the consent history, the report and the audit log", async () => {
    await page.click("#h-consents ~ div details summary");
    await page.click("#report-show");
    await page.waitForSelector("#report .report .vlist");
    await shows(page, "#report", 6, "report");
    await page.click("#audit-show");
    await page.waitForSelector("#h-audit ~ div table.audit tbody tr");
    await clean(page, "report and audit");
  });

  await step("the requests register", async () => {
    await page.click("nav a[href='#requests']");
    await page.waitForSelector("table.dsr tbody tr");
    await clean(page, "requests");
  });

  await step("a self-service link: the secret is after # and never in a request URL", async () => {
    const urls = [];
    page.on("request", (r) => urls.push(r.url()));
    await page.click("nav a[href='#find']");
    await page.fill("#find-value", EMAIL);
    await page.click("form.find button[type=submit]");
    await page.waitForSelector("#link-make");
    await page.click("#link-make");
    await page.waitForSelector("#link-url");
    const link = await page.inputValue("#link-url");
    const s = link.split("#")[1] || "";
    expect(s.length >= 40 && link.startsWith(U + "/me#"), "the link has its secret after #");
    expect(!urls.some((u) => u.includes(s)), "the secret went into a URL");
  });

  await step("no dialog, no foreign request in the console", async () => {
    expect(hits.length === 0, hits.join("; "));
  });

  // ---------------- a foreign page ----------------
  const evil = await browser.newContext();
  const ep = await evil.newPage();
  await step("a foreign page cannot frame the console or the self-service page", async () => {
    await ep.setContent(`<iframe id=a src="${U}/console"></iframe><iframe id=b src="${U}/me"></iframe>`);
    await ep.waitForTimeout(1500);
    expect(ep.frames().length === 3, "two child frames (" + ep.frames().length + ")");
    for (const f of ep.frames().slice(1)) {
      let rendered = false;
      try { rendered = (await f.$("#app-title, #token, #main")) !== null; } catch (e) { rendered = false; }
      expect(!rendered, "a framed page rendered: " + f.url());
    }
  });

  await step("a foreign page's requests act on nothing and read nothing", async () => {
    const r = await ep.evaluate(async ({ U, SUBJECT }) => {
      const out = [];
      const tries = [
        ["POST", "/v1/subjects/" + SUBJECT + "/erase", "{}"],
        ["POST", "/v1/self/consents", '{"scope":"email_marketing","given":false}'],
        ["POST", "/v1/self/requests", '{"type":"erasure"}'],
        ["DELETE", "/v1/self/cookies", null],
      ];
      for (const [m, p, b] of tries) {
        try { await fetch(U + p, { method: m, body: b, mode: "no-cors", credentials: "include", headers: { "Content-Type": "text/plain" } }); out.push("sent"); } catch (e) { out.push("blocked"); }
      }
      let read = "none";
      try { const x = await fetch(U + "/v1/openapi.json", { credentials: "include" }); read = "read " + (await x.text()).length; } catch (e) { read = "blocked"; }
      return { out, read };
    }, { U, SUBJECT });
    expect(r.read === "blocked", "a foreign page read an answer: " + r.read);
  });
  await step("a foreign page's form posts are refused", async () => {
    for (const [p, body] of [["/v1/subjects/" + SUBJECT + "/erase", "{}"], ["/v1/self/requests", '{"type":"erasure"}'], ["/v1/self/session", '{"secret":"' + SECRET + '"}']]) {
      await ep.setContent(`<form method="POST" enctype="text/plain" action="${U}${p}"><input name='${body.slice(0, -2)}' value='${body.slice(-2)}'><button id=go>go</button></form>`);
      const [resp] = await Promise.all([ep.waitForNavigation(), ep.click("#go")]);
      expect(resp && resp.status() >= 400, p + ": a form post got " + (resp && resp.status()));
    }
  });
  await evil.close();

  // ---------------- the self-service page ----------------
  const me = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const mp = await me.newPage();
  guard(mp, "me");
  const seen = [];
  mp.on("request", (r) => seen.push(r.url() + " " + (r.headers()["referer"] || "")));
  await step("the self-service page: payloads as text, the secret leaves the address", async () => {
    await mp.goto(U + "/me#" + SECRET);
    await mp.click("#me-open");
    await mp.waitForSelector("#me-download");
    expect(!mp.url().includes("#"), "the fragment is still in the address");
    expect(!seen.some((s) => s.includes(SECRET)), "the secret reached a URL or a Referer");
    await shows(mp, "#main", 6, "me");
    await clean(mp, "me");
    const ss = await mp.evaluate(() => JSON.stringify(localStorage));
    expect(!ss.includes("token") && !ss.includes(SECRET), "a token or the secret in localStorage");
  });
  await step("no dialog, no foreign request on /me", async () => {
    expect(hits.length === 0, hits.join("; "));
  });
  await me.close();
  await staff.close();
} catch (e) {
  bad("the run", e);
} finally {
  await browser.close();
}
finish();
