// Runs a worker in a real workerd (the `workerd` npm package in tests/node_modules) for tests.
//
//   const worker = await startWorkerd({
//     modules: [
//       { name: 'worker.mjs', path: fixturePath, type: 'esModule' },   // the first module is the main one
//       ...modulesFromDir(pkgDir, 'pkg/'),                             // pkg/workerd.js, pkg/edgecensus_bg.wasm, ...
//     ],
//     bindings: { CONNECTION_STRING: '...' },                           // text bindings (other values: JSON)
//   });
//   await fetch(`${worker.url}/path`);
//   await worker.close();
//
// The config (written to a temp dir) has one HTTP socket on 127.0.0.1 with a port chosen by the OS
// (reported back through `--control-fd`), the worker, and a `globalOutbound` network service that
// allows "public", "private" and "local" so that fetches to 127.0.0.1 work. Module names resolve
// relative imports the usual way ("pkg/workerd.js" importing "./core.js" gets "pkg/core.js").
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The workerd binary of the installed npm package (the real binary, not a wrapper script). */
export function workerdBinary() {
  if (process.env.WORKERD_BINARY) return process.env.WORKERD_BINARY;
  const workerd = require('workerd');
  return workerd.default ?? workerd;
}

export const DEFAULT_COMPATIBILITY_DATE = '2025-09-01';

const MODULE_TYPES = new Set(['esModule', 'commonJsModule', 'wasm', 'text', 'data', 'json']);

/** Cap'n Proto text literal: printable ASCII as is, everything else as \xNN UTF-8 bytes. */
function capnpString(value) {
  let out = '"';
  for (const byte of Buffer.from(String(value), 'utf8')) {
    if (byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c) out += String.fromCharCode(byte);
    else out += '\\x' + byte.toString(16).padStart(2, '0');
  }
  return out + '"';
}

/** Modules for every `.js`/`.mjs` (esModule) and `.wasm` (wasm) file of `dir`, named `${prefix}${file}`. */
export function modulesFromDir(dir, prefix = '') {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const ext = path.extname(entry.name);
    const type = ext === '.wasm' ? 'wasm' : ext === '.js' || ext === '.mjs' ? 'esModule' : null;
    if (type) out.push({ name: prefix + entry.name, path: path.join(dir, entry.name), type });
  }
  return out;
}

/** Builds the config text; module files are copied into `dir`. */
function writeConfig(dir, { modules, bindings, compatibilityDate, compatibilityFlags, socketAddress }) {
  const moduleLines = modules.map((m, i) => {
    const type = m.type ?? 'esModule';
    if (!MODULE_TYPES.has(type)) throw new Error(`startWorkerd: unknown module type ${JSON.stringify(type)} for ${m.name}`);
    if (!m.name) throw new Error('startWorkerd: every module needs a name');
    const file = `module-${i}${path.extname(m.name) || '.bin'}`;
    if (m.path !== undefined) fs.copyFileSync(m.path, path.join(dir, file));
    else if (m.source !== undefined) fs.writeFileSync(path.join(dir, file), m.source);
    else throw new Error(`startWorkerd: module ${m.name} needs a path or a source`);
    return `    (name = ${capnpString(m.name)}, ${type} = embed ${capnpString(file)}),`;
  });

  const bindingList = Array.isArray(bindings)
    ? bindings
    : Object.entries(bindings ?? {}).map(([name, value]) => (typeof value === 'string' ? { name, text: value } : { name, json: JSON.stringify(value) }));
  const bindingLines = bindingList.map((b) => {
    if (b.text !== undefined) return `    (name = ${capnpString(b.name)}, text = ${capnpString(b.text)}),`;
    if (b.json !== undefined) return `    (name = ${capnpString(b.name)}, json = ${capnpString(b.json)}),`;
    throw new Error(`startWorkerd: binding ${b.name} needs text or json`);
  });

  const config = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .mainWorker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [
    (name = "http", address = ${capnpString(socketAddress)}, http = (), service = "main"),
  ],
);

const mainWorker :Workerd.Worker = (
  modules = [
${moduleLines.join('\n')}
  ],
  bindings = [
${bindingLines.join('\n')}
  ],
  compatibilityDate = ${capnpString(compatibilityDate)},
  compatibilityFlags = [${compatibilityFlags.map(capnpString).join(', ')}],
  globalOutbound = "internet",
);
`;
  const file = path.join(dir, 'config.capnp');
  fs.writeFileSync(file, config);
  return file;
}

function canConnect(port, host) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts workerd serving one worker. Resolves to {url, port, close(), output(), configPath}.
 * `output()` is what workerd printed so far (stdout and stderr, including the worker's console).
 * @param {{modules: Array<{name: string, path?: string, source?: string|Uint8Array, type?: string}>,
 *          bindings?: Record<string, unknown> | Array<{name: string, text?: string, json?: string}>,
 *          compatibilityDate?: string, compatibilityFlags?: string[], verbose?: boolean,
 *          startTimeoutMs?: number}} options
 */
export async function startWorkerd({
  modules,
  bindings = {},
  compatibilityDate = DEFAULT_COMPATIBILITY_DATE,
  compatibilityFlags = [],
  verbose = true,
  startTimeoutMs = 20000,
} = {}) {
  if (!Array.isArray(modules) || modules.length === 0) throw new Error('startWorkerd: modules must list at least the main module');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgecensus-workerd-'));
  const host = '127.0.0.1';
  let child;
  let output = '';
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });

  try {
    const configPath = writeConfig(dir, { modules, bindings, compatibilityDate, compatibilityFlags, socketAddress: `${host}:0` });
    const args = ['serve', configPath, '--control-fd=3'];
    if (verbose) args.push('--verbose');
    child = spawn(workerdBinary(), args, { cwd: dir, env: { ...process.env, PWD: dir }, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));

    const port = await new Promise((resolve, reject) => {
      let control = '';
      const timer = setTimeout(() => fail(new Error(`workerd did not start listening within ${startTimeoutMs} ms`)), startTimeoutMs);
      const onExit = (code, signal) => fail(new Error(`workerd exited before listening (code ${code}, signal ${signal})`));
      const onError = (e) => fail(e);
      function fail(e) {
        clearTimeout(timer);
        child.off('exit', onExit);
        reject(e);
      }
      child.once('exit', onExit);
      child.once('error', onError);
      child.stdio[3].on('data', (d) => {
        control += d;
        for (const line of control.split('\n').slice(0, -1)) {
          let msg;
          try {
            msg = JSON.parse(line);
          } catch {
            continue;
          }
          if (msg.event === 'listen' && msg.socket === 'http') {
            clearTimeout(timer);
            child.off('exit', onExit);
            child.off('error', onError);
            resolve(msg.port);
          }
        }
      });
    });

    const deadline = Date.now() + 5000;
    while (!(await canConnect(port, host))) {
      if (Date.now() > deadline) throw new Error(`workerd reported port ${port} but it does not accept connections`);
      await new Promise((r) => setTimeout(r, 50));
    }

    const exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    let closed = false;
    return {
      url: `http://${host}:${port}`,
      port,
      configPath,
      output: () => output,
      /** Prints workerd's output (for a failing test). */
      printOutput(label = 'workerd output') {
        console.error(`--- ${label} ---\n${output || '(nothing)'}`);
      },
      async close() {
        if (closed) return exited;
        closed = true;
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(killer);
        }
        cleanup();
      },
    };
  } catch (error) {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    cleanup();
    error.message += `\n--- workerd output ---\n${output || '(nothing)'}`;
    throw error;
  }
}
