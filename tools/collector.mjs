#!/usr/bin/env node
// A real Application Insights ("Breeze") ingestion endpoint for tests and the demo: node:http only,
// no dependencies.
//
//   import { startCollector } from './collector.mjs';
//   const collector = await startCollector({ staticRoutes: { '/': 'www', '/pkg/': 'pkg' } });
//   // connection string: `InstrumentationKey=...;IngestionEndpoint=${collector.url}`
//
//   node tools/collector.mjs --port 8080 --static /=www --static /pkg/=pkg
//
// Routes (every answer carries permissive CORS headers; OPTIONS preflights are answered):
//   POST /v2.1/track, /v2/track   telemetry: a JSON array of envelopes (or NDJSON, or one object),
//                                 optionally `Content-Encoding: gzip|deflate`. Every envelope is
//                                 validated against the Breeze schema of its base type; the answer
//                                 is Breeze's: 200 / 206 {itemsReceived, itemsAccepted, errors[]},
//                                 400 for a body that cannot be read.
//   ANY  /echo                    200 {method, path, headers, body}: what the request looked like
//                                 (so a traced fetch can be checked for `traceparent`).
//   GET  /api/received            {envelopes, invalid}; DELETE /api/received resets them.
//   GET  anything else            static files from `staticRoutes` (longest prefix wins).
//
// Fault injection (tests of delivery): `collector.respondWith(fn)` scripts the answer to each track
// request — a status with headers and body, an answer after a delay, a dropped connection, or a
// partial (206) answer that stores only the items it accepts. `faultScript([...answers])` hands out
// such answers in order of arrival, and one script can serve several collectors:
//
//   const script = faultScript([{ status: 429, headers: { 'retry-after': '1' } }, { destroy: true }]);
//   a.respondWith(script.respond);
//   b.respondWith(script.respond);

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------
// The Breeze schema (ApplicationInsights-Home EndpointSpecs/Schemas/Bond), as the service checks it.
// ---------------------------------------------------------------------------------------------

/** Known context tag keys and their maximum lengths (ContextTagKeys.bond, plus later additions). */
export const CONTEXT_TAG_LIMITS = Object.freeze({
  'ai.application.ver': 1024,
  'ai.device.id': 1024,
  'ai.device.locale': 64,
  'ai.device.model': 256,
  'ai.device.oemName': 256,
  'ai.device.osVersion': 256,
  'ai.device.type': 64,
  'ai.location.ip': 45,
  'ai.location.country': 256,
  'ai.location.province': 256,
  'ai.location.city': 256,
  'ai.operation.id': 128,
  'ai.operation.name': 1024,
  'ai.operation.parentId': 128,
  'ai.operation.syntheticSource': 1024,
  'ai.operation.correlationVector': 64,
  'ai.session.id': 64,
  'ai.session.isFirst': 5,
  'ai.user.accountId': 1024,
  'ai.user.userAgent': 2048,
  'ai.user.id': 128,
  'ai.user.authUserId': 1024,
  'ai.cloud.role': 256,
  'ai.cloud.roleVer': 256,
  'ai.cloud.roleInstance': 256,
  'ai.cloud.location': 256,
  'ai.internal.sdkVersion': 64,
  'ai.internal.agentVersion': 64,
  'ai.internal.nodeName': 256,
});

/** The envelope `name` suffix that goes with each base type. */
const ENVELOPE_SUFFIX = Object.freeze({
  RequestData: 'Request',
  RemoteDependencyData: 'RemoteDependency',
  MessageData: 'Message',
  ExceptionData: 'Exception',
  MetricData: 'Metric',
  EventData: 'Event',
});

const LIMITS = Object.freeze({
  envelopeName: 1024,
  envelopeTime: 64,
  seq: 64,
  iKey: 40,
  propertyKey: 150,
  propertyValue: 8192,
  measurementKey: 150,
});

const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
// .NET TimeSpan text as Breeze parses it: [d.]hh:mm:ss[.fffffff]
const TIMESPAN = /^(?:(\d{1,8})\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SEVERITY_NAMES = ['Verbose', 'Information', 'Warning', 'Error', 'Critical'];

function describe(value) {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value;
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Collects problems about one envelope, phrased like Breeze's item errors. */
class Checker {
  constructor() {
    this.problems = [];
  }
  add(message) {
    this.problems.push(message);
  }
  required(type, field, value, expected) {
    const empty = value === undefined || value === null || (expected === 'string' && value === '');
    if (empty) {
      this.add(`Field '${field}' on type '${type}' is required but missing or empty. Expected: ${expected}, Actual: ${describe(value)}`);
    }
    return !empty;
  }
  typed(type, field, value, expected) {
    const ok =
      expected === 'string' ? typeof value === 'string'
      : expected === 'bool' ? typeof value === 'boolean'
      : expected === 'int' ? Number.isInteger(value)
      : expected === 'double' ? typeof value === 'number' && Number.isFinite(value)
      : expected === 'object' ? isObject(value)
      : expected === 'array' ? Array.isArray(value)
      : false;
    if (!ok) this.add(`Field '${field}' on type '${type}' has the wrong type. Expected: ${expected}, Actual: ${describe(value)}`);
    return ok;
  }
  /** A string field: required or optional, of at most `max` characters. */
  string(type, obj, field, max, { required = false } = {}) {
    const value = obj[field];
    if (required ? !this.required(type, field, value, 'string') : value === undefined || value === null) return;
    if (!this.typed(type, field, value, 'string')) return;
    if (value.length > max) this.add(`Field '${field}' on type '${type}' is too long: ${value.length} characters, at most ${max} allowed`);
  }
  number(type, obj, field, kind, { required = false } = {}) {
    const value = obj[field];
    if (required ? !this.required(type, field, value, kind) : value === undefined || value === null) return;
    this.typed(type, field, value, kind);
  }
  bool(type, obj, field, { required = false } = {}) {
    const value = obj[field];
    if (required ? !this.required(type, field, value, 'bool') : value === undefined || value === null) return;
    this.typed(type, field, value, 'bool');
  }
  duration(type, obj, field) {
    const value = obj[field];
    if (!this.required(type, field, value, 'string') || !this.typed(type, field, value, 'string')) return;
    const m = TIMESPAN.exec(value);
    if (!m || Number(m[2]) > 23 || Number(m[3]) > 59 || Number(m[4]) > 59) {
      this.add(`Field '${field}' on type '${type}' is not a valid TimeSpan ('d.hh:mm:ss.fffffff'): ${JSON.stringify(value).slice(0, 80)}`);
    }
  }
  properties(type, obj) {
    const value = obj.properties;
    if (value === undefined || value === null) return;
    if (!this.typed(type, 'properties', value, 'object')) return;
    for (const [key, v] of Object.entries(value)) {
      const shown = JSON.stringify(key.slice(0, 40));
      if (key.length === 0) this.add(`Field 'properties' on type '${type}' has an empty key`);
      if (key.length > LIMITS.propertyKey) this.add(`Field 'properties' on type '${type}': key ${shown}... is ${key.length} characters, at most ${LIMITS.propertyKey} allowed`);
      if (typeof v !== 'string') {
        this.add(`Field 'properties' on type '${type}': value of ${shown} has the wrong type. Expected: string, Actual: ${describe(v)}`);
      } else if (v.length > LIMITS.propertyValue) {
        this.add(`Field 'properties' on type '${type}': value of ${shown} is ${v.length} characters, at most ${LIMITS.propertyValue} allowed`);
      }
    }
  }
  measurements(type, obj) {
    const value = obj.measurements;
    if (value === undefined || value === null) return;
    if (!this.typed(type, 'measurements', value, 'object')) return;
    for (const [key, v] of Object.entries(value)) {
      const shown = JSON.stringify(key.slice(0, 40));
      if (key.length === 0) this.add(`Field 'measurements' on type '${type}' has an empty key`);
      if (key.length > LIMITS.measurementKey) this.add(`Field 'measurements' on type '${type}': key ${shown}... is ${key.length} characters, at most ${LIMITS.measurementKey} allowed`);
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        this.add(`Field 'measurements' on type '${type}': value of ${shown} must be a finite number, Actual: ${describe(v)}`);
      }
    }
  }
  severity(type, obj) {
    const value = obj.severityLevel;
    if (value === undefined || value === null) return;
    const ok = (Number.isInteger(value) && value >= 0 && value <= 4) || SEVERITY_NAMES.includes(value);
    if (!ok) this.add(`Field 'severityLevel' on type '${type}' must be 0..4 or one of ${SEVERITY_NAMES.join('/')}, Actual: ${JSON.stringify(value)}`);
  }
}

const BASE_DATA_CHECKS = {
  RequestData(c, d) {
    const T = 'RequestData';
    c.number(T, d, 'ver', 'int', { required: true });
    c.string(T, d, 'id', 128, { required: true });
    c.duration(T, d, 'duration');
    c.string(T, d, 'responseCode', 1024, { required: true });
    c.bool(T, d, 'success', { required: true });
    c.string(T, d, 'source', 1024);
    c.string(T, d, 'name', 1024);
    c.string(T, d, 'url', 2048);
    c.properties(T, d);
    c.measurements(T, d);
  },
  RemoteDependencyData(c, d) {
    const T = 'RemoteDependencyData';
    c.number(T, d, 'ver', 'int', { required: true });
    c.string(T, d, 'name', 1024, { required: true });
    c.string(T, d, 'id', 128);
    c.string(T, d, 'resultCode', 1024);
    c.duration(T, d, 'duration');
    c.bool(T, d, 'success');
    c.string(T, d, 'data', 8192);
    c.string(T, d, 'type', 1024);
    c.string(T, d, 'target', 1024);
    c.properties(T, d);
    c.measurements(T, d);
  },
  MessageData(c, d) {
    const T = 'MessageData';
    c.number(T, d, 'ver', 'int', { required: true });
    c.string(T, d, 'message', 32768, { required: true });
    c.severity(T, d);
    c.properties(T, d);
    c.measurements(T, d);
  },
  EventData(c, d) {
    const T = 'EventData';
    c.number(T, d, 'ver', 'int', { required: true });
    c.string(T, d, 'name', 512, { required: true });
    c.properties(T, d);
    c.measurements(T, d);
  },
  ExceptionData(c, d) {
    const T = 'ExceptionData';
    c.number(T, d, 'ver', 'int', { required: true });
    c.severity(T, d);
    c.string(T, d, 'problemId', 1024);
    c.properties(T, d);
    c.measurements(T, d);
    if (!c.required(T, 'exceptions', d.exceptions, 'array') || !c.typed(T, 'exceptions', d.exceptions, 'array')) return;
    if (d.exceptions.length === 0) c.add(`Field 'exceptions' on type '${T}' is required but missing or empty. Expected: array, Actual: empty array`);
    d.exceptions.forEach((ex, i) => {
      const E = 'ExceptionDetails';
      if (!isObject(ex)) return c.add(`exceptions[${i}] on type '${T}' must be an object, Actual: ${describe(ex)}`);
      c.number(E, ex, 'id', 'int');
      c.number(E, ex, 'outerId', 'int');
      c.string(E, ex, 'typeName', 1024, { required: true });
      c.string(E, ex, 'message', 32768, { required: true });
      c.bool(E, ex, 'hasFullStack');
      c.string(E, ex, 'stack', 32768);
      if (ex.parsedStack === undefined || ex.parsedStack === null) return;
      if (!c.typed(E, 'parsedStack', ex.parsedStack, 'array')) return;
      ex.parsedStack.forEach((frame, j) => {
        const F = 'StackFrame';
        if (!isObject(frame)) return c.add(`exceptions[${i}].parsedStack[${j}] must be an object, Actual: ${describe(frame)}`);
        c.number(F, frame, 'level', 'int', { required: true });
        c.string(F, frame, 'method', 1024, { required: true });
        c.string(F, frame, 'assembly', 1024);
        c.string(F, frame, 'fileName', 1024);
        c.number(F, frame, 'line', 'int');
      });
    });
  },
  MetricData(c, d) {
    const T = 'MetricData';
    c.number(T, d, 'ver', 'int', { required: true });
    c.properties(T, d);
    if (!c.required(T, 'metrics', d.metrics, 'array') || !c.typed(T, 'metrics', d.metrics, 'array')) return;
    if (d.metrics.length === 0) c.add(`Field 'metrics' on type '${T}' is required but missing or empty. Expected: array, Actual: empty array`);
    d.metrics.forEach((m, i) => {
      const P = 'DataPoint';
      if (!isObject(m)) return c.add(`metrics[${i}] on type '${T}' must be an object, Actual: ${describe(m)}`);
      c.string(P, m, 'ns', 256);
      c.string(P, m, 'name', 1024, { required: true });
      if (m.kind !== undefined && m.kind !== null && ![0, 1, 'Measurement', 'Aggregation'].includes(m.kind)) {
        c.add(`Field 'kind' on type '${P}' must be 0/Measurement or 1/Aggregation, Actual: ${JSON.stringify(m.kind)}`);
      }
      c.number(P, m, 'value', 'double', { required: true });
      c.number(P, m, 'count', 'int');
      c.number(P, m, 'min', 'double');
      c.number(P, m, 'max', 'double');
      c.number(P, m, 'stdDev', 'double');
    });
  },
};

/**
 * Validates one envelope. Returns the list of problems (empty when Breeze would accept it).
 * `now` (ms) bounds `time` the way the service does: at most 48 h old, at most 2 h ahead.
 */
export function validateEnvelope(envelope, { now = Date.now() } = {}) {
  const c = new Checker();
  const T = 'Envelope';
  if (!isObject(envelope)) {
    c.add(`Item must be a JSON object, Actual: ${describe(envelope)}`);
    return c.problems;
  }
  c.number(T, envelope, 'ver', 'int');
  c.string(T, envelope, 'name', LIMITS.envelopeName, { required: true });
  c.string(T, envelope, 'seq', LIMITS.seq);
  c.number(T, envelope, 'flags', 'int');
  if (envelope.sampleRate !== undefined && envelope.sampleRate !== null) {
    const r = envelope.sampleRate;
    if (typeof r !== 'number' || !(r > 0 && r <= 100)) c.add(`Field 'sampleRate' on type '${T}' must be a number in (0, 100], Actual: ${JSON.stringify(r)}`);
  }

  if (c.required(T, 'iKey', envelope.iKey, 'string') && c.typed(T, 'iKey', envelope.iKey, 'string')) {
    if (envelope.iKey.length > LIMITS.iKey || !GUID.test(envelope.iKey)) c.add(`Invalid instrumentation key: ${JSON.stringify(envelope.iKey).slice(0, 60)}`);
  }

  if (c.required(T, 'time', envelope.time, 'string') && c.typed(T, 'time', envelope.time, 'string')) {
    const m = ISO_UTC.exec(envelope.time);
    const ms = Date.parse(envelope.time);
    if (!m || Number.isNaN(ms) || Number(m[2]) < 1 || Number(m[2]) > 12 || Number(m[3]) < 1 || Number(m[3]) > 31 || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) {
      c.add(`Field 'time' on type '${T}' is not an ISO 8601 UTC date-time ending in 'Z': ${JSON.stringify(envelope.time).slice(0, 60)}`);
    } else if (ms < now - 48 * 3600_000) {
      c.add(`Field 'time' on type '${T}' is more than 48 hours in the past: ${envelope.time}`);
    } else if (ms > now + 2 * 3600_000) {
      c.add(`Field 'time' on type '${T}' is more than 2 hours in the future: ${envelope.time}`);
    }
  }

  const tags = envelope.tags;
  if (tags !== undefined && tags !== null && c.typed(T, 'tags', tags, 'object')) {
    for (const [key, value] of Object.entries(tags)) {
      const limit = CONTEXT_TAG_LIMITS[key];
      if (limit === undefined) {
        c.add(`Unknown context tag key ${JSON.stringify(key.slice(0, 60))}`);
      } else if (typeof value !== 'string') {
        c.add(`Context tag '${key}' has the wrong type. Expected: string, Actual: ${describe(value)}`);
      } else if (value.length > limit) {
        c.add(`Context tag '${key}' is too long: ${value.length} characters, at most ${limit} allowed`);
      }
    }
  }

  const data = envelope.data;
  if (!c.required(T, 'data', data, 'object') || !c.typed(T, 'data', data, 'object')) return c.problems;
  const baseType = data.baseType;
  if (!c.required('Data', 'baseType', baseType, 'string') || !c.typed('Data', 'baseType', baseType, 'string')) return c.problems;
  const check = BASE_DATA_CHECKS[baseType];
  if (!check) {
    c.add(`Unsupported baseType ${JSON.stringify(baseType)}; expected one of ${Object.keys(BASE_DATA_CHECKS).join(', ')}`);
    return c.problems;
  }
  if (typeof envelope.name === 'string') {
    const suffix = ENVELOPE_SUFFIX[baseType];
    const last = envelope.name.split('.').pop();
    if (last !== suffix) c.add(`Envelope name ${JSON.stringify(envelope.name)} does not match baseType ${baseType} (expected a name ending in '.${suffix}')`);
  }
  if (!c.required('Data', 'baseData', data.baseData, 'object') || !c.typed('Data', 'baseData', data.baseData, 'object')) return c.problems;
  check(c, data.baseData);
  return c.problems;
}

/** Splits a track body into items: a JSON array, one JSON object, or newline-delimited JSON. Throws when unreadable. */
export function parseTrackBody(text) {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error('empty body');
  if (trimmed.startsWith('[')) {
    const items = JSON.parse(trimmed);
    if (!Array.isArray(items)) throw new Error('body is not a JSON array');
    return items;
  }
  const lines = trimmed.split(/\r?\n/).filter((line) => line.trim() !== '');
  return lines.map((line, i) => {
    try {
      return JSON.parse(line);
    } catch (e) {
      throw new Error(`line ${i + 1} is not JSON: ${e.message}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

export const MIME_TYPES = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
});

const MAX_BODY_BYTES = 64 * 1024 * 1024;

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS, HEAD, PATCH',
  'access-control-expose-headers': '*',
};
const DEFAULT_ALLOWED_HEADERS = 'content-type, content-encoding, traceparent, tracestate, sdk-context, request-id, request-context, x-ms-request-id';

function send(res, status, body, headers = {}) {
  const isText = typeof body === 'string' || Buffer.isBuffer(body);
  const payload = body === undefined || body === null ? '' : isText ? body : JSON.stringify(body);
  const head = { ...CORS_HEADERS, 'cache-control': 'no-store', ...headers };
  if (!isText && body !== undefined && body !== null && !Object.keys(head).some((k) => k.toLowerCase() === 'content-type')) {
    head['content-type'] = 'application/json; charset=utf-8';
  }
  res.writeHead(status, head);
  res.end(payload);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error(`body larger than ${MAX_BODY_BYTES} bytes`), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function decode(raw, encoding) {
  const enc = String(encoding || 'identity').trim().toLowerCase();
  const opts = { maxOutputLength: MAX_BODY_BYTES };
  if (enc === 'identity' || enc === '') return raw.toString('utf8');
  if (enc === 'gzip' || enc === 'x-gzip') return zlib.gunzipSync(raw, opts).toString('utf8');
  if (enc === 'deflate') return zlib.inflateSync(raw, opts).toString('utf8');
  if (enc === 'br') return zlib.brotliDecompressSync(raw, opts).toString('utf8');
  throw new Error(`unsupported Content-Encoding ${JSON.stringify(encoding)}`);
}

/** Resolves `urlPath` inside one of `routes` ([[prefix, absDir]], longest prefix first); null if none or unsafe. */
function resolveStatic(routes, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return { error: 400 };
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { error: 400 };
  for (const [prefix, dir] of routes) {
    if (!decoded.startsWith(prefix) && decoded + '/' !== prefix) continue;
    const rest = decoded.slice(prefix.length);
    // Any `..` segment is refused outright, before and after normalisation.
    if (rest.split('/').includes('..')) return { error: 403 };
    const file = path.resolve(dir, '.' + path.posix.normalize('/' + rest));
    if (file !== dir && !file.startsWith(dir + path.sep)) return { error: 403 };
    return { file, prefix };
  }
  return null;
}

/**
 * Starts the collector. See the header of this file for the routes.
 * @param {{host?: string, port?: number, staticRoutes?: Record<string,string>, log?: (line: string) => void,
 *          allRejectedStatus?: number}} [options]
 *   `staticRoutes` maps URL prefixes to directories (relative ones are resolved against the cwd).
 *   `allRejectedStatus`: the status when every item of a request is invalid (default 206, as for a
 *   partial rejection; the real service answers 400 with the same body — pass 400 to imitate that).
 *   `keepAlive: false`: every answer says `Connection: close`, so each request comes on a new
 *   connection. Fault tests want that: browsers silently send a request again when a reused
 *   connection is dropped or answers 408, so the client under test would never see those faults.
 */
export async function startCollector({ host = '127.0.0.1', port = 0, staticRoutes = {}, log = null, allRejectedStatus = 206, keepAlive = true } = {}) {
  const routes = Object.entries(staticRoutes)
    .map(([prefix, dir]) => [prefix.startsWith('/') ? prefix : '/' + prefix, path.resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);

  const envelopes = [];
  const invalid = [];
  const requests = [];
  const waiters = new Set();
  /** Scripted answers waiting out their `delayMs` (ended early by close()). */
  const delays = new Set();
  let responder = null;

  const notify = () => {
    for (const w of waiters) w.check();
  };

  const collector = {
    url: '',
    port: 0,
    envelopes,
    invalid,
    requests,
    /** The track requests received (each {method, path, headers, bodyText}). */
    get trackRequests() {
      return requests.filter((r) => isTrackPath(r.path));
    },
    /**
     * Resolves (with the collector) once `predicate(collector)` is true; rejects after `timeoutMs`
     * with a message saying what had arrived.
     */
    waitFor(predicate, timeoutMs = 10000) {
      return new Promise((resolve, reject) => {
        const w = {
          check() {
            let ok;
            try {
              ok = predicate(collector);
            } catch (e) {
              finish();
              reject(e);
              return;
            }
            if (ok) {
              finish();
              resolve(collector);
            }
          },
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`collector.waitFor timed out after ${timeoutMs} ms waiting for ${String(predicate).slice(0, 300)}\n${summary()}`));
        }, timeoutMs);
        const poll = setInterval(() => w.check(), 50);
        function finish() {
          clearTimeout(timer);
          clearInterval(poll);
          waiters.delete(w);
        }
        waiters.add(w);
        w.check();
      });
    },
    /** Forgets everything received so far (the arrays are emptied in place). */
    reset() {
      envelopes.length = 0;
      invalid.length = 0;
      requests.length = 0;
    },
    /**
     * Scripted answers for track requests: `fn(req)` (may be async) gets {method, path, headers,
     * bodyText, items, collector} (items: the parsed envelopes, or null) and returns an answer to
     * give instead of the normal one, or nothing (or `{pass: true}`) for the normal answer. `null`
     * removes it. An answer:
     *   {status, body, headers}   answer with this (default 200, empty body); no item is stored
     *   delayMs                   answer only after this many ms; a client that gives up first gets
     *                             nothing (and nothing is stored: `record.outcome` 'client gone')
     *   destroy: true             destroy the connection instead of answering (after `delayMs`)
     *   itemStatus                {index: statusCode} or (item, index) => statusCode|undefined: a
     *                             Breeze partial answer (206 unless `status` says otherwise) that lists
     *                             these items as errors and stores the others (validated as usual)
     *   store                     which items to store anyway: true (all), [indexes] or
     *                             (item, index) => boolean (default: none, or the unlisted ones
     *                             with `itemStatus`)
     * Each track request record gets `outcome` (the status sent, 'destroyed' or 'client gone') and
     * `stored` (how many of its items were stored).
     */
    respondWith(fn) {
      responder = typeof fn === 'function' ? fn : null;
    },
    /** A readable account of what arrived, for failure messages. */
    summary,
    close() {
      for (const w of [...waiters]) w.check();
      for (const d of [...delays]) d.cancel();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
    },
  };

  function summary() {
    const lines = [`${requests.length} request(s), ${envelopes.length} envelope(s) accepted, ${invalid.length} invalid`];
    const short = (v) => {
      const text = JSON.stringify(v) ?? 'undefined';
      return text.length > 120 ? `${text.slice(0, 117)}...(${text.length} chars)` : text;
    };
    for (const e of envelopes.slice(0, 30)) {
      const d = e?.data?.baseData ?? {};
      lines.push(`  ${e?.data?.baseType} name=${short(d.name ?? d.message)} id=${d.id} op=${e?.tags?.['ai.operation.id']} parent=${e?.tags?.['ai.operation.parentId']}`);
    }
    if (envelopes.length > 30) lines.push(`  ... ${envelopes.length - 30} more`);
    for (const i of invalid.slice(0, 10)) {
      const d = i.envelope?.data?.baseData ?? {};
      lines.push(`  INVALID ${i.envelope?.data?.baseType} name=${short(d.name ?? d.message)}: ${i.problems.join('; ')}`);
    }
    return lines.join('\n');
  }

  async function handleTrack(req, res, record) {
    let raw;
    try {
      raw = await readBody(req);
    } catch (e) {
      return send(res, e.status || 400, { itemsReceived: 0, itemsAccepted: 0, errors: [{ index: 0, statusCode: e.status || 400, message: e.message }] });
    }
    let items = null;
    let problem = null;
    try {
      record.bodyText = decode(raw, req.headers['content-encoding']);
      items = parseTrackBody(record.bodyText);
    } catch (e) {
      problem = e.message;
    }
    requests.push(record);

    if (responder) {
      let scripted;
      try {
        scripted = await responder({ ...record, items, collector });
      } catch (e) {
        scripted = { status: 500, body: { message: `respondWith handler threw: ${e.message}` } };
      }
      if (scripted && !scripted.pass) return answerScripted(req, res, record, items, scripted);
    }

    if (items === null) {
      notify();
      log?.(`track: unreadable body (${problem})`);
      return send(res, 400, { itemsReceived: 0, itemsAccepted: 0, errors: [{ index: 0, statusCode: 400, message: `Invalid request body: ${problem}` }] });
    }

    const errors = [];
    const now = Date.now();
    items.forEach((envelope, index) => {
      const problems = validateEnvelope(envelope, { now });
      if (problems.length === 0) {
        envelopes.push(envelope);
      } else {
        invalid.push({ envelope, problems, index });
        errors.push({ index, statusCode: 400, message: problems.join('; ') });
      }
    });
    const accepted = items.length - errors.length;
    log?.(`track: ${items.length} item(s), ${accepted} accepted${errors.length ? `, ${errors.length} invalid:\n  ${errors.map((e) => `[${e.index}] ${e.message}`).join('\n  ')}` : ''}`);
    const status = errors.length === 0 ? 200 : accepted === 0 && items.length > 0 ? allRejectedStatus : 206;
    record.outcome = status;
    record.stored = accepted;
    notify();
    send(res, status, { itemsReceived: items.length, itemsAccepted: accepted, errors });
  }

  /** Waits `ms`; resolves false then, or true as soon as the client has gone away (or close()). */
  function waitUnlessGone(res, ms) {
    return new Promise((resolve) => {
      const d = {
        cancel() {
          clearTimeout(timer);
          res.off('close', d.cancel);
          delays.delete(d);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        res.off('close', d.cancel);
        delays.delete(d);
        resolve(res.destroyed || res.writableEnded);
      }, ms);
      res.on('close', d.cancel);
      delays.add(d);
    });
  }

  /** Gives a scripted answer (see `respondWith`). */
  async function answerScripted(req, res, record, items, answer) {
    record.scripted = answer.label ?? answer.status ?? (answer.destroy ? 'destroy' : 'scripted');
    record.stored = 0;
    if (answer.delayMs > 0 && (await waitUnlessGone(res, answer.delayMs))) {
      record.outcome = 'client gone';
      log?.(`track: scripted answer ${record.scripted}: the client left before the ${answer.delayMs} ms delay ended`);
      notify();
      return;
    }
    if (answer.destroy) {
      record.outcome = 'destroyed';
      log?.(`track: scripted answer: connection destroyed`);
      req.socket.destroy();
      notify();
      return;
    }
    const list = items ?? [];
    const codes = new Map();
    if (typeof answer.itemStatus === 'function') {
      list.forEach((item, i) => {
        const code = answer.itemStatus(item, i);
        if (code !== undefined && code !== null) codes.set(i, Number(code));
      });
    } else if (answer.itemStatus && typeof answer.itemStatus === 'object') {
      for (const [k, v] of Object.entries(answer.itemStatus)) if (Number(k) < list.length) codes.set(Number(k), Number(v));
    }
    const partial = answer.itemStatus !== undefined && answer.itemStatus !== null;
    const store = answer.store;
    const keep =
      store === true ? () => true
      : Array.isArray(store) ? (_, i) => store.includes(i)
      : typeof store === 'function' ? store
      : partial ? (_, i) => !codes.has(i)
      : () => false;
    const errors = [];
    const now = Date.now();
    list.forEach((envelope, index) => {
      if (codes.has(index)) {
        errors.push({ index, statusCode: codes.get(index), message: `scripted item answer ${codes.get(index)}` });
        return;
      }
      if (!keep(envelope, index)) return;
      const problems = validateEnvelope(envelope, { now });
      if (problems.length === 0) {
        envelopes.push(envelope);
        record.stored++;
      } else {
        invalid.push({ envelope, problems, index });
        if (partial) errors.push({ index, statusCode: 400, message: problems.join('; ') });
      }
    });
    let status = answer.status;
    let body = answer.body;
    if (partial) {
      errors.sort((a, b) => a.index - b.index);
      status ??= errors.length ? 206 : 200;
      body ??= { itemsReceived: list.length, itemsAccepted: record.stored, errors };
    }
    status ??= 200;
    record.outcome = status;
    log?.(`track: scripted answer ${status} to ${list.length} item(s), ${record.stored} stored`);
    notify();
    if (res.destroyed) return;
    send(res, status, body ?? '', answer.headers ?? {});
  }

  async function handleStatic(req, res, pathname) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { message: 'method not allowed' }, { allow: 'GET, HEAD, OPTIONS' });
    const hit = resolveStatic(routes, pathname);
    if (!hit) return send(res, 404, { message: `not found: ${pathname}` });
    if (hit.error) return send(res, hit.error, { message: hit.error === 403 ? 'forbidden' : 'bad path' });
    let file = hit.file;
    let stat;
    try {
      stat = await fs.promises.stat(file);
      if (stat.isDirectory()) {
        if (!pathname.endsWith('/')) return send(res, 301, '', { location: pathname + '/' });
        file = path.join(file, 'index.html');
        stat = await fs.promises.stat(file);
      }
      // Refuse symlinks that lead out of the served directory.
      const real = await fs.promises.realpath(file);
      const realRoot = await fs.promises.realpath(routes.find(([p]) => p === hit.prefix)[1]);
      if (real !== realRoot && !real.startsWith(realRoot + path.sep)) return send(res, 403, { message: 'forbidden' });
    } catch {
      return send(res, 404, { message: `not found: ${pathname}` });
    }
    if (!stat.isFile()) return send(res, 404, { message: `not found: ${pathname}` });
    const type = MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    const body = req.method === 'HEAD' ? '' : await fs.promises.readFile(file);
    send(res, 200, body, { 'content-type': type, 'content-length': String(stat.size), 'x-content-type-options': 'nosniff' });
  }

  const server = http.createServer(async (req, res) => {
    if (!keepAlive) res.setHeader('connection', 'close');
    try {
      const url = new URL(req.url, 'http://collector.invalid');
      const pathname = url.pathname;
      const record = { method: req.method, path: url.pathname + url.search, headers: { ...req.headers }, bodyText: '' };

      if (req.method === 'OPTIONS') {
        requests.push(record);
        const headers = {
          'access-control-allow-headers': req.headers['access-control-request-headers'] || DEFAULT_ALLOWED_HEADERS,
          'access-control-max-age': '600',
        };
        if (req.headers['access-control-request-private-network']) headers['access-control-allow-private-network'] = 'true';
        notify();
        return send(res, 204, null, headers);
      }

      if (isTrackPath(pathname)) {
        if (req.method !== 'POST') return send(res, 405, { message: 'POST telemetry here' }, { allow: 'POST, OPTIONS' });
        return await handleTrack(req, res, record);
      }

      if (pathname === '/echo' || pathname.startsWith('/echo/')) {
        const raw = await readBody(req).catch(() => Buffer.alloc(0));
        record.bodyText = raw.toString('utf8');
        requests.push(record);
        notify();
        return send(res, 200, { method: req.method, path: record.path, headers: record.headers, body: record.bodyText });
      }

      if (pathname === '/api/received') {
        if (req.method === 'DELETE') {
          collector.reset();
          return send(res, 200, { ok: true });
        }
        return send(res, 200, { envelopes, invalid });
      }

      requests.push(record);
      return await handleStatic(req, res, pathname);
    } catch (e) {
      if (!res.headersSent) send(res, 500, { message: String(e?.stack || e) });
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 1000;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  collector.port = address.port;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  collector.url = `http://${shownHost}:${address.port}`;
  return collector;
}

/**
 * Scripted answers for track requests, handed out in order of arrival (see `respondWith` for what
 * an answer can say). Pass `script.respond` to the `respondWith` of one or several collectors.
 * An entry is an answer, `null` / `{pass: true}` for the normal answer, or a function
 * `(req) => answer` (may be async). Once the entries are used up, requests get the normal answer.
 *
 * `script.log` has one entry per track request answered through the script, in order:
 * {answer (null: normal), items (the request's envelopes), collector (its URL), at (ms)}.
 * @param {Array<object|null|((req: object) => object|null|undefined)>} [answers]
 */
export function faultScript(answers = []) {
  const queue = [...answers];
  const log = [];
  const script = {
    log,
    /** Adds answers at the end. */
    push(...more) {
      queue.push(...more);
      return script;
    },
    /** Answers not used yet. */
    get remaining() {
      return queue.length;
    },
    /** Drops the answers not used yet. */
    clear() {
      queue.length = 0;
    },
    async respond(req) {
      let answer = queue.length ? queue.shift() : null;
      if (typeof answer === 'function') answer = await answer(req);
      if (answer && answer.pass) answer = null;
      log.push({ answer: answer ?? null, items: req.items, collector: req.collector?.url, at: Date.now() });
      return answer ?? undefined;
    },
  };
  return script;
}

function isTrackPath(pathname) {
  const p = pathname.split('?')[0];
  return p === '/v2.1/track' || p === '/v2/track';
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 8080, staticRoutes: {}, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') && arg.startsWith('--') && !arg.startsWith('--static') ? arg.split(/=(.*)/s) : [arg, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--port' || flag === '-p') opts.port = Number(value());
    else if (flag === '--host') opts.host = value();
    else if (flag === '--quiet' || flag === '-q') opts.quiet = true;
    else if (flag === '--static' || flag.startsWith('--static=')) {
      const spec = flag.startsWith('--static=') ? flag.slice('--static='.length) : argv[++i];
      const eq = spec?.indexOf('=') ?? -1;
      if (eq < 1) throw new Error(`--static wants PREFIX=DIR, got ${JSON.stringify(spec)}`);
      opts.staticRoutes[spec.slice(0, eq)] = spec.slice(eq + 1);
    } else if (flag === '--help' || flag === '-h') {
      opts.help = true;
    } else {
      throw new Error(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error('--port wants a number 0..65535');
  return opts;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`collector: ${e.message}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log('usage: node tools/collector.mjs [--host 127.0.0.1] [--port 8080] [--static PREFIX=DIR]... [--quiet]');
    process.exit(0);
  }
  const collector = await startCollector({
    host: opts.host,
    port: opts.port,
    staticRoutes: opts.staticRoutes,
    log: opts.quiet ? null : (line) => console.log(`[${new Date().toISOString()}] ${line}`),
  });
  console.log(`collector listening on ${collector.url}`);
  console.log(`connection string: InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=${collector.url}`);
  for (const [prefix, dir] of Object.entries(opts.staticRoutes)) console.log(`serving ${collector.url}${prefix} from ${path.resolve(dir)}`);
  const stop = async (signal) => {
    console.log(`collector: ${signal}, stopping (${collector.envelopes.length} envelope(s) accepted, ${collector.invalid.length} invalid)`);
    await collector.close();
    process.exit(0);
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
