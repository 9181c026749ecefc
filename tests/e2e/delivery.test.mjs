// Fault injection against the delivery pipeline of the package: the collector answers with the
// faults of the real ingestion service (throttling, server errors, redirects, quota, partial
// success, slow answers, dropped connections, splits) and every recorded item must still arrive
// exactly once — except the documented drops, which the client's diagnostics must count.
//
// Hosts: Node (pkg/node.js), headless Chromium (pkg/web.js in fixtures/delivery.html), workerd
// (pkg/workerd.js through instrument(), with and without nodejs_compat). Then, in Chromium: unload
// (keepalive requests), offline persistence (localStorage) and `online`; in Node: a flood against
// a dead backend (bounded queue, exact overflow count, flat memory).
//
// Run: cd tests && node --test e2e/delivery.test.mjs   (needs the built package in ../pkg)
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startCollector, faultScript } from '../../tools/collector.mjs';
import { withPage } from '../support/browser.mjs';
import { startWorkerd, modulesFromDir } from '../support/workerd.mjs';
import { recordItems, uidOf } from './fixtures/delivery-driver.mjs';
import { connectionStringFor } from './scenario.mjs';

const PKG_DIR = fileURLToPath(new URL('../../pkg/', import.meta.url));
const E2E_DIR = fileURLToPath(new URL('./', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Items recorded per fault step (the 206 step answers item by item for the first five). */
const ITEMS_PER_STEP = 7;
/** The clients' `requestTimeoutMs`: the slow answer comes long after it. */
const REQUEST_TIMEOUT_MS = 300;
const SLOW_ANSWER_MS = 2000;
/** Timers may fire this much early by our clock (the package allows itself 2 ms). */
const SLACK_MS = 20;
/** After a success, the first failure waits 500..1000 ms (1 s halved by jitter at most). */
const FIRST_BACKOFF_MS = 500;
const RETRIABLE = new Set([408, 429, 500, 502, 503, 504]);

function requirePackage(...files) {
  for (const f of files) {
    if (!fs.existsSync(PKG_DIR + f)) throw new Error(`${PKG_DIR}${f} does not exist: build the package (pkg/) before the e2e tests`);
  }
}

// ---------------------------------------------------------------------------------------------
// The fault sequence and its bookkeeping
// ---------------------------------------------------------------------------------------------

/**
 * One step per fault: the step's items are recorded and flushed, the first request that carries
 * them gets `answer`, and everything after that gets the collector's normal answer.
 * `earliest(entry)`: the time (ms) before which the client must not send the items again.
 */
function faultSteps(second) {
  const backoff = (e) => e.at + FIRST_BACKOFF_MS - SLACK_MS;
  return [
    { name: '429 with Retry-After: 1', answer: { status: 429, headers: { 'retry-after': '1' } }, earliest: (e) => e.at + 1000 - SLACK_MS },
    { name: '500', answer: { status: 500 }, earliest: backoff },
    {
      name: '503 with Retry-After as an HTTP date',
      // The date is taken when the answer is given: 1 to 2 s ahead (HTTP dates have whole seconds).
      answer: () => ({ status: 503, headers: { 'retry-after': new Date(Date.now() + 2000).toUTCString() } }),
      earliest: (e) => Date.parse(e.answer.headers['retry-after']) - SLACK_MS,
    },
    { name: '408', answer: { status: 408 }, earliest: backoff },
    { name: '502', answer: { status: 502 }, earliest: backoff },
    { name: '504', answer: { status: 504 }, earliest: backoff },
    { name: '307 to the second collector', answer: { status: 307, headers: { location: `${second.url}/v2.1/track` } } },
    { name: '439 (quota)', answer: { status: 439, body: { message: 'quota spent' } } },
    { name: '206 with per-item 400, 429, 500, 400', answer: { itemStatus: { 0: 400, 1: 429, 2: 500, 4: 400 } } },
    {
      name: `an answer after ${SLOW_ANSWER_MS} ms (requestTimeoutMs ${REQUEST_TIMEOUT_MS})`,
      // A 200 that would claim every item, had the client waited for it; nothing is stored.
      answer: { delayMs: SLOW_ANSWER_MS, status: 200 },
      earliest: (e) => e.at + REQUEST_TIMEOUT_MS + FIRST_BACKOFF_MS - SLACK_MS,
    },
    { name: 'a dropped connection', answer: { destroy: true }, earliest: backoff },
    { name: '413', answer: { status: 413 } },
    { name: '400 for the whole request', answer: { status: 400, body: { itemsReceived: ITEMS_PER_STEP, itemsAccepted: 0, errors: [] } } },
  ];
}

/** What the exporter must do with an answer (the package's documented rules). */
function kindOf(answer) {
  if (!answer) return 'ok';
  if (answer.destroy || answer.delayMs > 0) return 'retry';
  if (answer.itemStatus) return 'partial';
  const status = answer.status ?? 200;
  if (status === 307 || status === 308) return 'redirect';
  if (status === 402 || status === 439) return 'quota';
  if (status === 413) return 'split';
  if (RETRIABLE.has(status)) return 'retry';
  if (status >= 400) return 'httpStatus';
  return 'ok';
}

const uidsOf = (items) => (items ?? []).map(uidOf);
const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const sameSet = (a, b) => a.length === b.length && new Set(a).size === a.length && a.every((x) => b.includes(x));
const show = (uids) => (uids.length > 12 ? `[${uids.slice(0, 12).join(', ')}, ... (${uids.length})]` : `[${uids.join(', ')}]`);

/** For a partial answer: the batch's uids to be resent and the ones refused for good. */
function partialOutcome(answer, uids) {
  const retry = [];
  const refused = [];
  for (const [index, code] of Object.entries(answer.itemStatus)) {
    const uid = uids[Number(index)];
    if (uid === undefined) continue;
    (RETRIABLE.has(Number(code)) ? retry : refused).push([Number(index), uid]);
  }
  const inOrder = (list) => list.sort((a, b) => a[0] - b[0]).map(([, uid]) => uid);
  return { retry: inOrder(retry), refused: inOrder(refused) };
}

/** The uids that an answered request ends for good (stored or dropped): they must never be sent again. */
function finishedBy(entry) {
  const uids = uidsOf(entry.items);
  switch (kindOf(entry.answer)) {
    case 'ok':
    case 'quota':
    case 'httpStatus':
      return uids;
    case 'partial': {
      const { retry } = partialOutcome(entry.answer, uids);
      return uids.filter((u) => !retry.includes(u));
    }
    default:
      return [];
  }
}

/** The uids an answer drops (documented drops: quota, whole-request 4xx, per-item refusals). */
function droppedBy(entry) {
  const uids = uidsOf(entry.items);
  switch (kindOf(entry.answer)) {
    case 'quota':
    case 'httpStatus':
      return uids;
    case 'partial':
      return partialOutcome(entry.answer, uids).refused;
    default:
      return [];
  }
}

/** uid -> how many times the collectors stored it. */
function storedCounts(collectors) {
  const counts = new Map();
  for (const c of collectors) for (const e of c.envelopes) counts.set(uidOf(e), (counts.get(uidOf(e)) ?? 0) + 1);
  return counts;
}

function describeLog(entries) {
  return entries
    .map((e, i) => `  #${i} ${e.answer ? JSON.stringify(e.answer).slice(0, 90) : 'normal answer'} -> ${e.collector} at +${e.at - entries[0].at} ms: ${show(uidsOf(e.items))}`)
    .join('\n');
}

/**
 * Runs the fault steps against one host. `host.record(k, uids)` records the step's items and gets
 * them sent (returns {batch: the uids that go out together, flushed: the FlushResult or null});
 * the step is over once its fault was used and every item it does not drop is stored.
 * `host.diagnostics()` returns the client's diagnostics at the end.
 */
async function runFaults(host, { first, second, script, prefix }) {
  const steps = faultSteps(second);
  const run = { steps: [], recorded: [], starts: [] };
  for (const [k, step] of steps.entries()) {
    const start = script.log.length;
    run.starts.push(start);
    script.push(step.answer);
    const uids = Array.from({ length: ITEMS_PER_STEP }, (_, i) => `${prefix}-${k}-${i}`);
    const t0 = Date.now();
    const { batch, flushed } = await host.record(k, uids);
    run.recorded.push(...batch);
    try {
      await first.waitFor(() => {
        const entries = script.log.slice(start);
        if (entries.length === 0) return false;
        const dropped = new Set(droppedBy(entries[0]));
        const stored = storedCounts([first, second]);
        return batch.every((u) => dropped.has(u) || stored.has(u));
      }, 15000);
    } catch (e) {
      e.message = `step "${step.name}" did not settle: ${e.message}\nrequests of this step:\n${describeLog(script.log.slice(start))}\nsecond collector: ${second.summary()}`;
      throw e;
    }
    run.steps.push({ ...step, batch, flushed, ms: Date.now() - t0 });
  }
  run.logLength = script.log.length;
  run.steps.forEach((step, k) => (step.entries = script.log.slice(run.starts[k], run.starts[k + 1] ?? run.logLength)));
  run.diagnostics = await host.diagnostics();
  return run;
}

/**
 * Checks the requests of each step against the delivery rules; returns the problems found and the
 * counts the client's diagnostics must show.
 */
function analyze(run, { first, second, script }) {
  const problems = [];
  const expect = { retried: 0, failed: 0, quota: 0, httpStatus: 0, rejected: 0, redirects: 0, dropped: new Set() };
  for (const step of run.steps) {
    const p = (message) => problems.push(`${step.name}: ${message}\n${describeLog(step.entries)}`);
    const [fault, ...rest] = step.entries;
    if (!fault) {
      p('no request carried the step');
      continue;
    }
    const batch = uidsOf(fault.items);
    if (!sameSet(batch, step.batch)) p(`the request that got the fault carried ${show(batch)}, not the step's items ${show(step.batch)}`);
    for (const uid of droppedBy(fault)) expect.dropped.add(uid);
    const resentWhole = () => {
      if (rest.length !== 1) return p(`the batch should have been sent again once, then accepted; saw ${rest.length} more request(s)`);
      if (!sameList(uidsOf(rest[0].items), batch)) p(`the resend carried ${show(uidsOf(rest[0].items))}, not the batch ${show(batch)}`);
      if (step.earliest && rest[0].at < step.earliest(fault)) {
        p(`sent again ${rest[0].at - fault.at} ms after the fault, before the ${step.earliest(fault) - fault.at} ms it must wait`);
      }
    };
    switch (kindOf(fault.answer)) {
      case 'retry':
        expect.retried += batch.length;
        expect.failed += 1;
        resentWhole();
        break;
      case 'redirect':
        expect.redirects += 1;
        resentWhole();
        if (rest[0] && rest[0].collector !== second.url) p(`the redirected request went to ${rest[0].collector}, not ${second.url}`);
        break;
      case 'quota':
        expect.quota += batch.length;
        expect.failed += 1;
        if (rest.length) p(`items refused for quota must not be sent again; saw ${rest.length} more request(s)`);
        break;
      case 'httpStatus':
        expect.httpStatus += batch.length;
        expect.failed += 1;
        if (rest.length) p(`items refused with HTTP ${fault.answer.status} must not be sent again; saw ${rest.length} more request(s)`);
        break;
      case 'partial': {
        const { retry, refused } = partialOutcome(fault.answer, batch);
        expect.retried += retry.length;
        expect.rejected += refused.length;
        if (rest.length !== 1) p(`only the retriable items should have been sent again, once; saw ${rest.length} more request(s)`);
        else if (!sameList(uidsOf(rest[0].items), retry)) p(`the resend carried ${show(uidsOf(rest[0].items))}; only ${show(retry)} (per-item 408/429/5xx) may be resent`);
        break;
      }
      case 'split': {
        expect.retried += batch.length;
        const parts = rest.map((e) => uidsOf(e.items));
        const half = Math.floor(batch.length / 2);
        if (parts.length < 2) p(`a 413 batch should go again in halves; saw ${parts.length} request(s)`);
        if (parts.some((part) => part.length > half)) p(`parts of ${parts.map((x) => x.length)} items; at most ${half} after halving ${batch.length}`);
        if (!sameSet(parts.flat(), batch)) p(`the parts carried ${show(parts.flat())}, not each item of ${show(batch)} once`);
        break;
      }
      default:
        p(`unexpected answer kind for ${JSON.stringify(fault.answer)}`);
    }
  }

  // Across all requests: after the redirect every request goes to the second collector; nothing
  // accepted or dropped is ever sent again.
  const entries = script.log.slice(0, run.logLength);
  const redirect = run.steps.find((s) => kindOf(s.answer) === 'redirect');
  const movedAt = redirect?.entries[1] ? script.log.indexOf(redirect.entries[1]) : entries.length;
  entries.forEach((e, i) => {
    const want = i >= movedAt ? second.url : first.url;
    if (e.collector !== want) problems.push(`request #${i} went to ${e.collector}; ${i >= movedAt ? 'after the 307 the exporter must keep posting to' : 'expected'} ${want}`);
  });
  const finished = new Set();
  entries.forEach((e, i) => {
    const again = uidsOf(e.items).filter((u) => finished.has(u));
    if (again.length) problems.push(`request #${i} carried items already accepted or dropped: ${show(again)}`);
    for (const u of finishedBy(e)) finished.add(u);
  });

  // The slow answer was abandoned by the client (so never stored), the dropped one destroyed.
  const records = [...first.trackRequests, ...second.trackRequests];
  const slow = run.steps.filter((s) => s.answer.delayMs > 0).length;
  const gone = records.filter((r) => r.outcome === 'client gone').length;
  if (gone !== slow) problems.push(`${gone} request(s) abandoned by the client before the slow answer; expected ${slow} (a client that waits past requestTimeoutMs)`);

  const followed = run.steps.filter((s) => kindOf(s.answer) === 'redirect').map((s) => s.entries[1]).filter(Boolean);
  expect.requestsSent = entries.length - followed.length; // fetch follows a 307 within one request
  expect.itemsSent = entries.reduce((n, e) => n + (e.items?.length ?? 0), 0) - followed.reduce((n, e) => n + e.items.length, 0);
  return { problems, expect };
}

/** The three checks of a host's run, as tests. `getRun()` returns {run, first, second, script}. */
function faultTests(getRun, { recordedBeforeDiagnostics = (run) => run.recorded } = {}) {
  test('each fault is answered as documented (retry, wait, redirect, drop, resend only retriable items, split)', () => {
    const { run, ...ctx } = getRun();
    const { problems } = analyze(run, ctx);
    console.log(`  steps: ${run.steps.map((s) => `${s.name} ${s.ms} ms`).join('; ')}`);
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('every recorded item arrives exactly once across both collectors, except the documented drops', () => {
    const { run, first, second, script } = getRun();
    const { expect } = analyze(run, { first, second, script });
    const stored = [...first.envelopes, ...second.envelopes];
    assert.deepEqual([...first.invalid, ...second.invalid].map((i) => i.problems), [], 'every stored envelope is valid');
    const anonymous = stored.filter((e) => uidOf(e) === undefined).map((e) => e.data?.baseData?.name ?? e.data?.baseData?.message);
    assert.deepEqual(anonymous, [], 'every stored item is one the test recorded');
    const counts = storedCounts([first, second]);
    const duplicates = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(duplicates, [], `no item stored twice (${duplicates.length} duplicated)`);
    const wanted = run.recorded.filter((u) => !expect.dropped.has(u));
    const missing = wanted.filter((u) => !counts.has(u));
    assert.deepEqual(missing, [], `${missing.length} item(s) never arrived`);
    const dropped = [...expect.dropped].filter((u) => counts.has(u));
    assert.deepEqual(dropped, [], 'items answered with quota / 4xx / per-item 400 are never stored');
    assert.equal(stored.length, wanted.length);
    assert.equal(new Set(run.recorded).size, run.recorded.length, 'the test recorded unique ids');
    assert.ok(first.envelopes.length > 0 && second.envelopes.length > 0, 'both collectors stored items (before and after the 307)');
  });

  test('diagnostics and flush results account for every item', () => {
    const { run, ...ctx } = getRun();
    const { expect } = analyze(run, ctx);
    const d = run.diagnostics;
    const recorded = recordedBeforeDiagnostics(run).length;
    const delivered = recorded - expect.dropped.size;
    const got = {
      itemsQueued: d.itemsQueued,
      itemsPending: d.itemsPending,
      itemsAccepted: d.itemsAccepted,
      itemsRejected: d.itemsRejected,
      itemsRetried: d.itemsRetried,
      itemsSent: d.itemsSent,
      requestsSent: d.requestsSent,
      requestsFailed: d.requestsFailed,
      dropped: d.dropped,
    };
    const want = {
      itemsQueued: recorded,
      itemsPending: 0,
      itemsAccepted: delivered,
      itemsRejected: expect.rejected,
      itemsRetried: expect.retried,
      itemsSent: expect.itemsSent,
      requestsSent: expect.requestsSent,
      requestsFailed: expect.failed,
      dropped: { ...Object.fromEntries(Object.keys(d.dropped).map((k) => [k, 0])), quota: expect.quota, httpStatus: expect.httpStatus, rejected: expect.rejected },
    };
    assert.deepEqual(got, want, `diagnostics: ${JSON.stringify(d)}`);
    for (const step of run.steps) {
      if (!step.flushed) continue; // workerd: the flush is instrument()'s, in waitUntil
      const fault = step.entries[0];
      const dropped = droppedBy(fault).length;
      const rejected = kindOf(fault.answer) === 'partial' ? partialOutcome(fault.answer, uidsOf(fault.items)).refused.length : 0;
      assert.deepEqual(step.flushed, { sent: step.batch.length, accepted: step.batch.length - dropped, rejected, pending: 0 }, `flush result of step "${step.name}"`);
    }
  });
}

/** Two collectors for a fault run: the first, and the second one the 307 points to; one script. */
async function faultCollectors() {
  // keepAlive: false: each request on a new connection. Chromium silently re-sends a request whose
  // reused connection was dropped or answered 408, and the client would never see those faults.
  const first = await startCollector({ keepAlive: false });
  const second = await startCollector({ keepAlive: false });
  const script = faultScript();
  first.respondWith(script.respond);
  second.respondWith(script.respond);
  return { first, second, script };
}

// ---------------------------------------------------------------------------------------------
// 1. Exactly once after faults
// ---------------------------------------------------------------------------------------------

describe('delivery: exactly once after faults, in Node', { timeout: 45000 }, () => {
  let ctx;
  let client;
  before(async () => {
    requirePackage('node.js', 'edgecensus_bg.wasm');
    const edgecensus = await import(new URL('../../pkg/node.js', import.meta.url).href);
    ctx = await faultCollectors();
    client = await edgecensus.init({
      connectionString: connectionStringFor(ctx.first.url),
      serviceName: 'delivery-node',
      exportIntervalMs: 0,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    const host = {
      async record(k, uids) {
        recordItems(client, uids);
        return { batch: uids, flushed: await client.flush() };
      },
      diagnostics: async () => client.diagnostics(),
    };
    ctx.run = await runFaults(host, { ...ctx, prefix: 'node' });
  });
  after(async () => {
    await client?.shutdown({ timeoutMs: 1000 });
    await ctx?.first.close();
    await ctx?.second.close();
  });
  faultTests(() => ctx);
});

describe('delivery: exactly once after faults, in headless Chromium', { timeout: 45000 }, () => {
  let ctx;
  let site;
  before(async () => {
    requirePackage('web.js', 'edgecensus_bg.wasm');
    site = await startCollector({ staticRoutes: { '/pkg/': PKG_DIR, '/e2e/': E2E_DIR } });
    ctx = await faultCollectors();
    const config = { serviceName: 'delivery-page', exportIntervalMs: 0, requestTimeoutMs: REQUEST_TIMEOUT_MS };
    const url = `${site.url}/e2e/fixtures/delivery.html?${new URLSearchParams({ cs: connectionStringFor(ctx.first.url), config: JSON.stringify(config) })}`;
    ctx.run = await withPage(url, async (page) => {
      await waitReady(page);
      const host = {
        async record(k, uids) {
          const flushed = await page.evaluate(async (uids) => {
            window.__recordItems(window.__client, uids);
            return window.__client.flush();
          }, uids);
          return { batch: uids, flushed };
        },
        diagnostics: () => page.evaluate(() => window.__client.diagnostics()),
      };
      return runFaults(host, { ...ctx, prefix: 'page' });
    });
  });
  after(async () => {
    await ctx?.first.close();
    await ctx?.second.close();
    await site?.close();
  });
  faultTests(() => ctx);
});

for (const compatibilityFlags of [[], ['nodejs_compat']]) {
  const label = compatibilityFlags.length ? compatibilityFlags.join(',') : 'no flags';
  describe(`delivery: exactly once after faults, in workerd (${label})`, { timeout: 45000 }, () => {
    let ctx;
    let worker;
    const prefix = `wd${compatibilityFlags.length}`;
    before(async () => {
      requirePackage('workerd.js', 'edgecensus_bg.wasm');
      ctx = await faultCollectors();
      worker = await startWorkerd({
        modules: [
          { name: 'delivery-worker.mjs', path: FIXTURES + 'delivery-worker.mjs' },
          { name: 'delivery-driver.mjs', path: FIXTURES + 'delivery-driver.mjs' },
          ...modulesFromDir(PKG_DIR, 'pkg/'),
        ],
        bindings: { CONNECTION_STRING: connectionStringFor(ctx.first.url), REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) },
        compatibilityFlags,
      });
      // Each step is one incoming request: its items and its own server span (uid `${prefix}-req-k`)
      // go out in instrument()'s flush, handed to waitUntil; the faults clear within that flush
      // (its deadline is workerd's 10 s flushTimeoutMs; the longest step waits about 2 s).
      const host = {
        async record(k, uids) {
          const req = `${prefix}-req-${k}`;
          const response = await fetch(`${worker.url}/record?uid=${req}&uids=${uids.join(',')}`);
          assert.equal(response.status, 200, await response.clone().text());
          await response.arrayBuffer();
          return { batch: [...uids, req], flushed: null };
        },
        async diagnostics() {
          const response = await fetch(`${worker.url}/diagnostics?uid=${prefix}-diag`);
          assert.equal(response.status, 200);
          const d = await response.json();
          // The diagnostics request's own span goes out after it, in its own flush.
          await ctx.second.waitFor((c) => c.envelopes.some((e) => uidOf(e) === `${prefix}-diag`), 10000);
          return d;
        },
      };
      try {
        ctx.run = await runFaults(host, { ...ctx, prefix });
        ctx.run.recorded.push(`${prefix}-diag`);
      } catch (e) {
        worker.printOutput(`workerd output (${label})`);
        throw e;
      }
    });
    after(async () => {
      await worker?.close();
      await ctx?.first.close();
      await ctx?.second.close();
    });
    faultTests(() => ctx, { recordedBeforeDiagnostics: (run) => run.recorded.filter((u) => u !== `${prefix}-diag`) });
  });
}

// ---------------------------------------------------------------------------------------------
// 2 and 3. Pages: unload, offline persistence, `online`
// ---------------------------------------------------------------------------------------------

async function waitReady(page) {
  await page.waitForFunction(() => window.__ready === true, null, { timeout: 20000 });
  const error = await page.evaluate(() => window.__error ?? null);
  assert.equal(error, null, `the page failed: ${error}`);
}

function pageUrl(site, collector, config) {
  return `${site.url}/e2e/fixtures/delivery.html?${new URLSearchParams({ cs: connectionStringFor(collector.url), config: JSON.stringify(config) })}`;
}

/** Waits (at most `timeoutMs`) until every uid is stored; returns the stored counts either way. */
async function waitForUids(collector, uids, timeoutMs) {
  await collector.waitFor((c) => uids.every((u) => c.envelopes.some((e) => uidOf(e) === u)), timeoutMs).catch(() => {});
  return storedCounts([collector]);
}

function assertExactlyOnce(counts, uids, what) {
  const missing = uids.filter((u) => !counts.has(u));
  const twice = [...counts].filter(([, n]) => n > 1).map(([u]) => u);
  const foreign = [...counts.keys()].filter((u) => !uids.includes(u));
  assert.deepEqual(
    { missing: missing.length, duplicated: twice, foreign },
    { missing: 0, duplicated: [], foreign: [] },
    `${what}: ${uids.length - missing.length} of ${uids.length} arrived; missing ${show(missing)}`,
  );
}

describe('delivery: pages', { timeout: 60000 }, () => {
  let site;
  let collector;
  before(async () => {
    requirePackage('web.js', 'edgecensus_bg.wasm');
    site = await startCollector({ staticRoutes: { '/pkg/': PKG_DIR, '/e2e/': E2E_DIR } });
  });
  after(async () => {
    await site?.close();
    await collector?.close();
  });

  /** Records spans and logs, navigates away at once (no flush), and checks what arrived. */
  async function unloadCase(count, pad) {
    collector = await startCollector();
    const uids = Array.from({ length: count }, (_, i) => `unload-${count}-${i}`);
    try {
      await withPage(pageUrl(site, collector, { serviceName: 'delivery-unload', exportIntervalMs: 0 }), async (page) => {
        await waitReady(page);
        const before = await page.evaluate(({ uids, pad }) => {
          window.__recordItems(window.__client, uids, { pad });
          return window.__client.diagnostics();
        }, { uids, pad });
        assert.equal(before.itemsPending, count, 'everything waits in the queue');
        assert.equal(before.requestsSent, 0, 'nothing was sent before the page went away');
        await page.goto(`${site.url}/e2e/fixtures/delivery.html?left=1`);
        const counts = await waitForUids(collector, uids, 5000);
        const track = collector.trackRequests;
        console.log(`  unload of ${count} items: ${track.length} request(s) of ${track.map((r) => r.bodyText.length)} bytes, ${counts.size} item(s) arrived`);
        for (const r of track) {
          assert.match(r.headers['content-type'] ?? '', /^text\/plain/, 'unload requests are keepalive text/plain (no preflight)');
          assert.ok(r.bodyText.length <= 60 * 1024, `a keepalive body stays under 60 KiB, got ${r.bodyText.length}`);
        }
        assertExactlyOnce(counts, uids, 'items recorded just before the page went away');
      });
    } finally {
      await collector.close();
      collector = null;
    }
  }

  test('unload: spans and logs recorded just before navigating away arrive (one keepalive request)', async () => {
    await unloadCase(30, 0);
  });

  // The browser allows 64 KiB of keepalive bodies in flight for a page, in all. Past that budget,
  // without persistence the rest is counted as dropped (`unload`); with persistence it is kept
  // and sent by the next page.
  test('unload: past the 64 KiB keepalive budget, the rest is counted as dropped (no persistence)', async () => {
    collector = await startCollector();
    const count = 200;
    const uids = Array.from({ length: count }, (_, i) => `unload-big-${i}`);
    try {
      await withPage(pageUrl(site, collector, { serviceName: 'delivery-unload', exportIntervalMs: 0 }), async (page) => {
        await waitReady(page);
        await page.evaluate((uids) => window.__recordItems(window.__client, uids, { pad: 600 }), uids);
        await page.goto(`${site.url}/e2e/fixtures/delivery.html?left=1`);
        const gone = await page.evaluate(() => JSON.parse(sessionStorage.getItem('delivery:pagehide') ?? 'null'));
        assert.ok(gone, 'the page that went away left its diagnostics');
        const sent = gone.itemsSent;
        assert.ok(sent > 0 && sent < count, `some items left in keepalive requests (${sent})`);
        assert.equal(gone.dropped.unload, count - sent, 'what did not fit is counted as dropped');
        assert.equal(gone.itemsPending, 0);
        const arrived = [...uids].slice(0, sent);
        const counts = await waitForUids(collector, arrived, 5000);
        let total = 0;
        for (const r of collector.trackRequests) {
          assert.match(r.headers['content-type'] ?? '', /^text\/plain/);
          total += r.bodyText.length;
        }
        assert.ok(total <= 64 * 1024, `keepalive bodies stay within the page's 64 KiB budget, got ${total}`);
        assertExactlyOnce(counts, arrived, 'the oldest items, sent at unload');
      });
    } finally {
      await collector.close();
      collector = null;
    }
  });

  test('unload: past the keepalive budget, persistence keeps the rest for the next page (all arrive once)', async () => {
    collector = await startCollector();
    const count = 200;
    const uids = Array.from({ length: count }, (_, i) => `unload-kept-${i}`);
    const url = pageUrl(site, collector, { serviceName: 'delivery-unload', exportIntervalMs: 0, persistence: true });
    try {
      await withPage(url, async (page) => {
        await waitReady(page);
        await page.evaluate((uids) => window.__recordItems(window.__client, uids, { pad: 600 }), uids);
        await page.goto(`${site.url}/e2e/fixtures/delivery.html?left=1`);
        const gone = await page.evaluate(() => JSON.parse(sessionStorage.getItem('delivery:pagehide') ?? 'null'));
        assert.equal(gone.itemsSent + gone.itemsPersisted, count, 'each item was sent or kept');
        assert.equal(gone.dropped.unload, 0);
        await page.goto(url);
        await waitReady(page);
        const restored = await page.evaluate(() => window.__atLoad.itemsRestored);
        assert.equal(restored, gone.itemsPersisted);
        await page.evaluate(() => window.__client.flush());
        assertExactlyOnce(await waitForUids(collector, uids, 5000), uids, 'sent at unload or by the next page');
      });
    } finally {
      await collector.close();
      collector = null;
    }
  });

  test('offline persistence: kept in localStorage at reload, restored and sent once by the next page', async () => {
    collector = await startCollector();
    const port = collector.port;
    const url = pageUrl(site, collector, { serviceName: 'delivery-persist', exportIntervalMs: 0, persistence: true });
    const uids = Array.from({ length: 30 }, (_, i) => `persist-${i}`);
    await withPage(url, async (page) => {
      await waitReady(page);
      await collector.close(); // nothing listens on the port: every send is refused
      const failing = await page.evaluate(async (uids) => {
        window.__recordItems(window.__client, uids);
        const flushed = await window.__client.flush({ timeoutMs: 50 });
        // Two failures in a row: the exporter now backs off for 1 to 2 s, and the reload comes
        // well inside that.
        for (;;) {
          const d = window.__client.diagnostics();
          if (d.requestsFailed >= 2) return { flushed, d };
          await new Promise((r) => setTimeout(r, 10));
        }
      }, uids);
      assert.equal(failing.flushed.pending, uids.length, 'the flush deadline passed with everything pending');
      assert.equal(failing.d.itemsPending, uids.length, 'the items wait for the next try');
      assert.equal(failing.d.itemsAccepted, 0);

      await page.reload();
      await waitReady(page);
      const after = await page.evaluate(() => ({
        atLoad: window.__atLoad,
        gone: JSON.parse(sessionStorage.getItem('delivery:pagehide') ?? 'null'),
        stored: Object.keys(localStorage).filter((k) => k.startsWith('edgecensus:')),
      }));
      assert.ok(after.gone, 'the page that went away left its diagnostics');
      assert.equal(after.gone.itemsPersisted, uids.length, 'the page that went away kept every item in storage');
      assert.equal(after.gone.itemsPending, 0);
      assert.equal(after.atLoad.itemsRestored, uids.length, 'the new page restored them at init');
      assert.equal(after.atLoad.itemsPending, uids.length);
      assert.deepEqual(after.stored, [], 'storage is read once: the key is gone after the restore');

      collector = await startCollector({ port }); // the same port: the same connection string
      const flushed = await page.evaluate(() => window.__client.flush());
      assert.deepEqual(flushed, { sent: uids.length, accepted: uids.length, rejected: 0, pending: 0 });
      assertExactlyOnce(await waitForUids(collector, uids, 5000), uids, 'restored items');

      // Another load restores nothing: nothing is sent twice.
      await page.reload();
      await waitReady(page);
      const again = await page.evaluate(async () => ({ restored: window.__atLoad.itemsRestored, flushed: await window.__client.flush() }));
      assert.equal(again.restored, 0);
      await sleep(200);
      assertExactlyOnce(storedCounts([collector]), uids, 'after one more reload');
    });
    await collector.close();
    collector = null;
  });

  test('online: an `online` event ends the backoff at once', async () => {
    collector = await startCollector();
    const port = collector.port;
    const uids = Array.from({ length: 10 }, (_, i) => `online-${i}`);
    await withPage(pageUrl(site, collector, { serviceName: 'delivery-online', exportIntervalMs: 0 }), async (page) => {
      await waitReady(page);
      await collector.close();
      // Three failures in a row: the next try is 2 to 4 s after the third.
      const failedAt = await page.evaluate(async (uids) => {
        window.__recordItems(window.__client, uids);
        window.__client.flush({ timeoutMs: 0 });
        while (window.__client.diagnostics().requestsFailed < 3) await new Promise((r) => setTimeout(r, 10));
        return Date.now();
      }, uids);
      collector = await startCollector({ port });
      const t0 = Date.now();
      await page.evaluate(() => window.dispatchEvent(new Event('online')));
      // Without `online` nothing could arrive before the backoff's earliest end.
      const backoffEnd = failedAt - 20 + 2000;
      const counts = await waitForUids(collector, uids, Math.max(0, backoffEnd - Date.now() - SLACK_MS));
      console.log(`  after 'online': ${counts.size} item(s) in ${Date.now() - t0} ms (the backoff would end ${backoffEnd - t0} ms after it at the earliest)`);
      assertExactlyOnce(counts, uids, "items sent when 'online' fired, before the backoff's end");
    });
    await collector.close();
    collector = null;
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Flood with the backend down (Node)
// ---------------------------------------------------------------------------------------------

/** A loopback port with nothing listening. */
async function deadPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('delivery: a flood while the backend is down, in Node', { timeout: 60000 }, () => {
  const SPANS = 100_000;
  const CHUNK = 1000;
  let edgecensus;
  let wasmMemory;
  let gc;
  const clients = [];
  let collector;

  before(async () => {
    requirePackage('node.js', 'edgecensus_bg.wasm');
    edgecensus = await import(new URL('../../pkg/node.js', import.meta.url).href);
    // The package does not expose its WebAssembly.Memory; wasm-bindgen's initSync() hands back
    // the exports of the instance already loaded (it is the same module the package imports).
    const { initSync } = await import(new URL('../../pkg/edgecensus.js', import.meta.url).href);
    await edgecensus.init({ exportIntervalMs: 0 }); // loads the wasm
    wasmMemory = initSync().memory;
    v8.setFlagsFromString('--expose_gc');
    gc = vm.runInNewContext('gc');
  });
  after(async () => {
    for (const c of clients) await c.shutdown({ timeoutMs: 0 });
    await collector?.close();
  });

  async function memory() {
    gc();
    await sleep(20); // let FinalizationRegistry callbacks free the spans' wasm side
    gc();
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, wasm: wasmMemory.buffer.byteLength };
  }
  const mb = (bytes) => `${(bytes / 1048576).toFixed(1)} MB`;

  /** Records SPANS spans in chunks (the event loop turns between them, so failures come back). */
  async function flood(client, { onChunk } = {}) {
    let maxPending = 0;
    for (let i = 0; i < SPANS / CHUNK; i++) {
      for (let j = 0; j < CHUNK; j++) client.startSpan('flood', { attributes: { uid: `flood-${i}-${j}`, n: j } }).end();
      maxPending = Math.max(maxPending, client.diagnostics().itemsPending);
      await tick();
      await onChunk?.((i + 1) * CHUNK);
    }
    return maxPending;
  }

  test('nothing listening, maxQueueSize 1000: the queue stays at the cap, the rest counted as queueFull, memory flat', async () => {
    const CAP = 1000;
    const port = await deadPort();
    const client = await edgecensus.init({ connectionString: connectionStringFor(`http://127.0.0.1:${port}`), serviceName: 'delivery-flood', maxQueueSize: CAP });
    clients.push(client);
    const samples = {};
    const t0 = Date.now();
    const maxPending = await flood(client, {
      async onChunk(n) {
        if (n === 10_000 || n === SPANS) samples[n] = await memory();
      },
    });
    const d = client.diagnostics();
    const [a, b] = [samples[10_000], samples[SPANS]];
    const growth = Object.fromEntries(Object.keys(a).map((k) => [k, b[k] - a[k]]));
    console.log(`  ${SPANS} spans in ${Date.now() - t0} ms; queued ${d.itemsQueued}, queueFull ${d.dropped.queueFull}, pending ${d.itemsPending} (max ${maxPending}), requests ${d.requestsSent} (${d.requestsFailed} failed)`);
    for (const k of Object.keys(a)) console.log(`  ${k}: ${mb(a[k])} after 10k, ${mb(b[k])} after 100k (${growth[k] >= 0 ? '+' : ''}${mb(growth[k])})`);

    assert.ok(maxPending <= CAP, `itemsPending reached ${maxPending}, over maxQueueSize ${CAP}`);
    assert.ok(d.itemsPending <= CAP);
    assert.equal(d.itemsQueued + d.dropped.queueFull, SPANS, 'every span is either queued or counted as queueFull');
    assert.equal(d.itemsQueued, CAP, 'the queue filled to its cap and nothing left it (nothing can be delivered)');
    assert.equal(d.itemsAccepted, 0);
    assert.ok(d.requestsFailed >= 1, 'sends were tried and failed');
    const others = Object.entries(d.dropped).filter(([k, n]) => k !== 'queueFull' && n !== 0);
    assert.deepEqual(others, [], 'no other drop');
    assert.ok(growth.rss < 30 * 1048576, `rss grew by ${mb(growth.rss)} from 10k to 100k spans`);
    assert.ok(growth.heapUsed < 30 * 1048576, `the JS heap grew by ${mb(growth.heapUsed)}`);
    assert.ok(growth.wasm < 16 * 1048576, `wasm memory grew by ${mb(growth.wasm)}`);
  });

  test('every answer 503, maxQueueBytes 64 KiB: the byte cap holds, the rest counted as queueFull', async () => {
    const CAP_BYTES = 65_536;
    collector = await startCollector();
    collector.respondWith(() => ({ status: 503 }));
    const client = await edgecensus.init({
      connectionString: connectionStringFor(collector.url),
      serviceName: 'delivery-flood',
      maxQueueSize: 1_000_000,
      maxQueueBytes: CAP_BYTES,
      maxBatchSize: 50,
    });
    clients.push(client);
    const maxPending = await flood(client);
    const d = client.diagnostics();
    const sizes = collector.trackRequests.flatMap((r) => JSON.parse(r.bodyText).map((item) => JSON.stringify(item).length));
    console.log(`  queued ${d.itemsQueued}, queueFull ${d.dropped.queueFull}, pending ${d.itemsPending} (max ${maxPending}); ${collector.trackRequests.length} request(s) answered 503; items of ${Math.min(...sizes)}..${Math.max(...sizes)} bytes`);
    assert.ok(sizes.length > 0, 'the exporter tried to send');
    assert.equal(d.itemsQueued + d.dropped.queueFull, SPANS, 'every span is either queued or counted as queueFull');
    assert.ok(d.itemsQueued * Math.min(...sizes) <= CAP_BYTES, `${d.itemsQueued} items of at least ${Math.min(...sizes)} bytes do not fit in ${CAP_BYTES} bytes`);
    assert.ok(d.itemsQueued >= Math.floor(CAP_BYTES / Math.max(...sizes)), `the byte cap filled: ${d.itemsQueued} items`);
    assert.ok(maxPending <= d.itemsQueued);
    assert.equal(d.itemsAccepted, 0);
    const others = Object.entries(d.dropped).filter(([k, n]) => k !== 'queueFull' && n !== 0);
    assert.deepEqual(others, [], 'no other drop');
  });
});
