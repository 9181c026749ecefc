//! The tracer starts spans: it draws ids, applies the sampler and links a child to its parent.

use crate::diagnostics::Diagnostics;
use crate::ids::IdGenerator;
use crate::platform::Entropy;
use crate::trace::sampler::Sampler;
use crate::trace::span::{truncate, Attributes, SpanContext, SpanData, SpanKind, SpanLimits, Status, MAX_NAME_LENGTH};

/// A span just started: its context always, its data only when it is sampled (recording).
#[derive(Debug)]
pub struct StartedSpan {
    pub context: SpanContext,
    pub data: Option<SpanData>,
}

pub struct Tracer {
    pub sampler: Sampler,
    pub limits: SpanLimits,
    ids: Option<IdGenerator>,
}

impl Tracer {
    pub fn new(sampler: Sampler, limits: SpanLimits) -> Tracer {
        Tracer { sampler, limits, ids: None }
    }

    /// The id generator, seeded on first use (never at construction: worker runtimes
    /// forbid random numbers at import time). Without entropy, the clock seeds it.
    fn ids(&mut self, entropy: &dyn Entropy, now_unix_nanos: u64) -> &mut IdGenerator {
        self.ids.get_or_insert_with(|| {
            let mut seed = [0u8; 32];
            if !entropy.fill(&mut seed) {
                seed[..8].copy_from_slice(&now_unix_nanos.to_le_bytes());
            }
            IdGenerator::from_seed(seed)
        })
    }

    /// Draws `count` fresh id pairs for the JS API, 7 words each: a trace id (4 big-endian
    /// words), a span id (2), and whether the sampler keeps a new trace with that id (1 or 0).
    pub fn draw_ids(&mut self, count: usize, entropy: &dyn Entropy, now_unix_nanos: u64) -> Vec<u32> {
        let sampler = self.sampler;
        let ids = self.ids(entropy, now_unix_nanos);
        let mut out = Vec::with_capacity(count * 7);
        for _ in 0..count {
            let trace_id = ids.trace_id();
            let span_id = ids.span_id();
            out.extend(trace_id.words());
            out.extend(span_id.words());
            out.push(u32::from(sampler.should_sample(None, &trace_id)));
        }
        out
    }

    /// Starts a span. A valid `parent` makes it a child in the parent's trace; otherwise it
    /// starts a new trace.
    pub fn start_span(
        &mut self,
        name: String,
        kind: SpanKind,
        parent: Option<&SpanContext>,
        start_unix_nanos: u64,
        entropy: &dyn Entropy,
        diag: &mut Diagnostics,
    ) -> StartedSpan {
        let parent = parent.filter(|p| p.is_valid());
        let ids = self.ids(entropy, start_unix_nanos);
        let trace_id = match parent {
            Some(p) => p.trace_id,
            None => ids.trace_id(),
        };
        let span_id = ids.span_id();
        let sampled = self.sampler.should_sample(parent, &trace_id);
        let context = SpanContext {
            trace_id,
            span_id,
            trace_flags: if sampled { SpanContext::SAMPLED } else { 0 },
            trace_state: parent.map(|p| p.trace_state.clone()).unwrap_or_default(),
            is_remote: false,
        };
        diag.spans_started += 1;
        if !sampled {
            diag.spans_sampled_out += 1;
            return StartedSpan { context, data: None };
        }
        let data = SpanData {
            context: context.clone(),
            parent_span_id: parent.map(|p| p.span_id),
            name: truncate(name, MAX_NAME_LENGTH, diag),
            kind,
            start_unix_nanos,
            end_unix_nanos: start_unix_nanos,
            attributes: Attributes::default(),
            events: Vec::new(),
            dropped_events: 0,
            links: Vec::new(),
            dropped_links: 0,
            status: Status::Unset,
        };
        StartedSpan { context, data: Some(data) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{SpanId, TraceId};

    struct FixedEntropy(u8);
    impl Entropy for FixedEntropy {
        fn fill(&self, seed: &mut [u8; 32]) -> bool {
            seed.fill(self.0);
            true
        }
    }
    struct NoEntropy;
    impl Entropy for NoEntropy {
        fn fill(&self, _: &mut [u8; 32]) -> bool {
            false
        }
    }

    #[test]
    fn root_span_starts_a_new_sampled_trace() {
        let mut diag = Diagnostics::default();
        let mut tracer = Tracer::new(Sampler::AlwaysOn, SpanLimits::default());
        let root = tracer.start_span("root".into(), SpanKind::Server, None, 5, &FixedEntropy(3), &mut diag);
        assert!(root.context.is_valid() && root.context.is_sampled());
        let data = root.data.unwrap();
        assert_eq!(data.parent_span_id, None);
        assert_eq!((data.name.as_str(), data.kind, data.start_unix_nanos), ("root", SpanKind::Server, 5));
        assert_eq!(diag.spans_started, 1);
    }

    #[test]
    fn child_joins_its_parents_trace_and_keeps_its_tracestate() {
        let mut diag = Diagnostics::default();
        let mut tracer = Tracer::new(Sampler::AlwaysOn, SpanLimits::default());
        let parent = SpanContext {
            trace_id: TraceId([9; 16]),
            span_id: SpanId([8; 8]),
            trace_flags: 1,
            trace_state: crate::trace_context::TraceState::parse("a=1").unwrap(),
            is_remote: true,
        };
        let child = tracer.start_span("c".into(), SpanKind::Client, Some(&parent), 0, &NoEntropy, &mut diag);
        assert_eq!(child.context.trace_id, parent.trace_id);
        assert_ne!(child.context.span_id, parent.span_id);
        assert_eq!(child.context.trace_state.header(), "a=1");
        assert_eq!(child.data.unwrap().parent_span_id, Some(parent.span_id));
    }

    #[test]
    fn an_invalid_parent_starts_a_new_trace() {
        let mut diag = Diagnostics::default();
        let mut tracer = Tracer::new(Sampler::AlwaysOn, SpanLimits::default());
        let bad = SpanContext::default();
        let span = tracer.start_span("x".into(), SpanKind::Internal, Some(&bad), 0, &NoEntropy, &mut diag);
        assert!(span.context.trace_id.is_valid());
        assert_eq!(span.data.unwrap().parent_span_id, None);
    }

    #[test]
    fn sampled_out_spans_have_a_context_but_no_data() {
        let mut diag = Diagnostics::default();
        let mut tracer = Tracer::new(Sampler::AlwaysOff, SpanLimits::default());
        let span = tracer.start_span("x".into(), SpanKind::Internal, None, 0, &NoEntropy, &mut diag);
        assert!(span.context.is_valid());
        assert!(!span.context.is_sampled());
        assert!(span.data.is_none());
        assert_eq!(diag.spans_sampled_out, 1);
    }

    #[test]
    fn every_span_of_a_probability_sampled_trace_agrees() {
        let mut diag = Diagnostics::default();
        let mut tracer = Tracer::new(Sampler::probability(0.5).unwrap(), SpanLimits::default());
        for _ in 0..200 {
            let root = tracer.start_span("r".into(), SpanKind::Server, None, 0, &FixedEntropy(1), &mut diag);
            let child =
                tracer.start_span("c".into(), SpanKind::Client, Some(&root.context), 0, &FixedEntropy(1), &mut diag);
            assert_eq!(root.data.is_some(), child.data.is_some());
        }
    }
}
