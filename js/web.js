// Entry point for browsers and bundlers: loads edgecensus_bg.wasm next to this file on first init().
import initWasm from "./edgecensus.js";
import { makeApi, Client, Span, Measure, TagMap, Logger } from "./core.js";

let ready;
const load = () => (ready ??= initWasm({ module_or_path: new URL("./edgecensus_bg.wasm", import.meta.url) }));

export const { init, instrument } = makeApi({ load });
export { Client, Span, Measure, TagMap, Logger };
