//! Views as Application Insights `Metric` envelopes, the way opencensus-ext-azure's metrics
//! exporter makes them: one envelope per time series, the view's name as metric name and
//! namespace, the series' tag values as properties. Distributions (which the Python exporter
//! skips) go as one aggregated data point: sum, count, min, max and standard deviation.

use super::envelope::{limit, push_member, Cutter, EnvelopeEncoder};
use crate::json::{push_f64, push_string, push_u64};
use crate::stats::aggregation::AggregationData;
use crate::stats::view::ViewState;

/// The ingestion schema's limit on a metric namespace.
const MAX_NAMESPACE_LENGTH: usize = 256;

impl EnvelopeEncoder {
    /// Encodes every series of `view` as of `now`; returns how many values were cut to limits.
    pub fn encode_view(&self, view: &ViewState, now_unix_nanos: u64, emit: &mut dyn FnMut(String)) -> u32 {
        let mut cuts = Cutter(0);
        for series in &view.series {
            let mut out = String::with_capacity(320);
            self.open(&mut out, "Microsoft.ApplicationInsights.Metric", now_unix_nanos);
            out.push_str("},\"data\":{\"baseType\":\"MetricData\",\"baseData\":{\"ver\":2,\"metrics\":[{");
            push_member(&mut out, "name", cuts.cut(&view.view.name, limit::NAME));
            out.push(',');
            push_member(&mut out, "ns", cuts.cut(&view.view.name, MAX_NAMESPACE_LENGTH));
            match &series.data {
                AggregationData::Count(n) => {
                    out.push_str(",\"kind\":0,\"value\":");
                    push_u64(&mut out, *n);
                }
                AggregationData::Sum(v) | AggregationData::LastValue(v) => {
                    out.push_str(",\"kind\":0,\"value\":");
                    push_f64(&mut out, *v);
                }
                AggregationData::Distribution(d) => {
                    out.push_str(",\"kind\":1,\"value\":");
                    push_f64(&mut out, d.sum());
                    out.push_str(",\"count\":");
                    push_u64(&mut out, d.count);
                    out.push_str(",\"min\":");
                    push_f64(&mut out, d.min);
                    out.push_str(",\"max\":");
                    push_f64(&mut out, d.max);
                    out.push_str(",\"stdDev\":");
                    push_f64(&mut out, d.std_dev());
                }
            }
            out.push_str("}],\"properties\":{");
            let mut first = true;
            for (column, value) in view.view.columns.iter().zip(&series.tag_values) {
                let Some(value) = value else { continue };
                if !first {
                    out.push(',');
                }
                first = false;
                push_string(&mut out, cuts.cut(column, limit::PROPERTY_KEY));
                out.push(':');
                push_string(&mut out, value);
            }
            out.push_str("}}}}");
            emit(out);
        }
        cuts.0
    }
}

#[cfg(test)]
mod tests {
    use crate::azure::envelope::{EnvelopeContext, EnvelopeEncoder};
    use crate::diagnostics::Diagnostics;
    use crate::json::{parse, JsonValue};
    use crate::stats::aggregation::Aggregation;
    use crate::stats::view::{Measure, MeasureKind, View};
    use crate::stats::{Stats, StatsLimits};

    fn encode(aggregation: Aggregation, values: &[(f64, &[(&str, &str)])]) -> Vec<JsonValue> {
        let mut stats = Stats::new(StatsLimits::default());
        let m = stats
            .register_measure(Measure {
                name: "latency".into(),
                description: String::new(),
                unit: "ms".into(),
                kind: MeasureKind::Float,
            })
            .unwrap();
        let view = View {
            name: "request_latency".into(),
            description: String::new(),
            measure: m,
            columns: vec!["method".into(), "status".into()],
            aggregation,
        };
        stats.register_view(view, 0).unwrap();
        let mut diag = Diagnostics::default();
        for (value, tags) in values {
            let t = stats.tag_set(tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).unwrap();
            stats.record(t, m, *value, &mut diag);
        }
        let encoder = EnvelopeEncoder::new(&EnvelopeContext {
            instrumentation_key: "ikey",
            role: "svc",
            role_instance: None,
            sdk_version: "v",
        });
        let mut out = Vec::new();
        encoder.encode_view(&stats.views()[0], 1_795_609_259_000_000_000, &mut |e| out.push(parse(&e).unwrap()));
        out
    }

    fn at<'a>(v: &'a JsonValue, path: &[&str]) -> &'a JsonValue {
        path.iter().fold(v, |v, k| v.get(k).unwrap_or_else(|| panic!("missing {k}")))
    }

    fn point(e: &JsonValue) -> &JsonValue {
        &at(e, &["data", "baseData", "metrics"]).as_array().unwrap()[0]
    }

    #[test]
    fn one_envelope_per_series_with_tag_values_as_properties() {
        let out = encode(Aggregation::Count, &[(1.0, &[("method", "GET")]), (1.0, &[("method", "GET")]), (1.0, &[])]);
        assert_eq!(out.len(), 2);
        assert_eq!(at(&out[0], &["name"]).as_str(), Some("Microsoft.ApplicationInsights.Metric"));
        assert_eq!(at(&out[0], &["time"]).as_str(), Some("2026-11-25T12:20:59.000000Z"));
        assert_eq!(at(&out[0], &["data", "baseType"]).as_str(), Some("MetricData"));
        assert_eq!(at(&out[0], &["tags", "ai.cloud.role"]).as_str(), Some("svc"));
        let p = point(&out[0]);
        assert_eq!(at(p, &["name"]).as_str(), Some("request_latency"));
        assert_eq!(at(p, &["ns"]).as_str(), Some("request_latency"));
        assert_eq!(at(p, &["kind"]).as_f64(), Some(0.0));
        assert_eq!(at(p, &["value"]).as_f64(), Some(2.0));
        assert!(p.get("count").is_none());
        let props = at(&out[0], &["data", "baseData", "properties"]);
        assert_eq!(at(props, &["method"]).as_str(), Some("GET"));
        assert!(props.get("status").is_none(), "a missing tag is left out");
        assert_eq!(at(&out[1], &["data", "baseData", "properties"]), &JsonValue::Object(vec![]));
    }

    #[test]
    fn distributions_are_aggregated_points() {
        let values: Vec<(f64, &[(&str, &str)])> =
            [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0].iter().map(|v| (*v, &[][..])).collect();
        let out = encode(Aggregation::Distribution(vec![5.0]), &values);
        let p = point(&out[0]);
        assert_eq!(at(p, &["kind"]).as_f64(), Some(1.0));
        assert_eq!(at(p, &["value"]).as_f64(), Some(40.0));
        assert_eq!(at(p, &["count"]).as_f64(), Some(8.0));
        assert_eq!(at(p, &["min"]).as_f64(), Some(2.0));
        assert_eq!(at(p, &["max"]).as_f64(), Some(9.0));
        assert_eq!(at(p, &["stdDev"]).as_f64(), Some(2.0));
    }

    #[test]
    fn sums_and_last_values() {
        let out = encode(Aggregation::Sum, &[(1.5, &[]), (2.0, &[])]);
        assert_eq!(at(point(&out[0]), &["value"]).as_f64(), Some(3.5));
        let out = encode(Aggregation::LastValue, &[(1.5, &[]), (0.25, &[])]);
        assert_eq!(at(point(&out[0]), &["value"]).as_f64(), Some(0.25));
    }
}
