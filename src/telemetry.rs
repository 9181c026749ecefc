//! The core client: starts spans, exports the finished ones and accounts for every item.
//!
//! It owns the tracer, the exporters' buffers and the diagnostics, and reaches the outside
//! world only through its [`Host`]: requests go out with `Host::send` and their answers come
//! back through [`Telemetry::on_response`]; timed exports through `Host::arm_timer` and
//! [`Telemetry::on_timer`]. It has no threads and no clock of its own, so it runs natively
//! in tests exactly as it runs in wasm.

use crate::azure::connection_string::ConnectionString;
use crate::azure::envelope::{EnvelopeContext, EnvelopeEncoder};
use crate::azure::track_response;
use crate::diagnostics::{Diagnostics, DropReason};
use crate::export::batcher::BatchLimits;
use crate::export::exporter::{Exporter, Framing, KEEPALIVE_MAX_BYTES};
use crate::log::{ExceptionRecord, LogRecord};
use crate::otlp::{self, OtlpEncoder, Signal};
use crate::platform::{ExportResponse, Host};
use crate::stats::{Stats, StatsLimits};
use crate::trace::Attributes;
use crate::trace::{Sampler, SpanContext, SpanData, SpanKind, SpanLimits, StartedSpan, Tracer};

/// `ai.internal.sdkVersion`.
pub const SDK_VERSION: &str = concat!("ec-wasm:", env!("CARGO_PKG_VERSION"));

/// A validated client configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub sampler: Sampler,
    pub limits: SpanLimits,
    pub batch: BatchLimits,
    /// Milliseconds between timed span exports; 0 exports only when a batch fills or on flush.
    pub export_interval_ms: u32,
    /// Milliseconds between metric exports; 0 exports metrics only on flush.
    pub metrics_interval_ms: u32,
    pub stats_limits: StatsLimits,
    pub console: bool,
    pub azure: Option<ConnectionString>,
    pub otlp: Option<OtlpConfig>,
    pub service_name: String,
    pub service_instance: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sampler: Sampler::AlwaysOn,
            limits: SpanLimits::default(),
            batch: BatchLimits::default(),
            export_interval_ms: 5_000,
            metrics_interval_ms: 15_000,
            stats_limits: StatsLimits::default(),
            console: false,
            azure: None,
            otlp: None,
            service_name: "edgecensus".into(),
            service_instance: None,
        }
    }
}

/// Where and how to send OTLP/HTTP (JSON).
#[derive(Clone, Debug, Default)]
pub struct OtlpConfig {
    /// The base URL; the signal paths (`/v1/traces`, ...) are added to it.
    pub endpoint: String,
    pub headers: Vec<(String, String)>,
    pub gzip: bool,
    /// The resource: service.name, service.version, telemetry.sdk.*, the user's attributes.
    pub resource: Attributes,
}

/// What one flush saw answered, and what it left unfinished at its deadline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlushResult {
    pub sent: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Items queued before the flush and still not delivered when its deadline passed
    /// (they stay queued, and are retried).
    pub pending: u64,
}

/// The Azure Monitor exporter: its encoder, and the index of its delivery.
struct AzureSink {
    encoder: EnvelopeEncoder,
    delivery: usize,
}

/// The OTLP exporters: one encoder, one delivery per signal (each with its own buffer, so a
/// slow backend for one signal, or for Azure, never stalls or drops another's items).
struct OtlpSink {
    encoder: OtlpEncoder,
    traces: usize,
    metrics: usize,
    logs: usize,
}

/// When the next timed exports are due (Unix nanoseconds), and what the host timer is set for.
/// One host timer serves all: it is set for the earliest deadline.
#[derive(Default)]
struct Deadlines {
    spans: Option<u64>,
    metrics: Option<u64>,
    armed_for: Option<u64>,
}

/// A timer may fire this early (by the platform clock) and still count as on time.
const TIMER_SLACK_NANOS: u64 = 2_000_000;

struct PendingFlush {
    ticket: u64,
    /// Per exporter: the flush completes once every item numbered below this is finished.
    before_seq: Vec<u64>,
    deadline: Option<u64>,
    at_start: FlushResult,
}

pub struct Telemetry<H: Host> {
    pub host: H,
    tracer: Tracer,
    diag: Diagnostics,
    console: bool,
    exporters: Vec<Exporter>,
    azure: Option<AzureSink>,
    otlp: Option<OtlpSink>,
    export_interval_ms: u32,
    metrics_interval_ms: u32,
    timers: Deadlines,
    pub stats: Stats,
    next_request_id: u64,
    flushes: Vec<PendingFlush>,
    next_ticket: u64,
    shut_down: bool,
}

impl<H: Host> Telemetry<H> {
    pub fn new(config: Config, host: H) -> Telemetry<H> {
        let mut exporters = Vec::new();
        let azure = config.azure.as_ref().map(|cs| {
            exporters.push(Exporter::new(
                cs.track_url(),
                Framing {
                    content_type: "application/json",
                    // The track endpoint reads the body whatever its type; text/plain spares the
                    // CORS preflight that an unloading page cannot wait for.
                    keepalive_content_type: Some("text/plain;charset=UTF-8"),
                    prefix: "[".into(),
                    suffix: "]".into(),
                    ..Framing::default()
                },
                config.batch,
                track_response::verdict,
            ));
            AzureSink {
                encoder: EnvelopeEncoder::new(&EnvelopeContext {
                    instrumentation_key: &cs.instrumentation_key,
                    role: &config.service_name,
                    role_instance: config.service_instance.as_deref(),
                    sdk_version: SDK_VERSION,
                }),
                delivery: exporters.len() - 1,
            }
        });
        let otlp = config.otlp.as_ref().map(|o| {
            let encoder = OtlpEncoder::new(&o.resource);
            let mut add = |signal: Signal| {
                let (prefix, suffix) = encoder.framing(signal);
                let framing = Framing {
                    content_type: "application/json",
                    keepalive_content_type: None,
                    headers: o.headers.clone(),
                    prefix,
                    suffix,
                    gzip: o.gzip,
                };
                let url = format!("{}{}", o.endpoint.trim_end_matches('/'), signal.path());
                exporters.push(Exporter::new(url, framing, config.batch, otlp::response::verdict));
                exporters.len() - 1
            };
            let (traces, metrics, logs) = (add(Signal::Traces), add(Signal::Metrics), add(Signal::Logs));
            OtlpSink { encoder, traces, metrics, logs }
        });
        Telemetry {
            host,
            tracer: Tracer::new(config.sampler, config.limits),
            diag: Diagnostics::default(),
            console: config.console,
            exporters,
            azure,
            otlp,
            export_interval_ms: config.export_interval_ms,
            metrics_interval_ms: config.metrics_interval_ms,
            timers: Deadlines::default(),
            stats: Stats::new(config.stats_limits),
            next_request_id: 1,
            flushes: Vec::new(),
            next_ticket: 1,
            shut_down: false,
        }
    }

    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diag
    }
    pub fn diagnostics_mut(&mut self) -> &mut Diagnostics {
        &mut self.diag
    }
    /// Stats and counters together, for recording.
    pub fn stats_and_diagnostics(&mut self) -> (&mut Stats, &mut Diagnostics) {
        (&mut self.stats, &mut self.diag)
    }
    /// Limits and counters together, for code that edits a span.
    pub fn limits_and_diagnostics(&mut self) -> (&SpanLimits, &mut Diagnostics) {
        (&self.tracer.limits, &mut self.diag)
    }
    pub fn now(&self) -> u64 {
        self.host.now_unix_nanos()
    }
    /// Items waiting in the exporters' buffers now (not yet sent).
    pub fn items_pending(&self) -> u64 {
        self.exporters.iter().map(|e| e.pending() as u64).sum()
    }
    /// The URL the Azure exporter posts to now (it moves with 307/308 redirects).
    pub fn azure_url(&self) -> Option<&str> {
        self.azure.as_ref().and_then(|a| self.exporters.get(a.delivery)).map(Exporter::url)
    }

    /// Fresh ids for spans started by the JS API (see [`Tracer::draw_ids`]).
    pub fn draw_ids(&mut self, count: usize) -> Vec<u32> {
        let now = self.host.now_unix_nanos();
        self.tracer.draw_ids(count, &self.host, now)
    }

    /// The sampler (see [`Sampler::as_words`]) and the attribute, event and link count limits,
    /// for spans started by the JS API.
    pub fn span_settings(&self) -> [u32; 6] {
        let [mode, high, low] = self.tracer.sampler.as_words();
        let limits = &self.tracer.limits;
        let count = |n: usize| n.min(u32::MAX as usize) as u32;
        [mode, high, low, count(limits.attribute_count), count(limits.event_count), count(limits.link_count)]
    }

    /// Starts a span at `start` (default: now) under `parent` (default: a new trace).
    pub fn start_span(
        &mut self,
        name: String,
        kind: SpanKind,
        parent: Option<&SpanContext>,
        start_unix_nanos: Option<u64>,
    ) -> StartedSpan {
        let start = start_unix_nanos.unwrap_or_else(|| self.host.now_unix_nanos());
        self.tracer.start_span(name, kind, parent, start, &self.host, &mut self.diag)
    }

    /// Takes a finished span: prints it, encodes it (and its events) for each exporter, queues it.
    pub fn end_span(&mut self, span: SpanData) {
        self.diag.spans_ended += 1;
        if self.console {
            self.host.print(&crate::console::format_span(&span));
        }
        if let Some(azure) = self.azure.as_ref() {
            let mut items = Vec::with_capacity(1 + span.events.len());
            let cuts = azure.encoder.encode_span(&span, &mut |item| items.push(item));
            self.diag.values_truncated += u64::from(cuts);
            let delivery = azure.delivery;
            for item in items {
                self.enqueue(delivery, item);
            }
        }
        if let Some(otlp) = self.otlp.as_ref() {
            let item = otlp.encoder.encode_span(&span);
            let delivery = otlp.traces;
            self.enqueue(delivery, item);
        }
        self.after_enqueue();
    }

    /// Takes a log record: prints it (console exporter), encodes it for each exporter, queues it.
    pub fn log(&mut self, record: LogRecord) {
        self.diag.logs_recorded += 1;
        if self.console {
            self.host.print(&crate::console::format_log(&record));
        }
        self.queue_record(|azure| azure.encode_log(&record), |otlp| otlp.encode_log(&record));
    }

    /// Takes an exception record: prints it (console exporter), encodes it for each exporter.
    pub fn exception(&mut self, record: ExceptionRecord) {
        self.diag.exceptions_recorded += 1;
        if self.console {
            self.host.print(&crate::console::format_exception(&record));
        }
        self.queue_record(|azure| azure.encode_exception(&record), |otlp| otlp.encode_exception(&record));
    }

    /// Encodes one log-signal record for Azure and for OTLP (its logs exporter) and queues it.
    fn queue_record(
        &mut self,
        azure: impl FnOnce(&EnvelopeEncoder) -> (String, u32),
        otlp: impl FnOnce(&OtlpEncoder) -> String,
    ) {
        if let Some(sink) = self.azure.as_ref() {
            let (item, cuts) = azure(&sink.encoder);
            self.diag.values_truncated += u64::from(cuts);
            let delivery = sink.delivery;
            self.enqueue(delivery, item);
        }
        if let Some(sink) = self.otlp.as_ref() {
            let item = otlp(&sink.encoder);
            let delivery = sink.logs;
            self.enqueue(delivery, item);
        }
        self.after_enqueue();
    }

    /// Queues one encoded item on exporter `delivery` (or counts why it cannot be).
    fn enqueue(&mut self, delivery: usize, item: String) {
        let Some(exporter) = self.exporters.get_mut(delivery) else { return };
        if self.shut_down {
            self.diag.drop_items(DropReason::Shutdown, 1);
            return;
        }
        match exporter.push(item) {
            Ok(()) => self.diag.items_queued += 1,
            Err(reason) => self.diag.drop_items(reason, 1),
        }
    }

    /// Sends full batches at once; otherwise makes sure a timed export is due.
    fn after_enqueue(&mut self) {
        if self.exporters.iter().any(Exporter::batch_ready) {
            self.send(false);
        }
        if self.items_pending() > 0 && self.timers.spans.is_none() && self.export_interval_ms > 0 && !self.shut_down {
            self.timers.spans = Some(self.host.now_unix_nanos() + ms_to_nanos(self.export_interval_ms));
        }
        self.set_timer();
    }

    /// Hands the requests that may go now to the host: full batches, or with `all` everything.
    fn send(&mut self, all: bool) {
        let now = self.host.now_unix_nanos();
        let mut requests = Vec::new();
        for exporter in &mut self.exporters {
            requests.extend(exporter.take_requests(all, now, &mut self.next_request_id, &mut self.diag));
        }
        if self.items_pending() == 0 {
            self.timers.spans = None;
        }
        for request in requests {
            self.host.send(request);
        }
    }

    /// The page is going away. What is queued leaves now in keepalive requests, within the
    /// browser's keepalive budget (64 KiB for all keepalive bodies in flight, counting earlier
    /// unload requests still out). What does not fit, and with `persist` everything of an
    /// exporter that is backing off (probably offline), is returned for browser storage as
    /// (exporter index, item) pairs. Without `persist`, at the `last` chance (pagehide) what
    /// is left is counted as dropped (`unload`); otherwise (the page was only hidden) it stays
    /// queued.
    pub fn unload(&mut self, persist: bool, last: bool) -> Vec<(usize, String)> {
        let now = self.host.now_unix_nanos();
        let in_flight: usize = self.exporters.iter().map(Exporter::keepalive_in_flight).sum();
        let mut budget = KEEPALIVE_MAX_BYTES.saturating_sub(in_flight);
        let mut kept = Vec::new();
        let mut requests = Vec::new();
        for (index, exporter) in self.exporters.iter_mut().enumerate() {
            let backing_off = exporter.paused_until().is_some_and(|until| now < until);
            if !(persist && backing_off) {
                requests.extend(exporter.take_for_unload(&mut budget, &mut self.next_request_id, &mut self.diag));
            }
            if exporter.pending() > 0 && (persist || last) {
                let left = exporter.drain();
                if persist {
                    kept.extend(left.into_iter().map(|item| (index, item)));
                } else {
                    self.diag.drop_items(DropReason::Unload, left.len() as u64);
                }
            }
        }
        self.diag.items_persisted += kept.len() as u64;
        for request in requests {
            self.host.send(request);
        }
        kept
    }

    /// Queues items read back from browser storage on the exporter they came from.
    pub fn restore(&mut self, items: Vec<(usize, String)>) {
        self.diag.items_restored += items.len() as u64;
        for (delivery, item) in items {
            if delivery < self.exporters.len() {
                self.enqueue(delivery, item);
            } else {
                self.diag.invalid_inputs += 1;
            }
        }
        self.after_enqueue();
    }

    /// Counts items found in storage but too old to send.
    pub fn expire(&mut self, count: u64) {
        self.diag.drop_items(DropReason::Expired, count);
    }

    /// The network is back (the browser's `online` event): stop waiting and send.
    pub fn resume(&mut self) {
        for exporter in &mut self.exporters {
            exporter.resume();
        }
        self.send(true);
        self.set_timer();
    }

    /// Sets the host timer for the earliest deadline, unless it is already set for it or earlier.
    fn set_timer(&mut self) {
        // A pause matters only while something waits to be sent.
        let retry = self.exporters.iter().filter(|e| e.pending() > 0).filter_map(Exporter::paused_until).min();
        let flush_deadline = self.flushes.iter().filter_map(|f| f.deadline).min();
        let Some(next) = [self.timers.spans, self.timers.metrics, retry, flush_deadline].into_iter().flatten().min()
        else {
            return;
        };
        if self.timers.armed_for.is_some_and(|armed| armed <= next) && self.flushes.is_empty() {
            return;
        }
        let now = self.host.now_unix_nanos();
        let delay_ms = (next.saturating_sub(now).div_ceil(1_000_000)).min(u64::from(u32::MAX)) as u32;
        match self.host.arm_timer(delay_ms, !self.flushes.is_empty()) {
            Ok(()) => self.timers.armed_for = Some(next),
            Err(message) => self.diag.error(message),
        }
    }

    /// The host timer fired: runs what is due and sets the timer for what comes next.
    pub fn on_timer(&mut self) {
        self.timers.armed_for = None;
        let now = self.host.now_unix_nanos() + TIMER_SLACK_NANOS;
        if self.timers.spans.is_some_and(|due| due <= now) {
            self.timers.spans = None;
            self.send(true);
        }
        if self.timers.metrics.is_some_and(|due| due <= now) {
            self.timers.metrics = Some(self.host.now_unix_nanos() + ms_to_nanos(self.metrics_interval_ms));
            self.export_metrics();
        }
        // After a pause, what waits is sent again (retries, and whatever a flush waits for).
        let retry_due = self.exporters.iter().filter_map(Exporter::paused_until).any(|until| until <= now);
        if retry_due || !self.flushes.is_empty() {
            self.send(true);
        }
        self.complete_flushes();
        self.set_timer();
    }

    /// Registers a view (see [`Stats::register_view`]) and, with the first one, starts the
    /// metrics timer. Nothing starts before this call: no timer runs at import time.
    pub fn register_view(&mut self, view: crate::stats::view::View) -> Result<(), crate::stats::view::DefinitionError> {
        let now = self.host.now_unix_nanos();
        self.stats.register_view(view, now)?;
        let exporting = self.azure.is_some() || self.otlp.is_some();
        if exporting && self.metrics_interval_ms > 0 && self.timers.metrics.is_none() && !self.shut_down {
            self.timers.metrics = Some(now + ms_to_nanos(self.metrics_interval_ms));
            self.set_timer();
        }
        Ok(())
    }

    /// Queues every series of every view (cumulative points) for each exporter and sends them.
    fn export_metrics(&mut self) {
        if self.stats.series_count() == 0 {
            return;
        }
        let now = self.host.now_unix_nanos();
        let mut items: Vec<(usize, String)> = Vec::new();
        if let Some(azure) = self.azure.as_ref() {
            let mut cuts = 0;
            for view in self.stats.views() {
                cuts += azure.encoder.encode_view(view, now, &mut |item| items.push((azure.delivery, item)));
            }
            self.diag.values_truncated += u64::from(cuts);
        }
        if let Some(otlp) = self.otlp.as_ref() {
            otlp.encoder.encode_metrics(&self.stats, now, &mut |item| items.push((otlp.metrics, item)));
        }
        for (delivery, item) in items {
            self.enqueue(delivery, item);
        }
        self.send(true);
    }

    /// Sends everything queued; `Host::flush_done(ticket, …)` follows once every item queued
    /// before this call is delivered or dropped — or, with a timeout, when it passes (the
    /// result then counts what is still pending).
    pub fn flush(&mut self, timeout_ms: Option<u32>) -> u64 {
        if !self.shut_down {
            self.export_metrics();
        }
        self.send(true);
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let now = self.host.now_unix_nanos();
        self.flushes.push(PendingFlush {
            ticket,
            before_seq: self.exporters.iter().map(Exporter::next_seq).collect(),
            deadline: timeout_ms.map(|ms| now + ms_to_nanos(ms)),
            at_start: self.totals(),
        });
        self.complete_flushes();
        self.set_timer();
        ticket
    }

    /// Flushes and refuses everything after; items ended later count as `shutdown` drops.
    /// Timed exports stop; retries of what was queued go on until the flush settles.
    pub fn shutdown(&mut self, timeout_ms: Option<u32>) -> u64 {
        let ticket = self.flush(timeout_ms);
        self.shut_down = true;
        self.timers.spans = None;
        self.timers.metrics = None;
        self.host.cancel_timer();
        self.timers.armed_for = None;
        self.set_timer(); // only retries and the flush deadline remain
        ticket
    }

    /// The answer to request `id`.
    pub fn on_response(&mut self, id: u64, response: ExportResponse) {
        let now = self.host.now_unix_nanos();
        let mut requeued = false;
        for exporter in &mut self.exporters {
            requeued |= exporter.on_response(id, &response, now, &mut self.diag);
        }
        // Retried items, split halves and redirected batches go out as soon as they may (a pause
        // holds them back). Nothing else is sent from here: in a worker this runs in the context
        // of whichever request made the answered fetch, and a fetch started there would be
        // cancelled when that request's waitUntil ends; each flush sends its own items.
        if requeued {
            self.send(!self.flushes.is_empty());
        }
        self.complete_flushes();
        self.set_timer();
    }

    fn totals(&self) -> FlushResult {
        let d = &self.diag;
        FlushResult {
            sent: d.items_accepted
                + d.items_rejected
                + d.dropped(DropReason::HttpStatus)
                + d.dropped(DropReason::Quota),
            accepted: d.items_accepted,
            rejected: d.items_rejected,
            pending: 0,
        }
    }

    fn complete_flushes(&mut self) {
        let now = self.host.now_unix_nanos();
        let totals = self.totals();
        let mut i = 0;
        while i < self.flushes.len() {
            let flush = &self.flushes[i];
            let unfinished: u64 =
                self.exporters.iter().zip(&flush.before_seq).map(|(e, &seq)| e.unfinished_before(seq)).sum();
            let expired = flush.deadline.is_some_and(|d| d <= now + TIMER_SLACK_NANOS);
            if unfinished == 0 || expired {
                let done = self.flushes.swap_remove(i);
                let result = FlushResult {
                    sent: totals.sent - done.at_start.sent,
                    accepted: totals.accepted - done.at_start.accepted,
                    rejected: totals.rejected - done.at_start.rejected,
                    pending: unfinished,
                };
                self.host.flush_done(done.ticket, result);
            } else {
                i += 1;
            }
        }
    }
}

fn ms_to_nanos(ms: u32) -> u64 {
    u64::from(ms) * 1_000_000
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::platform::{Clock, Entropy, ExportRequest, ResponseHeaders};

    /// A scripted host: records what the core asks for; the test answers.
    #[derive(Default)]
    pub struct TestHost {
        pub now: u64,
        pub sent: Vec<ExportRequest>,
        pub timers: Vec<u32>,
        pub printed: Vec<String>,
        pub flushed: Vec<(u64, FlushResult)>,
    }
    impl Clock for TestHost {
        fn now_unix_nanos(&self) -> u64 {
            self.now
        }
    }
    impl Entropy for TestHost {
        fn fill(&self, seed: &mut [u8; 32]) -> bool {
            seed.fill(42);
            true
        }
    }
    impl Host for TestHost {
        fn send(&mut self, request: ExportRequest) {
            self.sent.push(request);
        }
        fn arm_timer(&mut self, delay_ms: u32, _keep_alive: bool) -> Result<(), String> {
            self.timers.push(delay_ms);
            Ok(())
        }
        fn cancel_timer(&mut self) {
            self.timers.push(0);
        }
        fn print(&mut self, line: &str) {
            self.printed.push(line.to_owned());
        }
        fn flush_done(&mut self, ticket: u64, result: FlushResult) {
            self.flushed.push((ticket, result));
        }
    }

    fn config(batch_items: usize, queue: usize) -> Config {
        Config {
            azure: Some(ConnectionString::parse("InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:9").unwrap()),
            batch: BatchLimits {
                max_queue_items: queue,
                max_queue_bytes: 1 << 24,
                max_batch_items: batch_items,
                max_batch_bytes: 1 << 20,
            },
            ..Config::default()
        }
    }

    fn end_one(t: &mut Telemetry<TestHost>, name: &str) -> SpanContext {
        let started = t.start_span(name.into(), SpanKind::Internal, None, None);
        t.host.now += 1_000_000;
        let mut data = started.data.unwrap();
        data.end_unix_nanos = t.now();
        t.end_span(data);
        started.context
    }

    fn ok(items: u64) -> ExportResponse {
        ExportResponse::Http {
            status: 200,
            body: format!("{{\"itemsReceived\":{items},\"itemsAccepted\":{items},\"errors\":[]}}"),
            headers: ResponseHeaders::default(),
        }
    }

    #[test]
    fn a_full_batch_is_sent_at_once_and_a_partial_one_on_the_timer() {
        let mut t = Telemetry::new(config(2, 100), TestHost::default());
        end_one(&mut t, "a");
        assert!(t.host.sent.is_empty());
        assert_eq!(t.host.timers, vec![5_000]);
        end_one(&mut t, "b");
        assert_eq!(t.host.sent.len(), 1);
        assert_eq!(t.host.sent[0].url, "http://127.0.0.1:9/v2.1/track");
        end_one(&mut t, "c");
        assert_eq!(t.host.timers.len(), 1, "the armed timer is reused");
        assert_eq!(t.items_pending(), 1);
        t.host.now += 5_000_000_000;
        t.on_timer();
        assert_eq!(t.items_pending(), 0);
        assert_eq!(t.host.sent.len(), 2);
        let body = crate::json::parse(&t.host.sent[1].body).unwrap();
        assert_eq!(body.as_array().unwrap().len(), 1);
        assert_eq!(t.diagnostics().items_sent, 3);
    }

    #[test]
    fn flush_settles_when_every_earlier_request_is_answered() {
        let mut t = Telemetry::new(config(10, 100), TestHost::default());
        end_one(&mut t, "a");
        end_one(&mut t, "b");
        let ticket = t.flush(None);
        assert_eq!(t.host.sent.len(), 1);
        assert!(t.host.flushed.is_empty());
        let id = t.host.sent[0].id;
        t.on_response(id, ok(2));
        assert_eq!(t.host.flushed, vec![(ticket, FlushResult { sent: 2, accepted: 2, rejected: 0, pending: 0 })]);
        // Nothing queued: a flush completes at once.
        let second = t.flush(None);
        assert_eq!(t.host.flushed.last(), Some(&(second, FlushResult::default())));
    }

    fn http(status: u16, body: &str) -> ExportResponse {
        ExportResponse::Http { status, body: body.into(), headers: ResponseHeaders::default() }
    }

    /// The names of the spans in a request body, in order.
    fn names(request: &ExportRequest) -> Vec<String> {
        let body = crate::json::parse(&request.body).unwrap();
        body.as_array()
            .unwrap()
            .iter()
            .map(|e| e.get("data").unwrap().get("baseData").unwrap().get("name").unwrap().as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn every_item_is_accounted_for_and_retried_items_arrive_once() {
        let mut t = Telemetry::new(config(2, 10), TestHost::default());
        for i in 0..5 {
            end_one(&mut t, &format!("s{i}"));
        }
        let ticket = t.flush(None);
        let ids: Vec<u64> = t.host.sent.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), 3);
        t.on_response(ids[0], ok(2));
        t.on_response(
            ids[1],
            http(
                206,
                r#"{"itemsReceived":2,"itemsAccepted":1,"errors":[{"index":1,"statusCode":400,"message":"bad"}]}"#,
            ),
        );
        t.on_response(ids[2], ExportResponse::NetworkError("connection refused".into()));
        assert_eq!(t.host.sent.len(), 3, "nothing is resent before the backoff ends");
        assert!(t.host.flushed.is_empty(), "the flush waits for the retried item");
        let backoff = *t.host.timers.last().unwrap();
        assert!((500..=1_000).contains(&backoff), "first backoff about 1 s, got {backoff} ms");
        t.host.now += u64::from(backoff) * 1_000_000;
        t.on_timer();
        assert_eq!(t.host.sent.len(), 4);
        assert_eq!(names(&t.host.sent[3]), vec!["s4"], "the failed batch is sent again, alone");
        t.on_response(t.host.sent[3].id, ok(1));
        let d = t.diagnostics();
        assert_eq!((d.items_queued, d.items_accepted, d.items_rejected, d.items_retried), (5, 4, 1, 1));
        assert_eq!(d.dropped(DropReason::Rejected), 1);
        assert_eq!(d.items_accepted + d.dropped_total(), 5);
        assert_eq!(t.host.flushed, vec![(ticket, FlushResult { sent: 5, accepted: 4, rejected: 1, pending: 0 })]);
    }

    #[test]
    fn partial_success_resends_only_the_retriable_items() {
        let mut t = Telemetry::new(config(10, 10), TestHost::default());
        for i in 0..3 {
            end_one(&mut t, &format!("s{i}"));
        }
        t.flush(None);
        let body = r#"{"itemsReceived":3,"itemsAccepted":1,"errors":[{"index":0,"statusCode":429,"message":"slow"},{"index":2,"statusCode":500,"message":"oops"}]}"#;
        t.on_response(t.host.sent[0].id, http(206, body));
        assert_eq!(t.host.sent.len(), 2, "retriable items go again at once while a flush waits");
        assert_eq!(names(&t.host.sent[1]), vec!["s0", "s2"]);
        t.on_response(t.host.sent[1].id, ok(2));
        assert_eq!(t.diagnostics().items_accepted, 3);
        assert_eq!(t.host.flushed.len(), 1);
    }

    #[test]
    fn retry_after_is_honoured() {
        let mut t = Telemetry::new(config(10, 10), TestHost::default());
        end_one(&mut t, "a");
        t.flush(None);
        let headers = ResponseHeaders { retry_after: Some("7".into()), ..Default::default() };
        t.on_response(t.host.sent[0].id, ExportResponse::Http { status: 429, body: String::new(), headers });
        t.host.now += 5_000_000_000; // the earlier span-export timer fires first
        t.on_timer();
        assert_eq!(t.host.sent.len(), 1, "not before Retry-After");
        assert_eq!(t.host.timers.last(), Some(&2_000), "the timer is set for the rest of the 7 s");
        t.host.now += 2_000_000_000;
        t.on_timer();
        assert_eq!(t.host.sent.len(), 2);
    }

    #[test]
    fn redirects_move_to_the_new_host_and_resend_at_once() {
        let mut t = Telemetry::new(config(10, 10), TestHost::default());
        end_one(&mut t, "a");
        t.flush(None);
        let headers = ResponseHeaders { location: Some("http://127.0.0.1:10/v2.1/track".into()), ..Default::default() };
        t.on_response(t.host.sent[0].id, ExportResponse::Http { status: 307, body: String::new(), headers });
        assert_eq!(t.host.sent.len(), 2);
        assert_eq!(t.host.sent[1].url, "http://127.0.0.1:10/v2.1/track");
        t.on_response(t.host.sent[1].id, ok(1));
        end_one(&mut t, "b");
        t.flush(None);
        assert_eq!(t.host.sent[2].url, "http://127.0.0.1:10/v2.1/track", "the new host is kept");
    }

    #[test]
    fn a_redirect_followed_by_fetch_moves_the_exporter_too() {
        let mut t = Telemetry::new(config(10, 10), TestHost::default());
        end_one(&mut t, "a");
        t.flush(None);
        let headers =
            ResponseHeaders { redirected_to: Some("http://127.0.0.1:11/v2.1/track".into()), ..Default::default() };
        t.on_response(t.host.sent[0].id, ExportResponse::Http { status: 200, body: String::new(), headers });
        assert_eq!(t.azure_url(), Some("http://127.0.0.1:11/v2.1/track"));
        assert_eq!(t.diagnostics().items_accepted, 1);
    }

    #[test]
    fn quota_answers_drop_without_retrying() {
        let mut t = Telemetry::new(config(10, 10), TestHost::default());
        end_one(&mut t, "a");
        t.flush(None);
        t.on_response(t.host.sent[0].id, http(439, ""));
        assert_eq!(t.diagnostics().dropped(DropReason::Quota), 1);
        assert_eq!(t.host.sent.len(), 1);
        assert_eq!(t.host.flushed.len(), 1);
    }

    #[test]
    fn too_large_batches_are_split_in_halves() {
        let mut t = Telemetry::new(config(10, 10), TestHost::default());
        for i in 0..4 {
            end_one(&mut t, &format!("s{i}"));
        }
        t.flush(None);
        t.on_response(t.host.sent[0].id, http(413, ""));
        assert_eq!(t.host.sent.len(), 3);
        assert_eq!(names(&t.host.sent[1]), vec!["s0", "s1"]);
        assert_eq!(names(&t.host.sent[2]), vec!["s2", "s3"]);
        t.on_response(t.host.sent[1].id, ok(2));
        t.on_response(t.host.sent[2].id, ok(2));
        assert_eq!(t.diagnostics().items_accepted, 4);
    }

    #[test]
    fn a_flush_with_a_deadline_settles_and_counts_what_is_pending() {
        let mut t = Telemetry::new(config(10, 10), TestHost::default());
        end_one(&mut t, "a");
        let ticket = t.flush(Some(2_000));
        t.on_response(t.host.sent[0].id, ExportResponse::NetworkError("down".into()));
        assert!(t.host.flushed.is_empty());
        t.host.now += 2_000_000_000;
        t.on_timer();
        assert_eq!(t.host.flushed, vec![(ticket, FlushResult { sent: 0, accepted: 0, rejected: 0, pending: 1 })]);
        assert_eq!(t.host.sent.len(), 2, "the item is still retried after the deadline");
    }

    #[test]
    fn unload_sends_keepalive_chunks_and_persistence_round_trips() {
        let mut t = Telemetry::new(config(512, 2048), TestHost::default());
        let attribute = "x".repeat(1_000);
        for i in 0..200 {
            let started = t.start_span(format!("s{i}"), SpanKind::Internal, None, None);
            let mut data = started.data.unwrap();
            data.attributes.set(
                "blob",
                crate::trace::AttributeValue::Str(attribute.clone()),
                &SpanLimits::default(),
                &mut t.diag,
            );
            t.end_span(data);
        }
        // About 200 KB queued: only what fits in the 64 KiB keepalive budget is sent.
        let kept = t.unload(false, false);
        assert!(kept.is_empty());
        let sent: usize = t.host.sent.iter().map(|r| r.body.len()).sum();
        assert!(t.host.sent.iter().all(|r| r.keepalive && r.content_type.starts_with("text/plain")));
        assert!(sent <= crate::export::exporter::KEEPALIVE_MAX_BYTES, "{sent} bytes over the budget");
        let first = t.host.sent.iter().map(|r| names(r).len()).sum::<usize>();
        assert!(first > 40 && first < 200, "{first}");
        assert_eq!(t.items_pending() as usize, 200 - first, "hidden only: the rest stays queued");
        // pagehide while the first requests are still out: no budget left, the rest is counted.
        let kept = t.unload(false, true);
        assert!(kept.is_empty());
        assert_eq!(t.host.sent.iter().map(|r| names(r).len()).sum::<usize>(), first);
        assert_eq!(t.diagnostics().dropped(DropReason::Unload) as usize, 200 - first);
        // With persistence the rest is kept for storage instead.
        let mut t2 = Telemetry::new(config(512, 2048), TestHost::default());
        for i in 0..200 {
            let started = t2.start_span(format!("s{i}"), SpanKind::Internal, None, None);
            let mut data = started.data.unwrap();
            data.attributes.set(
                "blob",
                crate::trace::AttributeValue::Str(attribute.clone()),
                &SpanLimits::default(),
                &mut t2.diag,
            );
            t2.end_span(data);
        }
        let kept = t2.unload(true, false);
        let sent = t2.host.sent.iter().map(|r| names(r).len()).sum::<usize>();
        assert_eq!(kept.len() + sent, 200);

        let mut t = Telemetry::new(config(10, 10), TestHost::default());
        end_one(&mut t, "kept");
        t.flush(None);
        t.on_response(t.host.sent[0].id, ExportResponse::NetworkError("offline".into()));
        let stored = t.unload(true, false);
        assert_eq!((stored.len(), t.items_pending()), (1, 0), "backing off: kept for storage, not sent");
        assert_eq!(t.host.sent.len(), 1);
        let mut later = Telemetry::new(config(10, 10), TestHost::default());
        later.restore(stored);
        later.flush(None);
        assert_eq!(names(&later.host.sent[0]), vec!["kept"]);
        assert_eq!((t.diagnostics().items_persisted, later.diagnostics().items_restored), (1, 1));
    }

    #[test]
    fn memory_stays_bounded_while_the_backend_is_down() {
        let mut cfg = config(100, 1_000);
        cfg.batch.max_queue_bytes = 256 * 1024;
        let mut t = Telemetry::new(cfg, TestHost::default());
        for i in 0..20_000 {
            end_one(&mut t, &format!("span-{i}"));
            // Every request fails at once: the items come back and wait for the backoff.
            while let Some(request) = t.host.sent.pop() {
                t.on_response(request.id, ExportResponse::NetworkError("down".into()));
            }
        }
        let d = t.diagnostics();
        assert!(t.items_pending() <= 1_000);
        assert_eq!(d.items_queued + d.dropped(DropReason::QueueFull), 20_000);
        assert!(d.dropped(DropReason::QueueFull) >= 19_000);
    }

    #[test]
    fn queue_overflow_and_http_errors_are_counted() {
        let mut cfg = config(100, 2);
        cfg.export_interval_ms = 0;
        let mut t = Telemetry::new(cfg, TestHost::default());
        for i in 0..4 {
            end_one(&mut t, &format!("s{i}"));
        }
        assert!(t.host.timers.is_empty(), "interval 0 arms no timer");
        assert_eq!(t.diagnostics().dropped(DropReason::QueueFull), 2);
        t.flush(None);
        t.on_response(
            t.host.sent[0].id,
            ExportResponse::Http { status: 403, body: String::new(), headers: ResponseHeaders::default() },
        );
        assert_eq!(t.diagnostics().dropped(DropReason::HttpStatus), 2);
        assert_eq!(t.host.flushed[0].1.sent, 2);
    }

    #[test]
    fn spans_after_shutdown_are_dropped_and_counted() {
        let mut t = Telemetry::new(config(10, 10), TestHost::default());
        t.shutdown(None);
        end_one(&mut t, "late");
        assert_eq!(t.diagnostics().dropped(DropReason::Shutdown), 1);
        assert!(t.host.sent.is_empty());
    }

    fn counter_view(t: &mut Telemetry<TestHost>) -> u32 {
        use crate::stats::aggregation::Aggregation;
        use crate::stats::view::{Measure, MeasureKind, View};
        let m = t
            .stats
            .register_measure(Measure {
                name: "presses".into(),
                description: String::new(),
                unit: "1".into(),
                kind: MeasureKind::Int,
            })
            .unwrap();
        let view = View {
            name: "presses".into(),
            description: String::new(),
            measure: m,
            columns: vec![],
            aggregation: Aggregation::Count,
        };
        t.register_view(view).unwrap();
        m
    }

    fn metric_items(t: &TestHost) -> usize {
        t.sent.iter().map(|r| r.body.matches("\"MetricData\"").count()).sum()
    }

    #[test]
    fn metrics_export_on_their_own_interval_through_the_one_host_timer() {
        let mut t = Telemetry::new(config(100, 100), TestHost::default());
        let m = counter_view(&mut t);
        assert_eq!(t.host.timers, vec![15_000], "the first view starts the metrics timer");
        t.stats.record(0, m, 1.0, &mut t.diag);
        end_one(&mut t, "span"); // the span deadline (5 s) is earlier: the timer is set again
        assert_eq!(t.host.timers, vec![15_000, 5_000]);
        t.host.now += 5_000_000_000;
        t.on_timer();
        assert_eq!(t.host.sent.len(), 1, "the span is sent at 5 s");
        assert_eq!(metric_items(&t.host), 0);
        assert_eq!(t.host.timers.last(), Some(&9_999), "then the timer waits for the metrics");
        t.host.now += 10_000_000_000;
        t.on_timer();
        assert_eq!(metric_items(&t.host), 1, "the count is exported at 15 s without any flush");
        assert_eq!(t.host.timers.last(), Some(&15_000), "and every 15 s after");
    }

    #[test]
    fn flush_exports_metrics_and_shutdown_stops_the_timer() {
        let mut cfg = config(100, 100);
        cfg.metrics_interval_ms = 0;
        let mut t = Telemetry::new(cfg, TestHost::default());
        let m = counter_view(&mut t);
        assert!(t.host.timers.is_empty(), "no metrics timer when the interval is 0 (workers)");
        t.flush(None);
        assert!(t.host.sent.is_empty(), "no series, nothing to export");
        t.stats.record(0, m, 1.0, &mut t.diag);
        t.flush(None);
        assert_eq!(metric_items(&t.host), 1);
        t.shutdown(None);
        assert_eq!(metric_items(&t.host), 2, "shutdown flushes the cumulative point again");
        assert_eq!(t.host.timers.last(), Some(&0), "and cancels the timer");
    }

    #[test]
    fn logs_and_exceptions_are_queued_correlated_and_counted() {
        use crate::log::{Correlation, ExceptionDetail, Severity};
        let mut t = Telemetry::new(config(100, 100), TestHost::default());
        let span = t.start_span("op".into(), SpanKind::Server, None, None);
        let correlation = Some(Correlation {
            trace_id: span.context.trace_id,
            span_id: span.context.span_id,
            trace_flags: span.context.trace_flags,
        });
        t.log(LogRecord {
            time_unix_nanos: 1,
            severity: Severity::Warning,
            message: "careful".into(),
            logger: "app".into(),
            properties: Default::default(),
            correlation,
        });
        t.exception(ExceptionRecord {
            time_unix_nanos: 2,
            severity: Severity::Error,
            exceptions: vec![ExceptionDetail {
                id: 0,
                outer_id: None,
                type_name: "Error".into(),
                message: "boom".into(),
                stack: String::new(),
            }],
            properties: Default::default(),
            correlation,
        });
        t.flush(None);
        let body = crate::json::parse(&t.host.sent[0].body).unwrap();
        let items = body.as_array().unwrap();
        assert_eq!(items.len(), 2);
        for item in items {
            let tags = item.get("tags").unwrap();
            assert_eq!(
                tags.get("ai.operation.id").and_then(|v| v.as_str()),
                Some(span.context.trace_id.to_hex().as_str())
            );
        }
        assert_eq!((t.diagnostics().logs_recorded, t.diagnostics().exceptions_recorded), (1, 1));
        assert_eq!(t.diagnostics().items_queued, 2);
    }

    #[test]
    fn console_exporter_prints_each_span() {
        let cfg = Config { console: true, ..Config::default() };
        let mut t = Telemetry::new(cfg, TestHost::default());
        end_one(&mut t, "hello");
        assert_eq!(t.host.printed.len(), 1);
        assert!(t.host.printed[0].contains("span hello (internal)"));
        assert!(t.host.sent.is_empty() && t.host.timers.is_empty());
    }

    #[test]
    fn children_link_to_their_parents_in_the_envelopes() {
        let mut t = Telemetry::new(config(10, 10), TestHost::default());
        let root = t.start_span("root".into(), SpanKind::Server, None, None);
        let child = t.start_span("child".into(), SpanKind::Client, Some(&root.context), None);
        t.end_span(child.data.unwrap());
        t.end_span(root.data.unwrap());
        t.flush(None);
        let body = crate::json::parse(&t.host.sent[0].body).unwrap();
        let items = body.as_array().unwrap();
        let tag = |i: usize, k: &str| items[i].get("tags").unwrap().get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let trace = root.context.trace_id.to_hex();
        assert_eq!(tag(0, "ai.operation.id"), Some(trace.clone()));
        assert_eq!(tag(1, "ai.operation.id"), Some(trace));
        assert_eq!(tag(0, "ai.operation.parentId"), Some(root.context.span_id.to_hex()));
        assert_eq!(tag(1, "ai.operation.parentId"), None);
    }
}
