//! A minimal JSON writer and reader for the exporters, in place of serde to keep the wasm small.
//!
//! The writer appends JSON strings and numbers to a `String`; the reader parses RFC 8259 text
//! (such as ingestion responses) into a [`JsonValue`] tree, nesting at most [`MAX_DEPTH`]
//! levels deep, and returns an error, never panics, on anything else (HTML error pages,
//! truncated bodies).

use core::fmt;

/// How many arrays and objects may nest inside each other.
pub const MAX_DEPTH: usize = 64;

/// Writes `s` as a quoted JSON string. `"`, `\` and control characters are escaped, and so
/// are U+2028 and U+2029 (so the output is also valid JavaScript); everything else is
/// written as UTF-8.
pub fn push_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // Only ASCII `"`, `\` and controls, and U+2028/U+2029 (E2 80 A8/A9), need escaping.
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "\\u00",
            0xe2 if bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)) => {
                if bytes.get(i + 2) == Some(&0xa8) {
                    "\\u2028"
                } else {
                    "\\u2029"
                }
            }
            _ => {
                i += 1;
                continue;
            }
        };
        // `run..i` ends before an ASCII byte or a U+2028/9 lead byte: always a char boundary.
        out.push_str(s.get(run..i).unwrap_or_default());
        out.push_str(escaped);
        let width = if escaped.len() == 6 { 3 } else { 1 };
        if escaped == "\\u00" {
            out.push(char::from(crate::ids::HEX[usize::from(b >> 4)]));
            out.push(char::from(crate::ids::HEX[usize::from(b & 15)]));
        }
        i += width;
        run = i;
    }
    out.push_str(s.get(run..).unwrap_or_default());
    out.push('"');
}

/// Formats a finite, non-integral `f64` as the shortest decimal that reads back as the same
/// value. The wasm build leaves this to JavaScript's `String(number)` (the platform layer
/// installs it when a client is created): core's float formatting would add ~8 kB (brotli) to
/// the `.wasm`. Native builds, and the tests, use `core::fmt`.
pub static FLOAT_FORMATTER: std::sync::OnceLock<fn(f64, &mut String)> = std::sync::OnceLock::new();

/// Writes `v` as the shortest decimal that reads back as the same `f64` (`3`, `0.5`, `-0`,
/// `1e21`, `5e-324`); NaN and the infinities, which JSON cannot express, become `null`.
pub fn push_f64(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push_str("null");
    } else if v == 0.0 && v.is_sign_negative() {
        out.push_str("-0");
    } else if v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_991.0 {
        push_i64(out, v as i64);
    } else if let Some(format) = FLOAT_FORMATTER.get() {
        format(v, out);
    } else {
        push_f64_with_fmt(out, v);
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn push_f64_with_fmt(out: &mut String, v: f64) {
    use core::fmt::Write;
    // Display never uses an exponent (1e308 would be 309 digits), so switch to `{:e}` where
    // JavaScript does; both print the shortest round-trip digits.
    let a = v.abs();
    let _ = if a != 0.0 && !(1e-7..1e21).contains(&a) { write!(out, "{v:e}") } else { write!(out, "{v}") };
}

/// Cannot be reached in wasm (a client installs the formatter before anything is encoded);
/// written so that it never panics: the value to 17 significant digits, without `core::fmt`.
#[cfg(target_arch = "wasm32")]
fn push_f64_with_fmt(out: &mut String, v: f64) {
    if v < 0.0 {
        out.push('-');
    }
    let mut exponent = 0i64;
    let mut m = v.abs();
    while m >= 1e17 {
        m /= 10.0;
        exponent += 1;
    }
    while m < 1e16 {
        m *= 10.0;
        exponent -= 1;
    }
    push_u64(out, m as u64);
    out.push('e');
    push_i64(out, exponent);
}

/// Writes `v` in decimal.
pub fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Writes `v` in decimal (digits written backwards into a buffer, two at a time).
pub fn push_u64(out: &mut String, mut v: u64) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + v as u8;
    }
    // Only ASCII digits were written.
    out.push_str(core::str::from_utf8(&buf[at..]).unwrap_or_default());
}

/// A parsed JSON value. Object members keep their order, duplicates included.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonValue {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<JsonValue>),
    Object(Vec<(String, JsonValue)>),
}

/// Why a text is not JSON; offsets are in bytes from the start of the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonError {
    /// The text ends inside a value (or is empty).
    UnexpectedEnd,
    UnexpectedChar(usize),
    /// A malformed number, or one too large for an `f64`; the offset of its first byte.
    InvalidNumber(usize),
    /// A bad `\` escape; the offset of the backslash.
    InvalidEscape(usize),
    /// More than [`MAX_DEPTH`] nested arrays and objects.
    TooDeep,
    /// Something other than whitespace follows the value.
    TrailingData(usize),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEnd => f.write_str("JSON text ends unexpectedly"),
            Self::UnexpectedChar(at) => write!(f, "unexpected character in JSON at byte {at}"),
            Self::InvalidNumber(at) => write!(f, "invalid number in JSON at byte {at}"),
            Self::InvalidEscape(at) => write!(f, "invalid escape in JSON string at byte {at}"),
            Self::TooDeep => write!(f, "JSON nests more than {MAX_DEPTH} levels deep"),
            Self::TrailingData(at) => {
                write!(f, "unexpected data after the JSON value at byte {at}")
            }
        }
    }
}

impl JsonValue {
    /// The member `key` of an object (the last one if repeated, as in JavaScript).
    pub fn get(&self, key: &str) -> Option<&JsonValue> {
        match self {
            Self::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::Number(n) => Some(n),
            _ => None,
        }
    }

    /// A number that is a whole value in `0..2^64`.
    pub fn as_u64(&self) -> Option<u64> {
        let n = self.as_f64()?;
        (n >= 0.0 && n.fract() == 0.0 && n < 18_446_744_073_709_551_616.0).then_some(n as u64)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[JsonValue]> {
        match self {
            Self::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(b) => Some(b),
            _ => None,
        }
    }
}

/// Parses a whole JSON text (RFC 8259). Escaped lone surrogates become U+FFFD.
pub fn parse(text: &str) -> Result<JsonValue, JsonError> {
    let mut p = Parser { text, pos: 0 };
    let value = p.value(0)?;
    p.skip_ws();
    match p.peek() {
        Some(_) => Err(JsonError::TrailingData(p.pos)),
        None => Ok(value),
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn next(&mut self) -> Result<u8, JsonError> {
        let b = self.peek().ok_or(JsonError::UnexpectedEnd)?;
        self.pos += 1;
        Ok(b)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Skips whitespace, then consumes `want`.
    fn expect(&mut self, want: u8) -> Result<(), JsonError> {
        self.skip_ws();
        if self.next()? == want {
            Ok(())
        } else {
            Err(JsonError::UnexpectedChar(self.pos - 1))
        }
    }

    /// After an array item or object member: `Ok(true)` at `close`, `Ok(false)` after a comma.
    fn end_of(&mut self, close: u8) -> Result<bool, JsonError> {
        self.skip_ws();
        match self.next()? {
            b',' => Ok(false),
            b if b == close => Ok(true),
            _ => Err(JsonError::UnexpectedChar(self.pos - 1)),
        }
    }

    /// Consumes `close` if it comes next (an empty array or object).
    fn empty(&mut self, close: u8) -> bool {
        self.skip_ws();
        let found = self.peek() == Some(close);
        self.pos += usize::from(found);
        found
    }

    fn value(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        self.skip_ws();
        match self.peek().ok_or(JsonError::UnexpectedEnd)? {
            b'[' | b'{' if depth >= MAX_DEPTH => Err(JsonError::TooDeep),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                if !self.empty(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.end_of(b']')? {
                            break;
                        }
                    }
                }
                Ok(JsonValue::Array(items))
            }
            b'{' => {
                self.pos += 1;
                let mut members = Vec::new();
                if !self.empty(b'}') {
                    loop {
                        self.expect(b'"')?;
                        let key = self.string()?;
                        self.expect(b':')?;
                        members.push((key, self.value(depth + 1)?));
                        if self.end_of(b'}')? {
                            break;
                        }
                    }
                }
                Ok(JsonValue::Object(members))
            }
            b'"' => {
                self.pos += 1;
                self.string().map(JsonValue::String)
            }
            b't' => self.literal(b"true", JsonValue::Bool(true)),
            b'f' => self.literal(b"false", JsonValue::Bool(false)),
            b'n' => self.literal(b"null", JsonValue::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(JsonError::UnexpectedChar(self.pos)),
        }
    }

    fn literal(&mut self, word: &[u8], value: JsonValue) -> Result<JsonValue, JsonError> {
        let rest = self.text.as_bytes().get(self.pos..).unwrap_or_default();
        let matched = rest.iter().zip(word).take_while(|(a, b)| a == b).count();
        self.pos += matched;
        if matched == word.len() {
            Ok(value)
        } else {
            self.peek().map_or(Err(JsonError::UnexpectedEnd), |_| Err(JsonError::UnexpectedChar(self.pos)))
        }
    }

    fn number(&mut self) -> Result<JsonValue, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        if self.peek() == Some(b'0') {
            self.pos += 1;
            if matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(JsonError::InvalidNumber(start));
            }
        } else {
            self.digits(start)?;
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits(start)?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits(start)?;
        }
        // Read without core's float parser (its tables weigh ~12 kB brotli in the .wasm): exact
        // for integers up to 2^53 and for up to 15 significant digits with a power of ten up to
        // 22 (Clinger's fast path); other numbers within a few units in the last place, and
        // subnormals may read as 0. The exporters only read counts and codes from answers.
        let approx = |t: &str| -> Option<f64> {
            let (t, negative) = match t.strip_prefix('-') {
                Some(rest) => (rest, true),
                None => (t, false),
            };
            let (mantissa, exponent) = match t.find(['e', 'E']) {
                Some(i) => (t.get(..i)?, t.get(i + 1..)?.parse::<i32>().ok()?),
                None => (t, 0),
            };
            let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
            let mut v = 0f64;
            for b in int.bytes().chain(frac.bytes()) {
                v = v * 10.0 + f64::from(b - b'0');
            }
            let power = exponent.saturating_sub(i32::try_from(frac.len()).ok()?);
            let v = if power < 0 {
                // Dividing by an exact power of ten rounds once; 10^k is exact up to k = 22.
                if power >= -22 {
                    v / 10f64.powi(-power)
                } else {
                    v / 1e22 / 10f64.powi(-power - 22)
                }
            } else {
                v * 10f64.powi(power)
            };
            Some(if negative { -v } else { v })
        };
        match self.text.get(start..self.pos).and_then(approx) {
            Some(n) if n.is_finite() => Ok(JsonValue::Number(n)),
            _ => Err(JsonError::InvalidNumber(start)),
        }
    }

    /// One or more ASCII digits, for the number starting at `start`.
    fn digits(&mut self, start: usize) -> Result<(), JsonError> {
        let first = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        match self.peek() {
            _ if self.pos > first => Ok(()),
            None => Err(JsonError::UnexpectedEnd),
            Some(_) => Err(JsonError::InvalidNumber(start)),
        }
    }

    /// The rest of a string whose opening quote was consumed.
    fn string(&mut self) -> Result<String, JsonError> {
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            let at = self.pos;
            match self.next()? {
                // Runs end only at ASCII bytes, which are always char boundaries.
                b'"' => {
                    out.push_str(self.text.get(run..at).unwrap_or_default());
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(self.text.get(run..at).unwrap_or_default());
                    out.push(match self.next()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape(at)?,
                        _ => return Err(JsonError::InvalidEscape(at)),
                    });
                    run = self.pos;
                }
                0..=0x1f => return Err(JsonError::UnexpectedChar(at)),
                _ => {}
            }
        }
    }

    /// The character of a `\uXXXX` escape (at byte `at`) whose `\u` was consumed, joining a
    /// surrogate pair; a lone surrogate becomes U+FFFD.
    fn unicode_escape(&mut self, at: usize) -> Result<char, JsonError> {
        let high = self.hex4(at)?;
        if (0xD800..0xDC00).contains(&high) {
            let rest = self.text.as_bytes().get(self.pos..).unwrap_or_default();
            if rest.starts_with(b"\\u") {
                let before = self.pos;
                self.pos += 2;
                let low = self.hex4(before)?;
                if (0xDC00..0xE000).contains(&low) {
                    let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
                }
                // Not a pair: read the second escape on its own.
                self.pos = before;
            }
        }
        Ok(char::from_u32(high).unwrap_or('\u{FFFD}'))
    }

    fn hex4(&mut self, at: usize) -> Result<u32, JsonError> {
        let mut n = 0;
        for _ in 0..4 {
            let digit = char::from(self.next()?).to_digit(16);
            n = n * 16 + digit.ok_or(JsonError::InvalidEscape(at))?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::JsonError as E;
    use super::JsonValue as V;
    use super::*;

    fn string(s: &str) -> String {
        let mut out = String::new();
        push_string(&mut out, s);
        out
    }

    fn num(v: f64) -> String {
        let mut out = String::new();
        push_f64(&mut out, v);
        out
    }

    /// A deterministic xorshift generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string(""), r#""""#);
        assert_eq!(string("plain"), r#""plain""#);
        assert_eq!(string("a\"b\\c/d"), r#""a\"b\\c/d""#);
        assert_eq!(string("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(string("\0\u{1}\u{1f}\u{7f}"), "\"\\u0000\\u0001\\u001f\u{7f}\"");
        assert_eq!(string("\u{2028}x\u{2029}"), r#""\u2028x\u2029""#);
        assert_eq!(string("héllo 🦀 中文"), "\"héllo 🦀 中文\"");
    }

    #[test]
    fn escaped_strings_read_back() {
        for s in ["", "\"", "\\\\\"", "\u{0}end", "a\u{1f}b\u{2028}", "🦀\n中\t", "\u{10FFFF}\u{FFFF}"] {
            assert_eq!(parse(&string(s)), Ok(V::String(s.into())), "{s:?}");
        }
    }

    #[test]
    fn integers() {
        let mut out = String::new();
        for v in [0, 7, 10, 99, 1234567890, i64::MAX, -1, -10, i64::MIN] {
            out.clear();
            push_i64(&mut out, v);
            assert_eq!(out, v.to_string());
        }
        for v in
            [0, 9, 10, 11, 99, 100, 101, 999, 1000, 1_764_081_234_567_890_123, 10u64.pow(19), u64::MAX - 1, u64::MAX]
        {
            out.clear();
            push_u64(&mut out, v);
            assert_eq!(out, v.to_string());
        }
    }

    #[test]
    fn floats() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(-3.0), "-3");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(-0.0), "-0");
        assert_eq!(num(1e20), "100000000000000000000");
        assert_eq!(num(1e21), "1e21");
        assert_eq!(num(-1.5e300), "-1.5e300");
        assert_eq!(num(1e308), "1e308");
        assert_eq!(num(f64::MAX), "1.7976931348623157e308");
        assert_eq!(num(1e-7), "0.0000001");
        assert_eq!(num(1.5e-8), "1.5e-8");
        assert_eq!(num(5e-324), "5e-324");
        assert_eq!(num(f64::NAN), "null");
        assert_eq!(num(f64::INFINITY), "null");
        assert_eq!(num(f64::NEG_INFINITY), "null");
    }

    #[test]
    fn floats_round_trip_bit_for_bit() {
        // The writer's text is the shortest that reads back exactly (checked with core's exact
        // parser); our reader, which is not exact for every float, stays within 1e-14.
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let v = f64::from_bits(rng.next());
            let text = num(v);
            if !v.is_finite() {
                assert_eq!(text, "null");
                continue;
            }
            assert_eq!(text.parse::<f64>().map(f64::to_bits), Ok(v.to_bits()), "{text}");
            match parse(&text) {
                Ok(V::Number(back)) => {
                    let close = back == v || ((back - v) / v).abs() < 1e-14 || v.abs() < 1e-300;
                    assert!(close, "{text} read as {back}");
                }
                other => assert!(v.abs() > 1e307, "{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn integers_and_short_decimals_are_read_exactly() {
        let mut rng = Rng(7);
        for _ in 0..20_000 {
            let whole = (rng.next() >> 11) as f64; // below 2^53
            assert_eq!(parse(&num(whole)).unwrap().as_f64(), Some(whole));
            let cents = (rng.next() % 10_000_000) as f64 / 100.0;
            assert_eq!(parse(&num(cents)).unwrap().as_f64(), Some(cents), "{cents}");
        }
    }

    #[test]
    fn numbers_are_read() {
        let n = |t: &str| parse(t).map(|v| v.as_f64());
        assert_eq!(n("0"), Ok(Some(0.0)));
        assert_eq!(n("-12"), Ok(Some(-12.0)));
        assert_eq!(n("3.25"), Ok(Some(3.25)));
        assert_eq!(n("1e3"), Ok(Some(1000.0)));
        assert_eq!(n("1E+3"), Ok(Some(1000.0)));
        assert_eq!(n("-2.5e-3"), Ok(Some(-0.0025)));
        let big = n("1e300").unwrap().unwrap();
        assert!(((big - 1e300) / 1e300).abs() < 1e-14, "large powers are close, not exact: {big}");
        assert_eq!(n("1e-400"), Ok(Some(0.0)));
        assert!(parse("-0").unwrap().as_f64().unwrap().is_sign_negative());
        assert_eq!(n(" 42 "), Ok(Some(42.0)));
    }

    #[test]
    fn as_u64_takes_only_whole_non_negative_numbers() {
        let u = |t: &str| parse(t).unwrap().as_u64();
        assert_eq!(u("3"), Some(3));
        assert_eq!(u("0"), Some(0));
        assert_eq!(u("-0"), Some(0));
        assert_eq!(u("2.0"), Some(2));
        assert_eq!(u("1e3"), Some(1000));
        assert_eq!(u("9007199254740992"), Some(9_007_199_254_740_992));
        assert_eq!(u("-1"), None);
        assert_eq!(u("2.5"), None);
        assert_eq!(u("18446744073709551616"), None);
        assert_eq!(u("\"3\""), None);
    }

    #[test]
    fn invalid_numbers() {
        for t in ["01", "-01", "-a", "1.x", "1.e5", "1e+x", "1e999", "-1e400", "-Infinity"] {
            assert_eq!(parse(t), Err(E::InvalidNumber(0)), "{t}");
        }
        assert_eq!(parse("[0, 1.]"), Err(E::InvalidNumber(4)));
        for t in ["-", "1.", "1e", "1e+"] {
            assert_eq!(parse(t), Err(E::UnexpectedEnd), "{t}");
        }
        assert_eq!(parse("+1"), Err(E::UnexpectedChar(0)));
        assert_eq!(parse(".5"), Err(E::UnexpectedChar(0)));
        assert_eq!(parse("NaN"), Err(E::UnexpectedChar(0)));
        assert_eq!(parse("0x10"), Err(E::TrailingData(1)));
    }

    #[test]
    fn literals_and_containers() {
        let v = parse(r#" { "a" : [ true , false , null , { } , [ ] ] , "b" : "x" } "#).unwrap();
        assert_eq!(
            v.get("a").and_then(V::as_array),
            Some(&[V::Bool(true), V::Bool(false), V::Null, V::Object(vec![]), V::Array(vec![])][..])
        );
        assert_eq!(v.get("b").and_then(V::as_str), Some("x"));
        assert_eq!(v.get("a").and_then(|a| a.get("x")), None);
        assert_eq!(v.get("missing"), None);
        assert_eq!(parse("true").unwrap().as_bool(), Some(true));
        assert_eq!(parse("null").unwrap().as_bool(), None);
        assert_eq!(parse(r#"{"k":1,"k":2}"#).unwrap().get("k"), Some(&V::Number(2.0)));
    }

    #[test]
    fn unexpected_characters_and_ends() {
        assert_eq!(parse(""), Err(E::UnexpectedEnd));
        assert_eq!(parse("   "), Err(E::UnexpectedEnd));
        assert_eq!(parse("<html><body>502 Bad Gateway</body></html>"), Err(E::UnexpectedChar(0)));
        assert_eq!(parse("tru"), Err(E::UnexpectedEnd));
        assert_eq!(parse("trux"), Err(E::UnexpectedChar(3)));
        assert_eq!(parse("nul1"), Err(E::UnexpectedChar(3)));
        assert_eq!(parse("[1,]"), Err(E::UnexpectedChar(3)));
        assert_eq!(parse("[1 2]"), Err(E::UnexpectedChar(3)));
        assert_eq!(parse("{,}"), Err(E::UnexpectedChar(1)));
        assert_eq!(parse(r#"{"a" 1}"#), Err(E::UnexpectedChar(5)));
        assert_eq!(parse(r#"{"a":1,}"#), Err(E::UnexpectedChar(7)));
        assert_eq!(parse("{a:1}"), Err(E::UnexpectedChar(1)));
        assert_eq!(parse("\"a\u{1}\""), Err(E::UnexpectedChar(2)));
        assert_eq!(parse("\"tab\there\""), Err(E::UnexpectedChar(4)));
        assert_eq!(parse("'a'"), Err(E::UnexpectedChar(0)));
        assert_eq!(parse("\u{feff}{}"), Err(E::UnexpectedChar(0)));
        assert_eq!(parse("[\"é\", ü]"), Err(E::UnexpectedChar(7)));
        assert_eq!(parse("\"abc"), Err(E::UnexpectedEnd));
        assert_eq!(parse("[1, 2"), Err(E::UnexpectedEnd));
        assert_eq!(parse(r#"{"a":"#), Err(E::UnexpectedEnd));
    }

    #[test]
    fn invalid_escapes() {
        assert_eq!(parse(r#""\x""#), Err(E::InvalidEscape(1)));
        assert_eq!(parse(r#""ab\'""#), Err(E::InvalidEscape(3)));
        assert_eq!(parse(r#""\u12G4""#), Err(E::InvalidEscape(1)));
        assert_eq!(parse(r#""\u00é1""#), Err(E::InvalidEscape(1)));
        assert_eq!(parse(r#""\uD800\u12""#), Err(E::InvalidEscape(7)));
        assert_eq!(parse(r#""\u12"#), Err(E::UnexpectedEnd));
        assert_eq!(parse(r#""\"#), Err(E::UnexpectedEnd));
    }

    #[test]
    fn surrogate_pairs() {
        let s = |t: &str| parse(t).unwrap().as_str().map(str::to_owned);
        assert_eq!(s(r#""\uD83E\uDD80""#).as_deref(), Some("🦀"));
        assert_eq!(s(r#""\ud83d\ude00!""#).as_deref(), Some("😀!"));
        assert_eq!(s(r#""\uDBFF\uDFFF""#).as_deref(), Some("\u{10FFFF}"));
        assert_eq!(s(r#""\u00e9\u4E2D\u0000""#).as_deref(), Some("é中\0"));
        // Lone surrogates.
        assert_eq!(s(r#""\uD800""#).as_deref(), Some("\u{FFFD}"));
        assert_eq!(s(r#""\uDC00x""#).as_deref(), Some("\u{FFFD}x"));
        assert_eq!(s(r#""\uD800\u0041""#).as_deref(), Some("\u{FFFD}A"));
        assert_eq!(s(r#""\uD800\uD83E\uDD80""#).as_deref(), Some("\u{FFFD}🦀"));
        assert_eq!(s(r#""\uD800\n""#).as_deref(), Some("\u{FFFD}\n"));
    }

    #[test]
    fn depth_limit() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        assert_eq!(parse(&nested(MAX_DEPTH + 1)), Err(E::TooDeep));
        assert_eq!(parse(&"[".repeat(100_000)), Err(E::TooDeep));
        let objects = format!("{}1{}", "{\"a\":".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert!(parse(&objects).is_ok());
        let objects = format!("{}1{}", "{\"a\":".repeat(MAX_DEPTH + 1), "}".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(&objects), Err(E::TooDeep));
    }

    #[test]
    fn trailing_data() {
        assert_eq!(parse("{} {}"), Err(E::TrailingData(3)));
        assert_eq!(parse("1 2"), Err(E::TrailingData(2)));
        assert_eq!(parse("\"a\"x"), Err(E::TrailingData(3)));
        assert_eq!(parse("null\n\t "), Ok(V::Null));
    }

    const BREEZE: &str = r#"{"itemsReceived":3,"itemsAccepted":2,"appId":null,"errors":[{"index":1,"statusCode":400,"message":"106: Field 'name' on type 'RequestData' is required but missing or empty. Expected: string, Actual: "}]}"#;

    #[test]
    fn breeze_response() {
        let v = parse(BREEZE).unwrap();
        assert_eq!(v.get("itemsReceived").and_then(V::as_u64), Some(3));
        assert_eq!(v.get("itemsAccepted").and_then(V::as_u64), Some(2));
        assert_eq!(v.get("appId"), Some(&V::Null));
        let errors = v.get("errors").and_then(V::as_array).unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].get("index").and_then(V::as_u64), Some(1));
        assert_eq!(errors[0].get("statusCode").and_then(V::as_u64), Some(400));
        assert!(errors[0].get("message").and_then(V::as_str).unwrap().starts_with("106: Field 'name'"));
        let otlp = parse(r#"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"bad"}}"#).unwrap();
        let partial = otlp.get("partialSuccess").unwrap();
        assert_eq!(partial.get("rejectedSpans").and_then(V::as_str), Some("2"));
    }

    #[test]
    fn every_truncation_is_an_error() {
        for (i, _) in BREEZE.char_indices().skip(1) {
            assert_eq!(parse(&BREEZE[..i]), Err(E::UnexpectedEnd), "{}", &BREEZE[..i]);
        }
    }

    #[test]
    fn random_strings_round_trip() {
        const POOL: &[char] = &[
            'a',
            'Z',
            '0',
            ' ',
            '"',
            '\\',
            '/',
            '\n',
            '\r',
            '\t',
            '\u{0}',
            '\u{1}',
            '\u{8}',
            '\u{c}',
            '\u{1f}',
            '\u{7f}',
            'é',
            'ß',
            '中',
            '\u{2028}',
            '\u{2029}',
            '\u{FEFF}',
            '\u{FFFD}',
            '\u{FFFF}',
            '🦀',
            '\u{10FFFF}',
        ];
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let mut text = String::new();
        for _ in 0..5_000 {
            text.clear();
            for _ in 0..rng.below(40) {
                let c = if rng.below(4) == 0 {
                    char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{D7FF}')
                } else {
                    POOL[rng.below(POOL.len() as u64) as usize]
                };
                text.push(c);
            }
            let written = string(&text);
            assert!(!written.contains(|c: char| c < ' ' || c == '\u{2028}' || c == '\u{2029}'));
            assert_eq!(parse(&written), Ok(V::String(text.clone())), "{written}");
            // The same string as a member of an object.
            let doc = format!("{{{written}:[{written}]}}");
            let v = parse(&doc).unwrap();
            assert_eq!(v.get(&text).and_then(V::as_array), Some(&[V::String(text.clone())][..]));
        }
    }

    #[test]
    fn garbage_never_panics() {
        const PIECES: &[&str] = &[
            "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "D83E", "\\uDD80", "1", "-", ".", "e", "0", "true", "nul",
            " ", "é", "🦀", "\u{0}", "<html>", "x",
        ];
        let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
        let mut text = String::new();
        let mut seen = [0; 7];
        for _ in 0..20_000 {
            text.clear();
            for _ in 0..rng.below(30) {
                text.push_str(PIECES[rng.below(PIECES.len() as u64) as usize]);
            }
            let (kind, at) = match parse(&text) {
                Ok(_) => (0, None),
                Err(E::UnexpectedEnd) => (1, None),
                Err(E::UnexpectedChar(at)) => (2, Some(at)),
                Err(E::InvalidNumber(at)) => (3, Some(at)),
                Err(E::InvalidEscape(at)) => (4, Some(at)),
                Err(E::TrailingData(at)) => (5, Some(at)),
                Err(E::TooDeep) => (6, None),
            };
            seen[kind] += 1;
            if let Some(at) = at {
                assert!(at < text.len() && text.is_char_boundary(at), "{text:?} {at}");
            }
        }
        // Every outcome but TooDeep turned up.
        assert!(seen[..6].iter().all(|&n| n > 0), "{seen:?}");
    }

    #[test]
    fn messages() {
        assert_eq!(E::UnexpectedChar(7).to_string(), "unexpected character in JSON at byte 7");
        assert_eq!(E::TooDeep.to_string(), "JSON nests more than 64 levels deep");
        assert!(E::UnexpectedEnd.to_string().contains("ends"));
    }
}
