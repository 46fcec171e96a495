// The self-service page after its skip link: open the link, wait for the
// data, follow "Skip to content" (the address becomes /me#main), reload.
// Prints "state: ..." lines for tests/e2e_attack5_me_fragment_reload.sh.
import { chromium } from "playwright-core";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await (await browser.newContext()).newPage();
  const posts = [];
  page.on("request", (r) => { if (r.method() === "POST" && r.url().endsWith("/v1/self/session")) posts.push(r.postData()); });
  await page.goto(process.env.U + "/me#" + process.env.SECRET);
  await page.click("#me-open");
  await page.waitForSelector("#me-download");
  await page.focus("a.skip");
  await page.keyboard.press("Enter");
  // the fragment changes after the key's default action: give it its turn
  await page.waitForFunction(() => location.hash === "#main", null, { timeout: 5000 }).catch(() => {});
  console.log("state: address " + new URL(page.url()).hash);
  await page.reload();
  await page.waitForTimeout(1500);
  console.log("state: data shown " + ((await page.$("#me-download")) !== null));
  console.log("state: exchanges " + posts.length);
} finally {
  await browser.close();
}
