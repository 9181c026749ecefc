// Stats and metrics of the edgecensus package, end to end: measures, views and tag maps in Node,
// a page in headless Chromium and a worker in workerd, with the metrics checked where they arrive,
// as `Microsoft.ApplicationInsights.Metric` envelopes at a real collector.
// Every expected value is computed from what the test recorded (see metrics-scenario.mjs).
// Run: cd tests && node --test e2e/metrics.test.mjs   (needs the built package in ../pkg)
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startCollector } from '../../tools/collector.mjs';
import { withPage } from '../support/browser.mjs';
import { startWorkerd, modulesFromDir } from '../support/workerd.mjs';
import { assertNoInvalid, connectionStringFor } from './scenario.mjs';
import { MetricsModel, recorder, checkRound, checkGetMetrics, metricRounds, roundSignature, point } from './metrics-scenario.mjs';

const PKG_DIR = fileURLToPath(new URL('../../pkg/', import.meta.url));
const E2E_DIR = fileURLToPath(new URL('./', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/metrics-worker.mjs', import.meta.url));

function requirePackage(files) {
  for (const f of files) {
    if (!fs.existsSync(PKG_DIR + f)) throw new Error(`${PKG_DIR}${f} does not exist: build the package (pkg/) before the e2e tests`);
  }
}

/** The data point of the envelope of series `props` of view `name` in one export, or undefined. */
function pointIn(round, name, props) {
  const e = round.find((x) => point(x).name === name && JSON.stringify(x.data.baseData.properties ?? {}) === JSON.stringify(props));
  return e && point(e);
}

describe('stats and metrics in Node', { timeout: 50000 }, () => {
  let edgecensus;

  before(async () => {
    requirePackage(['node.js', 'edgecensus_bg.wasm']);
    edgecensus = await import(new URL('../../pkg/node.js', import.meta.url).href);
  });

  /** A collector and a client factory for one test; both closed when the test ends. */
  async function setup(t) {
    const collector = await startCollector();
    const clients = [];
    t.after(async () => {
      for (const c of clients) await c.shutdown().catch(() => {});
      await collector.close();
    });
    async function newClient(config = {}) {
      const client = await edgecensus.init({ connectionString: connectionStringFor(collector.url), serviceName: 'metrics-e2e', ...config });
      clients.push(client);
      return client;
    }
    return { collector, newClient };
  }

  test('views are exported on the metrics timer, without flush, cumulatively', async (t) => {
    const { collector, newClient } = await setup(t);
    const INTERVAL = 300;
    const client = await newClient({ metricsIntervalMs: INTERVAL });
    const model = new MetricsModel();
    const rec = recorder(client, model);

    // Registration and the first measurements in one synchronous stretch: the first timed export
    // (INTERVAL ms after the first view) sees all of them.
    const registeredAt = Date.now();
    const requests = client.measureInt('e2e_requests', 'requests served', '1');
    const latency = client.measureFloat('e2e_latency', 'request latency', 'ms');
    assert.equal(requests.kind, 'int');
    assert.equal(latency.kind, 'float');
    const views = [
      { name: 'e2e_requests_by_path', description: 'requests by path', measure: requests, columns: ['path'], aggregation: 'count' },
      { name: 'e2e_latency_distribution', measure: latency, columns: ['method'], aggregation: { type: 'distribution', bounds: [10, 100] } },
      { name: 'e2e_latency_total', measure: latency, aggregation: 'sum' },
      { name: 'e2e_latency_last', measure: latency, columns: ['method', 'path'], aggregation: { type: 'lastValue' } },
    ];
    for (const v of views) {
      client.registerView(v);
      model.view(v);
    }

    const getA = { method: 'GET', path: '/a', user: 'not-a-column' };
    const getAMap = client.tagMap(getA);
    const post = { method: 'POST', path: 'a "quoted" \\ value' }; // JSON escaping on the way out
    rec.record(requests, 1, getAMap, getA);
    rec.record(requests, 1, getAMap, getA);
    rec.record(requests, 7, post); // a Count counts measurements, whatever their value
    rec.record(requests, 3); // no tags: a series without the path column
    for (const v of [0, 2.5, 10]) rec.record(latency, v, getAMap, getA); // 10 is a bound: upper bucket
    for (const v of [99.5, 100, 250.125]) rec.record(latency, v, post);
    rec.recordMany([[requests, 1], [latency, 42.25]], { method: 'GET', path: '/b' });

    // No flush anywhere in this test: only the timer can bring these.
    await collector.waitFor((c) => metricRounds(c).length >= 1, 10000);
    const elapsed = Date.now() - registeredAt;
    assert.ok(elapsed >= INTERVAL - 20, `the first export waited for the interval (${INTERVAL} ms), came after ${elapsed} ms`);
    assertNoInvalid(collector);
    const first = metricRounds(collector)[0];
    checkRound(first, model, { role: 'metrics-e2e', label: 'first timed export' });
    checkGetMetrics(client.getMetrics(), model);

    // More of the same series: the next timed export carries the totals since registration.
    const sig1 = roundSignature(first);
    rec.record(requests, 1, getAMap, getA);
    rec.record(requests, 1, post);
    rec.record(latency, 5, getAMap, getA);
    rec.record(latency, 1000, post);
    await collector.waitFor((c) => metricRounds(c).some((r) => roundSignature(r) !== sig1), 10000);
    assertNoInvalid(collector);
    const rounds = metricRounds(collector);
    const later = rounds.find((r) => roundSignature(r) !== sig1);
    checkRound(later, model, { role: 'metrics-e2e', label: 'later timed export' });
    const sig2 = roundSignature(later);
    for (const [i, r] of rounds.entries()) {
      assert.ok([sig1, sig2].includes(roundSignature(r)), `export ${i} holds either the first or the later totals:\n${roundSignature(r)}`);
    }
    // Cumulative, not deltas: the series that got more measurements went up.
    const grew = [
      ['e2e_requests_by_path', { path: '/a' }],
      ['e2e_requests_by_path', { path: post.path }],
      ['e2e_latency_distribution', { method: 'GET' }],
      ['e2e_latency_distribution', { method: 'POST' }],
      ['e2e_latency_total', {}],
    ];
    for (const [name, props] of grew) {
      const a = pointIn(first, name, props);
      const b = pointIn(later, name, props);
      assert.ok(a && b, `${name} ${JSON.stringify(props)} in both exports`);
      assert.ok(b.value > a.value, `${name} ${JSON.stringify(props)}: ${a.value} then ${b.value}`);
      if (a.count !== undefined) assert.ok(b.count > a.count, `${name} ${JSON.stringify(props)}: count ${a.count} then ${b.count}`);
    }
    assert.equal(pointIn(later, 'e2e_requests_by_path', { path: '/b' }).value, pointIn(first, 'e2e_requests_by_path', { path: '/b' }).value, 'a series with nothing new keeps its value');
    checkGetMetrics(client.getMetrics(), model);

    const d = client.diagnostics();
    assert.equal(d.measurementsRecorded, rec.count, 'measurementsRecorded');
    assert.equal(d.measurementsInvalid, 0, 'measurementsInvalid');
    assert.equal(d.seriesOverflow, 0, 'seriesOverflow');
    assert.equal(d.invalidInputs, 0, 'invalidInputs');
  });

  test('bad measurements never throw, are counted, and leave the views alone', async (t) => {
    const { collector, newClient } = await setup(t);
    const client = await newClient({ metricsIntervalMs: 0 });
    const model = new MetricsModel();
    const rec = recorder(client, model);
    const ints = client.measureInt('bad_ints');
    const floats = client.measureFloat('bad_floats'); // only a Sum view
    const sizes = client.measureFloat('bad_sizes'); // only a Distribution view
    const temps = client.measureFloat('bad_temps'); // only a LastValue view: negative is fine
    for (const v of [
      { name: 'bad_ints_count', measure: ints, columns: ['k'], aggregation: 'count' },
      { name: 'bad_floats_sum', measure: floats, columns: ['k'], aggregation: 'sum' },
      { name: 'bad_sizes_distribution', measure: sizes, columns: ['k'], aggregation: { type: 'distribution', bounds: [1, 10] } },
      { name: 'bad_temps_last', measure: temps, aggregation: 'lastValue' },
    ]) {
      client.registerView(v);
      model.view(v);
    }
    const ok = { k: 'ok' };
    rec.record(ints, 4, ok);
    rec.record(floats, 1.5, ok);
    rec.record(sizes, 3, ok);
    rec.record(temps, -40);
    const attempt = (label, fn) => assert.doesNotThrow(fn, `${label} must not throw`);

    // Values no view may keep: counted once each in measurementsInvalid, recorded nowhere.
    let before = client.diagnostics();
    const rejected = [[floats, NaN], [floats, Infinity], [floats, -Infinity], [sizes, NaN], [temps, NaN], [ints, 1.5], [ints, -0.25], [ints, Infinity], [ints, NaN]];
    for (const [m, v] of rejected) attempt(`record(${m.name}, ${v})`, () => client.record(m, v, ok));
    let d = client.diagnostics();
    assert.equal(d.measurementsInvalid - before.measurementsInvalid, rejected.length, 'NaN, infinite and fractional-int values are counted in measurementsInvalid');
    assert.equal(d.measurementsRecorded, before.measurementsRecorded, 'and not counted as recorded');

    // Negative values into Sum and Distribution (their only view refuses them).
    before = d;
    const negatives = [[floats, -1], [sizes, -0.001], [floats, -1e-300]];
    for (const [m, v] of negatives) attempt(`record(${m.name}, ${v})`, () => client.record(m, v, ok));
    d = client.diagnostics();
    assert.equal(d.measurementsInvalid - before.measurementsInvalid, negatives.length, 'negative Sum/Distribution values are counted in measurementsInvalid');

    // Not numbers, and not measures of this client's making: counted (invalidInputs).
    before = d;
    const notNumbers = [[floats, '5'], [floats, undefined], [floats, null], [floats, 5n], [floats, {}], [ints, [1]]];
    const notMeasures = [[undefined, 1], [null, 1], ['bad_floats', 1], [{ name: 'bad_floats', kind: 'float' }, 1], [{ _id: 1, name: 'bad_floats', kind: 'float' }, 1]];
    for (const [m, v] of [...notNumbers, ...notMeasures]) attempt(`record(${String(m?.name ?? m)}, ${typeof v})`, () => client.record(m, v, ok));
    attempt('recordMany(not an array)', () => client.recordMany('nope', ok));
    attempt('recordMany(undefined)', () => client.recordMany(undefined));
    d = client.diagnostics();
    const oddCalls = notNumbers.length + notMeasures.length + 2;
    assert.ok(d.invalidInputs + d.measurementsInvalid - before.invalidInputs - before.measurementsInvalid >= oddCalls, `each of ${oddCalls} odd calls counted: invalidInputs ${before.invalidInputs} -> ${d.invalidInputs}, measurementsInvalid ${before.measurementsInvalid} -> ${d.measurementsInvalid}`);
    assert.equal(d.measurementsRecorded, before.measurementsRecorded, 'odd calls record nothing');

    // Invalid tags, as plain objects and as tag maps: nothing recorded, every attempt counted.
    before = d;
    const badTags = [
      { k: 'caf\u00e9' }, // non-ASCII value
      { ['caf\u00e9']: 'v' }, // non-ASCII key
      { k: 'snow \u2603' },
      { ['k'.repeat(256)]: 'v' }, // 256-character key
      { k: 'v'.repeat(256) }, // 256-character value
      { k: 5 }, // non-string values
      { k: undefined },
      { k: null },
      { k: { nested: 'x' } },
      { '': 'empty key' },
      { k: 'tab\there' }, // control character
      'not an object',
      42,
    ];
    let badRecordings = 0;
    for (const tags of badTags) {
      const label = JSON.stringify(tags)?.slice(0, 40);
      attempt(`record with ${label}`, () => client.record(ints, 1, tags));
      let map;
      attempt(`tagMap(${label})`, () => (map = client.tagMap(tags)));
      attempt(`record with tagMap(${label})`, () => client.record(ints, 1, map));
      attempt(`recordMany with tagMap(${label})`, () => client.recordMany([[ints, 1], [floats, 2]], map));
      badRecordings += 4;
    }
    d = client.diagnostics();
    assert.equal(d.measurementsRecorded, before.measurementsRecorded, 'nothing recorded against invalid tags');
    assert.ok(d.invalidInputs + d.measurementsInvalid - before.invalidInputs - before.measurementsInvalid >= badRecordings, `each of ${badRecordings} recordings against invalid tags counted: invalidInputs ${before.invalidInputs} -> ${d.invalidInputs}, measurementsInvalid ${before.measurementsInvalid} -> ${d.measurementsInvalid}`);

    // The limits themselves are fine: 255 characters, the empty value, the ends of printable ASCII.
    before = d;
    rec.record(ints, 2, { k: '', ['x'.repeat(255)]: 'y'.repeat(255) });
    rec.record(ints, 9, { k: ' !~' });
    rec.record(ints, 1, client.tagMap({ k: 'z'.repeat(255) }), { k: 'z'.repeat(255) });
    // recordMany keeps the good entries around bad ones.
    attempt('recordMany(mixed)', () => client.recordMany([[ints, 2], [ints, 2.5], null, [floats, 0.5], ['x', 1], [sizes, NaN]], ok));
    model.record(ints.name, 2, ok);
    model.record(floats.name, 0.5, ok);
    d = client.diagnostics();
    assert.equal(d.measurementsRecorded - before.measurementsRecorded, 5, 'the three boundary recordings and the two good recordMany entries');
    assert.equal(d.invalidInputs - before.invalidInputs + d.measurementsInvalid - before.measurementsInvalid, 4, 'recordMany: the four bad entries counted once each');

    // What the views hold, and what leaves, is exactly the good measurements.
    checkGetMetrics(client.getMetrics(), model);
    const flushed = await client.flush();
    assertNoInvalid(collector);
    const rounds = metricRounds(collector);
    assert.equal(rounds.length, 1, 'one export (flush; metricsIntervalMs 0 runs no timer)');
    checkRound(rounds[0], model, { role: 'metrics-e2e', label: 'flush' });
    const series = model.viewNames().reduce((n, name) => n + model.series(name).length, 0);
    assert.equal(flushed.accepted, series, `flush(): every series accepted (${JSON.stringify(flushed)})`);
    assert.equal(flushed.rejected, 0);
    assert.equal(client.diagnostics().seriesOverflow, 0);
  });

  test('maxSeriesPerView: new tag combinations past the cap are counted, not exported', async (t) => {
    const { collector, newClient } = await setup(t);
    const MAX = 2;
    const client = await newClient({ metricsIntervalMs: 0, maxSeriesPerView: MAX });
    const model = new MetricsModel();
    const rec = recorder(client, model);
    const hits = client.measureInt('overflow_hits');
    const view = { name: 'overflow_hits_by_user', measure: hits, columns: ['user'], aggregation: 'count' };
    client.registerView(view);
    model.view(view);
    const users = ['alice', 'bob', 'carol'];
    let overflow = 0;
    const before = client.diagnostics();
    for (const [i, user] of [...users, 'carol', 'alice', 'bob', 'carol'].entries()) {
      const tags = { user, request: String(i) }; // a new tag map each time: only the column decides the series
      if (users.indexOf(user) < MAX) rec.record(hits, 1, tags);
      else {
        client.record(hits, 1, tags);
        overflow += 1;
      }
    }
    const d = client.diagnostics();
    assert.equal(d.seriesOverflow - before.seriesOverflow, overflow, 'every measurement of a series past the cap is counted');
    checkGetMetrics(client.getMetrics(), model);
    assert.equal(client.getMetrics()[0].series.length, MAX);

    await client.flush();
    assertNoInvalid(collector);
    const rounds = metricRounds(collector);
    assert.equal(rounds.length, 1);
    assert.equal(rounds[0].length, MAX, `only ${MAX} series exported`);
    checkRound(rounds[0], model, { role: 'metrics-e2e', label: 'flush' });
    assert.ok(!rounds[0].some((e) => e.data.baseData.properties?.user === users[MAX]), 'the series past the cap is not exported');
  });

  test('registering: the same view again is a no-op, a conflicting or invalid one throws a clear Error', async (t) => {
    const { collector, newClient } = await setup(t);
    const client = await newClient({ metricsIntervalMs: 0 });
    const model = new MetricsModel();
    const rec = recorder(client, model);
    const latency = client.measureFloat('reg_latency', 'latency', 'ms');
    const other = client.measureFloat('reg_other', 'something else', 'ms');
    const sum = { name: 'reg_latency_sum', description: 'total latency', measure: latency, columns: ['route'], aggregation: 'sum' };
    const dist = { name: 'reg_latency_distribution', measure: latency, columns: ['route'], aggregation: { type: 'distribution', bounds: [10, 100] } };
    for (const v of [sum, dist]) {
      client.registerView(v);
      model.view(v);
    }
    rec.record(latency, 20, { route: '/' });

    // The same definitions again (fresh but equal objects, and the measure asked for again).
    const again = client.measureFloat('reg_latency', 'latency', 'ms');
    assert.equal(again.name, latency.name);
    assert.equal(again.kind, 'float');
    assert.doesNotThrow(() => client.registerView({ ...sum, columns: ['route'] }));
    assert.doesNotThrow(() => client.registerView({ ...dist, measure: again, aggregation: { type: 'distribution', bounds: [10, 100] } }));
    assert.doesNotThrow(() => client.registerView(sum));
    rec.record(again, 5, { route: '/' });
    checkGetMetrics(client.getMetrics(), model, { label: 'after registering again (data kept, no second view)' });

    const conflict = (name) => (e) => {
      assert.ok(e instanceof Error, `an Error, got ${e}`);
      assert.ok(e.message.includes(name), `the message names ${name}: ${e.message}`);
      assert.match(e.message, /already registered|another definition|conflict/i, 'the message says why');
      return true;
    };
    for (const [what, v] of [
      ['another aggregation', { ...sum, aggregation: 'count' }],
      ['other columns', { ...sum, columns: ['route', 'method'] }],
      ['another measure', { ...sum, measure: other }],
      ['other bounds', { ...dist, aggregation: { type: 'distribution', bounds: [10, 1000] } }],
      ['a distribution instead of a sum', { ...sum, aggregation: { type: 'distribution', bounds: [10, 100] } }],
    ]) {
      assert.throws(() => client.registerView(v), conflict(v.name), `a view with ${what} under a registered name`);
    }
    assert.throws(() => client.measureInt('reg_latency', 'latency', 'ms'), conflict('reg_latency'), 'an int measure under a float measure name');

    // Invalid definitions: an Error that says what is wrong.
    const invalid = [
      [{ name: 'reg_bad_bounds', measure: latency, aggregation: { type: 'distribution', bounds: [100, 10] } }, /increasing/i],
      [{ name: 'reg_negative_bounds', measure: latency, aggregation: { type: 'distribution', bounds: [-1, 10] } }, /negative/i],
      [{ name: 'reg_nan_bounds', measure: latency, aggregation: { type: 'distribution', bounds: [NaN] } }, /finite/i],
      [{ name: 'reg_no_bounds', measure: latency, aggregation: { type: 'distribution' } }, /bounds/i],
      [{ name: 'reg\nnewline', measure: latency, aggregation: 'sum' }, /name/i],
      [{ name: 'x'.repeat(256), measure: latency, aggregation: 'sum' }, /name/i],
      [{ name: 'reg_bad_column', measure: latency, columns: ['caf\u00e9'], aggregation: 'sum' }, /column|tag key/i],
      [{ name: 'reg_median', measure: latency, aggregation: 'median' }, /aggregation/i],
      [{ name: 'reg_no_measure', measure: { name: 'reg_latency', kind: 'float' }, aggregation: 'sum' }, /measure/i],
    ];
    for (const [v, message] of invalid) {
      assert.throws(() => client.registerView(v), (e) => e instanceof Error && message.test(e.message), `registerView(${JSON.stringify(v.name).slice(0, 40)}) throws ${message}`);
    }
    assert.throws(() => client.measureInt('bad name\u00e9'), (e) => e instanceof Error && /name/i.test(e.message));

    // The refused registrations left nothing behind, and the registered views still work.
    rec.record(latency, 200, { route: '/' });
    rec.record(latency, 0.5, { route: '/slow' });
    checkGetMetrics(client.getMetrics(), model, { label: 'after the refused registrations' });
    await client.flush();
    assertNoInvalid(collector);
    const rounds = metricRounds(collector);
    assert.equal(rounds.length, 1);
    checkRound(rounds[0], model, { role: 'metrics-e2e', label: 'flush' });
  });

  test('a sum of finite values too large for a double still exports envelopes the service accepts', async (t) => {
    // Two finite measurements make a Sum (and a Distribution's sum) overflow to Infinity; the
    // envelope then carries `"value": null`, which Breeze refuses, at every export from then on.
    const { collector, newClient } = await setup(t);
    const client = await newClient({ metricsIntervalMs: 0 });
    const bytes = client.measureFloat('huge_bytes');
    const hits = client.measureInt('huge_hits');
    client.registerView({ name: 'huge_bytes_sum', measure: bytes, aggregation: 'sum' });
    client.registerView({ name: 'huge_bytes_distribution', measure: bytes, aggregation: { type: 'distribution', bounds: [1] } });
    client.registerView({ name: 'huge_hits_count', measure: hits, aggregation: 'count' }); // a healthy view: the export happened
    const values = [Number.MAX_VALUE, Number.MAX_VALUE];
    assert.ok(values.every(Number.isFinite));
    assert.equal(values.reduce((a, b) => a + b), Infinity, 'their sum is beyond a double');
    for (const v of values) client.record(bytes, v);
    client.record(hits, 1);
    const flushed = await client.flush();
    assert.ok(metricRounds(collector).some((r) => pointIn(r, 'huge_hits_count', {})?.value === 1), `the flush exported the views:\n${collector.summary()}`);
    // Exported with finite values, or left out (and counted): never an envelope the service refuses.
    assertNoInvalid(collector, 'every Metric envelope within the Breeze schema (a finite value)');
    assert.equal(flushed.rejected, 0, `nothing rejected by the service: ${JSON.stringify(flushed)}`);
  });

  test('a Measure this client did not make is refused, not recorded into another measure', async (t) => {
    const { newClient } = await setup(t);
    const a = await newClient({ metricsIntervalMs: 0 });
    const b = await newClient({ metricsIntervalMs: 0 });
    const fromA = a.measureInt('client_a_requests');
    const bytes = b.measureFloat('client_b_bytes');
    b.registerView({ name: 'client_b_bytes_sum', measure: bytes, aggregation: 'sum' });
    b.record(bytes, 10);
    const sumOf = () => b.getMetrics().find((m) => m.name === 'client_b_bytes_sum').series[0].value;
    assert.equal(sumOf(), 10);
    const before = b.diagnostics();
    assert.doesNotThrow(() => b.record(fromA, 1000));
    assert.equal(sumOf(), 10, `client A's measure ${JSON.stringify(fromA.name)} must not land in client B's ${JSON.stringify(bytes.name)}`);
    assert.doesNotThrow(() => b.record(new edgecensus.Measure(), 1000));
    assert.equal(sumOf(), 10, 'a Measure made with `new Measure()` must not land in an existing measure');
    const d = b.diagnostics();
    assert.equal(d.measurementsRecorded, before.measurementsRecorded, 'neither is counted as recorded');
    assert.equal(d.invalidInputs + d.measurementsInvalid - before.invalidInputs - before.measurementsInvalid, 2, 'both counted as invalid');
  });

  test('a TagMap from another client does not record under another tag set', async (t) => {
    const { newClient } = await setup(t);
    const a = await newClient({ metricsIntervalMs: 0 });
    const b = await newClient({ metricsIntervalMs: 0 });
    const aliceOfA = a.tagMap({ user: 'alice' });
    const hits = b.measureInt('foreign_tags_hits');
    b.registerView({ name: 'foreign_tags_hits_by_user', measure: hits, columns: ['user'], aggregation: 'count' });
    b.record(hits, 1, b.tagMap({ user: 'bob' }));
    const before = b.diagnostics();
    assert.doesNotThrow(() => b.record(hits, 1, aliceOfA));
    const series = b.getMetrics()[0].series.map((s) => [s.tags.user, s.value]);
    const d = b.diagnostics();
    const recorded = d.measurementsRecorded > before.measurementsRecorded;
    // Either recorded under alice (what the map says), or refused and counted; never under bob.
    if (recorded) assert.deepEqual(series.sort(), [['alice', 1], ['bob', 1]], `recorded under the map's own tags: ${JSON.stringify(series)}`);
    else assert.ok(d.invalidInputs + d.measurementsInvalid > before.invalidInputs + before.measurementsInvalid, 'refused and counted');
    assert.deepEqual(series.find(([user]) => user === 'bob'), ['bob', 1], `client A's {user: "alice"} must not count for bob: ${JSON.stringify(series)}`);
  });

  test('recording against an invalid tag map counts in measurementsInvalid, as index.d.ts documents', async (t) => {
    // index.d.ts, Diagnostics.measurementsInvalid: "NaN/infinite values, fractions for int measures,
    // negative Sum/Distribution values, invalid tag maps."
    const { newClient } = await setup(t);
    const client = await newClient({ metricsIntervalMs: 0 });
    const hits = client.measureInt('tagmap_hits');
    client.registerView({ name: 'tagmap_hits_count', measure: hits, columns: ['k'], aggregation: 'count' });
    const invalidMap = client.tagMap({ k: 'caf\u00e9' });
    const before = client.diagnostics();
    const N = 3;
    for (let i = 0; i < N; i++) client.record(hits, 1, invalidMap);
    const d = client.diagnostics();
    assert.equal(d.measurementsRecorded, before.measurementsRecorded);
    assert.equal(d.measurementsInvalid - before.measurementsInvalid, N, `measurementsInvalid ${before.measurementsInvalid} -> ${d.measurementsInvalid} (invalidInputs ${before.invalidInputs} -> ${d.invalidInputs})`);
  });
});

describe('stats and metrics in a browser page', { timeout: 55000 }, () => {
  before(() => requirePackage(['web.js', 'edgecensus_bg.wasm']));

  test('button presses counted in the page arrive on the metrics timer, cross-origin, without flush', async (t) => {
    // The page is served from one origin ("site"), the collector is another: real CORS.
    const site = await startCollector({ staticRoutes: { '/pkg/': PKG_DIR, '/e2e/': E2E_DIR } });
    const collector = await startCollector();
    t.after(async () => {
      await site.close();
      await collector.close();
    });
    const INTERVAL = 500;
    const clicks = { buy: 5, help: 2 };
    const model = new MetricsModel();
    model.view({ name: 'button_presses_by_button', measure: { name: 'button_presses', kind: 'int' }, columns: ['button'], aggregation: 'count' });
    const url = `${site.url}/e2e/fixtures/metrics.html?${new URLSearchParams({ cs: connectionStringFor(collector.url), interval: String(INTERVAL) })}`;

    await withPage(url, async (page, log) => {
      await page.waitForFunction(() => window.__done === true, null, { timeout: 20000 });
      assert.equal(await page.evaluate(() => window.__error ?? null), null, 'the page set up its client');
      for (const [button, n] of Object.entries(clicks)) {
        for (let i = 0; i < n; i++) {
          await page.click(`#${button}`);
          model.record('button_presses', 1, { button, page: 'metrics.html' });
        }
      }
      assert.deepEqual(await page.evaluate(() => window.__presses), clicks, 'the page saw every click');

      const complete = (round) => Object.entries(clicks).every(([button, n]) => pointIn(round, 'button_presses_by_button', { button })?.value === n);
      // Well under the default interval (15 s): only the configured 500 ms can bring them in time.
      await collector.waitFor((c) => metricRounds(c).some(complete), 10000);
      assertNoInvalid(collector);
      const rounds = metricRounds(collector);
      checkRound(rounds.find(complete), model, { role: 'metrics-page', label: 'timed export from the page' });
      // Counts only grow from one export to the next.
      for (const button of Object.keys(clicks)) {
        const seen = rounds.map((r) => pointIn(r, 'button_presses_by_button', { button })?.value ?? 0);
        assert.deepEqual(seen, [...seen].sort((x, y) => x - y), `${button}: counts in arrival order ${seen}`);
      }
      checkGetMetrics(await page.evaluate(() => window.__client.getMetrics()), model, { label: 'getMetrics() in the page' });
      const d = await page.evaluate(() => window.__client.diagnostics());
      assert.equal(d.measurementsRecorded, Object.values(clicks).reduce((a, b) => a + b), 'measurementsRecorded in the page');
      assert.equal(d.measurementsInvalid, 0);
      assert.deepEqual(log.errors.map(String), [], 'no uncaught page errors');
      assert.deepEqual(log.messages.filter((m) => m.type === 'error').map((m) => m.text), [], 'no console errors');
    });
    const posts = collector.trackRequests.filter((r) => r.method === 'POST');
    assert.ok(posts.length >= 1);
    for (const r of posts) assert.equal(r.headers.origin, site.url, 'a cross-origin POST from the page');
  });
});

// Once without any flag, once with nodejs_compat (as workerd.test.mjs does).
for (const compatibilityFlags of [[], ['nodejs_compat']]) {
  const label = compatibilityFlags.length ? compatibilityFlags.join(',') : 'no flags';

  describe(`stats and metrics in workerd (${label})`, { timeout: 55000 }, () => {
    before(() => requirePackage(['workerd.js', 'edgecensus_bg.wasm']));

    test('views registered on the first request; every response flushes the totals so far', async (t) => {
      const collector = await startCollector();
      let worker;
      t.after(async () => {
        await worker?.close();
        await collector.close();
      });
      worker = await startWorkerd({
        modules: [{ name: 'metrics-worker.mjs', path: WORKER, type: 'esModule' }, ...modulesFromDir(PKG_DIR, 'pkg/')],
        bindings: { CONNECTION_STRING: connectionStringFor(collector.url) },
        compatibilityFlags,
      });
      try {
        const model = new MetricsModel();
        model.view({ name: 'worker_hits_by_path', measure: { name: 'worker_hits', kind: 'int' }, columns: ['path'], aggregation: 'count' });
        model.view({ name: 'worker_size_by_path', measure: { name: 'worker_size', kind: 'float' }, columns: ['path'], aggregation: { type: 'distribution', bounds: [10, 100] } });
        const requests = [
          ['/items', 5],
          ['/items', 10],
          ['/other', undefined],
          ['/items', 150.5],
        ];
        for (const [i, [path, n]] of requests.entries()) {
          const query = n === undefined ? '' : `?n=${n}`;
          const response = await fetch(`${worker.url}${path}${query}`);
          assert.equal(response.status, 200, await response.clone().text());
          const body = await response.json();
          model.record('worker_hits', 1, { path });
          if (n !== undefined) model.record('worker_size', n, { path });
          assert.deepEqual(body.tags, { path });
          checkGetMetrics(body.metrics, model, { label: `getMetrics() in the worker after request ${i + 1}` });
          assert.equal(body.diagnostics.measurementsInvalid, 0);

          // No metrics timer in workerd: this export can only be the flush after this response.
          const hits = model.series('worker_hits_by_path').find((s) => s.props.path === path).count;
          const exported = (round) => pointIn(round, 'worker_hits_by_path', { path })?.value === hits;
          await collector.waitFor((c) => metricRounds(c).filter(exported).length >= 1 && metricRounds(c).length >= i + 1, 10000);
          assertNoInvalid(collector);
          const rounds = metricRounds(collector);
          assert.equal(rounds.length, i + 1, `one metrics export per response so far`);
          checkRound(rounds[i], model, { role: 'metrics', label: `the flush after request ${i + 1}` });
        }
        const items = requests.filter(([p]) => p === '/items').length;
        const last = metricRounds(collector).at(-1);
        assert.equal(pointIn(last, 'worker_hits_by_path', { path: '/items' }).value, items, `the cumulative count reached ${items}`);
        assert.ok(collector.envelopes.filter((e) => e.data.baseType === 'RequestData').length >= requests.length, 'the requests were traced too');
      } catch (e) {
        worker.printOutput(`workerd output (${label})`);
        throw e;
      }
    });
  });
}
