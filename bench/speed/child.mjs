// One measurement in its own process: `node child.mjs <subject module> <op>`.
// The subject's `setup(op)` gives `{ unit, run(n), info() }` (run does n operations, n a multiple
// of unit; it may return a promise) or `{ skip: reason }`. This warms up for WARMUP_MS, sizes n so
// that one sample takes ~SAMPLE_MS, takes SAMPLES samples and prints one JSON line:
// { nsPerOp (median of the samples), samples, n, info }.
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_MS ?? 30);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 300);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 11);

const [subjectPath, op] = process.argv.slice(2);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function timed(run, n) {
  const t0 = process.hrtime.bigint();
  await run(n);
  return Number(process.hrtime.bigint() - t0) / 1e6; // ms
}

async function main() {
  const subject = await import(pathToFileURL(resolve(subjectPath)).href);
  const bench = await subject.setup(op);
  if (bench.skip) return { skip: bench.skip };
  const { unit, run } = bench;
  // Warm up (JIT, caches, the SDK's own lazy setup), then size a sample to take ~SAMPLE_MS.
  const warmEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmEnd) await run(unit);
  let n = unit;
  let ms = await timed(run, n);
  while (ms < SAMPLE_MS / 2) {
    n *= 2;
    ms = await timed(run, n);
  }
  n = Math.max(unit, Math.round((n * SAMPLE_MS) / ms / unit) * unit);
  const samples = [];
  for (let i = 0; i < SAMPLES; i++) samples.push(((await timed(run, n)) * 1e6) / n);
  return { nsPerOp: median(samples), samples: samples.map((x) => Math.round(x * 10) / 10), n, info: await bench.info?.() };
}

main().then(
  (result) => {
    process.stdout.write(JSON.stringify({ op, ...result }) + "\n");
    process.exit(0); // some SDKs keep timers alive
  },
  (error) => {
    process.stdout.write(JSON.stringify({ op, error: String(error?.stack ?? error) }) + "\n");
    process.exit(1);
  },
);
