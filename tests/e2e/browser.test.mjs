// The edgecensus package in headless Chromium (pkg/web.js loaded by a plain module script).
// The page is served from one origin ("site") and telemetry goes to a collector on another port,
// so CORS is exercised the way a real page meets it.
// Run: cd tests && node --test e2e/browser.test.mjs   (needs the built package in ../pkg)
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startCollector } from '../../tools/collector.mjs';
import { withPage } from '../support/browser.mjs';
import { checkTrace, checkScenarioResult, assertNoInvalid, connectionStringFor, waitForTrace } from './scenario.mjs';

const PKG_DIR = fileURLToPath(new URL('../../pkg/', import.meta.url));
const E2E_DIR = fileURLToPath(new URL('./', import.meta.url));

describe('edgecensus in a browser page', { timeout: 55000 }, () => {
  let site;
  let collector;

  before(async () => {
    for (const f of ['web.js', 'edgecensus_bg.wasm']) {
      if (!fs.existsSync(PKG_DIR + f)) throw new Error(`${PKG_DIR}${f} does not exist: build the package (pkg/) before the e2e tests`);
    }
    site = await startCollector({ staticRoutes: { '/pkg/': PKG_DIR, '/e2e/': E2E_DIR } });
    collector = await startCollector();
  });
  after(async () => {
    await site?.close();
    await collector?.close();
  });
  beforeEach(() => {
    site.reset();
    collector.reset();
  });

  function pageUrl(params) {
    const q = new URLSearchParams(params);
    return `${site.url}/e2e/fixtures/scenario.html?${q}`;
  }

  async function waitForPage(page) {
    await page.waitForFunction(() => window.__done === true, null, { timeout: 20000 });
    const error = await page.evaluate(() => window.__error ?? null);
    assert.equal(error, null, `the page failed: ${error}`);
  }

  function assertQuietPage(log) {
    assert.deepEqual(log.errors.map(String), [], 'no uncaught page errors');
    const consoleErrors = log.messages.filter((m) => m.type === 'error').map((m) => m.text);
    assert.deepEqual(consoleErrors, [], 'no console errors');
  }

  test('the scenario in a page: one trace, cross-origin export', async () => {
    const echoUrl = `${collector.url}/echo`;
    const url = pageUrl({ cs: connectionStringFor(collector.url), echo: echoUrl });
    await withPage(url, async (page, log) => {
      await waitForPage(page);
      const result = await page.evaluate(() => window.__result);
      await waitForTrace(collector, result.traceId);
      checkScenarioResult(result);
      checkTrace(collector, result);
      assertQuietPage(log);
    });
    // The wasm came from next to web.js; the telemetry came from the page's origin.
    assert.ok(site.requests.some((r) => r.path === '/pkg/edgecensus_bg.wasm'), `the page fetched /pkg/edgecensus_bg.wasm: ${site.requests.map((r) => r.path)}`);
    const track = collector.trackRequests.filter((r) => r.method === 'POST');
    assert.ok(track.length >= 1);
    assert.equal(track[0].headers.origin, site.url, 'cross-origin POST from the page');
  });

  test('odd values from page JS never throw, and are counted', async () => {
    const cs = connectionStringFor(collector.url);
    await withPage(pageUrl({ run: 'no' }), async (page, log) => {
      await waitForPage(page);
      const r = await page.evaluate(async (cs) => {
        const ec = window.__edgecensus;
        const thrown = [];
        const attempt = (label, fn) => {
          try {
            return fn();
          } catch (e) {
            thrown.push(`${label}: ${e?.stack || e}`);
          }
        };
        const client = await ec.init({ connectionString: cs, serviceName: 'e2e', exportIntervalMs: 0 });
        const before = client.diagnostics();
        const huge = 'x'.repeat(1 << 20);
        const span = attempt('startSpan(undefined)', () => client.startSpan(undefined));
        attempt('setAttribute({}, NaN)', () => span.setAttribute({}, NaN));
        attempt("setAttribute('k', undefined)", () => span.setAttribute('k', undefined));
        attempt("setAttribute('o', {})", () => span.setAttribute('o', { a: 1 }));
        attempt("setAttribute('el', document.body)", () => span.setAttribute('el', document.body));
        attempt('setAttributes(null)', () => span.setAttributes(null));
        attempt('setAttributes({ok})', () => span.setAttributes({ ok: 'yes', fn: () => 1 }));
        attempt('setAttribute(big)', () => span.setAttribute('big', huge));
        attempt('addEvent(undefined)', () => span.addEvent(undefined));
        attempt('addLink(garbage)', () => span.addLink({ traceId: 'no', spanId: 'no' }));
        attempt('setStatus(bogus)', () => span.setStatus('bogus'));
        attempt('recordException(string)', () => span.recordException('string'));
        attempt('recordException(Error)', () => span.recordException(new Error('real')));
        attempt('updateName(null)', () => span.updateName(null));
        attempt('end(x)', () => span.end('x'));
        attempt('end again', () => span.end());
        attempt('startSpan(huge)', () => client.startSpan(huge).end());
        const extracted = attempt('extract(garbage)', () => client.extract({ traceparent: 'garbage' }));
        const extractedHeaders = attempt('extract(Headers garbage)', () => client.extract(new Headers({ traceparent: '00-xyz-abc-01' })));
        attempt('extract(undefined)', () => client.extract(undefined));
        attempt('inject(undefined)', () => client.inject(undefined));
        let initError = null;
        try {
          await ec.init({ connectionString: 'nonsense' });
        } catch (e) {
          initError = { isError: e instanceof Error, message: String(e?.message) };
        }
        const flushed = await client.flush();
        const after = client.diagnostics();
        await client.shutdown();
        return { thrown, before, after, extracted: extracted ?? null, extractedHeaders: extractedHeaders ?? null, initError, flushed };
      }, cs);

      assert.deepEqual(r.thrown, [], 'nothing threw');
      assert.equal(r.extracted, null);
      assert.equal(r.extractedHeaders, null);
      assert.ok(r.initError, 'init({connectionString: "nonsense"}) rejected');
      assert.equal(r.initError.isError, true);
      assert.match(r.initError.message, /connection ?string/i);
      assert.ok(r.after.invalidInputs > r.before.invalidInputs, `invalidInputs moved: ${JSON.stringify([r.before.invalidInputs, r.after.invalidInputs])}`);
      assert.ok(r.after.valuesTruncated > r.before.valuesTruncated, `valuesTruncated moved: ${JSON.stringify([r.before.valuesTruncated, r.after.valuesTruncated])}`);
      assert.equal(r.flushed.rejected, 0);
      assertNoInvalid(collector);
      assert.ok(collector.envelopes.some((e) => e.data.baseData.properties?.ok === 'yes'), `the odd span was exported:\n${collector.summary()}`);
      assert.deepEqual(log.errors.map(String), [], 'no uncaught page errors');
    });
  });
});
