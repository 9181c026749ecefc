// The edgecensus package in workerd (pkg/workerd.js), through instrument(), against a real collector.
// Run: cd tests && node --test e2e/workerd.test.mjs   (needs the built package in ../pkg)
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startCollector } from '../../tools/collector.mjs';
import { startWorkerd, modulesFromDir } from '../support/workerd.mjs';
import { checkTrace, assertNoInvalid, connectionStringFor, waitForTrace, traceEnvelopes } from './scenario.mjs';

const PKG_DIR = fileURLToPath(new URL('../../pkg/', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url));

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

// Once without any flag (no AsyncLocalStorage: the package's own active-span stack), once with
// nodejs_compat (AsyncLocalStorage).
for (const compatibilityFlags of [[], ['nodejs_compat']]) {
  const label = compatibilityFlags.length ? compatibilityFlags.join(',') : 'no flags';

  describe(`edgecensus in workerd (${label})`, { timeout: 55000 }, () => {
    let collector;
    let worker;
    let failed = false;

    before(async () => {
      for (const f of ['workerd.js', 'edgecensus_bg.wasm']) {
        if (!fs.existsSync(PKG_DIR + f)) throw new Error(`${PKG_DIR}${f} does not exist: build the package (pkg/) before the e2e tests`);
      }
      collector = await startCollector();
      worker = await startWorkerd({
        modules: [{ name: 'worker.mjs', path: WORKER, type: 'esModule' }, ...modulesFromDir(PKG_DIR, 'pkg/')],
        bindings: { CONNECTION_STRING: connectionStringFor(collector.url), ECHO_URL: `${collector.url}/echo` },
        compatibilityFlags,
      });
    });
    after(async () => {
      if (failed) worker?.printOutput(`workerd output (${label})`);
      await worker?.close();
      await collector?.close();
    });
    beforeEach(() => collector?.reset());

    /** Runs a test body; prints workerd's output if it fails. */
    const run = (fn) => async () => {
      try {
        await fn();
      } catch (e) {
        failed = true;
        throw e;
      }
    };

    test('loading the worker (package imported and instrument() called at module scope) sends nothing', run(async () => {
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(collector.requests.length, 0, 'no request before the first incoming request');
    }));

    test('the scenario continues an incoming traceparent', run(async () => {
      const response = await fetch(`${worker.url}/scenario`, { headers: { traceparent: `00-${TRACE}-${PARENT}-01` } });
      assert.equal(response.status, 200, await response.clone().text());
      const result = await response.json();
      assert.equal(result.traceId, TRACE, 'the server span continues the incoming trace');
      assert.notEqual(result.serverSpanId, PARENT);
      await waitForTrace(collector, result.traceId);
      checkTrace(collector, result, {
        requestName: /^GET \/scenario$/,
        requestUrl: `${worker.url}/scenario`,
        requestParentId: PARENT,
      });
    }));

    test('the scenario without traceparent starts a new trace', run(async () => {
      const response = await fetch(`${worker.url}/scenario`);
      assert.equal(response.status, 200, await response.clone().text());
      const result = await response.json();
      assert.notEqual(result.traceId, TRACE);
      await waitForTrace(collector, result.traceId);
      checkTrace(collector, result, { requestName: /^GET \/scenario$/, requestUrl: `${worker.url}/scenario` });
    }));

    test('a malformed incoming traceparent starts a new trace and is counted', run(async () => {
      const response = await fetch(`${worker.url}/scenario`, { headers: { traceparent: '00-garbage-garbage-01' } });
      assert.equal(response.status, 200, await response.clone().text());
      const result = await response.json();
      assert.match(result.traceId, /^[0-9a-f]{32}$/);
      assert.ok(result.diagnostics.invalidInputs >= 1, `invalidInputs: ${JSON.stringify(result.diagnostics)}`);
      await waitForTrace(collector, result.traceId);
      checkTrace(collector, result, { requestName: /^GET \/scenario$/, requestUrl: `${worker.url}/scenario` });
    }));

    test('the response status ends the server span', run(async () => {
      const trace = TRACE.slice(0, 31) + '5';
      const response = await fetch(`${worker.url}/status?code=503`, { headers: { traceparent: `00-${trace}-${PARENT}-01` } });
      assert.equal(response.status, 503);
      await response.arrayBuffer();
      await collector.waitFor((c) => traceEnvelopes(c, trace).some((e) => e.data.baseType === 'RequestData'), 10000);
      const request = traceEnvelopes(collector, trace).find((e) => e.data.baseType === 'RequestData');
      assert.equal(request.data.baseData.responseCode, '503');
      assert.equal(request.data.baseData.success, false);
      assertNoInvalid(collector);
    }));

    test('a handler that throws: the error propagates and the span is exported as failed', run(async () => {
      const trace = TRACE.slice(0, 31) + '7';
      const response = await fetch(`${worker.url}/throw`, { headers: { traceparent: `00-${trace}-${PARENT}-01` } });
      assert.equal(response.status, 500, 'workerd answers 500 for an uncaught exception');
      await response.arrayBuffer();
      await collector.waitFor((c) => traceEnvelopes(c, trace).some((e) => e.data.baseType === 'RequestData'), 10000);
      const request = traceEnvelopes(collector, trace).find((e) => e.data.baseType === 'RequestData');
      assert.equal(request.data.baseData.success, false);
      assert.equal(request.tags['ai.operation.parentId'], PARENT);
      assertNoInvalid(collector);
    }));

    test('odd values from worker JS never throw, and are counted', run(async () => {
      const response = await fetch(`${worker.url}/robustness`);
      assert.equal(response.status, 200, await response.clone().text());
      const r = await response.json();
      assert.deepEqual(r.thrown, []);
      assert.equal(r.extracted, null);
      assert.ok(r.after.invalidInputs > r.before.invalidInputs, `invalidInputs moved: ${r.before.invalidInputs} -> ${r.after.invalidInputs}`);
      assert.ok(r.after.valuesTruncated > r.before.valuesTruncated, `valuesTruncated moved: ${r.before.valuesTruncated} -> ${r.after.valuesTruncated}`);
      await collector.waitFor((c) => c.envelopes.some((e) => e.data.baseData.properties?.ok === 'yes'), 10000);
      assertNoInvalid(collector);
    }));

    test('concurrent requests keep their traces apart', run(async () => {
      const traces = Array.from({ length: 4 }, (_, i) => `${TRACE.slice(0, 30)}${String(i).padStart(2, '0')}`);
      const results = await Promise.all(
        traces.map(async (trace) => {
          const response = await fetch(`${worker.url}/scenario`, { headers: { traceparent: `00-${trace}-${PARENT}-01` } });
          assert.equal(response.status, 200);
          return response.json();
        }),
      );
      for (const result of results) {
        await waitForTrace(collector, result.traceId);
        checkTrace(collector, result, { requestName: /^GET \/scenario$/, requestUrl: `${worker.url}/scenario`, requestParentId: PARENT });
      }
      assert.deepEqual(results.map((r) => r.traceId), traces);
    }));
  });
}
