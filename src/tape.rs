//! Finished spans and log records handed over from JS in batches ("the tape").
//!
//! The JS API records spans and logs without crossing into wasm; it hands them over in one call
//! per batch (per microtask, or sooner when a batch grows large). This module decodes a batch
//! into [`SpanData`] and [`LogRecord`]s, applies the configured limits (counted as before), and
//! passes each on to the exporters in order.
//!
//! A batch is two channels, each read front to back: numbers (op codes, counts, times in
//! milliseconds since the epoch, ids as big-endian `u32` words, number attributes) and strings
//! (names, keys, string values: one text with each string's length, see [`Strings`]).
//! `js/core.js` writes the layouts below.
//!
//! A malformed batch never panics: decoding stops at the first record that does not fit, and
//! that record is counted as an invalid input (the records after it, which cannot be found, are
//! counted by the caller, which knows how many the batch holds).
//!
//! ```text
//! span:  nums  OP_SPAN kind flags trace[4] span[2] parent(0 none|1 local|2 remote) [parent[2]]
//!              start_ms end_ms status(0 unset|1 ok|2 error) attrs events links
//!        strs  name trace_state [status message if error]
//! log:   nums  OP_LOG severity time_ms correlated(0 | 1 + trace flags) [trace[4] span[2]] property_count
//!              same_logger(0: the name follows | 1: the previous log record's in this batch)
//!        strs  message [logger] (key value)*
//! attrs:  nums count dropped (type [number])*   strs (key [string])*
//!         type: 0 string, 1 number, 2 true, 3 false
//! events: nums count dropped (time_ms attrs)*   strs (name)*   (an event's attrs follow its name)
//! links:  nums count dropped (trace[4] span[2] attrs)*   strs (trace_state)*
//! ```
//!
//! The JS API applies the count limits itself (it gets them from `Telemetry::span_settings`)
//! and sends what it dropped as `dropped`; value lengths are cut here.

use crate::diagnostics::Diagnostics;
use crate::ids::{SpanId, TraceId};
use crate::log::{Correlation, LogRecord, Severity};
use crate::platform::Host;
use crate::telemetry::Telemetry;
use crate::trace::span::{truncate, MAX_NAME_LENGTH};
use crate::trace::{AttributeValue, Attributes, Event, Link, SpanContext, SpanData, SpanKind, SpanLimits, Status};
use crate::trace_context::TraceState;
use std::rc::Rc;

pub const OP_SPAN: u32 = 1;
pub const OP_LOG: u32 = 2;

/// Exception texts get the ingestion service's exception limit, not the attribute limit: a V8
/// stack starts with the message, and cutting it short would lose every frame.
const EXCEPTION_VALUE_LENGTH: usize = 32_768;

/// A status message is cut to the ingestion service's property value limit.
const STATUS_MESSAGE_LENGTH: usize = 8192;

/// Reads the two channels of one batch.
struct Reader<'a> {
    nums: &'a [f64],
    strs: Strings<'a>,
    /// The logger name of the previous log record (most records of a batch share it).
    logger: Option<Rc<str>>,
}

/// The string channel: the strings joined, and each one's length in UTF-16 units (JavaScript's
/// `length`, which JS knows without encoding anything).
pub struct Strings<'a> {
    text: &'a str,
    lengths: &'a [u32],
    ascii: bool,
    /// UTF-16 units read so far, and where the strings read so far were declared to end.
    read: usize,
    declared: usize,
}

impl<'a> Strings<'a> {
    pub fn new(text: &'a str, lengths: &'a [u32]) -> Strings<'a> {
        Strings { text, lengths, ascii: text.is_ascii(), read: 0, declared: 0 }
    }

    #[inline(always)]
    fn next(&mut self) -> Option<String> {
        let (&units, rest) = self.lengths.split_first()?;
        self.lengths = rest;
        self.declared += units as usize;
        let bytes = if self.ascii {
            units as usize
        } else {
            // Counted from the start of the text, so that a surrogate pair split between two
            // strings (two lone halves that the join made whole) garbles only those two: the
            // pair goes to the second one. A lone surrogate arrives as U+FFFD: one unit still.
            let mut end = 0;
            for c in self.text.chars() {
                if self.read + c.len_utf16() > self.declared {
                    break;
                }
                self.read += c.len_utf16();
                end += c.len_utf8();
            }
            if end == self.text.len() && self.read < self.declared {
                return None; // the text ends before this string does
            }
            end
        };
        let (piece, rest) = self.text.split_at_checked(bytes)?;
        self.text = rest;
        Some(piece.to_owned())
    }
}

impl Reader<'_> {
    #[inline(always)]
    fn num(&mut self) -> Option<f64> {
        let (first, rest) = self.nums.split_first()?;
        self.nums = rest;
        Some(*first)
    }
    /// A small non-negative integer (a count, a code); anything else ends the batch.
    #[inline(always)]
    fn count(&mut self) -> Option<u32> {
        let v = self.num()?;
        ((0.0..=1_000_000.0).contains(&v) && v.fract() == 0.0).then_some(v as u32)
    }
    #[inline(always)]
    fn word(&mut self) -> Option<u32> {
        let v = self.num()?;
        ((0.0..=4_294_967_295.0).contains(&v) && v.fract() == 0.0).then_some(v as u32)
    }
    fn trace_id(&mut self) -> Option<TraceId> {
        Some(TraceId::from_words([self.word()?, self.word()?, self.word()?, self.word()?]))
    }
    fn span_id(&mut self) -> Option<SpanId> {
        Some(SpanId::from_words([self.word()?, self.word()?]))
    }
    /// A time in milliseconds since the epoch, as nanoseconds (whole milliseconds and the
    /// fraction apart, so that the nanoseconds are exact to what an `f64` of milliseconds holds).
    fn time(&mut self) -> Option<u64> {
        let ms = self.num()?;
        let whole = ms.trunc();
        (0.0..1.0e15).contains(&ms).then(|| whole as u64 * 1_000_000 + ((ms - whole) * 1_000_000.0) as u64)
    }
    fn text(&mut self) -> Option<String> {
        self.strs.next()
    }

    /// `count` attributes into `attributes`, with `limits` applied (and counted).
    fn attributes(&mut self, attributes: &mut Attributes, limits: &SpanLimits, diag: &mut Diagnostics) -> Option<()> {
        let count = self.count()?;
        let dropped = self.count()?;
        attributes.dropped += dropped;
        diag.attributes_dropped += u64::from(dropped);
        attributes.entries.reserve(count.min(128) as usize);
        for _ in 0..count {
            let kind = self.count()?;
            let key = self.text()?;
            let value = match kind {
                0 => AttributeValue::Str(self.text()?),
                1 => AttributeValue::from_number(self.num()?),
                2 => AttributeValue::Bool(true),
                3 => AttributeValue::Bool(false),
                _ => return None,
            };
            if key.is_empty() {
                diag.invalid_inputs += 1;
            } else {
                attributes.set(key, value, limits, diag);
            }
        }
        Some(())
    }
}

/// A `tracestate` value as the JS API kept it (from a parent or a link); invalid ones are dropped.
fn parse_trace_state(text: &str) -> TraceState {
    if text.is_empty() {
        return TraceState::default(); // nearly every span: no parse
    }
    TraceState::parse(text).unwrap_or_default()
}

fn kind_from_code(kind: u32) -> SpanKind {
    match kind {
        1 => SpanKind::Server,
        2 => SpanKind::Client,
        3 => SpanKind::Producer,
        4 => SpanKind::Consumer,
        _ => SpanKind::Internal,
    }
}

/// Decodes one batch and hands its spans and logs to `core`. Returns how many records were taken.
pub fn ingest<H: Host>(core: &mut Telemetry<H>, nums: &[f64], strs: Strings<'_>) -> usize {
    let mut reader = Reader { nums, strs, logger: None };
    let mut taken = 0;
    while !reader.nums.is_empty() {
        let done = match reader.count() {
            Some(OP_SPAN) => read_span(&mut reader, core).map(|span| core.end_span(span)),
            Some(OP_LOG) => read_log(&mut reader, core).map(|record| core.log(record)),
            _ => None,
        };
        if done.is_none() {
            core.diagnostics_mut().invalid_inputs += 1;
            break;
        }
        taken += 1;
    }
    taken
}

fn read_span<H: Host>(r: &mut Reader<'_>, core: &mut Telemetry<H>) -> Option<SpanData> {
    let kind = kind_from_code(r.count()?);
    let flags = r.count()?.min(255) as u8;
    let trace_id = r.trace_id()?;
    let span_id = r.span_id()?;
    let parent_span_id = match r.count()? {
        0 => None,
        _ => Some(r.span_id()?),
    };
    let start_unix_nanos = r.time()?;
    let end_unix_nanos = r.time()?;
    let status_code = r.count()?;
    let name = r.text()?;
    let trace_state = parse_trace_state(&r.text()?);
    let status = match status_code {
        1 => Status::Ok,
        2 => Status::Error(truncate(r.text()?, STATUS_MESSAGE_LENGTH, core.diagnostics_mut())),
        _ => Status::Unset,
    };
    let (limits, diag) = core.limits_and_diagnostics();
    let mut span = SpanData {
        context: SpanContext { trace_id, span_id, trace_flags: flags, trace_state, is_remote: false },
        parent_span_id,
        name: truncate(name, MAX_NAME_LENGTH, diag),
        kind,
        start_unix_nanos,
        end_unix_nanos,
        attributes: Attributes::default(),
        events: Vec::new(),
        dropped_events: 0,
        links: Vec::new(),
        dropped_links: 0,
        status,
    };
    r.attributes(&mut span.attributes, limits, diag)?;
    let events = r.count()?;
    span.dropped_events = r.count()?;
    diag.events_dropped += u64::from(span.dropped_events);
    for _ in 0..events {
        let time_unix_nanos = r.time()?;
        let name = truncate(r.text()?, MAX_NAME_LENGTH, diag);
        let event_limits = if name == "exception" {
            SpanLimits { value_length: limits.value_length.max(EXCEPTION_VALUE_LENGTH), ..*limits }
        } else {
            *limits
        };
        let mut attributes = Attributes::default();
        r.attributes(&mut attributes, &event_limits, diag)?;
        span.add_event(Event { name, time_unix_nanos, attributes }, limits, diag);
    }
    let links = r.count()?;
    span.dropped_links = r.count()?;
    diag.links_dropped += u64::from(span.dropped_links);
    for _ in 0..links {
        let trace_id = r.trace_id()?;
        let span_id = r.span_id()?;
        let trace_state = parse_trace_state(&r.text()?);
        let mut attributes = Attributes::default();
        r.attributes(&mut attributes, limits, diag)?;
        if trace_id.is_valid() && span_id.is_valid() {
            span.add_link(Link { trace_id, span_id, trace_state, attributes }, limits, diag);
        } else {
            diag.invalid_inputs += 1;
        }
    }
    Some(span)
}

fn read_log<H: Host>(r: &mut Reader<'_>, core: &mut Telemetry<H>) -> Option<LogRecord> {
    let severity = Severity::from_code(r.count()?.min(255) as u8);
    let time_unix_nanos = r.time()?;
    let correlation = match r.count()? {
        0 => None,
        c => Some(Correlation { trace_id: r.trace_id()?, span_id: r.span_id()?, trace_flags: (c - 1).min(255) as u8 }),
    };
    let property_count = r.count()?;
    let same_logger = r.count()? == 1;
    let message = r.text()?;
    let logger = match (same_logger, &r.logger) {
        (true, Some(previous)) => Rc::clone(previous),
        (true, None) => return None,
        (false, _) => Rc::from(r.text()?),
    };
    r.logger = Some(Rc::clone(&logger));
    let (limits, diag) = core.limits_and_diagnostics();
    let mut properties = Attributes { entries: Vec::with_capacity(property_count.min(64) as usize), dropped: 0 };
    for _ in 0..property_count {
        let key = r.text()?;
        let value = r.text()?;
        if key.is_empty() {
            diag.invalid_inputs += 1;
        } else {
            properties.set(key, AttributeValue::Str(value), limits, diag);
        }
    }
    Some(LogRecord { time_unix_nanos, severity, message, logger, properties, correlation })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::connection_string::ConnectionString;
    use crate::json::{parse, JsonValue};
    use crate::telemetry::tests::TestHost;
    use crate::telemetry::{Config, OtlpConfig};

    // ---- Batches written from a readable description, as js/core.js writes them ----

    /// One attribute: (key, value).
    #[derive(Clone, Debug)]
    enum Attr {
        Str(String, String),
        Num(String, f64),
        Bool(String, bool),
    }
    fn s(key: &str, value: &str) -> Attr {
        Attr::Str(key.into(), value.into())
    }
    fn n(key: &str, value: f64) -> Attr {
        Attr::Num(key.into(), value)
    }
    fn b(key: &str, value: bool) -> Attr {
        Attr::Bool(key.into(), value)
    }

    #[derive(Clone, Debug, Default)]
    struct EventSpec {
        time_ms: f64,
        name: String,
        attrs: Vec<Attr>,
        dropped: u32,
    }

    #[derive(Clone, Debug, Default)]
    struct LinkSpec {
        trace: [u32; 4],
        span: [u32; 2],
        trace_state: String,
        attrs: Vec<Attr>,
        dropped: u32,
    }

    #[derive(Clone, Debug)]
    struct SpanSpec {
        kind: u32,
        flags: u32,
        trace: [u32; 4],
        span: [u32; 2],
        parent: Option<[u32; 2]>,
        start_ms: f64,
        end_ms: f64,
        /// 0 unset, 1 ok, 2 error (with `message`).
        status: u32,
        message: String,
        name: String,
        trace_state: String,
        attrs: Vec<Attr>,
        dropped_attrs: u32,
        events: Vec<EventSpec>,
        dropped_events: u32,
        links: Vec<LinkSpec>,
        dropped_links: u32,
    }

    /// A plain internal span named `name`, sampled, no parent, 1 ms long.
    fn span(name: &str) -> SpanSpec {
        SpanSpec {
            kind: 0,
            flags: 1,
            trace: TRACE,
            span: SPAN,
            parent: None,
            start_ms: 1_000.0,
            end_ms: 1_001.0,
            status: 0,
            message: String::new(),
            name: name.into(),
            trace_state: String::new(),
            attrs: vec![],
            dropped_attrs: 0,
            events: vec![],
            dropped_events: 0,
            links: vec![],
            dropped_links: 0,
        }
    }

    #[derive(Clone, Debug)]
    struct LogSpec {
        severity: u32,
        time_ms: f64,
        correlation: Option<([u32; 4], [u32; 2])>,
        message: String,
        logger: String,
        props: Vec<(String, String)>,
    }

    /// An uncorrelated warning from logger "app".
    fn log(message: &str) -> LogSpec {
        LogSpec {
            severity: 2,
            time_ms: 2_000.0,
            correlation: None,
            message: message.into(),
            logger: "app".into(),
            props: vec![],
        }
    }

    /// The two channels of one batch, as JS builds them before joining the strings.
    #[derive(Default)]
    struct Batch {
        nums: Vec<f64>,
        strs: Vec<String>,
    }

    impl Batch {
        fn new() -> Batch {
            Batch::default()
        }
        fn nums(&mut self, values: &[f64]) -> &mut Batch {
            self.nums.extend_from_slice(values);
            self
        }
        fn strs(&mut self, values: &[&str]) -> &mut Batch {
            self.strs.extend(values.iter().map(|v| (*v).to_owned()));
            self
        }
        fn words(&mut self, words: &[u32]) -> &mut Batch {
            self.nums.extend(words.iter().map(|&w| f64::from(w)));
            self
        }
        fn attrs(&mut self, attrs: &[Attr], dropped: u32) -> &mut Batch {
            self.nums(&[attrs.len() as f64, f64::from(dropped)]);
            for attr in attrs {
                match attr {
                    Attr::Str(k, v) => {
                        self.nums.push(0.0);
                        self.strs.extend([k.clone(), v.clone()]);
                    }
                    Attr::Num(k, v) => {
                        self.nums.extend([1.0, *v]);
                        self.strs.push(k.clone());
                    }
                    Attr::Bool(k, v) => {
                        self.nums.push(if *v { 2.0 } else { 3.0 });
                        self.strs.push(k.clone());
                    }
                }
            }
            self
        }
        fn span(&mut self, sp: &SpanSpec) -> &mut Batch {
            self.nums(&[f64::from(OP_SPAN), f64::from(sp.kind), f64::from(sp.flags)]);
            self.words(&sp.trace).words(&sp.span);
            match sp.parent {
                None => self.nums(&[0.0]),
                Some(parent) => self.nums(&[1.0]).words(&parent),
            };
            self.nums(&[sp.start_ms, sp.end_ms, f64::from(sp.status)]);
            self.strs(&[&sp.name, &sp.trace_state]);
            if sp.status == 2 {
                self.strs(&[&sp.message]);
            }
            self.attrs(&sp.attrs, sp.dropped_attrs);
            self.nums(&[sp.events.len() as f64, f64::from(sp.dropped_events)]);
            for e in &sp.events {
                self.nums(&[e.time_ms]).strs(&[&e.name]).attrs(&e.attrs, e.dropped);
            }
            self.nums(&[sp.links.len() as f64, f64::from(sp.dropped_links)]);
            for l in &sp.links {
                self.words(&l.trace).words(&l.span).strs(&[&l.trace_state]).attrs(&l.attrs, l.dropped);
            }
            self
        }
        fn log(&mut self, lg: &LogSpec) -> &mut Batch {
            self.nums(&[f64::from(OP_LOG), f64::from(lg.severity), lg.time_ms]);
            match lg.correlation {
                None => self.nums(&[0.0]),
                Some((trace, span)) => self.nums(&[1.0]).words(&trace).words(&span),
            };
            self.nums(&[lg.props.len() as f64, 0.0]).strs(&[&lg.message, &lg.logger]);
            for (k, v) in &lg.props {
                self.strs(&[k, v]);
            }
            self
        }
        /// The string channel as JS hands it over: each string's `length`, and the joined text.
        fn channels(&self) -> (Vec<u32>, String) {
            (self.strs.iter().map(|s| s.encode_utf16().count() as u32).collect(), self.strs.concat())
        }
        fn ingest(&self, t: &mut Telemetry<TestHost>) -> usize {
            let (lengths, text) = self.channels();
            ingest(t, &self.nums, Strings::new(&text, &lengths))
        }
    }

    // ---- The client and what it exported ----

    const TRACE: [u32; 4] = [0x0102_0304, 0x0506_0708, 0xdead_beef, 0xffff_ffff];
    const TRACE_HEX: &str = "0102030405060708deadbeefffffffff";
    const SPAN: [u32; 2] = [0x1111_2222, 0x3333_4444];
    const SPAN_HEX: &str = "1111222233334444";
    const PARENT: [u32; 2] = [0xaaaa_bbbb, 1];
    const PARENT_HEX: &str = "aaaabbbb00000001";

    /// A client exporting OTLP and printing to the console (each record delivered, in order).
    fn client_with(limits: SpanLimits) -> Telemetry<TestHost> {
        let otlp = OtlpConfig { endpoint: "http://collector:4318".into(), ..OtlpConfig::default() };
        let config = Config { console: true, limits, otlp: Some(otlp), ..Config::default() };
        Telemetry::new(config, TestHost::default())
    }
    fn client() -> Telemetry<TestHost> {
        client_with(SpanLimits::default())
    }

    fn at<'a>(v: &'a JsonValue, path: &[&str]) -> &'a JsonValue {
        path.iter().fold(v, |v, k| v.get(k).unwrap_or_else(|| panic!("missing {k} in {v:?}")))
    }
    fn str_at<'a>(v: &'a JsonValue, path: &[&str]) -> &'a str {
        at(v, path).as_str().unwrap_or_else(|| panic!("{path:?} is not a string"))
    }
    fn num_at(v: &JsonValue, path: &[&str]) -> f64 {
        at(v, path).as_f64().unwrap_or_else(|| panic!("{path:?} is not a number"))
    }
    fn array_at<'a>(v: &'a JsonValue, path: &[&str]) -> &'a [JsonValue] {
        at(v, path).as_array().unwrap_or_else(|| panic!("{path:?} is not an array"))
    }
    /// The value object of attribute `key` in an OTLP attribute list.
    fn attr<'a>(list: &'a JsonValue, key: &str) -> &'a JsonValue {
        let list = list.as_array().expect("an attribute list");
        let found = list.iter().find(|a| a.get("key").and_then(JsonValue::as_str) == Some(key));
        at(found.unwrap_or_else(|| panic!("no attribute {key} in {list:?}")), &["value"])
    }

    /// Flushes; the OTLP spans and log records sent.
    fn exported(t: &mut Telemetry<TestHost>) -> (Vec<JsonValue>, Vec<JsonValue>) {
        t.flush(None);
        let (mut spans, mut logs) = (Vec::new(), Vec::new());
        for request in &t.host.sent {
            let body = parse(&request.body).expect("an OTLP body is JSON");
            if request.url.ends_with("/v1/traces") {
                let rs = &array_at(&body, &["resourceSpans"])[0];
                spans.extend_from_slice(array_at(&array_at(rs, &["scopeSpans"])[0], &["spans"]));
            } else if request.url.ends_with("/v1/logs") {
                let rl = &array_at(&body, &["resourceLogs"])[0];
                logs.extend_from_slice(array_at(&array_at(rl, &["scopeLogs"])[0], &["logRecords"]));
            }
        }
        (spans, logs)
    }

    /// What reached the exporters, in order: "span NAME" / "log MESSAGE" (from the console lines).
    fn delivered(t: &Telemetry<TestHost>) -> Vec<String> {
        t.host
            .printed
            .iter()
            .map(|line| {
                let line = line.strip_prefix("[edgecensus] ").expect("a console line");
                if let Some(rest) = line.strip_prefix("span ") {
                    format!("span {}", rest.split(" (").next().unwrap_or_default())
                } else if let Some(rest) = line.strip_prefix("log ") {
                    let message = rest.split_once(": ").map_or(rest, |(_, m)| m);
                    format!("log {}", message.split(' ').next().unwrap_or_default())
                } else {
                    line.to_owned()
                }
            })
            .collect()
    }

    // ---- Spans ----

    #[test]
    fn a_span_arrives_in_otlp_with_every_field() {
        let mut t = client();
        let sp = SpanSpec {
            kind: 2,
            flags: 1,
            parent: Some(PARENT),
            start_ms: 1_700_000_000_123.5,
            end_ms: 1_700_000_000_130.25,
            status: 2,
            message: "upstream failed".into(),
            trace_state: "vendor=abc,other=1".into(),
            attrs: vec![
                s("http.url", "https://example.com/x"),
                n("count", 42.0),
                n("negative", -7.0),
                n("ratio", 0.25),
                n("beyond.2^53", 9_007_199_254_740_994.0),
                b("cached", true),
                b("retried", false),
            ],
            events: vec![EventSpec {
                time_ms: 1_700_000_000_125.75,
                name: "retry".into(),
                attrs: vec![s("reason", "timeout"), n("attempt", 2.0)],
                dropped: 0,
            }],
            links: vec![LinkSpec {
                trace: [9, 8, 7, 6],
                span: [5, 4],
                trace_state: "rojo=00f067aa0ba902b7".into(),
                attrs: vec![b("follows", true)],
                dropped: 0,
            }],
            ..span("GET /x")
        };
        assert_eq!(Batch::new().span(&sp).ingest(&mut t), 1);
        assert_eq!(t.diagnostics().invalid_inputs, 0);
        assert_eq!(t.diagnostics().spans_ended, 1);

        let (spans, logs) = exported(&mut t);
        assert_eq!((spans.len(), logs.len()), (1, 0));
        let v = &spans[0];
        assert_eq!(str_at(v, &["traceId"]), TRACE_HEX);
        assert_eq!(str_at(v, &["spanId"]), SPAN_HEX);
        assert_eq!(str_at(v, &["parentSpanId"]), PARENT_HEX);
        assert_eq!(str_at(v, &["traceState"]), "vendor=abc,other=1");
        assert_eq!(num_at(v, &["flags"]), 1.0);
        assert_eq!(str_at(v, &["name"]), "GET /x");
        assert_eq!(num_at(v, &["kind"]), 3.0, "code 2 is a client span: OTLP SPAN_KIND_CLIENT");

        // Milliseconds with a fraction become nanoseconds (within an f64 step at this magnitude).
        let nanos = |path: &[&str], expected: u64| {
            let got: u64 = str_at(v, path).parse().expect("nanoseconds as a decimal string");
            assert!(got.abs_diff(expected) <= 256, "{path:?}: {got} is not {expected}");
        };
        nanos(&["startTimeUnixNano"], 1_700_000_000_123_500_000);
        nanos(&["endTimeUnixNano"], 1_700_000_000_130_250_000);

        let attrs = at(v, &["attributes"]);
        assert_eq!(array_at(v, &["attributes"]).len(), 7);
        assert_eq!(str_at(attr(attrs, "http.url"), &["stringValue"]), "https://example.com/x");
        assert_eq!(str_at(attr(attrs, "count"), &["intValue"]), "42", "a whole number is an int");
        assert_eq!(str_at(attr(attrs, "negative"), &["intValue"]), "-7");
        assert_eq!(num_at(attr(attrs, "ratio"), &["doubleValue"]), 0.25, "a fraction is a double");
        assert_eq!(
            num_at(attr(attrs, "beyond.2^53"), &["doubleValue"]),
            9_007_199_254_740_994.0,
            "a whole number past 2^53 is not exact: a double"
        );
        assert!(attr(attrs, "count").get("doubleValue").is_none());
        assert_eq!(at(attr(attrs, "cached"), &["boolValue"]).as_bool(), Some(true));
        assert_eq!(at(attr(attrs, "retried"), &["boolValue"]).as_bool(), Some(false));
        assert!(v.get("droppedAttributesCount").is_none());

        let events = array_at(v, &["events"]);
        assert_eq!(events.len(), 1);
        assert_eq!(str_at(&events[0], &["name"]), "retry");
        let event_time: u64 = str_at(&events[0], &["timeUnixNano"]).parse().unwrap();
        assert!(event_time.abs_diff(1_700_000_000_125_750_000) <= 256, "{event_time}");
        assert_eq!(str_at(attr(at(&events[0], &["attributes"]), "reason"), &["stringValue"]), "timeout");
        assert_eq!(str_at(attr(at(&events[0], &["attributes"]), "attempt"), &["intValue"]), "2");

        let links = array_at(v, &["links"]);
        assert_eq!(links.len(), 1);
        assert_eq!(str_at(&links[0], &["traceId"]), "00000009000000080000000700000006");
        assert_eq!(str_at(&links[0], &["spanId"]), "0000000500000004");
        assert_eq!(str_at(&links[0], &["traceState"]), "rojo=00f067aa0ba902b7");
        assert_eq!(at(attr(at(&links[0], &["attributes"]), "follows"), &["boolValue"]).as_bool(), Some(true));

        assert_eq!(num_at(v, &["status", "code"]), 2.0);
        assert_eq!(str_at(v, &["status", "message"]), "upstream failed");
    }

    #[test]
    fn small_times_convert_exactly_and_kinds_and_statuses_map() {
        let mut t = client();
        let mut batch = Batch::new();
        for (kind, status) in [(0, 0), (1, 1), (2, 0), (3, 1), (4, 0), (99, 7)] {
            let sp = SpanSpec { kind, status, start_ms: 1.5, end_ms: 2.25, ..span(&format!("k{kind}")) };
            batch.span(&sp);
        }
        assert_eq!(batch.ingest(&mut t), 6);
        let (spans, _) = exported(&mut t);
        let got: Vec<(f64, f64)> =
            spans.iter().map(|v| (num_at(v, &["kind"]), num_at(v, &["status", "code"]))).collect();
        // Unknown kind codes are internal, unknown status codes unset.
        assert_eq!(got, [(1.0, 0.0), (2.0, 1.0), (3.0, 0.0), (4.0, 1.0), (5.0, 0.0), (1.0, 0.0)]);
        assert_eq!(str_at(&spans[0], &["startTimeUnixNano"]), "1500000");
        assert_eq!(str_at(&spans[0], &["endTimeUnixNano"]), "2250000");
        assert!(spans[0].get("parentSpanId").is_none() && spans[0].get("traceState").is_none());
        assert!(spans[1].get("status").unwrap().get("message").is_none());
    }

    // ---- Logs ----

    #[test]
    fn a_log_record_arrives_with_body_severity_logger_properties_and_correlation() {
        let mut t = client();
        let correlated = LogSpec {
            severity: 3,
            time_ms: 1_700_000_000_000.5,
            correlation: Some((TRACE, SPAN)),
            message: "payment declined".into(),
            logger: "checkout".into(),
            props: vec![("order".into(), "A-17".into()), ("amount".into(), "12.50".into())],
        };
        let plain = LogSpec { severity: 0, logger: String::new(), ..log("plain") };
        assert_eq!(Batch::new().log(&correlated).log(&plain).ingest(&mut t), 2);
        assert_eq!(t.diagnostics().logs_recorded, 2);
        assert_eq!(t.diagnostics().invalid_inputs, 0);

        let (spans, logs) = exported(&mut t);
        assert_eq!((spans.len(), logs.len()), (0, 2));
        let v = &logs[0];
        assert_eq!(str_at(v, &["body", "stringValue"]), "payment declined");
        assert_eq!(num_at(v, &["severityNumber"]), 17.0);
        assert_eq!(str_at(v, &["severityText"]), "ERROR");
        let time: u64 = str_at(v, &["timeUnixNano"]).parse().unwrap();
        assert!(time.abs_diff(1_700_000_000_000_500_000) <= 256, "{time}");
        let attrs = at(v, &["attributes"]);
        assert_eq!(attrs.as_array().unwrap().len(), 3);
        assert_eq!(str_at(attr(attrs, "logger.name"), &["stringValue"]), "checkout");
        assert_eq!(str_at(attr(attrs, "order"), &["stringValue"]), "A-17");
        assert_eq!(str_at(attr(attrs, "amount"), &["stringValue"]), "12.50", "properties stay strings");
        assert_eq!(str_at(v, &["traceId"]), TRACE_HEX);
        assert_eq!(str_at(v, &["spanId"]), SPAN_HEX);

        let v = &logs[1];
        assert_eq!(str_at(v, &["body", "stringValue"]), "plain");
        assert_eq!((num_at(v, &["severityNumber"]), str_at(v, &["severityText"])), (5.0, "DEBUG"));
        assert_eq!(array_at(v, &["attributes"]).len(), 0, "no logger name, no properties");
        assert!(v.get("traceId").is_none() && v.get("spanId").is_none());
    }

    #[test]
    fn ingested_records_reach_the_azure_exporter_too() {
        let cs = ConnectionString::parse("InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:9").unwrap();
        let mut t = Telemetry::new(Config { azure: Some(cs), ..Config::default() }, TestHost::default());
        let server = SpanSpec { kind: 1, parent: Some(PARENT), attrs: vec![s("user", "é中😀")], ..span("GET /é") };
        let correlated = LogSpec { correlation: Some((TRACE, SPAN)), ..log("hello") };
        assert_eq!(Batch::new().span(&server).log(&correlated).ingest(&mut t), 2);
        t.flush(None);
        assert_eq!(t.host.sent.len(), 1);
        let body = parse(&t.host.sent[0].body).unwrap();
        let items = body.as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(str_at(&items[0], &["data", "baseType"]), "RequestData");
        assert_eq!(str_at(&items[0], &["data", "baseData", "id"]), SPAN_HEX);
        assert_eq!(str_at(&items[0], &["data", "baseData", "name"]), "GET /é");
        assert_eq!(str_at(&items[0], &["data", "baseData", "properties", "user"]), "é中😀");
        assert_eq!(str_at(&items[0], &["tags", "ai.operation.parentId"]), PARENT_HEX);
        assert_eq!(str_at(&items[1], &["data", "baseType"]), "MessageData");
        assert_eq!(str_at(&items[1], &["data", "baseData", "message"]), "hello");
        for item in items {
            assert_eq!(str_at(item, &["tags", "ai.operation.id"]), TRACE_HEX);
        }
    }

    // ---- Strings ----

    #[test]
    fn the_string_channel_splits_by_utf16_length() {
        let pieces = ["", "a", "é", "中文", "😀", "x😀y", "", "ascii after", "ü"];
        let lengths: Vec<u32> = pieces.iter().map(|p| p.encode_utf16().count() as u32).collect();
        assert_eq!(lengths, [0, 1, 1, 2, 2, 4, 0, 11, 1]);
        let text = pieces.concat();
        let mut strings = Strings::new(&text, &lengths);
        let got: Vec<String> = std::iter::from_fn(|| strings.next()).collect();
        assert_eq!(got, pieces);

        let mut ascii = Strings::new("abcdef", &[2, 0, 3, 1]);
        let got: Vec<String> = std::iter::from_fn(|| ascii.next()).collect();
        assert_eq!(got, ["ab", "", "cde", "f"]);
    }

    #[test]
    fn non_ascii_strings_decode_exactly_among_ascii_ones() {
        let mut t = client();
        let sp = SpanSpec {
            status: 2,
            message: "échec 😀".into(),
            attrs: vec![
                s("clé", "valeur é"),
                s("ascii", "plain"),
                s("中", "中文😀x"),
                s("emoji😀", "😀"),
                n("数", 1.5),
            ],
            events: vec![EventSpec {
                time_ms: 1_000.5,
                name: "événement😀".into(),
                attrs: vec![s("k", "中")],
                dropped: 0,
            }],
            ..span("名前 é 😀")
        };
        let lg = LogSpec {
            logger: "lögger".into(),
            props: vec![("ключ".into(), "значение😀".into()), ("plain".into(), "text".into())],
            ..log("message 中😀é")
        };
        // ASCII-only records before and after the non-ASCII ones, in the same batch.
        let batch = Batch::new()
            .span(&span("ascii-before"))
            .span(&sp)
            .log(&lg)
            .log(&log("ascii-after"))
            .span(&span("end"))
            .ingest(&mut t);
        assert_eq!(batch, 5);
        assert_eq!(t.diagnostics().invalid_inputs, 0);
        assert_eq!(
            delivered(&t),
            ["span ascii-before", "span 名前 é 😀", "log message", "log ascii-after", "span end"]
        );

        let (spans, logs) = exported(&mut t);
        let names: Vec<&str> = spans.iter().map(|v| str_at(v, &["name"])).collect();
        assert_eq!(names, ["ascii-before", "名前 é 😀", "end"]);
        let v = &spans[1];
        assert_eq!(str_at(v, &["status", "message"]), "échec 😀");
        let attrs = at(v, &["attributes"]);
        assert_eq!(str_at(attr(attrs, "clé"), &["stringValue"]), "valeur é");
        assert_eq!(str_at(attr(attrs, "ascii"), &["stringValue"]), "plain");
        assert_eq!(str_at(attr(attrs, "中"), &["stringValue"]), "中文😀x");
        assert_eq!(str_at(attr(attrs, "emoji😀"), &["stringValue"]), "😀");
        assert_eq!(num_at(attr(attrs, "数"), &["doubleValue"]), 1.5);
        let event = &array_at(v, &["events"])[0];
        assert_eq!(str_at(event, &["name"]), "événement😀");
        assert_eq!(str_at(attr(at(event, &["attributes"]), "k"), &["stringValue"]), "中");

        let bodies: Vec<&str> = logs.iter().map(|v| str_at(v, &["body", "stringValue"])).collect();
        assert_eq!(bodies, ["message 中😀é", "ascii-after"]);
        let attrs = at(&logs[0], &["attributes"]);
        assert_eq!(str_at(attr(attrs, "logger.name"), &["stringValue"]), "lögger");
        assert_eq!(str_at(attr(attrs, "ключ"), &["stringValue"]), "значение😀");
        assert_eq!(str_at(attr(attrs, "plain"), &["stringValue"]), "text");
    }

    // ---- Limits ----

    #[test]
    fn dropped_counts_from_js_reach_diagnostics_and_the_span() {
        let mut t = client();
        let sp = SpanSpec {
            attrs: vec![s("kept", "1")],
            dropped_attrs: 3,
            events: vec![EventSpec { time_ms: 1_000.0, name: "e".into(), attrs: vec![n("x", 1.0)], dropped: 1 }],
            dropped_events: 2,
            links: vec![LinkSpec { trace: TRACE, span: PARENT, attrs: vec![], dropped: 4, ..LinkSpec::default() }],
            dropped_links: 5,
            ..span("busy")
        };
        assert_eq!(Batch::new().span(&sp).ingest(&mut t), 1);
        let d = t.diagnostics();
        assert_eq!((d.attributes_dropped, d.events_dropped, d.links_dropped), (3 + 1 + 4, 2, 5));
        assert_eq!(d.invalid_inputs, 0);

        let (spans, _) = exported(&mut t);
        let v = &spans[0];
        assert_eq!(num_at(v, &["droppedAttributesCount"]), 3.0);
        assert_eq!(num_at(v, &["droppedEventsCount"]), 2.0);
        assert_eq!(num_at(v, &["droppedLinksCount"]), 5.0);
        assert_eq!(num_at(&array_at(v, &["events"])[0], &["droppedAttributesCount"]), 1.0);
        assert_eq!(num_at(&array_at(v, &["links"])[0], &["droppedAttributesCount"]), 4.0);
        assert_eq!(array_at(v, &["attributes"]).len(), 1);
    }

    #[test]
    fn value_lengths_are_cut_here_and_counted() {
        let mut t = client_with(SpanLimits { value_length: 16, ..SpanLimits::default() });
        let long = "x".repeat(20);
        let sp = SpanSpec {
            attrs: vec![
                s("ascii", &long),
                s("accents", &"é".repeat(20)),
                s("emoji", &"😀".repeat(10)), // 20 units
                s("exact", &"y".repeat(16)),
                s(&"k".repeat(20), "long key"),
            ],
            events: vec![EventSpec { time_ms: 1_000.0, name: "note".into(), attrs: vec![s("v", &long)], dropped: 0 }],
            links: vec![LinkSpec { trace: TRACE, span: PARENT, attrs: vec![s("v", &long)], ..LinkSpec::default() }],
            ..span(&"n".repeat(MAX_NAME_LENGTH + 10))
        };
        let lg = LogSpec { props: vec![("p".into(), long.clone())], ..log(&"m".repeat(40)) };
        assert_eq!(Batch::new().span(&sp).log(&lg).ingest(&mut t), 2);
        // ascii, accents, emoji, the key, the event value, the link value, the name, the property.
        assert_eq!(t.diagnostics().values_truncated, 8);
        assert_eq!(t.diagnostics().invalid_inputs, 0);

        let (spans, logs) = exported(&mut t);
        let v = &spans[0];
        assert_eq!(str_at(v, &["name"]), "n".repeat(MAX_NAME_LENGTH));
        let attrs = at(v, &["attributes"]);
        assert_eq!(str_at(attr(attrs, "ascii"), &["stringValue"]), "x".repeat(16));
        assert_eq!(str_at(attr(attrs, "accents"), &["stringValue"]), "é".repeat(16), "cut in UTF-16 units");
        assert_eq!(str_at(attr(attrs, "emoji"), &["stringValue"]), "😀".repeat(8), "never inside a pair");
        assert_eq!(str_at(attr(attrs, "exact"), &["stringValue"]), "y".repeat(16));
        assert_eq!(str_at(attr(attrs, &"k".repeat(16)), &["stringValue"]), "long key");
        let event = &array_at(v, &["events"])[0];
        assert_eq!(str_at(attr(at(event, &["attributes"]), "v"), &["stringValue"]), "x".repeat(16));
        let link = &array_at(v, &["links"])[0];
        assert_eq!(str_at(attr(at(link, &["attributes"]), "v"), &["stringValue"]), "x".repeat(16));
        assert_eq!(str_at(attr(at(&logs[0], &["attributes"]), "p"), &["stringValue"]), "x".repeat(16));
    }

    #[test]
    fn exception_events_keep_values_up_to_32768_units() {
        let mut t = client_with(SpanLimits { value_length: 16, ..SpanLimits::default() });
        let stack = format!("Error: boom\n{}", "    at f (a.js:1:1)\n".repeat(1_600));
        assert!(stack.len() > 32_000 && stack.len() <= EXCEPTION_VALUE_LENGTH);
        let exception = EventSpec {
            time_ms: 1_000.0,
            name: "exception".into(),
            attrs: vec![
                s("exception.type", "TypeErrorWithALongName"),
                s("exception.stacktrace", &stack),
                s("exception.message", &"m".repeat(EXCEPTION_VALUE_LENGTH + 100)),
            ],
            dropped: 0,
        };
        let other = EventSpec { name: "exceptional".into(), attrs: vec![s("v", &stack)], ..exception.clone() };
        let sp = SpanSpec { events: vec![exception, other], ..span("fails") };
        assert_eq!(Batch::new().span(&sp).ingest(&mut t), 1);
        // The over-long message, and the value of the event that is not named "exception".
        assert_eq!(t.diagnostics().values_truncated, 2);

        let (spans, _) = exported(&mut t);
        let events = array_at(&spans[0], &["events"]);
        let attrs = at(&events[0], &["attributes"]);
        assert_eq!(str_at(attr(attrs, "exception.type"), &["stringValue"]), "TypeErrorWithALongName");
        assert_eq!(str_at(attr(attrs, "exception.stacktrace"), &["stringValue"]), stack, "kept whole");
        assert_eq!(str_at(attr(attrs, "exception.message"), &["stringValue"]).len(), EXCEPTION_VALUE_LENGTH);
        assert_eq!(str_at(attr(at(&events[1], &["attributes"]), "v"), &["stringValue"]), &stack[..16]);
    }

    // ---- Malformed batches ----

    /// A complete log, then `bad`, then a complete span that must not be reached.
    fn around(bad: impl FnOnce(&mut Batch)) -> Batch {
        let mut batch = Batch::new();
        batch.log(&log("before"));
        bad(&mut batch);
        batch.span(&span("after"));
        batch
    }

    /// Ingests `batch`: exactly the log before the malformed record is delivered, and one
    /// invalid input is counted.
    fn assert_stops_after_first(batch: &Batch, what: &str) {
        let mut t = client();
        assert_eq!(batch.ingest(&mut t), 1, "{what}: records taken");
        assert_eq!(t.diagnostics().invalid_inputs, 1, "{what}: invalid inputs");
        assert_eq!(delivered(&t), ["log before"], "{what}: delivered");
    }

    #[test]
    fn a_truncated_number_channel_is_one_invalid_input() {
        let full = SpanSpec {
            parent: Some(PARENT),
            status: 2,
            message: "bad".into(),
            attrs: vec![s("a", "b"), n("n", 1.5)],
            events: vec![EventSpec { time_ms: 1.0, name: "e".into(), attrs: vec![b("t", true)], dropped: 0 }],
            links: vec![LinkSpec { trace: TRACE, span: SPAN, attrs: vec![n("x", 2.0)], ..LinkSpec::default() }],
            ..span("cut")
        };
        let mut whole = Batch::new();
        whole.log(&log("before")).span(&full);
        let record_start = {
            let mut b = Batch::new();
            b.log(&log("before"));
            b.nums.len()
        };
        // Every cut inside the span record: the log before it is still delivered.
        for end in record_start + 1..whole.nums.len() {
            let batch = Batch { nums: whole.nums[..end].to_vec(), strs: whole.strs.clone() };
            assert_stops_after_first(&batch, &format!("numbers cut at {end}"));
        }
        // Cut inside the log record too.
        for end in 1..record_start {
            let mut t = client();
            let batch = Batch { nums: whole.nums[..end].to_vec(), strs: whole.strs.clone() };
            assert_eq!(batch.ingest(&mut t), 0);
            assert_eq!(t.diagnostics().invalid_inputs, 1);
            assert!(t.host.printed.is_empty());
        }
        let mut t = client();
        assert_eq!(whole.ingest(&mut t), 2, "the whole batch is fine");
        assert_eq!(t.diagnostics().invalid_inputs, 0);
    }

    #[test]
    fn a_truncated_string_channel_is_one_invalid_input() {
        let mut whole = Batch::new();
        whole.log(&log("before")).span(&SpanSpec { attrs: vec![s("k", "v")], ..span("after") });
        // Drop strings from the end: the span is missing its name, trace state, key or value.
        for keep in 2..whole.strs.len() {
            let batch = Batch { nums: whole.nums.clone(), strs: whole.strs[..keep].to_vec() };
            assert_stops_after_first(&batch, &format!("{keep} strings"));
        }
    }

    #[test]
    fn lengths_longer_than_an_ascii_text_are_one_invalid_input() {
        let batch = around(|b| {
            b.span(&span("x"));
        });
        let (mut lengths, text) = batch.channels();
        // The span's name claims more units than the rest of the text holds.
        lengths[2] = text.len() as u32 + 1;
        let mut t = client();
        assert_eq!(ingest(&mut t, &batch.nums, Strings::new(&text, &lengths)), 1);
        assert_eq!(t.diagnostics().invalid_inputs, 1);
        assert_eq!(delivered(&t), ["log before"]);

        let mut t = client();
        assert_eq!(ingest(&mut t, &batch.nums, Strings::new("", &lengths)), 0, "no text at all");
        assert_eq!(t.diagnostics().invalid_inputs, 1);
        assert!(t.host.printed.is_empty());
    }

    #[test]
    fn a_length_inside_a_surrogate_pair_does_not_panic() {
        // Lengths that end inside an emoji (JS strings ending and starting with lone surrogates
        // that the join turned into one pair), or run past the text.
        for (text, lengths) in [
            ("😀", vec![1, 1]),
            ("😀", vec![1]),
            ("a😀b", vec![2, 2]),
            ("é😀", vec![2, 1]),
            ("😀😀", vec![3, 1]),
            ("中😀", vec![0, 2, 1]),
            ("é", vec![5, 3]),
        ] {
            let mut strings = Strings::new(text, &lengths);
            let got: Vec<String> = std::iter::from_fn(|| strings.next()).collect();
            // Whatever is read is whole characters of the text, in order.
            assert!(text.starts_with(&got.concat()), "{text:?} {lengths:?}: {got:?}");
        }
        // Through ingest: a span whose name ends inside an emoji, between two logs.
        let mut batch = Batch::new();
        batch.log(&log("before")).span(&span("ab😀")).log(&log("after"));
        let (mut lengths, text) = batch.channels();
        assert_eq!(lengths[2], 4);
        lengths[2] = 3; // "ab" and the high half of the emoji
        lengths[3] = 1; // the low half starts the (empty) trace state
        let mut t = client();
        let taken = ingest(&mut t, &batch.nums, Strings::new(&text, &lengths));
        assert!(taken <= 3);
        assert_eq!(delivered(&t)[0], "log before");
        // No panic; what the decoder makes of such a split is in the next test.
    }

    #[test]
    fn a_length_inside_a_surrogate_pair_garbles_at_most_its_neighbours() {
        // JS strings "ab\u{D83D}" (3 units), "\u{DE00}cd" (3 units) and "ef" (2 units): the
        // join makes a valid pair of the two lone surrogates, which reaches wasm as one emoji.
        let text = "ab😀cdef";
        let lengths = [3, 3, 2];
        let mut strings = Strings::new(text, &lengths);
        let got: Vec<String> = std::iter::from_fn(|| strings.next()).collect();
        // The pair goes to the second string; the strings after it decode exactly.
        assert_eq!(got, ["ab", "😀cd", "ef"]);
        assert_eq!(got[2], "ef", "strings after the damaged pair decode exactly: {got:?}");
    }

    #[test]
    fn lengths_longer_than_a_non_ascii_text_are_one_invalid_input() {
        let batch = around(|b| {
            b.span(&span("é"));
        });
        let (mut lengths, text) = batch.channels();
        assert!(!text.is_ascii());
        lengths[2] = text.encode_utf16().count() as u32 + 1;
        let mut t = client();
        assert_eq!(ingest(&mut t, &batch.nums, Strings::new(&text, &lengths)), 1);
        assert_eq!(t.diagnostics().invalid_inputs, 1);
    }

    #[test]
    fn a_malformed_op_code_is_one_invalid_input() {
        for op in [-1.0, 0.5, f64::NAN, f64::INFINITY, 1.0e7] {
            let batch = around(|b| {
                b.nums(&[op]);
            });
            assert_stops_after_first(&batch, &format!("op {op}"));
        }
    }

    #[test]
    fn bad_id_words_are_one_invalid_input() {
        let bad_words = [-1.0, 0.5, 1.0e-9, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 4_294_967_296.0, 1.0e300];
        for bad in bad_words {
            // Each id position: trace id, span id, parent id, link trace and span id, log correlation.
            let span_at = |offset: usize| {
                around(|b| {
                    let sp = SpanSpec {
                        parent: Some(PARENT),
                        links: vec![LinkSpec { trace: TRACE, span: SPAN, ..LinkSpec::default() }],
                        ..span("bad")
                    };
                    let start = b.nums.len();
                    b.span(&sp);
                    b.nums[start + offset] = bad;
                })
            };
            // OP kind flags trace[4] span[2] 1 parent[2] start end status attrs(2) events(2) links(2) link...
            for (offset, what) in [(3, "trace word 0"), (6, "trace word 3"), (7, "span word 0"), (8, "span word 1")] {
                assert_stops_after_first(&span_at(offset), &format!("{what} = {bad}"));
            }
            assert_stops_after_first(&span_at(10), &format!("parent word 0 = {bad}"));
            assert_stops_after_first(&span_at(11), &format!("parent word 1 = {bad}"));
            let link_start = 12 + 3 + 2 + 2 + 2;
            assert_stops_after_first(&span_at(link_start), &format!("link trace word = {bad}"));
            assert_stops_after_first(&span_at(link_start + 5), &format!("link span word = {bad}"));

            let log_at = |offset: usize| {
                around(|b| {
                    let start = b.nums.len();
                    b.log(&LogSpec { correlation: Some((TRACE, SPAN)), ..log("bad") });
                    b.nums[start + offset] = bad;
                })
            };
            // OP severity time 1 trace[4] span[2] count
            assert_stops_after_first(&log_at(4), &format!("log trace word = {bad}"));
            assert_stops_after_first(&log_at(9), &format!("log span word = {bad}"));
        }
        // The largest word is fine.
        let mut t = client();
        let sp = SpanSpec { trace: [u32::MAX; 4], span: [u32::MAX; 2], ..span("max") };
        assert_eq!(Batch::new().span(&sp).ingest(&mut t), 1);
        let (spans, _) = exported(&mut t);
        assert_eq!(str_at(&spans[0], &["traceId"]), "f".repeat(32));
        assert_eq!(str_at(&spans[0], &["spanId"]), "f".repeat(16));
    }

    #[test]
    fn bad_times_and_counts_are_one_invalid_input() {
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1.0e15] {
            for (offset, what) in [(10, "start"), (11, "end")] {
                let batch = around(|b| {
                    let start = b.nums.len();
                    b.span(&span("bad"));
                    b.nums[start + offset] = bad;
                });
                assert_stops_after_first(&batch, &format!("{what} = {bad}"));
            }
            let batch = around(|b| {
                let start = b.nums.len();
                b.log(&log("bad"));
                b.nums[start + 2] = bad;
            });
            assert_stops_after_first(&batch, &format!("log time = {bad}"));
        }
        for bad in [-1.0, 2.5, f64::NAN, 1_000_001.0] {
            // The span's attribute count, and the log's property count.
            let batch = around(|b| {
                let start = b.nums.len();
                b.span(&span("bad"));
                b.nums[start + 13] = bad;
            });
            assert_stops_after_first(&batch, &format!("attribute count = {bad}"));
            let batch = around(|b| {
                let start = b.nums.len();
                b.log(&log("bad"));
                b.nums[start + 4] = bad;
            });
            assert_stops_after_first(&batch, &format!("property count = {bad}"));
        }
    }

    #[test]
    fn an_unknown_op_code_is_one_invalid_input() {
        for op in [0.0, 3.0, 255.0, 1_000_000.0] {
            let batch = around(|b| {
                b.nums(&[op]);
            });
            assert_stops_after_first(&batch, &format!("op {op}"));
        }
    }

    #[test]
    fn an_unknown_attribute_type_is_one_invalid_input() {
        let with_type = |kind: f64, place: &str| {
            around(|b| {
                let sp = match place {
                    "span" => SpanSpec { attrs: vec![s("k", "v")], ..span("bad") },
                    "event" => SpanSpec {
                        events: vec![EventSpec {
                            time_ms: 1.0,
                            name: "e".into(),
                            attrs: vec![s("k", "v")],
                            dropped: 0,
                        }],
                        ..span("bad")
                    },
                    _ => SpanSpec {
                        links: vec![LinkSpec {
                            trace: TRACE,
                            span: SPAN,
                            attrs: vec![s("k", "v")],
                            ..LinkSpec::default()
                        }],
                        ..span("bad")
                    },
                };
                let start = b.nums.len();
                b.span(&sp);
                // The single attribute's type is the first 0 written after its count and dropped.
                let type_at = match place {
                    "span" => 15,
                    "event" => 13 + 2 + 2 + 1 + 2,
                    _ => 13 + 2 + 2 + 2 + 6 + 2,
                };
                assert_eq!(b.nums[start + type_at], 0.0, "{place}: the type slot");
                b.nums[start + type_at] = kind;
            })
        };
        for place in ["span", "event", "link"] {
            for kind in [4.0, 17.0, -1.0, 0.5] {
                assert_stops_after_first(&with_type(kind, place), &format!("{place} attribute type {kind}"));
            }
            // Sanity: the unmodified record is fine.
            let mut t = client();
            assert_eq!(with_type(0.0, place).ingest(&mut t), 3, "{place}");
            assert_eq!(t.diagnostics().invalid_inputs, 0);
        }
    }

    #[test]
    fn an_invalid_link_is_dropped_and_counted_but_the_span_is_kept() {
        let mut t = client();
        let sp = SpanSpec {
            links: vec![
                LinkSpec { trace: [0; 4], span: SPAN, attrs: vec![s("k", "v")], ..LinkSpec::default() },
                LinkSpec { trace: TRACE, span: [0; 2], ..LinkSpec::default() },
                LinkSpec { trace: TRACE, span: PARENT, trace_state: "a=1".into(), ..LinkSpec::default() },
            ],
            ..span("linked")
        };
        assert_eq!(Batch::new().span(&sp).log(&log("after")).ingest(&mut t), 2);
        assert_eq!(t.diagnostics().invalid_inputs, 2, "one per invalid link");
        assert_eq!(delivered(&t), ["span linked", "log after"]);
        let (spans, _) = exported(&mut t);
        let links = array_at(&spans[0], &["links"]);
        assert_eq!(links.len(), 1);
        assert_eq!(str_at(&links[0], &["spanId"]), PARENT_HEX);
        assert_eq!(str_at(&links[0], &["traceState"]), "a=1");
    }

    #[test]
    fn empty_keys_and_non_finite_numbers_are_counted_and_skipped() {
        let mut t = client();
        let sp = SpanSpec {
            attrs: vec![s("", "v"), n("nan", f64::NAN), n("inf", f64::INFINITY), s("ok", "1")],
            ..span("x")
        };
        let lg = LogSpec { props: vec![(String::new(), "v".into()), ("ok".into(), "1".into())], ..log("y") };
        assert_eq!(Batch::new().span(&sp).log(&lg).ingest(&mut t), 2);
        assert_eq!(t.diagnostics().invalid_inputs, 4);
        let (spans, logs) = exported(&mut t);
        assert_eq!(array_at(&spans[0], &["attributes"]).len(), 1);
        assert_eq!(array_at(&logs[0], &["attributes"]).len(), 2, "ok and logger.name");
    }

    #[test]
    fn mangled_batches_never_panic() {
        let full = SpanSpec {
            parent: Some(PARENT),
            status: 2,
            message: "é😀".into(),
            attrs: vec![s("a", "中"), n("n", 1.5), b("t", true)],
            events: vec![EventSpec { time_ms: 1.0, name: "exception".into(), attrs: vec![s("k", "v")], dropped: 1 }],
            links: vec![LinkSpec { trace: TRACE, span: SPAN, attrs: vec![n("x", 2.0)], ..LinkSpec::default() }],
            ..span("😀 span")
        };
        let lg =
            LogSpec { correlation: Some((TRACE, SPAN)), props: vec![("k".into(), "😀".into())], ..log("log é") };
        let mut batch = Batch::new();
        batch.span(&full).log(&lg).span(&span("tail"));
        let (lengths, text) = batch.channels();
        let replacements = [0.0, 1.0, 2.0, 3.0, 4.0, -1.0, 0.5, f64::NAN, f64::INFINITY, 1.0e6, 4.0e9, 1.0e20];
        for i in 0..batch.nums.len() {
            for r in replacements {
                let mut nums = batch.nums.clone();
                nums[i] = r;
                let mut t = client();
                let taken = ingest(&mut t, &nums, Strings::new(&text, &lengths));
                assert!(taken <= 3 + 1, "nums[{i}] = {r}");
            }
        }
        for i in 0..lengths.len() {
            for delta in [-1i64, 1, 2, 1_000] {
                let mut l = lengths.clone();
                l[i] = (i64::from(l[i]) + delta).max(0) as u32;
                let mut t = client();
                assert!(ingest(&mut t, &batch.nums, Strings::new(&text, &l)) <= 3, "lengths[{i}] {delta:+}");
            }
        }
    }

    // ---- What ingest returns ----

    #[test]
    fn ingest_returns_the_number_of_records_taken() {
        let mut t = client();
        assert_eq!(Batch::new().ingest(&mut t), 0, "an empty batch");
        assert_eq!(t.diagnostics().invalid_inputs, 0);
        assert!(t.host.printed.is_empty());

        let mut batch = Batch::new();
        batch.span(&span("a")).log(&log("b")).log(&log("c")).span(&span("d"));
        assert_eq!(batch.ingest(&mut t), 4);
        assert_eq!(delivered(&t), ["span a", "log b", "log c", "span d"]);
        assert_eq!((t.diagnostics().spans_ended, t.diagnostics().logs_recorded), (2, 2));

        // Records after a malformed one are not taken.
        batch.nums(&[42.0]).span(&span("e"));
        let mut t = client();
        assert_eq!(batch.ingest(&mut t), 4);
        assert_eq!(t.diagnostics().invalid_inputs, 1);
        assert_eq!(t.diagnostics().spans_ended, 2);
    }

    #[test]
    fn log_records_of_a_batch_share_the_previous_logger_name() {
        // What js/core.js writes when one logger logs twice: the second record says "same".
        let mut batch = Batch::new();
        batch.log(&LogSpec { logger: "checkout".into(), ..log("first") });
        batch.nums(&[f64::from(OP_LOG), 1.0, 1.0, 0.0, 0.0, 1.0]).strs(&["second"]);
        let mut t = client();
        assert_eq!(batch.ingest(&mut t), 2);
        assert_eq!(t.diagnostics().invalid_inputs, 0);
        let (_, logs) = exported(&mut t);
        assert_eq!(logs.len(), 2);
        for record in &logs {
            assert_eq!(str_at(attr(at(record, &["attributes"]), "logger.name"), &["stringValue"]), "checkout");
        }

        // "The same as the previous one" with no previous record is malformed.
        let mut batch = Batch::new();
        batch.nums(&[f64::from(OP_LOG), 1.0, 1.0, 0.0, 0.0, 1.0]).strs(&["orphan"]);
        let mut t = client();
        assert_eq!(batch.ingest(&mut t), 0);
        assert_eq!(t.diagnostics().invalid_inputs, 1);
    }

    #[test]
    fn a_correlated_log_record_carries_the_spans_trace_flags() {
        // `correlated` is 1 + the span's trace flags: 2 for a sampled span, 1 for an unsampled one.
        for (correlated, flags) in [(2.0, 1.0), (1.0, 0.0)] {
            let mut batch = Batch::new();
            batch.nums(&[f64::from(OP_LOG), 1.0, 1.0, correlated]);
            batch.words(&[1, 2, 3, 4]).words(&[5, 6]).nums(&[0.0, 0.0]).strs(&["in a span", "app"]);
            let mut t = client();
            assert_eq!(batch.ingest(&mut t), 1);
            let (_, logs) = exported(&mut t);
            assert_eq!(num_at(&logs[0], &["flags"]), flags, "correlated = {correlated}");
        }
    }
}
