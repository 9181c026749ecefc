// Public TypeScript declarations of the `edgecensus` npm package.
// The same API is exported by every entry point (browser/bundler, Node, workerd).

/** How a span relates to its parent and the outside world (OpenCensus/OpenTelemetry span kinds). */
export type SpanKind = "internal" | "server" | "client" | "producer" | "consumer";

/** Attribute values kept on spans. Other values (objects, undefined, NaN, ...) are dropped and counted. */
export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

/** Which traces are recorded and exported. Sampling is decided from the trace id, so a trace is sampled whole. */
export type SamplerConfig =
  | "always"
  | "never"
  | { type: "always" | "never" }
  | { type: "probability"; probability: number };

export interface Config {
  /** Azure Monitor / Application Insights connection string. */
  connectionString?: string;
  /**
   * OTLP/HTTP (JSON) exporter for traces, metrics and logs, side by side with Azure Monitor when
   * both are set (each signal and each backend has its own buffer). `endpoint` is the base URL:
   * `/v1/traces`, `/v1/metrics`, `/v1/logs` are added. `compression` defaults to "gzip" where
   * the host has `CompressionStream`.
   */
  otlp?: { endpoint: string; headers?: Record<string, string>; compression?: "gzip" | "none" };
  /** `service.version` (OTLP resource). */
  serviceVersion?: string;
  /** More OTLP resource attributes. */
  resource?: Record<string, string | number | boolean>;
  /** Print every finished span with console.log (for trying edgecensus without an endpoint). */
  console?: boolean;
  /** `ai.cloud.role`: the name of this service or app. Default "edgecensus". */
  serviceName?: string;
  /** `ai.cloud.roleInstance`. Default: unset. */
  serviceInstance?: string;
  /** Default "always". */
  sampler?: SamplerConfig;
  /** Items kept waiting for export at most (default 2048); more are dropped and counted as `queueFull`. */
  maxQueueSize?: number;
  /** Bytes kept waiting (and in flight) at most per exporter (default 4 MiB); more are dropped as `queueFull`. */
  maxQueueBytes?: number;
  /** Items per request at most (default 512). */
  maxBatchSize?: number;
  /** Bytes per request body at most (default 1 MiB). */
  maxBatchBytes?: number;
  /** Milliseconds between timed exports (default 5000 in pages and Node, 0 = no timer, the default in workerd). */
  exportIntervalMs?: number;
  /**
   * Browser auto-capture (off unless set): `errors` (default true when `capture` is given) sends
   * `error` and `unhandledrejection` events as exceptions; `console` sends console.warn/error as
   * logs, at most `consoleBurst` (50) at once and `consoleRate` (10) per second after that
   * (the rest counted in `dropped.rateLimited`).
   */
  capture?: { errors?: boolean; console?: boolean; consoleRate?: number; consoleBurst?: number };
  /** Per-request timeout in ms (default 30000); a timed-out request is retried. */
  requestTimeoutMs?: number;
  /** Default deadline of `flush()`/`shutdown()` in ms (default 30000; 10000 in workerd). */
  flushTimeoutMs?: number;
  /**
   * Pages: keep what cannot be sent (the exporter is backing off, e.g. offline) in localStorage
   * when the page is hidden or unloaded, and send it on the next load (once). Default off.
   */
  persistence?: boolean | { maxBytes?: number; maxAgeMs?: number };
  /** Milliseconds between metric exports (default 15000; 0 = only on flush, the default in workerd). */
  metricsIntervalMs?: number;
  /** Time series per view at most (default 1000); measurements for new tag combinations past it are counted in `seriesOverflow`. */
  maxSeriesPerView?: number;
  /** Per-span limits; what they cut is counted in diagnostics. */
  limits?: {
    attributeCount?: number; // default 128
    eventCount?: number; // default 128
    linkCount?: number; // default 128
    attributeValueLength?: number; // default 8192 characters (Breeze property limit)
  };
}

/** The identity of a span as it travels: W3C trace-context fields. */
export interface SpanContext {
  traceId: string; // 32 lowercase hex
  spanId: string; // 16 lowercase hex
  traceFlags: number; // bit 0: sampled
  traceState?: string; // W3C tracestate header value
  isRemote?: boolean;
}

export type StatusCode = "unset" | "ok" | "error";

export interface StartSpanOptions {
  kind?: SpanKind;
  /** Parent span or context. Default: the active span, if any. `null` starts a new trace. */
  parent?: Span | SpanContext | null;
  attributes?: Attributes;
  links?: Array<{ context: SpanContext; attributes?: Attributes }>;
  /** Start time in milliseconds since the Unix epoch (fractions allowed). Default: now. */
  startTime?: number;
}

export declare class Span {
  spanContext(): SpanContext;
  /** False for spans that the sampler left out (they still carry a context for propagation). */
  isRecording(): boolean;
  setAttribute(key: string, value: AttributeValue): this;
  setAttributes(attributes: Attributes): this;
  addEvent(name: string, attributes?: Attributes, time?: number): this;
  addLink(context: SpanContext, attributes?: Attributes): this;
  setStatus(code: StatusCode, message?: string): this;
  /** Records an exception event and sets the status to error. */
  recordException(error: unknown): this;
  updateName(name: string): this;
  /** Ends the span (once; later calls are ignored). Time in ms since the epoch, default now. */
  end(endTime?: number): void;
}

/** Anything headers can be read from or written to. */
export type Carrier = Headers | Request | Record<string, string | string[] | undefined>;

export interface Diagnostics {
  spansStarted: number;
  spansEnded: number;
  spansSampledOut: number;
  /** Items ever queued for export. */
  itemsQueued: number;
  /** Items waiting in the buffers right now. */
  itemsPending: number;
  itemsSent: number;
  itemsAccepted: number;
  itemsRejected: number;
  requestsSent: number;
  requestsFailed: number;
  /** Items sent again after a retriable failure (each resend counted). */
  itemsRetried: number;
  /** Pages: items kept in storage at unload, and read back on a later load. */
  itemsPersisted: number;
  itemsRestored: number;
  attributesDropped: number;
  eventsDropped: number;
  linksDropped: number;
  valuesTruncated: number;
  invalidInputs: number;
  logsRecorded: number;
  exceptionsRecorded: number;
  measurementsRecorded: number;
  /** NaN/infinite values, fractions for int measures, negative Sum/Distribution values, invalid tag maps. */
  measurementsInvalid: number;
  /** Measurements a view could not keep because it had `maxSeriesPerView` series already. */
  seriesOverflow: number;
  /** Items dropped, by reason: queueFull, rejected, network, httpStatus, tooLarge, shutdown, rateLimited, quota, expired. */
  dropped: Record<string, number>;
  /** The last internal error, if any (a message, never thrown). */
  lastError?: string;
}

/** A measure from `measureInt` / `measureFloat`. */
export declare class Measure {
  readonly name: string;
  readonly kind: "int" | "float";
}

/** An interned tag set (keys and values: printable ASCII, at most 255 characters; values may be empty). */
export declare class TagMap {
  private readonly _id: number;
}

/** Bucket `i` of a distribution holds values in `[bounds[i-1], bounds[i])`; bounds strictly increasing and >= 0. */
export type Aggregation =
  | "count"
  | "sum"
  | "lastValue"
  | { type: "count" | "sum" | "lastValue" }
  | { type: "distribution"; bounds: number[] };

export interface ViewDefinition {
  name: string;
  description?: string;
  measure: Measure;
  /** Tag keys: one time series per distinct combination of their values. */
  columns?: string[];
  aggregation: Aggregation;
}

/** One time series of a view, cumulative since the view was registered. */
export interface MetricPoint {
  tags: Record<string, string>;
  /** Count, Sum and LastValue. */
  value?: number;
  /** Distribution. */
  count?: number;
  sum?: number;
  mean?: number;
  min?: number;
  max?: number;
  sumOfSquaredDeviation?: number;
  bucketCounts?: number[];
  /** Milliseconds since the epoch. */
  timestamp: number;
}

export interface Metric {
  name: string;
  description: string;
  measure: { name: string; unit: string; kind: "int" | "float" };
  aggregation: "count" | "sum" | "lastValue" | "distribution";
  bounds?: number[];
  columns: string[];
  startTime: number;
  series: MetricPoint[];
}

/** Log levels, mapped to Application Insights severityLevel 0 (Verbose) to 4 (Critical). */
export type LogLevel = "debug" | "info" | "warning" | "error" | "critical";

/** Log properties (custom dimensions); non-string values are sent as text (objects as JSON). */
export type Properties = Record<string, unknown>;

export declare class Logger {
  readonly name: string;
  debug(message: unknown, properties?: Properties): void;
  info(message: unknown, properties?: Properties): void;
  warning(message: unknown, properties?: Properties): void;
  warn(message: unknown, properties?: Properties): void;
  error(message: unknown, properties?: Properties): void;
  critical(message: unknown, properties?: Properties): void;
  exception(error: unknown, properties?: Properties): void;
}

export interface TrackExceptionOptions {
  properties?: Properties;
  /** Default "error". */
  severity?: LogLevel;
  /** The span to correlate with (default: the active span). */
  span?: Span;
}

export interface FlushResult {
  /** Items answered by the exporters during this flush. */
  sent: number;
  accepted: number;
  rejected: number;
  /** Items queued before the flush and not yet delivered when its deadline passed (they stay queued and are retried). */
  pending: number;
}

export interface FlushOptions {
  /** Settle after this many ms even if items are still pending (default: `flushTimeoutMs`). */
  timeoutMs?: number;
}

export declare class Client {
  startSpan(name: string, options?: StartSpanOptions): Span;
  /**
   * Runs `fn(span)` with the span active; ends the span when `fn` returns or its promise settles.
   * A thrown error (or rejection) is recorded on the span (exception event, error status) and
   * passed on unchanged. In Node (and workerd with `nodejs_compat`) the span stays active across
   * `await`; in browsers it is active only while `fn` runs synchronously, so after an `await`
   * pass `{ parent: span }` to child spans.
   */
  withSpan<T>(name: string, fn: (span: Span) => T, options?: StartSpanOptions): T;
  activeSpan(): Span | undefined;
  /** Reads `traceparent`/`tracestate` from a carrier. Malformed headers give null (and are counted). */
  extract(carrier: Carrier): SpanContext | null;
  /** Writes `traceparent` (and `tracestate`) for `span` (default: the active span) into a carrier. */
  inject(carrier: Carrier, span?: Span | SpanContext): void;
  /**
   * `fetch` with a client span around it (`http.method`, `http.url`, `http.status_code`) and
   * `traceparent` injected into the request. The parent is `options.parent` or the active span.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit, options?: StartSpanOptions): Promise<Response>;
  /** A named logger; logs written while a span is active are correlated with it. */
  logger(name?: string): Logger;
  /** Writes a log message (Application Insights `Message`). An unknown level counts as invalid and logs as info. */
  log(level: LogLevel, message: unknown, properties?: Properties): void;
  /**
   * Reports an exception (Application Insights `Exception`, stack parsed into frames): an Error,
   * an error with `cause`s or an AggregateError (each inner error linked to its outer one), or any
   * thrown value. Never throws.
   */
  trackException(error: unknown, options?: TrackExceptionOptions): void;
  /** Registers a measure (or returns the existing one with the same definition); throws on an invalid or conflicting one. */
  measureInt(name: string, description?: string, unit?: string): Measure;
  measureFloat(name: string, description?: string, unit?: string): Measure;
  /** Registers a view; the same definition again is a no-op, a conflicting one throws. It sees what is recorded from now on. */
  registerView(view: ViewDefinition): void;
  /** Interns tags once so that recording with them passes no strings. Invalid tags give a map that records nothing (counted). */
  tagMap(tags: Record<string, string>): TagMap;
  /** Records a value; never throws: invalid values are counted in `measurementsInvalid` / `invalidInputs`. */
  record(measure: Measure, value: number, tags?: TagMap | Record<string, string>): void;
  /** Records several measures against one tag map. */
  recordMany(measurements: Array<[Measure, number]>, tags?: TagMap | Record<string, string>): void;
  /** The current cumulative value of every series of every view. */
  getMetrics(): Metric[];
  /** Sends everything queued so far; settles when each request has been answered (never rejects). */
  flush(options?: FlushOptions): Promise<FlushResult>;
  diagnostics(): Diagnostics;
  /** Flushes, stops timers, and makes later calls no-ops. */
  shutdown(options?: FlushOptions): Promise<FlushResult>;
}

/** Creates a client. In browsers the first call loads the `.wasm`. Invalid config rejects with an Error. */
export declare function init(config: Config): Promise<Client>;

/** The parts of a worker's execution context that edgecensus uses. */
export interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException?(): void;
}

/** A Cloudflare-style module worker handler. */
export interface ExportedHandler<Env = unknown, Ctx extends ExecutionContextLike = ExecutionContextLike> {
  fetch(request: Request, env: Env, ctx: Ctx): Response | Promise<Response>;
}

/** What `instrument` adds to the handler's `ctx`, as `ctx.telemetry`. */
export interface WorkerTelemetry {
  client: Client;
  /** The server span of the incoming request (also the active span while the handler runs). */
  span: Span;
  /** `client.fetch` with the request's span as parent. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
}

/**
 * Wraps a worker's `fetch` handler: a server span for each incoming request (continuing an incoming
 * `traceparent`), `ctx.telemetry` for child spans and traced outgoing fetches, the span ended with
 * the response status (or the thrown error), and `client.flush()` handed to `ctx.waitUntil`.
 * The client is created lazily on the first request (nothing runs at import time).
 */
export declare function instrument<Env>(
  handler: ExportedHandler<Env, ExecutionContextLike & { telemetry: WorkerTelemetry }>,
  config: Config | ((env: Env) => Config),
): ExportedHandler<Env>;
