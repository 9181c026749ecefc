// edgecensus (the built pkg/, Node entry point) for the speed benchmarks. See ../child.mjs for the
// contract: setup(op) gives { unit, run(n), info() } or { skip }.
import { init } from "../../../pkg/node.js";
import { stubFetch } from "../fetch-stub.mjs";

export const BATCH = 512;

const AZURE = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/";
const OTLP = { endpoint: "http://127.0.0.1:9", compression: "none" }; // the OTel serializer does not gzip either

// Timers off: only flush() exports, so every batch is exactly the one the loop built.
const QUIET = { exportIntervalMs: 0, metricsIntervalMs: 0, serviceName: "bench" };

function span(client) {
  const s = client.startSpan("op");
  s.setAttribute("a", "x");
  s.setAttribute("n", 3);
  s.setAttribute("b", true);
  s.end();
}

/** Accounting to print next to the figure: nothing may be dropped, or the loop measured drops. */
function infoOf(client, seen, unitName) {
  return () => {
    const d = client.diagnostics();
    const dropped = Object.values(d.dropped ?? {}).reduce((a, b) => a + b, 0);
    return {
      itemsQueued: d.itemsQueued,
      itemsAccepted: d.itemsAccepted,
      dropped,
      invalidInputs: d.invalidInputs,
      measurementsRecorded: d.measurementsRecorded,
      logsRecorded: d.logsRecorded,
      requests: seen?.requests,
      payloadBytesPer: seen && d.itemsAccepted ? Math.round(seen.bytes / d.itemsAccepted) : undefined,
      payloadUnit: unitName,
    };
  };
}

export async function setup(op) {
  const seen = stubFetch();
  switch (op) {
    case "span": {
      const client = await init({ ...QUIET });
      return { unit: 1, run: (n) => { for (let i = 0; i < n; i++) span(client); }, info: infoOf(client) };
    }
    case "span_e2e_otlp":
    case "span_e2e_azure": {
      const exporter = op === "span_e2e_otlp" ? { otlp: OTLP } : { connectionString: AZURE };
      const client = await init({ ...QUIET, ...exporter });
      return {
        unit: BATCH,
        async run(n) {
          for (let done = 0; done < n; done += BATCH) {
            for (let i = 0; i < BATCH; i++) span(client);
            await client.flush();
          }
        },
        info: infoOf(client, seen, "span"),
      };
    }
    case "metric_tagmap":
    case "metric_object": {
      const client = await init({ ...QUIET });
      const measure = client.measureInt("requests", "requests served", "1");
      client.registerView({ name: "requests", measure, columns: ["k"], aggregation: "sum" });
      if (op === "metric_tagmap") {
        const tags = client.tagMap({ k: "v" });
        return { unit: 1, run: (n) => { for (let i = 0; i < n; i++) client.record(measure, 1, tags); }, info: infoOf(client) };
      }
      return { unit: 1, run: (n) => { for (let i = 0; i < n; i++) client.record(measure, 1, { k: "v" }); }, info: infoOf(client) };
    }
    case "log": {
      const client = await init({ ...QUIET });
      const logger = client.logger("bench");
      return { unit: 1, run: (n) => { for (let i = 0; i < n; i++) logger.info("msg", { k: "v" }); }, info: infoOf(client) };
    }
    case "log_e2e_otlp":
    case "log_e2e_azure": {
      const exporter = op === "log_e2e_otlp" ? { otlp: OTLP } : { connectionString: AZURE };
      const client = await init({ ...QUIET, ...exporter });
      const logger = client.logger("bench");
      return {
        unit: BATCH,
        async run(n) {
          for (let done = 0; done < n; done += BATCH) {
            for (let i = 0; i < BATCH; i++) logger.info("msg", { k: "v" });
            await client.flush();
          }
        },
        info: infoOf(client, seen, "log"),
      };
    }
    default:
      return { skip: "not measured" };
  }
}
