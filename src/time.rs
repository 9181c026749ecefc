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

/// Parses an HTTP date in the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix seconds.
pub fn parse_http_date(text: &str) -> Option<u64> {
    let mut parts = text.split_ascii_whitespace();
    let _weekday = parts.next()?;
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 || year < 1970 {
        return None;
    }
    let days = days_from_civil(year, month, day as i64);
    Some(days as u64 * 86_400 + h * 3_600 + m * 60 + s)
}

/// (year, month, day) to days since 1970-01-01 (the inverse of `civil_from_days`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn http_dates() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Wed, 25 Nov 2026 12:20:59 GMT"), Some(1_795_609_259));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("garbage"), None);
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
