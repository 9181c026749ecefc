// Application Insights JS, the full SKU (analytics, dependencies auto-collection, properties,
// config sync): initialise, one dependency (the span), one metric, one trace (the log), then send.
import { ApplicationInsights } from "@microsoft/applicationinsights-web";

const ai = new ApplicationInsights({
  config: { connectionString: "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/" },
});
ai.loadAppInsights();
ai.trackDependencyData({
  id: "0123456789abcdef", name: "checkout", duration: 1, success: true, responseCode: 0, type: "InProc",
  properties: { "cart.items": 3, "user.tier": "gold", retried: false },
});
ai.trackMetric({ name: "latency", average: 1 }, { k: "v" });
ai.trackTrace({ message: "msg", severityLevel: 1, properties: { k: "v" } });
ai.flush();
