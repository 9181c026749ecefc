//! The console exporter's line format: one readable line per finished span, log or exception.

use crate::log::{ExceptionRecord, LogRecord, Severity};
use crate::trace::{Attributes, SpanData, Status};

/// `[edgecensus] span GET /x (server) trace=… span=… parent=… 12.345 ms ok {k=v, …}`
pub fn format_span(span: &SpanData) -> String {
    let mut line = String::with_capacity(160);
    line.push_str("[edgecensus] span ");
    line.push_str(&span.name);
    line.push_str(" (");
    line.push_str(span.kind.name());
    line.push_str(") trace=");
    crate::ids::push_hex(&mut line, &span.context.trace_id.0);
    line.push_str(" span=");
    crate::ids::push_hex(&mut line, &span.context.span_id.0);
    if let Some(parent) = span.parent_span_id {
        line.push_str(" parent=");
        crate::ids::push_hex(&mut line, &parent.0);
    }
    let micros = span.duration_nanos() / 1_000;
    line.push(' ');
    crate::json::push_u64(&mut line, micros / 1_000);
    line.push('.');
    let frac = micros % 1_000;
    line.push_str(if frac < 10 {
        "00"
    } else if frac < 100 {
        "0"
    } else {
        ""
    });
    crate::json::push_u64(&mut line, frac);
    line.push_str(" ms ");
    match &span.status {
        Status::Unset => line.push_str("unset"),
        Status::Ok => line.push_str("ok"),
        Status::Error(message) => {
            line.push_str("error");
            if !message.is_empty() {
                line.push_str(": ");
                line.push_str(message);
            }
        }
    }
    push_attributes(&mut line, &span.attributes);
    if !span.events.is_empty() {
        line.push_str(" events=");
        crate::json::push_u64(&mut line, span.events.len() as u64);
    }
    line
}

/// `[edgecensus] log warning storage: disk almost full {k=v}`
pub fn format_log(record: &LogRecord) -> String {
    let mut line = String::with_capacity(64 + record.message.len());
    line.push_str("[edgecensus] log ");
    line.push_str(severity_name(record.severity));
    if !record.logger.is_empty() {
        line.push(' ');
        line.push_str(&record.logger);
        line.push(':');
    }
    line.push(' ');
    line.push_str(&record.message);
    push_attributes(&mut line, &record.properties);
    line
}

/// `[edgecensus] exception TypeError: x is undefined (2 frames)`
pub fn format_exception(record: &ExceptionRecord) -> String {
    let mut line = String::from("[edgecensus] exception");
    for e in &record.exceptions {
        line.push(' ');
        line.push_str(&e.type_name);
        line.push_str(": ");
        line.push_str(&e.message);
        line.push(';');
    }
    line.pop();
    push_attributes(&mut line, &record.properties);
    line
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Verbose => "debug",
        Severity::Information => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
        Severity::Critical => "critical",
    }
}

fn push_attributes(line: &mut String, attributes: &Attributes) {
    if attributes.entries.is_empty() {
        return;
    }
    line.push_str(" {");
    for (i, (key, value)) in attributes.entries.iter().enumerate() {
        if i > 0 {
            line.push_str(", ");
        }
        line.push_str(key);
        line.push('=');
        value.push_text(line);
    }
    line.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Diagnostics;
    use crate::ids::{SpanId, TraceId};
    use crate::trace::{AttributeValue, Attributes, SpanContext, SpanKind, SpanLimits};

    #[test]
    fn one_line_with_ids_duration_status_and_attributes() {
        let mut attributes = Attributes::default();
        attributes.set("a", AttributeValue::Int(1), &SpanLimits::default(), &mut Diagnostics::default());
        let span = SpanData {
            context: SpanContext { trace_id: TraceId([0xab; 16]), span_id: SpanId([0xcd; 8]), ..Default::default() },
            parent_span_id: Some(SpanId([1; 8])),
            name: "GET /x".into(),
            kind: SpanKind::Server,
            start_unix_nanos: 1_000_000,
            end_unix_nanos: 13_345_000,
            attributes,
            events: vec![],
            dropped_events: 0,
            links: vec![],
            dropped_links: 0,
            status: Status::Error("boom".into()),
        };
        assert_eq!(
            format_span(&span),
            "[edgecensus] span GET /x (server) trace=abababababababababababababababab span=cdcdcdcdcdcdcdcd \
             parent=0101010101010101 12.345 ms error: boom {a=1}"
        );
    }
}
