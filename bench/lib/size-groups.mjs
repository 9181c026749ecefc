// Groups the items of a `twiggy top -f csv` listing by where they come from (our modules, float
// formatting, core::fmt, the allocator, wasm-bindgen glue, ...), for docs/size.md.
//
//   node bench/lib/size-groups.mjs <twiggy-top.csv> [label]
//
// Shallow sizes, in bytes of the uncompressed module; the "name" section (kept only for this
// report, stripped from pkg/) is left out. Functions are attributed by their (demangled) name, so
// code that the optimiser inlined into a caller counts for the caller: run it on the module
// before wasm-opt too (scripts/size-profile does) to see the origins more clearly.
import { readFileSync } from "node:fs";

// First match wins. Order matters: specific before general.
const GROUPS = [
  ["(name section: not shipped)", /"function names" subsection|names" subsection|^"?name"? section/],
  ["float → text (core::fmt float, flt2dec: grisu/dragon, bignum)", /flt2dec|fmt::float|bignum|<f(32|64) as core.*fmt::(Display|Debug|LowerExp|UpperExp)>|float_to_/],
  ["text → float (dec2flt)", /dec2flt|<f(32|64) as core.*FromStr>/],
  ["Debug-escaping of strings and chars (unicode printable tables)", /escape_debug|unicode::printable|<str as core.*fmt::Debug>|<char as core.*fmt::Debug>|<alloc.*String as core.*fmt::Debug>|is_printable|grapheme_extend/],
  ["core::fmt machinery (Formatter, write_fmt, pad, integers)", /core(\[[0-9a-f]+\])?::fmt|alloc(\[[0-9a-f]+\])?::fmt|<.* as core(\[[0-9a-f]+\])?::fmt::(Display|Debug|Write)>|fmt::num|pad_integral|fmt::write|format_inner|to_string/],
  ["panics, bounds and slicing checks", /panic|slice_error_fail|slice_index|str_index|index_fail|assert_failed|unwrap_failed|expect_failed|slice_(start|end)_index|len_mismatch|capacity_overflow|handle_alloc_error|rust_begin_unwind|__rust_start_panic|abort/],
  ["allocator (dlmalloc, __rdl_*, raw_vec growth)", /dlmalloc|__rdl_|__rust_(alloc|dealloc|realloc)|__rg_|raw_vec|RawVec|finish_grow|alloc::alloc/],
  ["hash maps (hashbrown)", /hashbrown|HashMap|HashSet|RandomState|hash::sip|Hasher/],
  ["sorting (core::slice::sort)", /slice::sort|sort::stable|sort::unstable|merge_sort|quicksort|drift|insertion_sort|heapsort/],
  ["other std collections and strings (VecDeque, BTreeMap, str search, join)", /vec_deque|VecDeque|btree|BTreeMap|str::pattern|StrSearcher|join_generic|str::count|core(\[[0-9a-f]+\])?::str|alloc(\[[0-9a-f]+\])?::str|alloc(\[[0-9a-f]+\])?::string|Utf8|utf8|memchr|memcpy|memmove|memset|memcmp|compiler_builtins/],
  ["wasm-bindgen glue (exports' shims, externref table, closures, futures)", /externref shim|multivalue shim|wasm_bindgen|__wbindgen|__wbg|__externref|js_sys|web_sys|wasm_bindgen_futures|Closure|closure invoked|FnOnce|getrandom|gloo_timers|futures_/],
  ["our API (rawclient_* / rawspan_* exports, edgecensus::wasm)", /^"?raw(client|span|spanref)_|edgecensus::wasm::/],
  ["our JSON writer/parser (edgecensus::json, text)", /edgecensus::(json|text)/],
  ["our Azure encoder and responses (edgecensus::azure)", /edgecensus::azure/],
  ["our OTLP encoder and responses (edgecensus::otlp)", /edgecensus::otlp/],
  ["our traces (edgecensus::trace, trace_context, ids)", /edgecensus::(trace|trace_context|ids)/],
  ["our stats (edgecensus::stats)", /edgecensus::stats/],
  ["our logs and exceptions (edgecensus::log)", /edgecensus::log/],
  ["our delivery (edgecensus::export, telemetry, diagnostics)", /edgecensus::(export|telemetry|diagnostics|platform)/],
  ["our config, time, console (edgecensus::config, time, console)", /edgecensus::(config|time|console)/],
  ["our other code (edgecensus::*)", /edgecensus/],
  ["drop glue and other generic std code", /drop_in_place|core::ptr|core(\[[0-9a-f]+\])?::|alloc(\[[0-9a-f]+\])?::|std(\[[0-9a-f]+\])?::|<alloc::|<core::|<std::/],
  ["data segments (string constants, tables)", /^"?data segment/],
  ["module structure (types, imports, exports, table, element, globals)", /^"?(type|import|export|table|elem|global|memory|start|code section|data section|section headers|wasm magic|table\[|elem\[|global\[|memory\[)/i],
];

const TOP = Number(process.env.TOP ?? 4);

export function groupRows(csv) {
  const rows = csv
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => {
      const m = line.match(/^(".*"|[^,]*),(\d+),/);
      if (!m) return null;
      const name = m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1];
      return { name, bytes: Number(m[2]) };
    })
    .filter(Boolean)
    .filter((r) => !/^Σ|^\.\.\. and \d+ more/.test(r.name));
  const totals = new Map(GROUPS.map(([g]) => [g, { bytes: 0, items: 0, top: [] }]));
  totals.set("other", { bytes: 0, items: 0, top: [] });
  for (const r of rows) {
    const group = GROUPS.find(([, re]) => re.test(r.name))?.[0] ?? "other";
    const t = totals.get(group);
    t.bytes += r.bytes;
    t.items += 1;
    if (t.top.length < TOP) t.top.push(r);
  }
  return totals;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [csvPath, label = csvPath] = process.argv.slice(2);
  const totals = groupRows(readFileSync(csvPath, "utf8"));
  const shipped = [...totals].filter(([g]) => !g.startsWith("(name")).reduce((a, [, t]) => a + t.bytes, 0);
  console.log(`${label}: ${shipped} bytes without the name section`);
  console.log("   bytes  share  items  group (largest items)");
  for (const [group, t] of [...totals].sort((a, b) => b[1].bytes - a[1].bytes)) {
    if (t.bytes === 0 || group.startsWith("(name")) continue;
    const share = ((100 * t.bytes) / shipped).toFixed(1).padStart(5);
    console.log(`${String(t.bytes).padStart(8)} ${share}% ${String(t.items).padStart(6)}  ${group}`);
    for (const r of t.top) console.log(`${"".padStart(24)}${String(r.bytes).padStart(6)}  ${r.name.slice(0, 110)}`);
  }
}
