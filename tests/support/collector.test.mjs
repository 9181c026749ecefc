// Tests of tools/collector.mjs itself: Breeze validation, answers, CORS, static files.
// Run: cd tests && node --test support/
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startCollector, validateEnvelope, parseTrackBody, faultScript } from '../../tools/collector.mjs';

const IKEY = '00000000-0000-0000-0000-000000000001';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

function requestEnvelope(overrides = {}) {
  const e = {
    ver: 1,
    name: 'Microsoft.ApplicationInsights.Request',
    time: new Date().toISOString(),
    sampleRate: 100,
    iKey: IKEY,
    tags: {
      'ai.cloud.role': 'shop',
      'ai.internal.sdkVersion': 'wasm:ec0.1.0',
      'ai.operation.id': TRACE,
      'ai.operation.name': 'GET /checkout',
    },
    data: {
      baseType: 'RequestData',
      baseData: {
        ver: 2,
        id: '00f067aa0ba902b7',
        name: 'GET /checkout',
        duration: '0.00:00:00.250000',
        responseCode: '200',
        success: true,
        url: 'https://shop.example/checkout?x=1',
        properties: { 'cart.items': '3' },
        measurements: { weight: 1.5 },
      },
    },
  };
  return merge(e, overrides);
}

function dependencyEnvelope(overrides = {}) {
  const e = {
    ver: 1,
    name: 'Microsoft.ApplicationInsights.RemoteDependency',
    time: new Date().toISOString(),
    iKey: IKEY,
    tags: { 'ai.operation.id': TRACE, 'ai.operation.parentId': '00f067aa0ba902b7', 'ai.cloud.role': 'shop' },
    data: {
      baseType: 'RemoteDependencyData',
      baseData: {
        ver: 2,
        id: 'b7ad6b7169203331',
        name: 'GET /echo',
        duration: '00:00:00.0123456',
        resultCode: '200',
        success: true,
        type: 'HTTP',
        target: '127.0.0.1:8080',
        data: 'http://127.0.0.1:8080/echo',
        properties: {},
      },
    },
  };
  return merge(e, overrides);
}

/** Deep merge where `undefined` in the override deletes the key. */
function merge(base, over) {
  const out = structuredClone(base);
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete out[k];
    else if (v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object') out[k] = merge(out[k], v);
    else out[k] = v;
  }
  return out;
}

function req(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    r.on('error', reject);
    if (body !== undefined) r.write(body);
    r.end();
  });
}

const post = (collector, items, headers = {}) =>
  req(`${collector.url}/v2.1/track`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof items === 'string' || Buffer.isBuffer(items) ? items : JSON.stringify(items),
  });

describe('validateEnvelope (Breeze schema)', () => {
  test('valid Request and RemoteDependency envelopes have no problems', () => {
    assert.deepEqual(validateEnvelope(requestEnvelope()), []);
    assert.deepEqual(validateEnvelope(dependencyEnvelope()), []);
  });

  test('valid Message, Exception, Metric and Event envelopes have no problems', () => {
    const base = { ver: 1, time: new Date().toISOString(), iKey: IKEY, tags: { 'ai.operation.id': TRACE } };
    const cases = [
      { ...base, name: 'Microsoft.ApplicationInsights.Message', data: { baseType: 'MessageData', baseData: { ver: 2, message: 'hi', severityLevel: 1, properties: { a: 'b' } } } },
      {
        ...base,
        name: 'Microsoft.ApplicationInsights.Exception',
        data: {
          baseType: 'ExceptionData',
          baseData: {
            ver: 2,
            exceptions: [{ typeName: 'TypeError', message: 'x is undefined', hasFullStack: true, parsedStack: [{ level: 0, method: 'f', assembly: 'app.js', fileName: 'app.js', line: 3 }] }],
          },
        },
      },
      { ...base, name: 'Microsoft.ApplicationInsights.Metric', data: { baseType: 'MetricData', baseData: { ver: 2, metrics: [{ name: 'latency', value: 12.5, count: 3, min: 1, max: 9, stdDev: 2.1, ns: 'shop' }] } } },
      { ...base, name: 'Microsoft.ApplicationInsights.Event', data: { baseType: 'EventData', baseData: { ver: 2, name: 'checkout' } } },
      // The instrumentation-key-qualified envelope name form is accepted too.
      requestEnvelope({ name: `Microsoft.ApplicationInsights.${IKEY.replaceAll('-', '')}.Request` }),
    ];
    for (const e of cases) assert.deepEqual(validateEnvelope(e), [], e.name);
  });

  test('durations in the TimeSpan forms Breeze parses', () => {
    for (const d of ['0.00:00:00.250000', '00:00:00.0000001', '1.23:59:59.9999999', '00:00:01', '12:30:00.5']) {
      assert.deepEqual(validateEnvelope(requestEnvelope({ data: { baseData: { duration: d } } })), [], d);
    }
    for (const d of ['250', '250ms', 'PT0.25S', '0.00:00:60.0', '00:60:00', '24:00:00', '00:00:00.12345678', '', '-00:00:01']) {
      const problems = validateEnvelope(requestEnvelope({ data: { baseData: { duration: d } } }));
      assert.ok(problems.some((p) => p.includes("'duration'")), `${JSON.stringify(d)} should be refused, got ${problems}`);
    }
    const numeric = validateEnvelope(requestEnvelope({ data: { baseData: { duration: 250 } } }));
    assert.match(numeric.join(), /'duration'.*wrong type/);
  });

  const invalidCases = [
    ['missing envelope name', requestEnvelope({ name: undefined }), /Field 'name' on type 'Envelope' is required/],
    ['missing time', requestEnvelope({ time: undefined }), /Field 'time' on type 'Envelope' is required/],
    ['time without Z', requestEnvelope({ time: '2026-11-25T12:00:00.000+01:00' }), /ISO 8601 UTC/],
    ['time as a number', requestEnvelope({ time: Date.now() }), /'time'.*wrong type/],
    ['time far in the past (seconds taken for ms)', requestEnvelope({ time: new Date(Date.now() / 1000).toISOString() }), /48 hours in the past/],
    ['time in the future', requestEnvelope({ time: new Date(Date.now() + 5 * 3600_000).toISOString() }), /2 hours in the future/],
    ['missing iKey', requestEnvelope({ iKey: undefined }), /Field 'iKey' on type 'Envelope' is required/],
    ['iKey not a GUID', requestEnvelope({ iKey: 'nonsense' }), /Invalid instrumentation key/],
    ['unknown tag key', requestEnvelope({ tags: { 'ai.operation.parentID': 'x' } }), /Unknown context tag key "ai.operation.parentID"/],
    ['non-string tag', requestEnvelope({ tags: { 'ai.operation.id': 42 } }), /Context tag 'ai.operation.id' has the wrong type/],
    ['overlong operation id', requestEnvelope({ tags: { 'ai.operation.id': 'a'.repeat(129) } }), /'ai.operation.id' is too long/],
    ['missing data', requestEnvelope({ data: undefined }), /Field 'data' on type 'Envelope' is required/],
    ['unknown baseType', requestEnvelope({ data: { baseType: 'SpanData' } }), /Unsupported baseType "SpanData"/],
    ['name not matching baseType', requestEnvelope({ name: 'Microsoft.ApplicationInsights.RemoteDependency' }), /does not match baseType RequestData/],
    ['missing request id', requestEnvelope({ data: { baseData: { id: undefined } } }), /Field 'id' on type 'RequestData' is required/],
    ['overlong request id', requestEnvelope({ data: { baseData: { id: 'x'.repeat(129) } } }), /Field 'id' on type 'RequestData' is too long: 129/],
    ['numeric responseCode', requestEnvelope({ data: { baseData: { responseCode: 200 } } }), /'responseCode'.*wrong type. Expected: string, Actual: number/],
    ['success as a string', requestEnvelope({ data: { baseData: { success: 'true' } } }), /Field 'success' on type 'RequestData' has the wrong type. Expected: bool, Actual: string/],
    ['missing success', requestEnvelope({ data: { baseData: { success: undefined } } }), /Field 'success' on type 'RequestData' is required/],
    ['bad duration', requestEnvelope({ data: { baseData: { duration: '0.25' } } }), /not a valid TimeSpan/],
    ['overlong url', requestEnvelope({ data: { baseData: { url: 'http://x/' + 'a'.repeat(2048) } } }), /Field 'url' on type 'RequestData' is too long/],
    ['non-string property value', requestEnvelope({ data: { baseData: { properties: { items: 3 } } } }), /value of "items" has the wrong type. Expected: string, Actual: number/],
    ['overlong property key', requestEnvelope({ data: { baseData: { properties: { ['k'.repeat(151)]: 'v' } } } }), /151 characters, at most 150/],
    ['overlong property value', requestEnvelope({ data: { baseData: { properties: { k: 'v'.repeat(8193) } } } }), /8193 characters, at most 8192/],
    ['NaN measurement', requestEnvelope({ data: { baseData: { measurements: { m: 'NaN' } } } }), /must be a finite number/],
    ['dependency without name', dependencyEnvelope({ data: { baseData: { name: undefined } } }), /Field 'name' on type 'RemoteDependencyData' is required/],
    ['dependency with empty name', dependencyEnvelope({ data: { baseData: { name: '' } } }), /Field 'name' on type 'RemoteDependencyData' is required but missing or empty/],
    ['dependency success as a number', dependencyEnvelope({ data: { baseData: { success: 1 } } }), /'success'.*Expected: bool/],
    ['dependency overlong id', dependencyEnvelope({ data: { baseData: { id: 'i'.repeat(200) } } }), /Field 'id' on type 'RemoteDependencyData' is too long/],
    ['dependency without duration', dependencyEnvelope({ data: { baseData: { duration: undefined } } }), /Field 'duration' on type 'RemoteDependencyData' is required/],
    ['dependency overlong data', dependencyEnvelope({ data: { baseData: { data: 'd'.repeat(8193) } } }), /Field 'data' on type 'RemoteDependencyData' is too long/],
  ];
  for (const [label, envelope, pattern] of invalidCases) {
    test(`caught: ${label}`, () => {
      const problems = validateEnvelope(envelope);
      assert.ok(problems.length > 0, 'expected problems');
      assert.match(problems.join('\n'), pattern);
    });
  }

  test('caught: message, exception and metric problems', () => {
    const base = { ver: 1, time: new Date().toISOString(), iKey: IKEY };
    const msg = (bd) => validateEnvelope({ ...base, name: 'Microsoft.ApplicationInsights.Message', data: { baseType: 'MessageData', baseData: { ver: 2, ...bd } } }).join('\n');
    assert.match(msg({}), /Field 'message' on type 'MessageData' is required/);
    assert.match(msg({ message: 'm'.repeat(32769) }), /'message' on type 'MessageData' is too long/);
    assert.match(msg({ message: 'x', severityLevel: 7 }), /severityLevel/);
    const exc = (bd) => validateEnvelope({ ...base, name: 'Microsoft.ApplicationInsights.Exception', data: { baseType: 'ExceptionData', baseData: { ver: 2, ...bd } } }).join('\n');
    assert.match(exc({}), /Field 'exceptions' on type 'ExceptionData' is required/);
    assert.match(exc({ exceptions: [] }), /'exceptions'.*empty/);
    assert.match(exc({ exceptions: [{ typeName: 'E' }] }), /Field 'message' on type 'ExceptionDetails' is required/);
    assert.match(exc({ exceptions: [{ typeName: 'E', message: 'm', parsedStack: [{ level: '0', method: 'f' }] }] }), /Field 'level' on type 'StackFrame'/);
    assert.match(exc({ exceptions: [{ typeName: 'E', message: 'm', parsedStack: [{ level: 0 }] }] }), /Field 'method' on type 'StackFrame' is required/);
    const met = (bd) => validateEnvelope({ ...base, name: 'Microsoft.ApplicationInsights.Metric', data: { baseType: 'MetricData', baseData: { ver: 2, ...bd } } }).join('\n');
    assert.match(met({}), /Field 'metrics' on type 'MetricData' is required/);
    assert.match(met({ metrics: [{ name: 'm' }] }), /Field 'value' on type 'DataPoint' is required/);
    assert.match(met({ metrics: [{ name: 'm', value: 1, count: 1.5 }] }), /Field 'count' on type 'DataPoint'/);
    assert.match(met({ metrics: [{ name: 'm', value: 1, ns: 'n'.repeat(257) }] }), /Field 'ns' on type 'DataPoint' is too long/);
  });

  test('parseTrackBody reads arrays, NDJSON and single objects, and refuses garbage', () => {
    assert.deepEqual(parseTrackBody('[{"a":1},{"b":2}]'), [{ a: 1 }, { b: 2 }]);
    assert.deepEqual(parseTrackBody('{"a":1}\n{"b":2}\n'), [{ a: 1 }, { b: 2 }]);
    assert.deepEqual(parseTrackBody('{"a":1}'), [{ a: 1 }]);
    assert.throws(() => parseTrackBody('not json'));
    assert.throws(() => parseTrackBody(''));
    assert.throws(() => parseTrackBody('{"a":1}\n{oops'));
  });
});

describe('collector server', () => {
  let collector;
  let www;
  let pkg;
  let outside;

  before(async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'collector-test-'));
    www = path.join(root, 'www');
    pkg = path.join(root, 'pkg');
    outside = path.join(root, 'secret.txt');
    fs.mkdirSync(path.join(www, 'sub'), { recursive: true });
    fs.mkdirSync(pkg);
    fs.writeFileSync(path.join(www, 'index.html'), '<!doctype html><title>hi</title>');
    fs.writeFileSync(path.join(www, 'sub', 'index.html'), '<p>sub</p>');
    fs.writeFileSync(path.join(www, 'app.css'), 'body{}');
    fs.writeFileSync(path.join(www, 'data.json'), '{}');
    fs.writeFileSync(path.join(pkg, 'web.js'), 'export const x = 1;');
    fs.writeFileSync(path.join(pkg, 'core.mjs'), 'export {};');
    fs.writeFileSync(path.join(pkg, 'edgecensus_bg.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    fs.writeFileSync(path.join(pkg, 'web.js.map'), '{}');
    fs.writeFileSync(outside, 'top secret');
    fs.symlinkSync(outside, path.join(www, 'link.txt'));
    collector = await startCollector({ staticRoutes: { '/': www, '/pkg/': pkg } });
  });
  after(async () => {
    await collector?.close();
    fs.rmSync(path.dirname(www), { recursive: true, force: true });
  });
  beforeEach(() => {
    collector.reset();
    collector.respondWith(null);
  });

  test('listens on 127.0.0.1 with a free port', () => {
    assert.match(collector.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(collector.port > 0);
    assert.equal(collector.url, `http://127.0.0.1:${collector.port}`);
  });

  test('valid envelopes: 200 with Breeze body, stored in arrival order', async () => {
    const items = [requestEnvelope(), dependencyEnvelope()];
    const r = await post(collector, items);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { itemsReceived: 2, itemsAccepted: 2, errors: [] });
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.deepEqual(collector.envelopes.map((e) => e.data.baseType), ['RequestData', 'RemoteDependencyData']);
    assert.deepEqual(collector.invalid, []);
    const track = collector.requests.filter((q) => q.path === '/v2.1/track');
    assert.equal(track.length, 1);
    assert.equal(track[0].method, 'POST');
    assert.equal(track[0].headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(track[0].bodyText), items);
  });

  test('206 names each invalid item by index; valid ones are kept', async () => {
    const items = [requestEnvelope(), dependencyEnvelope({ data: { baseData: { name: undefined } } }), requestEnvelope({ data: { baseData: { success: 'yes' } } })];
    const r = await post(collector, items);
    assert.equal(r.status, 206);
    assert.equal(r.json.itemsReceived, 3);
    assert.equal(r.json.itemsAccepted, 1);
    assert.equal(r.json.errors.length, 2);
    assert.deepEqual(r.json.errors.map((e) => [e.index, e.statusCode]), [[1, 400], [2, 400]]);
    assert.match(r.json.errors[0].message, /Field 'name' on type 'RemoteDependencyData' is required/);
    assert.match(r.json.errors[1].message, /Field 'success'/);
    assert.equal(collector.envelopes.length, 1);
    assert.equal(collector.invalid.length, 2);
    assert.equal(collector.invalid[0].index, 1);
    assert.ok(collector.invalid[0].problems.length >= 1);
    assert.equal(collector.invalid[0].envelope.data.baseType, 'RemoteDependencyData');
  });

  test('all items invalid: 206 by default (allRejectedStatus), every item listed', async () => {
    const r = await post(collector, [requestEnvelope({ iKey: undefined })]);
    assert.equal(r.status, 206);
    assert.deepEqual([r.json.itemsReceived, r.json.itemsAccepted, r.json.errors.length], [1, 0, 1]);
  });

  test('allRejectedStatus: 400 imitates the service when no item is accepted', async () => {
    const strict = await startCollector({ allRejectedStatus: 400 });
    try {
      let r = await post(strict, [requestEnvelope({ iKey: undefined })]);
      assert.equal(r.status, 400);
      assert.deepEqual([r.json.itemsReceived, r.json.itemsAccepted, r.json.errors.length], [1, 0, 1]);
      r = await post(strict, [requestEnvelope(), requestEnvelope({ iKey: undefined })]);
      assert.equal(r.status, 206);
    } finally {
      await strict.close();
    }
  });

  test('400 for an unparseable body', async () => {
    for (const body of ['{not json', '', '"just a string"\n{']) {
      const r = await post(collector, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.itemsAccepted, 0);
      assert.match(r.json.errors[0].message, /Invalid request body/);
    }
    assert.equal(collector.envelopes.length, 0);
  });

  test('accepts newline-delimited JSON and gzip / deflate bodies; also /v2/track', async () => {
    let r = await post(collector, `${JSON.stringify(requestEnvelope())}\n${JSON.stringify(dependencyEnvelope())}\n`, { 'content-type': 'application/x-json-stream' });
    assert.equal(r.status, 200);
    assert.equal(r.json.itemsAccepted, 2);
    r = await post(collector, zlib.gzipSync(JSON.stringify([requestEnvelope()])), { 'content-encoding': 'gzip' });
    assert.equal(r.status, 200);
    assert.equal(r.json.itemsAccepted, 1);
    r = await post(collector, zlib.deflateSync(JSON.stringify([requestEnvelope()])), { 'content-encoding': 'deflate' });
    assert.equal(r.status, 200);
    r = await req(`${collector.url}/v2/track`, { method: 'POST', body: JSON.stringify([dependencyEnvelope()]) });
    assert.equal(r.status, 200);
    assert.equal(collector.envelopes.length, 5);
    assert.match(collector.requests.find((q) => q.headers['content-encoding'] === 'gzip').bodyText, /^\[\{/);
    r = await post(collector, Buffer.from('not gzip'), { 'content-encoding': 'gzip' });
    assert.equal(r.status, 400);
  });

  test('GET on the track path is refused', async () => {
    const r = await req(`${collector.url}/v2.1/track`);
    assert.equal(r.status, 405);
  });

  test('CORS preflight from another origin', async () => {
    const r = await req(`${collector.url}/v2.1/track`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://127.0.0.1:9',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,traceparent',
      },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.match(r.headers['access-control-allow-methods'], /POST/);
    assert.match(r.headers['access-control-allow-headers'], /content-type/);
    assert.match(r.headers['access-control-allow-headers'], /traceparent/);
    const plain = await req(`${collector.url}/echo`, { method: 'OPTIONS', headers: { origin: 'http://x', 'access-control-request-method': 'GET' } });
    assert.equal(plain.status, 204);
    assert.match(plain.headers['access-control-allow-headers'], /traceparent/);
  });

  test('/echo reports the request headers, for any method', async () => {
    const tp = `00-${TRACE}-00f067aa0ba902b7-01`;
    let r = await req(`${collector.url}/echo?x=1`, { headers: { traceparent: tp } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.json.headers.traceparent, tp);
    assert.equal(r.json.method, 'GET');
    assert.equal(r.json.path, '/echo?x=1');
    r = await req(`${collector.url}/echo`, { method: 'POST', body: 'hello' });
    assert.equal(r.json.method, 'POST');
    assert.equal(r.json.body, 'hello');
    assert.equal(collector.requests.filter((q) => q.path.startsWith('/echo')).length, 2);
  });

  test('/api/received shows and resets what arrived', async () => {
    await post(collector, [requestEnvelope(), dependencyEnvelope({ data: { baseData: { duration: 'soon' } } })]);
    let r = await req(`${collector.url}/api/received`);
    assert.equal(r.json.envelopes.length, 1);
    assert.equal(r.json.invalid.length, 1);
    assert.match(r.json.invalid[0].problems[0], /TimeSpan/);
    r = await req(`${collector.url}/api/received`, { method: 'DELETE' });
    assert.equal(r.status, 200);
    assert.equal(collector.envelopes.length, 0);
    r = await req(`${collector.url}/api/received`);
    assert.deepEqual(r.json, { envelopes: [], invalid: [] });
  });

  test('waitFor resolves on arrival and rejects with a clear message on timeout', async () => {
    const waiting = collector.waitFor((c) => c.envelopes.length >= 2, 5000);
    await post(collector, [requestEnvelope()]);
    await post(collector, [dependencyEnvelope()]);
    assert.equal(await waiting, collector);
    await assert.rejects(collector.waitFor((c) => c.envelopes.length > 99, 200), (e) => {
      assert.match(e.message, /timed out after 200 ms/);
      assert.match(e.message, /2 envelope\(s\) accepted/);
      assert.match(e.message, /RequestData name="GET \/checkout"/);
      return true;
    });
  });

  test('respondWith scripts the answers to track requests', async () => {
    const seen = [];
    collector.respondWith((r) => {
      seen.push(r.items.length);
      return { status: 503, body: { message: 'try later' }, headers: { 'retry-after': '1' } };
    });
    let r = await post(collector, [requestEnvelope()]);
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(collector.envelopes.length, 0);
    assert.equal(collector.trackRequests.length, 1);
    collector.respondWith(() => undefined); // falls through to the normal answer
    r = await post(collector, [requestEnvelope()]);
    assert.equal(r.status, 200);
    collector.respondWith(null);
    r = await post(collector, [requestEnvelope()]);
    assert.equal(r.status, 200);
    assert.deepEqual(seen, [1]);
    assert.equal(collector.envelopes.length, 2);
  });

  test('static files with the right MIME types', async () => {
    const expect = {
      '/': 'text/html; charset=utf-8',
      '/index.html': 'text/html; charset=utf-8',
      '/sub/': 'text/html; charset=utf-8',
      '/app.css': 'text/css; charset=utf-8',
      '/data.json': 'application/json; charset=utf-8',
      '/pkg/web.js': 'text/javascript; charset=utf-8',
      '/pkg/core.mjs': 'text/javascript; charset=utf-8',
      '/pkg/edgecensus_bg.wasm': 'application/wasm',
      '/pkg/web.js.map': 'application/json; charset=utf-8',
    };
    for (const [p, type] of Object.entries(expect)) {
      const r = await req(collector.url + p);
      assert.equal(r.status, 200, p);
      assert.equal(r.headers['content-type'], type, p);
    }
    const wasm = await fetch(`${collector.url}/pkg/edgecensus_bg.wasm`);
    assert.deepEqual([...new Uint8Array(await wasm.arrayBuffer())].slice(0, 4), [0, 0x61, 0x73, 0x6d]);
    assert.equal((await req(`${collector.url}/sub`)).status, 301);
    assert.equal((await req(`${collector.url}/pkg`)).status, 301);
    assert.equal((await req(`${collector.url}/missing.js`)).status, 404);
    assert.equal((await req(`${collector.url}/pkg/web.js`, { method: 'HEAD' })).status, 200);
  });

  test('directory traversal is blocked', async () => {
    const attempts = [
      '/../secret.txt',
      '/pkg/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/pkg/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/pkg/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/pkg/%00web.js',
      '/link.txt', // a symlink pointing outside the served directory
    ];
    for (const p of attempts) {
      // Raw request line, so nothing normalises the path on the way.
      const r = await req(collector.url + p);
      assert.ok([400, 403, 404].includes(r.status), `${p} answered ${r.status}`);
      assert.ok(!r.text.includes('top secret'), `${p} leaked the file`);
    }
  });
});

describe('collector fault injection', () => {
  let collector;
  let other;

  before(async () => {
    collector = await startCollector();
    other = await startCollector({ keepAlive: false });
  });
  after(async () => {
    await collector?.close();
    await other?.close();
  });
  beforeEach(() => {
    for (const c of [collector, other]) {
      c.reset();
      c.respondWith(null);
    }
  });

  const named = (name) => requestEnvelope({ data: { baseData: { name } } });
  const names = (c) => c.envelopes.map((e) => e.data.baseData.name);

  /** POSTs items but gives up after `abortMs` (like a client with a request timeout). */
  function postAbandoned(c, items, abortMs) {
    return new Promise((resolve) => {
      const r = http.request(`${c.url}/v2.1/track`, { method: 'POST', headers: { 'content-type': 'application/json' } }, () => resolve('answered'));
      r.on('error', (e) => resolve(e.code ?? e.message));
      setTimeout(() => r.destroy(new Error('gave up')), abortMs);
      r.end(JSON.stringify(items));
    });
  }

  test('delayMs: the answer comes after the delay, and stores what it says', async () => {
    collector.respondWith(() => ({ delayMs: 300, status: 200, store: true }));
    const t0 = Date.now();
    const r = await post(collector, [named('late')]);
    assert.ok(Date.now() - t0 >= 290, `answered after ${Date.now() - t0} ms`);
    assert.equal(r.status, 200);
    assert.deepEqual(names(collector), ['late']);
    assert.equal(collector.trackRequests[0].outcome, 200);
    assert.equal(collector.trackRequests[0].stored, 1);
  });

  test('delayMs: a client that gives up first gets nothing, and nothing is stored', async () => {
    collector.respondWith(() => ({ delayMs: 1000, status: 200, store: true }));
    assert.equal(await postAbandoned(collector, [named('abandoned')], 100), 'gave up');
    await collector.waitFor((c) => c.trackRequests[0]?.outcome === 'client gone', 2000);
    assert.equal(collector.envelopes.length, 0);
    assert.equal(collector.trackRequests[0].stored, 0);
  });

  test('destroy: the connection is dropped without an answer, nothing stored', async () => {
    collector.respondWith(() => ({ destroy: true }));
    await assert.rejects(post(collector, [named('dropped')]), (e) => ['ECONNRESET', 'ECONNREFUSED'].includes(e.code) || /socket hang up/.test(e.message));
    assert.equal(collector.envelopes.length, 0);
    assert.equal(collector.trackRequests[0].outcome, 'destroyed');
  });

  test('itemStatus: a Breeze 206 that stores exactly the items it does not list', async () => {
    collector.respondWith(() => ({ itemStatus: { 0: 400, 2: 429, 9: 500 } }));
    const r = await post(collector, ['a', 'b', 'c', 'd'].map(named));
    assert.equal(r.status, 206);
    assert.deepEqual(r.json, {
      itemsReceived: 4,
      itemsAccepted: 2,
      errors: [
        { index: 0, statusCode: 400, message: 'scripted item answer 400' },
        { index: 2, statusCode: 429, message: 'scripted item answer 429' },
      ],
    });
    assert.deepEqual(names(collector), ['b', 'd'], 'index 9 is past the batch: ignored');
    assert.equal(collector.trackRequests[0].stored, 2);

    // As a function; an invalid unlisted item is refused with 400 as usual; `store` overrides.
    collector.reset();
    collector.respondWith(() => ({ itemStatus: (item) => (item.data.baseData.name === 'busy' ? 503 : undefined) }));
    const bad = requestEnvelope({ iKey: 'not-a-guid' });
    const f = await post(collector, [named('busy'), named('fine'), bad]);
    assert.equal(f.status, 206);
    assert.deepEqual(f.json.errors.map((e) => [e.index, e.statusCode]), [[0, 503], [2, 400]]);
    assert.deepEqual(names(collector), ['fine']);
    assert.equal(collector.invalid.length, 1);
    collector.reset();
    collector.respondWith(() => ({ itemStatus: { 0: 500 }, store: [1], status: 207, headers: { 'x-test': 'yes' } }));
    const s = await post(collector, ['x', 'y', 'z'].map(named));
    assert.equal(s.status, 207);
    assert.equal(s.headers['x-test'], 'yes');
    assert.deepEqual(names(collector), ['y']);
  });

  test('store without itemStatus: the scripted status with some items stored (a server that took them and still failed)', async () => {
    collector.respondWith(() => ({ status: 500, store: (item, i) => i > 0 }));
    const r = await post(collector, ['p', 'q', 'r'].map(named));
    assert.equal(r.status, 500);
    assert.equal(r.text, '');
    assert.deepEqual(names(collector), ['q', 'r']);
  });

  test('faultScript: answers in order of arrival, shared by two collectors, then the normal answer', async () => {
    const script = faultScript([
      { status: 429, headers: { 'retry-after': '1' } },
      (req) => ({ status: 307, headers: { location: `${other.url}/v2.1/track?from=${req.collector.port}` } }),
      null,
      { pass: true },
    ]);
    collector.respondWith(script.respond);
    other.respondWith(script.respond);
    assert.equal(script.remaining, 4);
    const first = await post(collector, [named('one')]);
    assert.equal(first.status, 429);
    assert.equal(first.headers['retry-after'], '1');
    const second = await post(other, [named('two')]);
    assert.equal(second.status, 307);
    assert.equal(second.headers.location, `${other.url}/v2.1/track?from=${other.port}`);
    for (const c of [collector, other, collector]) assert.equal((await post(c, [named('ok')])).status, 200);
    assert.equal(script.remaining, 0);
    assert.deepEqual(
      script.log.map((e) => [e.answer?.status ?? 'normal', e.collector, e.items.map((i) => i.data.baseData.name)]),
      [
        [429, collector.url, ['one']],
        [307, other.url, ['two']],
        ['normal', collector.url, ['ok']],
        ['normal', other.url, ['ok']],
        ['normal', collector.url, ['ok']],
      ],
    );
    assert.ok(script.log.every((e, i) => i === 0 || e.at >= script.log[i - 1].at));
    assert.deepEqual([names(collector), names(other)], [['ok', 'ok'], ['ok']]);
    script.push({ status: 503 }, { status: 504 });
    assert.equal((await post(collector, [named('later')])).status, 503);
    script.clear();
    assert.equal((await post(collector, [named('later')])).status, 200);
  });

  test('keepAlive: false answers with Connection: close; the default keeps connections open', async () => {
    const kept = await req(`${collector.url}/echo`, { headers: { connection: 'keep-alive' } });
    assert.equal(kept.headers.connection, 'keep-alive');
    const closed = await req(`${other.url}/echo`, { headers: { connection: 'keep-alive' } });
    assert.equal(closed.headers.connection, 'close');
    other.respondWith(() => ({ status: 408 }));
    const scripted = await post(other, [named('x')], { connection: 'keep-alive' });
    assert.equal(scripted.status, 408);
    assert.equal(scripted.headers.connection, 'close', 'scripted answers too');
  });

  test('close() does not wait for a delayed answer', async () => {
    const c = await startCollector();
    c.respondWith(() => ({ delayMs: 30000 }));
    const pending = post(c, [named('never')]).catch((e) => e.code ?? e.message);
    await c.waitFor((x) => x.trackRequests.length === 1, 2000);
    const t0 = Date.now();
    await c.close();
    assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
    await pending;
    assert.equal(c.trackRequests[0].outcome, 'client gone');
  });
});

describe('collector CLI', () => {
  test('starts, prints the URL, serves, and stops on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const script = fileURLToPath(new URL('../../tools/collector.mjs', import.meta.url));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collector-cli-'));
    fs.writeFileSync(path.join(dir, 'hello.txt'), 'hello');
    const child = spawn(process.execPath, [script, '--port', '0', '--static', `/files/=${dir}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const url = await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 5000);
        child.stdout.on('data', (d) => {
          out += d;
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) {
            clearTimeout(t);
            resolve(m[1]);
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const r = await req(`${url}/files/hello.txt`);
      assert.equal(r.text, 'hello');
      const t = await post({ url }, [requestEnvelope()]);
      assert.equal(t.status, 200);
      const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      child.kill('SIGTERM');
      assert.deepEqual(await exited, { code: 0, signal: null });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
