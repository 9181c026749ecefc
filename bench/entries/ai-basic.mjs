// Application Insights JS, the "basic" SKU (core + channel, no auto-collection): initialise,
// one dependency (the span), one metric, one trace (the log), then send.
import { ApplicationInsights } from "@microsoft/applicationinsights-web-basic";

const ai = new ApplicationInsights({
  connectionString: "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/",
});
ai.track({
  name: "Microsoft.ApplicationInsights.RemoteDependency",
  baseType: "RemoteDependencyData",
  baseData: {
    id: "0123456789abcdef", name: "checkout", duration: 1, success: true, responseCode: 0, type: "InProc",
    properties: { "cart.items": 3, "user.tier": "gold", retried: false },
  },
});
ai.track({ name: "Microsoft.ApplicationInsights.Metric", baseType: "MetricData", baseData: { metrics: [{ name: "latency", value: 1, count: 1 }], properties: { k: "v" } } });
ai.track({ name: "Microsoft.ApplicationInsights.Message", baseType: "MessageData", baseData: { message: "msg", severityLevel: 1, properties: { k: "v" } } });
ai.flush();
