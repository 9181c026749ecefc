// OpenTelemetry JS 3.x for the speed benchmarks (sdk-trace 3.1, sdk-metrics 3.1, sdk-logs 3.1,
// otlp-transformer 0.301). Lives in bench/otel3/ so that it resolves bench/otel3/node_modules.
// These packages declare node >= 22.15: bench/run.mjs measures them only on such a Node.
import { SeverityNumber } from "@opentelemetry/api";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { LoggerProvider } from "@opentelemetry/sdk-logs";
import { JsonLogsSerializer, JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { makeSetup } from "../speed/subjects/otel-common.mjs";

export const setup = makeSetup({
  TracerProvider,
  MeterProvider,
  MetricReader,
  LoggerProvider,
  SeverityNumber,
  JsonTraceSerializer,
  JsonLogsSerializer,
  resource: resourceFromAttributes({ "service.name": "bench" }),
});
