// The edgecensus package in Node (pkg/node.js) against a real collector.
// Run: cd tests && node --test e2e/node.test.mjs   (needs the built package in ../pkg)
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startCollector } from '../../tools/collector.mjs';
import { runScenario, checkTrace, assertNoInvalid, checkScenarioResult, connectionStringFor, waitForTrace, IKEY } from './scenario.mjs';

const PKG_ENTRY = new URL('../../pkg/node.js', import.meta.url);

async function loadPackage() {
  if (!fs.existsSync(fileURLToPath(PKG_ENTRY))) {
    throw new Error(`${fileURLToPath(PKG_ENTRY)} does not exist: build the package (pkg/) before the e2e tests`);
  }
  return import(PKG_ENTRY.href);
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const TRACEPARENT_RE = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

describe('edgecensus in Node', { timeout: 50000 }, () => {
  let edgecensus;
  let collector;
  const clients = [];

  /** init() with the collector's connection string; shut down after the suite. */
  async function newClient(config = {}) {
    const client = await edgecensus.init({ connectionString: connectionStringFor(collector.url), serviceName: 'e2e', exportIntervalMs: 0, ...config });
    clients.push(client);
    return client;
  }

  before(async () => {
    edgecensus = await loadPackage();
    collector = await startCollector();
  });
  after(async () => {
    for (const c of clients) await c.shutdown().catch(() => {});
    await collector?.close();
  });
  beforeEach(() => {
    collector.reset();
    collector.respondWith(null);
  });

  test('exports init and instrument', () => {
    assert.equal(typeof edgecensus.init, 'function');
    assert.equal(typeof edgecensus.instrument, 'function');
  });

  test('the scenario: request, traced fetch and in-process span arrive as one trace', async () => {
    const result = await runScenario(edgecensus, { connectionString: connectionStringFor(collector.url), echoUrl: `${collector.url}/echo` });
    await waitForTrace(collector, result.traceId);
    checkScenarioResult(result);
    checkTrace(collector, result);
  });

  test('telemetry goes as JSON envelopes POSTed to /v2.1/track', async () => {
    const client = await newClient();
    client.startSpan('one').end();
    await client.flush();
    const track = collector.trackRequests;
    assert.ok(track.length >= 1, collector.summary());
    for (const r of track) {
      assert.equal(r.method, 'POST');
      assert.equal(r.path, '/v2.1/track');
      assert.match(r.headers['content-type'] ?? '', /json/);
    }
  });

  test('client.fetch keeps the request (URL, Request, init) and adds traceparent', async () => {
    const client = await newClient();
    const echo = `${collector.url}/echo`;
    await client.withSpan('fetches', async () => {
      let r = await client.fetch(new URL(echo + '?via=url'));
      let body = await r.json();
      assert.match(body.headers.traceparent, TRACEPARENT_RE);
      assert.equal(body.path, '/echo?via=url');

      r = await client.fetch(echo, { method: 'POST', body: 'hello', headers: { 'x-test': 'kept' } });
      body = await r.json();
      assert.equal(body.method, 'POST');
      assert.equal(body.body, 'hello');
      assert.equal(body.headers['x-test'], 'kept');
      assert.match(body.headers.traceparent, TRACEPARENT_RE);

      r = await client.fetch(new Request(echo, { method: 'PUT', body: 'from a Request', headers: { 'x-req': 'yes' } }));
      body = await r.json();
      assert.equal(body.method, 'PUT');
      assert.equal(body.body, 'from a Request');
      assert.equal(body.headers['x-req'], 'yes');
      assert.match(body.headers.traceparent, TRACEPARENT_RE);

      r = await client.fetch(`${collector.url}/no-such-thing`);
      assert.equal(r.status, 404);
    });
    await client.flush();
    assertNoInvalid(collector);
    const deps = collector.envelopes.filter((e) => e.data.baseType === 'RemoteDependencyData');
    assert.ok(deps.some((e) => e.data.baseData.name === 'POST /echo'), collector.summary());
    assert.ok(deps.some((e) => e.data.baseData.name === 'PUT /echo'), collector.summary());
    const missing = deps.find((e) => e.data.baseData.name === 'GET /no-such-thing');
    assert.ok(missing, collector.summary());
    assert.equal(missing.data.baseData.resultCode, '404');
    assert.equal(missing.data.baseData.success, false);
  });

  test('client.fetch to a closed port rejects like fetch, and the dependency failed', async () => {
    const client = await newClient();
    const dead = await startCollector();
    const url = `${dead.url}/gone`;
    await dead.close();
    await assert.rejects(client.fetch(url), TypeError);
    await client.flush();
    const dep = collector.envelopes.find((e) => e.data.baseData.name === 'GET /gone');
    assert.ok(dep, collector.summary());
    assert.equal(dep.data.baseData.success, false);
    assertNoInvalid(collector);
  });

  test('continues an incoming traceparent (extract + parent)', async () => {
    const client = await newClient();
    const parent = client.extract({ traceparent: `00-${TRACE}-${PARENT}-01` });
    assert.ok(parent, 'a valid traceparent is extracted');
    assert.equal(parent.traceId, TRACE);
    assert.equal(parent.spanId, PARENT);
    assert.equal(parent.traceFlags & 1, 1);
    const span = client.startSpan('continued', { kind: 'server', parent });
    assert.equal(span.spanContext().traceId, TRACE);
    assert.notEqual(span.spanContext().spanId, PARENT);
    span.end();
    await client.flush();
    const [request] = collector.envelopes.filter((e) => e.tags['ai.operation.id'] === TRACE);
    assert.ok(request, collector.summary());
    assert.equal(request.data.baseType, 'RequestData');
    assert.equal(request.tags['ai.operation.parentId'], PARENT);
  });

  test('extract reads Headers and arrays, inject writes a traceparent', async () => {
    const client = await newClient();
    const fromHeaders = client.extract(new Headers({ traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'k=v' }));
    assert.equal(fromHeaders?.traceId, TRACE);
    assert.equal(fromHeaders?.traceState, 'k=v');
    const fromArray = client.extract({ traceparent: [`00-${TRACE}-${PARENT}-00`] });
    assert.equal(fromArray?.traceId, TRACE);
    assert.equal(fromArray.traceFlags & 1, 0);

    const span = client.startSpan('outgoing', { kind: 'client' });
    const carrier = {};
    client.inject(carrier, span);
    assert.match(carrier.traceparent, TRACEPARENT_RE);
    assert.equal(carrier.traceparent.split('-')[1], span.spanContext().traceId);
    assert.equal(carrier.traceparent.split('-')[2], span.spanContext().spanId);
    const headers = new Headers();
    client.inject(headers, span.spanContext());
    assert.equal(headers.get('traceparent'), carrier.traceparent);
    client.withSpan('active', (active) => {
      const c = {};
      client.inject(c); // default: the active span
      assert.equal(c.traceparent.split('-')[2], active.spanContext().spanId);
    });
    span.end();
  });

  test('withSpan: active span, return value, errors rethrown and recorded', async () => {
    const client = await newClient();
    assert.equal(client.activeSpan(), undefined);
    const value = client.withSpan('outer', (outer) => {
      assert.equal(client.activeSpan()?.spanContext().spanId, outer.spanContext().spanId);
      return client.withSpan('inner', (inner) => {
        assert.equal(client.activeSpan()?.spanContext().spanId, inner.spanContext().spanId);
        assert.equal(inner.spanContext().traceId, outer.spanContext().traceId);
        return 42;
      });
    });
    assert.equal(value, 42);
    assert.equal(client.activeSpan(), undefined, 'the active span is restored');

    assert.throws(() => client.withSpan('sync-boom', () => { throw new TypeError('sync boom'); }), /sync boom/);
    await assert.rejects(client.withSpan('async-boom', async () => { throw new Error('async boom'); }), /async boom/);
    await client.flush();
    for (const name of ['sync-boom', 'async-boom']) {
      const e = collector.envelopes.find((x) => x.data.baseData.name === name);
      assert.ok(e, `${name} exported (ended although fn threw):\n${collector.summary()}`);
      // Not spelled out in index.d.ts, but what core.js does: the error is recorded on the span.
      assert.equal(e.data.baseData.success, false, `${name} is exported as failed`);
    }
    assertNoInvalid(collector);
  });

  test('new root with parent: null, links and events export valid envelopes', async () => {
    const client = await newClient();
    await client.withSpan('root', async (root) => {
      const detached = client.startSpan('detached', { parent: null });
      assert.notEqual(detached.spanContext().traceId, root.spanContext().traceId);
      detached.addLink(root.spanContext(), { why: 'test' });
      detached.addEvent('something happened', { n: 1, ok: true });
      detached.setStatus('error', 'it broke');
      detached.end();
    });
    await client.flush();
    assertNoInvalid(collector);
    const detached = collector.envelopes.find((e) => e.data.baseData.name === 'detached');
    assert.ok(detached, collector.summary());
    assert.equal(detached.data.baseData.success, false);
    assert.equal(detached.tags['ai.operation.parentId'], undefined);
    assert.ok(collector.envelopes.some((e) => e.data.baseType === 'MessageData' && e.data.baseData.message === 'something happened'), 'the event became a Message');
  });

  test('sampler "never": nothing exported, context still propagates', async () => {
    const client = await newClient({ sampler: 'never' });
    const before = client.diagnostics().spansSampledOut;
    const span = client.startSpan('unsampled');
    assert.equal(span.isRecording(), false);
    assert.match(span.spanContext().traceId, /^[0-9a-f]{32}$/);
    const carrier = {};
    client.inject(carrier, span);
    assert.match(carrier.traceparent, /-00$/);
    span.end();
    await client.flush();
    assert.equal(collector.envelopes.length, 0);
    assert.ok(client.diagnostics().spansSampledOut > before);
  });

  test('odd values from JS never throw, and are counted', async () => {
    const client = await newClient();
    const before = client.diagnostics();
    const span = client.startSpan(undefined);
    span.setAttribute({}, NaN);
    span.setAttribute('k', undefined);
    span.setAttribute('nan', NaN);
    span.setAttribute('inf', Infinity);
    span.setAttribute('obj', { a: 1 });
    span.setAttribute('arr', [1, 2]);
    span.setAttribute('sym', Symbol('s'));
    span.setAttribute('big', 10n);
    span.setAttribute(null, 'v');
    span.setAttribute('', 'empty key');
    span.setAttributes(null);
    span.setAttributes(undefined);
    span.setAttributes('not an object');
    span.setAttributes({ ok: 'yes', bad: () => 1 });
    span.addEvent(undefined);
    span.addEvent('e', 'not attributes', 'not a time');
    span.addLink(undefined);
    span.addLink({ traceId: 'zz', spanId: 'nope' });
    span.setStatus('bogus');
    span.setStatus(undefined, 42);
    span.recordException(undefined);
    span.recordException('a string');
    span.recordException({ weird: true });
    span.recordException(new RangeError('real error'));
    span.updateName(undefined);
    span.updateName({});
    span.end('not a time');
    span.end(); // a second end is ignored
    span.setAttribute('after', 'end'); // after end: ignored

    assert.doesNotThrow(() => client.startSpan(null, null).end());
    assert.doesNotThrow(() => client.withSpan('no function'));
    assert.doesNotThrow(() => client.withSpan(undefined, 'not a function', 'not options'));
    assert.doesNotThrow(() => client.startSpan('opts', { kind: 'bogus', parent: 'nonsense', attributes: 7, links: 'x', startTime: 'x' }).end());
    assert.doesNotThrow(() => client.startSpan('weird time', { startTime: Number.NaN }).end(Number.NaN));
    // Invalid Dates are "now" too: a time that is no time must not spoil the batch it is in.
    const invalidDate = client.startSpan('invalid dates', { startTime: new Date('not a date') });
    invalidDate.addEvent('at an invalid date', { k: 'v' }, new Date(Number.NaN));
    invalidDate.end(new Date(Number.NaN));
    client.startSpan('after the invalid dates').end();
    assert.doesNotThrow(() => client.inject(undefined));
    assert.doesNotThrow(() => client.inject({}, 'not a span'));
    assert.equal(client.extract({ traceparent: 'garbage' }), null);
    assert.equal(client.extract({ traceparent: `00-${'0'.repeat(32)}-${PARENT}-01` }), null, 'all-zero trace id is invalid');
    assert.equal(client.extract({ traceparent: `ff-${TRACE}-${PARENT}-01` }), null, 'version ff is invalid');
    assert.equal(client.extract({}), null);
    assert.doesNotThrow(() => client.extract(undefined));
    assert.doesNotThrow(() => client.extract(null));
    assert.doesNotThrow(() => client.extract(42));

    await client.flush();
    const after = client.diagnostics();
    assert.ok(after.invalidInputs > before.invalidInputs, `invalidInputs moved: ${before.invalidInputs} -> ${after.invalidInputs}`);
    assert.ok(after.attributesDropped + after.invalidInputs > before.attributesDropped + before.invalidInputs);
    assertNoInvalid(collector);
    const exported = collector.envelopes.find((e) => e.data.baseData.properties?.ok === 'yes');
    assert.ok(exported, `the span with odd inputs was exported:\n${collector.summary()}`);
    assert.equal(exported.data.baseData.properties.after, undefined, 'attributes after end are ignored');
    for (const name of ['invalid dates', 'after the invalid dates']) {
      assert.ok(collector.envelopes.some((e) => e.data.baseData.name === name), `${name} was exported:\n${collector.summary()}`);
    }
  });

  test('huge strings (1 MB) are truncated to what the service accepts', async () => {
    const client = await newClient();
    const before = client.diagnostics();
    const mb = 'x'.repeat(1 << 20);
    const span = client.startSpan(mb);
    span.setAttribute('big', mb);
    span.setAttribute('k'.repeat(1000), 'long key');
    span.setAttributes({ big2: 'é'.repeat(1 << 20) });
    span.addEvent(mb, { v: mb });
    span.setStatus('error', mb);
    span.end();
    const server = client.startSpan('huge url', { kind: 'server', attributes: { 'http.method': 'GET', 'http.url': `http://shop.example/${'p'.repeat(1 << 20)}`, 'http.status_code': 200 } });
    server.end();
    const flushed = await client.flush();
    const after = client.diagnostics();
    assert.ok(after.valuesTruncated > before.valuesTruncated, `valuesTruncated moved: ${before.valuesTruncated} -> ${after.valuesTruncated}`);
    assertNoInvalid(collector);
    assert.equal(flushed.rejected, 0);
    const big = collector.envelopes.find((e) => e.data.baseData.properties?.big !== undefined);
    assert.ok(big, collector.summary());
    assert.ok(big.data.baseData.properties.big.length <= 8192);
    assert.ok(big.data.baseData.properties.big.length >= 1024, 'truncated, not dropped');
    assert.ok(collector.envelopes.some((e) => e.data.baseType === 'RequestData'), 'the request with a huge url arrived');
  });

  test('attribute limits are applied and counted', async () => {
    const client = await newClient({ limits: { attributeCount: 2, attributeValueLength: 10 } });
    const before = client.diagnostics();
    const span = client.startSpan('limited');
    span.setAttributes({ a: '1', b: '2', c: '3' });
    span.setAttribute('a', 'a much longer value than ten');
    span.end();
    await client.flush();
    const after = client.diagnostics();
    assert.ok(after.attributesDropped > before.attributesDropped, 'attributesDropped moved');
    assert.ok(after.valuesTruncated > before.valuesTruncated, 'valuesTruncated moved');
    const e = collector.envelopes.find((x) => x.data.baseData.name === 'limited');
    assert.ok(e, collector.summary());
    assert.equal(Object.keys(e.data.baseData.properties).length, 2);
    assert.ok(e.data.baseData.properties.a.length <= 10);
  });

  test('invalid config rejects with an Error', async () => {
    await assert.rejects(edgecensus.init({ connectionString: 'nonsense' }), (e) => {
      assert.ok(e instanceof Error, `an Error, got ${Object.prototype.toString.call(e)}`);
      assert.match(e.message, /connection ?string/i);
      return true;
    });
    await assert.rejects(edgecensus.init({ connectionString: 'InstrumentationKey=;IngestionEndpoint=' }), Error);
    await assert.rejects(edgecensus.init({ connectionString: connectionStringFor(collector.url), sampler: { type: 'probability', probability: 7 } }), Error);
    // Odd configs settle (resolve or reject) and never throw synchronously.
    for (const config of [undefined, null, 42, 'str', {}]) {
      let promise;
      assert.doesNotThrow(() => {
        promise = edgecensus.init(config);
      }, `init(${JSON.stringify(config)})`);
      assert.ok(promise && typeof promise.then === 'function', 'init returns a promise');
      const client = await promise.catch((e) => {
        assert.ok(e instanceof Error);
        return null;
      });
      if (client) await client.shutdown();
    }
  });

  test('flush never rejects: unreachable endpoint is counted as failed', async () => {
    const dead = await startCollector();
    const url = dead.url;
    await dead.close();
    const client = await newClient({ connectionString: connectionStringFor(url) });
    client.startSpan('lost').end();
    const result = await client.flush();
    assert.equal(result.accepted, 0);
    const d = client.diagnostics();
    assert.ok(d.requestsFailed >= 1, `requestsFailed: ${JSON.stringify(d)}`);
    assert.equal(typeof d.lastError, 'string');
  });

  test('partial acceptance (206) is counted as rejected items', async () => {
    const client = await newClient();
    collector.respondWith(({ items }) => ({
      status: 206,
      body: { itemsReceived: items.length, itemsAccepted: items.length - 1, errors: [{ index: 0, statusCode: 400, message: 'refused for the test' }] },
    }));
    client.startSpan('a').end();
    client.startSpan('b').end();
    const result = await client.flush();
    assert.deepEqual([result.sent, result.accepted, result.rejected], [2, 1, 1]);
    const d = client.diagnostics();
    assert.ok(d.itemsRejected >= 1);
    assert.match(d.lastError ?? '', /refused for the test/);
  });

  test('shutdown flushes and makes later calls no-ops', async () => {
    const client = await edgecensus.init({ connectionString: connectionStringFor(collector.url), serviceName: 'e2e', exportIntervalMs: 0 });
    client.startSpan('before shutdown').end();
    const result = await client.shutdown();
    assert.equal(result.accepted, 1);
    assert.ok(collector.envelopes.some((e) => e.data.baseData.name === 'before shutdown'));
    assert.doesNotThrow(() => client.startSpan('after shutdown').end());
    const again = await client.flush();
    assert.equal(again.sent, 0);
    await client.shutdown();
    assert.ok(!collector.envelopes.some((e) => e.data.baseData.name === 'after shutdown'));
  });

  test('timed export with exportIntervalMs sends without flush', async () => {
    const client = await newClient({ exportIntervalMs: 100 });
    client.startSpan('timed').end();
    await collector.waitFor((c) => c.envelopes.some((e) => e.data.baseData.name === 'timed'), 5000);
    await client.shutdown(); // stops the timer so the test process can exit
  });

  test('the instrumentation key and role come from config', async () => {
    const client = await newClient({ serviceName: 'checkout-svc', serviceInstance: 'node-1' });
    client.startSpan('tagged').end();
    await client.flush();
    const e = collector.envelopes.find((x) => x.data.baseData.name === 'tagged');
    assert.ok(e, collector.summary());
    assert.equal(e.iKey, IKEY);
    assert.equal(e.tags['ai.cloud.role'], 'checkout-svc');
    assert.equal(e.tags['ai.cloud.roleInstance'], 'node-1');
  });
});
