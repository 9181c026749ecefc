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
use crate::export::batcher::{BatchLimits, Batcher};
use crate::log::{ExceptionRecord, LogRecord};
use crate::platform::{ExportRequest, ExportResponse, Host};
use crate::stats::{Stats, StatsLimits};
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
            service_name: "edgecensus".into(),
            service_instance: None,
        }
    }
}

/// What one flush saw answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlushResult {
    pub sent: u64,
    pub accepted: u64,
    pub rejected: u64,
}

/// The Azure Monitor exporter: an encoder and its buffer.
struct AzureExporter {
    url: String,
    encoder: EnvelopeEncoder,
    batcher: Batcher,
}

/// When the next timed exports are due (Unix nanoseconds), and what the host timer is set for.
/// One host timer serves both: it is set for the earliest deadline.
#[derive(Default)]
struct Deadlines {
    spans: Option<u64>,
    metrics: Option<u64>,
    armed_for: Option<u64>,
}

/// A timer may fire this early (by the platform clock) and still count as on time.
const TIMER_SLACK_NANOS: u64 = 2_000_000;

struct InFlight {
    id: u64,
    items: u64,
}

struct PendingFlush {
    ticket: u64,
    /// The flush completes once no request with an id up to this one is in flight.
    last_request: u64,
    at_start: FlushResult,
}

pub struct Telemetry<H: Host> {
    pub host: H,
    tracer: Tracer,
    diag: Diagnostics,
    console: bool,
    azure: Option<AzureExporter>,
    export_interval_ms: u32,
    metrics_interval_ms: u32,
    timers: Deadlines,
    pub stats: Stats,
    next_request_id: u64,
    in_flight: Vec<InFlight>,
    flushes: Vec<PendingFlush>,
    next_ticket: u64,
    shut_down: bool,
}

impl<H: Host> Telemetry<H> {
    pub fn new(config: Config, host: H) -> Telemetry<H> {
        let azure = config.azure.as_ref().map(|cs| AzureExporter {
            url: cs.track_url(),
            encoder: EnvelopeEncoder::new(&EnvelopeContext {
                instrumentation_key: &cs.instrumentation_key,
                role: &config.service_name,
                role_instance: config.service_instance.as_deref(),
                sdk_version: SDK_VERSION,
            }),
            batcher: Batcher::new(config.batch),
        });
        Telemetry {
            host,
            tracer: Tracer::new(config.sampler, config.limits),
            diag: Diagnostics::default(),
            console: config.console,
            azure,
            export_interval_ms: config.export_interval_ms,
            metrics_interval_ms: config.metrics_interval_ms,
            timers: Deadlines::default(),
            stats: Stats::new(config.stats_limits),
            next_request_id: 1,
            in_flight: Vec::new(),
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
    pub fn limits(&self) -> &SpanLimits {
        &self.tracer.limits
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
        self.azure.as_ref().map_or(0, |a| a.batcher.len() as u64)
    }
    pub fn is_shut_down(&self) -> bool {
        self.shut_down
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

    /// Takes a finished span: prints it, encodes it for each exporter and queues it.
    pub fn end_span(&mut self, span: SpanData) {
        self.diag.spans_ended += 1;
        if self.console {
            self.host.print(&crate::console::format_span(&span));
        }
        let Some(azure) = self.azure.as_mut() else { return };
        if self.shut_down {
            self.diag.drop_items(DropReason::Shutdown, 1 + span.events.len() as u64);
            return;
        }
        let diag = &mut self.diag;
        let batcher = &mut azure.batcher;
        let cuts = azure.encoder.encode_span(&span, &mut |item| match batcher.push(item) {
            Ok(()) => diag.items_queued += 1,
            Err(reason) => diag.drop_items(reason, 1),
        });
        diag.values_truncated += u64::from(cuts);
        self.after_enqueue();
    }

    /// Takes a log record: prints it (console exporter), encodes and queues it.
    pub fn log(&mut self, record: LogRecord) {
        self.diag.logs_recorded += 1;
        if self.console {
            self.host.print(&crate::console::format_log(&record));
        }
        if let Some(azure) = self.azure.as_ref() {
            let (item, cuts) = azure.encoder.encode_log(&record);
            self.diag.values_truncated += u64::from(cuts);
            self.enqueue(item);
        }
    }

    /// Takes an exception record: prints it (console exporter), encodes and queues it.
    pub fn exception(&mut self, record: ExceptionRecord) {
        self.diag.exceptions_recorded += 1;
        if self.console {
            self.host.print(&crate::console::format_exception(&record));
        }
        if let Some(azure) = self.azure.as_ref() {
            let (item, cuts) = azure.encoder.encode_exception(&record);
            self.diag.values_truncated += u64::from(cuts);
            self.enqueue(item);
        }
    }

    /// Queues one encoded item for the Azure exporter (or counts why it cannot be).
    fn enqueue(&mut self, item: String) {
        let Some(azure) = self.azure.as_mut() else { return };
        if self.shut_down {
            self.diag.drop_items(DropReason::Shutdown, 1);
            return;
        }
        match azure.batcher.push(item) {
            Ok(()) => self.diag.items_queued += 1,
            Err(reason) => self.diag.drop_items(reason, 1),
        }
        self.after_enqueue();
    }

    /// Sends full batches at once; otherwise makes sure a timed export is due.
    fn after_enqueue(&mut self) {
        let Some(azure) = self.azure.as_ref() else { return };
        if azure.batcher.batch_ready() {
            self.send_batches(false);
        }
        let waiting = self.items_pending() > 0;
        if waiting && self.timers.spans.is_none() && self.export_interval_ms > 0 && !self.shut_down {
            self.timers.spans = Some(self.host.now_unix_nanos() + ms_to_nanos(self.export_interval_ms));
            self.set_timer();
        }
    }

    /// Sets the host timer for the earliest deadline, unless it is already set for it or earlier.
    fn set_timer(&mut self) {
        let Some(next) = [self.timers.spans, self.timers.metrics].into_iter().flatten().min() else { return };
        if self.timers.armed_for.is_some_and(|armed| armed <= next) {
            return;
        }
        let now = self.host.now_unix_nanos();
        let delay_ms = (next.saturating_sub(now) / 1_000_000).min(u64::from(u32::MAX)) as u32;
        match self.host.arm_timer(delay_ms) {
            Ok(()) => self.timers.armed_for = Some(next),
            Err(message) => self.diag.error(message),
        }
    }

    /// The host timer fired: runs the exports that are due and sets the timer for the next.
    pub fn on_timer(&mut self) {
        self.timers.armed_for = None;
        let now = self.host.now_unix_nanos() + TIMER_SLACK_NANOS;
        if self.timers.spans.is_some_and(|due| due <= now) {
            self.timers.spans = None;
            self.send_batches(true);
        }
        if self.timers.metrics.is_some_and(|due| due <= now) {
            self.timers.metrics = Some(self.host.now_unix_nanos() + ms_to_nanos(self.metrics_interval_ms));
            self.export_metrics();
        }
        self.set_timer();
    }

    /// Registers a view (see [`Stats::register_view`]) and, with the first one, starts the
    /// metrics timer. Nothing starts before this call: no timer runs at import time.
    pub fn register_view(&mut self, view: crate::stats::view::View) -> Result<(), crate::stats::view::DefinitionError> {
        let now = self.host.now_unix_nanos();
        self.stats.register_view(view, now)?;
        if self.azure.is_some() && self.metrics_interval_ms > 0 && self.timers.metrics.is_none() && !self.shut_down {
            self.timers.metrics = Some(now + ms_to_nanos(self.metrics_interval_ms));
            self.set_timer();
        }
        Ok(())
    }

    /// Queues every series of every view (cumulative points) and sends them.
    fn export_metrics(&mut self) {
        let Some(azure) = self.azure.as_mut() else { return };
        if self.stats.series_count() == 0 {
            return;
        }
        let now = self.host.now_unix_nanos();
        let diag = &mut self.diag;
        let batcher = &mut azure.batcher;
        let mut cuts = 0;
        for view in self.stats.views() {
            cuts += azure.encoder.encode_view(view, now, &mut |item| match batcher.push(item) {
                Ok(()) => diag.items_queued += 1,
                Err(reason) => diag.drop_items(reason, 1),
            });
        }
        diag.values_truncated += u64::from(cuts);
        self.send_batches(true);
    }

    /// Sends full batches, or with `all` everything queued.
    fn send_batches(&mut self, all: bool) {
        let Some(azure) = self.azure.as_mut() else { return };
        while all && !azure.batcher.is_empty() || azure.batcher.batch_ready() {
            let Some(batch) = azure.batcher.take_batch() else { break };
            let id = self.next_request_id;
            self.next_request_id += 1;
            self.in_flight.push(InFlight { id, items: batch.items as u64 });
            self.diag.requests_sent += 1;
            self.diag.items_sent += batch.items as u64;
            self.host.send(ExportRequest {
                id,
                url: azure.url.clone(),
                content_type: "application/json",
                body: batch.body,
            });
        }
    }

    /// Sends everything queued; `Host::flush_done(ticket, …)` follows once each request
    /// sent up to now has been answered (at once when none is in flight).
    pub fn flush(&mut self) -> u64 {
        if !self.shut_down {
            self.export_metrics();
        }
        self.send_batches(true);
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.flushes.push(PendingFlush { ticket, last_request: self.next_request_id - 1, at_start: self.totals() });
        self.complete_flushes();
        ticket
    }

    /// Flushes and refuses everything after; spans ended later are counted as `shutdown` drops.
    pub fn shutdown(&mut self) -> u64 {
        let ticket = self.flush();
        self.shut_down = true;
        self.timers = Deadlines::default();
        self.host.cancel_timer();
        ticket
    }

    /// The answer to request `id`.
    pub fn on_response(&mut self, id: u64, response: ExportResponse) {
        let Some(pos) = self.in_flight.iter().position(|r| r.id == id) else { return };
        let items = self.in_flight.swap_remove(pos).items;
        match response {
            ExportResponse::NetworkError(message) => {
                self.diag.requests_failed += 1;
                self.diag.drop_items(DropReason::Network, items);
                self.diag.error(format!("export request failed: {message}"));
            }
            ExportResponse::Http { status, body } => {
                let outcome = track_response::interpret(status, &body, items);
                if let Some(status) = outcome.failed_status {
                    self.diag.requests_failed += 1;
                    self.diag.drop_items(DropReason::HttpStatus, items);
                    self.diag.error(format!("HTTP {status}: {}", outcome.message.unwrap_or_default()));
                } else {
                    self.diag.items_accepted += outcome.accepted;
                    self.diag.items_rejected += outcome.rejected;
                    self.diag.drop_items(DropReason::Rejected, outcome.rejected);
                    if let Some(message) = outcome.message {
                        self.diag.error(message);
                    }
                }
            }
        }
        self.complete_flushes();
    }

    fn totals(&self) -> FlushResult {
        FlushResult {
            sent: self.diag.items_accepted
                + self.diag.items_rejected
                + self.diag.dropped(DropReason::HttpStatus)
                + self.diag.dropped(DropReason::Network),
            accepted: self.diag.items_accepted,
            rejected: self.diag.items_rejected,
        }
    }

    fn complete_flushes(&mut self) {
        let oldest_in_flight = self.in_flight.iter().map(|r| r.id).min().unwrap_or(u64::MAX);
        let now = self.totals();
        let mut i = 0;
        while i < self.flushes.len() {
            if self.flushes[i].last_request < oldest_in_flight {
                let done = self.flushes.swap_remove(i);
                let result = FlushResult {
                    sent: now.sent - done.at_start.sent,
                    accepted: now.accepted - done.at_start.accepted,
                    rejected: now.rejected - done.at_start.rejected,
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
    use crate::platform::{Clock, Entropy};

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
        fn arm_timer(&mut self, delay_ms: u32) -> Result<(), String> {
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
            batch: BatchLimits { max_queue_items: queue, max_batch_items: batch_items, max_batch_bytes: 1 << 20 },
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
        let ticket = t.flush();
        assert_eq!(t.host.sent.len(), 1);
        assert!(t.host.flushed.is_empty());
        let id = t.host.sent[0].id;
        t.on_response(id, ok(2));
        assert_eq!(t.host.flushed, vec![(ticket, FlushResult { sent: 2, accepted: 2, rejected: 0 })]);
        // Nothing queued: a flush completes at once.
        let second = t.flush();
        assert_eq!(t.host.flushed.last(), Some(&(second, FlushResult::default())));
    }

    #[test]
    fn every_item_is_accounted_for() {
        let mut t = Telemetry::new(config(2, 3), TestHost::default());
        for i in 0..5 {
            end_one(&mut t, &format!("s{i}"));
        }
        // Batches of 2 leave at once, so the queue (cap 3) never overflows here.
        t.flush();
        let ids: Vec<u64> = t.host.sent.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), 3);
        t.on_response(ids[0], ok(2));
        t.on_response(
            ids[1],
            ExportResponse::Http {
                status: 206,
                body:
                    r#"{"itemsReceived":2,"itemsAccepted":1,"errors":[{"index":1,"statusCode":400,"message":"bad"}]}"#
                        .into(),
            },
        );
        t.on_response(ids[2], ExportResponse::NetworkError("connection refused".into()));
        let d = t.diagnostics();
        assert_eq!(d.items_queued, 5);
        assert_eq!(d.items_accepted, 3);
        assert_eq!(d.items_rejected, 1);
        assert_eq!(d.dropped(DropReason::Rejected), 1);
        assert_eq!(d.dropped(DropReason::Network), 1);
        assert_eq!(d.items_accepted + d.dropped_total(), 5);
        assert_eq!(d.requests_failed, 1);
        assert!(d.last_error.as_deref().unwrap().contains("connection refused"));
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
        t.flush();
        t.on_response(t.host.sent[0].id, ExportResponse::Http { status: 403, body: String::new() });
        assert_eq!(t.diagnostics().dropped(DropReason::HttpStatus), 2);
        assert_eq!(t.host.flushed[0].1.sent, 2);
    }

    #[test]
    fn spans_after_shutdown_are_dropped_and_counted() {
        let mut t = Telemetry::new(config(10, 10), TestHost::default());
        t.shutdown();
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
        t.flush();
        assert!(t.host.sent.is_empty(), "no series, nothing to export");
        t.stats.record(0, m, 1.0, &mut t.diag);
        t.flush();
        assert_eq!(metric_items(&t.host), 1);
        t.shutdown();
        assert_eq!(metric_items(&t.host), 2, "shutdown flushes the cumulative point again");
        assert_eq!(t.host.timers.last(), Some(&0), "and cancels the timer");
    }

    #[test]
    fn logs_and_exceptions_are_queued_correlated_and_counted() {
        use crate::log::{Correlation, ExceptionDetail, Severity};
        let mut t = Telemetry::new(config(100, 100), TestHost::default());
        let span = t.start_span("op".into(), SpanKind::Server, None, None);
        let correlation = Some(Correlation { trace_id: span.context.trace_id, span_id: span.context.span_id });
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
        t.flush();
        let body = crate::json::parse(&t.host.sent[0].body).unwrap();
        let items = body.as_array().unwrap();
        assert_eq!(items.len(), 2);
        for item in items {
            let tags = item.get("tags").unwrap();
            assert_eq!(tags.get("ai.operation.id").and_then(|v| v.as_str()), Some(span.context.trace_id.to_hex().as_str()));
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
        t.flush();
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
