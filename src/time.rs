//! Timestamps and durations in the text forms the exporters need, without a date library.

/// Appends `nanos` since the Unix epoch as ISO 8601 UTC with microseconds: `2026-11-25T12:00:00.123456Z`.
pub fn push_iso8601(out: &mut String, unix_nanos: u64) {
    let micros = unix_nanos / 1_000;
    let secs = micros / 1_000_000;
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let day_secs = secs % 86_400;
    push_padded(out, year.max(0) as u64, 4);
    out.push('-');
    push_padded(out, month as u64, 2);
    out.push('-');
    push_padded(out, day as u64, 2);
    out.push('T');
    push_clock(out, day_secs, micros % 1_000_000);
    out.push('Z');
}

/// Appends a duration as the ingestion service's TimeSpan text: `d.hh:mm:ss.ffffff`.
pub fn push_timespan(out: &mut String, nanos: u64) {
    let micros = nanos / 1_000;
    let secs = micros / 1_000_000;
    crate::json::push_u64(out, secs / 86_400);
    out.push('.');
    push_clock(out, secs % 86_400, micros % 1_000_000);
}

fn push_clock(out: &mut String, day_secs: u64, micros: u64) {
    push_padded(out, day_secs / 3_600, 2);
    out.push(':');
    push_padded(out, day_secs / 60 % 60, 2);
    out.push(':');
    push_padded(out, day_secs % 60, 2);
    out.push('.');
    push_padded(out, micros, 6);
}

/// Appends `value` in decimal, left-padded with zeros to `width` digits.
fn push_padded(out: &mut String, value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut n = value;
    let mut len = 0;
    while n > 0 || len == 0 {
        digits[19 - len] = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
    }
    for _ in len..width {
        out.push('0');
    }
    for &d in &digits[20 - len..] {
        out.push(d as char);
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(nanos: u64) -> String {
        let mut s = String::new();
        push_iso8601(&mut s, nanos);
        s
    }
    fn span(nanos: u64) -> String {
        let mut s = String::new();
        push_timespan(&mut s, nanos);
        s
    }

    #[test]
    fn iso8601_known_instants() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000000Z");
        // 2000-02-29T23:59:59.999999Z, a leap day in a century leap year.
        assert_eq!(iso(951_868_799_999_999_000), "2000-02-29T23:59:59.999999Z");
        // 2026-11-25T12:20:59.123456Z
        assert_eq!(iso(1_795_609_259_123_456_789), "2026-11-25T12:20:59.123456Z");
        // 2100-03-01, after a non-leap century February.
        assert_eq!(iso(4_107_542_400_000_000_000), "2100-03-01T00:00:00.000000Z");
    }

    #[test]
    fn timespans() {
        assert_eq!(span(0), "0.00:00:00.000000");
        assert_eq!(span(1_500), "0.00:00:00.000001");
        assert_eq!(span(123_456_789), "0.00:00:00.123456");
        assert_eq!(span((3_600 + 2 * 60 + 3) * 1_000_000_000), "0.01:02:03.000000");
        assert_eq!(span((2 * 86_400 + 5) * 1_000_000_000 + 7_000), "2.00:00:05.000007");
    }
}
