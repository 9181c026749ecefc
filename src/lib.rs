//! edgecensus: traces, stats and logs for browsers and edge workers.
//!
//! The crate is split in two:
//! - a no-threads **core** (everything but `wasm`) that reaches its host only through the
//!   traits in [`platform`], so it builds and is tested natively with `cargo test`;
//! - a thin **platform layer** (`wasm`, wasm32 only): clock, entropy, `fetch`, timers and
//!   the `#[wasm_bindgen]` API that the npm package wraps.

pub mod azure;
pub mod config;
pub mod console;
pub mod diagnostics;
pub mod export;
pub mod ids;
pub mod json;
pub mod log;
pub mod otlp;
pub mod platform;
pub mod stats;
pub mod tape;
pub mod telemetry;
pub mod text;
pub mod time;
pub mod trace;
pub mod trace_context;

/// The JS binding layer (wasm32 only). Its types are what `js/core.js` wraps; use the npm
/// package's API rather than these directly.
#[cfg(target_arch = "wasm32")]
pub mod wasm;
