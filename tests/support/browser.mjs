// Headless Chromium for tests, through playwright-core and the system browser (no downloads).
//
//   await withPage(`${site.url}/e2e/fixtures/scenario.html`, async (page, log) => {
//     await page.waitForFunction(() => window.__done);
//     assert.deepEqual(log.errors, []);
//   });
//
// `log` collects what the page said: `messages` ({type, text, location}), `errors` (uncaught page
// errors), `failedRequests` ({url, failure}). All of it is printed when `fn` throws. The browser is
// always closed.
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
]);

/** Launches the system Chromium (playwright-core makes a fresh user-data-dir itself). */
export function launchChromium({ args = [] } = {}) {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    timeout: 30000,
  });
}

/**
 * Opens `url` in a fresh headless Chromium and runs `fn(page, log)`; returns what fn returns.
 * @param {string} url
 * @param {(page: import('playwright-core').Page, log: {messages: Array<{type: string, text: string, location?: object}>, errors: Error[], failedRequests: Array<{url: string, failure: string}>, browser: import('playwright-core').Browser}) => any} fn
 * @param {{timeoutMs?: number, waitUntil?: 'load'|'domcontentloaded'|'networkidle'|'commit'}} [options]
 */
export async function withPage(url, fn, { timeoutMs = 30000, waitUntil = 'load' } = {}) {
  const browser = await launchChromium();
  const log = { messages: [], errors: [], failedRequests: [], browser };
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(timeoutMs);
    page.on('console', (msg) => log.messages.push({ type: msg.type(), text: msg.text(), location: msg.location() }));
    page.on('pageerror', (error) => log.errors.push(error));
    page.on('requestfailed', (request) => log.failedRequests.push({ url: request.url(), failure: request.failure()?.errorText ?? 'failed' }));
    try {
      const response = await page.goto(url, { waitUntil, timeout: timeoutMs });
      if (response && !response.ok()) throw new Error(`GET ${url} answered HTTP ${response.status()}`);
      return await fn(page, log);
    } catch (error) {
      printLog(url, log);
      throw error;
    }
  } finally {
    await browser.close().catch(() => {});
  }
}

/** Prints what the page logged, for a failing test. */
export function printLog(url, log) {
  const lines = [`--- browser log for ${url} ---`];
  for (const m of log.messages) {
    const where = m.location?.url ? ` (${m.location.url}:${m.location.lineNumber})` : '';
    lines.push(`[console.${m.type}] ${m.text}${where}`);
  }
  for (const e of log.errors) lines.push(`[pageerror] ${e?.stack || e}`);
  for (const r of log.failedRequests) lines.push(`[requestfailed] ${r.url}: ${r.failure}`);
  if (lines.length === 1) lines.push('(nothing logged)');
  console.error(lines.join('\n'));
}
