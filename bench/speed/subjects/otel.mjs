// OpenTelemetry JS 2.x (sdk-trace-base 2.12, sdk-metrics 2.12, sdk-logs 0.223, otlp-transformer 0.223).
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { LoggerProvider } from "@opentelemetry/sdk-logs";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { JsonLogsSerializer, JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { makeSetup } from "./otel-common.mjs";

export const setup = makeSetup({
  TracerProvider: BasicTracerProvider,
  MeterProvider,
  MetricReader,
  LoggerProvider,
  SeverityNumber,
  JsonTraceSerializer,
  JsonLogsSerializer,
  resource: resourceFromAttributes({ "service.name": "bench" }),
});
