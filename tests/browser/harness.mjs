// What the suite's browser tests share: a tally of named steps, each
// reported as "ok NAME" or "FAIL NAME: why" and all as "N passed, N failed"
// at the end, and headless Chromium as the suite runs it.
import { chromium } from "playwright-core";

const tally = { pass: 0, fail: 0 };

export const ok = (n) => { tally.pass++; console.log("ok   " + n); };
export const bad = (n, e) => { tally.fail++; console.log("FAIL " + n + (e ? ": " + (e.message || e).split("\n")[0] : "")); };
export async function step(name, fn) {
  try { await fn(); ok(name); } catch (e) { bad(name, e); }
}
export function expect(cond, what) { if (!cond) throw new Error(what); }

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

// Prints the tally and ends the run with its verdict.
export function finish() {
  console.log(`${tally.pass} passed, ${tally.fail} failed`);
  process.exit(tally.fail === 0 ? 0 : 1);
}
