// Opens a self-service link the way a mail security scanner or a link
// preview does: load the page, run its scripts, click nothing, go away.
// (tests/pending/e2e_attack5_link_prefetch.sh then checks whether the
// link still works for the person.) Prints what the page made of it.
import { chromium } from "playwright-core";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(process.env.U + "/me#" + process.env.SECRET, { waitUntil: "networkidle" });
  await page.waitForTimeout(1000);
  const got = await page.evaluate(() => sessionStorage.getItem("rekisteri-self") !== null);
  console.log(got ? "# the scanner holds a session" : "# the scanner holds no session");
  await ctx.close();
} finally {
  await browser.close();
}
