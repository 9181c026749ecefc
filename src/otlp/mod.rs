//! OTLP/HTTP with JSON encoding, exactly as the OTLP specification maps protobuf to JSON:
//! trace and span ids as hex strings, 64-bit integers as decimal strings, enums as integers,
//! lowerCamelCase field names. One exporter per signal: `/v1/traces`, `/v1/metrics`, `/v1/logs`.
//!
//! Items are encoded one by one (a span, a log record, a metric) and joined into a request
//! between the signal's resource/scope prefix and its suffix.

pub mod response;

use crate::ids::push_hex;
use crate::json::{push_f64, push_i64, push_string, push_u64};
use crate::log::{ExceptionRecord, LogRecord, Severity};
use crate::stats::aggregation::{Aggregation, AggregationData};
use crate::stats::view::{MeasureKind, ViewState};
use crate::stats::Stats;
use crate::trace::{AttributeValue, Attributes, SpanData, SpanKind, Status};

/// The three signals, each with its own path and wrapper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    pub fn path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }
    fn keys(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Signal::Traces => ("resourceSpans", "scopeSpans", "spans"),
            Signal::Metrics => ("resourceMetrics", "scopeMetrics", "metrics"),
            Signal::Logs => ("resourceLogs", "scopeLogs", "logRecords"),
        }
    }
}

/// Encodes items for OTLP; holds the resource and scope written around every request.
pub struct OtlpEncoder {
    /// `"resource":{...},` and `"scope":{...}` rendered once.
    resource: String,
    scope: String,
}

impl OtlpEncoder {
    /// `resource`: service.name, service.version, telemetry.sdk.* and the user's attributes.
    pub fn new(resource: &Attributes) -> OtlpEncoder {
        let mut r = String::from("{\"attributes\":");
        push_attributes(&mut r, resource);
        r.push('}');
        let mut scope = String::from("{\"name\":\"edgecensus\",\"version\":");
        push_string(&mut scope, env!("CARGO_PKG_VERSION"));
        scope.push('}');
        OtlpEncoder { resource: r, scope }
    }

    /// The text before and after the comma-joined items of one request.
    pub fn framing(&self, signal: Signal) -> (String, String) {
        let (resource_key, scope_key, items_key) = signal.keys();
        let prefix = format!(
            "{{\"{resource_key}\":[{{\"resource\":{},\"{scope_key}\":[{{\"scope\":{},\"{items_key}\":[",
            self.resource, self.scope
        );
        (prefix, "]}]}]}".to_owned())
    }

    pub fn encode_span(&self, span: &SpanData) -> String {
        let mut out = String::with_capacity(384);
        out.push_str("{\"traceId\":\"");
        push_hex(&mut out, &span.context.trace_id.0);
        out.push_str("\",\"spanId\":\"");
        push_hex(&mut out, &span.context.span_id.0);
        out.push('"');
        if !span.context.trace_state.is_empty() {
            out.push_str(",\"traceState\":");
            push_string(&mut out, &span.context.trace_state.header());
        }
        if let Some(parent) = span.parent_span_id {
            out.push_str(",\"parentSpanId\":\"");
            push_hex(&mut out, &parent.0);
            out.push('"');
        }
        out.push_str(",\"flags\":");
        push_u64(&mut out, u64::from(span.context.trace_flags));
        out.push_str(",\"name\":");
        push_string(&mut out, &span.name);
        out.push_str(",\"kind\":");
        push_u64(&mut out, kind_number(span.kind));
        push_nanos(&mut out, "startTimeUnixNano", span.start_unix_nanos);
        push_nanos(&mut out, "endTimeUnixNano", span.end_unix_nanos.max(span.start_unix_nanos));
        out.push_str(",\"attributes\":");
        push_attributes(&mut out, &span.attributes);
        push_dropped(&mut out, "droppedAttributesCount", span.attributes.dropped);
        out.push_str(",\"events\":[");
        for (i, event) in span.events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('{');
            out.push_str("\"timeUnixNano\":\"");
            push_u64(&mut out, event.time_unix_nanos);
            out.push_str("\",\"name\":");
            push_string(&mut out, &event.name);
            out.push_str(",\"attributes\":");
            push_attributes(&mut out, &event.attributes);
            push_dropped(&mut out, "droppedAttributesCount", event.attributes.dropped);
            out.push('}');
        }
        out.push(']');
        push_dropped(&mut out, "droppedEventsCount", span.dropped_events);
        out.push_str(",\"links\":[");
        for (i, link) in span.links.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"traceId\":\"");
            push_hex(&mut out, &link.trace_id.0);
            out.push_str("\",\"spanId\":\"");
            push_hex(&mut out, &link.span_id.0);
            out.push('"');
            if !link.trace_state.is_empty() {
                out.push_str(",\"traceState\":");
                push_string(&mut out, &link.trace_state.header());
            }
            out.push_str(",\"attributes\":");
            push_attributes(&mut out, &link.attributes);
            push_dropped(&mut out, "droppedAttributesCount", link.attributes.dropped);
            out.push('}');
        }
        out.push(']');
        push_dropped(&mut out, "droppedLinksCount", span.dropped_links);
        out.push_str(",\"status\":{");
        match &span.status {
            Status::Unset => out.push_str("\"code\":0"),
            Status::Ok => out.push_str("\"code\":1"),
            Status::Error(message) => {
                out.push_str("\"code\":2");
                if !message.is_empty() {
                    out.push_str(",\"message\":");
                    push_string(&mut out, message);
                }
            }
        }
        out.push_str("}}");
        out
    }

    pub fn encode_log(&self, record: &LogRecord) -> String {
        let mut out = String::with_capacity(192 + record.message.len());
        self.open_log(&mut out, record.time_unix_nanos, record.severity);
        out.push_str(",\"body\":{\"stringValue\":");
        push_string(&mut out, &record.message);
        out.push_str("},\"attributes\":[");
        push_attribute_list(&mut out, &record.properties);
        if !record.logger.is_empty() {
            if !record.properties.entries.is_empty() {
                out.push(',');
            }
            push_string_attribute(&mut out, "logger.name", &record.logger);
        }
        out.push(']');
        push_dropped(&mut out, "droppedAttributesCount", record.properties.dropped);
        push_correlation(&mut out, record.correlation);
        out.push('}');
        out
    }

    /// An exception as a log record with the `exception.*` semantic-convention attributes (the
    /// outermost exception; the others of a chain are summarised in `exception.causes`).
    pub fn encode_exception(&self, record: &ExceptionRecord) -> String {
        let mut out = String::with_capacity(512);
        self.open_log(&mut out, record.time_unix_nanos, record.severity);
        let mut attributes = Attributes::default();
        if let Some(first) = record.exceptions.first() {
            out.push_str(",\"body\":{\"stringValue\":");
            push_string(&mut out, &first.message);
            out.push('}');
            attributes.entries.push(("exception.type".into(), AttributeValue::Str(first.type_name.clone())));
            attributes.entries.push(("exception.message".into(), AttributeValue::Str(first.message.clone())));
            if !first.stack.is_empty() {
                attributes.entries.push(("exception.stacktrace".into(), AttributeValue::Str(first.stack.clone())));
            }
        }
        if record.exceptions.len() > 1 {
            let causes: Vec<String> =
                record.exceptions[1..].iter().map(|e| format!("{}: {}", e.type_name, e.message)).collect();
            attributes.entries.push(("exception.causes".into(), AttributeValue::Str(causes.join("\n"))));
        }
        attributes.entries.extend(record.properties.entries.iter().cloned());
        out.push_str(",\"attributes\":");
        push_attributes(&mut out, &attributes);
        push_dropped(&mut out, "droppedAttributesCount", record.properties.dropped);
        push_correlation(&mut out, record.correlation);
        out.push('}');
        out
    }

    fn open_log(&self, out: &mut String, time: u64, severity: Severity) {
        out.push('{');
        out.push_str("\"timeUnixNano\":\"");
        push_u64(out, time);
        out.push_str("\",\"observedTimeUnixNano\":\"");
        push_u64(out, time);
        out.push_str("\",\"severityNumber\":");
        let (number, text) = severity_number(severity);
        push_u64(out, number);
        out.push_str(",\"severityText\":");
        push_string(out, text);
    }

    /// Every view as one metric with a data point per series (cumulative since registration).
    pub fn encode_metrics(&self, stats: &Stats, now_unix_nanos: u64, emit: &mut dyn FnMut(String)) {
        for view in stats.views() {
            if view.series.is_empty() {
                continue;
            }
            let int = stats.measure(view.view.measure).is_some_and(|m| m.kind == MeasureKind::Int);
            let unit = stats.measure(view.view.measure).map_or("", |m| m.unit.as_str());
            emit(self.encode_view(view, unit, int, now_unix_nanos));
        }
    }

    fn encode_view(&self, view: &ViewState, unit: &str, int: bool, now: u64) -> String {
        let mut out = String::with_capacity(256 + 128 * view.series.len());
        out.push_str("{\"name\":");
        push_string(&mut out, &view.view.name);
        out.push_str(",\"description\":");
        push_string(&mut out, &view.view.description);
        out.push_str(",\"unit\":");
        // A Count counts measurements, whatever the measure's unit.
        push_string(&mut out, if view.view.aggregation == Aggregation::Count { "1" } else { unit });
        let (kind, closing) = match &view.view.aggregation {
            Aggregation::Count | Aggregation::Sum => ("sum", ",\"aggregationTemporality\":2,\"isMonotonic\":true}"),
            Aggregation::LastValue => ("gauge", "}"),
            Aggregation::Distribution(_) => ("histogram", ",\"aggregationTemporality\":2}"),
        };
        out.push_str(",\"");
        out.push_str(kind);
        out.push_str("\":{\"dataPoints\":[");
        for (i, series) in view.series.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"attributes\":[");
            let mut first = true;
            for (column, value) in view.view.columns.iter().zip(&series.tag_values) {
                let Some(value) = value else { continue };
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str("{\"key\":");
                push_string(&mut out, column);
                out.push_str(",\"value\":{\"stringValue\":");
                push_string(&mut out, value);
                out.push_str("}}");
            }
            out.push(']');
            if !matches!(series.data, AggregationData::LastValue(_)) {
                push_nanos(&mut out, "startTimeUnixNano", view.start_unix_nanos);
            }
            push_nanos(&mut out, "timeUnixNano", now);
            match &series.data {
                AggregationData::Count(n) => {
                    out.push_str(",\"asInt\":\"");
                    push_u64(&mut out, *n);
                    out.push('"');
                }
                AggregationData::Sum(v) | AggregationData::LastValue(v) => {
                    if int && v.fract() == 0.0 && v.abs() < 9.0e18 {
                        out.push_str(",\"asInt\":\"");
                        push_i64(&mut out, *v as i64);
                        out.push('"');
                    } else {
                        out.push_str(",\"asDouble\":");
                        push_f64(&mut out, *v);
                    }
                }
                AggregationData::Distribution(d) => {
                    out.push_str(",\"count\":\"");
                    push_u64(&mut out, d.count);
                    out.push_str("\",\"sum\":");
                    push_f64(&mut out, d.sum());
                    out.push_str(",\"bucketCounts\":[");
                    for (j, c) in d.bucket_counts.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        out.push('"');
                        push_u64(&mut out, *c);
                        out.push('"');
                    }
                    out.push_str("],\"explicitBounds\":[");
                    if let Aggregation::Distribution(bounds) = &view.view.aggregation {
                        for (j, b) in bounds.iter().enumerate() {
                            if j > 0 {
                                out.push(',');
                            }
                            push_f64(&mut out, *b);
                        }
                    }
                    out.push(']');
                    if d.count > 0 {
                        out.push_str(",\"min\":");
                        push_f64(&mut out, d.min);
                        out.push_str(",\"max\":");
                        push_f64(&mut out, d.max);
                    }
                }
            }
            out.push('}');
        }
        out.push(']');
        out.push_str(closing);
        out.push('}');
        out
    }
}

fn kind_number(kind: SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// OpenTelemetry severity numbers: DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21.
fn severity_number(severity: Severity) -> (u64, &'static str) {
    match severity {
        Severity::Verbose => (5, "DEBUG"),
        Severity::Information => (9, "INFO"),
        Severity::Warning => (13, "WARN"),
        Severity::Error => (17, "ERROR"),
        Severity::Critical => (21, "FATAL"),
    }
}

fn push_correlation(out: &mut String, correlation: Option<crate::log::Correlation>) {
    if let Some(c) = correlation {
        out.push_str(",\"traceId\":\"");
        push_hex(out, &c.trace_id.0);
        out.push_str("\",\"spanId\":\"");
        push_hex(out, &c.span_id.0);
        out.push_str("\",\"flags\":");
        push_u64(out, u64::from(c.trace_flags));
    }
}

fn push_nanos(out: &mut String, key: &str, nanos: u64) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":\"");
    push_u64(out, nanos);
    out.push('"');
}

fn push_dropped(out: &mut String, key: &str, count: u32) {
    if count > 0 {
        out.push_str(",\"");
        out.push_str(key);
        out.push_str("\":");
        push_u64(out, u64::from(count));
    }
}

/// `[{"key":"k","value":{"stringValue":"v"}}, ...]` with OTLP's typed values.
pub fn push_attributes(out: &mut String, attributes: &Attributes) {
    out.push('[');
    push_attribute_list(out, attributes);
    out.push(']');
}

/// The members of an attribute list, comma-separated, without the brackets.
fn push_attribute_list(out: &mut String, attributes: &Attributes) {
    for (i, (key, value)) in attributes.entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_attribute(out, key, value);
    }
}

fn push_string_attribute(out: &mut String, key: &str, value: &str) {
    out.push_str("{\"key\":");
    push_string(out, key);
    out.push_str(",\"value\":{\"stringValue\":");
    push_string(out, value);
    out.push_str("}}");
}

fn push_attribute(out: &mut String, key: &str, value: &AttributeValue) {
    if let AttributeValue::Str(s) = value {
        return push_string_attribute(out, key, s);
    }
    out.push_str("{\"key\":");
    push_string(out, key);
    out.push_str(",\"value\":{");
    match value {
        AttributeValue::Str(_) => {}
        AttributeValue::Bool(b) => out.push_str(if *b { "\"boolValue\":true" } else { "\"boolValue\":false" }),
        AttributeValue::Int(n) => {
            out.push_str("\"intValue\":\"");
            push_i64(out, *n);
            out.push('"');
        }
        AttributeValue::Float(f) => {
            out.push_str("\"doubleValue\":");
            push_f64(out, *f);
        }
    }
    out.push_str("}}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Diagnostics;
    use crate::ids::{SpanId, TraceId};
    use crate::json::{parse, JsonValue};
    use crate::trace::{Event, SpanContext, SpanLimits};
    use crate::trace_context::TraceState;

    fn encoder() -> OtlpEncoder {
        let mut resource = Attributes::default();
        resource.set(
            "service.name",
            AttributeValue::Str("svc".into()),
            &SpanLimits::default(),
            &mut Diagnostics::default(),
        );
        OtlpEncoder::new(&resource)
    }

    fn at<'a>(v: &'a JsonValue, path: &[&str]) -> &'a JsonValue {
        path.iter().fold(v, |v, k| v.get(k).unwrap_or_else(|| panic!("missing {k}")))
    }

    #[test]
    fn a_request_body_is_valid_json_with_resource_and_scope() {
        let e = encoder();
        let (prefix, suffix) = e.framing(Signal::Traces);
        let body = parse(&format!("{prefix}{{\"name\":\"a\"}},{{\"name\":\"b\"}}{suffix}")).unwrap();
        let rs = &at(&body, &["resourceSpans"]).as_array().unwrap()[0];
        let attrs = at(rs, &["resource", "attributes"]).as_array().unwrap();
        assert_eq!(at(&attrs[0], &["value", "stringValue"]).as_str(), Some("svc"));
        let ss = &at(rs, &["scopeSpans"]).as_array().unwrap()[0];
        assert_eq!(at(ss, &["scope", "name"]).as_str(), Some("edgecensus"));
        assert_eq!(at(ss, &["spans"]).as_array().unwrap().len(), 2);
        for signal in [Signal::Metrics, Signal::Logs] {
            let (p, s) = e.framing(signal);
            assert!(parse(&format!("{p}{s}")).is_ok());
        }
    }

    #[test]
    fn spans_follow_the_json_mapping() {
        let mut diag = Diagnostics::default();
        let limits = SpanLimits { attribute_count: 2, ..SpanLimits::default() };
        let mut attributes = Attributes::default();
        attributes.set("i", AttributeValue::Int(-3), &limits, &mut diag);
        attributes.set("f", AttributeValue::Float(0.5), &limits, &mut diag);
        attributes.set("dropped", AttributeValue::Bool(true), &limits, &mut diag);
        let span = SpanData {
            context: SpanContext {
                trace_id: TraceId([0xab; 16]),
                span_id: SpanId([0xcd; 8]),
                trace_flags: 1,
                trace_state: TraceState::parse("k=v").unwrap(),
                is_remote: false,
            },
            parent_span_id: Some(SpanId([1; 8])),
            name: "op".into(),
            kind: SpanKind::Client,
            start_unix_nanos: 1_795_609_259_000_000_001,
            end_unix_nanos: 1_795_609_259_000_000_009,
            attributes,
            events: vec![Event { name: "e".into(), time_unix_nanos: 5, attributes: Attributes::default() }],
            dropped_events: 2,
            links: vec![],
            dropped_links: 0,
            status: Status::Error("bad".into()),
        };
        let v = parse(&encoder().encode_span(&span)).unwrap();
        assert_eq!(at(&v, &["traceId"]).as_str(), Some("ab".repeat(16).as_str()));
        assert_eq!(at(&v, &["spanId"]).as_str(), Some("cd".repeat(8).as_str()));
        assert_eq!(at(&v, &["parentSpanId"]).as_str(), Some("01".repeat(8).as_str()));
        assert_eq!(at(&v, &["traceState"]).as_str(), Some("k=v"));
        assert_eq!(at(&v, &["kind"]).as_f64(), Some(3.0));
        assert_eq!(at(&v, &["startTimeUnixNano"]).as_str(), Some("1795609259000000001"), "64-bit integers as strings");
        let attrs = at(&v, &["attributes"]).as_array().unwrap();
        assert_eq!(at(&attrs[0], &["value", "intValue"]).as_str(), Some("-3"));
        assert_eq!(at(&attrs[1], &["value", "doubleValue"]).as_f64(), Some(0.5));
        assert_eq!(at(&v, &["droppedAttributesCount"]).as_f64(), Some(1.0));
        assert_eq!(at(&v, &["droppedEventsCount"]).as_f64(), Some(2.0));
        assert_eq!(at(&v, &["events"]).as_array().unwrap().len(), 1);
        assert_eq!(at(&v, &["status", "code"]).as_f64(), Some(2.0));
        assert_eq!(at(&v, &["status", "message"]).as_str(), Some("bad"));
    }

    #[test]
    fn logs_carry_severity_body_and_correlation() {
        let record = LogRecord {
            time_unix_nanos: 7,
            severity: Severity::Warning,
            message: "careful".into(),
            logger: "app".into(),
            properties: Attributes::default(),
            correlation: Some(crate::log::Correlation {
                trace_id: TraceId([2; 16]),
                span_id: SpanId([3; 8]),
                trace_flags: 1,
            }),
        };
        let v = parse(&encoder().encode_log(&record)).unwrap();
        assert_eq!(at(&v, &["severityNumber"]).as_f64(), Some(13.0));
        assert_eq!(at(&v, &["severityText"]).as_str(), Some("WARN"));
        assert_eq!(at(&v, &["body", "stringValue"]).as_str(), Some("careful"));
        assert_eq!(at(&v, &["timeUnixNano"]).as_str(), Some("7"));
        assert_eq!(at(&v, &["traceId"]).as_str(), Some("02".repeat(16).as_str()));
        assert_eq!(at(&v, &["spanId"]).as_str(), Some("03".repeat(8).as_str()));
        assert_eq!(at(&v, &["flags"]).as_f64(), Some(1.0), "the span's trace flags (sampled)");
    }

    #[test]
    fn views_become_sums_gauges_and_histograms() {
        use crate::stats::view::{Measure, View};
        use crate::stats::StatsLimits;
        let mut stats = Stats::new(StatsLimits::default());
        let m = stats
            .register_measure(Measure {
                name: "m".into(),
                description: String::new(),
                unit: "ms".into(),
                kind: MeasureKind::Int,
            })
            .unwrap();
        for (name, aggregation) in [
            ("count", Aggregation::Count),
            ("last", Aggregation::LastValue),
            ("dist", Aggregation::Distribution(vec![10.0])),
        ] {
            let view = View { name: name.into(), description: String::new(), measure: m, columns: vec![], aggregation };
            stats.register_view(view, 100).unwrap();
        }
        let mut diag = Diagnostics::default();
        stats.record(0, m, 4.0, &mut diag);
        stats.record(0, m, 12.0, &mut diag);
        let mut out = Vec::new();
        encoder().encode_metrics(&stats, 200, &mut |m| out.push(parse(&m).unwrap()));
        assert_eq!(out.len(), 3);
        let count = &at(&out[0], &["sum", "dataPoints"]).as_array().unwrap()[0];
        assert_eq!(at(&out[0], &["sum", "aggregationTemporality"]).as_f64(), Some(2.0));
        assert_eq!(at(&out[0], &["sum", "isMonotonic"]).as_bool(), Some(true));
        assert_eq!(at(count, &["asInt"]).as_str(), Some("2"));
        assert_eq!(at(count, &["startTimeUnixNano"]).as_str(), Some("100"));
        assert_eq!(at(count, &["timeUnixNano"]).as_str(), Some("200"));
        let last = &at(&out[1], &["gauge", "dataPoints"]).as_array().unwrap()[0];
        assert_eq!(at(last, &["asInt"]).as_str(), Some("12"));
        let hist = &at(&out[2], &["histogram", "dataPoints"]).as_array().unwrap()[0];
        assert_eq!(at(hist, &["count"]).as_str(), Some("2"));
        assert_eq!(at(hist, &["sum"]).as_f64(), Some(16.0));
        assert_eq!(at(hist, &["bucketCounts"]).as_array().unwrap().len(), 2);
        assert_eq!(at(hist, &["explicitBounds"]).as_array().unwrap().len(), 1);
        assert_eq!((at(hist, &["min"]).as_f64(), at(hist, &["max"]).as_f64()), (Some(4.0), Some(12.0)));
    }
}
