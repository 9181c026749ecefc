// OpenTelemetry JS 3.x (sdk-trace 3.1, which replaces sdk-trace-base/-web; logs API in
// @opentelemetry/api 1.10; exporters 0.301) with traces, metrics and logs over OTLP/HTTP:
// initialise, one span with three attributes, one metric, one log, then send.
// Lives in bench/otel3/ so that it resolves bench/otel3/node_modules.
import { SeverityNumber, SpanKind, context, logs, metrics, propagation, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, StackContextManager, TracerProvider } from "@opentelemetry/sdk-trace";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";

const endpoint = "https://example.invalid";
const resource = resourceFromAttributes({ "service.name": "bench" });

const tracerProvider = new TracerProvider({
  resource,
  spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }) })],
});
// What 2.x's WebTracerProvider.register() did: a context manager and the W3C propagator.
context.setGlobalContextManager(new StackContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(tracerProvider);
const meterProvider = new MeterProvider({
  resource,
  readers: [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `${endpoint}/v1/metrics` }) })],
});
metrics.setGlobalMeterProvider(meterProvider);
const loggerProvider = new LoggerProvider({
  resource,
  processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${endpoint}/v1/logs` }) })],
});
logs.setGlobalLoggerProvider(loggerProvider);

const span = trace.getTracer("bench").startSpan("checkout", { kind: SpanKind.CLIENT });
span.setAttributes({ "cart.items": 3, "user.tier": "gold", retried: false });
span.end();
metrics.getMeter("bench").createCounter("latency", { unit: "ms" }).add(1, { k: "v" });
logs.getLogger("bench").emit({ severityNumber: SeverityNumber.INFO, severityText: "INFO", body: "msg", attributes: { k: "v" } });
await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush(), loggerProvider.forceFlush()]);
