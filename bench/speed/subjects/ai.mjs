// Application Insights JS for the speed benchmarks, both SKUs: `basic` (core + channel: `track`
// with hand-built telemetry items) and `web` (the full SDK: trackDependencyData, trackMetric,
// trackTrace). It has no span API, so "span end-to-end" is a dependency item with the same three
// properties, and it does not aggregate metrics: each trackMetric is one envelope.
// It runs in Node without a DOM here (its page hooks — unload, sendBeacon, cookies — stay idle);
// items leave through the stubbed `fetch` every 512 items, as ours do.
import { stubFetch } from "../fetch-stub.mjs";

export const BATCH = 512;
const CONNECTION = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/";
let counter = 0;

export function makeSetup(sku) {
  return async function setup(op) {
    const seen = stubFetch();
    const config = {
      connectionString: CONNECTION,
      maxBatchInterval: 86_400_000, // no timed sends: flush() sends, once per 512 items
      disableFetchTracking: true,
      disableAjaxTracking: true,
      disableExceptionTracking: true,
      maxAjaxCallsPerView: -1, // web SKU: no cap on dependencies per page view (default 500)
    };
    let track;
    let flush;
    if (sku === "basic") {
      const { ApplicationInsights } = await import("@microsoft/applicationinsights-web-basic");
      const ai = new ApplicationInsights(config);
      flush = () => ai.flush(false);
      track = {
        span: () =>
          ai.track({
            name: "Microsoft.ApplicationInsights.RemoteDependency",
            baseType: "RemoteDependencyData",
            baseData: { id: (++counter).toString(16), name: "op", duration: 0, success: true, responseCode: 0, type: "InProc", properties: { a: "x", n: 3, b: true } },
          }),
        metric: () =>
          ai.track({ name: "Microsoft.ApplicationInsights.Metric", baseType: "MetricData", baseData: { metrics: [{ name: "requests", value: 1, count: 1 }], properties: { k: "v" } } }),
        log: () =>
          ai.track({ name: "Microsoft.ApplicationInsights.Message", baseType: "MessageData", baseData: { message: "msg", severityLevel: 1, properties: { k: "v" } } }),
      };
    } else {
      const { ApplicationInsights } = await import("@microsoft/applicationinsights-web");
      const ai = new ApplicationInsights({ config });
      ai.loadAppInsights();
      flush = () => ai.flush(false, () => {});
      track = {
        span: () => ai.trackDependencyData({ id: (++counter).toString(16), name: "op", duration: 0, success: true, responseCode: 0, type: "InProc", properties: { a: "x", n: 3, b: true } }),
        metric: () => ai.trackMetric({ name: "requests", average: 1 }, { k: "v" }),
        log: () => ai.trackTrace({ message: "msg", severityLevel: 1, properties: { k: "v" } }),
      };
    }
    const kind = { span_e2e_azure: "span", metric_object: "metric", log_e2e_azure: "log" }[op];
    if (!kind) return { skip: "no equivalent" };
    const one = track[kind];
    // The last request's body: its bytes per envelope (envelopes counted by their "iKey").
    const info = async () => {
      const body = await seen.lastBody();
      const envelopes = body.split('"iKey"').length - 1;
      return { requests: seen.requests, payloadBytesPer: envelopes ? Math.round(Buffer.byteLength(body) / envelopes) : undefined, payloadUnit: kind };
    };
    return {
      unit: BATCH,
      async run(n) {
        for (let done = 0; done < n; done += BATCH) {
          for (let i = 0; i < BATCH; i++) one();
          flush();
          await new Promise((resolve) => setImmediate(resolve)); // let the stubbed request settle
        }
      },
      info,
    };
  };
}
