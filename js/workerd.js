// Entry point for workerd (Cloudflare Workers): the .wasm is imported as a compiled module, never
// fetched, and instantiated on the first init() (inside a request, never at module scope).
// No export timer by default: hand client.flush() to ctx.waitUntil (instrument() does).
import { initSync } from "./edgecensus.js";
import wasmModule from "./edgecensus_bg.wasm";
import { makeApi, Client, Span, Measure, TagMap, Logger } from "./core.js";

let loaded = false;
function load() {
  if (!loaded) {
    initSync({ module: wasmModule });
    loaded = true;
  }
}

// AsyncLocalStorage exists when the worker enables the nodejs_compat or nodejs_als flag.
async function loadAsyncLocalStorage() {
  try {
    return (await import("node:async_hooks")).AsyncLocalStorage;
  } catch {
    return globalThis.AsyncLocalStorage;
  }
}

export const { init, instrument } = makeApi({ load, loadAsyncLocalStorage, defaults: { exportIntervalMs: 0, metricsIntervalMs: 0, flushTimeoutMs: 10000 } });
export { Client, Span, Measure, TagMap, Logger };
