// The edgecensus browser demo: records spans, stats, logs and exceptions with the package built
// into /pkg/, and shows the client's metrics and what the local collector (tools/collector.mjs)
// received. Plain ES module, no bundler, nothing remote.
//
// The package is imported dynamically in start() so that a missing or broken /pkg/ shows up in
// #status instead of leaving the page silently dead; in an app, `import { init } from
// 'edgecensus'` (or '/pkg/web.js') at the top is all it takes.

const $ = (selector) => document.querySelector(selector);
const statusEl = $('#status');
const outputEl = $('#output');
const diagnosticsEl = $('#diagnostics');
const metricsEl = $('#metrics');
const receivedEl = $('#received');
const summaryEl = $('#received-summary');
const actionButtons = ['#btn-request', '#btn-nested', '#btn-fail', '#btn-throw', '#btn-log', '#btn-flush'].map($);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const short = (id, n = 8) => (typeof id === 'string' && id ? id.slice(0, n) : '—');

/** A stable hue per operation id, so envelopes of one trace share a colour. */
function hueOf(id) {
  const n = parseInt(String(id).slice(0, 6), 16); // trace ids are random hex
  if (Number.isFinite(n)) return n % 360;
  let h = 0;
  for (const ch of String(id)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h % 360;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'style') node.style.cssText = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function show(lines, { error = false } = {}) {
  outputEl.textContent = Array.isArray(lines) ? lines.join('\n') : String(lines);
  outputEl.classList.toggle('error', error);
}

function describeError(error) {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

let client;
/** The demo's named logger: its Message envelopes carry `loggerName: "demo"`. */
let logger;
/** The measures and one interned tag map per button: {presses, duration, tags: {request: TagMap, …}}. */
let stats;

const BUTTONS = ['request', 'nested', 'fail', 'throw', 'log', 'flush'];

/** A count of presses per button, and a distribution of how long each button's operation took. */
function registerStats(client) {
  const presses = client.measureInt('button_presses', 'Clicks on the demo buttons', '1');
  client.registerView({
    name: 'button_presses_by_button',
    description: 'Button presses, by button',
    measure: presses,
    columns: ['button'],
    aggregation: 'count',
  });
  const duration = client.measureFloat('demo_operation_ms', 'How long a demo operation took', 'ms');
  client.registerView({
    name: 'demo_operation_ms_by_button',
    description: 'Durations of the demo operations, by button',
    measure: duration,
    columns: ['button'],
    aggregation: { type: 'distribution', bounds: [5, 10, 25, 50, 100] },
  });
  // Interned once: recording with a TagMap passes no strings into wasm.
  const tags = Object.fromEntries(BUTTONS.map((button) => [button, client.tagMap({ button })]));
  return { presses, duration, tags };
}

async function start() {
  try {
    const { init } = await import('/pkg/web.js');
    client = await init({
      connectionString: 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=' + location.origin,
      serviceName: 'edgecensus-demo',
      exportIntervalMs: 2000,
      metricsIntervalMs: 3000,
      // Uncaught errors and unhandled rejections become Exception envelopes, console.warn/error
      // Message envelopes; what cannot be sent when the page goes away is kept for the next load.
      capture: { errors: true, console: true },
      persistence: true,
    });
    logger = client.logger('demo');
    stats = registerStats(client);
  } catch (error) {
    statusEl.textContent = `init failed: ${describeError(error)}`;
    statusEl.className = 'status failed';
    return;
  }
  window.edgecensusDemo = { client, stats };
  statusEl.textContent = 'ready';
  statusEl.className = 'status ready';
  for (const button of actionButtons) button.disabled = false;
  refreshDiagnostics();
  refreshMetrics();
  setInterval(() => {
    refreshDiagnostics();
    refreshMetrics();
  }, 1000);
}

/**
 * Runs a button's action with the button marked busy; errors end up in the output panel. Each click
 * counts as a button press, and the action's duration is recorded when it is done.
 */
function onClick(button, action) {
  const which = button.id.replace(/^btn-/, ''); // one of BUTTONS
  button.addEventListener('click', async () => {
    const tags = stats.tags[which];
    client.record(stats.presses, 1, tags);
    refreshMetrics();
    button.setAttribute('aria-busy', 'true');
    const started = performance.now();
    try {
      await action();
    } catch (error) {
      show(`Unexpected error: ${describeError(error)}`, { error: true });
    } finally {
      client.record(stats.duration, performance.now() - started, tags);
      button.removeAttribute('aria-busy');
      refreshDiagnostics();
      refreshMetrics();
    }
  });
}

// "Traced request": a server span (as if this page handled GET /checkout) with a traced fetch to
// /echo as its child; the collector echoes the request headers, so the traceparent can be shown.
onClick($('#btn-request'), async () => {
  const pageUrl = new URL('/checkout?cart=42', location.origin).href;
  await client.withSpan(
    'GET /checkout',
    async (span) => {
      const { traceId, spanId } = span.spanContext();
      // In browsers the active span does not survive an `await`, so the parent is passed explicitly.
      const response = await client.fetch('/echo', { headers: { accept: 'application/json' } }, { parent: span });
      const echoed = await response.json();
      const traceparent = echoed?.headers?.traceparent ?? '(none)';
      const [, echoedTrace = '', echoedParent = ''] = traceparent.split('-');
      span.setAttributes({ 'http.status_code': 200, 'cart.items': 3 });
      show([
        `server span  GET /checkout   trace ${traceId}  span ${spanId}`,
        `client.fetch GET /echo → HTTP ${response.status}`,
        ``,
        `echoed traceparent: ${traceparent}`,
        echoedTrace === traceId ? `  ✓ same trace id as the server span` : `  ✗ trace id differs from the server span`,
        `  parent id ${echoedParent || '—'} is the fetch's span (the RemoteDependency's id)`,
      ]);
    },
    {
      kind: 'server',
      parent: null,
      attributes: { 'http.method': 'GET', 'http.url': pageUrl, 'http.route': '/checkout', 'demo.button': 'request' },
    },
  );
});

// "Nested work": three internal spans, each the child of the one before, with attributes and an
// event on the innermost one (events arrive as Message envelopes).
onClick($('#btn-nested'), async () => {
  const ids = [];
  await client.withSpan(
    'load dashboard',
    async (outer) => {
      ids.push(outer.spanContext());
      outer.setAttributes({ 'demo.button': 'nested', 'dashboard.widgets': 3 });
      await sleep(15);
      await client.withSpan(
        'fetch widgets',
        async (middle) => {
          ids.push(middle.spanContext());
          middle.setAttribute('widgets.source', 'cache');
          await sleep(10);
          await client.withSpan(
            'render chart',
            async (inner) => {
              ids.push(inner.spanContext());
              inner.addEvent('cache miss', { 'cache.key': 'chart:revenue', 'cache.tier': 'memory' });
              await sleep(20);
              inner.setAttributes({ 'chart.points': 120, 'chart.type': 'line' });
            },
            { parent: middle },
          );
        },
        { parent: outer },
      );
    },
    { parent: null },
  );
  show([
    `trace ${ids[0].traceId}`,
    ...ids.map((c, i) => `${'  '.repeat(i)}└ ${['load dashboard', 'fetch widgets', 'render chart'][i]}  span ${c.spanId}`),
    ``,
    `The innermost span has a "cache miss" event (a Message envelope).`,
  ]);
});

// "Failing operation": withSpan's async function throws; the span records the exception and ends
// with an error status, and the error still reaches this page, which catches it.
onClick($('#btn-fail'), async () => {
  let traceId = '';
  try {
    await client.withSpan(
      'charge card',
      async (span) => {
        traceId = span.spanContext().traceId;
        span.setAttributes({ 'demo.button': 'fail', 'payment.provider': 'demo-pay' });
        await sleep(25);
        throw new Error('card declined (this is on purpose)');
      },
      { parent: null },
    );
    show('The operation did not fail?', { error: true });
  } catch (error) {
    show([
      `caught: ${describeError(error)}`,
      `trace ${traceId}: the "charge card" span ended with status error (success: false).`,
    ]);
  }
});

// "Throw an error": checkoutFailed() throws and nothing on the page catches it (this handler is
// synchronous, so the error reaches the window's `error` event, not a promise). capture.errors
// reports it as an Exception envelope (severity Critical) with its stack parsed into frames.
function checkoutFailed(cartId) {
  throw new Error(`checkout failed for cart ${cartId} (uncaught, on purpose)`);
}

$('#btn-throw').addEventListener('click', () => {
  client.record(stats.presses, 1, stats.tags.throw);
  refreshMetrics();
  show([
    `checkoutFailed(42) threw an Error that nothing on the page catches.`,
    `capture.errors reports it from the window's "error" event as an Exception`,
    `(severity Critical); the browser console shows it as an uncaught error too.`,
  ]);
  checkoutFailed(42);
});

// "Log a warning": a warning from the "demo" logger and a console.warn (captured as a log), both
// while a span is active, so both Message envelopes carry the span's operation id.
onClick($('#btn-log'), async () => {
  const sku = 'SKU-1042';
  const { traceId, spanId } = client.withSpan(
    'check stock',
    (span) => {
      span.setAttributes({ 'demo.button': 'log', 'stock.sku': sku });
      logger.warning('Low stock', { sku, remaining: 2 });
      console.warn(`only 2 left of ${sku} (a console.warn, captured as a log)`);
      return span.spanContext();
    },
    { parent: null },
  );
  show([
    `span "check stock"  trace ${traceId}  span ${spanId}`,
    `  client.logger('demo').warning('Low stock', { sku: '${sku}', remaining: 2 })`,
    `  console.warn('only 2 left of ${sku} …')`,
    ``,
    `Two Message envelopes (severity Warning), both with operation id ${short(traceId)}…`,
    `and the span as their parent.`,
  ]);
});

onClick($('#btn-flush'), async () => {
  show('Flushing…');
  const started = performance.now();
  const result = await client.flush();
  const ms = Math.round(performance.now() - started);
  show([`await client.flush() → (${ms} ms)`, JSON.stringify(result, null, 2)]);
  pollReceived();
});

function refreshDiagnostics() {
  if (!client) return;
  let d;
  try {
    d = client.diagnostics();
  } catch (error) {
    diagnosticsEl.textContent = `diagnostics() failed: ${describeError(error)}`;
    return;
  }
  const dropped = Object.entries(d.dropped ?? {}).filter(([, n]) => n > 0);
  const droppedTotal = dropped.reduce((sum, [, n]) => sum + n, 0);
  const parts = [
    ['queued', d.itemsQueued],
    ['sent', d.itemsSent],
    ['accepted', d.itemsAccepted],
    ['rejected', d.itemsRejected],
    ['dropped', droppedTotal, dropped.length ? ` (${dropped.map(([k, n]) => `${k} ${n}`).join(', ')})` : ''],
  ];
  const items = [
    ...parts.map(([label, value, extra = '']) =>
      el('span', { class: `stat${label === 'dropped' && value > 0 ? ' warn' : ''}`, dataset: { stat: label } }, `${label} `, el('b', {}, String(value)), extra),
    ),
    el('span', { class: 'stat muted' }, `spans ${d.spansEnded}/${d.spansStarted} ended, ${d.measurementsRecorded} measurements, ${d.requestsSent} request${d.requestsSent === 1 ? '' : 's'}${d.requestsFailed ? ` (${d.requestsFailed} failed)` : ''}`),
  ];
  if (d.measurementsInvalid) items.push(el('span', { class: 'stat warn' }, `invalid measurements ${d.measurementsInvalid}`));
  if (d.lastError) items.push(el('span', { class: 'stat warn' }, `last error: ${d.lastError}`));
  // Spaces between the items (flex layout ignores them) keep the text readable when copied.
  diagnosticsEl.replaceChildren(...items.flatMap((item, i) => (i ? [' ', item] : [item])));
}

// ---------------------------------------------------------------------------------------------
// Metrics: client.getMetrics(), one table per view
// ---------------------------------------------------------------------------------------------

const AGGREGATION_LABELS = { count: 'count', sum: 'sum', lastValue: 'last value', distribution: 'distribution' };

/** Two decimals below 10, one above, no trailing zeros (counts stay integers). */
function formatNumber(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(Math.abs(n) < 10 ? 2 : 1)));
}

/** "button=nested, status=ok": the series' tag values in column order (the key of a series). */
function seriesKey(columns, tags) {
  return columns.map((c) => `${c}=${tags?.[c] ?? ''}`).join(', ');
}

function bucketLabels(bounds) {
  return [`< ${bounds[0]}`, ...bounds.slice(1).map((b, i) => `${bounds[i]}–${b}`), `≥ ${bounds[bounds.length - 1]}`];
}

/** A tiny bar chart, one bar per bucket, scaled to the fullest bucket. */
function bucketBars(bounds, counts, unit) {
  const labels = bucketLabels(bounds);
  const max = Math.max(1, ...counts);
  return el(
    'span',
    { class: 'buckets' },
    ...counts.map((n, i) => el('span', { class: `bucket${n ? '' : ' empty'}`, title: `${labels[i]}${unit ? ` ${unit}` : ''}: ${n}`, style: `--fill: ${n / max}` })),
  );
}

let shownMetrics = ''; // what #metrics shows, as JSON: the DOM is rebuilt only when it changes
const shownValues = new Map(); // "view|series" → count or value, to highlight what changed

function renderSeries(metric, point, unit) {
  const key = seriesKey(metric.columns, point.tags);
  const cells = metric.columns.map((c) => el('td', { class: 'tag' }, point.tags?.[c] ?? '—'));
  let current;
  if (metric.aggregation === 'distribution') {
    current = point.count;
    cells.push(
      el('td', { class: 'num count' }, formatNumber(point.count)),
      el('td', { class: 'num mean' }, formatNumber(point.mean)),
      el('td', { class: 'num min' }, formatNumber(point.min)),
      el('td', { class: 'num max' }, formatNumber(point.max)),
      el('td', { class: 'bars' }, bucketBars(metric.bounds ?? [], point.bucketCounts ?? [], unit)),
    );
  } else {
    current = point.value;
    cells.push(el('td', { class: 'num value' }, formatNumber(point.value)));
  }
  const id = `${metric.name}|${key}`;
  const changed = shownValues.get(id) !== current;
  shownValues.set(id, current);
  return el('tr', { dataset: { tags: key }, class: changed ? 'changed' : '' }, ...cells);
}

function renderView(metric) {
  const isDistribution = metric.aggregation === 'distribution';
  const unit = metric.measure.unit === '1' ? '' : metric.measure.unit ?? ''; // "1": a plain number
  const inUnit = unit ? ` (${unit})` : '';
  const by = metric.columns.length ? ` by ${metric.columns.join(', ')}` : '';
  const buckets = isDistribution ? `buckets${inUnit}: ${bucketLabels(metric.bounds ?? []).join(' · ')}` : '';
  const head = el(
    'div',
    { class: 'view-head' },
    el('code', { class: 'view-name', title: metric.description }, metric.name),
    el('span', { class: 'muted' }, `${AGGREGATION_LABELS[metric.aggregation] ?? metric.aggregation} of ${metric.measure.name}${inUnit}${by}`),
  );
  const valueHeads = isDistribution ? ['n', 'mean', 'min', 'max'] : [AGGREGATION_LABELS[metric.aggregation] ?? 'value'];
  const body = metric.series.length
    ? el(
        'table',
        { class: 'series' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            ...metric.columns.map((c) => el('th', {}, c)),
            ...valueHeads.map((h) => el('th', { class: 'num' }, h)),
            isDistribution ? el('th', { class: 'bars', title: buckets }, 'buckets') : null,
          ),
        ),
        el('tbody', {}, ...metric.series.map((point) => renderSeries(metric, point, unit))),
      )
    : el('p', { class: 'hint' }, 'No measurements yet.');
  const foot = isDistribution && metric.series.length ? el('p', { class: 'bucket-legend muted' }, buckets) : null;
  return el('article', { class: 'view', dataset: { view: metric.name } }, head, body, foot);
}

function refreshMetrics() {
  if (!client) return;
  let metrics;
  try {
    metrics = client.getMetrics();
  } catch (error) {
    metricsEl.textContent = `getMetrics() failed: ${describeError(error)}`;
    shownMetrics = '';
    return;
  }
  const json = JSON.stringify(metrics, (key, value) => (key === 'timestamp' ? undefined : value));
  if (json === shownMetrics) return; // unchanged: keep the DOM (and any open tooltip)
  shownMetrics = json;
  metricsEl.replaceChildren(...(metrics.length ? metrics.map(renderView) : [el('p', { class: 'hint' }, 'No views registered.')]));
}

// ---------------------------------------------------------------------------------------------
// What the collector received
// ---------------------------------------------------------------------------------------------

const SHORT_TYPES = {
  RequestData: 'Request',
  RemoteDependencyData: 'Dependency',
  MessageData: 'Message',
  ExceptionData: 'Exception',
  MetricData: 'Metric',
  EventData: 'Event',
};

/** "d.hh:mm:ss.fffffff" as milliseconds, or null. */
function timespanMs(text) {
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(String(text ?? ''));
  if (!m) return null;
  const [, d = 0, h, min, s, frac = ''] = m;
  return (((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60 + Number(s)) * 1000 + Number((frac + '0000000').slice(0, 7)) / 1e4;
}

function formatDuration(text) {
  const ms = timespanMs(text);
  if (ms === null) return text ? String(text) : '—';
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function renderItem(envelope, problems) {
  const isObj = envelope !== null && typeof envelope === 'object';
  const data = isObj && envelope.data && typeof envelope.data === 'object' ? envelope.data : {};
  const base = data.baseData && typeof data.baseData === 'object' ? data.baseData : {};
  const tags = isObj && envelope.tags && typeof envelope.tags === 'object' ? envelope.tags : {};
  const baseType = typeof data.baseType === 'string' ? data.baseType : 'unknown';
  const opId = tags['ai.operation.id'];
  const name = base.name ?? base.message ?? (isObj ? envelope.name : undefined) ?? '(no name)';
  const success = typeof base.success === 'boolean' ? base.success : null;
  const metric = baseType === 'MetricData' && Array.isArray(base.metrics) ? metricRow(base.metrics[0], base.properties) : null;
  const exceptions = baseType === 'ExceptionData' && Array.isArray(base.exceptions) ? base.exceptions.filter((x) => x && typeof x === 'object') : null;
  const severity = baseType === 'MessageData' || baseType === 'ExceptionData' ? severityName(base.severityLevel) : null;

  const summary = el(
    'summary',
    { title: base.id ? `id ${base.id}` : '' },
    el('span', { class: 'type' }, SHORT_TYPES[baseType] ?? baseType),
    // A metric has no operation, parent or duration: its name, tags and value take those columns.
    ...(metric
      ? [metric.cell]
      : [
          exceptions || severity ? logCell(exceptions?.[0], name, severity) : el('span', { class: 'name' }, String(name)),
          el('span', { class: `op${opId ? '' : ' none'}`, title: opId ? `operation id ${opId}` : 'no operation id', style: opId ? `--hue: ${hueOf(opId)}` : '' }, short(opId)),
          el('span', { class: 'parent', title: tags['ai.operation.parentId'] ? `parent id ${tags['ai.operation.parentId']}` : 'no parent' }, short(tags['ai.operation.parentId'])),
          el('span', { class: 'duration' }, base.duration !== undefined ? formatDuration(base.duration) : '—'),
        ]),
    el(
      'span',
      { class: `success ${success === true ? 'yes' : success === false ? 'no' : ''}`, title: success === null ? 'no success field' : `success: ${success}` },
      success === true ? '✓' : success === false ? '✗' : '·',
    ),
  );
  const details = el('details', {}, summary);
  if (problems) details.append(el('ul', { class: 'problems' }, ...problems.map((p) => el('li', {}, p))));
  if (exceptions) {
    const handledAt = base.properties?.handledAt;
    const meta = el('p', { class: 'stack-meta' }, severity ? severityBadge(severity) : null, handledAt ? ` reported from ${handledAt}` : null);
    details.append(el('div', { class: 'stack' }, meta, ...exceptions.map((x) => stackTable(x, exceptions.length > 1))));
  }
  details.append(el('pre', { class: 'raw' }, JSON.stringify(envelope, null, 2)));
  const dataset = { type: baseType, operationId: opId ?? '', ...metric?.dataset, ...(severity && { severity }) };
  return el('li', { class: `envelope${problems ? ' invalid' : ''}${success === false ? ' failed' : ''}`, dataset }, details);
}

const SEVERITIES = ['Verbose', 'Information', 'Warning', 'Error', 'Critical'];

function severityName(level) {
  return SEVERITIES[level] ?? (level === undefined ? null : `severity ${level}`);
}

/** A frame's file as a page-relative path when it is on this site ("/demo.js"), else as given. */
function shortFile(fileName) {
  try {
    const url = new URL(fileName);
    if (url.origin === location.origin) return url.pathname;
  } catch {}
  return String(fileName ?? '');
}

const frameText = (f) => `${f.method ?? '?'} @ ${shortFile(f.fileName)}:${f.line ?? '?'}`;
const exceptionText = (x) => `${x.typeName ?? 'Error'}: ${x.message ?? ''}`;

/**
 * The name cell of a Message or Exception row: a message and its severity, or an exception's
 * "typeName: message" and its top frame ("method @ file:line"; the severity shows when expanded).
 */
function logCell(exception, message, severity) {
  const text = exception ? exceptionText(exception) : String(message);
  const top = Array.isArray(exception?.parsedStack) ? exception.parsedStack[0] : null;
  return el(
    'span',
    { class: `main${exception ? ' exception' : ''}` },
    el('span', { class: 'name', title: text }, text),
    top ? el('span', { class: 'frame', title: top.assembly || frameText(top) }, frameText(top)) : null,
    severity && !exception ? severityBadge(severity) : null,
  );
}

const severityBadge = (severity) => el('span', { class: `severity sev-${String(severity).toLowerCase()}` }, severity);

/** An exception's parsed stack as a table (or its raw stack text), shown when its row is expanded. */
function stackTable(exception, withCaption) {
  const caption = withCaption ? el('caption', {}, exceptionText(exception)) : null;
  if (!Array.isArray(exception.parsedStack)) {
    return el('div', {}, caption, el('pre', { class: 'stack-text' }, exception.stack ?? '(no stack)'));
  }
  const rows = exception.parsedStack.map((f) =>
    el('tr', {}, el('td', { class: 'num' }, String(f.level)), el('td', {}, f.method), el('td', { class: 'file', title: f.fileName }, shortFile(f.fileName)), el('td', { class: 'num' }, String(f.line))),
  );
  const head = el('thead', {}, el('tr', {}, ...['#', 'method', 'file', 'line'].map((h) => el('th', { class: h === '#' || h === 'line' ? 'num' : '' }, h))));
  const foot = exception.hasFullStack === false ? el('p', { class: 'hint' }, 'The stack was cut.') : null;
  return el('div', {}, el('table', { class: 'frames' }, caption, head, el('tbody', {}, ...rows)), foot);
}

/** The name cell of a Metric envelope's row: metric name, tag values, value (a distribution: count, sum, min–max). */
function metricRow(point, properties) {
  const p = point !== null && typeof point === 'object' ? point : {};
  const props = properties !== null && typeof properties === 'object' ? properties : {};
  const tagText = Object.entries(props).map(([k, v]) => `${k}=${v}`).join(', ');
  const value =
    p.count !== undefined
      ? `n ${formatNumber(p.count)} · sum ${formatNumber(p.value)} · ${formatNumber(p.min)}–${formatNumber(p.max)}`
      : formatNumber(p.value);
  const metricName = String(p.name ?? '(no name)');
  const cell = el(
    'span',
    { class: 'name metric', title: `${metricName}${tagText ? ` {${tagText}}` : ''}: ${p.count !== undefined ? `count ${p.count}, sum ${p.value}, min ${p.min}, max ${p.max}, stdDev ${p.stdDev}` : `value ${p.value}`}` },
    el('span', { class: 'metric-name' }, metricName),
    ...Object.entries(props).map(([k, v]) => el('span', { class: 'tag' }, `${k}=${v}`)),
    el('span', { class: 'value' }, value),
  );
  return { cell, dataset: { metric: metricName, tags: tagText, value: String(p.value ?? '') } };
}

// The collector's arrays only grow until they are cleared, so new items are prepended (newest
// first) and items already shown keep their expanded/collapsed state.
let shownEnvelopes = 0;
let shownInvalid = 0;
let pollTimer;
let polling = false;

function resetList() {
  receivedEl.replaceChildren();
  shownEnvelopes = 0;
  shownInvalid = 0;
}

async function pollReceived() {
  clearTimeout(pollTimer);
  if (polling) return;
  polling = true;
  try {
    const response = await fetch('/api/received', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const { envelopes = [], invalid = [] } = await response.json();
    if (envelopes.length < shownEnvelopes || invalid.length < shownInvalid) resetList(); // cleared elsewhere
    for (const envelope of envelopes.slice(shownEnvelopes)) receivedEl.prepend(renderItem(envelope, null));
    for (const item of invalid.slice(shownInvalid)) receivedEl.prepend(renderItem(item?.envelope, item?.problems ?? ['(no problems listed)']));
    shownEnvelopes = envelopes.length;
    shownInvalid = invalid.length;
    const counts = {};
    for (const e of envelopes) {
      const t = SHORT_TYPES[e?.data?.baseType] ?? e?.data?.baseType ?? 'unknown';
      counts[t] = (counts[t] ?? 0) + 1;
    }
    const byType = Object.entries(counts).map(([t, n]) => `${n} ${t}`).join(', ');
    summaryEl.textContent =
      envelopes.length + invalid.length === 0
        ? 'Nothing received yet. Click a button, then wait for the next export (or flush).'
        : `${envelopes.length} valid envelope${envelopes.length === 1 ? '' : 's'}${byType ? ` (${byType})` : ''}` +
          (invalid.length ? `, ${invalid.length} invalid` : '') +
          '. Newest first; click one for its JSON.';
    summaryEl.classList.toggle('warn', invalid.length > 0);
  } catch (error) {
    summaryEl.textContent = `Cannot reach the collector's /api/received (${describeError(error)}).`;
    summaryEl.classList.add('warn');
  } finally {
    polling = false;
    pollTimer = setTimeout(pollReceived, 1000);
  }
}

$('#btn-clear').addEventListener('click', async () => {
  try {
    const response = await fetch('/api/received', { method: 'DELETE' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    resetList();
  } catch (error) {
    summaryEl.textContent = `Clear failed: ${describeError(error)}`;
    summaryEl.classList.add('warn');
    return;
  }
  pollReceived();
});

pollReceived();
start();
