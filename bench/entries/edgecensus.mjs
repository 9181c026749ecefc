// What a page does with edgecensus: initialise (OTLP/HTTP, as the OpenTelemetry entry does; the
// package is the same whichever exporter is configured), one span with three attributes, one
// metric, one log, then send. Bundled by bench/run.mjs (esbuild, ESM, minified, platform
// browser); the .wasm it loads is counted next to the bundle.
import { init } from "../../pkg/web.js";

const client = await init({
  otlp: { endpoint: "https://example.invalid" },
  serviceName: "bench",
});
const span = client.startSpan("checkout", { kind: "client" });
span.setAttributes({ "cart.items": 3, "user.tier": "gold", retried: false });
span.end();
const latency = client.measureFloat("latency", "request latency", "ms");
client.registerView({ name: "latency", measure: latency, columns: ["k"], aggregation: "sum" });
client.record(latency, 1, { k: "v" });
client.logger("bench").info("msg", { k: "v" });
await client.flush();
