// Starts the OTLP decoder (tests/otlp/server.py: the official opentelemetry-proto definitions and
// Google's protobuf json_format, in Python) as a child process, for the end-to-end tests.
//
//   const decoder = await startDecoder();            // or startDecoder({ port }) for a given port
//   // OTLP endpoint: decoder.url  (the exporter adds /v1/traces, /v1/metrics, /v1/logs)
//   const got = await decoder.waitFor((r) => r.traces.length >= 1);
//   assert.deepEqual(got.errors, []);
//   await decoder.close();
//
// The process is always ended: by close(), when the test process exits (a synchronous SIGKILL on
// 'exit'), and by the server itself when its standard input closes (the parent died).
// Python: $OTLP_PYTHON, else `python3` (scripts/setup installs tests/otlp/requirements.txt into it).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('./server.py', import.meta.url));

/** Children still running, killed when the test process exits whatever happens. */
const live = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {}
    }
  });
}

/** Ids in MessageToDict output are base64: the lowercase hex the rest of the world uses. */
export function hexId(base64) {
  return base64 ? Buffer.from(base64, 'base64').toString('hex') : '';
}

/** A short account of what the decoder holds, for failure messages. */
export function describeReceived(r) {
  if (!r) return '(nothing read from the decoder)';
  const lines = [
    `${r.requests.length} request(s); decoded exports: ${r.traces.length} traces, ${r.metrics.length} metrics, ${r.logs.length} logs; ${r.errors.length} error(s)`,
  ];
  for (const q of r.requests.slice(0, 40)) {
    lines.push(`  #${q.seq} ${q.method} ${q.path} ${q.contentEncoding ?? ''} items=${q.items ?? '-'} answered=${q.answered ?? '-'}${q.scripted ? ` (scripted ${q.scripted})` : ''}`);
  }
  for (const e of r.errors.slice(0, 20)) lines.push(`  ERROR #${e.seq} ${e.path} [${e.kind}] ${e.message.slice(0, 400)}`);
  return lines.join('\n');
}

/**
 * Starts the decoder. Resolves to {url, port, pid, received(), reset(), script(), waitFor(), close(), output()}.
 * @param {{port?: number, python?: string, startTimeoutMs?: number, verbose?: boolean}} [options]
 */
export async function startDecoder({ port = 0, python = process.env.OTLP_PYTHON || 'python3', startTimeoutMs = 20000, verbose = false } = {}) {
  installExitHook();
  const args = [SERVER, '--host', '127.0.0.1', '--port', String(port), '--exit-on-stdin-eof'];
  if (verbose) args.push('--verbose');
  const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  live.add(child);
  let output = '';
  let stdout = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => live.delete(child));
  child.stderr.on('data', (d) => (output += d));

  let url;
  try {
    url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the OTLP decoder did not start listening within ${startTimeoutMs} ms`)), startTimeoutMs);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${python} ${SERVER}: ${e.message}`));
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`the OTLP decoder exited before listening (code ${code}, signal ${signal})`));
      });
      child.stdout.on('data', (d) => {
        stdout += d;
        output += d;
        for (const line of stdout.split('\n').slice(0, -1)) {
          let msg;
          try {
            msg = JSON.parse(line);
          } catch {
            continue;
          }
          if (msg.error) {
            clearTimeout(timer);
            reject(new Error(`the OTLP decoder cannot start: ${msg.error}`));
          } else if (msg.listening) {
            clearTimeout(timer);
            resolve(msg.listening);
          }
        }
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    error.message += `\n--- decoder output ---\n${output || '(nothing)'}`;
    throw error;
  }

  async function call(method, path, body) {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`decoder ${method} ${path}: HTTP ${response.status} ${text}`);
    return JSON.parse(text);
  }

  let closed = false;
  const decoder = {
    url,
    port: Number(new URL(url).port),
    pid: child.pid,
    output: () => output,
    /** Everything decoded so far: {requests, traces, metrics, logs, errors}. */
    received: () => call('GET', '/received'),
    /** Forgets what was received, and clears the script. */
    async reset() {
      await call('DELETE', '/received');
      await call('POST', '/script', { answers: [], default: null });
    },
    /** Scripted answers (see server.py): {answers: [...], default: answer|null}. */
    script: (script) => call('POST', '/script', { answers: [], default: null, ...script }),
    /**
     * Polls until `predicate(received)` is true; resolves with that snapshot. Rejects after
     * `timeoutMs` with an account of what had arrived.
     */
    async waitFor(predicate, { timeoutMs = 10000, intervalMs = 50, label = '' } = {}) {
      const deadline = Date.now() + timeoutMs;
      let last;
      for (;;) {
        last = await call('GET', '/received');
        if (predicate(last)) return last;
        if (Date.now() > deadline) {
          throw new Error(`decoder.waitFor${label ? ` (${label})` : ''} timed out after ${timeoutMs} ms waiting for ${String(predicate).slice(0, 300)}\n${describeReceived(last)}`);
        }
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    },
    async close() {
      if (closed) return exited;
      closed = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(killer);
      }
      child.stdin.destroy();
    },
  };
  return decoder;
}
