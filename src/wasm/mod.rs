//! The platform layer for wasm32: the host services (clock, entropy, fetch, timers, console),
//! the memory allocator, and the `#[wasm_bindgen]` API that `js/core.js` wraps into the public package API.

mod alloc;
mod api;
pub use api::RawClient;
mod host;
mod js;
