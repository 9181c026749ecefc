//! Spans as Application Insights envelopes, mapped the way opencensus-ext-azure maps them.
//!
//! Server spans become `Request` envelopes (`RequestData`); every other kind becomes a
//! `RemoteDependency` (`RemoteDependencyData`): HTTP client spans with url, target and result
//! code, the rest as `INPROC`. Span events become `Message` envelopes correlated with the span,
//! and `exception` events `Exception` envelopes.

use crate::ids::push_hex;
use crate::json::push_string;
use crate::log::{Correlation, ExceptionDetail, ExceptionRecord, LogRecord, Severity};
use crate::time::{push_iso8601, push_timespan};
use crate::trace::{AttributeValue, Attributes, Event, SpanData, SpanKind, Status};

/// The ingestion service's length limits (UTF-16 units), from its schema: what is longer is cut
/// here (and counted) rather than refused there.
pub(super) mod limit {
    pub const NAME: usize = 1024;
    pub const URL: usize = 2048;
    pub const CODE: usize = 1024;
    pub const DATA: usize = 8192;
    pub const TARGET: usize = 1024;
    pub const TYPE: usize = 1024;
    pub const ROLE: usize = 256;
    pub const PROPERTY_KEY: usize = 150;
    pub const PROPERTY_VALUE: usize = 8192;
    pub const MESSAGE: usize = 32768;
}

/// What every envelope of one client shares: the instrumentation key and the context tags.
pub struct EnvelopeEncoder {
    ikey: String,
    /// `"ai.cloud.role":"...",...` rendered once, without braces.
    common_tags: String,
}

/// Context for `ai.cloud.*` and `ai.internal.sdkVersion`.
pub struct EnvelopeContext<'a> {
    pub instrumentation_key: &'a str,
    pub role: &'a str,
    pub role_instance: Option<&'a str>,
    pub sdk_version: &'a str,
}

impl EnvelopeEncoder {
    pub fn new(context: &EnvelopeContext<'_>) -> EnvelopeEncoder {
        let mut tags = String::new();
        push_member(&mut tags, "ai.cloud.role", cut(context.role, limit::ROLE));
        if let Some(instance) = context.role_instance {
            tags.push(',');
            push_member(&mut tags, "ai.cloud.roleInstance", cut(instance, limit::ROLE));
        }
        tags.push(',');
        push_member(&mut tags, "ai.internal.sdkVersion", context.sdk_version);
        EnvelopeEncoder { ikey: context.instrumentation_key.to_owned(), common_tags: tags }
    }

    /// Encodes `span` and its events, handing each envelope to `emit` as one JSON object.
    /// Returns how many values were cut to the service's length limits.
    pub fn encode_span(&self, span: &SpanData, emit: &mut dyn FnMut(String)) -> u32 {
        let mut cuts = Cutter(0);
        let mut out = String::with_capacity(512);
        let trace_id = span.context.trace_id.to_hex();
        let span_id = span.context.span_id.to_hex();
        let http = HttpAttributes::read(&span.attributes);
        let kind = if span.kind == SpanKind::Server { Shape::Request } else { Shape::Dependency };
        let name = match kind {
            Shape::Request => http.request_name().unwrap_or_else(|| span.name.clone()),
            Shape::Dependency => http.dependency_name(span.kind).unwrap_or_else(|| span.name.clone()),
        };

        self.open(&mut out, kind.envelope_name(), span.start_unix_nanos);
        out.push(',');
        push_member(&mut out, "ai.operation.id", &trace_id);
        if let Some(parent) = span.parent_span_id {
            out.push(',');
            push_member(&mut out, "ai.operation.parentId", &parent.to_hex());
        }
        if kind == Shape::Request {
            out.push(',');
            push_member(&mut out, "ai.operation.name", cuts.cut(&name, limit::NAME));
        }
        out.push_str("},\"data\":{\"baseType\":\"");
        out.push_str(kind.base_type());
        out.push_str("\",\"baseData\":{\"ver\":2,");
        push_member(&mut out, "id", &span_id);
        out.push(',');
        push_member(&mut out, "name", cuts.cut(&name, limit::NAME));
        out.push_str(",\"duration\":\"");
        push_timespan(&mut out, span.duration_nanos());
        out.push_str("\",");
        let code = http.status_code.map(|c| c.to_string()).unwrap_or_else(|| status_code(&span.status).to_owned());
        let code_key = if kind == Shape::Request { "responseCode" } else { "resultCode" };
        push_member(&mut out, code_key, cuts.cut(&code, limit::CODE));
        out.push_str(",\"success\":");
        out.push_str(if success(span, &http) { "true" } else { "false" });
        match kind {
            Shape::Request => {
                if let Some(url) = http.url {
                    out.push(',');
                    push_member(&mut out, "url", cuts.cut(url, limit::URL));
                }
            }
            Shape::Dependency if span.kind == SpanKind::Client => {
                let component = span.attributes.get("component").and_then(AttributeValue::as_str);
                if let Some(kind) = component.or(http.url.map(|_| "HTTP")) {
                    out.push(',');
                    push_member(&mut out, "type", cuts.cut(kind, limit::TYPE));
                }
                if let Some(url) = http.url {
                    out.push(',');
                    push_member(&mut out, "data", cuts.cut(url, limit::DATA));
                    out.push(',');
                    push_member(&mut out, "target", cuts.cut(url_parts(url).0, limit::TARGET));
                }
            }
            Shape::Dependency => out.push_str(",\"type\":\"INPROC\""),
        }
        out.push_str(",\"properties\":{");
        let mut first = push_properties(&mut out, &span.attributes, |k| !k.starts_with("http."), &mut cuts);
        if let Status::Error(message) = &span.status {
            if !message.is_empty() {
                comma(&mut out, &mut first);
                push_member(&mut out, "status.message", cuts.cut(message, limit::PROPERTY_VALUE));
            }
        }
        if !span.links.is_empty() {
            comma(&mut out, &mut first);
            push_member(&mut out, "_MS.links", &links_json(span));
        }
        out.push_str("}}}}");
        emit(out);

        let correlation = Some(Correlation {
            trace_id: span.context.trace_id,
            span_id: span.context.span_id,
            trace_flags: span.context.trace_flags,
        });
        for event in &span.events {
            let (envelope, event_cuts) = if event.name == "exception" {
                self.encode_exception(&exception_from_event(event, correlation))
            } else {
                self.encode_log(&LogRecord {
                    time_unix_nanos: event.time_unix_nanos,
                    severity: Severity::Information,
                    message: event.name.clone(),
                    logger: "".into(),
                    properties: event.attributes.clone(),
                    correlation,
                })
            };
            cuts.0 += event_cuts;
            emit(envelope);
        }
        cuts.0
    }

    /// Writes the envelope head up to and including the common tags, leaving `tags` open.
    pub(super) fn open(&self, out: &mut String, name: &str, time_unix_nanos: u64) {
        out.push_str("{\"ver\":1,");
        push_member(out, "name", name);
        out.push_str(",\"time\":\"");
        push_iso8601(out, time_unix_nanos);
        out.push_str("\",\"sampleRate\":100,");
        push_member(out, "iKey", &self.ikey);
        out.push_str(",\"tags\":{");
        out.push_str(&self.common_tags);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Request,
    Dependency,
}

impl Shape {
    fn envelope_name(self) -> &'static str {
        match self {
            Shape::Request => "Microsoft.ApplicationInsights.Request",
            Shape::Dependency => "Microsoft.ApplicationInsights.RemoteDependency",
        }
    }
    fn base_type(self) -> &'static str {
        match self {
            Shape::Request => "RequestData",
            Shape::Dependency => "RemoteDependencyData",
        }
    }
}

/// The OpenCensus HTTP attributes the mapping reads.
struct HttpAttributes<'a> {
    method: Option<&'a str>,
    route: Option<&'a str>,
    url: Option<&'a str>,
    status_code: Option<i64>,
}

impl<'a> HttpAttributes<'a> {
    fn read(attributes: &'a Attributes) -> Self {
        let text = |key| attributes.get(key).and_then(AttributeValue::as_str).filter(|s| !s.is_empty());
        HttpAttributes {
            method: text("http.method"),
            route: text("http.route"),
            url: text("http.url"),
            status_code: attributes.get("http.status_code").and_then(AttributeValue::as_i64),
        }
    }

    /// `METHOD route`, or `METHOD /path` from the url, as the request name.
    fn request_name(&self) -> Option<String> {
        let method = self.method?;
        let target = self.route.or_else(|| self.url.map(|u| url_parts(u).1))?;
        Some(format!("{method} {target}"))
    }

    /// `METHOD /path` for HTTP client spans.
    fn dependency_name(&self, kind: SpanKind) -> Option<String> {
        if kind != SpanKind::Client {
            return None;
        }
        Some(format!("{} {}", self.method?, url_parts(self.url?).1))
    }
}

/// An `exception` span event (OpenTelemetry's `exception.*` attributes) as an exception record;
/// its other attributes become properties.
fn exception_from_event(event: &Event, correlation: Option<Correlation>) -> ExceptionRecord {
    let text = |key| event.attributes.get(key).and_then(AttributeValue::as_str).unwrap_or("").to_owned();
    let mut properties = event.attributes.clone();
    properties.entries.retain(|(k, _)| !k.starts_with("exception."));
    ExceptionRecord {
        time_unix_nanos: event.time_unix_nanos,
        severity: Severity::Error,
        exceptions: vec![ExceptionDetail {
            id: 0,
            outer_id: None,
            type_name: text("exception.type"),
            message: text("exception.message"),
            stack: text("exception.stacktrace"),
        }],
        properties,
        correlation,
    }
}

/// `"0"` (OK) unless the span failed (`"2"`, UNKNOWN), as OpenCensus' canonical codes.
fn status_code(status: &Status) -> &'static str {
    match status {
        Status::Error(_) => "2",
        _ => "0",
    }
}

/// An HTTP status decides when there is one (2xx and 3xx succeed); otherwise the span status.
fn success(span: &SpanData, http: &HttpAttributes<'_>) -> bool {
    match http.status_code {
        Some(code) => (200..400).contains(&code) && !matches!(span.status, Status::Error(_)),
        None => !matches!(span.status, Status::Error(_)),
    }
}

/// Splits a URL into its authority (`host:port`, without user info) and path (`/` when empty).
pub fn url_parts(url: &str) -> (&str, &str) {
    // `get`, not indexing: the cuts are at ASCII characters, and no slicing panic path is linked.
    let after_scheme = crate::text::find(url, "://").and_then(|i| url.get(i + 3..)).unwrap_or(url);
    let authority_end = after_scheme.find(['/', '?', '#']).unwrap_or(after_scheme.len());
    let (authority, rest) = after_scheme.split_at_checked(authority_end).unwrap_or((after_scheme, ""));
    let host = authority.rfind('@').and_then(|i| authority.get(i + 1..)).unwrap_or(authority);
    let path = rest.get(..rest.find(['?', '#']).unwrap_or(rest.len())).unwrap_or(rest);
    (host, if path.is_empty() { "/" } else { path })
}

/// Writes the attributes that `keep` accepts as string properties; returns whether none was written.
fn push_properties(out: &mut String, attributes: &Attributes, keep: impl Fn(&str) -> bool, cuts: &mut Cutter) -> bool {
    let mut first = true;
    let mut text = String::new();
    for (key, value) in attributes.entries.iter().filter(|(k, _)| keep(k)) {
        comma(out, &mut first);
        text.clear();
        value.push_text(&mut text);
        push_member(out, cuts.cut(key, limit::PROPERTY_KEY), cuts.cut(&text, limit::PROPERTY_VALUE));
    }
    first
}

/// `text` cut to at most `max_units` UTF-16 units, as the service counts (on a character boundary).
fn cut(text: &str, max_units: usize) -> &str {
    crate::text::utf16_prefix(text, max_units)
}

/// Cuts values to their limits and counts how many it cut.
pub(super) struct Cutter(pub u32);

impl Cutter {
    pub fn cut<'a>(&mut self, text: &'a str, max_units: usize) -> &'a str {
        let short = cut(text, max_units);
        if short.len() < text.len() {
            self.0 += 1;
        }
        short
    }
}

fn links_json(span: &SpanData) -> String {
    let mut json = String::from("[");
    for (i, link) in span.links.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str("{\"operation_Id\":\"");
        push_hex(&mut json, &link.trace_id.0);
        json.push_str("\",\"id\":\"");
        push_hex(&mut json, &link.span_id.0);
        json.push_str("\"}");
    }
    json.push(']');
    json
}

fn comma(out: &mut String, first: &mut bool) {
    if !*first {
        out.push(',');
    }
    *first = false;
}

/// Writes `"key":"value"`.
pub(super) fn push_member(out: &mut String, key: &str, value: &str) {
    push_string(out, key);
    out.push(':');
    push_string(out, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Diagnostics;
    use crate::ids::{SpanId, TraceId};
    use crate::json::{parse, JsonValue};
    use crate::trace::{Event, Link, SpanContext, SpanLimits};

    fn encoder() -> EnvelopeEncoder {
        EnvelopeEncoder::new(&EnvelopeContext {
            instrumentation_key: "ikey-1",
            role: "shop",
            role_instance: Some("host-1"),
            sdk_version: "wasm:ec0.1.0",
        })
    }

    fn span(kind: SpanKind, attrs: &[(&str, AttributeValue)]) -> SpanData {
        let mut diag = Diagnostics::default();
        let mut attributes = Attributes::default();
        for (k, v) in attrs {
            attributes.set(*k, v.clone(), &SpanLimits::default(), &mut diag);
        }
        SpanData {
            context: SpanContext {
                trace_id: TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
                span_id: SpanId::from_hex("00f067aa0ba902b7").unwrap(),
                trace_flags: 1,
                ..Default::default()
            },
            parent_span_id: Some(SpanId::from_hex("b7ad6b7169203331").unwrap()),
            name: "span-name".into(),
            kind,
            start_unix_nanos: 1_795_609_259_000_000_000,
            end_unix_nanos: 1_795_609_259_250_000_500,
            attributes,
            events: vec![],
            dropped_events: 0,
            links: vec![],
            dropped_links: 0,
            status: Status::Unset,
        }
    }

    fn encode(span: &SpanData) -> Vec<JsonValue> {
        let mut out = Vec::new();
        encoder().encode_span(span, &mut |s| out.push(parse(&s).expect("valid JSON")));
        out
    }

    fn at<'a>(v: &'a JsonValue, path: &[&str]) -> &'a JsonValue {
        path.iter().fold(v, |v, k| v.get(k).unwrap_or_else(|| panic!("missing {k} in {path:?}")))
    }

    #[test]
    fn server_span_is_a_request_with_http_mapping() {
        use AttributeValue::*;
        let s = span(
            SpanKind::Server,
            &[
                ("http.method", Str("GET".into())),
                ("http.route", Str("/checkout".into())),
                ("http.url", Str("https://shop.example/checkout?x=1".into())),
                ("http.status_code", Int(503)),
                ("cart.items", Int(3)),
                ("vip", Bool(true)),
            ],
        );
        let e = &encode(&s)[0];
        assert_eq!(at(e, &["name"]).as_str(), Some("Microsoft.ApplicationInsights.Request"));
        assert_eq!(at(e, &["time"]).as_str(), Some("2026-11-25T12:20:59.000000Z"));
        assert_eq!(at(e, &["iKey"]).as_str(), Some("ikey-1"));
        assert_eq!(at(e, &["tags", "ai.operation.id"]).as_str(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(at(e, &["tags", "ai.operation.parentId"]).as_str(), Some("b7ad6b7169203331"));
        assert_eq!(at(e, &["tags", "ai.operation.name"]).as_str(), Some("GET /checkout"));
        assert_eq!(at(e, &["tags", "ai.cloud.role"]).as_str(), Some("shop"));
        assert_eq!(at(e, &["tags", "ai.cloud.roleInstance"]).as_str(), Some("host-1"));
        assert_eq!(at(e, &["tags", "ai.internal.sdkVersion"]).as_str(), Some("wasm:ec0.1.0"));
        assert_eq!(at(e, &["data", "baseType"]).as_str(), Some("RequestData"));
        let d = at(e, &["data", "baseData"]);
        assert_eq!(at(d, &["id"]).as_str(), Some("00f067aa0ba902b7"));
        assert_eq!(at(d, &["name"]).as_str(), Some("GET /checkout"));
        assert_eq!(at(d, &["duration"]).as_str(), Some("0.00:00:00.250000"));
        assert_eq!(at(d, &["responseCode"]).as_str(), Some("503"));
        assert_eq!(at(d, &["success"]).as_bool(), Some(false));
        assert_eq!(at(d, &["url"]).as_str(), Some("https://shop.example/checkout?x=1"));
        assert_eq!(at(d, &["properties", "cart.items"]).as_str(), Some("3"));
        assert_eq!(at(d, &["properties", "vip"]).as_str(), Some("true"));
        assert!(d.get("properties").unwrap().get("http.method").is_none());
    }

    #[test]
    fn request_without_http_attributes_uses_span_name_and_status() {
        let mut s = span(SpanKind::Server, &[]);
        let d = encode(&s).remove(0);
        assert_eq!(at(&d, &["data", "baseData", "name"]).as_str(), Some("span-name"));
        assert_eq!(at(&d, &["data", "baseData", "responseCode"]).as_str(), Some("0"));
        assert_eq!(at(&d, &["data", "baseData", "success"]).as_bool(), Some(true));
        s.status = Status::Error("bad".into());
        let d = encode(&s).remove(0);
        assert_eq!(at(&d, &["data", "baseData", "responseCode"]).as_str(), Some("2"));
        assert_eq!(at(&d, &["data", "baseData", "success"]).as_bool(), Some(false));
        assert_eq!(at(&d, &["data", "baseData", "properties", "status.message"]).as_str(), Some("bad"));
    }

    #[test]
    fn http_client_span_is_a_dependency_with_target() {
        use AttributeValue::*;
        let s = span(
            SpanKind::Client,
            &[
                ("http.method", Str("POST".into())),
                ("http.url", Str("http://user@127.0.0.1:8080/api/items?id=2#frag".into())),
                ("http.status_code", Int(201)),
            ],
        );
        let e = &encode(&s)[0];
        assert_eq!(at(e, &["name"]).as_str(), Some("Microsoft.ApplicationInsights.RemoteDependency"));
        assert!(e.get("tags").unwrap().get("ai.operation.name").is_none());
        let d = at(e, &["data", "baseData"]);
        assert_eq!(at(e, &["data", "baseType"]).as_str(), Some("RemoteDependencyData"));
        assert_eq!(at(d, &["name"]).as_str(), Some("POST /api/items"));
        assert_eq!(at(d, &["type"]).as_str(), Some("HTTP"));
        assert_eq!(at(d, &["target"]).as_str(), Some("127.0.0.1:8080"));
        assert_eq!(at(d, &["data"]).as_str(), Some("http://user@127.0.0.1:8080/api/items?id=2#frag"));
        assert_eq!(at(d, &["resultCode"]).as_str(), Some("201"));
        assert_eq!(at(d, &["success"]).as_bool(), Some(true));
    }

    #[test]
    fn internal_span_is_an_inproc_dependency_with_links_and_events() {
        let mut s = span(SpanKind::Internal, &[("items", AttributeValue::Float(2.5))]);
        s.parent_span_id = None;
        s.links.push(Link {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([2; 8]),
            trace_state: Default::default(),
            attributes: Attributes::default(),
        });
        let mut attributes = Attributes::default();
        attributes.set("k", AttributeValue::Str("v\"q".into()), &SpanLimits::default(), &mut Diagnostics::default());
        s.events.push(Event { name: "cache miss".into(), time_unix_nanos: s.start_unix_nanos + 1_000, attributes });
        let all = encode(&s);
        assert_eq!(all.len(), 2);
        let d = at(&all[0], &["data", "baseData"]);
        assert!(all[0].get("tags").unwrap().get("ai.operation.parentId").is_none());
        assert_eq!(at(d, &["type"]).as_str(), Some("INPROC"));
        assert_eq!(at(d, &["properties", "items"]).as_str(), Some("2.5"));
        assert_eq!(
            at(d, &["properties", "_MS.links"]).as_str(),
            Some("[{\"operation_Id\":\"01010101010101010101010101010101\",\"id\":\"0202020202020202\"}]")
        );
        let m = &all[1];
        assert_eq!(at(m, &["name"]).as_str(), Some("Microsoft.ApplicationInsights.Message"));
        assert_eq!(at(m, &["tags", "ai.operation.parentId"]).as_str(), Some("00f067aa0ba902b7"));
        assert_eq!(at(m, &["data", "baseData", "message"]).as_str(), Some("cache miss"));
        assert_eq!(at(m, &["data", "baseData", "properties", "k"]).as_str(), Some("v\"q"));
        assert_eq!(at(m, &["time"]).as_str(), Some("2026-11-25T12:20:59.000001Z"));
    }

    #[test]
    fn exception_events_become_correlated_exception_envelopes() {
        let mut s = span(SpanKind::Server, &[]);
        let mut attributes = Attributes::default();
        let mut diag = Diagnostics::default();
        for (k, v) in [
            ("exception.type", "RangeError"),
            ("exception.message", "too far"),
            ("exception.stacktrace", "RangeError: too far\n    at go (file:///w.mjs:4:2)"),
            ("attempt", "2"),
        ] {
            attributes.set(k, AttributeValue::Str(v.into()), &SpanLimits::default(), &mut diag);
        }
        s.events.push(Event { name: "exception".into(), time_unix_nanos: s.start_unix_nanos, attributes });
        let all = encode(&s);
        let e = &all[1];
        assert_eq!(at(e, &["name"]).as_str(), Some("Microsoft.ApplicationInsights.Exception"));
        assert_eq!(at(e, &["tags", "ai.operation.id"]).as_str(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(at(e, &["tags", "ai.operation.parentId"]).as_str(), Some("00f067aa0ba902b7"));
        let detail = &at(e, &["data", "baseData", "exceptions"]).as_array().unwrap()[0];
        assert_eq!(at(detail, &["typeName"]).as_str(), Some("RangeError"));
        assert_eq!(at(detail, &["parsedStack"]).as_array().unwrap().len(), 1);
        let props = at(e, &["data", "baseData", "properties"]);
        assert_eq!(at(props, &["attempt"]).as_str(), Some("2"));
        assert!(props.get("exception.type").is_none());
    }

    #[test]
    fn url_parts_cases() {
        assert_eq!(url_parts("https://a.b:1/x/y?q"), ("a.b:1", "/x/y"));
        assert_eq!(url_parts("https://a.b"), ("a.b", "/"));
        assert_eq!(url_parts("https://u:p@h/#f"), ("h", "/"));
        assert_eq!(url_parts("/relative/path?x"), ("", "/relative/path"));
        assert_eq!(url_parts("ü://é/ö"), ("é", "/ö"));
    }

    #[test]
    fn request_fields_are_cut_to_the_service_limits_and_counted() {
        use AttributeValue::*;
        let long = format!("https://h/{}", "p".repeat(5000));
        let s = span(SpanKind::Server, &[("http.method", Str("GET".into())), ("http.url", Str(long))]);
        let mut out = Vec::new();
        let cuts = encoder().encode_span(&s, &mut |e| out.push(parse(&e).unwrap()));
        let d = at(&out[0], &["data", "baseData"]);
        assert_eq!(at(d, &["url"]).as_str().unwrap().chars().count(), 2048);
        assert_eq!(at(d, &["name"]).as_str().unwrap().chars().count(), 1024);
        assert_eq!(at(&out[0], &["tags", "ai.operation.name"]).as_str().unwrap().chars().count(), 1024);
        assert_eq!(cuts, 3);
    }

    #[test]
    fn long_property_keys_are_cut_to_the_service_limit() {
        let key = "k".repeat(200);
        let s = span(SpanKind::Internal, &[(key.as_str(), AttributeValue::Int(1))]);
        let e = &encode(&s)[0];
        let props = at(e, &["data", "baseData", "properties"]);
        assert!(props.get(&"k".repeat(150)).is_some());
    }
}
