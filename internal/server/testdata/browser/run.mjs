// Drives headless Chromium for internal/server's TestBrowserCORSAndCSRF.
//
// Usage: node run.mjs '<JSON array of scenarios>'   (or the array in $SCENARIOS)
//        node run.mjs < scenarios                   (one JSON scenario per line)
//
// With no array, scenarios are read from standard input one line at a time,
// and each result is printed before the next line is read, so a caller can
// check what happened between scenarios while one browser stays up.
//
// Each scenario opens `page` in a fresh browser context, then either
//   - runs `fetch(fetch.url, fetch.init)` inside the page and reports what
//     the page's own script could read: {"name","ok":true,"status","body"}
//     or {"name","error":"TypeError: Failed to fetch"}; or
//   - waits for the browser to receive a response whose URL starts with
//     `await` (a form submission, an <img>) and reports what the browser got
//     on the network, which the page's script cannot read:
//     {"name","ok":true,"network":{"status","body"}}, or
//     {"name","ok":true,"network":{"failed":"net::ERR_BLOCKED_BY_ORB"}} when
//     the browser dropped the response.
// A scenario the script could not carry out (a timeout, a page that did not
// load) reports {"name","failed":"..."}. One JSON line is printed per
// scenario. The exit status is 0 when the script itself worked, whatever the
// scenarios found.
//
// Environment:
//   CHROMIUM    the browser binary (default /usr/bin/chromium)
//   TRUST_SPKI  base64 SHA-256 hashes of server public keys (comma
//               separated) that Chromium accepts without a trusted chain:
//               the gateway's development certificate.
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const scenarioTimeout = 10_000;

const list = process.argv[2] ?? process.env.SCENARIOS;
const args = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
if (process.env.TRUST_SPKI) {
  args.push(`--ignore-certificate-errors-spki-list=${process.env.TRUST_SPKI}`);
}

// Playwright starts the browser with a fresh temporary --user-data-dir and
// removes it on close.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args,
});
try {
  const scenarios = list ? JSON.parse(list) : createInterface({ input: process.stdin });
  for await (const s of scenarios) {
    if (typeof s === 'string' && s.trim() === '') continue;
    const scenario = typeof s === 'string' ? JSON.parse(s) : s;
    console.log(JSON.stringify({ name: scenario.name, ...(await run(scenario)) }));
  }
} finally {
  await browser.close();
}

async function run(s) {
  const context = await browser.newContext();
  context.setDefaultTimeout(scenarioTimeout);
  try {
    const page = await context.newPage();
    if (s.await) {
      const matches = (r) => r.url().startsWith(s.await);
      // Chromium's opaque-response blocking (ORB) drops a JSON answer to an
      // <img> before the page sees it: the request then fails.
      const seen = Promise.race([
        page.waitForResponse(matches).then(async (res) => ({ status: res.status(), body: await res.text().catch(() => '') })),
        page.waitForEvent('requestfailed', matches).then((req) => ({ failed: req.failure()?.errorText ?? 'failed' })),
      ]);
      await page.goto(s.page);
      return { ok: true, network: await seen };
    }
    await page.goto(s.page);
    return await page.evaluate(async ({ url, init }) => {
      try {
        const res = await fetch(url, init);
        return { ok: true, status: res.status, body: await res.text() };
      } catch (err) {
        return { error: String(err) };
      }
    }, s.fetch);
  } catch (err) {
    return { failed: err.message };
  } finally {
    await context.close();
  }
}
