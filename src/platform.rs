//! What the core needs from its host, as small traits: clock, entropy, transport, timer, console.
//!
//! The wasm platform layer implements them over `performance.now()`, `crypto.getRandomValues`,
//! `fetch`, `setTimeout` and `console.log`; native tests implement them with a scripted host.

use crate::telemetry::FlushResult;

/// Wall-clock time, as nanoseconds since the Unix epoch.
pub trait Clock {
    fn now_unix_nanos(&self) -> u64;
}

/// Entropy used once, lazily, to seed the id generator.
pub trait Entropy {
    /// Fills `seed` with random bytes; returns false when the host has no entropy to give
    /// (the caller then falls back to a seed derived from the clock).
    fn fill(&self, seed: &mut [u8; 32]) -> bool;
}

/// One HTTP POST for an exporter to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportRequest {
    /// Identifies the request when its answer comes back through `Telemetry::on_response`.
    pub id: u64,
    pub url: String,
    pub content_type: &'static str,
    /// Extra request headers (an OTLP backend's API key, say).
    pub headers: Vec<(String, String)>,
    /// Compress the body with gzip where the platform can (`CompressionStream`).
    pub gzip: bool,
    pub body: String,
    /// Sent while the page unloads: the platform uses `fetch(..., {keepalive: true})`
    /// (or `sendBeacon`), and the body is small enough for that.
    pub keepalive: bool,
}

/// The response headers the exporters act on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseHeaders {
    pub retry_after: Option<String>,
    pub location: Option<String>,
    /// Where the request ended up when the platform followed redirects itself (`fetch` does):
    /// the exporter then keeps posting there.
    pub redirected_to: Option<String>,
}

/// How a request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportResponse {
    Http {
        status: u16,
        body: String,
        headers: ResponseHeaders,
    },
    /// No HTTP answer: network failure, CORS refusal, abort.
    NetworkError(String),
}

/// Everything the core asks of its host.
pub trait Host: Clock + Entropy {
    /// Starts sending `request`; the answer is handed back later to `Telemetry::on_response`.
    fn send(&mut self, request: ExportRequest);
    /// Asks for one call to `Telemetry::on_timer` after `delay_ms` (replacing an earlier request); an error says why no
    /// timer could be set (exports then wait for a full batch or a flush).
    /// `keep_alive`: the timer is awaited (a flush waits on it), so the host must not exit
    /// before it fires; otherwise (periodic exports) it should not keep a process alive.
    fn arm_timer(&mut self, delay_ms: u32, keep_alive: bool) -> Result<(), String>;
    /// Cancels the timer set by `arm_timer`, if any.
    fn cancel_timer(&mut self);
    /// Writes a line for the console exporter.
    fn print(&mut self, line: &str);
    /// A flush started with ticket `ticket` has completed.
    fn flush_done(&mut self, ticket: u64, result: FlushResult);
}
