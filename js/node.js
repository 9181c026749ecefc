// Entry point for Node 20+: reads the .wasm from disk and tracks the active span with AsyncLocalStorage.
import { initSync } from "./edgecensus.js";
import { readFileSync } from "node:fs";
import { AsyncLocalStorage } from "node:async_hooks";
import { makeApi, Client, Span, Measure, TagMap, Logger } from "./core.js";

let loaded = false;
function load() {
  if (!loaded) {
    initSync({ module: readFileSync(new URL("./edgecensus_bg.wasm", import.meta.url)) });
    loaded = true;
  }
}

export const { init, instrument } = makeApi({ load, loadAsyncLocalStorage: () => AsyncLocalStorage });
export { Client, Span, Measure, TagMap, Logger };
