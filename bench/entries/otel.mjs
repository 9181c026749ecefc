// OpenTelemetry JS 2.x (sdk-trace-web 2.12 / experimental packages 0.223) with traces, metrics and
// logs over OTLP/HTTP: initialise, one span with three attributes, one metric, one log, then send.
import { SpanKind, metrics, trace } from "@opentelemetry/api";
import { SeverityNumber, logs } from "@opentelemetry/api-logs";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, WebTracerProvider } from "@opentelemetry/sdk-trace-web";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";

const endpoint = "https://example.invalid";
const resource = resourceFromAttributes({ "service.name": "bench" });

const tracerProvider = new WebTracerProvider({
  resource,
  spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }) })],
});
tracerProvider.register(); // context manager (StackContextManager) and W3C trace-context propagator
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
