// The OpenTelemetry JS side of the speed benchmarks, written once for the 2.x packages
// (bench/node_modules) and the 3.x ones (bench/otel3/node_modules): each subject passes in the
// modules it resolved. OTel is set up as fast as it goes: no context manager registered (so
// `context.active()` is the root context), span and log processors that only collect, and the
// OTLP JSON serializers called directly (no HTTP).

export const BATCH = 512;

function span(tracer) {
  const s = tracer.startSpan("op");
  s.setAttribute("a", "x");
  s.setAttribute("n", 3);
  s.setAttribute("b", true);
  s.end();
}

const noop = { onStart() {}, onEnd() {}, onEmit() {}, forceFlush: async () => {}, shutdown: async () => {} };

/** `m`: { TracerProvider, MeterProvider, MetricReader, LoggerProvider, SeverityNumber, JsonTraceSerializer, JsonLogsSerializer, resource } */
export function makeSetup(m) {
  const resource = m.resource;
  return async function setup(op) {
    switch (op) {
      case "span": {
        const tracer = new m.TracerProvider({ resource, spanProcessors: [noop] }).getTracer("bench");
        return { unit: 1, run: (n) => { for (let i = 0; i < n; i++) span(tracer); } };
      }
      case "span_e2e_otlp":
      case "encode_512": {
        const finished = [];
        const collect = { ...noop, onEnd: (s) => finished.push(s) };
        const tracer = new m.TracerProvider({ resource, spanProcessors: [collect] }).getTracer("bench");
        const seen = { batches: 0, bytes: 0, items: 0 };
        const encode = (spans) => {
          const body = m.JsonTraceSerializer.serializeRequest(spans);
          seen.batches += 1;
          seen.bytes += body.length;
          seen.items += spans.length;
        };
        const info = () => ({ requests: seen.batches, payloadBytesPer: seen.items ? Math.round(seen.bytes / seen.items) : undefined, payloadUnit: "span" });
        if (op === "encode_512") {
          for (let i = 0; i < BATCH; i++) span(tracer);
          const batch = finished.splice(0);
          return { unit: 1, run: (n) => { for (let i = 0; i < n; i++) encode(batch); }, info };
        }
        return {
          unit: BATCH,
          run(n) {
            for (let done = 0; done < n; done += BATCH) {
              for (let i = 0; i < BATCH; i++) span(tracer);
              encode(finished.splice(0));
            }
          },
          info,
        };
      }
      case "metric_tagmap":
      case "metric_object": {
        const reader = new (class extends m.MetricReader {
          async onForceFlush() {}
          async onShutdown() {}
        })();
        const meter = new m.MeterProvider({ resource, readers: [reader] }).getMeter("bench");
        const counter = meter.createCounter("requests", { unit: "1" });
        if (op === "metric_tagmap") {
          // OTel has no bound instruments: its closest to a pre-built tag map is reusing the attributes object.
          const attributes = { k: "v" };
          return { unit: 1, run: (n) => { for (let i = 0; i < n; i++) counter.add(1, attributes); } };
        }
        return { unit: 1, run: (n) => { for (let i = 0; i < n; i++) counter.add(1, { k: "v" }); } };
      }
      case "log":
      case "log_e2e_otlp": {
        const records = [];
        const processor = op === "log" ? noop : { ...noop, onEmit: (r) => records.push(r) };
        const logger = new m.LoggerProvider({ resource, processors: [processor] }).getLogger("bench");
        const INFO = m.SeverityNumber.INFO;
        const emit = () => logger.emit({ severityNumber: INFO, severityText: "INFO", body: "msg", attributes: { k: "v" } });
        if (op === "log") return { unit: 1, run: (n) => { for (let i = 0; i < n; i++) emit(); } };
        const seen = { batches: 0, bytes: 0, items: 0 };
        return {
          unit: BATCH,
          run(n) {
            for (let done = 0; done < n; done += BATCH) {
              for (let i = 0; i < BATCH; i++) emit();
              const batch = records.splice(0);
              const body = m.JsonLogsSerializer.serializeRequest(batch);
              seen.batches += 1;
              seen.bytes += body.length;
              seen.items += batch.length;
            }
          },
          info: () => ({ requests: seen.batches, payloadBytesPer: seen.items ? Math.round(seen.bytes / seen.items) : undefined, payloadUnit: "log" }),
        };
      }
      default:
        return { skip: "no equivalent" };
    }
  };
}
