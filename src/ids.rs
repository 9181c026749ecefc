//! Trace and span identifiers, their hex form, and the generator that draws them.
//!
//! Ids come from a small xoshiro256** generator seeded once from the platform's
//! entropy source, so drawing an id on the hot path never crosses into JavaScript.

/// A 16-byte W3C trace id. The all-zero id is invalid.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte W3C span (parent) id. The all-zero id is invalid.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct SpanId(pub [u8; 8]);

/// Lowercase hex digits (also the JSON writer's, for `\u00XX` escapes).
pub(crate) const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lowercase hex into `out`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xf) as usize] as char);
    }
}

/// Decodes exactly `N` bytes of lowercase hex. Uppercase is rejected, as W3C Trace Context requires.
fn decode_lower_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let raw = text.as_bytes();
    if raw.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in raw.chunks_exact(2).enumerate() {
        out[i] = (lower_hex_digit(pair[0])? << 4) | lower_hex_digit(pair[1])?;
    }
    Some(out)
}

fn lower_hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl TraceId {
    pub const INVALID: TraceId = TraceId([0; 16]);

    /// Parses 32 lowercase hex characters; the all-zero id parses but is not [`is_valid`](Self::is_valid).
    pub fn from_hex(text: &str) -> Option<TraceId> {
        decode_lower_hex::<16>(text).map(TraceId)
    }
    pub fn is_valid(&self) -> bool {
        self.0 != [0; 16]
    }
    /// As four big-endian 32-bit words (how the JS API keeps ids).
    pub fn words(&self) -> [u32; 4] {
        let w = |i: usize| u32::from_be_bytes([self.0[i], self.0[i + 1], self.0[i + 2], self.0[i + 3]]);
        [w(0), w(4), w(8), w(12)]
    }
    /// From four big-endian 32-bit words (how the JS API keeps ids).
    pub fn from_words(words: [u32; 4]) -> TraceId {
        let mut bytes = [0u8; 16];
        for (chunk, w) in bytes.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
        TraceId(bytes)
    }
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(32);
        push_hex(&mut s, &self.0);
        s
    }
    /// The low 8 bytes as a big-endian integer: what the probability sampler compares.
    pub fn low_u64(&self) -> u64 {
        let mut low = [0u8; 8];
        low.copy_from_slice(&self.0[8..]);
        u64::from_be_bytes(low)
    }
}

impl SpanId {
    pub const INVALID: SpanId = SpanId([0; 8]);

    /// Parses 16 lowercase hex characters; the all-zero id parses but is not [`is_valid`](Self::is_valid).
    pub fn from_hex(text: &str) -> Option<SpanId> {
        decode_lower_hex::<8>(text).map(SpanId)
    }
    pub fn is_valid(&self) -> bool {
        self.0 != [0; 8]
    }
    /// As two big-endian 32-bit words (how the JS API keeps ids).
    pub fn words(&self) -> [u32; 2] {
        let w = |i: usize| u32::from_be_bytes([self.0[i], self.0[i + 1], self.0[i + 2], self.0[i + 3]]);
        [w(0), w(4)]
    }
    /// From two big-endian 32-bit words (how the JS API keeps ids).
    pub fn from_words(words: [u32; 2]) -> SpanId {
        let mut bytes = [0u8; 8];
        for (chunk, w) in bytes.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
        SpanId(bytes)
    }
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(16);
        push_hex(&mut s, &self.0);
        s
    }
}

/// Draws ids from xoshiro256**, seeded from 32 bytes of platform entropy.
pub struct IdGenerator {
    state: [u64; 4],
}

impl IdGenerator {
    /// Seeds the generator. An all-zero seed (which would make xoshiro emit only zeros)
    /// is replaced by a fixed non-zero one.
    pub fn from_seed(seed: [u8; 32]) -> IdGenerator {
        let mut state = [0u64; 4];
        for (i, word) in state.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&seed[i * 8..i * 8 + 8]);
            *word = u64::from_le_bytes(w);
        }
        if state == [0; 4] {
            state = [0x9E37_79B9_7F4A_7C15, 0xBF58_476D_1CE4_E5B9, 0x94D0_49BB_1331_11EB, 1];
        }
        IdGenerator { state }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A fresh, valid (non-zero) trace id.
    pub fn trace_id(&mut self) -> TraceId {
        loop {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&self.next_u64().to_be_bytes());
            bytes[8..].copy_from_slice(&self.next_u64().to_be_bytes());
            let id = TraceId(bytes);
            if id.is_valid() {
                return id;
            }
        }
    }

    /// A fresh, valid (non-zero) span id.
    pub fn span_id(&mut self) -> SpanId {
        loop {
            let id = SpanId(self.next_u64().to_be_bytes());
            if id.is_valid() {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        assert_eq!(id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(id.is_valid());
        let span = SpanId::from_hex("00f067aa0ba902b7").unwrap();
        assert_eq!(span.to_hex(), "00f067aa0ba902b7");
    }

    #[test]
    fn rejects_uppercase_short_and_non_hex() {
        assert!(TraceId::from_hex("4BF92F3577B34DA6A3CE929D0E0E4736").is_none());
        assert!(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e473").is_none());
        assert!(SpanId::from_hex("00f067aa0ba902bg").is_none());
        assert!(SpanId::from_hex("").is_none());
        assert!(SpanId::from_hex("é0f067aa0ba902b").is_none());
    }

    #[test]
    fn all_zero_is_invalid() {
        assert!(!TraceId::from_hex("00000000000000000000000000000000").unwrap().is_valid());
        assert!(!SpanId::from_hex("0000000000000000").unwrap().is_valid());
    }

    #[test]
    fn generator_gives_distinct_valid_ids_even_from_zero_seed() {
        let mut gen = IdGenerator::from_seed([0; 32]);
        let a = gen.trace_id();
        let b = gen.trace_id();
        assert!(a.is_valid() && b.is_valid());
        assert_ne!(a, b);
        assert_ne!(gen.span_id(), gen.span_id());
    }

    #[test]
    fn low_u64_reads_the_last_eight_bytes_big_endian() {
        let id = TraceId::from_hex("000000000000000000000000000000ff").unwrap();
        assert_eq!(id.low_u64(), 255);
    }

    #[test]
    fn ids_round_trip_through_words() {
        let t = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap();
        assert_eq!(t.words(), [0x0af7_6519, 0x16cd_43dd, 0x8448_eb21, 0x1c80_319c]);
        assert_eq!(TraceId::from_words(t.words()), t);
        let s = SpanId::from_hex("b7ad6b7169203331").unwrap();
        assert_eq!(s.words(), [0xb7ad_6b71, 0x6920_3331]);
        assert_eq!(SpanId::from_words(s.words()), s);
    }
}
