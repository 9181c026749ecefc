// The edgecensus benchmarks: package size and speed in Node, side by side with OpenTelemetry JS
// and Application Insights JS, in one run. Writes results.json and results.md next to this file.
// Run it through ../scripts/bench (which installs what it needs and builds pkg/ when missing).
//
//   node run.mjs [--reps N] [--only size|speed]
//
// Speed: every (library, operation) pair is measured in REPS separate child processes
// (speed/child.mjs), interleaved round-robin; a figure is the median of the per-process medians.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { sizes, sum } from "./lib/compress.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const REPS = Number(flag("--reps", process.env.BENCH_REPS ?? 5));
const ONLY = flag("--only", "all");

// The targets from the product's issue.
const TARGET_BROTLI_BYTES = 24_000; // "whole package <= 24 KB brotli" (kB = 1000 bytes)
const TARGET_RATIO = 0.5; // span end-to-end, metric record, log emit: <= 0.5x OpenTelemetry JS

const version = (dir, name) => JSON.parse(readFileSync(join(dir, "node_modules", name, "package.json"), "utf8")).version;
const otel3Installed = existsSync(join(HERE, "otel3/node_modules/@opentelemetry/sdk-trace/package.json"));
const [nodeMajor, nodeMinor] = process.versions.node.split(".").map(Number);
// OTel 3.x declares node >= 22.15; measured on older Node too (it runs), but flagged.
const otel3OnSupportedNode = nodeMajor > 22 || (nodeMajor === 22 && nodeMinor >= 15);

const V = {
  ours: JSON.parse(readFileSync(join(ROOT, "pkg/package.json"), "utf8")).version,
  otel: `${version(HERE, "@opentelemetry/sdk-trace-web")} / ${version(HERE, "@opentelemetry/sdk-logs")}`,
  otel3: otel3Installed ? `${version(join(HERE, "otel3"), "@opentelemetry/sdk-trace")} / ${version(join(HERE, "otel3"), "@opentelemetry/exporter-trace-otlp-http")}` : undefined,
  ai: version(HERE, "@microsoft/applicationinsights-web"),
  aiBasic: version(HERE, "@microsoft/applicationinsights-web-basic"),
  esbuild: version(HERE, "esbuild"),
};

const LIBS = [
  { id: "ours", label: `edgecensus ${V.ours}`, entry: "entries/edgecensus.mjs", speed: "speed/subjects/edgecensus.mjs" },
  {
    id: "otel",
    label: `OpenTelemetry JS ${V.otel}`,
    detail: "`@opentelemetry/` sdk-trace-web, sdk-metrics, sdk-logs, exporter-trace-otlp-http, exporter-metrics-otlp-http, exporter-logs-otlp-http, resources, api, api-logs (the 2.x SDK line, the last one with sdk-trace-web; `WebTracerProvider.register()` adds its context manager and W3C propagator)",
    entry: "entries/otel.mjs",
    speed: "speed/subjects/otel.mjs",
  },
  otel3Installed && {
    id: "otel3",
    label: `OpenTelemetry JS ${V.otel3}`,
    detail: "the 3.x SDK line (October 2026): `@opentelemetry/` sdk-trace (replaces sdk-trace-base and sdk-trace-web), sdk-metrics, sdk-logs, the three OTLP/HTTP exporters, resources, core (W3C propagator), api 1.10 (which now includes the logs API); its `StackContextManager` and propagator registered by hand, as `register()` did in 2.x",
    entry: "otel3/entry.mjs",
    speed: "otel3/subject.mjs",
  },
  { id: "aiBasic", label: `AI JS web-basic ${V.aiBasic}`, detail: "`@microsoft/applicationinsights-web-basic`: core and channel, no auto-collection; `track()` with hand-built items", entry: "entries/ai-basic.mjs", speed: "speed/subjects/ai-basic.mjs" },
  { id: "ai", label: `AI JS web ${V.ai}`, detail: "`@microsoft/applicationinsights-web`: the full SDK (page views, dependency and exception auto-collection, properties, config sync)", entry: "entries/ai-web.mjs", speed: "speed/subjects/ai-web.mjs" },
].filter(Boolean);
const lib = (id) => LIBS.find((l) => l.id === id);

// ---------------------------------------------------------------- size

async function bundle(entry) {
  const result = await esbuild.build({
    entryPoints: [join(HERE, entry)],
    absWorkingDir: HERE,
    bundle: true,
    format: "esm",
    minify: true,
    platform: "browser",
    define: { "process.env.NODE_ENV": '"production"' },
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].contents;
}

async function measureSizes() {
  const out = {};
  for (const l of LIBS) {
    const js = sizes(await bundle(l.entry), { text: true });
    if (l.id === "ours") {
      const wasm = sizes(readFileSync(join(ROOT, "pkg/edgecensus_bg.wasm")));
      out.ours = { wasm, js, total: sum(wasm, js) };
    } else {
      out[l.id] = { js, total: js };
    }
  }
  return out;
}

// ---------------------------------------------------------------- speed

// Rows of the speed table: which libraries do the operation, and whether the ratio target applies.
const OPS = [
  { id: "span", label: "span: start + 3 attributes + end (no exporter)", libs: ["ours", "otel", "otel3"] },
  { id: "span_e2e_otlp", label: "span end-to-end, OTLP JSON: the span + its encoding, flushed per 512", libs: ["ours", "otel", "otel3"], target: true },
  { id: "span_e2e_azure", label: "span end-to-end, Azure envelopes (AI: a dependency item)", libs: ["ours", "aiBasic", "ai"] },
  { id: "metric_tagmap", label: "metric record, 1 tag (ours: TagMap; OTel: `counter.add` with a reused attributes object)", libs: ["ours", "otel", "otel3"], target: true },
  { id: "metric_object", label: "metric record, 1 tag as a new `{k:'v'}` (AI: one envelope per call, no aggregation)", libs: ["ours", "otel", "otel3", "aiBasic", "ai"], target: true },
  { id: "log", label: "log emit `info('msg', {k:'v'})` (no exporter)", libs: ["ours", "otel", "otel3"], target: true },
  { id: "log_e2e_otlp", label: "log end-to-end, OTLP JSON: emit + encoding, flushed per 512", libs: ["ours", "otel", "otel3"], target: true },
  { id: "log_e2e_azure", label: "log end-to-end, Azure envelopes (AI: `trackTrace`)", libs: ["ours", "aiBasic", "ai"] },
  { id: "encode_512", label: "encode a batch of 512 spans, µs per batch (ours: derived, see notes)", libs: ["otel", "otel3"], unit: "µs" },
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function runChild(l, op) {
  const child = spawnSync(process.execPath, [join(HERE, "speed/child.mjs"), join(HERE, l.speed), op], {
    cwd: HERE,
    encoding: "utf8",
    timeout: 120_000,
  });
  const line = child.stdout.trim().split("\n").pop() || "{}";
  try {
    return JSON.parse(line);
  } catch {
    return { op, error: `no result (exit ${child.status}): ${child.stderr.slice(-500)}` };
  }
}

function measureSpeed() {
  const jobs = OPS.flatMap((op) => op.libs.filter((id) => lib(id)).map((id) => ({ op: op.id, lib: id })));
  const runs = new Map(jobs.map((j) => [`${j.op}/${j.lib}`, []]));
  for (let rep = 1; rep <= REPS; rep++) {
    for (const j of jobs) {
      const r = runChild(lib(j.lib), j.op);
      runs.get(`${j.op}/${j.lib}`).push(r);
      const figure = r.error ? `ERROR ${r.error.split("\n")[0]}` : r.skip ? `skip: ${r.skip}` : `${r.nsPerOp.toFixed(1)} ns/op`;
      process.stderr.write(`  [${rep}/${REPS}] ${j.op.padEnd(15)} ${j.lib.padEnd(8)} ${figure}\n`);
    }
  }
  const out = {};
  for (const op of OPS) {
    out[op.id] = {};
    for (const id of op.libs) {
      const rs = runs.get(`${op.id}/${id}`);
      if (!rs) continue;
      const ok = rs.filter((r) => typeof r.nsPerOp === "number");
      if (ok.length === 0) {
        out[op.id][id] = { error: rs.find((r) => r.error)?.error ?? rs[0]?.skip ?? "no result" };
        continue;
      }
      // A figure that dropped items (queue full, refused) measured the wrong work: report it, not the time.
      const dropped = ok.reduce((n, r) => n + (r.info?.dropped ?? 0), 0);
      if (dropped > 0) {
        out[op.id][id] = { error: `${dropped} items dropped: figure invalid`, info: ok[ok.length - 1].info };
        continue;
      }
      const per = ok.map((r) => r.nsPerOp);
      out[op.id][id] = {
        nsPerOp: median(per),
        processes: per.map((x) => Math.round(x * 10) / 10),
        spread: (Math.max(...per) - Math.min(...per)) / median(per),
        info: ok[ok.length - 1].info,
      };
    }
  }
  // Ours has no encode-only entry point (a span is encoded when it ends): the cost of encoding 512
  // spans is 512 x (span end-to-end - span without exporter), from the medians above.
  const e2e = out.span_e2e_otlp?.ours?.nsPerOp;
  const bare = out.span?.ours?.nsPerOp;
  if (e2e !== undefined && bare !== undefined) {
    out.encode_512.ours = { nsPerOp: (e2e - bare) * 512, derived: "512 x (span_e2e_otlp - span)" };
  }
  return out;
}

// ---------------------------------------------------------------- report

const kB = (bytes) => (bytes / 1000).toFixed(1);
const int = (x) => Math.round(x).toLocaleString("en-US");

function git(...a) {
  try {
    return execFileSync("git", a, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

function sizeTable(s) {
  const o = s.ours.total.brotli;
  const rows = [
    "| package | raw | gzip -9 | brotli (q11) | edgecensus ÷ this (brotli) | target ≤ 24 kB brotli |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
  ];
  const status = o <= TARGET_BROTLI_BYTES ? "✓ met" : `✗ ${(o / TARGET_BROTLI_BYTES).toFixed(1)}× the target`;
  const row = (label, r, vs = "", target = "") => rows.push(`| ${label} | ${kB(r.raw)} kB | ${kB(r.gzip)} kB | ${kB(r.brotli)} kB | ${vs} | ${target} |`);
  row(`**${lib("ours").label}** (.wasm + JS)`, s.ours.total, "", status);
  row("&nbsp;&nbsp;↳ `edgecensus_bg.wasm`", s.ours.wasm);
  row("&nbsp;&nbsp;↳ JS (`web.js` + `core.js` + `edgecensus.js`, bundled, minified)", s.ours.js);
  for (const l of LIBS.filter((l) => l.id !== "ours")) row(l.label, s[l.id].total, `${(o / s[l.id].total.brotli).toFixed(2)}×`);
  return rows.join("\n");
}

function sizeNotes() {
  return LIBS.filter((l) => l.detail).map((l) => `- ${l.label}: ${l.detail}`).join("\n");
}

function speedTable(sp) {
  const cols = ["ours", "otel", "otel3", "aiBasic", "ai"].filter((id) => lib(id));
  const head = [
    "operation",
    ...cols.map((id) => (id === "otel3" && !otel3OnSupportedNode ? `${lib(id).label}¹` : lib(id).label)),
    "ours / OTel 2.x",
    ...(lib("otel3") ? ["ours / OTel 3.x"] : []),
    "target",
  ];
  const rows = [`| ${head.join(" | ")} |`, `| --- | ${head.slice(1).map(() => "---:").join(" | ")} |`];
  for (const op of OPS) {
    const r = sp[op.id];
    const cell = (id) => {
      const x = r[id];
      if (!op.libs.includes(id) && !(op.id === "encode_512" && id === "ours")) return "—";
      if (!x) return "n/a";
      if (x.error) return `n/a (${x.error.split("\n")[0].slice(0, 60)})`;
      const v = op.unit === "µs" ? int(x.nsPerOp / 1000) : x.nsPerOp < 100 ? x.nsPerOp.toFixed(1) : int(x.nsPerOp);
      const half = x.spread === undefined ? 0 : Math.round((x.spread * 100) / 2);
      const spread = half >= 5 ? ` (±${half}%)` : "";
      return `${v}${spread}${x.derived ? "²" : ""}`;
    };
    const ratio = (id) => (r.ours?.nsPerOp !== undefined && r[id]?.nsPerOp ? r.ours.nsPerOp / r[id].nsPerOp : undefined);
    const fmt = (x) => (x === undefined ? "—" : `${x.toFixed(2)}×`);
    const r2 = ratio("otel");
    const target = op.target ? (r2 === undefined ? "≤ 0.5×" : r2 <= TARGET_RATIO ? "≤ 0.5× ✓" : "≤ 0.5× ✗") : "";
    rows.push(`| ${op.label} | ${cols.map(cell).join(" | ")} | ${fmt(r2)} | ${lib("otel3") ? `${fmt(ratio("otel3"))} | ` : ""}${target} |`);
  }
  return rows.join("\n");
}

function payloadTable(sp) {
  const rows = ["| payload per item (uncompressed) | edgecensus | OpenTelemetry JS 2.x | AI JS web-basic | AI JS web |", "| --- | ---: | ---: | ---: | ---: |"];
  const b = (op, id) => {
    const p = sp[op]?.[id]?.info?.payloadBytesPer;
    return p === undefined ? "—" : `${p} B`;
  };
  rows.push(`| span, OTLP JSON | ${b("span_e2e_otlp", "ours")} | ${b("span_e2e_otlp", "otel")} | — | — |`);
  rows.push(`| span, Azure envelope | ${b("span_e2e_azure", "ours")} | — | ${b("span_e2e_azure", "aiBasic")} | ${b("span_e2e_azure", "ai")} |`);
  rows.push(`| log, OTLP JSON | ${b("log_e2e_otlp", "ours")} | ${b("log_e2e_otlp", "otel")} | — | — |`);
  rows.push(`| log, Azure envelope | ${b("log_e2e_azure", "ours")} | — | ${b("log_e2e_azure", "aiBasic")} | ${b("log_e2e_azure", "ai")} |`);
  return rows.join("\n");
}

function markdown(r) {
  const parts = [
    "# edgecensus benchmarks",
    "",
    `Generated by \`./scripts/bench\` — do not edit by hand, run it again. ${r.env.date}, commit \`${r.env.commit}\`${r.env.dirty ? " (with uncommitted changes in src/ or js/)" : ""}, Node ${r.env.node}, ${r.env.cpu} × ${r.env.cores}.`,
  ];
  if (r.sizes) {
    parts.push(
      "",
      "## Package size",
      "",
      "What a page downloads to initialise the library and send one span, one metric and one log.",
      "",
      sizeTable(r.sizes),
      "",
      sizeNotes(),
      "",
      `Each library's entry file (\`bench/entries/\`, \`bench/otel3/entry.mjs\`) initialises it (traces, metrics and logs; OTLP/HTTP exporters for OpenTelemetry, the Azure channel for Application Insights) and sends one span, one metric and one log. It is bundled with esbuild ${V.esbuild} (\`--bundle --minify --format=esm --platform=browser\`); every file is compressed on its own, as it is served (gzip level 9; brotli quality 11, window 24), and for edgecensus the \`.wasm\` is added to the bundle. kB = 1000 bytes. The CI budget (\`size-budget.json\`, \`scripts/size-check\`) counts the glue unminified, so its figure is a little higher; see \`docs/size.md\`.`,
    );
  }
  if (r.speed && r.speedEnv) {
    const se = r.speedEnv;
    const when = se.commit !== r.env.commit || se.date !== r.env.date ? ` Measured ${se.date} at commit \`${se.commit}\`.` : "";
    parts.push(
      "",
      "## Speed in Node",
      "",
      `ns per operation (lower is better): each figure is the median over ${se.reps} separate processes of each process's median of ${se.samples} samples (after a ${se.warmupMs} ms warm-up); (±x%) is half the range between those processes, shown from 5%. Ratios are ours ÷ theirs from the same run. Timings are noisy (load average ${se.load.join(" → ")} on ${r.env.cores} cores during this run): compare ratios, not absolute figures, between runs.${when}`,
      "",
      speedTable(r.speed),
      "",
      ...(lib("otel3") && !otel3OnSupportedNode ? [`¹ OpenTelemetry JS 3.x declares \`node >= 22.15\`; it ran here on Node ${r.env.node} without error, but that is outside what it supports.`] : []),
      "² edgecensus encodes a span when it ends and has no encode-only call: 512 × (span end-to-end OTLP − span without exporter), from the medians above. OpenTelemetry's figure is `JsonTraceSerializer.serializeRequest` over 512 finished spans.",
      "",
      "How each side is set up (`bench/speed/`):",
      "",
      "- **edgecensus**: the built `pkg/` through its Node entry point; export timers off (`exportIntervalMs: 0`), so each `flush()` sends exactly the 512 items the loop made; `fetch` is a stub that answers 200 at once (the encoding, batching and response handling still run). OTLP with `compression: \"none\"` (OpenTelemetry's serializer does not compress either). Every process reports edgecensus' diagnostics, and a figure whose run dropped any item is replaced by an error.",
      "- **OpenTelemetry JS**: as fast as it can be set up: no context manager registered, span/log processors that only collect into an array, and the OTLP JSON serializers from `@opentelemetry/otlp-transformer` called directly every 512 items (no HTTP). Metrics: a `MeterProvider` with a no-op `MetricReader`.",
      "- **Application Insights JS** runs in Node without a DOM (its page hooks stay idle); items leave through the same `fetch` stub every 512 items. It has no span API (a dependency item stands in) and no metric aggregation (each `trackMetric` is an envelope). It has no encoder-free path, so it appears only in the end-to-end rows.",
      "",
      payloadTable(r.speed),
    );
  }
  return parts.join("\n") + "\n";
}

// ---------------------------------------------------------------- main

const previous = existsSync(join(HERE, "results.json")) ? JSON.parse(readFileSync(join(HERE, "results.json"), "utf8")) : {};
const results = {
  env: {
    date: new Date().toISOString().slice(0, 10),
    commit: git("rev-parse", "--short", "HEAD"),
    dirty: git("status", "--porcelain", "--", "src", "js", "Cargo.toml", "Cargo.lock") !== "",
    node: process.versions.node,
    cpu: cpus()[0]?.model?.trim() ?? "unknown CPU",
    cores: cpus().length,
    versions: V,
  },
  targets: { brotliBytes: TARGET_BROTLI_BYTES, ratio: TARGET_RATIO },
  sizes: ONLY === "speed" ? previous.sizes : undefined,
  speed: ONLY === "size" ? previous.speed : undefined,
  // How the speed figures were taken (kept from the last run with --only size).
  speedEnv: ONLY === "size" ? previous.speedEnv : undefined,
};

if (ONLY !== "speed") {
  process.stderr.write("bench: sizes (esbuild bundles)\n");
  results.sizes = await measureSizes();
}
if (ONLY !== "size") {
  process.stderr.write(`bench: speed (${REPS} processes per figure)\n`);
  const load = [loadavg()[0].toFixed(2)];
  results.speed = measureSpeed();
  load.push(loadavg()[0].toFixed(2));
  results.speedEnv = {
    date: results.env.date,
    commit: results.env.commit,
    reps: REPS,
    samples: Number(process.env.BENCH_SAMPLES ?? 11),
    warmupMs: Number(process.env.BENCH_WARMUP_MS ?? 300),
    load,
  };
}
writeFileSync(join(HERE, "results.json"), JSON.stringify(results, null, 2) + "\n");
writeFileSync(join(HERE, "results.md"), markdown(results));
process.stdout.write(markdown(results));
