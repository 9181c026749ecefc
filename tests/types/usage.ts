// Compile-only check of the package's TypeScript declarations (pkg/index.d.ts): every public
// call as a user would write it. Run by scripts/test with `tsc -p tests/types`.
import { init, instrument, type Client, type Span, type SpanContext, type Diagnostics } from "edgecensus";

async function page(): Promise<void> {
  const client: Client = await init({
    connectionString: "InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:1",
    serviceName: "types",
    sampler: { type: "probability", probability: 0.5 },
    limits: { attributeCount: 10 },
    otlp: { endpoint: "http://127.0.0.1:4318", headers: { "x-api-key": "k" }, compression: "none" },
    serviceVersion: "1.2.3",
    resource: { "deployment.environment": "test" },
    persistence: { maxBytes: 100_000 },
    requestTimeoutMs: 5000,
  });
  const total: number = await client.withSpan("work", async (span: Span) => {
    span.setAttribute("a", 1).setAttributes({ b: "x", c: true }).addEvent("e", { k: 1 });
    span.setStatus("ok").updateName("renamed");
    const child = client.startSpan("child", { kind: "client", parent: span, attributes: { n: 2 } });
    child.recordException(new Error("x"));
    child.end();
    return 3;
  });
  const headers = new Headers();
  client.inject(headers);
  const context: SpanContext | null = client.extract({ traceparent: headers.get("traceparent") ?? undefined });
  if (context) client.startSpan("remote", { parent: context }).end(Date.now());
  const response: Response = await client.fetch("http://127.0.0.1:1/x", { method: "POST" });
  const presses = client.measureInt("presses", "Button presses", "1");
  const latency = client.measureFloat("latency", "Latency", "ms");
  client.registerView({ name: "presses", measure: presses, columns: ["button"], aggregation: "count" });
  client.registerView({ name: "latency", measure: latency, aggregation: { type: "distribution", bounds: [10, 100] } });
  const tags = client.tagMap({ button: "buy" });
  client.record(presses, 1, tags);
  client.recordMany([[presses, 1], [latency, 12.5]], { button: "sell" });
  const count: number | undefined = client.getMetrics()[0]?.series[0]?.value;
  void count;
  const log = client.logger("types");
  log.info("hello", { user: "ann", n: 1 });
  log.exception(new Error("x"));
  client.log("warning", "careful");
  client.trackException(new AggregateError([new Error("a")], "many"), { severity: "critical", properties: { k: 1 } });
  const flushed = await client.flush({ timeoutMs: 5000 });
  const pending: number = flushed.pending;
  void pending;
  const sent: number = flushed.sent + total + response.status;
  const d: Diagnostics = client.diagnostics();
  const dropped: number = d.dropped.queueFull ?? 0;
  await client.shutdown();
  void sent;
  void dropped;
}

interface Env {
  CONNECTION_STRING: string;
}

export default instrument<Env>(
  {
    async fetch(request, env, ctx) {
      void env.CONNECTION_STRING;
      ctx.telemetry.span.setAttribute("path", new URL(request.url).pathname);
      const upstream = await ctx.telemetry.fetch("http://127.0.0.1:1/up");
      ctx.waitUntil(ctx.telemetry.client.flush());
      return new Response(await upstream.text());
    },
  },
  (env) => ({ connectionString: env.CONNECTION_STRING }),
);

void page;
