//! Samplers decide, at span start, whether a trace is recorded and exported.
//!
//! As in OpenCensus, a sampled parent is always honoured and the probability
//! sampler decides from the trace id alone, so every span of a trace agrees.

use crate::ids::TraceId;
use crate::trace::span::SpanContext;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampler {
    AlwaysOn,
    AlwaysOff,
    /// Keeps a trace when the low 64 bits of its id fall under `probability × 2^64`.
    Probability(f64),
}

/// Why a probability sampler could not be built.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InvalidProbability(pub f64);

impl core::fmt::Display for InvalidProbability {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut got = String::new();
        match self.0 {
            p if p.is_nan() => got.push_str("NaN"),
            p if p.is_infinite() => got.push_str(if p > 0.0 { "Infinity" } else { "-Infinity" }),
            p => crate::json::push_f64(&mut got, p), // (JSON's writer: NaN would read "null")
        }
        write!(f, "sampler probability must be a number from 0 to 1, got {got}")
    }
}

/// `p × 2^64`, the bound a trace id's low 64 bits are compared with (in integers; the cast
/// saturates for `p` close to 1).
fn bound(p: f64) -> u64 {
    (p * 18_446_744_073_709_551_616.0) as u64
}

impl Sampler {
    pub fn probability(p: f64) -> Result<Sampler, InvalidProbability> {
        if (0.0..=1.0).contains(&p) {
            Ok(Sampler::Probability(p))
        } else {
            Err(InvalidProbability(p))
        }
    }

    /// The sampler for the JS API, which decides for spans with a parent itself: `[mode, high,
    /// low]` with mode 0 always, 1 never, 2 "a sampled parent, or the trace id's low 64 bits
    /// under `high × 2^32 + low`" (the same rule as [`should_sample`](Self::should_sample)).
    pub fn as_words(&self) -> [u32; 3] {
        match self {
            Sampler::AlwaysOn => [0, 0, 0],
            Sampler::Probability(p) if *p >= 1.0 => [0, 0, 0],
            Sampler::AlwaysOff => [1, 0, 0],
            Sampler::Probability(p) => {
                let bound = bound(*p);
                [2, (bound >> 32) as u32, bound as u32]
            }
        }
    }

    /// Whether a span with this parent (if any) in this trace is sampled.
    pub fn should_sample(&self, parent: Option<&SpanContext>, trace_id: &TraceId) -> bool {
        match self {
            Sampler::AlwaysOn => true,
            Sampler::AlwaysOff => false,
            Sampler::Probability(p) => {
                if parent.is_some_and(|c| c.is_sampled()) {
                    return true;
                }
                if *p >= 1.0 {
                    return true;
                }
                trace_id.low_u64() < bound(*p)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(low: u64) -> TraceId {
        let mut b = [0u8; 16];
        b[0] = 1;
        b[8..].copy_from_slice(&low.to_be_bytes());
        TraceId(b)
    }

    #[test]
    fn always_and_never() {
        assert!(Sampler::AlwaysOn.should_sample(None, &id(u64::MAX)));
        let sampled_parent = SpanContext { trace_flags: 1, ..Default::default() };
        assert!(!Sampler::AlwaysOff.should_sample(Some(&sampled_parent), &id(0)));
    }

    #[test]
    fn probability_decides_from_the_trace_id() {
        let half = Sampler::probability(0.5).unwrap();
        assert!(half.should_sample(None, &id(0)));
        assert!(half.should_sample(None, &id((1u64 << 63) - 1)));
        assert!(!half.should_sample(None, &id(1u64 << 63)));
        assert!(!half.should_sample(None, &id(u64::MAX)));
        let none = Sampler::probability(0.0).unwrap();
        assert!(!none.should_sample(None, &id(0)));
        let all = Sampler::probability(1.0).unwrap();
        assert!(all.should_sample(None, &id(u64::MAX)));
    }

    #[test]
    fn a_sampled_parent_is_honoured() {
        let none = Sampler::probability(0.0).unwrap();
        let parent = SpanContext { trace_flags: 1, ..Default::default() };
        assert!(none.should_sample(Some(&parent), &id(u64::MAX)));
        let unsampled = SpanContext { trace_flags: 0, ..Default::default() };
        assert!(!none.should_sample(Some(&unsampled), &id(u64::MAX)));
    }

    #[test]
    fn rate_is_close_to_the_probability() {
        let s = Sampler::probability(0.25).unwrap();
        let mut gen = crate::ids::IdGenerator::from_seed([7; 32]);
        let kept = (0..20_000).filter(|_| s.should_sample(None, &gen.trace_id())).count();
        assert!((4_500..5_500).contains(&kept), "kept {kept} of 20000");
    }

    #[test]
    fn out_of_range_probabilities_are_errors() {
        assert!(Sampler::probability(1.5).is_err());
        assert!(Sampler::probability(-0.1).is_err());
        assert!(Sampler::probability(f64::NAN).is_err());
        assert!(InvalidProbability(f64::NAN).to_string().ends_with("got NaN"));
        assert!(InvalidProbability(f64::INFINITY).to_string().ends_with("got Infinity"));
        assert!(InvalidProbability(1.5).to_string().ends_with("got 1.5"));
    }
}
