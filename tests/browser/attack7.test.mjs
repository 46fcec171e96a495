// The console's edit of one value of a field that holds several (started
// by tests/e2e_attack7_console_edit_value.sh, which passes the address,
// the token and the subject's two e-mail addresses in the environment):
// the edit must change that value only, and keep the field's other values.
// Ends with "N passed, N failed".
import { ok, bad, step, expect, launch, finish } from "./harness.mjs";

const U = process.env.U;
const TOK_DPO = process.env.TOK_DPO;
const EMAIL = process.env.EMAIL;
const EMAIL2 = process.env.EMAIL2;
const EMAIL3 = process.env.EMAIL3;
const SUBJECT = process.env.SUBJECT;

const browser = await launch();

// The subject's e-mail addresses as the API reads them.
async function emails() {
  const r = await fetch(U + "/v1/subjects/" + SUBJECT, {
    headers: { Authorization: "Bearer " + TOK_DPO, "Rekisteri-Purpose": "customer_relationship" },
  });
  const d = await r.json();
  return (d.fields.email || []).map((v) => v.value).sort();
}

try {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(U + "/console");
  await page.waitForSelector("#token");
  await page.fill("#token", TOK_DPO);
  await page.click("form.signin button[type=submit]");
  await page.waitForSelector("#find-value");

  await step("find the subject with two e-mail addresses", async () => {
    await page.selectOption("#find-by", "email");
    await page.fill("#find-value", EMAIL);
    await page.click("form.find button[type=submit]");
    await page.waitForSelector("#values");
    expect(JSON.stringify(await emails()) === JSON.stringify([EMAIL, EMAIL2].sort()), "two addresses");
  });

  await step("editing the second address changes it and keeps the first", async () => {
    const row = page.locator("#values tbody tr", { hasText: EMAIL2 });
    await row.locator("button").click();
    await page.fill("#edit-email", EMAIL3);
    await page.click("form.inline:has(#edit-email) button[type=submit]");
    await page.waitForFunction(() => {
      const s = document.getElementById("status");
      return s && !s.classList.contains("hidden") && s.classList.contains("ok");
    }, null, { timeout: 15000 });
    const now = await emails();
    expect(JSON.stringify(now) === JSON.stringify([EMAIL, EMAIL3].sort()), "the addresses after the edit: " + now.length);
    expect(errors.length === 0, errors.join("; "));
  });
} catch (e) {
  bad("the run", e);
} finally {
  await browser.close();
}
finish();
