// The OTLP/HTTP exporter of the edgecensus package, end to end, against a decoder it did not write:
// tests/otlp/server.py decodes every export with the official OTLP protobuf definitions
// (opentelemetry-proto) and Google's protobuf json_format, refusing any unknown field or wrong
// type, and the tests check that ids, times, values and attributes came through — in Node, in
// headless Chromium (a page on another origin: CORS) and in workerd (with and without
// nodejs_compat), alone and side by side with Azure Monitor (tools/collector.mjs).
// Every expectation is computed from what the scenario did (fixtures/otlp-scenario.mjs, checks in
// ../otlp/expect.mjs). The checks of one run are subtests named after what they check (transport,
// resource, spans, events, links, status, logs, exceptions, metrics...), so that one problem does
// not hide the others.
// Run: cd tests && node --test e2e/otlp.test.mjs   (needs the built package in ../pkg and
// tests/otlp/requirements.txt installed for python3, or $OTLP_PYTHON)
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startCollector } from '../../tools/collector.mjs';
import { withPage } from '../support/browser.mjs';
import { startWorkerd, modulesFromDir } from '../support/workerd.mjs';
import { startDecoder, describeReceived } from '../otlp/decoder.mjs';
import { checkOtlp, checkAzure, expectedAzure, expectedAttributes, exportRequests, flatten, aggregate } from '../otlp/expect.mjs';
import { connectionStringFor } from './scenario.mjs';
import * as S from './fixtures/otlp-scenario.mjs';

const PKG_DIR = fileURLToPath(new URL('../../pkg/', import.meta.url));
const E2E_DIR = fileURLToPath(new URL('./', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

function requirePackage(files) {
  for (const f of files) {
    if (!fs.existsSync(PKG_DIR + f)) throw new Error(`${PKG_DIR}${f} does not exist: build the package (pkg/) before the e2e tests`);
  }
}

/** Spans, logs and metrics (one item per view with data) the scenario exports in phase 1. */
const PHASE1_SPANS = 6;
const PHASE1_LOGS = S.LOGS.length + 2 + 3; // logger, client.log, in withSpan; 3 exceptions
const METRICS = [...aggregate(S.PHASE1).values()].filter((v) => v.series.size > 0).length;

/** A port nothing listens on (for an OTLP endpoint that is down). */
async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** The partial-success script: each signal's first export is answered 200 with some items refused. */
const PARTIAL = [
  { path: '/v1/traces', partialSuccess: { rejected: 2, errorMessage: 'two spans refused' } },
  { path: '/v1/logs', partialSuccess: { rejected: 1, errorMessage: 'one log refused' } },
  { path: '/v1/metrics', partialSuccess: { rejected: 3, errorMessage: 'three points refused' } },
];
/** Items the package must count as rejected: rejected data points count against whole metrics. */
const PARTIAL_REJECTED = 2 + 1 + Math.min(3, METRICS);

/** The decoder is shared by the whole file (one Python process), reset before each test. */
let decoder;
before(async () => {
  decoder = await startDecoder();
});
after(async () => {
  await decoder?.close();
});

// =============================================================================================
// The decoder itself: it must refuse what a real OTLP receiver refuses, or the checks prove nothing
// =============================================================================================

describe('the OTLP decoder (tests/otlp/server.py) refuses what is not OTLP/JSON', { timeout: 20000 }, () => {
  const TRACE = '0af7651916cd43dd8448eb211c80319c';
  const SPAN = 'b7ad6b7169203331';
  /** A valid ExportTraceServiceRequest in OTLP/JSON, with `edit(span)` applied to its one span. */
  function traces(edit = () => {}) {
    const span = { traceId: TRACE, spanId: SPAN, name: 'op', kind: 2, startTimeUnixNano: '1795609259000000001', endTimeUnixNano: '1795609259000000009', attributes: [{ key: 'k', value: { stringValue: 'v' } }], status: { code: 0 } };
    edit(span);
    return { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 's' } }] }, scopeSpans: [{ scope: { name: 'x' }, spans: [span] }] }] };
  }
  function histogram(edit) {
    const point = { startTimeUnixNano: '1', timeUnixNano: '2', count: '3', sum: 6, bucketCounts: ['1', '2'], explicitBounds: [5], min: 1, max: 4 };
    edit(point);
    return { resourceMetrics: [{ resource: {}, scopeMetrics: [{ scope: {}, metrics: [{ name: 'h', histogram: { dataPoints: [point], aggregationTemporality: 2 } }] }] }] };
  }
  async function post(path, body, { headers = {}, raw } = {}) {
    const response = await fetch(`${decoder.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw ?? JSON.stringify(body) });
    return { status: response.status, body: await response.text() };
  }
  /** Posts, and returns the decoder's errors about that request. */
  async function errorsFor(path, body, options) {
    await decoder.reset();
    const answer = await post(path, body, options);
    const received = await decoder.received();
    return { answer, errors: received.errors, received };
  }

  test('a valid export decodes with no error, gzipped or not, and is answered 200 {}', async () => {
    for (const gzip of [false, true]) {
      const json = JSON.stringify(traces());
      const { answer, errors, received } = await errorsFor('/v1/traces', null, gzip ? { raw: zlib.gzipSync(json), headers: { 'content-encoding': 'gzip' } } : { raw: json });
      assert.deepEqual(errors, [], describeReceived(received));
      assert.deepEqual([answer.status, JSON.parse(answer.body)], [200, {}]);
      const span = received.traces[0].message.resourceSpans[0].scopeSpans[0].spans[0];
      assert.equal(Buffer.from(span.traceId, 'base64').toString('hex'), TRACE, 'hex ids read as bytes (MessageToDict gives them back in base64)');
      assert.equal(span.kind, 'SPAN_KIND_SERVER');
      assert.equal(span.startTimeUnixNano, '1795609259000000001', 'fixed64 exact');
    }
  });

  const cases = [
    ['an unknown (misspelt) field', '/v1/traces', traces((s) => (s.nmae = 'x')), 'decode', /no field named "nmae"/],
    ['a value of the wrong type', '/v1/traces', traces((s) => (s.droppedAttributesCount = 'many')), 'decode', /droppedAttributesCount/],
    ['a proto (snake_case) field name', '/v1/traces', traces((s) => { s.start_time_unix_nano = s.startTimeUnixNano; delete s.startTimeUnixNano; }), 'otlp-json', /lowerCamelCase/],
    ['an enum by name', '/v1/traces', traces((s) => (s.kind = 'SPAN_KIND_SERVER')), 'otlp-json', /enum values are integers/],
    ['an unknown enum number', '/v1/traces', traces((s) => (s.kind = 9)), 'otlp-json', /not a value of/],
    ['a base64 id (the plain protobuf mapping)', '/v1/traces', traces((s) => (s.traceId = Buffer.from(TRACE, 'hex').toString('base64'))), 'otlp-json', /32 hex digits/],
    ['a short span id', '/v1/traces', traces((s) => (s.spanId = 'abcd')), 'otlp-json', /16 hex digits/],
    ['an all-zero trace id', '/v1/traces', traces((s) => (s.traceId = '0'.repeat(32))), 'data-model', /all zeros/],
    ['an attribute key twice', '/v1/traces', traces((s) => s.attributes.push({ key: 'k', value: { intValue: '1' } })), 'data-model', /appears twice/],
    ['an attribute without a value', '/v1/traces', traces((s) => s.attributes.push({ key: 'empty', value: {} })), 'data-model', /no value/],
    ['an end before the start', '/v1/traces', traces((s) => (s.endTimeUnixNano = '1')), 'data-model', /ends before it starts/],
    ['more buckets than bounds + 1', '/v1/metrics', histogram((p) => (p.bucketCounts = ['1', '1', '1'])), 'data-model', /3 bucketCounts for 1 explicitBounds/],
    ['buckets that do not add up to count', '/v1/metrics', histogram((p) => (p.count = '4')), 'data-model', /add up to 3, count is 4/],
    ['a log span id without a trace id', '/v1/logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: '1', spanId: SPAN, body: { stringValue: 'x' } }] }] }] }, 'data-model', /spanId without a traceId/],
  ];
  test('wrong names, types, enums, ids and broken data model rules are all reported', async () => {
    for (const [what, path, body, kind, pattern] of cases) {
      const { errors, received } = await errorsFor(path, body);
      assert.ok(errors.some((e) => e.kind === kind && pattern.test(e.message)), `${what}: a ${kind} error matching ${pattern}:\n${describeReceived(received)}`);
    }
  });

  test('bodies that are not OTLP/JSON are refused with 400', async () => {
    const json = JSON.stringify(traces());
    for (const [what, options, pattern] of [
      ['text/plain', { raw: json, headers: { 'content-type': 'text/plain;charset=UTF-8' } }, /must be sent as application\/json/],
      ['gzip announced, plain body', { raw: json, headers: { 'content-encoding': 'gzip' } }, /does not decompress/],
      ['a NaN literal', { raw: json.replace('"startTimeUnixNano"', '"x":NaN,"startTimeUnixNano"') }, /non-standard literal NaN/],
      ['a key twice in one object', { raw: json.replace('"name":"op"', '"name":"op","name":"op"') }, /twice/],
      ['not JSON', { raw: '{"resourceSpans": [' }, /not JSON/],
    ]) {
      const { answer, errors, received } = await errorsFor('/v1/traces', null, options);
      assert.equal(answer.status, 400, `${what}: 400`);
      assert.ok(errors.some((e) => e.kind === 'decode' && pattern.test(e.message)), `${what}: ${pattern}:\n${describeReceived(received)}`);
      assert.equal(received.traces.length, 0, `${what}: nothing stored`);
    }
  });

  test('scripted answers: partial success as the official response message, statuses, delays; CORS preflights', async () => {
    await decoder.reset();
    await decoder.script({ answers: [{ path: '/v1/logs', partialSuccess: { rejected: 2, errorMessage: 'no' } }, { status: 503, headers: { 'retry-after': '1' } }] });
    const logs = await post('/v1/logs', { resourceLogs: [] });
    assert.deepEqual([logs.status, JSON.parse(logs.body)], [200, { partialSuccess: { rejectedLogRecords: '2', errorMessage: 'no' } }]);
    const first = await post('/v1/traces', traces());
    assert.equal(first.status, 503, 'the next answer in the script');
    const second = await post('/v1/traces', traces());
    assert.equal(second.status, 200, 'then the normal answer');
    const received = await decoder.received();
    assert.equal(received.traces.length, 1, 'a 503 stores nothing (the client sends it again)');
    const preflight = await fetch(`${decoder.url}/v1/traces`, { method: 'OPTIONS', headers: { origin: 'http://page.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'content-type,x-api-key');
  });
});

// =============================================================================================
// Node
// =============================================================================================

describe('OTLP exporter in Node', { timeout: 40000 }, () => {
  let edgecensus;
  before(async () => {
    requirePackage(['node.js', 'edgecensus_bg.wasm']);
    edgecensus = await import(new URL('../../pkg/node.js', import.meta.url).href);
  });

  /** Checks the flush results and diagnostics of a whole runScenario with nothing refused. */
  function checkAccounting(t, run) {
    return t.test('flush results and diagnostics account for every item', () => {
      const [f1, f2] = run.flushes;
      const total = PHASE1_SPANS + PHASE1_LOGS + METRICS;
      assert.deepEqual(f1, { sent: total, accepted: total, rejected: 0, pending: 0 }, 'flush 1: spans, logs and metrics');
      assert.deepEqual(f2, { sent: METRICS, accepted: METRICS, rejected: 0, pending: 0 }, 'flush 2: the metrics again');
      const d = run.diagnostics;
      assert.equal(d.spansStarted, PHASE1_SPANS);
      assert.equal(d.spansEnded, PHASE1_SPANS);
      assert.equal(d.logsRecorded, S.LOGS.length + 2);
      assert.equal(d.exceptionsRecorded, 3);
      assert.equal(d.measurementsRecorded, S.PHASE1.length + S.PHASE2.length);
      assert.equal(d.itemsRejected, 0);
      assert.equal(d.requestsFailed, 0, `requestsFailed (lastError: ${d.lastError})`);
      assert.equal(d.itemsPending, 0);
      assert.deepEqual(Object.entries(d.dropped).filter(([, n]) => n > 0), [], 'nothing dropped');
      // The limits: 2 span attributes, 1 event attribute, 1 link attribute, 2 log properties; 1 event; 1 link.
      assert.deepEqual([d.attributesDropped, d.eventsDropped, d.linksDropped], [6, 1, 1], 'attributesDropped, eventsDropped, linksDropped');
    });
  }

  test('traces, metrics and logs round-trip through the decoder (gzip, API key headers)', async (t) => {
    await decoder.reset();
    const run = await S.runScenario(edgecensus.init, S.otlpConfig(decoder.url));
    // flush() settles once every request is answered: everything is at the decoder now.
    const received = await decoder.received();
    await checkOtlp(t, received, run, {
      metricRounds: 3, // flush, flush, and shutdown's flush
      metricsBetween: [[run.phase1.after, run.phase2.before], [run.phase2.after, Date.now()], [run.phase2.after, Date.now()]],
    });
    await checkAccounting(t, run);
  });

  test('compression "none": plain JSON bodies, the same content', async (t) => {
    await decoder.reset();
    const run = await S.runScenario(edgecensus.init, S.otlpConfig(decoder.url, { compression: 'none' }));
    await checkOtlp(t, await decoder.received(), run, { gzip: false, metricRounds: 3 });
  });

  test('a partial success answer counts the refused items in itemsRejected', async () => {
    await decoder.reset();
    await decoder.script({ answers: PARTIAL });
    const client = await edgecensus.init(S.otlpConfig(decoder.url));
    try {
      S.phase1(client);
      const flushed = await client.flush();
      const d = client.diagnostics();
      const received = await decoder.received();
      assert.deepEqual(received.errors, [], describeReceived(received));
      const scripted = exportRequests(received).filter((r) => r.scripted);
      assert.equal(scripted.length, 3, `each signal's export got its partial success:\n${describeReceived(received)}`);
      const total = PHASE1_SPANS + PHASE1_LOGS + METRICS;
      assert.deepEqual(flushed, { sent: total, accepted: total - PARTIAL_REJECTED, rejected: PARTIAL_REJECTED, pending: 0 }, 'flush result');
      assert.equal(d.itemsRejected, PARTIAL_REJECTED, 'itemsRejected: 2 spans + 1 log + 3 metrics');
      assert.equal(d.itemsAccepted, total - PARTIAL_REJECTED, 'itemsAccepted');
      assert.equal(d.dropped.rejected, PARTIAL_REJECTED, 'dropped.rejected');
      assert.match(d.lastError ?? '', /partial success: (two spans|one log|three points) refused/, 'lastError tells the server\'s message');
    } finally {
      await client.shutdown({ timeoutMs: 2000 });
    }
  });

  test('503 with Retry-After is retried after the delay (each item once); 400 drops the batch and counts it', async () => {
    await decoder.reset();
    await decoder.script({
      answers: [
        { path: '/v1/traces', status: 503, headers: { 'retry-after': '1' }, label: '503 retry-after 1' },
        // Answered 300 ms late, so that it is the last error (the 503 comes at once): lastError
        // keeps only the newest, and the two requests leave together.
        { path: '/v1/logs', status: 400, body: { code: 3, message: 'refused on purpose' }, label: '400', delayMs: 300 },
      ],
    });
    const client = await edgecensus.init(S.otlpConfig(decoder.url));
    try {
      const f1 = S.phase1(client);
      const started = Date.now();
      const flushed = await client.flush({ timeoutMs: 10000 });
      const d = client.diagnostics();
      const received = await decoder.received();
      assert.deepEqual(received.errors, [], describeReceived(received));
      const traces = exportRequests(received).filter((r) => r.signal === 'traces');
      assert.deepEqual(traces.map((r) => r.answered), [503, 200], `traces: refused once, then sent again:\n${describeReceived(received)}`);
      assert.ok(traces[1].at - traces[0].at >= 990, `the retry waited for Retry-After: 1 (${Math.round(traces[1].at - traces[0].at)} ms)`);
      assert.ok(Date.now() - started >= 990);
      const got = flatten(received);
      assert.deepEqual(got.spans.map((x) => x.id).sort(), [f1.root, f1.client, f1.internal, f1.producer, f1.consumer, f1.with].map((x) => x.spanId).sort(), 'every span stored once');
      assert.equal(got.logs.length, 0, 'the logs were refused (400): nothing stored');
      assert.equal(exportRequests(received).filter((r) => r.signal === 'logs').length, 1, 'a 400 is not retried');
      assert.equal(d.itemsRetried, PHASE1_SPANS, 'itemsRetried: the spans, once');
      assert.equal(d.dropped.httpStatus, PHASE1_LOGS, 'dropped.httpStatus: the logs');
      assert.equal(flushed.pending, 0);
      assert.equal(flushed.accepted, PHASE1_SPANS + METRICS, `flush: ${JSON.stringify(flushed)}`);
      assert.match(d.lastError ?? '', /HTTP 400/, 'lastError');
    } finally {
      await client.shutdown({ timeoutMs: 2000 });
    }
  });

  test('Azure Monitor and OTLP at once: both receive everything', async (t) => {
    await decoder.reset();
    const collector = await startCollector();
    t.after(() => collector.close());
    const run = await S.runScenario(edgecensus.init, S.otlpConfig(decoder.url, { connectionString: connectionStringFor(collector.url) }));
    await checkOtlp(t, await decoder.received(), run, { metricRounds: 3 });
    await t.test('Azure: every span, span event, log, exception and metric series', () => {
      checkAzure(collector, expectedAzure(run, { metricExports: 3 }));
    });
    await t.test('flush results count the items of both backends', () => {
      const azure1 = expectedAzure({ phase1: run.phase1 }, { metricExports: 1 }).total;
      const azure2 = expectedAzure(run, { metricExports: 2 }).total - azure1;
      const otlp1 = PHASE1_SPANS + PHASE1_LOGS + METRICS;
      assert.deepEqual(run.flushes[0], { sent: otlp1 + azure1, accepted: otlp1 + azure1, rejected: 0, pending: 0 }, 'flush 1');
      assert.deepEqual(run.flushes[1], { sent: METRICS + azure2, accepted: METRICS + azure2, rejected: 0, pending: 0 }, 'flush 2');
      assert.equal(run.diagnostics.requestsFailed, 0, run.diagnostics.lastError);
    });
  });

  test('OTLP down: Azure still gets everything at once and loses nothing; OTLP gets it all once it is back', async (t) => {
    await decoder.reset();
    const collector = await startCollector();
    t.after(() => collector.close());
    const port = await freePort();
    const client = await edgecensus.init(S.otlpConfig(`http://127.0.0.1:${port}`, { connectionString: connectionStringFor(collector.url) }));
    let revived;
    t.after(async () => {
      await client.shutdown({ timeoutMs: 1000 });
      await revived?.close();
    });
    const f1 = S.phase1(client);
    const started = Date.now();
    const flushing = client.flush({ timeoutMs: 1500 });
    const azureAll = expectedAzure({ phase1: f1 }, { metricExports: 1 });
    await collector.waitFor((c) => c.envelopes.length >= azureAll.total, 1000);
    const promptly = Date.now() - started;
    const flushed = await flushing;
    checkAzure(collector, azureAll, 'Azure while OTLP is down');
    assert.ok(promptly < 1000, `Azure had everything after ${promptly} ms`);
    const otlpItems = PHASE1_SPANS + PHASE1_LOGS + METRICS;
    assert.equal(flushed.pending, otlpItems, `the flush deadline passed with the OTLP items pending: ${JSON.stringify(flushed)}`);
    let d = client.diagnostics();
    assert.deepEqual(Object.entries(d.dropped).filter(([, n]) => n > 0), [], `nothing dropped, on either side: ${JSON.stringify(d.dropped)}`);
    assert.ok(d.requestsFailed >= 3, `the OTLP requests failed (${d.requestsFailed}): ${d.lastError}`);
    assert.equal(d.itemsPending, otlpItems, 'the OTLP items wait for a retry');

    // Phase 2 while OTLP is still down: Azure gets the new metric export at once.
    const f2 = S.phase2(client, f1);
    const again = client.flush({ timeoutMs: 500 });
    const azureBoth = expectedAzure({ phase1: f1, phase2: f2 }, { metricExports: 2 });
    await collector.waitFor((c) => c.envelopes.length >= azureBoth.total, 1000);
    await again;
    checkAzure(collector, azureBoth, 'Azure after phase 2, OTLP still down');

    // OTLP comes back on the same port: the retries bring everything, each item once.
    revived = await startDecoder({ port });
    const final = await client.flush({ timeoutMs: 15000 });
    assert.equal(final.pending, 0, `everything delivered once OTLP is back: ${JSON.stringify(final)}`);
    // Everything, once, as if nothing had happened: the three metric exports (two flushes while
    // down, one after) with their own times and totals.
    await checkOtlp(t, await revived.received(), { phase1: f1, phase2: f2 }, { metricRounds: 3 });
    d = client.diagnostics();
    assert.deepEqual(Object.entries(d.dropped).filter(([, n]) => n > 0), [], `nothing dropped: ${JSON.stringify(d.dropped)}`);
    assert.equal(d.itemsPending, 0);
    // The last flush exported the metrics a third time, to both sides.
    checkAzure(collector, expectedAzure({ phase1: f1, phase2: f2 }, { metricExports: 3 }), 'Azure at the end (nothing sent twice)');
  });

  test('OTLP slow: Azure gets everything while the OTLP answers are held back', async (t) => {
    await decoder.reset();
    const collector = await startCollector();
    t.after(() => collector.close());
    const DELAY = 2500;
    await decoder.script({ default: { delayMs: DELAY, label: 'slow' } });
    const client = await edgecensus.init(S.otlpConfig(decoder.url, { connectionString: connectionStringFor(collector.url) }));
    t.after(() => client.shutdown({ timeoutMs: 1000 }));
    const f1 = S.phase1(client);
    const started = Date.now();
    const flushing = client.flush({ timeoutMs: 10000 });
    const azureAll = expectedAzure({ phase1: f1 }, { metricExports: 1 });
    await collector.waitFor((c) => c.envelopes.length >= azureAll.total, 1000);
    const azureMs = Date.now() - started;
    await decoder.waitFor((r) => exportRequests(r).length >= 3, { timeoutMs: 1000, label: 'the three OTLP requests' });
    const midway = await decoder.received();
    assert.ok(Date.now() - started < DELAY, 'still within the OTLP delay');
    assert.equal(exportRequests(midway).filter((r) => r.answered === undefined).length, 3, `three OTLP requests out, none answered yet:\n${describeReceived(midway)}`);
    const flushed = await flushing;
    const total = PHASE1_SPANS + PHASE1_LOGS + METRICS;
    checkAzure(collector, azureAll, 'Azure');
    assert.ok(azureMs < 1000, `Azure had everything after ${azureMs} ms`);
    assert.ok(Date.now() - started >= DELAY - 50, 'the flush waited for the slow OTLP answers');
    assert.deepEqual(flushed, { sent: total + azureAll.total, accepted: total + azureAll.total, rejected: 0, pending: 0 }, 'both sides delivered');
    const received = await decoder.received();
    assert.deepEqual(received.errors, [], describeReceived(received));
    assert.equal(flatten(received).spans.length, PHASE1_SPANS);
  });
});

// =============================================================================================
// Chromium
// =============================================================================================

describe('OTLP exporter in a browser page (another origin: CORS)', { timeout: 45000 }, () => {
  let site;
  before(async () => {
    requirePackage(['web.js', 'edgecensus_bg.wasm']);
    site = await startCollector({ staticRoutes: { '/pkg/': PKG_DIR, '/e2e/': E2E_DIR } });
  });
  after(() => site?.close());

  async function runPage(config) {
    const url = `${site.url}/e2e/fixtures/otlp.html?${new URLSearchParams({ config: JSON.stringify(config) })}`;
    return withPage(url, async (page, log) => {
      await page.waitForFunction(() => window.__done === true, null, { timeout: 25000 });
      const error = await page.evaluate(() => window.__error ?? null);
      assert.equal(error, null, `the page failed: ${error}`);
      assert.deepEqual(log.errors.map(String), [], 'no uncaught page errors');
      assert.deepEqual(log.failedRequests, [], 'no failed request');
      return page.evaluate(() => window.__result);
    });
  }

  function checkPreflights(received) {
    const posts = exportRequests(received);
    for (const r of posts) assert.equal(r.headers.origin, site.url, `#${r.seq} ${r.path}: a cross-origin POST from the page`);
    const preflights = received.requests.filter((r) => r.method === 'OPTIONS');
    assert.deepEqual([...new Set(preflights.map((r) => r.path))].sort(), ['/v1/logs', '/v1/metrics', '/v1/traces'], `a CORS preflight for each signal:\n${describeReceived(received)}`);
    for (const p of preflights) {
      const asked = (p.headers['access-control-request-headers'] ?? '').split(',').map((h) => h.trim());
      for (const h of ['content-type', 'content-encoding', ...Object.keys(S.HEADERS)]) assert.ok(asked.includes(h), `preflight ${p.path} asks for ${h}: ${asked}`);
      assert.equal(p.headers['access-control-request-method'], 'POST');
    }
  }

  test('traces, metrics and logs from a page round-trip through the decoder', async (t) => {
    await decoder.reset();
    const run = await runPage(S.otlpConfig(decoder.url));
    const received = await decoder.received();
    await checkOtlp(t, received, run, { metricRounds: 3 });
    await t.test('CORS: preflights for the custom headers, cross-origin POSTs', () => checkPreflights(received));
    await t.test('flush results and diagnostics', () => {
      const [f1, f2] = run.flushes;
      const total = PHASE1_SPANS + PHASE1_LOGS + METRICS;
      assert.deepEqual(f1, { sent: total, accepted: total, rejected: 0, pending: 0 });
      assert.deepEqual(f2, { sent: METRICS, accepted: METRICS, rejected: 0, pending: 0 });
      assert.equal(run.diagnostics.requestsFailed, 0, run.diagnostics.lastError);
    });
  });

  test('Azure Monitor and OTLP at once from a page: both receive everything', async (t) => {
    await decoder.reset();
    const collector = await startCollector();
    t.after(() => collector.close());
    const run = await runPage(S.otlpConfig(decoder.url, { connectionString: connectionStringFor(collector.url) }));
    await checkOtlp(t, await decoder.received(), run, { metricRounds: 3 });
    await t.test('Azure: every span, span event, log, exception and metric series', () => {
      checkAzure(collector, expectedAzure(run, { metricExports: 3 }));
    });
  });

  test('a page going away sends the OTLP items still queued (OTLP alone, and with Azure)', async (t) => {
    for (const withAzure of [false, true]) {
      await t.test(withAzure ? 'OTLP and Azure Monitor' : 'OTLP alone', async () => {
        await decoder.reset();
        const collector = await startCollector();
        try {
          // The default export interval (5 s): what is recorded just before leaving is still queued.
          const config = { ...S.SERVICE, otlp: { endpoint: decoder.url, headers: { ...S.HEADERS } } };
          if (withAzure) config.connectionString = connectionStringFor(collector.url);
          const url = `${site.url}/e2e/fixtures/otlp.html?run=no`;
          const span = await withPage(url, async (page) => {
            await page.waitForFunction(() => window.__done === true, null, { timeout: 20000 });
            const ids = await page.evaluate(async (config) => {
              const client = await window.__init(config);
              const span = client.startSpan('queued at unload');
              span.end();
              client.logger('unload').info('queued log at unload');
              window.__client = client;
              return span.spanContext();
            }, config);
            await page.goto('about:blank'); // pagehide, visibilitychange
            return ids;
          });
          if (withAzure) {
            await collector.waitFor((c) => c.envelopes.length >= 2, 5000);
            assert.deepEqual(collector.envelopes.map((e) => e.data.baseType).sort(), ['MessageData', 'RemoteDependencyData'], 'Azure got the span and the log at unload');
          }
          const received = await decoder.waitFor((r) => (r.traces.length >= 1 && r.logs.length >= 1) || r.errors.length >= 2, { timeoutMs: 3000, label: 'the unload exports' }).catch((e) => e);
          assert.ok(!(received instanceof Error), `OTLP got nothing when the page went away:\n${received.message ?? ''}`);
          assert.deepEqual(received.errors, [], `the unload exports decode:\n${describeReceived(received)}`);
          const got = flatten(received);
          assert.deepEqual(got.spans.map((s) => s.id), [span.spanId], 'the queued span');
          assert.deepEqual(got.logs.map(({ log }) => log.body.stringValue), ['queued log at unload'], 'the queued log');
        } finally {
          await collector.close();
        }
      });
    }
  });

  test('a partial success answer, read cross-origin, counts the refused items in itemsRejected', async () => {
    await decoder.reset();
    await decoder.script({ answers: PARTIAL });
    const run = await runPage(S.otlpConfig(decoder.url));
    const received = await decoder.received();
    assert.deepEqual(received.errors, [], describeReceived(received));
    assert.equal(exportRequests(received).filter((r) => r.scripted).length, 3, describeReceived(received));
    assert.equal(run.flushes[0].rejected, PARTIAL_REJECTED, `flush 1: ${JSON.stringify(run.flushes[0])}`);
    assert.equal(run.diagnostics.itemsRejected, PARTIAL_REJECTED);
    assert.match(run.diagnostics.lastError ?? '', /partial success: (two spans|one log|three points) refused/);
  });
});

// =============================================================================================
// workerd
// =============================================================================================

for (const compatibilityFlags of [[], ['nodejs_compat']]) {
  const label = compatibilityFlags.length ? compatibilityFlags.join(',') : 'no flags';

  describe(`OTLP exporter in workerd (${label})`, { timeout: 45000 }, () => {
    let collector;
    let worker;
    let failed = false;

    before(async () => {
      requirePackage(['workerd.js', 'edgecensus_bg.wasm']);
      collector = await startCollector();
      worker = await startWorkerd({
        modules: [
          { name: 'otlp-worker.mjs', path: `${FIXTURES}otlp-worker.mjs`, type: 'esModule' },
          { name: 'otlp-scenario.mjs', path: `${FIXTURES}otlp-scenario.mjs`, type: 'esModule' },
          ...modulesFromDir(PKG_DIR, 'pkg/'),
        ],
        bindings: {
          OTLP_CONFIG: S.otlpConfig(decoder.url),
          BOTH_CONFIG: S.otlpConfig(decoder.url, { connectionString: connectionStringFor(collector.url) }),
          PARTIAL_CONFIG: S.otlpConfig(decoder.url),
        },
        compatibilityFlags,
      });
    });
    after(async () => {
      if (failed) worker?.printOutput(`workerd output (${label})`);
      await worker?.close();
      await collector?.close();
    });
    /** A fresh start for each test (not a beforeEach hook: node:test runs those before subtests too). */
    async function fresh() {
      await decoder.reset();
      collector.reset();
    }

    const run = (fn) => async (t) => {
      try {
        await fn(t);
      } catch (e) {
        failed = true;
        throw e;
      }
    };

    /** Phase 1 (continuing REMOTE), then phase 2, each in a request whose flush goes to waitUntil. */
    async function runWorker(prefix) {
      const before1 = Date.now();
      const r1 = await fetch(`${worker.url}${prefix}/phase1`, { headers: { traceparent: S.REMOTE_TRACEPARENT, tracestate: S.REMOTE.traceState } });
      assert.equal(r1.status, 200, await r1.clone().text());
      const phase1 = await r1.json();
      const after1 = Date.now();
      // The first flush (waitUntil) must be over before phase 2 records more.
      await decoder.waitFor((r) => r.metrics.length >= 1 && r.logs.length >= 1 && r.traces.length >= 1, { label: 'the flush of request 1' });
      const before2 = Date.now();
      const r2 = await fetch(`${worker.url}${prefix}/phase2`);
      assert.equal(r2.status, 200, await r2.clone().text());
      const phase2 = await r2.json();
      const received = await decoder.waitFor((r) => r.metrics.length >= 2 && flatten(r).spans.some((s) => s.id === phase2.server.spanId), { label: 'the flush of request 2' });
      return { phase1, phase2, received, times: { before1, after1, before2, after2: Date.now() } };
    }

    /** The server spans instrument() made: the root of phase 1 and the span of request 2. */
    function serverSpans(prefix, { phase1, phase2, times }) {
      const url1 = `${worker.url}${prefix}/phase1`;
      const root = {
        name: `GET ${prefix}/phase1`,
        attributes: expectedAttributes([['http.method', 'GET'], ['http.url', url1], ['http.status_code', 200]]),
        parentSpanId: S.REMOTE.spanId,
        traceState: S.REMOTE.traceState,
        startWindow: [times.before1, times.after1],
        endWindow: [times.before1, times.after1],
      };
      const second = {
        label: 'request 2',
        traceId: phase2.server.traceId,
        parentSpanId: '',
        traceState: '',
        name: `GET ${prefix}/phase2`,
        kind: 'SPAN_KIND_SERVER',
        start: { window: [times.before2, times.after2] },
        end: { window: [times.before2, times.after2] },
        attributes: expectedAttributes([['http.method', 'GET'], ['http.url', `${worker.url}${prefix}/phase2`], ['http.status_code', 200]]),
        droppedAttributesCount: 0,
        events: [],
        droppedEventsCount: 0,
        links: [],
        droppedLinksCount: 0,
        status: ['STATUS_CODE_UNSET', ''],
      };
      assert.notEqual(phase2.server.traceId, S.REMOTE.traceId, 'request 2 (no traceparent) starts a new trace');
      assert.deepEqual(phase1.activeAtStart, phase1.root, 'the server span is the active span in the handler');
      return { root, extraSpans: new Map([[phase2.server.spanId, second]]) };
    }

    test('traces, metrics and logs from a worker round-trip through the decoder (flush via waitUntil)', run(async (t) => {
      await fresh();
      const result = await runWorker('/otlp');
      const { root, extraSpans } = serverSpans('/otlp', result);
      await checkOtlp(t, result.received, result, {
        metricRounds: 2,
        root,
        extraSpans,
        metricsBetween: [[result.times.before1, result.times.before2], [result.times.before2, result.times.after2]],
      });
      await t.test('diagnostics: everything accepted, nothing dropped', async () => {
        const d = await (await fetch(`${worker.url}/diagnostics/otlp`)).json();
        const items = PHASE1_SPANS + PHASE1_LOGS + METRICS + 1 + METRICS; // + request 2's span and metrics
        assert.equal(d.itemsAccepted, items, JSON.stringify(d));
        assert.equal(d.itemsRejected, 0);
        assert.equal(d.requestsFailed, 0, d.lastError);
        assert.deepEqual(Object.entries(d.dropped).filter(([, n]) => n > 0), []);
      });
    }));

    test('Azure Monitor and OTLP at once from a worker: both receive everything', run(async (t) => {
      await fresh();
      const result = await runWorker('/both');
      const { root, extraSpans } = serverSpans('/both', result);
      await checkOtlp(t, result.received, result, { metricRounds: 2, root, extraSpans });
      await t.test('Azure: every span, span event, log, exception and metric series', async () => {
        const want = expectedAzure(result, { metricExports: 2, extraSpans: [{ spanId: result.phase2.server.spanId, request: true }] });
        await collector.waitFor((c) => c.envelopes.length >= want.total, 5000).catch(() => {});
        checkAzure(collector, want);
      });
    }));

    test('a partial success answer from a worker counts the refused items in itemsRejected', run(async () => {
      await fresh();
      await decoder.script({ answers: PARTIAL });
      const r = await fetch(`${worker.url}/partial/phase1`);
      assert.equal(r.status, 200, await r.clone().text());
      await r.json();
      const received = await decoder.waitFor((x) => exportRequests(x).filter((q) => q.scripted && q.answered !== undefined).length >= 3, { label: 'the three scripted answers' });
      assert.deepEqual(received.errors, [], describeReceived(received));
      // The diagnostics settle once the flush (waitUntil) has read the answers.
      let d;
      for (let i = 0; i < 40; i++) {
        d = await (await fetch(`${worker.url}/diagnostics/partial`)).json();
        if (d.itemsPending === 0 && d.itemsAccepted + d.itemsRejected >= d.itemsSent) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      assert.equal(d.itemsRejected, PARTIAL_REJECTED, JSON.stringify(d));
      assert.equal(d.itemsAccepted, PHASE1_SPANS + PHASE1_LOGS + METRICS - PARTIAL_REJECTED);
      assert.match(d.lastError ?? '', /partial success: (two spans|one log|three points) refused/);
    }));
  });
}
