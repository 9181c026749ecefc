// What the OTLP scenario (tests/e2e/fixtures/otlp-scenario.mjs) must have sent, computed from what
// it did (its constants and the facts it returned), checked against what the real decoder
// (tests/otlp/server.py) made of the exports. Node only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { hexId, describeReceived } from './decoder.mjs';
import * as S from '../e2e/fixtures/otlp-scenario.mjs';

/** The crate version: the scope version and telemetry.sdk.version (env!("CARGO_PKG_VERSION")). */
export const SDK_VERSION = /^\s*version\s*=\s*"([^"]+)"/m.exec(fs.readFileSync(new URL('../../Cargo.toml', import.meta.url), 'utf8'))[1];

/** Clock readings of the host and of the scenario may differ this much (ms). */
export const SLACK_MS = 100;

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/** A JS attribute value as the decoder renders the AnyValue the package must have sent. */
export function anyValue(v) {
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'bigint':
      return { stringValue: v.toString() };
    case 'number':
      return Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER ? { intValue: String(v) } : { doubleValue: v };
    default:
      if (Array.isArray(v)) return { stringValue: JSON.stringify(v) };
      throw new Error(`no attribute form for ${String(v)}`);
  }
}

/** Log properties are text (objects as JSON). */
export function propertyText(v) {
  return typeof v === 'string' ? v : v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** [[key, AnyValue]] from [[key, js value]] or {key: js value}. */
export function expectedAttributes(entries, form = anyValue) {
  const list = Array.isArray(entries) ? entries : Object.entries(entries ?? {});
  return list.map(([k, v]) => [k, form(v)]);
}

/** The decoded KeyValue list as [[key, AnyValue]]. */
export function attributesOf(list) {
  return (list ?? []).map(({ key, value }) => [key, value]);
}

/** Nanoseconds exactly as the package computes them from milliseconds: whole milliseconds
 *  × 10^6, plus the fraction × 10^6 truncated (src/tape.rs, `Reader::time`). */
export function nanos(ms) {
  const whole = Math.trunc(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.trunc((ms - whole) * 1e6));
}

export function assertNanos(actual, ms, label) {
  assert.equal(typeof actual, 'string', `${label}: fixed64 as a decimal string, got ${JSON.stringify(actual)}`);
  assert.equal(BigInt(actual), nanos(ms), `${label}: ${actual} should be ${nanos(ms)} (${ms} ms)`);
}

export function assertNanosWithin(actual, fromMs, toMs, label, slackMs = SLACK_MS) {
  assert.equal(typeof actual, 'string', `${label}: fixed64 as a decimal string, got ${JSON.stringify(actual)}`);
  const t = BigInt(actual);
  const low = nanos(fromMs - slackMs);
  const high = nanos(toMs + slackMs);
  assert.ok(t >= low && t <= high, `${label}: ${actual} (${Number(t) / 1e6} ms) should lie in [${fromMs}, ${toMs}] ms (± ${slackMs} ms)`);
}

export function assertClose(actual, expected, label) {
  assert.equal(typeof actual, 'number', `${label}: a number, got ${JSON.stringify(actual)}`);
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${label}: ${actual} should be ${expected}`);
}

// ---------------------------------------------------------------------------------------------
// The decoded exports, flattened
// ---------------------------------------------------------------------------------------------

const bySeq = (a, b) => a.seq - b.seq;

/** {spans, logs, metricRounds, containers} from the decoder's /received. */
export function flatten(received) {
  const out = { spans: [], logs: [], metricRounds: [], containers: [] };
  for (const { seq, message } of [...received.traces].sort(bySeq)) {
    for (const rs of message.resourceSpans) {
      out.containers.push({ signal: 'traces', seq, resource: rs.resource, scopes: rs.scopeSpans.map((s) => s.scope) });
      for (const ss of rs.scopeSpans) for (const span of ss.spans) out.spans.push({ seq, span, id: hexId(span.spanId) });
    }
  }
  for (const { seq, message } of [...received.logs].sort(bySeq)) {
    for (const rl of message.resourceLogs) {
      out.containers.push({ signal: 'logs', seq, resource: rl.resource, scopes: rl.scopeLogs.map((s) => s.scope) });
      for (const sl of rl.scopeLogs) for (const log of sl.logRecords) out.logs.push({ seq, log });
    }
  }
  // A metric export: every metric made at one time (each export gives all its points one time).
  // Usually one request; exports queued while the endpoint was down may share a request.
  const rounds = new Map();
  for (const { seq, message } of [...received.metrics].sort(bySeq)) {
    for (const rm of message.resourceMetrics) {
      out.containers.push({ signal: 'metrics', seq, resource: rm.resource, scopes: rm.scopeMetrics.map((s) => s.scope) });
      for (const sm of rm.scopeMetrics) {
        for (const metric of sm.metrics) {
          const data = metric.sum ?? metric.gauge ?? metric.histogram ?? metric.exponentialHistogram ?? metric.summary;
          const time = data?.dataPoints?.[0]?.timeUnixNano ?? '0';
          if (!rounds.has(time)) rounds.set(time, { seq, time, metrics: [] });
          rounds.get(time).metrics.push(metric);
        }
      }
    }
  }
  out.metricRounds = [...rounds.values()].sort((a, b) => (BigInt(a.time) < BigInt(b.time) ? -1 : 1));
  return out;
}

export const exportRequests = (received) => received.requests.filter((r) => r.method === 'POST' && r.signal);

// ---------------------------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------------------------

export function expectedResource(service = S.SERVICE, resource = S.RESOURCE) {
  const list = [['service.name', service.serviceName ?? 'edgecensus']];
  if (service.serviceVersion !== undefined) list.push(['service.version', service.serviceVersion]);
  if (service.serviceInstance !== undefined) list.push(['service.instance.id', service.serviceInstance]);
  list.push(['telemetry.sdk.name', 'edgecensus'], ['telemetry.sdk.language', 'rust'], ['telemetry.sdk.version', SDK_VERSION]);
  list.push(...Object.entries(resource));
  return expectedAttributes(list);
}

const SEVERITY = {
  debug: ['SEVERITY_NUMBER_DEBUG', 'DEBUG'],
  info: ['SEVERITY_NUMBER_INFO', 'INFO'],
  warning: ['SEVERITY_NUMBER_WARN', 'WARN'],
  error: ['SEVERITY_NUMBER_ERROR', 'ERROR'],
  critical: ['SEVERITY_NUMBER_FATAL', 'FATAL'],
};

/**
 * The spans of phase 1 (and the worker's server spans) by id. `root` describes the root span when
 * the host made it (workerd): {name, attributes: [[k, AnyValue]], parentSpanId, traceState,
 * startWindow: [ms, ms], endWindow: [ms, ms]}.
 */
export function expectedSpans(f, { root } = {}) {
  const at = (key) => f.base + S.AT[key];
  const window = [f.before, f.after];
  const trace = S.REMOTE.traceId;
  const none = { attributes: [], droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: ['STATUS_CODE_UNSET', ''] };
  const spans = new Map();
  spans.set(f.root.spanId, {
    ...none,
    label: 'root',
    traceId: trace,
    traceState: root?.traceState ?? S.REMOTE.traceState,
    parentSpanId: root?.parentSpanId ?? S.REMOTE.spanId,
    name: root?.name ?? 'otlp-root',
    kind: 'SPAN_KIND_SERVER',
    start: root ? { window: root.startWindow } : { exact: f.base },
    end: root ? { window: root.endWindow } : { exact: at('rootEnd') },
    attributes: root?.attributes ?? expectedAttributes(S.ROOT_ATTRIBUTES),
  });
  const clientAttributes = S.CLIENT_ATTRIBUTES.slice(0, S.LIMITS.attributeCount).map(([k, v]) => [k, k === 'retries' ? S.CLIENT_RETRIES_AFTER : v]);
  const eventAttributes = Object.entries(S.EVENT_ATTRIBUTES);
  const linkAttributes = Object.entries(S.LINK_ATTRIBUTES);
  spans.set(f.client.spanId, {
    ...none,
    label: 'client',
    traceId: trace,
    parentSpanId: f.root.spanId,
    name: 'otlp-client',
    kind: 'SPAN_KIND_CLIENT',
    start: { exact: at('clientStart') },
    end: { exact: at('clientEnd') },
    attributes: expectedAttributes(clientAttributes),
    droppedAttributesCount: S.CLIENT_ATTRIBUTES.length - S.LIMITS.attributeCount,
    events: [
      { name: 'cache.miss', time: { exact: at('cacheMiss') }, attributes: expectedAttributes(eventAttributes.slice(0, S.LIMITS.attributeCount)), droppedAttributesCount: eventAttributes.length - S.LIMITS.attributeCount },
      { name: 'retry ✓', time: { window: [f.retryEventBefore, f.retryEventAfter] }, attributes: [], droppedAttributesCount: 0 },
      {
        name: 'exception',
        time: { window: [f.retryEventBefore, f.retryEventAfter] },
        attributes: expectedAttributes([['exception.type', 'Error'], ['exception.message', 'upstream timeout'], ['exception.stacktrace', f.upstreamStack]]),
        droppedAttributesCount: 0,
      },
    ],
    droppedEventsCount: 1, // 'overflow', over LIMITS.eventCount (3)
    links: [{ traceId: S.LINKED.traceId, spanId: S.LINKED.spanId, traceState: S.LINKED.traceState, attributes: expectedAttributes(linkAttributes.slice(0, S.LIMITS.attributeCount)), droppedAttributesCount: linkAttributes.length - S.LIMITS.attributeCount }],
    droppedLinksCount: 1, // LINKED_2, over LIMITS.linkCount (1)
    status: ['STATUS_CODE_ERROR', 'Error: upstream timeout'], // recordException
  });
  spans.set(f.internal.spanId, { ...none, label: 'internal', traceId: trace, parentSpanId: f.root.spanId, name: 'otlp-internal', kind: 'SPAN_KIND_INTERNAL', start: { window }, end: { window }, status: ['STATUS_CODE_OK', ''] });
  spans.set(f.producer.spanId, {
    ...none,
    label: 'producer',
    traceId: trace,
    parentSpanId: f.root.spanId,
    name: 'otlp-producer',
    kind: 'SPAN_KIND_PRODUCER',
    start: { exact: at('producerStart') },
    end: { exact: at('producerEnd') },
    attributes: expectedAttributes(S.PRODUCER_ATTRIBUTES),
  });
  spans.set(f.consumer.spanId, { ...none, label: 'consumer', traceId: trace, parentSpanId: f.producer.spanId, name: 'otlp-consumer', kind: 'SPAN_KIND_CONSUMER', start: { exact: at('consumerStart') }, end: { exact: at('consumerEnd') }, status: ['STATUS_CODE_ERROR', ''] });
  spans.set(f.with.spanId, { ...none, label: 'with', traceId: trace, parentSpanId: f.root.spanId, name: 'otlp-with', kind: 'SPAN_KIND_INTERNAL', start: { window }, end: { window } });
  for (const s of spans.values()) s.traceState ??= S.REMOTE.traceState;
  return spans;
}

/** The log records of phase 1 in order: {label, severity, body, attributes, correlation, window}. */
export function expectedLogs(f) {
  const window = [f.before, f.after];
  const ambient = f.activeAtStart; // the span active where the scenario ran (the worker's server span)
  const logs = [];
  // Properties past LIMITS.attributeCount are dropped (and must be counted in droppedAttributesCount).
  const props = (p) => expectedAttributes(Object.entries(p ?? {}).slice(0, S.LIMITS.attributeCount), (v) => anyValue(propertyText(v)));
  const dropped = (p) => Math.max(0, Object.keys(p ?? {}).length - S.LIMITS.attributeCount);
  for (const [method, message, properties] of S.LOGS) {
    logs.push({ label: `logger.${method} ${JSON.stringify(message)}`, severity: SEVERITY[method], body: message, attributes: [...props(properties), ['logger.name', anyValue(S.LOGGER)]], droppedAttributesCount: dropped(properties), correlation: ambient, window });
  }
  logs.push({ label: 'client.log', severity: SEVERITY[S.PLAIN_LOG[0]], body: S.PLAIN_LOG[1], attributes: props(S.PLAIN_LOG[2]), correlation: ambient, window });
  logs.push({ label: 'log in withSpan', severity: SEVERITY[S.SPAN_LOG[0]], body: S.SPAN_LOG[1], attributes: [...props(S.SPAN_LOG[2]), ['logger.name', anyValue(S.LOGGER)]], correlation: f.with, window });
  logs.push({
    label: 'trackException(TypeError with a cause, {span})',
    severity: SEVERITY.error,
    body: 'bad input',
    attributes: expectedAttributes([
      ['exception.type', 'TypeError'],
      ['exception.message', 'bad input'],
      ['exception.stacktrace', f.typeErrorStack],
      ['exception.causes', 'RangeError: deep cause'],
      ['where', 'scenario'],
    ]),
    correlation: f.client,
    window,
  });
  logs.push({
    label: 'logger.exception',
    severity: SEVERITY.error,
    body: 'logged exception',
    attributes: expectedAttributes([
      ['exception.type', 'Error'],
      ['exception.message', 'logged exception'],
      ['exception.stacktrace', f.loggedStack],
      ['k', 'v'],
      ['loggerName', S.LOGGER], // Logger.exception passes the logger's name as this property
    ]),
    correlation: ambient,
    window,
  });
  logs.push({
    label: 'trackException(string, critical)',
    severity: SEVERITY.critical,
    body: 'a thrown string',
    attributes: expectedAttributes([['exception.type', 'string'], ['exception.message', 'a thrown string']]), // no stack
    correlation: ambient,
    window,
  });
  return logs;
}

/** OpenCensus buckets: bucket i holds [bounds[i-1], bounds[i]) (documented in index.d.ts). */
export function bucketIndex(bounds, v) {
  return bounds.filter((b) => b <= v).length;
}

/**
 * Every view's series after `records`: Map(view name -> {view, measure, series: Map(key -> data)}).
 * A series is keyed by its column values (a missing tag: no attribute).
 */
export function aggregate(records) {
  const views = new Map();
  for (const view of S.VIEWS) {
    const measure = S.MEASURES.find((m) => m.name === view.measure);
    const type = typeof view.aggregation === 'string' ? view.aggregation : view.aggregation.type;
    const series = new Map();
    for (const [name, value, tags] of records) {
      if (name !== view.measure) continue;
      const attributes = view.columns.filter((c) => tags[c] !== undefined).map((c) => [c, { stringValue: tags[c] }]);
      const key = JSON.stringify(view.columns.map((c) => tags[c] ?? null));
      const s = series.get(key) ?? { attributes, count: 0, sum: 0, last: undefined, min: Infinity, max: -Infinity, buckets: type === 'distribution' ? new Array(view.aggregation.bounds.length + 1).fill(0) : null };
      s.count++;
      s.sum += value;
      s.last = value;
      s.min = Math.min(s.min, value);
      s.max = Math.max(s.max, value);
      if (s.buckets) s.buckets[bucketIndex(view.aggregation.bounds, value)]++;
      series.set(key, s);
    }
    views.set(view.name, { view, measure, type, series });
  }
  return views;
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/**
 * Checks one run of the scenario, aspect by aspect, each in its own subtest of `t`.
 * `run`: {phase1, phase2} facts (phase2 may be absent). Options:
 *   gzip          every export has content-encoding: gzip (false: none)
 *   headers       the custom headers every export must carry
 *   metricRounds  how many metric exports (the first after phase 1, the others after phase 2)
 *   root          see expectedSpans (a root the host made)
 *   extraSpans    Map(spanId -> expected) of other spans the host made (the worker's later requests)
 *   metricsBetween [ms, ms] per round: when each metric export was made (the time of its points)
 */
export async function checkOtlp(t, received, run, { gzip = true, headers = S.HEADERS, metricRounds = 2, root, extraSpans, metricsBetween } = {}) {
  const f = run.phase1;
  const got = flatten(received);
  const context = () => `\n${describeReceived(received)}`;

  await t.test('transport: OTLP/HTTP JSON to /v1/{traces,metrics,logs}, decoded by opentelemetry-proto without a single error', () => {
    assert.deepEqual(received.errors, [], `the decoder found problems:${context()}`);
    const posts = exportRequests(received);
    assert.ok(posts.length >= 3, `at least one export per signal:${context()}`);
    for (const signal of ['traces', 'metrics', 'logs']) assert.ok(posts.some((r) => r.signal === signal), `an export to /v1/${signal}:${context()}`);
    for (const r of posts) {
      const label = `#${r.seq} POST ${r.path}`;
      assert.equal(r.decoded, true, `${label} decoded`);
      assert.equal(r.answered, 200, `${label} answered 200`);
      assert.match(r.contentType ?? '', /^application\/json(;|$)/, `${label}: content-type`);
      if (gzip) assert.equal(r.contentEncoding, 'gzip', `${label}: gzip (the host has CompressionStream)`);
      else assert.equal(r.contentEncoding ?? null, null, `${label}: no content-encoding with compression "none"`);
      if (gzip) assert.ok(r.bodyBytes < r.jsonBytes || r.jsonBytes < 200, `${label}: the gzip body (${r.bodyBytes} B) is smaller than the JSON (${r.jsonBytes} B)`);
      for (const [name, value] of Object.entries(headers)) assert.equal(r.headers[name.toLowerCase()], value, `${label}: header ${name}`);
    }
  });

  await t.test('resource (service.*, telemetry.sdk.*, custom) and scope on every export', () => {
    const resource = expectedResource();
    assert.ok(got.containers.length >= 3, `containers:${context()}`);
    const perRequest = new Map();
    for (const c of got.containers) perRequest.set(c.seq, (perRequest.get(c.seq) ?? 0) + 1);
    for (const [seq, n] of perRequest) assert.equal(n, 1, `#${seq}: one resource per request`);
    for (const c of got.containers) {
      const label = `#${c.seq} ${c.signal}`;
      assert.deepEqual(attributesOf(c.resource.attributes), resource, `${label}: resource attributes`);
      assert.equal(c.resource.droppedAttributesCount, 0, `${label}: resource droppedAttributesCount`);
      assert.equal(c.scopes.length, 1, `${label}: one scope`);
      assert.equal(c.scopes[0].name, 'edgecensus', `${label}: scope name`);
      assert.equal(c.scopes[0].version, SDK_VERSION, `${label}: scope version`);
    }
  });

  const spans = expectedSpans(f, { root });
  if (extraSpans) for (const [id, s] of extraSpans) spans.set(id, s);

  await t.test('spans: every span once; ids, parents, trace state, kinds, names, flags, times', () => {
    const ids = got.spans.map((s) => s.id);
    assert.deepEqual([...ids].sort(), [...spans.keys()].sort(), `exactly the spans made, once each (${[...spans.values()].map((s) => s.label)}):${context()}`);
    for (const { span, id } of got.spans) {
      const e = spans.get(id);
      const label = `span ${e.label} (${span.name})`;
      assert.equal(hexId(span.traceId), e.traceId, `${label}: traceId`);
      assert.equal(hexId(span.parentSpanId), e.parentSpanId, `${label}: parentSpanId`);
      assert.equal(span.traceState, e.traceState, `${label}: traceState`);
      assert.equal(span.name, e.name, `${label}: name`);
      assert.equal(span.kind, e.kind, `${label}: kind`);
      assert.equal(span.flags, 1, `${label}: flags (sampled)`);
      for (const [which, want] of [['startTimeUnixNano', e.start], ['endTimeUnixNano', e.end]]) {
        if (want.exact !== undefined) assertNanos(span[which], want.exact, `${label}: ${which}`);
        else assertNanosWithin(span[which], want.window[0], want.window[1], `${label}: ${which}`);
      }
      assert.ok(BigInt(span.endTimeUnixNano) >= BigInt(span.startTimeUnixNano), `${label}: ends after it starts`);
    }
  });

  await t.test('spans: typed attributes (string, int, double, bool, bigint and arrays as text) and dropped counts', () => {
    for (const { span, id } of got.spans) {
      const e = spans.get(id);
      const label = `span ${e.label}`;
      assert.deepEqual(attributesOf(span.attributes), e.attributes, `${label}: attributes`);
      assert.equal(span.droppedAttributesCount, e.droppedAttributesCount, `${label}: droppedAttributesCount`);
    }
  });

  await t.test('spans: events (names, times, attributes, the exception event) and droppedEventsCount', () => {
    for (const { span, id } of got.spans) {
      const e = spans.get(id);
      const label = `span ${e.label}`;
      assert.deepEqual(span.events.map((x) => x.name), e.events.map((x) => x.name), `${label}: event names`);
      span.events.forEach((event, i) => {
        const want = e.events[i];
        const el = `${label}: event ${i} (${event.name})`;
        if (want.time.exact !== undefined) assertNanos(event.timeUnixNano, want.time.exact, `${el} time`);
        else assertNanosWithin(event.timeUnixNano, want.time.window[0], want.time.window[1], `${el} time`);
        assert.deepEqual(attributesOf(event.attributes), want.attributes, `${el} attributes`);
        assert.equal(event.droppedAttributesCount, want.droppedAttributesCount, `${el} droppedAttributesCount`);
      });
      assert.equal(span.droppedEventsCount, e.droppedEventsCount, `${label}: droppedEventsCount`);
    }
  });

  await t.test('spans: links (ids, attributes, dropped counts) and droppedLinksCount', () => {
    for (const { span, id } of got.spans) {
      const e = spans.get(id);
      const label = `span ${e.label}`;
      assert.equal(span.links.length, e.links.length, `${label}: links`);
      span.links.forEach((link, i) => {
        const want = e.links[i];
        assert.equal(hexId(link.traceId), want.traceId, `${label}: link ${i} traceId`);
        assert.equal(hexId(link.spanId), want.spanId, `${label}: link ${i} spanId`);
        assert.deepEqual(attributesOf(link.attributes), want.attributes, `${label}: link ${i} attributes`);
        assert.equal(link.droppedAttributesCount, want.droppedAttributesCount, `${label}: link ${i} droppedAttributesCount (its 9th attribute)`);
      });
      assert.equal(span.droppedLinksCount, e.droppedLinksCount, `${label}: droppedLinksCount`);
    }
  });

  await t.test('spans: a link keeps the trace state of the context it links to', () => {
    for (const { span, id } of got.spans) {
      const e = spans.get(id);
      assert.deepEqual(span.links.map((l) => l.traceState), e.links.map((l) => l.traceState), `span ${e.label}: links' traceState (the API takes a SpanContext with traceState)`);
    }
  });

  await t.test('spans: status (unset, ok is final, error with and without message)', () => {
    for (const { span, id } of got.spans) {
      const e = spans.get(id);
      assert.deepEqual([span.status.code, span.status.message], e.status, `span ${e.label}: status`);
    }
  });

  const logs = expectedLogs(f);
  await t.test('logs: severity number and text, body, attributes, times, trace/span correlation', () => {
    const plain = logs.slice(0, S.LOGS.length + 2);
    const gotPlain = got.logs.filter(({ log }) => !attributesOf(log.attributes).some(([k]) => k === 'exception.type'));
    assert.deepEqual(gotPlain.map(({ log }) => log.body.stringValue), plain.map((l) => l.body), `the log records in order:${context()}`);
    gotPlain.forEach(({ log }, i) => checkLog(log, plain[i]));
  });

  await t.test('logs: properties dropped by the attribute limit are counted in droppedAttributesCount', () => {
    const plain = logs.slice(0, S.LOGS.length + 2);
    const gotPlain = got.logs.filter(({ log }) => !attributesOf(log.attributes).some(([k]) => k === 'exception.type'));
    assert.deepEqual(
      gotPlain.map(({ log }) => [log.body.stringValue, log.droppedAttributesCount]),
      plain.map((l) => [l.body, l.droppedAttributesCount ?? 0]),
      'droppedAttributesCount of each log record (the limits are counted on spans, events and links; the OTLP LogRecord has the same field)',
    );
  });

  await t.test('exceptions: log records with exception.type/message/stacktrace/causes, severity, correlation', () => {
    const exceptions = logs.slice(S.LOGS.length + 2);
    const gotExceptions = got.logs.filter(({ log }) => attributesOf(log.attributes).some(([k]) => k === 'exception.type'));
    assert.deepEqual(gotExceptions.map(({ log }) => log.body.stringValue), exceptions.map((l) => l.body), `the exception records in order:${context()}`);
    gotExceptions.forEach(({ log }, i) => checkLog(log, exceptions[i]));
  });

  await t.test('metrics: Count/Sum as cumulative monotonic sums, LastValue as gauges, Distribution as histograms, totals across exports', () => {
    assert.equal(got.metricRounds.length, metricRounds, `${metricRounds} metric exports (one per flush):${context()}`);
    const after1 = aggregate(S.PHASE1);
    const after2 = aggregate([...S.PHASE1, ...(run.phase2 ? S.PHASE2 : [])]);
    const starts = new Map();
    let previousTime = 0n;
    got.metricRounds.forEach((round, r) => {
      const expected = r === 0 ? after1 : after2;
      const label = `metric export ${r + 1} (#${round.seq}, time ${round.time})`;
      const wantNames = [...expected.values()].filter((v) => v.series.size > 0).map((v) => v.view.name);
      assert.deepEqual(round.metrics.map((m) => m.name).sort(), [...wantNames].sort(), `${label}: one metric per view with data (never-recorded views are left out)`);
      const times = new Set();
      for (const metric of round.metrics) {
        const { view, measure, type, series } = expected.get(metric.name);
        const ml = `${label} ${metric.name}`;
        assert.equal(metric.description, view.description, `${ml}: description`);
        assert.equal(metric.unit, type === 'count' ? '1' : measure.unit, `${ml}: unit`);
        const kind = { count: 'sum', sum: 'sum', lastValue: 'gauge', distribution: 'histogram' }[type];
        const data = metric[kind];
        assert.ok(data, `${ml}: a ${kind}, got ${Object.keys(metric).join(', ')}`);
        if (kind !== 'gauge') assert.equal(data.aggregationTemporality, 'AGGREGATION_TEMPORALITY_CUMULATIVE', `${ml}: cumulative`);
        if (kind === 'sum') assert.equal(data.isMonotonic, true, `${ml}: monotonic`);
        const key = (attrs) => JSON.stringify(attrs);
        const want = new Map([...series.values()].map((s) => [key(s.attributes), s]));
        assert.deepEqual(data.dataPoints.map((p) => key(attributesOf(p.attributes))).sort(), [...want.keys()].sort(), `${ml}: one point per series, with the series' column values`);
        for (const p of data.dataPoints) {
          const s = want.get(key(attributesOf(p.attributes)));
          const pl = `${ml} ${key(attributesOf(p.attributes))}`;
          times.add(p.timeUnixNano);
          if (kind === 'gauge') {
            assert.equal(p.startTimeUnixNano, '0', `${pl}: a gauge has no start time`);
          } else {
            const first = starts.get(metric.name);
            if (first === undefined) {
              starts.set(metric.name, p.startTimeUnixNano);
              assertNanosWithin(p.startTimeUnixNano, f.registeredBefore, f.registeredAfter, `${pl}: startTimeUnixNano is when the view was registered`);
            } else {
              assert.equal(p.startTimeUnixNano, first, `${pl}: startTimeUnixNano is the same in every point of every export (cumulative)`);
            }
          }
          if (type === 'count') {
            assert.equal(p.asInt, String(s.count), `${pl}: count`);
          } else if (type === 'sum' || type === 'lastValue') {
            const v = type === 'sum' ? s.sum : s.last;
            if (measure.kind === 'int') assert.equal(p.asInt, String(v), `${pl}: ${type} of an int measure as asInt`);
            else assertClose(p.asDouble, v, `${pl}: ${type} of a float measure as asDouble`);
            assert.equal(p.asInt !== undefined && p.asDouble !== undefined, false, `${pl}: one value`);
          } else {
            assert.equal(p.count, String(s.count), `${pl}: count`);
            assertClose(p.sum, s.sum, `${pl}: sum`);
            assert.deepEqual(p.explicitBounds, view.aggregation.bounds, `${pl}: explicitBounds`);
            assert.deepEqual(p.bucketCounts, s.buckets.map(String), `${pl}: bucketCounts (lower-inclusive, as documented)`);
            assert.equal(p.min, s.min, `${pl}: min`);
            assert.equal(p.max, s.max, `${pl}: max`);
          }
        }
      }
      assert.equal(times.size, 1, `${label}: one timeUnixNano for every point of an export`);
      const time = BigInt([...times][0]);
      assert.ok(time > previousTime, `${label}: later than the export before`);
      if (metricsBetween?.[r]) assertNanosWithin(String(time), metricsBetween[r][0], metricsBetween[r][1], `${label}: timeUnixNano`);
      previousTime = time;
    });
  });
}

function checkLog(log, want) {
  const label = `log ${want.label}`;
  assert.equal(log.severityNumber, want.severity[0], `${label}: severityNumber`);
  assert.equal(log.severityText, want.severity[1], `${label}: severityText`);
  assert.deepEqual(log.body, { stringValue: want.body }, `${label}: body`);
  assert.deepEqual(attributesOf(log.attributes), want.attributes, `${label}: attributes`);
  assertNanosWithin(log.timeUnixNano, want.window[0], want.window[1], `${label}: timeUnixNano`);
  assertNanosWithin(log.observedTimeUnixNano, want.window[0], want.window[1], `${label}: observedTimeUnixNano`);
  assert.equal(hexId(log.traceId), want.correlation?.traceId ?? '', `${label}: traceId`);
  assert.equal(hexId(log.spanId), want.correlation?.spanId ?? '', `${label}: spanId`);
  // The correlated span's W3C trace flags (sampled: 1); none without a span.
  assert.equal(log.flags ?? 0, want.correlation?.traceFlags ?? 0, `${label}: flags`);
}

// ---------------------------------------------------------------------------------------------
// The Azure side of the same run (both exporters at once)
// ---------------------------------------------------------------------------------------------

/**
 * What the collector must hold after the scenario: one envelope per span, per span event
 * (exception events as Exception, the others as Message), per log, per exception, and per series
 * per metric export. `metricExports` exports; `extraSpans`: [{spanId, traceId, request: bool}].
 */
export function expectedAzure(run, { metricExports, extraSpans = [] }) {
  const f = run.phase1;
  const spans = expectedSpans(f);
  const requestIds = [f.root.spanId, ...extraSpans.filter((s) => s.request).map((s) => s.spanId)];
  const dependencyIds = [...spans.keys()].filter((id) => id !== f.root.spanId).concat(extraSpans.filter((s) => !s.request).map((s) => s.spanId));
  const eventMessages = [];
  let eventExceptions = 0;
  for (const s of spans.values()) for (const e of s.events) e.name === 'exception' ? eventExceptions++ : eventMessages.push(e.name);
  const logMessages = [...S.LOGS.map((l) => l[1]), S.PLAIN_LOG[1], S.SPAN_LOG[1]];
  const exceptions = eventExceptions + 3;
  const after1 = aggregate(S.PHASE1);
  const after2 = aggregate([...S.PHASE1, ...(run.phase2 ? S.PHASE2 : [])]);
  const seriesCount = (views) => [...views.values()].reduce((n, v) => n + v.series.size, 0);
  let metrics = 0;
  for (let i = 0; i < metricExports; i++) metrics += seriesCount(i === 0 ? after1 : after2);
  const metricNames = [...after2.values()].filter((v) => v.series.size).map((v) => v.view.name);
  return { requestIds, dependencyIds, messages: [...eventMessages, ...logMessages], exceptions, metrics, metricNames, total: requestIds.length + dependencyIds.length + eventMessages.length + logMessages.length + exceptions + metrics };
}

export function checkAzure(collector, want, label = 'Azure') {
  const context = () => `\n${collector.summary()}`;
  assert.equal(collector.invalid.length, 0, `${label}: every envelope within the Breeze schema:${context()}`);
  const by = (type) => collector.envelopes.filter((e) => e.data.baseType === type);
  assert.deepEqual(by('RequestData').map((e) => e.data.baseData.id).sort(), [...want.requestIds].sort(), `${label}: one Request per server span:${context()}`);
  assert.deepEqual(by('RemoteDependencyData').map((e) => e.data.baseData.id).sort(), [...want.dependencyIds].sort(), `${label}: one RemoteDependency per other span:${context()}`);
  assert.deepEqual(by('MessageData').map((e) => e.data.baseData.message).sort(), [...want.messages].sort(), `${label}: one Message per log and per span event:${context()}`);
  assert.equal(by('ExceptionData').length, want.exceptions, `${label}: Exceptions:${context()}`);
  assert.equal(by('MetricData').length, want.metrics, `${label}: one Metric per series per export:${context()}`);
  assert.deepEqual([...new Set(by('MetricData').map((e) => e.data.baseData.metrics[0].name))].sort(), [...want.metricNames].sort(), `${label}: metric names`);
  assert.equal(collector.envelopes.length, want.total, `${label}: everything, nothing twice:${context()}`);
}
