// The size budget check (run by scripts/size-check after scripts/build): measures pkg/, prints
// the figures, and fails when one is over its limit in size-budget.json.
//
//   node bench/lib/size-check.mjs            check
//   node bench/lib/size-check.mjs --update   set every limit to the current size + the margin
//
// Node's zlib only: no npm install, no network, no build. What a browser loads is the .wasm and
// the glue (web.js, which imports core.js and edgecensus.js). The glue is measured as shipped in
// pkg/ (unminified): a user's bundler minifies it further, but minifying would need esbuild, and a
// budget must not depend on whether bench/node_modules happens to be installed. So the budgeted
// "package brotli" is a slight overestimate of what a bundled app ships (bench/results.md has the
// minified figure).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sizes, sum } from "./compress.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const BUDGET_FILE = join(ROOT, "size-budget.json");
const update = process.argv.includes("--update");

const budget = JSON.parse(readFileSync(BUDGET_FILE, "utf8"));
const { wasm: wasmFile, glue: glueFiles } = budget.files;

const missing = [wasmFile, ...glueFiles].filter((f) => !existsSync(join(ROOT, f)));
if (missing.length) {
  console.error(`size-check: ${missing.join(", ")} not found: run ./scripts/build first`);
  process.exit(2);
}

const wasm = sizes(readFileSync(join(ROOT, wasmFile)));
const glue = sum(...glueFiles.map((f) => sizes(readFileSync(join(ROOT, f)), { text: true })));
const total = sum(wasm, glue);

// What each limit is measured on.
const measured = {
  wasmRawBytes: wasm.raw,
  wasmBrotliBytes: wasm.brotli,
  packageBrotliBytes: total.brotli,
};

const fmt = (n) => n.toLocaleString("en-US").padStart(9);
console.log("size-check: pkg/ as a browser loads it (brotli q11, gzip -9, each file on its own)");
console.log(`  ${"".padEnd(44)}      raw       gzip     brotli`);
console.log(`  ${wasmFile.padEnd(44)}${fmt(wasm.raw)}  ${fmt(wasm.gzip)}  ${fmt(wasm.brotli)}`);
console.log(`  ${`glue: ${glueFiles.map((f) => f.replace(/^pkg\//, "")).join(" + ")}`.padEnd(44)}${fmt(glue.raw)}  ${fmt(glue.gzip)}  ${fmt(glue.brotli)}`);
console.log(`  ${"total".padEnd(44)}${fmt(total.raw)}  ${fmt(total.gzip)}  ${fmt(total.brotli)}`);

if (update) {
  const margin = budget.marginPercent ?? 3;
  for (const [key, value] of Object.entries(measured)) {
    if (!budget.limits[key]) continue;
    budget.limits[key] = { max: Math.ceil((value * (100 + margin)) / 100), measured: value };
  }
  let commit = "";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {}
  budget.measuredAt = { commit, date: new Date().toISOString().slice(0, 10) };
  writeFileSync(BUDGET_FILE, JSON.stringify(budget, null, 2) + "\n");
  console.log(`size-check: limits set to the current sizes + ${margin}% in size-budget.json`);
  process.exit(0);
}

let over = 0;
console.log("");
for (const [key, limit] of Object.entries(budget.limits)) {
  const value = measured[key];
  if (value === undefined) {
    console.error(`size-check: unknown limit "${key}" in size-budget.json (known: ${Object.keys(measured).join(", ")})`);
    over++;
    continue;
  }
  const pct = ((100 * value) / limit.max).toFixed(1);
  const ok = value <= limit.max;
  const note = ok ? "" : `: ${(value - limit.max).toLocaleString("en-US")} bytes over`;
  console.log(`  ${ok ? "ok  " : "OVER"} ${key.padEnd(20)} ${fmt(value)} of ${fmt(limit.max)} bytes (${pct}%)${note}`);
  if (!ok) over++;
}
if (over) {
  console.error(
    `\nsize-check: FAILED: the package is over its size budget (size-budget.json).\n` +
      `If the growth is intended, say why in the commit and raise the limit:\n` +
      `  ./scripts/size-check --update   (sets every limit to the current size + ${budget.marginPercent ?? 3}%)\n` +
      `Otherwise see docs/size.md and ./scripts/size-profile for where the bytes go.`,
  );
  process.exit(1);
}
console.log("size-check: within budget");
