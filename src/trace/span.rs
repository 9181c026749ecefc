//! The span model: what a span records between start and end, and the limits on it.
//!
//! Limits are applied as values arrive; everything they cut is counted on the span
//! (`dropped_*`) and in [`crate::diagnostics::Diagnostics`].

use crate::diagnostics::Diagnostics;
use crate::ids::{SpanId, TraceId};
use crate::trace_context::TraceState;

/// How a span relates to its parent and the outside world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SpanKind {
    #[default]
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    /// Parses the lowercase names used by the JS API.
    pub fn from_name(name: &str) -> Option<SpanKind> {
        Some(match name {
            "internal" => SpanKind::Internal,
            "server" => SpanKind::Server,
            "client" => SpanKind::Client,
            "producer" => SpanKind::Producer,
            "consumer" => SpanKind::Consumer,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
}

/// An attribute value. Non-finite floats are never stored (they have no JSON form).
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl AttributeValue {
    /// A JS number: an integer when it is one exactly (within 2^53), else a float.
    pub fn from_number(value: f64) -> AttributeValue {
        if value.fract() == 0.0 && value.abs() <= 9_007_199_254_740_991.0 {
            AttributeValue::Int(value as i64)
        } else {
            AttributeValue::Float(value)
        }
    }

    /// The value as Application Insights `properties` want it: a string.
    pub fn push_text(&self, out: &mut String) {
        match self {
            AttributeValue::Str(s) => out.push_str(s),
            AttributeValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            AttributeValue::Int(i) => crate::json::push_i64(out, *i),
            AttributeValue::Float(f) => crate::json::push_f64(out, *f),
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttributeValue::Int(i) => Some(*i),
            AttributeValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            AttributeValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttributeValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Span status, as OpenTelemetry defines it (OpenCensus' canonical codes collapse to these).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Unset,
    Ok,
    Error(String),
}

/// Per-span limits. Defaults follow OpenTelemetry (128 each) and the ingestion
/// service's 8192-character property values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanLimits {
    pub attribute_count: usize,
    pub event_count: usize,
    pub link_count: usize,
    pub value_length: usize,
}

impl Default for SpanLimits {
    fn default() -> Self {
        SpanLimits { attribute_count: 128, event_count: 128, link_count: 128, value_length: 8192 }
    }
}

/// Names (span, event) longer than this many characters are truncated: the ingestion
/// service's limit on request and dependency names.
pub const MAX_NAME_LENGTH: usize = 1024;

/// A key/value list with the attribute-count limit applied on insert.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attributes {
    pub entries: Vec<(String, AttributeValue)>,
    pub dropped: u32,
}

impl Attributes {
    pub fn get(&self, key: &str) -> Option<&AttributeValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key`, replacing an existing value; past `limits.attribute_count` new keys are dropped.
    /// An owned key is kept as it is (no copy).
    pub fn set<K: AsRef<str> + Into<String>>(
        &mut self,
        key: K,
        value: AttributeValue,
        limits: &SpanLimits,
        diag: &mut Diagnostics,
    ) {
        let value = match value {
            AttributeValue::Str(s) => AttributeValue::Str(truncate(s, limits.value_length, diag)),
            AttributeValue::Float(f) if !f.is_finite() => {
                diag.invalid_inputs += 1;
                return;
            }
            other => other,
        };
        if let Some(slot) = self.entries.iter_mut().find(|(k, _)| k == key.as_ref()) {
            slot.1 = value;
        } else if self.entries.len() < limits.attribute_count {
            let key = truncate(key.into(), limits.value_length, diag);
            self.entries.push((key, value));
        } else {
            self.dropped += 1;
            diag.attributes_dropped += 1;
        }
    }
}

/// Cuts `text` to at most `max_units` UTF-16 units (JavaScript's `length`), counting the cut.
pub fn truncate(mut text: String, max_units: usize, diag: &mut Diagnostics) -> String {
    let keep = crate::text::utf16_prefix(&text, max_units).len();
    if keep < text.len() {
        text.truncate(keep);
        diag.values_truncated += 1;
    }
    text
}

/// A timed annotation on a span.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub name: String,
    pub time_unix_nanos: u64,
    pub attributes: Attributes,
}

/// A reference to another span, possibly in another trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub trace_state: TraceState,
    pub attributes: Attributes,
}

/// The identity of a span as it propagates.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SpanContext {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub trace_flags: u8,
    pub trace_state: TraceState,
    pub is_remote: bool,
}

impl SpanContext {
    pub const SAMPLED: u8 = 0x01;
    pub fn is_sampled(&self) -> bool {
        self.trace_flags & Self::SAMPLED != 0
    }
    pub fn is_valid(&self) -> bool {
        self.trace_id.is_valid() && self.span_id.is_valid()
    }
}

/// Everything a recording span holds; exported when it ends.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanData {
    pub context: SpanContext,
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    pub kind: SpanKind,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub attributes: Attributes,
    pub events: Vec<Event>,
    pub dropped_events: u32,
    pub links: Vec<Link>,
    pub dropped_links: u32,
    pub status: Status,
}

impl SpanData {
    /// Adds an event; false (and counted) when the limit drops it.
    pub fn add_event(&mut self, event: Event, limits: &SpanLimits, diag: &mut Diagnostics) -> bool {
        if self.events.len() < limits.event_count {
            self.events.push(event);
            true
        } else {
            self.dropped_events += 1;
            diag.events_dropped += 1;
            false
        }
    }

    /// Adds a link; false (and counted) when the limit drops it.
    pub fn add_link(&mut self, link: Link, limits: &SpanLimits, diag: &mut Diagnostics) -> bool {
        if self.links.len() < limits.link_count {
            self.links.push(link);
            true
        } else {
            self.dropped_links += 1;
            diag.links_dropped += 1;
            false
        }
    }

    /// Sets the status. As OpenTelemetry specifies, `Ok` is final and `Unset` never overrides.
    pub fn set_status(&mut self, status: Status) {
        match (&self.status, &status) {
            (Status::Ok, _) | (_, Status::Unset) => {}
            _ => self.status = status,
        }
    }

    /// Duration in nanoseconds; an end before the start (a clock step) counts as zero.
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> SpanLimits {
        SpanLimits { attribute_count: 2, event_count: 1, link_count: 1, value_length: 4 }
    }

    #[test]
    fn attribute_limit_drops_new_keys_but_replaces_existing() {
        let mut diag = Diagnostics::default();
        let mut attrs = Attributes::default();
        attrs.set("a", AttributeValue::Int(1), &limits(), &mut diag);
        attrs.set("b", AttributeValue::Int(2), &limits(), &mut diag);
        attrs.set("c", AttributeValue::Int(3), &limits(), &mut diag);
        attrs.set("a", AttributeValue::Bool(true), &limits(), &mut diag);
        assert_eq!(attrs.entries.len(), 2);
        assert_eq!(attrs.get("a"), Some(&AttributeValue::Bool(true)));
        assert_eq!(attrs.get("c"), None);
        assert_eq!(attrs.dropped, 1);
        assert_eq!(diag.attributes_dropped, 1);
    }

    #[test]
    fn long_strings_are_truncated_on_char_boundaries_and_counted() {
        let mut diag = Diagnostics::default();
        let mut attrs = Attributes::default();
        attrs.set("k", AttributeValue::Str("ééééé".into()), &limits(), &mut diag);
        assert_eq!(attrs.get("k"), Some(&AttributeValue::Str("éééé".into())));
        assert_eq!(diag.values_truncated, 1);
    }

    #[test]
    fn non_finite_floats_are_rejected() {
        let mut diag = Diagnostics::default();
        let mut attrs = Attributes::default();
        attrs.set("nan", AttributeValue::Float(f64::NAN), &limits(), &mut diag);
        attrs.set("inf", AttributeValue::Float(f64::INFINITY), &limits(), &mut diag);
        assert!(attrs.entries.is_empty());
        assert_eq!(diag.invalid_inputs, 2);
    }

    #[test]
    fn ok_status_is_final_and_unset_never_overrides() {
        let mut span = SpanData {
            context: SpanContext::default(),
            parent_span_id: None,
            name: String::new(),
            kind: SpanKind::Internal,
            start_unix_nanos: 10,
            end_unix_nanos: 5,
            attributes: Attributes::default(),
            events: vec![],
            dropped_events: 0,
            links: vec![],
            dropped_links: 0,
            status: Status::Unset,
        };
        span.set_status(Status::Error("boom".into()));
        span.set_status(Status::Unset);
        assert_eq!(span.status, Status::Error("boom".into()));
        span.set_status(Status::Ok);
        span.set_status(Status::Error("later".into()));
        assert_eq!(span.status, Status::Ok);
        assert_eq!(span.duration_nanos(), 0);
    }

    #[test]
    fn event_and_link_limits_count_drops() {
        let mut diag = Diagnostics::default();
        let mut span = SpanData {
            context: SpanContext::default(),
            parent_span_id: None,
            name: String::new(),
            kind: SpanKind::Internal,
            start_unix_nanos: 0,
            end_unix_nanos: 0,
            attributes: Attributes::default(),
            events: vec![],
            dropped_events: 0,
            links: vec![],
            dropped_links: 0,
            status: Status::Unset,
        };
        for _ in 0..3 {
            span.add_event(
                Event { name: "e".into(), time_unix_nanos: 0, attributes: Attributes::default() },
                &limits(),
                &mut diag,
            );
            span.add_link(
                Link {
                    trace_id: TraceId::INVALID,
                    span_id: SpanId::INVALID,
                    trace_state: TraceState::default(),
                    attributes: Attributes::default(),
                },
                &limits(),
                &mut diag,
            );
        }
        assert_eq!((span.events.len(), span.dropped_events, diag.events_dropped), (1, 2, 2));
        assert_eq!((span.links.len(), span.dropped_links, diag.links_dropped), (1, 2, 2));
    }
}
