//! W3C Trace Context: parsing and producing the `traceparent` and `tracestate` headers.
//!
//! Follows the W3C Trace Context Level 1 Recommendation (and the compatible parts of Level 2):
//!
//! * `traceparent` is `version-traceid-parentid-flags` in lowercase hex. Version `00` is exactly
//!   55 characters; a higher version is parsed as far as its version-00 prefix goes, provided the
//!   prefix is followed by the end of the value or a `-`. Version `ff` and all-zero ids are invalid.
//!   We always produce version `00`.
//! * `tracestate` is an ordered list of at most 32 `key=value` members, leftmost being the most
//!   recent. A header with any malformed member, a duplicate key, or more than 32 members is
//!   rejected whole; per the spec a bad `tracestate` never invalidates the `traceparent`.
//!
//! All input is treated as untrusted: parsing never panics, and non-ASCII input is an error
//! (except in the ignored tail of a future-version `traceparent`).

use crate::ids::{push_hex, SpanId, TraceId};
use core::fmt;

/// Header name of the trace parent.
pub const TRACEPARENT: &str = "traceparent";
/// Header name of the vendor trace state.
pub const TRACESTATE: &str = "tracestate";
/// The `sampled` bit of the trace flags.
pub const FLAG_SAMPLED: u8 = 0x01;
/// Most list-members a `tracestate` may hold.
pub const MAX_MEMBERS: usize = 32;
/// Longest `tracestate` we produce; the spec asks vendors to propagate at least this much.
pub const MAX_TRACESTATE_LEN: usize = 512;
/// Entries longer than this are the first to go when a `tracestate` must be shortened.
const LONG_ENTRY: usize = 128;
/// Length of a version-00 `traceparent`, and the prefix every later version shares with it.
const TRACEPARENT_LEN: usize = 55;

/// A parsed `traceparent` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceParent {
    pub version: u8,
    pub trace_id: TraceId,
    pub parent_id: SpanId,
    pub flags: u8,
}

impl TraceParent {
    /// Whether the caller may have recorded trace data (bit 0 of the flags).
    pub fn sampled(&self) -> bool {
        self.flags & FLAG_SAMPLED == FLAG_SAMPLED
    }
}

/// Why a `traceparent` value was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceParentError {
    /// Shorter than 55 characters, or a version-00 value that is not exactly 55.
    Length,
    /// The version is not two lowercase hex digits, or is the forbidden `ff`.
    Version,
    /// A `-` is missing where a field ends.
    Delimiter,
    /// The trace id is not 32 lowercase hex digits.
    TraceId,
    /// The parent id is not 16 lowercase hex digits.
    ParentId,
    /// The trace id is all zeros.
    ZeroTraceId,
    /// The parent id is all zeros.
    ZeroParentId,
    /// The flags are not two lowercase hex digits.
    Flags,
}

impl fmt::Display for TraceParentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TraceParentError::Length => "traceparent has the wrong length",
            TraceParentError::Version => "traceparent version is invalid",
            TraceParentError::Delimiter => "traceparent is missing a '-' delimiter",
            TraceParentError::TraceId => "traceparent trace-id is not 32 lowercase hex digits",
            TraceParentError::ParentId => "traceparent parent-id is not 16 lowercase hex digits",
            TraceParentError::ZeroTraceId => "traceparent trace-id is all zeros",
            TraceParentError::ZeroParentId => "traceparent parent-id is all zeros",
            TraceParentError::Flags => "traceparent trace-flags are not 2 lowercase hex digits",
        })
    }
}

impl std::error::Error for TraceParentError {}

/// Parses a `traceparent` value. Spaces and tabs around it are ignored (HTTP optional whitespace).
///
/// For a version above `00` the first 55 characters are read as version-00 fields and anything
/// after a following `-` is ignored; the flags are returned as given, so callers producing a new
/// header should keep only the bits they understand.
pub fn parse_traceparent(value: &str) -> Result<TraceParent, TraceParentError> {
    let value = trim_ows(value);
    let bytes = value.as_bytes();
    if bytes.len() < TRACEPARENT_LEN {
        return Err(TraceParentError::Length);
    }
    let version = value.get(0..2).and_then(parse_hex_byte).filter(|&v| v != 0xff).ok_or(TraceParentError::Version)?;
    if version == 0 && bytes.len() != TRACEPARENT_LEN {
        return Err(TraceParentError::Length);
    }
    let dash = |i: usize| bytes.get(i) == Some(&b'-');
    if !(dash(2) && dash(35) && dash(52)) || (bytes.len() > TRACEPARENT_LEN && !dash(55)) {
        return Err(TraceParentError::Delimiter);
    }
    let trace_id = value.get(3..35).and_then(TraceId::from_hex).ok_or(TraceParentError::TraceId)?;
    let parent_id = value.get(36..52).and_then(SpanId::from_hex).ok_or(TraceParentError::ParentId)?;
    let flags = value.get(53..55).and_then(parse_hex_byte).ok_or(TraceParentError::Flags)?;
    if !trace_id.is_valid() {
        return Err(TraceParentError::ZeroTraceId);
    }
    if !parent_id.is_valid() {
        return Err(TraceParentError::ZeroParentId);
    }
    Ok(TraceParent { version, trace_id, parent_id, flags })
}

/// Produces a version-00 `traceparent`. The flags are written as given (two hex digits); the
/// caller decides which bits to set (Level 1 defines only `sampled`, Level 2 adds `random`).
pub fn format_traceparent(trace_id: &TraceId, span_id: &SpanId, flags: u8) -> String {
    let mut out = String::with_capacity(TRACEPARENT_LEN);
    out.push_str("00-");
    push_hex(&mut out, &trace_id.0);
    out.push('-');
    push_hex(&mut out, &span_id.0);
    out.push('-');
    push_hex(&mut out, &[flags]);
    out
}

fn trim_ows(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// Two lowercase hex digits as a byte.
fn parse_hex_byte(text: &str) -> Option<u8> {
    match text.as_bytes() {
        [hi, lo] => Some((lower_hex(*hi)? << 4) | lower_hex(*lo)?),
        _ => None,
    }
}

fn lower_hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// The vendor entries of a `tracestate` header, leftmost (most recent) first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceState {
    entries: Vec<(String, String)>,
}

/// Why a `tracestate` header or entry was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceStateError {
    /// A non-empty list-member has no `=`.
    MissingEquals,
    /// A key does not match the simple-key or multi-tenant-key grammar.
    InvalidKey,
    /// A value is empty, too long, ends in a space, or holds a character outside 0x20-0x7E
    /// or a `,` or `=`.
    InvalidValue,
    /// The same key appears twice.
    DuplicateKey,
    /// More than 32 list-members.
    TooManyMembers,
}

impl fmt::Display for TraceStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TraceStateError::MissingEquals => "tracestate member is not key=value",
            TraceStateError::InvalidKey => "tracestate key is invalid",
            TraceStateError::InvalidValue => "tracestate value is invalid",
            TraceStateError::DuplicateKey => "tracestate key appears more than once",
            TraceStateError::TooManyMembers => "tracestate has more than 32 members",
        })
    }
}

impl std::error::Error for TraceStateError {}

impl TraceState {
    /// Parses a `tracestate` value (several header fields must be joined with `,` first).
    ///
    /// Spaces and tabs around members are ignored and empty members are skipped (they do not
    /// count toward the 32-member limit). The spec caps a list at 32 members; a longer header is
    /// rejected with [`TraceStateError::TooManyMembers`] rather than silently truncated, as is a
    /// header with any malformed member or a duplicate key.
    pub fn parse(header: &str) -> Result<TraceState, TraceStateError> {
        let mut entries: Vec<(String, String)> = Vec::new();
        for member in header.split(',').map(trim_ows) {
            if member.is_empty() {
                continue;
            }
            let (key, value) = member.split_once('=').ok_or(TraceStateError::MissingEquals)?;
            check_entry(key, value)?;
            if entries.iter().any(|(k, _)| k == key) {
                return Err(TraceStateError::DuplicateKey);
            }
            if entries.len() == MAX_MEMBERS {
                return Err(TraceStateError::TooManyMembers);
            }
            entries.push((key.to_owned(), value.to_owned()));
        }
        Ok(TraceState { entries })
    }

    /// The header value, `k1=v1,k2=v2`, or an empty string when there are no entries.
    ///
    /// The result is at most 512 characters: if the entries do not fit, whole entries are dropped
    /// as the spec suggests, first those longer than 128 characters (rightmost first), then from
    /// the right, until the rest fits.
    pub fn header(&self) -> String {
        // (key, value, entry length) of the entries that survive, in order.
        let mut kept: Vec<(&str, &str, usize)> = self.iter().map(|(k, v)| (k, v, k.len() + 1 + v.len())).collect();
        let mut total = kept.iter().map(|e| e.2).sum::<usize>() + kept.len().saturating_sub(1);
        while total > MAX_TRACESTATE_LEN {
            let victim = kept.iter().rposition(|e| e.2 > LONG_ENTRY).or(kept.len().checked_sub(1));
            let Some(i) = victim else { break };
            let (_, _, len) = kept.remove(i);
            // The entry goes, and with it one comma unless it was the last one.
            total -= len + usize::from(!kept.is_empty());
        }
        let mut out = String::with_capacity(total);
        for (key, value, _) in kept {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(key);
            out.push('=');
            out.push_str(value);
        }
        out
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Sets `key` to `value` and moves the entry to the front (left), as the spec requires for a
    /// new or modified entry. When that makes 33 entries, the rightmost is dropped. An invalid key
    /// or value leaves the state unchanged.
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), TraceStateError> {
        check_entry(key, value)?;
        self.remove(key);
        self.entries.insert(0, (key.to_owned(), value.to_owned()));
        self.entries.truncate(MAX_MEMBERS);
        Ok(())
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(k, _)| k != key);
        self.entries.len() != before
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries as `(key, value)`, leftmost first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn check_entry(key: &str, value: &str) -> Result<(), TraceStateError> {
    if !valid_key(key) {
        return Err(TraceStateError::InvalidKey);
    }
    if !valid_value(value) {
        return Err(TraceStateError::InvalidValue);
    }
    Ok(())
}

/// `simple-key = lcalpha 0*255(keychar)` or `tenant-id "@" system-id` where
/// `tenant-id = (lcalpha / DIGIT) 0*240(keychar)` and `system-id = lcalpha 0*13(keychar)`.
fn valid_key(key: &str) -> bool {
    match key.split_once('@') {
        None => key_part(key, 256, false),
        Some((tenant, system)) => key_part(tenant, 241, true) && key_part(system, 14, false),
    }
}

fn key_part(part: &str, max_len: usize, digit_first: bool) -> bool {
    let keychar = |c: &u8| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/');
    match part.as_bytes() {
        [first, rest @ ..] => {
            (first.is_ascii_lowercase() || (digit_first && first.is_ascii_digit()))
                && rest.len() < max_len
                && rest.iter().all(keychar)
        }
        [] => false,
    }
}

/// `value = 0*255(chr) nblk-chr`: 1 to 256 printable ASCII characters other than `,` and `=`,
/// not ending in a space.
fn valid_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    (1..=256).contains(&bytes.len())
        && bytes.last() != Some(&b' ')
        && bytes.iter().all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";
    const SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn tp(version: &str, trace: &str, span: &str, flags: &str) -> String {
        format!("{version}-{trace}-{span}-{flags}")
    }

    fn ids() -> (TraceId, SpanId) {
        (TraceId::from_hex(TRACE).unwrap(), SpanId::from_hex(SPAN).unwrap())
    }

    // ── traceparent ────────────────────────────────────────────────────────

    #[test]
    fn parses_the_spec_examples() {
        let (trace_id, parent_id) = ids();
        let p = parse_traceparent(SAMPLED).unwrap();
        assert_eq!(p, TraceParent { version: 0, trace_id, parent_id, flags: 1 });
        assert!(p.sampled());
        let p = parse_traceparent(&tp("00", TRACE, SPAN, "00")).unwrap();
        assert_eq!(p.flags, 0);
        assert!(!p.sampled());
    }

    #[test]
    fn formats_version_00_and_round_trips() {
        let (trace_id, span_id) = ids();
        assert_eq!(format_traceparent(&trace_id, &span_id, 1), SAMPLED);
        assert_eq!(format_traceparent(&trace_id, &span_id, 0x03), tp("00", TRACE, SPAN, "03"));
        let text = format_traceparent(&trace_id, &span_id, 0xab);
        let p = parse_traceparent(&text).unwrap();
        assert_eq!((p.trace_id, p.parent_id, p.flags), (trace_id, span_id, 0xab));
    }

    #[test]
    fn version_00_accepts_every_flags_byte_as_given() {
        for flags in 0..=255u8 {
            let text = tp("00", TRACE, SPAN, &format!("{flags:02x}"));
            let p = parse_traceparent(&text).unwrap();
            assert_eq!(p.flags, flags);
            assert_eq!(p.sampled(), flags & 1 == 1);
        }
        assert!(parse_traceparent(&tp("00", TRACE, SPAN, "09")).unwrap().sampled());
        assert!(!parse_traceparent(&tp("00", TRACE, SPAN, "02")).unwrap().sampled());
    }

    #[test]
    fn future_versions_parse_their_version_00_prefix() {
        let (trace_id, parent_id) = ids();
        let exact = tp("cc", TRACE, SPAN, "01");
        let longer = format!("{exact}-what-the-future-will-be-like");
        for text in [&exact, &longer, &format!("{exact}-")] {
            let p = parse_traceparent(text).unwrap();
            assert_eq!(p, TraceParent { version: 0xcc, trace_id, parent_id, flags: 1 });
        }
        // Future flags are read as given; version 01 and fe are ordinary future versions.
        assert_eq!(parse_traceparent(&tp("01", TRACE, SPAN, "ff")).unwrap().flags, 0xff);
        assert_eq!(parse_traceparent(&tp("fe", TRACE, SPAN, "00")).unwrap().version, 0xfe);
        // Whatever follows the dash is not inspected, even non-ASCII.
        assert!(parse_traceparent(&format!("{exact}-é€")).is_ok());
    }

    #[test]
    fn future_versions_still_need_the_prefix_delimiters_and_length() {
        let exact = tp("cc", TRACE, SPAN, "01");
        assert_eq!(
            parse_traceparent(&format!("{exact}.what-the-future-will-not-be-like")),
            Err(TraceParentError::Delimiter)
        );
        assert_eq!(parse_traceparent(&format!("{exact}0")), Err(TraceParentError::Delimiter));
        assert_eq!(parse_traceparent(&exact[..54]), Err(TraceParentError::Length));
        assert_eq!(parse_traceparent(&tp("cc", TRACE, SPAN, "0")), Err(TraceParentError::Length));
        // A short flags field followed by more data lands a non-hex char in the flags.
        assert_eq!(parse_traceparent(&format!("{}--xyz", tp("cc", TRACE, SPAN, "0"))), Err(TraceParentError::Flags));
        assert_eq!(parse_traceparent(&tp("cc", TRACE, "00000000000000000", "01")), Err(TraceParentError::Delimiter));
    }

    #[test]
    fn version_00_rejects_extra_characters() {
        for suffix in ["-", "-what-the-future-will-not-be-like", ".", "0", " x"] {
            assert_eq!(parse_traceparent(&format!("{SAMPLED}{suffix}")), Err(TraceParentError::Length), "{suffix:?}");
        }
    }

    #[test]
    fn rejects_bad_versions() {
        for version in ["ff", "0g", "0A", "AA", "Cc", "-0", "0-", "é"] {
            assert_eq!(
                parse_traceparent(&tp(version, TRACE, SPAN, "01")),
                Err(TraceParentError::Version),
                "{version:?}"
            );
        }
        // `ff` is forbidden even with trailing future fields.
        assert_eq!(parse_traceparent(&format!("{}-x", tp("ff", TRACE, SPAN, "01"))), Err(TraceParentError::Version));
    }

    #[test]
    fn rejects_short_and_empty_values() {
        for text in ["", " ", "00", "00-", &SAMPLED[..54]] {
            assert_eq!(parse_traceparent(text), Err(TraceParentError::Length), "{text:?}");
        }
    }

    #[test]
    fn rejects_missing_or_moved_delimiters() {
        let joined = SAMPLED.replace('-', "_");
        for text in [
            joined.as_str(),
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
            "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902-b701",
        ] {
            assert_eq!(parse_traceparent(text), Err(TraceParentError::Delimiter), "{text}");
        }
    }

    #[test]
    fn rejects_uppercase_and_non_hex_fields() {
        let upper_trace = TRACE.to_uppercase();
        let upper_span = "00F067AA0BA902B7";
        let cases = [
            (tp("00", &upper_trace, SPAN, "01"), TraceParentError::TraceId),
            (tp("00", "4bf92f3577b34da6a3ce929d0e0e473g", SPAN, "01"), TraceParentError::TraceId),
            (tp("00", "4bf92f3577b34da6a3ce929d0e0e473.", SPAN, "01"), TraceParentError::TraceId),
            (tp("00", TRACE, upper_span, "01"), TraceParentError::ParentId),
            (tp("00", TRACE, "00f067aa0ba902bz", "01"), TraceParentError::ParentId),
            (tp("00", TRACE, SPAN, "0A"), TraceParentError::Flags),
            (tp("00", TRACE, SPAN, "0g"), TraceParentError::Flags),
            (tp("00", TRACE, SPAN, " 1"), TraceParentError::Flags),
            (tp("cc", TRACE, SPAN, "1-"), TraceParentError::Flags),
        ];
        for (text, err) in cases {
            assert_eq!(parse_traceparent(&text), Err(err), "{text}");
        }
    }

    #[test]
    fn rejects_all_zero_ids() {
        let zero_trace = "00000000000000000000000000000000";
        let zero_span = "0000000000000000";
        assert_eq!(parse_traceparent(&tp("00", zero_trace, SPAN, "01")), Err(TraceParentError::ZeroTraceId));
        assert_eq!(parse_traceparent(&tp("00", TRACE, zero_span, "01")), Err(TraceParentError::ZeroParentId));
        assert_eq!(parse_traceparent(&tp("cc", zero_trace, SPAN, "01")), Err(TraceParentError::ZeroTraceId));
    }

    #[test]
    fn tolerates_surrounding_spaces_and_tabs_only() {
        for text in [format!(" {SAMPLED}"), format!("{SAMPLED} "), format!("\t {SAMPLED} \t")] {
            assert_eq!(parse_traceparent(&text), parse_traceparent(SAMPLED), "{text:?}");
        }
        assert_eq!(parse_traceparent(&format!("\n{SAMPLED}")), Err(TraceParentError::Version));
        assert_eq!(parse_traceparent(&format!("{SAMPLED}\r")), Err(TraceParentError::Length));
        assert_eq!(parse_traceparent(&format!("\u{a0}{SAMPLED}")), Err(TraceParentError::Version));
        assert_eq!(parse_traceparent(&SAMPLED.replacen('-', " -", 1)), Err(TraceParentError::Length));
        assert_eq!(parse_traceparent(&SAMPLED.replace("-01", " 01")), Err(TraceParentError::Delimiter));
    }

    #[test]
    fn non_ascii_input_is_an_error_not_a_panic() {
        let exact = tp("00", TRACE, SPAN, "01");
        let future = format!("{}-ext", tp("cc", TRACE, SPAN, "01"));
        for base in [exact, future] {
            for insert in ["é", "€", "😀", "\u{0}"] {
                for at in 0..=base.len() {
                    let inserted = format!("{}{insert}{}", &base[..at], &base[at..]);
                    let replaced = if at < base.len() {
                        format!("{}{insert}{}", &base[..at], &base[at + 1..])
                    } else {
                        inserted.clone()
                    };
                    for text in [inserted, replaced] {
                        // Past the future-version prefix the rest is ignored; elsewhere an error.
                        let ok = base.starts_with("cc") && at > TRACEPARENT_LEN;
                        assert_eq!(parse_traceparent(&text).is_ok(), ok, "{text:?}");
                    }
                }
            }
        }
        // Multibyte characters straddling every field boundary.
        let mut text = String::from("é");
        while text.len() < 80 {
            let _ = parse_traceparent(&text);
            text.push('é');
        }
        assert!(parse_traceparent(&"€".repeat(19)).is_err());
    }

    #[test]
    fn every_error_has_a_message() {
        let all = [
            TraceParentError::Length,
            TraceParentError::Version,
            TraceParentError::Delimiter,
            TraceParentError::TraceId,
            TraceParentError::ParentId,
            TraceParentError::ZeroTraceId,
            TraceParentError::ZeroParentId,
            TraceParentError::Flags,
        ];
        for e in all {
            assert!(e.to_string().starts_with("traceparent"));
        }
        let all = [
            TraceStateError::MissingEquals,
            TraceStateError::InvalidKey,
            TraceStateError::InvalidValue,
            TraceStateError::DuplicateKey,
            TraceStateError::TooManyMembers,
        ];
        for e in all {
            assert!(e.to_string().starts_with("tracestate"));
        }
        assert_eq!(TRACEPARENT, "traceparent");
        assert_eq!(TRACESTATE, "tracestate");
    }

    // ── tracestate ─────────────────────────────────────────────────────────

    fn members(n: usize) -> String {
        (0..n).map(|i| format!("k{i}=v{i}")).collect::<Vec<_>>().join(",")
    }

    fn pairs(state: &TraceState) -> Vec<(&str, &str)> {
        state.iter().collect()
    }

    #[test]
    fn parses_the_spec_examples_in_order() {
        let state = TraceState::parse("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE").unwrap();
        assert_eq!(pairs(&state), [("rojo", "00f067aa0ba902b7"), ("congo", "t61rcWkgMzE")]);
        assert_eq!(state.get("congo"), Some("t61rcWkgMzE"));
        assert_eq!(state.get("nobody"), None);
        assert_eq!(state.len(), 2);
        assert_eq!(state.header(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    }

    #[test]
    fn empty_and_whitespace_headers_and_members_are_skipped() {
        for text in ["", " ", "\t", ",", " , ,\t,", ",,,,"] {
            let state = TraceState::parse(text).unwrap();
            assert!(state.is_empty(), "{text:?}");
            assert_eq!(state.header(), "");
        }
        let state = TraceState::parse(",a=1,, ,\tb=2,").unwrap();
        assert_eq!(pairs(&state), [("a", "1"), ("b", "2")]);
    }

    #[test]
    fn optional_whitespace_around_members_is_ignored() {
        let state = TraceState::parse(" \t a=1 \t,\tb=2 ,  c=3\t").unwrap();
        assert_eq!(pairs(&state), [("a", "1"), ("b", "2"), ("c", "3")]);
        assert_eq!(state.header(), "a=1,b=2,c=3");
    }

    #[test]
    fn thirty_two_members_pass_and_thirty_three_fail() {
        let state = TraceState::parse(&members(32)).unwrap();
        assert_eq!(state.len(), 32);
        // Empty members do not count toward the limit.
        let padded = TraceState::parse(&format!(",,{}, , ,", members(32))).unwrap();
        assert_eq!(padded, state);
        assert_eq!(TraceState::parse(&members(33)), Err(TraceStateError::TooManyMembers));
    }

    #[test]
    fn keys_follow_the_simple_and_multi_tenant_grammar() {
        let max_simple = format!("a{}", "b".repeat(255));
        let max_tenant = format!("1{}@s", "t".repeat(240));
        let max_system = format!("t@s{}", "y".repeat(13));
        let valid = [
            "a",
            "foo",
            "a0_-*/z",
            "fw529a3039@dt",
            "1tenant@sys",
            "9@a",
            "a-b_c*d/1@x-y_z*0/2",
            &max_simple,
            &max_tenant,
            &max_system,
        ];
        for key in valid {
            let state = TraceState::parse(&format!("{key}=v")).unwrap();
            assert_eq!(state.get(key), Some("v"), "{key}");
        }
        let too_long = format!("{max_simple}c");
        let tenant_too_long = format!("1{}@s", "t".repeat(241));
        let system_too_long = format!("t@s{}", "y".repeat(14));
        let invalid = [
            "1abc",
            "_a",
            "*a",
            "/a",
            "-a",
            "Abc",
            "aBc",
            "a.b",
            "a b",
            "a@",
            "@a",
            "a@1b",
            "a@B",
            "a@b@c",
            "_a@b",
            "é",
            "aé",
            "a\u{0}",
            &too_long,
            &tenant_too_long,
            &system_too_long,
        ];
        for key in invalid {
            assert_eq!(TraceState::parse(&format!("{key}=v")), Err(TraceStateError::InvalidKey), "{key}");
        }
        assert_eq!(TraceState::parse("=v"), Err(TraceStateError::InvalidKey));
        assert_eq!(TraceState::parse("a =v"), Err(TraceStateError::InvalidKey));
    }

    #[test]
    fn values_follow_the_value_grammar() {
        let max = format!("{}x", " ".repeat(255));
        let valid = ["v", "a b c", " leading", "!\"#$%&'()*+-./0123456789:;<>?@AZaz[\\]^_`{|}~", &max];
        for value in valid {
            let state = TraceState::parse(&format!("k={value}")).unwrap();
            assert_eq!(state.get("k"), Some(value), "{value:?}");
            let mut built = TraceState::default();
            built.insert("k", value).unwrap();
            assert_eq!(built, state);
        }
        // Trailing spaces are optional whitespace, not part of the value.
        assert_eq!(TraceState::parse("k=v  ").unwrap().get("k"), Some("v"));
        let too_long = format!("{max}y");
        for value in ["", " ", "a=b", "=", "a\tb", "a\u{7f}", "é", "a\u{0}b", &too_long] {
            assert_eq!(TraceState::parse(&format!("k={value}")), Err(TraceStateError::InvalidValue), "{value:?}");
        }
        let mut state = TraceState::default();
        for value in ["v ", "a,b", "a=b", "", "x\n"] {
            assert_eq!(state.insert("k", value), Err(TraceStateError::InvalidValue), "{value:?}");
        }
        assert!(state.is_empty());
    }

    #[test]
    fn members_without_equals_are_rejected_whole() {
        for text in ["novalue", "a=1,novalue", "a=1, b ,c=3"] {
            assert_eq!(TraceState::parse(text), Err(TraceStateError::MissingEquals), "{text}");
        }
        assert_eq!(TraceState::parse("a=1,B=2"), Err(TraceStateError::InvalidKey));
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        assert_eq!(TraceState::parse("a=1,b=2,a=3"), Err(TraceStateError::DuplicateKey));
        assert_eq!(TraceState::parse("t@s=1, t@s=1"), Err(TraceStateError::DuplicateKey));
        // Same tenant or system under a different key is not a duplicate; values are case-sensitive.
        let state = TraceState::parse("t@s=X,t@r=x,u@s=x,s=x").unwrap();
        assert_eq!(state.len(), 4);
        assert_eq!(state.get("t@s"), Some("X"));
    }

    #[test]
    fn insert_adds_or_moves_to_the_front() {
        let mut state = TraceState::parse("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE").unwrap();
        state.insert("congo", "ucfJifl5GOE").unwrap();
        assert_eq!(state.header(), "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
        state.insert("new", "1").unwrap();
        assert_eq!(state.header(), "new=1,congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
        assert_eq!(state.insert("Bad", "1"), Err(TraceStateError::InvalidKey));
        assert_eq!(state.len(), 3);
    }

    #[test]
    fn insert_keeps_at_most_thirty_two_dropping_the_rightmost() {
        let mut state = TraceState::parse(&members(32)).unwrap();
        state.insert("k5", "again").unwrap();
        assert_eq!(state.len(), 32);
        assert_eq!(state.get("k31"), Some("v31"));
        state.insert("fresh", "1").unwrap();
        assert_eq!(state.len(), 32);
        assert_eq!(state.get("k31"), None);
        assert_eq!(state.iter().next(), Some(("fresh", "1")));
        assert_eq!(state.iter().nth(1), Some(("k5", "again")));
        assert_eq!(state.iter().last(), Some(("k30", "v30")));
    }

    #[test]
    fn remove_reports_presence() {
        let mut state = TraceState::parse("a=1,b=2").unwrap();
        assert!(state.remove("a"));
        assert!(!state.remove("a"));
        assert!(!state.remove("zzz"));
        assert_eq!(state.header(), "b=2");
        assert!(state.remove("b"));
        assert!(state.is_empty());
        assert_eq!(state.header(), "");
    }

    #[test]
    fn header_round_trips() {
        for text in ["a=1", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "fw529a3039@dt=x y,z=  lead", &members(32)] {
            let state = TraceState::parse(text).unwrap();
            assert_eq!(state.header(), text);
            assert_eq!(TraceState::parse(&state.header()).unwrap(), state);
        }
    }

    #[test]
    fn header_fits_512_by_dropping_long_entries_first_then_from_the_right() {
        // Exactly 512 characters is kept whole: one entry of 64 characters, 7 of 63, and 7 commas.
        let mut state = TraceState::default();
        for i in 0..8 {
            let value = "v".repeat(if i == 0 { 61 } else { 60 });
            state.insert(&format!("k{i}"), &value).unwrap();
        }
        assert_eq!(state.header().len(), 512);
        assert_eq!(state.header().split(',').count(), 8);

        // One byte over: the rightmost entry goes, since none is longer than 128.
        state.insert("k0", &"v".repeat(62)).unwrap();
        let header = state.header();
        assert!(header.len() <= MAX_TRACESTATE_LEN);
        assert_eq!(header.split(',').count(), 7);
        assert!(!header.contains("k1="), "k1 was rightmost: {header}");
        assert!(header.starts_with("k0="));

        // A long (>128) entry in the middle goes before any short one on the right.
        let mut state = TraceState::parse(&members(10)).unwrap();
        state.insert("long", &"x".repeat(200)).unwrap();
        state.insert("big", &"y".repeat(250)).unwrap();
        state.insert("front", "1").unwrap();
        let header = state.header();
        assert!(header.len() <= MAX_TRACESTATE_LEN);
        assert!(!header.contains("long="), "{header}");
        assert!(header.contains("big="), "{header}");
        assert!(header.contains("k9=v9"), "{header}");

        // After the long ones, short entries go from the right.
        let mut state = TraceState::default();
        for i in 0..32 {
            state.insert(&format!("key{i:02}"), &"v".repeat(20)).unwrap();
        }
        let header = state.header();
        assert!(header.len() <= MAX_TRACESTATE_LEN);
        let reparsed = TraceState::parse(&header).unwrap();
        let kept: Vec<&str> = reparsed.iter().map(|(k, _)| k).collect();
        let expected: Vec<String> = (0..kept.len()).map(|i| format!("key{:02}", 31 - i)).collect();
        assert_eq!(kept, expected);
        // 19 entries of 26 characters plus 18 commas is exactly 512.
        assert_eq!(kept.len(), 19);
    }

    #[test]
    fn header_drops_an_entry_too_big_to_ever_fit() {
        let key = format!("a{}", "b".repeat(255));
        let mut state = TraceState::default();
        state.insert(&key, &"v".repeat(256)).unwrap();
        assert_eq!(state.header(), "");
        state.insert("small", "1").unwrap();
        assert_eq!(state.header(), "small=1");
    }

    #[test]
    fn non_ascii_tracestate_is_an_error_not_a_panic() {
        for text in ["é=1", "a=é", "a=1,€", "a=1,b=😀,c=3", "a\u{2003}=1", "a=1\u{a0}"] {
            assert!(TraceState::parse(text).is_err(), "{text:?}");
        }
    }
}
