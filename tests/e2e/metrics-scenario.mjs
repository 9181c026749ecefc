// Helpers of the stats/metrics end-to-end tests (Node only): a reference model of what the views
// must hold, computed independently from the values a test recorded, and checks of the
// `Microsoft.ApplicationInsights.Metric` envelopes and of `client.getMetrics()` against it.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { parseTrackBody } from '../../tools/collector.mjs';
import { IKEY } from './scenario.mjs';

export const METRIC_ENVELOPE = 'Microsoft.ApplicationInsights.Metric';

export const isMetric = (e) => e?.data?.baseType === 'MetricData';
/** The one data point of a Metric envelope. */
export const point = (e) => e.data.baseData.metrics[0];

/** The Metric envelopes accepted so far, optionally only those of one view. */
export function metricEnvelopes(collector, viewName) {
  return collector.envelopes.filter((e) => isMetric(e) && (viewName === undefined || point(e)?.name === viewName));
}

/**
 * The metric exports received, in arrival order: for each track request that carried Metric
 * envelopes, those envelopes (read from the request body, so refused ones are included).
 * A timed export or a flush sends every series of every view in one request.
 */
export function metricRounds(collector) {
  const rounds = [];
  for (const r of collector.trackRequests) {
    let items;
    try {
      items = parseTrackBody(r.bodyText ?? '');
    } catch {
      continue;
    }
    const metrics = items.filter(isMetric);
    if (metrics.length) rounds.push(metrics);
  }
  return rounds;
}

/** A canonical text of a round's values (to tell one export's state from another's). */
export function roundSignature(round) {
  return round
    .map((e) => JSON.stringify([point(e).name, sorted(e.data.baseData.properties ?? {}), point(e).value, point(e).count ?? null]))
    .sort()
    .join('\n');
}

function sorted(obj) {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** |actual - expected| within a relative 1e-9 (sums and deviations are float arithmetic). */
export function assertClose(actual, expected, label) {
  assert.equal(typeof actual, 'number', `${label}: a number, got ${JSON.stringify(actual)}`);
  const tolerance = 1e-9 * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tolerance, `${label}: ${actual} should be ${expected}`);
}

/**
 * What the views must hold, from the values recorded: a plain re-implementation of OpenCensus
 * view semantics (one series per combination of the column values, cumulative aggregates).
 */
export class MetricsModel {
  #views = new Map();
  #viewsOfMeasure = new Map();

  /** `aggregation`: 'count' | 'sum' | 'lastValue' | {type: 'distribution', bounds}. */
  view({ name, measure, columns = [], aggregation }) {
    const type = typeof aggregation === 'string' ? aggregation : aggregation.type;
    const bounds = type === 'distribution' ? [...aggregation.bounds] : undefined;
    this.#views.set(name, { name, measure: measure.name, kind: measure.kind, columns: [...columns], type, bounds, series: new Map() });
    const list = this.#viewsOfMeasure.get(measure.name) ?? [];
    list.push(name);
    this.#viewsOfMeasure.set(measure.name, list);
  }

  /** One measurement of `measureName` with `tags` (a plain object), for every view of the measure. */
  record(measureName, value, tags = {}) {
    for (const name of this.#viewsOfMeasure.get(measureName) ?? []) {
      const view = this.#views.get(name);
      const props = {};
      for (const column of view.columns) if (typeof tags[column] === 'string') props[column] = tags[column];
      const key = JSON.stringify(view.columns.map((c) => props[c] ?? null));
      let series = view.series.get(key);
      if (!series) view.series.set(key, (series = { props, values: [] }));
      series.values.push(value);
    }
  }

  viewNames() {
    return [...this.#views.keys()];
  }

  viewDef(name) {
    return this.#views.get(name);
  }

  /** The expected series of a view: {props, count, sum, last, min, max, mean, ssd, stdDev, buckets}. */
  series(name) {
    const view = this.#views.get(name);
    return [...view.series.values()].map(({ props, values }) => {
      const count = values.length;
      const sum = values.reduce((a, b) => a + b, 0);
      const mean = sum / count;
      const ssd = values.reduce((a, v) => a + (v - mean) ** 2, 0);
      const out = { props, values: [...values], count, sum, last: values[count - 1], min: Math.min(...values), max: Math.max(...values), mean, ssd, stdDev: Math.sqrt(ssd / count) };
      if (view.bounds) {
        // Bucket i holds [bounds[i-1], bounds[i]): the first starts at 0, the last is unbounded.
        const b = view.bounds;
        out.buckets = Array.from({ length: b.length + 1 }, (_, i) => values.filter((v) => (i === 0 || v >= b[i - 1]) && (i === b.length || v < b[i])).length);
      }
      return out;
    });
  }

  /** The value a Count/Sum/LastValue view exports for a series (the sum for a distribution). */
  valueOf(name, series) {
    const type = this.#views.get(name).type;
    return type === 'count' ? series.count : type === 'lastValue' ? series.last : series.sum;
  }
}

/** Records on the client and in the model at once. `tags` for the client may be a TagMap; `plain` is what it holds. */
/** `count` is the number of measurements made through it. */
export function recorder(client, model) {
  const r = {
    count: 0,
    record(measure, value, tags, plain = tags) {
      client.record(measure, value, tags);
      model.record(measure.name, value, plain ?? {});
      r.count += 1;
    },
    recordMany(measurements, tags, plain = tags) {
      client.recordMany(measurements, tags);
      for (const [measure, value] of measurements) model.record(measure.name, value, plain ?? {});
      r.count += measurements.length;
    },
  };
  return r;
}

/**
 * Checks one export (the Metric envelopes of one request) against the model: exactly one envelope
 * per expected series of every view, nothing else, each well-formed with the expected values.
 */
export function checkRound(round, model, { role, iKey = IKEY, label = 'export' } = {}) {
  const names = model.viewNames();
  for (const e of round) assert.ok(names.includes(point(e)?.name), `${label}: unexpected metric ${JSON.stringify(point(e)?.name)}`);
  for (const name of names) {
    const expected = model.series(name);
    const envelopes = round.filter((e) => point(e).name === name);
    assert.equal(envelopes.length, expected.length, `${label}: one envelope per series of ${name}: ${JSON.stringify(envelopes.map((e) => e.data.baseData.properties))}`);
    for (const s of expected) {
      const what = `${label}: ${name} ${JSON.stringify(s.props)}`;
      const matching = envelopes.filter((e) => isDeepStrictEqual(e.data.baseData.properties ?? {}, s.props));
      assert.equal(matching.length, 1, `${what}: one envelope with exactly these properties, got ${JSON.stringify(envelopes.map((e) => e.data.baseData.properties))}`);
      checkEnvelope(matching[0], model, name, s, { role, iKey, what });
    }
  }
}

function checkEnvelope(e, model, name, s, { role, iKey, what }) {
  assert.equal(e.name, METRIC_ENVELOPE, `${what}: envelope name`);
  assert.equal(e.iKey, iKey, `${what}: iKey`);
  if (role !== undefined) assert.equal(e.tags?.['ai.cloud.role'], role, `${what}: ai.cloud.role`);
  assert.ok(Math.abs(Date.parse(e.time) - Date.now()) < 10 * 60_000, `${what}: time ${e.time} is about now`);
  assert.equal(e.data.baseType, 'MetricData', `${what}: baseType`);
  assert.equal(e.data.baseData.metrics.length, 1, `${what}: one data point`);
  const p = point(e);
  assert.equal(p.name, name, `${what}: metric name`);
  assert.equal(p.ns, name, `${what}: metric namespace`);
  const type = model.viewDef(name).type;
  if (type === 'distribution') {
    assert.equal(p.kind, 1, `${what}: a distribution is an aggregation (kind 1)`);
    assertClose(p.value, s.sum, `${what}: value (the sum)`);
    assert.equal(p.count, s.count, `${what}: count`);
    assert.equal(p.min, s.min, `${what}: min`);
    assert.equal(p.max, s.max, `${what}: max`);
    assertClose(p.stdDev, s.stdDev, `${what}: stdDev (population)`);
  } else {
    assert.equal(p.kind, 0, `${what}: kind 0`);
    if (type === 'sum') assertClose(p.value, s.sum, `${what}: value (sum)`);
    else assert.equal(p.value, model.valueOf(name, s), `${what}: value (${type})`);
    for (const field of ['count', 'min', 'max', 'stdDev']) assert.equal(p[field], undefined, `${what}: no ${field} on a ${type}`);
  }
}

/** Checks `client.getMetrics()` against the model (every view, every series, every statistic). */
export function checkGetMetrics(metrics, model, { label = 'getMetrics()' } = {}) {
  const names = model.viewNames();
  assert.deepEqual(metrics.map((m) => m.name).sort(), [...names].sort(), `${label}: the registered views`);
  for (const name of names) {
    const def = model.viewDef(name);
    const m = metrics.find((x) => x.name === name);
    const what = `${label} ${name}`;
    assert.equal(m.aggregation, def.type, `${what}: aggregation`);
    assert.deepEqual(m.columns, def.columns, `${what}: columns`);
    assert.equal(m.measure?.name, def.measure, `${what}: measure name`);
    assert.equal(m.measure?.kind, def.kind, `${what}: measure kind`);
    if (def.bounds) assert.deepEqual(m.bounds, def.bounds, `${what}: bounds`);
    assert.equal(typeof m.startTime, 'number', `${what}: startTime`);
    const expected = model.series(name);
    assert.equal(m.series.length, expected.length, `${what}: series ${JSON.stringify(m.series.map((x) => x.tags))}`);
    for (const s of expected) {
      const found = m.series.filter((x) => isDeepStrictEqual(x.tags, s.props));
      assert.equal(found.length, 1, `${what}: one series with tags ${JSON.stringify(s.props)}, got ${JSON.stringify(m.series.map((x) => x.tags))}`);
      const p = found[0];
      const w = `${what} ${JSON.stringify(s.props)}`;
      assert.ok(p.timestamp >= m.startTime, `${w}: timestamp ${p.timestamp} not before startTime ${m.startTime}`);
      if (def.type === 'distribution') {
        assert.equal(p.count, s.count, `${w}: count`);
        assertClose(p.sum, s.sum, `${w}: sum`);
        assertClose(p.mean, s.mean, `${w}: mean`);
        assert.equal(p.min, s.min, `${w}: min`);
        assert.equal(p.max, s.max, `${w}: max`);
        assertClose(p.sumOfSquaredDeviation, s.ssd, `${w}: sumOfSquaredDeviation`);
        assert.deepEqual(p.bucketCounts, s.buckets, `${w}: bucketCounts (bucket i = [bounds[i-1], bounds[i]))`);
      } else if (def.type === 'sum') {
        assertClose(p.value, s.sum, `${w}: value`);
      } else {
        assert.equal(p.value, model.valueOf(name, s), `${w}: value`);
      }
    }
  }
}
