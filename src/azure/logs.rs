//! Logs and exceptions as Application Insights envelopes: `Message` (`MessageData`) and
//! `Exception` (`ExceptionData`, with the stack parsed into frames), correlated with the span
//! that was active through `ai.operation.id` / `ai.operation.parentId`.

use super::envelope::{limit, push_member, Cutter, EnvelopeEncoder};
use crate::ids::push_hex;
use crate::json::{push_string, push_u64};
use crate::log::stack::parse_stack;
use crate::log::{Correlation, ExceptionRecord, LogRecord};
use crate::trace::Attributes;

/// The schema's limit on exception type names and frame fields.
const MAX_FIELD_LENGTH: usize = 1024;

impl EnvelopeEncoder {
    /// A log record as one `Message` envelope; the count is of values cut to the limits.
    pub fn encode_log(&self, record: &LogRecord) -> (String, u32) {
        let mut cuts = Cutter(0);
        let mut out = String::with_capacity(256 + record.message.len());
        self.open_correlated(
            &mut out,
            "Microsoft.ApplicationInsights.Message",
            record.time_unix_nanos,
            record.correlation,
        );
        out.push_str("\"data\":{\"baseType\":\"MessageData\",\"baseData\":{\"ver\":2,");
        // The service refuses an empty message.
        let message = if record.message.is_empty() { "(empty message)" } else { &record.message };
        push_member(&mut out, "message", cuts.cut(message, limit::MESSAGE));
        out.push_str(",\"severityLevel\":");
        push_u64(&mut out, record.severity as u64);
        out.push_str(",\"properties\":{");
        let first = push_string_properties(&mut out, &record.properties, &mut cuts);
        if !record.logger.is_empty() {
            if !first {
                out.push(',');
            }
            push_member(&mut out, "loggerName", cuts.cut(&record.logger, limit::PROPERTY_VALUE));
        }
        out.push_str("}}}}");
        (out, cuts.0)
    }

    /// An exception record as one `Exception` envelope, its chain in `exceptions[]`.
    pub fn encode_exception(&self, record: &ExceptionRecord) -> (String, u32) {
        let mut cuts = Cutter(0);
        let mut out = String::with_capacity(1024);
        self.open_correlated(
            &mut out,
            "Microsoft.ApplicationInsights.Exception",
            record.time_unix_nanos,
            record.correlation,
        );
        out.push_str("\"data\":{\"baseType\":\"ExceptionData\",\"baseData\":{\"ver\":2,\"exceptions\":[");
        for (i, e) in record.exceptions.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"id\":");
            push_u64(&mut out, u64::from(e.id));
            if let Some(outer) = e.outer_id {
                out.push_str(",\"outerId\":");
                push_u64(&mut out, u64::from(outer));
            }
            out.push(',');
            let type_name = if e.type_name.is_empty() { "Error" } else { &e.type_name };
            push_member(&mut out, "typeName", cuts.cut(type_name, MAX_FIELD_LENGTH));
            out.push(',');
            // The service refuses an empty message.
            let message = if e.message.is_empty() { type_name } else { &e.message };
            push_member(&mut out, "message", cuts.cut(message, limit::MESSAGE));
            let (frames, full) = parse_stack(&e.stack);
            out.push_str(",\"hasFullStack\":");
            out.push_str(if full && !frames.is_empty() { "true" } else { "false" });
            if frames.is_empty() {
                if !e.stack.is_empty() {
                    out.push(',');
                    push_member(&mut out, "stack", cuts.cut(&e.stack, limit::MESSAGE));
                }
            } else {
                out.push_str(",\"parsedStack\":[");
                for (j, frame) in frames.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"level\":");
                    push_u64(&mut out, u64::from(frame.level));
                    out.push(',');
                    push_member(&mut out, "method", cuts.cut(&frame.method, MAX_FIELD_LENGTH));
                    out.push(',');
                    push_member(&mut out, "assembly", cuts.cut(&frame.assembly, MAX_FIELD_LENGTH));
                    out.push(',');
                    push_member(&mut out, "fileName", cuts.cut(&frame.file_name, MAX_FIELD_LENGTH));
                    out.push_str(",\"line\":");
                    push_u64(&mut out, u64::from(frame.line.min(i32::MAX as u32)));
                    out.push('}');
                }
                out.push(']');
            }
            out.push('}');
        }
        out.push_str("],\"severityLevel\":");
        push_u64(&mut out, record.severity as u64);
        out.push_str(",\"properties\":{");
        push_string_properties(&mut out, &record.properties, &mut cuts);
        out.push_str("}}}}");
        (out, cuts.0)
    }

    /// The envelope head with the operation tags of `correlation`, up to `"data":`.
    fn open_correlated(&self, out: &mut String, name: &str, time: u64, correlation: Option<Correlation>) {
        self.open(out, name, time);
        if let Some(c) = correlation {
            out.push_str(",\"ai.operation.id\":\"");
            push_hex(out, &c.trace_id.0);
            out.push_str("\",\"ai.operation.parentId\":\"");
            push_hex(out, &c.span_id.0);
            out.push('"');
        }
        out.push_str("},");
    }
}

fn push_string_properties(out: &mut String, properties: &Attributes, cuts: &mut Cutter) -> bool {
    let mut first = true;
    let mut text = String::new();
    for (key, value) in &properties.entries {
        if !first {
            out.push(',');
        }
        first = false;
        text.clear();
        value.push_text(&mut text);
        push_string(out, cuts.cut(key, limit::PROPERTY_KEY));
        out.push(':');
        push_string(out, cuts.cut(&text, limit::PROPERTY_VALUE));
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::envelope::EnvelopeContext;
    use crate::diagnostics::Diagnostics;
    use crate::ids::{SpanId, TraceId};
    use crate::json::{parse, JsonValue};
    use crate::log::{ExceptionDetail, Severity};
    use crate::trace::{AttributeValue, SpanLimits};

    fn encoder() -> EnvelopeEncoder {
        EnvelopeEncoder::new(&EnvelopeContext {
            instrumentation_key: "k",
            role: "r",
            role_instance: None,
            sdk_version: "v",
        })
    }

    fn at<'a>(v: &'a JsonValue, path: &[&str]) -> &'a JsonValue {
        path.iter().fold(v, |v, k| v.get(k).unwrap_or_else(|| panic!("missing {k}")))
    }

    fn correlation() -> Option<Correlation> {
        Some(Correlation { trace_id: TraceId([0xaa; 16]), span_id: SpanId([0xbb; 8]), trace_flags: 1 })
    }

    #[test]
    fn a_log_is_a_message_with_severity_properties_and_correlation() {
        let mut properties = Attributes::default();
        properties.set("user", AttributeValue::Str("ann".into()), &SpanLimits::default(), &mut Diagnostics::default());
        let record = LogRecord {
            time_unix_nanos: 1_795_609_259_000_000_000,
            severity: Severity::Warning,
            message: "disk almost full".into(),
            logger: "storage".into(),
            properties,
            correlation: correlation(),
        };
        let (text, cuts) = encoder().encode_log(&record);
        let e = parse(&text).unwrap();
        assert_eq!(cuts, 0);
        assert_eq!(at(&e, &["name"]).as_str(), Some("Microsoft.ApplicationInsights.Message"));
        assert_eq!(at(&e, &["tags", "ai.operation.id"]).as_str(), Some("aa".repeat(16).as_str()));
        assert_eq!(at(&e, &["tags", "ai.operation.parentId"]).as_str(), Some("bb".repeat(8).as_str()));
        let d = at(&e, &["data", "baseData"]);
        assert_eq!(at(&e, &["data", "baseType"]).as_str(), Some("MessageData"));
        assert_eq!(at(d, &["message"]).as_str(), Some("disk almost full"));
        assert_eq!(at(d, &["severityLevel"]).as_f64(), Some(2.0));
        assert_eq!(at(d, &["properties", "user"]).as_str(), Some("ann"));
        assert_eq!(at(d, &["properties", "loggerName"]).as_str(), Some("storage"));
    }

    #[test]
    fn an_uncorrelated_log_has_no_operation_tags() {
        let record = LogRecord {
            time_unix_nanos: 0,
            severity: Severity::Information,
            message: "x".repeat(40_000),
            logger: "".into(),
            properties: Attributes::default(),
            correlation: None,
        };
        let (text, cuts) = encoder().encode_log(&record);
        let e = parse(&text).unwrap();
        assert!(at(&e, &["tags"]).get("ai.operation.id").is_none());
        assert_eq!(at(&e, &["data", "baseData", "message"]).as_str().unwrap().len(), 32768);
        assert_eq!(cuts, 1);
    }

    #[test]
    fn an_exception_chain_with_parsed_frames() {
        let record = ExceptionRecord {
            time_unix_nanos: 0,
            severity: Severity::Error,
            exceptions: vec![
                ExceptionDetail {
                    id: 0,
                    outer_id: None,
                    type_name: "TypeError".into(),
                    message: "x is undefined".into(),
                    stack: "TypeError: x is undefined\n    at f (https://a/app.js:3:7)\n    at https://a/app.js:9:1"
                        .into(),
                },
                ExceptionDetail {
                    id: 1,
                    outer_id: Some(0),
                    type_name: "string".into(),
                    message: String::new(),
                    stack: String::new(),
                },
            ],
            properties: Attributes::default(),
            correlation: correlation(),
        };
        let (text, _) = encoder().encode_exception(&record);
        let e = parse(&text).unwrap();
        assert_eq!(at(&e, &["name"]).as_str(), Some("Microsoft.ApplicationInsights.Exception"));
        let d = at(&e, &["data", "baseData"]);
        assert_eq!(at(d, &["severityLevel"]).as_f64(), Some(3.0));
        let list = at(d, &["exceptions"]).as_array().unwrap();
        assert_eq!(at(&list[0], &["typeName"]).as_str(), Some("TypeError"));
        assert_eq!(at(&list[0], &["hasFullStack"]).as_bool(), Some(true));
        let frames = at(&list[0], &["parsedStack"]).as_array().unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(at(&frames[0], &["method"]).as_str(), Some("f"));
        assert_eq!(at(&frames[0], &["fileName"]).as_str(), Some("https://a/app.js"));
        assert_eq!(at(&frames[0], &["line"]).as_f64(), Some(3.0));
        assert_eq!(at(&frames[1], &["level"]).as_f64(), Some(1.0));
        assert_eq!(at(&list[1], &["outerId"]).as_f64(), Some(0.0));
        assert_eq!(at(&list[1], &["message"]).as_str(), Some("string"), "an empty message is replaced");
        assert_eq!(at(&list[1], &["hasFullStack"]).as_bool(), Some(false));
        assert!(list[1].get("parsedStack").is_none());
    }
}
