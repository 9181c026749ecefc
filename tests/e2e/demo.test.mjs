// The browser demo (www/) against the local collector, in headless Chromium: the page loads the
// package from /pkg/, its buttons record spans and stats, and the envelopes come back through the
// collector's /api/received into the page's "received" list; #metrics shows client.getMetrics().
//
//   cd tests && node --test e2e/demo.test.mjs        (needs pkg/: ./scripts/build)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCollector } from '../../tools/collector.mjs';
import { withPage } from '../support/browser.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const wwwDir = path.join(root, 'www');
const pkgDir = path.join(root, 'pkg');

/** What the page's received list shows: one row per envelope. */
function receivedRows(page) {
  return page.$$eval('#received > li[data-type]', (items) =>
    items.map((li) => ({
      type: li.dataset.type,
      operationId: li.dataset.operationId,
      invalid: li.classList.contains('invalid'),
      failed: li.classList.contains('failed'),
      name: li.querySelector('.name')?.textContent ?? '',
    })),
  );
}

test('the demo page records spans and shows what the collector received', { timeout: 90_000 }, async () => {
  assert.ok(fs.existsSync(path.join(pkgDir, 'web.js')), `no package in ${pkgDir}: run ./scripts/build first`);
  const collector = await startCollector({ port: 0, staticRoutes: { '/': wwwDir, '/pkg/': pkgDir } });
  try {
    await withPage(`${collector.url}/`, async (page, log) => {
      await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'ready', null, { timeout: 20_000 });
      assert.equal((await page.textContent('#status')).trim(), 'ready');

      // Traced request: a server span and a traced fetch to /echo, whose traceparent is shown.
      await page.click('#btn-request');
      await page.waitForFunction(() => /echoed traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-01/.test(document.querySelector('#output').textContent));
      const output = await page.textContent('#output');
      const [, traceId, fetchSpanId] = /echoed traceparent: 00-([0-9a-f]{32})-([0-9a-f]{16})-01/.exec(output);
      assert.match(output, new RegExp(`trace ${traceId}`), 'the echoed trace id is the server span\'s');

      await page.click('#btn-nested');
      await page.waitForFunction(() => document.querySelector('#output').textContent.includes('render chart'));
      await page.click('#btn-fail');
      await page.waitForFunction(() => document.querySelector('#output').textContent.startsWith('caught: Error: card declined'));

      await page.click('#btn-flush');
      await page.waitForFunction(() => /"accepted": \d+/.test(document.querySelector('#output').textContent));
      await collector.waitFor((c) => c.envelopes.length >= 8, 10_000);

      // The list catches up within a poll or two.
      await page.waitForFunction(
        () => ['RequestData', 'RemoteDependencyData', 'MessageData'].every((t) => document.querySelector(`#received li[data-type="${t}"]`)),
        null,
        { timeout: 5_000 },
      );
      const rows = await receivedRows(page);
      const request = rows.find((r) => r.type === 'RequestData');
      assert.ok(request, 'a Request row');
      assert.equal(request.operationId, traceId);
      const echo = rows.find((r) => r.type === 'RemoteDependencyData' && r.name === 'GET /echo');
      assert.ok(echo, `a GET /echo dependency row in ${JSON.stringify(rows)}`);
      assert.equal(echo.operationId, request.operationId, 'the request and its fetch share an operation id');
      assert.equal(rows.filter((r) => r.type === 'RemoteDependencyData' && r.operationId !== traceId).length, 4, 'nested (3) + failing (1) dependencies');
      assert.ok(rows.some((r) => r.type === 'MessageData' && r.name === 'cache miss'), 'the event arrives as a Message');
      assert.ok(rows.some((r) => r.name === 'charge card' && r.failed), 'the failing span shows success: false');
      assert.ok(rows.every((r) => !r.invalid), 'no invalid envelopes');

      // The collector's view agrees: parent links as the traceparent said.
      assert.deepEqual(collector.invalid, []);
      const byName = (name) => collector.envelopes.find((e) => e.data.baseData.name === name);
      const requestEnv = byName('GET /checkout');
      const echoEnv = byName('GET /echo');
      assert.equal(requestEnv.data.baseType, 'RequestData');
      assert.equal(echoEnv.data.baseData.id, fetchSpanId);
      assert.equal(echoEnv.tags['ai.operation.parentId'], requestEnv.data.baseData.id);
      assert.equal(requestEnv.tags['ai.cloud.role'], 'edgecensus-demo');
      const echoRequest = collector.requests.find((r) => r.path === '/echo');
      assert.equal(echoRequest.headers.traceparent, `00-${traceId}-${fetchSpanId}-01`);

      // Diagnostics tick every second.
      await page.waitForFunction(() => Number(document.querySelector('#diagnostics [data-stat="accepted"] b')?.textContent) >= 8);

      // A row expands to its raw JSON.
      await page.click('#received > li[data-type="RequestData"] summary');
      const raw = JSON.parse(await page.textContent('#received > li[data-type="RequestData"] pre.raw'));
      assert.equal(raw.tags['ai.operation.id'], traceId);

      // Clear empties both the collector and the list. The 3 s metrics timer keeps exporting every
      // series, so Metric envelopes may arrive right after the clear; nothing else may.
      await page.click('#btn-clear');
      await page.waitForFunction(() => document.querySelectorAll('#received > li:not([data-type="MetricData"])').length === 0);
      assert.deepEqual(collector.envelopes.filter((e) => e.data.baseType !== 'MetricData'), []);

      // Without a flush the 2 s export timer delivers.
      await page.click('#btn-request');
      await page.waitForFunction(() => document.querySelector('#received li[data-type="RequestData"]'), null, { timeout: 8_000 });

      assert.deepEqual(log.errors.map(String), [], 'no uncaught page errors');
      const consoleErrors = log.messages.filter((m) => m.type === 'error' || m.type === 'warning');
      assert.deepEqual(consoleErrors, [], 'no console errors or warnings');
      assert.deepEqual(log.failedRequests, []);
    });
  } finally {
    await collector.close();
  }
});

/** The envelopes of one series of a view, as {time, point, properties}, in arrival order. */
function metricEnvelopes(collector, view, button) {
  return collector.envelopes
    .filter((e) => e.data?.baseType === 'MetricData' && e.data.baseData.metrics[0].name === view && e.data.baseData.properties?.button === button)
    .map((e) => ({ time: Date.parse(e.time), point: e.data.baseData.metrics[0], properties: e.data.baseData.properties }));
}

test('the demo page counts button presses in #metrics and exports them on its 3 s timer', { timeout: 60_000 }, async () => {
  assert.ok(fs.existsSync(path.join(pkgDir, 'web.js')), `no package in ${pkgDir}: run ./scripts/build first`);
  const collector = await startCollector({ port: 0, staticRoutes: { '/': wwwDir, '/pkg/': pkgDir } });
  const N = 4; // presses of "Nested work"
  const pressCell = (button) => `#metrics [data-view="button_presses_by_button"] tr[data-tags="button=${button}"] td.value`;
  const countCell = (button) => `#metrics [data-view="demo_operation_ms_by_button"] tr[data-tags="button=${button}"] td.count`;
  try {
    await withPage(`${collector.url}/`, async (page, log) => {
      await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'ready', null, { timeout: 20_000 });
      assert.equal(await page.$$eval('#metrics [data-view]', (views) => views.map((v) => v.dataset.view).join()), 'button_presses_by_button,demo_operation_ms_by_button');

      // Each press shows up in #metrics at once (the panel refreshes on click, not only every second).
      for (let i = 1; i <= N; i++) {
        await page.click('#btn-nested');
        await page.waitForFunction(([sel, n]) => document.querySelector(sel)?.textContent === String(n), [pressCell('nested'), i], { timeout: 900 });
        await page.waitForFunction(() => !document.querySelector('#btn-nested').hasAttribute('aria-busy'));
      }
      await page.click('#btn-fail');
      await page.waitForFunction(() => document.querySelector('#output').textContent.startsWith('caught: Error: card declined'));

      // #metrics agrees with getMetrics(), counts and distribution alike.
      await page.waitForFunction(([sel, n]) => document.querySelector(sel)?.textContent === String(n), [countCell('nested'), N]);
      const metrics = await page.evaluate(() => window.edgecensusDemo.client.getMetrics());
      const view = (name) => metrics.find((m) => m.name === name);
      const series = (name, button) => view(name).series.find((s) => s.tags.button === button);
      assert.equal(view('button_presses_by_button').aggregation, 'count');
      assert.equal(series('button_presses_by_button', 'nested').value, N);
      assert.equal(series('button_presses_by_button', 'fail').value, 1);
      assert.equal(series('button_presses_by_button', 'flush'), undefined, 'Flush now was never pressed');
      assert.equal(await page.textContent(pressCell('nested')), String(N));
      assert.equal(await page.textContent(pressCell('fail')), '1');
      const nestedMs = series('demo_operation_ms_by_button', 'nested');
      assert.equal(nestedMs.count, N);
      assert.equal(nestedMs.bucketCounts.reduce((a, b) => a + b, 0), N);
      assert.ok(nestedMs.min >= 40, `"Nested work" sleeps 45 ms, took ${nestedMs.min} ms at least`);
      assert.equal(await page.textContent(countCell('nested')), String(N));
      assert.equal(await page.locator(`#metrics tr[data-tags="button=nested"] .bucket`).count(), view('demo_operation_ms_by_button').bounds.length + 1);

      // Without a flush, the 3 s metrics timer delivers the cumulative count, and again 3 s later.
      await collector.waitFor((c) => metricEnvelopes(c, 'button_presses_by_button', 'nested').filter((m) => m.point.value === N).length >= 2, 10_000);
      const presses = metricEnvelopes(collector, 'button_presses_by_button', 'nested');
      assert.ok(presses.every((m) => m.point.kind === 0 && m.point.value <= N && m.point.count === undefined), JSON.stringify(presses));
      const [first, second] = presses.filter((m) => m.point.value === N);
      const gap = second.time - first.time;
      assert.ok(gap >= 2_500 && gap <= 4_000, `exports ${gap} ms apart, not every 3 s`);
      const durations = metricEnvelopes(collector, 'demo_operation_ms_by_button', 'nested').at(-1).point;
      assert.equal(durations.kind, 1);
      assert.equal(durations.count, N);
      assert.ok(Math.abs(durations.value - nestedMs.sum) < 1e-6, `sum ${durations.value} vs ${nestedMs.sum}`);
      assert.ok(durations.min <= durations.max && durations.min >= 40);
      assert.equal(metricEnvelopes(collector, 'button_presses_by_button', 'fail').at(-1).point.value, 1);
      assert.deepEqual(collector.invalid, []);

      // The received list shows them: metric name, tag values and value.
      const row = `#received li[data-type="MetricData"][data-metric="button_presses_by_button"][data-tags="button=nested"][data-value="${N}"]`;
      await page.waitForSelector(row, { timeout: 5_000 });
      assert.equal(await page.textContent(`${row} .metric-name`), 'button_presses_by_button');
      assert.equal(await page.textContent(`${row} .tag`), 'button=nested');
      assert.equal(await page.textContent(`${row} .value`), String(N));
      const distRow = `#received li[data-type="MetricData"][data-metric="demo_operation_ms_by_button"][data-tags="button=nested"]`;
      assert.match(await page.textContent(`${distRow} .value`), new RegExp(`^n ${N} · sum [\\d.]+ · [\\d.]+–[\\d.]+$`));

      assert.deepEqual(log.errors.map(String), [], 'no uncaught page errors');
      const consoleErrors = log.messages.filter((m) => m.type === 'error' || m.type === 'warning');
      assert.deepEqual(consoleErrors, [], 'no console errors or warnings');
      assert.deepEqual(log.failedRequests, []);
    });
  } finally {
    await collector.close();
  }
});

/** The 1-based line of www/demo.js that contains `text` (exactly one must). */
function demoLineOf(text) {
  const hits = [];
  fs.readFileSync(path.join(wwwDir, 'demo.js'), 'utf8')
    .split('\n')
    .forEach((line, i) => line.includes(text) && hits.push(i + 1));
  assert.equal(hits.length, 1, `exactly one line of www/demo.js contains ${JSON.stringify(text)}`);
  return hits[0];
}

test('the demo page reports an uncaught error as an Exception and logs as Messages', { timeout: 60_000 }, async () => {
  assert.ok(fs.existsSync(path.join(pkgDir, 'web.js')), `no package in ${pkgDir}: run ./scripts/build first`);
  const collector = await startCollector({ port: 0, staticRoutes: { '/': wwwDir, '/pkg/': pkgDir } });
  const errorMessage = 'checkout failed for cart 42 (uncaught, on purpose)';
  const throwLine = demoLineOf('throw new Error(`checkout failed for cart');
  const isType = (type) => (e) => e.data?.baseType === type;
  try {
    await withPage(`${collector.url}/`, async (page, log) => {
      await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'ready', null, { timeout: 20_000 });

      // "Throw an error": an Error nothing on the page catches (the one page error allowed).
      await page.click('#btn-throw');
      await page.waitForFunction(() => document.querySelector('#output').textContent.includes('checkoutFailed(42) threw'));
      await page.waitForFunction(() => window.edgecensusDemo.client.diagnostics().exceptionsRecorded === 1);
      assert.deepEqual(log.errors.map((e) => e.message), [errorMessage], 'exactly the deliberate uncaught error');

      // "Log a warning": a logger warning and a console.warn inside the "check stock" span.
      await page.click('#btn-log');
      await page.waitForFunction(() => document.querySelector('#output').textContent.includes('span "check stock"'));
      const [, traceId, spanId] = /trace ([0-9a-f]{32})\s+span ([0-9a-f]{16})/.exec(await page.textContent('#output'));

      await page.click('#btn-flush');
      await page.waitForFunction(() => /"accepted": \d+/.test(document.querySelector('#output').textContent));
      await collector.waitFor((c) => c.envelopes.filter(isType('ExceptionData')).length >= 1 && c.envelopes.filter(isType('MessageData')).length >= 2, 10_000);
      assert.deepEqual(collector.invalid, []);

      // The Exception: typeName, message, and checkoutFailed in demo.js among its parsed frames.
      const exceptionEnvs = collector.envelopes.filter(isType('ExceptionData'));
      assert.equal(exceptionEnvs.length, 1, 'one Exception envelope');
      const exData = exceptionEnvs[0].data.baseData;
      assert.equal(exData.severityLevel, 4, 'an uncaught error is Critical');
      assert.equal(exData.properties.handledAt, 'window.onerror');
      const [exception] = exData.exceptions;
      assert.equal(exception.typeName, 'Error');
      assert.equal(exception.message, errorMessage);
      assert.ok(Array.isArray(exception.parsedStack) && exception.parsedStack.length >= 2, JSON.stringify(exception));
      const frame = exception.parsedStack.find((f) => f.method === 'checkoutFailed');
      assert.ok(frame, `a checkoutFailed frame in ${JSON.stringify(exception.parsedStack)}`);
      assert.ok(frame.fileName.endsWith('/demo.js'), frame.fileName);
      assert.ok(frame.line > 0);
      assert.equal(frame.line, throwLine, 'the line of the throw in www/demo.js');
      assert.equal(exception.parsedStack[0], frame, 'the throw is the top frame');

      // The Messages: the logger's warning and the console.warn, both correlated with the span.
      const span = collector.envelopes.find((e) => e.data.baseData.name === 'check stock');
      assert.ok(span, 'the "check stock" span arrived');
      assert.equal(span.tags['ai.operation.id'], traceId);
      assert.equal(span.data.baseData.id, spanId);
      const messages = collector.envelopes.filter(isType('MessageData'));
      const warning = messages.find((m) => m.data.baseData.message === 'Low stock');
      assert.ok(warning, `a "Low stock" Message in ${JSON.stringify(messages)}`);
      assert.equal(warning.data.baseData.severityLevel, 2);
      assert.equal(warning.data.baseData.properties.sku, 'SKU-1042');
      assert.equal(warning.data.baseData.properties.loggerName, 'demo');
      assert.equal(warning.tags['ai.operation.id'], traceId, 'the warning carries the span\'s operation id');
      assert.equal(warning.tags['ai.operation.parentId'], spanId);
      const consoleWarn = messages.find((m) => m.data.baseData.properties?.source === 'console.warn');
      assert.ok(consoleWarn, `a console.warn Message in ${JSON.stringify(messages)}`);
      assert.match(consoleWarn.data.baseData.message, /^only 2 left of SKU-1042/);
      assert.equal(consoleWarn.data.baseData.severityLevel, 2);
      assert.equal(consoleWarn.tags['ai.operation.id'], traceId);

      // The received list: the Exception with its top frame, the Messages with their severity.
      const exRow = '#received > li[data-type="ExceptionData"]';
      await page.waitForSelector(exRow, { timeout: 5_000 });
      assert.equal(await page.textContent(`${exRow} .name`), `Error: ${errorMessage}`);
      assert.equal(await page.textContent(`${exRow} .frame`), `checkoutFailed @ /demo.js:${throwLine}`);
      assert.equal(await page.getAttribute(exRow, 'data-severity'), 'Critical');
      await page.click(`${exRow} summary`);
      const frames = await page.$$eval(`${exRow} table.frames tbody tr`, (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
      assert.equal(frames.length, exception.parsedStack.length);
      assert.deepEqual(frames[0], ['0', 'checkoutFailed', '/demo.js', String(throwLine)]);
      assert.ok(await page.isVisible(`${exRow} table.frames`), 'the frames show when the row is expanded');
      assert.equal(await page.textContent(`${exRow} .stack-meta`), 'Critical reported from window.onerror');

      const warnRow = '#received > li[data-type="MessageData"][data-severity="Warning"]';
      await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, warnRow, { timeout: 5_000 });
      const warnRows = await page.$$eval(warnRow, (items) =>
        items.map((li) => ({ name: li.querySelector('.name').textContent, severity: li.querySelector('.severity').textContent, op: li.dataset.operationId })),
      );
      assert.deepEqual(
        warnRows.sort((a, b) => a.name.localeCompare(b.name)),
        [
          { name: 'Low stock', severity: 'Warning', op: traceId },
          { name: consoleWarn.data.baseData.message, severity: 'Warning', op: traceId },
        ],
      );

      // Exactly one page error (the deliberate one), no console errors, one console warning (ours).
      assert.deepEqual(log.errors.map((e) => e.message), [errorMessage]);
      assert.deepEqual(log.messages.filter((m) => m.type === 'error'), [], 'no console errors');
      assert.deepEqual(log.messages.filter((m) => m.type === 'warning').map((m) => m.text), [consoleWarn.data.baseData.message]);
      assert.deepEqual(log.failedRequests, []);
    });
  } finally {
    await collector.close();
  }
});
