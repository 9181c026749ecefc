// The public API of edgecensus, shared by every entry point (web.js, node.js, workerd.js).
//
// Spans and logs are recorded here, in JS, and handed to wasm in batches (the tape, below, and
// src/tape.rs), so that the hot paths never cross into wasm. Values are sorted by type before
// they cross (the Rust side only ever sees strings, finite numbers and booleans). This module
// also tracks the active span, and adapts headers, fetch and worker handlers. Nothing here runs
// at import time: no timer, no fetch, no random number.
import { RawClient } from "./edgecensus.js";

const KINDS = { __proto__: null, internal: 0, server: 1, client: 2, producer: 3, consumer: 4 };
const STATUS = { __proto__: null, unset: 0, ok: 1, error: 2 };

/** Where `withSpan` keeps the active span: AsyncLocalStorage when the host has it, else a stack. */
function contextManager(AsyncLocalStorage) {
  if (AsyncLocalStorage) {
    const storage = new AsyncLocalStorage();
    return { active: () => storage.getStore(), run: (span, fn) => storage.run(span, fn) };
  }
  // Without async context (browsers), a span is active while `fn` runs synchronously.
  const stack = [];
  return {
    active: () => stack[stack.length - 1],
    run(span, fn) {
      stack.push(span);
      try {
        return fn();
      } finally {
        stack.pop();
      }
    },
  };
}

/** Milliseconds since the epoch, sub-millisecond where the host allows: `performance` when its
 *  origin agrees with `Date.now()` (workerd's does not), else `Date.now()`. */
function makeClock() {
  const p = globalThis.performance;
  if (p && typeof p.now === "function" && typeof p.timeOrigin === "number") {
    const origin = p.timeOrigin;
    if (Math.abs(origin + p.now() - Date.now()) < 1000) return () => origin + p.now();
  }
  return Date.now;
}

/** A time given by the caller (ms since the epoch, or a Date), or now when it is missing or
 *  not a usable time (NaN, an invalid Date, negative, beyond year 33658). */
function timeArg(time, clock) {
  const ms = time instanceof Date ? time.getTime() : time;
  return typeof ms === "number" && ms >= 0 && ms < 1e15 ? ms : clock();
}

// The tape (see src/tape.rs): finished spans and log records, handed to wasm in one call per
// batch, so that the hot paths (span start/end, attributes, log) never cross into wasm.
const OP_SPAN = 1;
const OP_LOG = 2;
const TAPE_MAX_RECORDS = 512; // hand over at once past this many (else at the next microtask)
const ID_BATCH = 64; // ids drawn from wasm per call
const encoder = new TextEncoder();
const later = typeof queueMicrotask === "function" ? queueMicrotask : (fn) => Promise.resolve().then(fn);

class Tape {
  constructor(raw) {
    this.raw = raw;
    this.nums = new Float64Array(1024); // the number channel, written up to `n`
    this.n = 0;
    this.text = ""; // the string channel: the strings joined (a rope until wasm reads it)
    this.lengths = new Uint32Array(256); // and their lengths, up to `ls`
    this.ls = 0;
    this.bytes = new Uint8Array(4096); // the text as UTF-8, for the hand-over
    this.logger = null; // the logger name of the batch's last log record
    this.records = 0;
    this.started = 0;
    this.sampledOut = 0;
    this.scheduled = false;
    this.drainLater = () => this.drain();
  }
  /** The number channel with room for `k` more values after `n`. */
  room(k) {
    if (this.n + k > this.nums.length) {
      const bigger = new Float64Array(Math.max(this.nums.length * 2, this.n + k));
      bigger.set(this.nums.subarray(0, this.n));
      this.nums = bigger;
    }
    return this.nums;
  }
  /** Appends `s` to the string channel. */
  str(s) {
    if (this.ls === this.lengths.length) {
      const bigger = new Uint32Array(this.ls * 2);
      bigger.set(this.lengths);
      this.lengths = bigger;
    }
    this.lengths[this.ls++] = s.length;
    this.text += s;
  }
  /** A record was written: hand the batch over now if it is large, else soon. */
  commit() {
    if (++this.records >= TAPE_MAX_RECORDS) this.drain();
    else if (!this.scheduled) {
      this.scheduled = true;
      later(this.drainLater);
    }
  }
  /** Hands everything written so far to wasm (before any call that reads or sends it). */
  drain() {
    this.scheduled = false;
    if (this.records === 0 && this.started === 0) return;
    // Both channels are copied into wasm memory by the call. A re-entrant call (wasm printing
    // through a console hook that logs) finds the core busy: the batch stays, for later.
    const { n, ls, text, records, started, sampledOut } = this;
    this.logger = null; // records written during the hand-over start a batch of their own
    if (this.bytes.length < text.length * 3) this.bytes = new Uint8Array(text.length * 4);
    const { written } = encoder.encodeInto(text, this.bytes);
    if (!this.raw.ingest(this.nums.subarray(0, n), this.lengths.subarray(0, ls), this.bytes.subarray(0, written), records, started, sampledOut)) {
      if (!this.scheduled) {
        this.scheduled = true;
        later(this.drainLater);
      }
      return;
    }
    this.started -= started; // spans started while wasm ran count with the next hand-over
    this.sampledOut -= sampledOut;
    if (this.records === records) {
      this.n = this.ls = this.records = 0;
      this.text = "";
    } else {
      // Records written while wasm ran (by such a hook) stay, for the next hand-over.
      this.nums.copyWithin(0, n, this.n);
      this.lengths.copyWithin(0, ls, this.ls);
      this.n -= n;
      this.ls -= ls;
      this.records -= records;
      this.text = this.text.slice(text.length);
    }
  }
}

/** Span and trace ids drawn from wasm's generator in batches, with the sampler's decision for a
 *  new trace, and the span limits (`RawClient.spanSettings`). */
class SpanSource {
  constructor(raw) {
    this.raw = raw;
    this.ids = new Uint32Array(0);
    this.next = 0;
    const [mode, high, low, attributes, events, links] = raw.spanSettings();
    this.mode = mode;
    this.high = high;
    this.low = low;
    this.limits = { attributes, events, links };
  }
  /** The offset of a fresh entry in `ids`: trace id (4 words), span id (2), sampled-as-root (1). */
  take() {
    if (this.next >= this.ids.length) {
      this.ids = this.raw.drawIds(ID_BATCH);
      this.next = 0;
      if (this.ids.length === 0) return -1; // the core is busy (a re-entrant call): no span
    }
    const at = this.next;
    this.next += 7;
    return at;
  }
  /** The sampler's decision for a span whose parent has `flags`, in trace `t`. */
  sampledUnder(flags, t) {
    if (this.mode !== 2) return this.mode === 0;
    // A sampled parent is honoured; otherwise the trace id's low 64 bits under the bound.
    return (flags & 1) === 1 || t[2] < this.high || (t[2] === this.high && t[3] < this.low);
  }
}

const HEX_TRACE = /^[0-9a-f]{32}$/;
const HEX_SPAN = /^[0-9a-f]{16}$/;

/** Hex ids to 32-bit words; null unless valid (lowercase hex, not all zeros). */
function wordsOf(hex, pattern) {
  if (typeof hex !== "string" || !pattern.test(hex)) return null;
  const words = [];
  let any = 0;
  for (let i = 0; i < hex.length; i += 8) {
    const w = parseInt(hex.slice(i, i + 8), 16);
    any |= w;
    words.push(w);
  }
  return any === 0 ? null : words;
}

function hexOf(words) {
  let out = "";
  for (const w of words) out += (w >>> 0).toString(16).padStart(8, "0");
  return out;
}

function traceparentOf(traceHex, spanHex, flags) {
  return `00-${traceHex}-${spanHex}-${(flags & 0xff).toString(16).padStart(2, "0")}`;
}

/** An attribute list with the count limit applied: [type, key, value] triples in `list`. */
function putAttribute(client, list, limit, key, value) {
  if (typeof key !== "string" || key === "") return client.countInvalid(), 0;
  let type;
  switch (typeof value) {
    case "string":
      type = 0;
      break;
    case "number":
      if (!Number.isFinite(value)) return client.countInvalid(), 0;
      type = 1;
      break;
    case "boolean":
      type = value ? 2 : 3;
      break;
    case "bigint":
      type = 0;
      value = value.toString();
      break;
    case "object":
      if (Array.isArray(value) && value.every((v) => ["string", "number", "boolean"].includes(typeof v))) {
        type = 0;
        value = JSON.stringify(value);
        break;
      }
      return client.countInvalid(), 0;
    default:
      return client.countInvalid(), 0;
  }
  for (let i = 1; i < list.length; i += 3) {
    if (list[i] === key) {
      list[i - 1] = type;
      list[i + 1] = value;
      return 0;
    }
  }
  if (list.length >= limit * 3) return 1; // dropped (counted by the caller)
  list.push(type, key, value);
  return 0;
}

/** Puts `attributes` (a plain object) into `list`; returns how many the limit dropped. */
function putAttributes(client, list, limit, attributes) {
  if (attributes === undefined || attributes === null) return 0;
  if (typeof attributes !== "object") return client.countInvalid(), 0;
  let dropped = 0;
  for (const key of Object.keys(attributes)) dropped += putAttribute(client, list, limit, key, attributes[key]);
  return dropped;
}

/** Writes an attribute list (see putAttribute) to the tape. */
function writeAttributes(tape, list, dropped) {
  const count = list.length / 3;
  const nums = tape.room(2 + 2 * count);
  let n = tape.n;
  nums[n++] = count;
  nums[n++] = dropped;
  for (let i = 0; i < list.length; i += 3) {
    const type = list[i];
    nums[n++] = type;
    tape.str(list[i + 1]);
    if (type === 0) tape.str(list[i + 2]);
    else if (type === 1) nums[n++] = list[i + 2];
  }
  tape.n = n;
}

/** A span. It lives in JS until it ends; then it is written to the tape. Methods never throw;
 *  odd arguments are counted and ignored. */
export class Span {
  /** `traceWords`: the trace id as 4 words (shared by the spans of a trace); `s0 s1`: the span
   *  id; `parent`: the parent's span id words [p0, p1], or null. */
  constructor(client, name, kind, traceWords, s0, s1, flags, traceState, parent, start) {
    this._client = client;
    this._name = name;
    this._kind = kind;
    this._t = traceWords;
    this._s0 = s0;
    this._s1 = s1;
    this._flags = flags;
    this._traceState = traceState;
    this._parent = parent;
    this._start = start;
    this._recording = (flags & 1) === 1;
    this._attributes = [];
    this._droppedAttributes = 0;
    this._events = null;
    this._droppedEvents = 0;
    this._links = null;
    this._droppedLinks = 0;
    this._status = 0;
    this._message = "";
    this._hex = null;
  }
  /** @internal the ids as hex: [trace, span] */
  _ids() {
    return (this._hex ??= [hexOf(this._t), hexOf([this._s0, this._s1])]);
  }
  spanContext() {
    const [traceId, spanId] = this._ids();
    const context = { traceId, spanId, traceFlags: this._flags };
    if (this._traceState) context.traceState = this._traceState;
    return context;
  }
  isRecording() {
    return this._recording;
  }
  setAttribute(key, value) {
    if (this._recording) {
      this._droppedAttributes += putAttribute(this._client, this._attributes, this._client._limits.attributes, key, value);
    }
    return this;
  }
  setAttributes(attributes) {
    if (this._recording) {
      this._droppedAttributes += putAttributes(this._client, this._attributes, this._client._limits.attributes, attributes);
    }
    return this;
  }
  addEvent(name, attributes, time) {
    const client = this._client;
    if (typeof name !== "string") {
      client.countInvalid();
      return this;
    }
    if (!this._recording) return this;
    const events = (this._events ??= []);
    if (events.length >= client._limits.events) {
      this._droppedEvents += 1;
      return this;
    }
    const list = [];
    const dropped = putAttributes(client, list, client._limits.attributes, attributes);
    events.push({ name, time: timeArg(time, client._clock), list, dropped });
    return this;
  }
  addLink(context, attributes) {
    const client = this._client;
    const t = wordsOf(context?.traceId, HEX_TRACE);
    const s = wordsOf(context?.spanId, HEX_SPAN);
    if (t === null || s === null) {
      client.countInvalid();
      return this;
    }
    if (!this._recording) return this;
    const links = (this._links ??= []);
    if (links.length >= client._limits.links) {
      this._droppedLinks += 1;
      return this;
    }
    const list = [];
    const dropped = putAttributes(client, list, client._limits.attributes, attributes);
    links.push({ t, s, traceState: typeof context.traceState === "string" ? context.traceState : "", list, dropped });
    return this;
  }
  setStatus(code, message) {
    const value = STATUS[code];
    if (value === undefined) this._client.countInvalid();
    // As OpenTelemetry specifies: Ok is final, and Unset never overrides.
    else if (this._recording && this._status !== 1 && value !== 0) {
      this._status = value;
      this._message = value === 2 && typeof message === "string" ? message : "";
    }
    return this;
  }
  recordException(error) {
    let type = "";
    let message = "";
    let stack = "";
    try {
      if (error instanceof Error || (error && typeof error === "object")) {
        type = String(error.name ?? error.constructor?.name ?? "Error");
        message = String(error.message ?? "");
        stack = typeof error.stack === "string" ? error.stack : "";
      } else {
        type = typeof error;
        message = String(error);
      }
    } catch {
      message = "unreadable exception";
    }
    if (!this._recording) return this;
    const attributes = {};
    if (type) attributes["exception.type"] = type;
    attributes["exception.message"] = message;
    if (stack) attributes["exception.stacktrace"] = stack;
    this.addEvent("exception", attributes);
    this.setStatus("error", type ? `${type}: ${message}` : message);
    // Only a recording span exports the exception; otherwise the page's handlers still should.
    if (error !== null && (typeof error === "object" || typeof error === "function")) reported.add(error);
    return this;
  }
  updateName(name) {
    if (typeof name !== "string") this._client.countInvalid();
    else if (this._recording) this._name = name;
    return this;
  }
  end(endTime) {
    if (!this._recording) return;
    this._recording = false;
    const client = this._client;
    const tape = client._tape;
    const nums = tape.room(15);
    let n = tape.n;
    const t = this._t;
    nums[n++] = OP_SPAN;
    nums[n++] = this._kind;
    nums[n++] = this._flags;
    nums[n++] = t[0];
    nums[n++] = t[1];
    nums[n++] = t[2];
    nums[n++] = t[3];
    nums[n++] = this._s0;
    nums[n++] = this._s1;
    const parent = this._parent;
    if (parent === null) nums[n++] = 0;
    else {
      nums[n++] = 1;
      nums[n++] = parent[0];
      nums[n++] = parent[1];
    }
    nums[n++] = this._start;
    nums[n++] = timeArg(endTime, client._clock);
    nums[n++] = this._status;
    tape.n = n;
    tape.str(this._name);
    tape.str(this._traceState);
    if (this._status === 2) tape.str(this._message);
    writeAttributes(tape, this._attributes, this._droppedAttributes);
    const events = this._events;
    tape.room(2);
    tape.nums[tape.n++] = events === null ? 0 : events.length;
    tape.nums[tape.n++] = this._droppedEvents;
    if (events !== null) {
      for (const e of events) {
        tape.room(1)[tape.n++] = e.time;
        tape.str(e.name);
        writeAttributes(tape, e.list, e.dropped);
      }
    }
    const links = this._links;
    tape.room(2);
    tape.nums[tape.n++] = links === null ? 0 : links.length;
    tape.nums[tape.n++] = this._droppedLinks;
    if (links !== null) {
      for (const l of links) {
        const out = tape.room(6);
        out.set(l.t, tape.n);
        out.set(l.s, tape.n + 4);
        tape.n += 6;
        tape.str(l.traceState);
        writeAttributes(tape, l.list, l.dropped);
      }
    }
    this._attributes = this._events = this._links = null;
    tape.commit();
  }
}

/** Errors already reported (on a span), so that the page's error handlers do not report them twice. */
const reported = new WeakSet();

const SEVERITIES = { __proto__: null, debug: 0, verbose: 0, trace: 0, info: 1, information: 1, warning: 2, warn: 2, error: 3, critical: 4, fatal: 4 };

/** Text for a log message or property value that is not a string. */
function asText(value) {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (value !== null && typeof value === "object") {
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}

/** Properties as two arrays of strings; undefined, functions and symbols are counted and skipped. */
function propertyArrays(client, properties) {
  const keys = [];
  const values = [];
  if (properties === undefined || properties === null) return [keys, values];
  if (typeof properties !== "object") {
    client.countInvalid();
    return [keys, values];
  }
  for (const key of Object.keys(properties)) {
    const value = properties[key];
    if (value === undefined || typeof value === "function" || typeof value === "symbol") {
      client.countInvalid();
      continue;
    }
    keys.push(key);
    values.push(asText(value));
  }
  return [keys, values];
}

/** An error, its `cause`s and an AggregateError's `errors`, flattened with links to the outer one. */
function exceptionChain(error) {
  const types = [];
  const messages = [];
  const stacks = [];
  const outer = [];
  const seen = new Set();
  const visit = (e, parent) => {
    if (types.length >= 32) return;
    if (e !== null && typeof e === "object") {
      if (seen.has(e)) return;
      seen.add(e);
    }
    const index = types.length;
    let type = "Error";
    let message = "";
    let stack = "";
    try {
      if (e !== null && typeof e === "object" && ("message" in e || "stack" in e)) {
        type = String(e.name ?? e.constructor?.name ?? "Error");
        message = String(e.message ?? "");
        stack = typeof e.stack === "string" ? e.stack : "";
      } else if (e !== null && typeof e === "object") {
        type = String(e.constructor?.name ?? "Object");
        message = asText(e);
      } else {
        type = typeof e;
        message = String(e);
      }
    } catch {
      message = "unreadable exception";
    }
    types.push(type);
    messages.push(message);
    stacks.push(stack);
    outer.push(parent);
    try {
      if (Array.isArray(e?.errors)) for (const inner of e.errors) visit(inner, index);
      if (e !== null && typeof e === "object" && "cause" in e && e.cause !== undefined) visit(e.cause, index);
    } catch {}
  };
  visit(error, -1);
  return { types, messages, stacks, outer };
}

/** A named logger: `debug`, `info`, `warning` (`warn`), `error`, `critical`, `exception`. */
export class Logger {
  #client;
  #name;
  constructor(client, name) {
    this.#client = client;
    this.#name = name;
  }
  get name() {
    return this.#name;
  }
  debug(message, properties) {
    this.#client.writeLog(0, message, properties, this.#name);
  }
  info(message, properties) {
    this.#client.writeLog(1, message, properties, this.#name);
  }
  warning(message, properties) {
    this.#client.writeLog(2, message, properties, this.#name);
  }
  warn(message, properties) {
    this.#client.writeLog(2, message, properties, this.#name);
  }
  error(message, properties) {
    this.#client.writeLog(3, message, properties, this.#name);
  }
  critical(message, properties) {
    this.#client.writeLog(4, message, properties, this.#name);
  }
  exception(error, properties) {
    this.#client.trackException(error, { properties: { ...properties, loggerName: this.#name } });
  }
}

/** Keeps at most `burst` events, refilled at `perSecond`: a flood of console output cannot flood the exporter. */
function rateLimiter(perSecond, burst) {
  let tokens = burst;
  let last = Date.now();
  return () => {
    const now = Date.now();
    tokens = Math.min(burst, tokens + ((now - last) / 1000) * perSecond);
    last = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

/**
 * Browser auto-capture (opt-in): `error` and `unhandledrejection` events become exceptions,
 * and with `console: true`, console.warn/error become logs (never recursing, rate-limited).
 */
function installCapture(client, raw, capture) {
  const target = globalThis;
  if (!capture || typeof target.addEventListener !== "function") return;
  if (capture.errors !== false) {
    target.addEventListener("error", (event) => {
      const error = event.error ?? event.message;
      if (error === undefined || (error !== null && typeof error === "object" && reported.has(error))) return;
      const properties = { handledAt: "window.onerror" };
      if (event.filename) properties.fileName = event.filename;
      if (event.lineno) properties.line = event.lineno;
      client.trackException(error, { properties, severity: "critical" });
    });
    target.addEventListener("unhandledrejection", (event) => {
      const reason = event.reason;
      if (reason !== null && typeof reason === "object" && reported.has(reason)) return;
      client.trackException(reason, { properties: { handledAt: "unhandledrejection" }, severity: "critical" });
    });
  }
  if (capture.console && typeof console === "object") {
    const allow = rateLimiter(capture.consoleRate ?? 10, capture.consoleBurst ?? 50);
    let inside = false;
    for (const [method, severity] of [["warn", 2], ["error", 3]]) {
      const original = console[method];
      if (typeof original !== "function") continue;
      console[method] = function (...args) {
        original.apply(this, args);
        if (inside) return; // our own output, or a logger that logs: never recurse
        inside = true;
        try {
          if (allow()) client.writeLog(severity, args.map(asText).join(" "), { source: `console.${method}` }, "console");
          else raw.dropRateLimited();
        } finally {
          inside = false;
        }
      };
    }
  }
}

/**
 * Pages only: sends what is queued when the page is hidden or unloaded (keepalive requests),
 * and with `persistence`, keeps in localStorage what could not be sent (the exporter was backing
 * off: offline or throttled) and sends it on the next load; `online` ends a backoff at once.
 */
function installPageLifecycle(client, raw, persistence, connectionString) {
  const target = globalThis;
  if (typeof target.addEventListener !== "function" || typeof target.document !== "object") return;
  const options = persistence === true ? {} : persistence && typeof persistence === "object" ? persistence : null;
  const storage = options ? localStorageOrNull() : null;
  const key = `edgecensus:queue:${hash(connectionString)}`;
  const maxBytes = options?.maxBytes ?? 1 << 20;
  const maxAgeMs = options?.maxAgeMs ?? 24 * 3600 * 1000;
  if (storage) restore(raw, storage, key, maxAgeMs);
  const leave = (last) => {
    client._tape.drain(); // what was written just before counts too
    const kept = raw.unload(storage !== null, last);
    if (kept.length === 0 || !storage) return;
    // Keep the oldest items that fit in the size cap; the rest cannot be kept (counted).
    const items = [];
    let size = 0;
    for (const item of kept) {
      if (size + item.length > maxBytes) break;
      items.push(item);
      size += item.length;
    }
    try {
      const previous = JSON.parse(storage.getItem(key) ?? "null");
      const earlier = Array.isArray(previous?.items) ? previous.items : [];
      storage.setItem(key, JSON.stringify({ savedAt: Date.now(), items: earlier.concat(items) }));
      if (items.length < kept.length) raw.restore(kept.slice(items.length)); // still in memory if the page lives on
    } catch {
      raw.restore(kept); // storage full or refused: keep them in memory
    }
  };
  target.addEventListener("visibilitychange", () => {
    if (target.document.visibilityState === "hidden") leave(false);
    else if (storage) restore(raw, storage, key, maxAgeMs); // back again: take the kept items back
  });
  target.addEventListener("pagehide", () => leave(true));
  target.addEventListener("online", () => raw.resume());
}

function restore(raw, storage, key, maxAgeMs) {
  try {
    const saved = JSON.parse(storage.getItem(key) ?? "null");
    storage.removeItem(key); // read once: never sent twice
    if (!saved || !Array.isArray(saved.items)) return;
    const items = saved.items.filter((i) => typeof i === "string");
    if (Date.now() - Number(saved.savedAt) > maxAgeMs) raw.expire(items.length);
    else if (items.length) raw.restore(items);
  } catch {
    // unreadable storage: nothing to restore
  }
}

function localStorageOrNull() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // access denied (sandboxed frames, some privacy modes)
  }
}

/** A short stable hash (FNV-1a), so storage keys do not spell out connection strings. */
function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16);
}

/** A measure registered with `measureInt` / `measureFloat`: pass it to `record`. */
export class Measure {
  constructor(owner, id, name, kind) {
    this._owner = owner; // the client it belongs to: ids mean nothing to another one
    this._id = id;
    this.name = name;
    this.kind = kind;
  }
}

/** An interned set of tags: build it once with `client.tagMap(...)`, record with it often. */
export class TagMap {
  constructor(owner, id) {
    this._owner = owner; // null: valid in every client (the empty and the invalid map)
    this._id = id; // -1: invalid (recording with it is counted as invalid)
  }
}

const AGGREGATIONS = { __proto__: null, count: 0, sum: 1, lastValue: 2, distribution: 3 };
const MAX_CACHED_TAG_MAPS = 1024;

/** Reads one header from Headers, a Request, or a plain object (case-insensitively). */
function readHeader(carrier, name) {
  if (!carrier || typeof carrier !== "object") return undefined;
  const headers = typeof carrier.headers === "object" && carrier.headers !== null && typeof carrier.headers.get === "function" ? carrier.headers : carrier;
  if (typeof headers.get === "function") {
    try {
      return headers.get(name) ?? undefined;
    } catch {
      return undefined;
    }
  }
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() !== name) continue;
    const value = headers[key];
    if (Array.isArray(value)) return value.length === 1 || name === "tracestate" ? value.join(",") : "";
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

/** Writes one header into Headers, a Request's headers, or a plain object; false if refused. */
function writeHeader(carrier, name, value) {
  if (!carrier || typeof carrier !== "object") return false;
  const headers = typeof carrier.headers === "object" && carrier.headers !== null && typeof carrier.headers.set === "function" ? carrier.headers : carrier;
  try {
    if (typeof headers.set === "function") headers.set(name, value);
    else headers[name] = value;
    return true;
  } catch {
    return false; // immutable headers (e.g. an incoming Request in a worker)
  }
}

function absoluteUrl(url) {
  try {
    return new URL(url, globalThis.location?.href).href;
  } catch {
    return String(url);
  }
}

const EMPTY_TAGS = new TagMap(null, 0);
const INVALID_TAGS = new TagMap(null, -1);

function timeoutOf(options, fallback) {
  const ms = options?.timeoutMs;
  return typeof ms === "number" && ms >= 0 ? ms : fallback;
}

export class Client {
  #raw;
  #context;
  #flushTimeoutMs;
  constructor(raw, context, flushTimeoutMs) {
    this.#raw = raw;
    this.#context = context;
    this.#flushTimeoutMs = flushTimeoutMs;
    /** @internal */
    this._tape = new Tape(raw);
    /** @internal */
    this._clock = makeClock();
    this.#spans = new SpanSource(raw);
    /** @internal */
    this._limits = this.#spans.limits;
  }
  #spans;

  /** @internal */
  countInvalid() {
    this.#raw.countInvalid();
  }

  startSpan(name, options) {
    if (typeof name !== "string") {
      this.#raw.countInvalid();
      name = name === undefined || name === null ? "span" : String(name);
    }
    const o = options && typeof options === "object" ? options : {};
    let kind = 0;
    if (o.kind !== undefined) {
      kind = KINDS[o.kind];
      if (kind === undefined) {
        this.#raw.countInvalid();
        kind = 0;
      }
    }
    const parent = "parent" in o ? o.parent : this.#context.active();
    const start = timeArg(o.startTime, this._clock);
    const source = this.#spans;
    const at = source.take();
    if (at < 0) return new Span(this, name, kind, [0, 0, 0, 0], 0, 0, 0, "", null, start);
    const ids = source.ids;
    let traceWords;
    let parentWords = null;
    let sampled;
    let traceState = "";
    if (parent instanceof Span) {
      traceWords = parent._t;
      parentWords = [parent._s0, parent._s1];
      sampled = source.sampledUnder(parent._flags, traceWords);
      traceState = parent._traceState;
    } else {
      const t = parent && typeof parent === "object" ? wordsOf(parent.traceId, HEX_TRACE) : null;
      const s = t === null ? null : wordsOf(parent.spanId, HEX_SPAN);
      if (t !== null && s !== null) {
        traceWords = t;
        parentWords = s;
        sampled = source.sampledUnder(Number.isInteger(parent.traceFlags) ? parent.traceFlags : 0, t);
        traceState = typeof parent.traceState === "string" ? parent.traceState : "";
      } else {
        if (parent !== undefined && parent !== null) this.#raw.countInvalid();
        traceWords = [ids[at], ids[at + 1], ids[at + 2], ids[at + 3]];
        sampled = ids[at + 6] === 1;
      }
    }
    const tape = this._tape;
    tape.started += 1;
    if (!sampled) tape.sampledOut += 1;
    const span = new Span(this, name, kind, traceWords, ids[at + 4], ids[at + 5], sampled ? 1 : 0, traceState, parentWords, start);
    if (o.attributes !== undefined) span.setAttributes(o.attributes);
    if (Array.isArray(o.links)) for (const link of o.links) span.addLink(link?.context, link?.attributes);
    return span;
  }

  withSpan(name, fn, options) {
    const span = this.startSpan(name, options);
    if (typeof fn !== "function") {
      this.#raw.countInvalid();
      span.end();
      return undefined;
    }
    let result;
    try {
      result = this.#context.run(span, () => fn(span));
    } catch (error) {
      span.recordException(error);
      span.end();
      throw error; // the caller's own error, passed through unchanged
    }
    if (result !== null && typeof result === "object" && typeof result.then === "function") {
      return result.then(
        (value) => {
          span.end();
          return value;
        },
        (error) => {
          span.recordException(error);
          span.end();
          throw error;
        },
      );
    }
    span.end();
    return result;
  }

  activeSpan() {
    return this.#context.active();
  }

  /** @internal runs `fn` with `span` active */
  runWithSpan(span, fn) {
    return this.#context.run(span, fn);
  }

  extract(carrier) {
    const traceparent = readHeader(carrier, "traceparent");
    if (traceparent === undefined) return null;
    return this.#raw.parseContext(traceparent, readHeader(carrier, "tracestate") ?? "");
  }

  inject(carrier, spanOrContext) {
    const source = spanOrContext ?? this.#context.active();
    let traceparent = "";
    let tracestate = "";
    if (source instanceof Span) {
      const [traceId, spanId] = source._ids();
      traceparent = traceparentOf(traceId, spanId, source._flags);
      tracestate = source._traceState;
    } else if (source && wordsOf(source.traceId, HEX_TRACE) && wordsOf(source.spanId, HEX_SPAN)) {
      const flags = Number.isInteger(source.traceFlags) ? source.traceFlags & 0xff : 0;
      traceparent = traceparentOf(source.traceId, source.spanId, flags);
      tracestate = typeof source.traceState === "string" ? source.traceState : "";
    }
    if (!traceparent) {
      if (source !== undefined) this.#raw.countInvalid();
      return;
    }
    if (!writeHeader(carrier, "traceparent", traceparent)) return this.#raw.countInvalid();
    if (tracestate) writeHeader(carrier, "tracestate", tracestate);
  }

  async fetch(input, init, options) {
    const request = typeof Request === "function" && input instanceof Request ? input : undefined;
    const url = absoluteUrl(request ? request.url : input instanceof URL ? input.href : String(input));
    const method = String(init?.method ?? request?.method ?? "GET").toUpperCase();
    let path = url;
    try {
      path = new URL(url).pathname;
    } catch {}
    const span = this.startSpan(`${method} ${path}`, {
      ...options,
      kind: "client",
      attributes: { ...options?.attributes, "http.method": method, "http.url": url },
    });
    const headers = new Headers(init?.headers ?? request?.headers);
    this.inject(headers, span);
    let response;
    try {
      response = await globalThis.fetch(input, { ...init, headers });
    } catch (error) {
      span.recordException(error);
      span.end();
      throw error;
    }
    span.setAttribute("http.status_code", response.status);
    if (response.status >= 400) span.setStatus("error", `HTTP ${response.status}`);
    span.end();
    return response;
  }

  /** A named logger. */
  logger(name) {
    return new Logger(this, typeof name === "string" ? name : "");
  }

  /** Writes a log message at `level` (debug, info, warning, error, critical). */
  log(level, message, properties) {
    const severity = SEVERITIES[level];
    if (severity === undefined) this.#raw.countInvalid();
    this.writeLog(severity ?? 1, message, properties, "");
  }

  /** @internal */
  writeLog(severity, message, properties, loggerName) {
    const tape = this._tape;
    const active = this.#context.active();
    const nums = tape.room(12);
    let n = tape.n;
    nums[n++] = OP_LOG;
    nums[n++] = severity;
    nums[n++] = this._clock();
    if (active instanceof Span) {
      const t = active._t;
      nums[n++] = 1 + active._flags; // correlated, with the span's trace flags
      nums[n++] = t[0];
      nums[n++] = t[1];
      nums[n++] = t[2];
      nums[n++] = t[3];
      nums[n++] = active._s0;
      nums[n++] = active._s1;
    } else nums[n++] = 0;
    const countAt = n;
    nums[n++] = 0;
    // The logger's name once per batch while one logger writes (most often).
    const sameLogger = loggerName === tape.logger;
    nums[n++] = sameLogger ? 1 : 0;
    tape.n = n;
    tape.str(typeof message === "string" ? message : asText(message));
    if (!sameLogger) {
      tape.str(loggerName);
      tape.logger = loggerName;
    }
    if (properties !== undefined && properties !== null) {
      if (typeof properties !== "object") this.#raw.countInvalid();
      else {
        let count = 0;
        for (const key in properties) {
          if (!Object.hasOwn(properties, key)) continue;
          const value = properties[key];
          if (value === undefined || typeof value === "function" || typeof value === "symbol") {
            this.#raw.countInvalid();
            continue;
          }
          tape.str(key);
          tape.str(typeof value === "string" ? value : asText(value));
          count += 1;
        }
        tape.nums[countAt] = count;
      }
    }
    tape.commit();
  }

  /** Reports an exception (an Error, an error with `cause`s, an AggregateError, or any thrown value). */
  trackException(error, options) {
    const chain = exceptionChain(error);
    const [keys, values] = propertyArrays(this.#raw, options?.properties);
    const severity = SEVERITIES[options?.severity] ?? 3;
    const active = options?.span instanceof Span ? options.span : this.#context.active();
    const correlation = active instanceof Span ? Uint32Array.of(...active._t, active._s0, active._s1, active._flags) : new Uint32Array(0);
    this._tape.drain(); // in order with the logs written before it
    this.#raw.exception(severity, chain.types, chain.messages, chain.stacks, Int32Array.from(chain.outer), keys, values, correlation);
    if (error !== null && (typeof error === "object" || typeof error === "function")) reported.add(error);
  }

  measureInt(name, description, unit) {
    return this.#measure(name, description, unit, true);
  }
  measureFloat(name, description, unit) {
    return this.#measure(name, description, unit, false);
  }
  #measure(name, description = "", unit = "1", isInt) {
    if (typeof name !== "string") throw new TypeError("edgecensus: a measure needs a string name");
    const id = this.#raw.registerMeasure(name, String(description ?? ""), String(unit ?? "1"), isInt);
    return new Measure(this.#raw, id, name, isInt ? "int" : "float");
  }

  registerView(view) {
    if (!view || typeof view !== "object") throw new TypeError("edgecensus: registerView takes a view object");
    const { name, description = "", measure, columns = [], aggregation = "count" } = view;
    if (typeof name !== "string") throw new TypeError("edgecensus: a view needs a string name");
    if (!(measure instanceof Measure) || measure._owner !== this.#raw) {
      throw new TypeError(`edgecensus: view ${JSON.stringify(name)} needs a measure from this client's measureInt/measureFloat`);
    }
    if (!Array.isArray(columns) || !columns.every((c) => typeof c === "string")) {
      throw new TypeError(`edgecensus: the columns of view ${JSON.stringify(name)} must be an array of tag keys`);
    }
    const type = typeof aggregation === "string" ? aggregation : aggregation?.type;
    const code = AGGREGATIONS[type];
    if (code === undefined) throw new TypeError(`edgecensus: unknown aggregation ${JSON.stringify(type)} (count, sum, lastValue, distribution)`);
    const bounds = code === 3 ? aggregation.bounds : [];
    if (!Array.isArray(bounds) || !bounds.every((b) => typeof b === "number")) {
      throw new TypeError("edgecensus: a distribution needs `bounds`, an array of numbers");
    }
    this.#raw.registerView(name, String(description), measure._id, columns, code, Float64Array.from(bounds));
  }

  #tagMaps = new Map();
  tagMap(tags) {
    if (tags instanceof TagMap) return tags._owner === this.#raw || tags._owner === null ? tags : INVALID_TAGS;
    if (tags === undefined || tags === null) return EMPTY_TAGS;
    if (typeof tags !== "object") {
      this.#raw.countInvalid();
      return INVALID_TAGS;
    }
    const keys = Object.keys(tags);
    let cacheKey = "";
    for (const key of keys) {
      const value = tags[key];
      if (typeof value !== "string") {
        this.#raw.countInvalid();
        return INVALID_TAGS;
      }
      cacheKey += key + "\u0000" + value + "\u0001";
    }
    let map = this.#tagMaps.get(cacheKey);
    if (map === undefined) {
      map = new TagMap(this.#raw, this.#raw.tagSet(keys, keys.map((k) => tags[k])));
      if (this.#tagMaps.size >= MAX_CACHED_TAG_MAPS) this.#tagMaps.clear();
      this.#tagMaps.set(cacheKey, map);
    }
    return map;
  }

  record(measure, value, tags) {
    const map = tags instanceof TagMap ? tags : this.tagMap(tags);
    const raw = this.#raw;
    if (!(measure instanceof Measure) || measure._owner !== raw || typeof value !== "number") return raw.countInvalid();
    if (map._id < 0 || (map._owner !== raw && map._owner !== null)) return raw.countInvalidMeasurement();
    raw.record(measure._id, value, map._id);
  }

  recordMany(measurements, tags) {
    if (!Array.isArray(measurements)) return this.#raw.countInvalid();
    const map = tags instanceof TagMap ? tags : this.tagMap(tags);
    for (const entry of measurements) this.record(entry?.[0], entry?.[1], map);
  }

  getMetrics() {
    return this.#raw.getMetrics();
  }

  flush(options) {
    this._tape.drain();
    return this.#raw.flush(timeoutOf(options, this.#flushTimeoutMs));
  }
  diagnostics() {
    this._tape.drain();
    return this.#raw.diagnostics();
  }
  shutdown(options) {
    this._tape.drain();
    return this.#raw.shutdown(timeoutOf(options, this.#flushTimeoutMs));
  }
}

/**
 * Builds `init` and `instrument` for one host: `load` makes the wasm ready (once),
 * `defaults` are config values the host changes (workerd: no export timer).
 */
export function makeApi({ load, loadAsyncLocalStorage, defaults = {} }) {
  let context;
  async function init(config) {
    await load();
    if (!context) context = contextManager(await loadAsyncLocalStorage?.());
    const merged = config && typeof config === "object" ? { ...defaults, ...config } : config;
    const raw = new RawClient(merged);
    const flushTimeoutMs = typeof merged.flushTimeoutMs === "number" && merged.flushTimeoutMs >= 0 ? merged.flushTimeoutMs : 30000;
    const client = new Client(raw, context, flushTimeoutMs);
    installCapture(client, raw, merged.capture);
    if (merged.connectionString || merged.otlp) {
      installPageLifecycle(client, raw, merged.persistence, `${merged.connectionString ?? ""}|${merged.otlp?.endpoint ?? ""}`);
    }
    return client;
  }

  function instrument(handler, config) {
    let client;
    const clientFor = (env) => (client ??= init(typeof config === "function" ? config(env) : config));
    return {
      ...handler,
      async fetch(request, env, ctx) {
        let telemetry;
        try {
          telemetry = await clientFor(env);
        } catch (error) {
          // A bad configuration must not take the worker down: report once, serve untraced.
          if (!instrument.reported) console.error(String(error?.message ?? error));
          instrument.reported = true;
          return handler.fetch(request, env, ctx);
        }
        return serve(telemetry, handler, request, env, ctx);
      },
    };
  }

  async function serve(client, handler, request, env, ctx) {
    let path = "/";
    try {
      path = new URL(request.url).pathname;
    } catch {}
    const span = client.startSpan(`${request.method} ${path}`, {
      kind: "server",
      parent: client.extract(request),
      attributes: { "http.method": request.method, "http.url": request.url },
    });
    const innerCtx = {
      waitUntil: (promise) => ctx.waitUntil(promise),
      passThroughOnException: () => ctx.passThroughOnException?.(),
      props: ctx.props,
      telemetry: { client, span, fetch: (input, init) => client.fetch(input, init, { parent: span }) },
    };
    try {
      const response = await client.runWithSpan(span, () => handler.fetch(request, env, innerCtx));
      span.setAttribute("http.status_code", response?.status ?? 200);
      return response;
    } catch (error) {
      span.recordException(error);
      span.setAttribute("http.status_code", 500);
      throw error;
    } finally {
      span.end();
      ctx.waitUntil(client.flush());
    }
  }

  return { init, instrument };
}
