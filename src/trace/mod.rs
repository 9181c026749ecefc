//! Tracing: the span model, samplers and the tracer, modelled on OpenCensus.

pub mod sampler;
pub mod span;
pub mod tracer;

pub use sampler::Sampler;
pub use span::{AttributeValue, Attributes, Event, Link, SpanContext, SpanData, SpanKind, SpanLimits, Status};
pub use tracer::{StartedSpan, Tracer};
