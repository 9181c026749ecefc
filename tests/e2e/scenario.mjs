// The end-to-end scenario, the same in every host (Node, browser page; the worker fixture does the
// same through `instrument`), and the checks of what it must have sent.
//
// This module is loaded by Node and by the browser page, so it imports nothing at top level:
// node:assert is loaded only where it exists.

const assert = globalThis.process?.versions?.node ? (await import('node:assert/strict')).default : null;

export const IKEY = '00000000-0000-0000-0000-000000000001';

/** The connection string of a collector at `url`. */
export function connectionStringFor(url, ikey = IKEY) {
  return `InstrumentationKey=${ikey};IngestionEndpoint=${url}`;
}

/**
 * One server span with a traced fetch and an in-process child span, then a flush.
 * `edgecensus` is the imported package entry (node.js or web.js).
 *
 * Both children are started while the server span is the active one (synchronously inside the
 * `withSpan` callback), so they rely on the documented "default parent: the active span" and not
 * on the active span surviving an `await`.
 */
export async function runScenario(edgecensus, { connectionString, echoUrl, serviceName = 'e2e' }) {
  const client = await edgecensus.init({ connectionString, serviceName, exportIntervalMs: 0 });
  let traceId;
  let serverSpanId;
  let echoed;
  let echoStatus;
  const returned = await client.withSpan(
    'GET /checkout',
    async (server) => {
      server.setAttributes({
        'http.method': 'GET',
        'http.url': 'http://shop.example/checkout',
        'http.route': '/checkout',
        'http.status_code': 200,
      });
      ({ traceId, spanId: serverSpanId } = server.spanContext());
      const pending = client.fetch(echoUrl); // a client span, child of `server`
      client.withSpan('compute', (s) => {
        s.setAttribute('items', 3);
      });
      const response = await pending;
      echoStatus = response.status;
      echoed = (await response.json()).headers?.traceparent ?? null;
      return 'done';
    },
    { kind: 'server' },
  );
  const flushed = await client.flush();
  return { traceId, serverSpanId, echoed, echoStatus, echoUrl, returned, flushed, diagnostics: client.diagnostics() };
}

// ---------------------------------------------------------------------------------------------
// Checks (Node only: they use node:assert)
// ---------------------------------------------------------------------------------------------

const TIMESPAN = /^(?:(\d+)\.)?(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A Breeze TimeSpan in milliseconds. */
export function timespanMs(text) {
  const m = TIMESPAN.exec(text);
  if (!m) return NaN;
  const [, d = '0', h, min, s, frac = '0'] = m;
  return ((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Number(s) * 1000 + Number(`0.${frac}`) * 1000;
}

const opId = (e) => e.tags?.['ai.operation.id'];
const data = (e) => e.data?.baseData ?? {};

/** Fails, with a readable account, if the collector refused any envelope. */
export function assertNoInvalid(collector, what = 'every envelope within the Breeze schema and limits') {
  if (!assert) throw new Error('assertNoInvalid runs in Node only');
  assert.ok(collector.invalid.length === 0, `${what}; the collector refused ${collector.invalid.length}:\n${collector.summary()}`);
}

/** The envelopes of one trace. */
export function traceEnvelopes(collector, traceId) {
  return collector.envelopes.filter((e) => opId(e) === traceId);
}

/** Waits until the trace's request and `dependencies` dependencies have arrived. */
export function waitForTrace(collector, traceId, { dependencies = 2, timeoutMs = 10000 } = {}) {
  return collector.waitFor((c) => {
    const mine = traceEnvelopes(c, traceId);
    return mine.filter((e) => e.data?.baseType === 'RequestData').length >= 1 && mine.filter((e) => e.data?.baseType === 'RemoteDependencyData').length >= dependencies;
  }, timeoutMs);
}

function matches(actual, expected) {
  return expected instanceof RegExp ? expected.test(actual) : actual === expected;
}

/**
 * Asserts what the scenario must have sent. `result` is what runScenario (or the worker) returned.
 * `expect` adapts the request side to the host:
 *   requestName (string|RegExp, default 'GET /checkout'), requestUrl (string|RegExp|null to skip,
 *   default 'http://shop.example/checkout'), requestParentId (string: the incoming parent span id;
 *   default: none, a new trace), role ('e2e'), iKey (IKEY), computeName ('compute').
 * Returns {request, fetchDependency, compute} for further checks.
 */
export function checkTrace(collector, result, expect = {}) {
  if (!assert) throw new Error('checkTrace runs in Node only');
  const {
    requestName = 'GET /checkout',
    requestUrl = 'http://shop.example/checkout',
    requestParentId = undefined,
    role = 'e2e',
    iKey = IKEY,
    computeName = 'compute',
  } = expect;
  const context = () => `\n${collector.summary?.() ?? ''}`;

  assertNoInvalid(collector);
  assert.match(result.traceId ?? '', /^[0-9a-f]{32}$/, 'result.traceId');
  assert.notEqual(result.traceId, '0'.repeat(32), 'trace id must not be all zeros');
  assert.match(result.serverSpanId ?? '', /^[0-9a-f]{16}$/, 'result.serverSpanId');

  const mine = traceEnvelopes(collector, result.traceId);
  const requests = mine.filter((e) => e.data.baseType === 'RequestData');
  const dependencies = mine.filter((e) => e.data.baseType === 'RemoteDependencyData');
  assert.equal(requests.length, 1, `exactly one Request envelope for trace ${result.traceId}:${context()}`);
  assert.equal(dependencies.length, 2, `exactly two RemoteDependency envelopes (fetch, ${computeName}) for trace ${result.traceId}:${context()}`);
  const ids = mine.map((e) => data(e).id).filter(Boolean);
  assert.equal(new Set(ids).size, ids.length, `no envelope sent twice:${context()}`);

  // Common to every envelope.
  for (const e of mine) {
    const label = `${e.data.baseType} ${JSON.stringify(data(e).name)}`;
    assert.equal(e.iKey, iKey, `${label}: iKey`);
    assert.equal(e.tags['ai.cloud.role'], role, `${label}: ai.cloud.role`);
    assert.equal(typeof e.tags['ai.internal.sdkVersion'], 'string', `${label}: ai.internal.sdkVersion`);
    assert.ok(e.tags['ai.internal.sdkVersion'].length > 0, `${label}: ai.internal.sdkVersion non-empty`);
    assert.ok(Math.abs(Date.parse(e.time) - Date.now()) < 10 * 60_000, `${label}: time ${e.time} is about now`);
    if (data(e).duration !== undefined) {
      const ms = timespanMs(data(e).duration);
      assert.ok(ms >= 0 && ms < 60_000, `${label}: duration ${data(e).duration} well-formed and under a minute`);
    }
  }

  // The server span: a Request.
  const request = requests[0];
  const rd = data(request);
  assert.equal(request.name.split('.').pop(), 'Request', 'Request envelope name');
  assert.equal(rd.id, result.serverSpanId, 'Request id is the server span id');
  assert.ok(matches(rd.name, requestName), `Request name ${JSON.stringify(rd.name)} should be ${requestName}`);
  if (requestUrl !== null) assert.ok(matches(rd.url, requestUrl), `Request url ${JSON.stringify(rd.url)} should be ${requestUrl}`);
  assert.equal(rd.responseCode, '200', 'Request responseCode');
  assert.equal(rd.success, true, 'Request success');
  if (requestParentId === undefined) {
    assert.equal(request.tags['ai.operation.parentId'], undefined, 'a new trace: the Request has no parent');
  } else {
    assert.equal(request.tags['ai.operation.parentId'], requestParentId, 'the Request continues the incoming parent span');
  }

  // The traced fetch: an HTTP RemoteDependency, child of the server span.
  const echo = new URL(result.echoUrl);
  const fetchDependency = dependencies.find((e) => data(e).name !== computeName);
  const fd = data(fetchDependency ?? {});
  assert.ok(fetchDependency, `a dependency for the fetch:${context()}`);
  assert.equal(fetchDependency.name.split('.').pop(), 'RemoteDependency');
  assert.equal(fetchDependency.tags['ai.operation.parentId'], result.serverSpanId, 'fetch dependency parent is the server span');
  assert.equal(fd.name, `GET ${echo.pathname}`, 'fetch dependency name');
  assert.equal(fd.target, echo.host, 'fetch dependency target is host:port');
  assert.equal(fd.resultCode, '200', 'fetch dependency resultCode');
  assert.equal(fd.success, true, 'fetch dependency success');
  assert.match(fd.type ?? '', /^http$/i, 'fetch dependency type');
  assert.equal(fd.data, result.echoUrl, 'fetch dependency data is the URL');
  assert.match(fd.id ?? '', /^[0-9a-f]{16}$/, 'fetch dependency id is a span id');
  assert.notEqual(fd.id, result.serverSpanId);

  // What the echo saw: the traceparent of the fetch span.
  const tp = TRACEPARENT.exec(result.echoed ?? '');
  assert.ok(tp, `the echo saw a W3C traceparent, got ${JSON.stringify(result.echoed)}`);
  assert.equal(tp[1], result.traceId, 'echoed traceparent: same trace id');
  assert.equal(tp[2], fd.id, 'echoed traceparent: parent is the fetch dependency span');
  assert.equal(Number.parseInt(tp[3], 16) & 1, 1, 'echoed traceparent: sampled');

  // The in-process child.
  const compute = dependencies.find((e) => data(e).name === computeName);
  const cd = data(compute ?? {});
  assert.ok(compute, `a dependency named ${computeName}:${context()}`);
  assert.equal(compute.tags['ai.operation.parentId'], result.serverSpanId, `${computeName} parent is the server span`);
  assert.match(cd.type ?? '', /^inproc$/i, `${computeName} type is InProc`);
  assert.deepEqual(cd.properties, { items: '3' }, `${computeName} properties`);
  assert.equal(cd.success, true, `${computeName} success`);
  assert.notEqual(cd.id, fd.id);

  // Children inside their parent, in time (1 ms of slack for clock granularity).
  const start = (e) => Date.parse(e.time);
  const end = (e) => start(e) + timespanMs(data(e).duration);
  for (const child of [fetchDependency, compute]) {
    assert.ok(start(child) >= start(request) - 1, `${data(child).name} starts after the request`);
    assert.ok(end(child) <= end(request) + 1, `${data(child).name} ends before the request`);
  }
  return { request, fetchDependency, compute };
}

/** Checks of the scenario's own result (flush and diagnostics), for Node and browser. */
export function checkScenarioResult(result) {
  if (!assert) throw new Error('checkScenarioResult runs in Node only');
  assert.equal(result.returned, 'done', 'withSpan returns what the async callback resolved to');
  assert.equal(result.echoStatus, 200, 'the traced fetch returned the real response');
  const f = result.flushed;
  assert.ok(f && f.sent >= 3, `flush sent the 3 items: ${JSON.stringify(f)}`);
  assert.equal(f.accepted, f.sent, `flush: all accepted: ${JSON.stringify(f)}`);
  assert.equal(f.rejected, 0, 'flush: none rejected');
  const d = result.diagnostics;
  assert.ok(d.spansStarted >= 3 && d.spansEnded >= 3, `diagnostics count the spans: ${JSON.stringify(d)}`);
  assert.ok(d.itemsAccepted >= 3, `diagnostics.itemsAccepted: ${JSON.stringify(d)}`);
  assert.equal(d.itemsRejected, 0, 'diagnostics.itemsRejected');
  assert.equal(d.requestsFailed, 0, `diagnostics.requestsFailed (lastError: ${d.lastError})`);
}
