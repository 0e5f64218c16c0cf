//! Wall-clock time and ISO-8601 (RFC 3339) timestamps, in the contract's unit: Unix
//! epoch milliseconds, UTC.

/// Milliseconds since the Unix epoch, from the WASI wall clock (the same clock the host
/// stamps `cache` entries and events with). 0 if the clock is before the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Whole seconds since the Unix epoch (JWT `exp`, signature timestamps).
pub fn now_secs() -> u64 {
    now_ms() / 1000
}

/// `2026-04-28T10:30:00Z`: epoch milliseconds as UTC, second precision.
pub fn iso8601(ms: u64) -> String {
    let (date, h, m, s) = split(ms);
    format!("{date}T{h:02}:{m:02}:{s:02}Z")
}

/// `2026-04-28T10:30:00.123Z`: epoch milliseconds as UTC, millisecond precision (what
/// JavaScript's `Date.toISOString` writes).
pub fn iso8601_millis(ms: u64) -> String {
    let (date, h, m, s) = split(ms);
    format!("{date}T{h:02}:{m:02}:{s:02}.{:03}Z", ms % 1000)
}

/// `(YYYY-MM-DD, hour, minute, second)` of epoch milliseconds.
fn split(ms: u64) -> (String, u64, u64, u64) {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rem = secs % 86_400;
    let (y, mo, d) = civil_from_days(days);
    (
        format!("{y:04}-{mo:02}-{d:02}"),
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
    )
}

/// Epoch milliseconds of an ISO-8601 time: `2026-04-28T10:30:00Z`, with an optional
/// fraction (`.123`, milliseconds kept), `Z`, `+02:00`, `-0300` or no offset (UTC), `T`
/// or a space between date and time, seconds optional; a bare date is its midnight UTC.
/// `None` if malformed or before 1970.
pub fn parse_iso8601(s: &str) -> Option<u64> {
    let s = s.trim();
    let (date, time) = match s.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let y: i64 = num(dp.next()?, 4)?;
    let m: u32 = num(dp.next()?, 2)?;
    let d: u32 = num(dp.next()?, 2)?;
    if dp.next().is_some() || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let mut millis_of_day = 0i64;
    if let Some(t) = time {
        let (clock, offset_secs) = if let Some(c) = t.strip_suffix(['Z', 'z']) {
            (c, 0i64)
        } else if let Some(pos) = t.rfind(['+', '-']) {
            let (c, o) = t.split_at(pos);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let o = &o[1..];
            let (oh, om) = match o.split_once(':') {
                Some(parts) => parts,
                None if o.len() == 4 => o.split_at(2),
                None => (o, "0"),
            };
            let (oh, om): (i64, i64) = (oh.parse().ok()?, om.parse().ok()?);
            if oh > 23 || om > 59 {
                return None;
            }
            (c, sign * (oh * 3600 + om * 60))
        } else {
            (t, 0)
        };
        let (hms, frac) = clock.split_once(['.', ',']).unwrap_or((clock, ""));
        let mut cp = hms.split(':');
        let h: i64 = num(cp.next()?, 2)?;
        let mi: i64 = num(cp.next()?, 2)?;
        let se: i64 = cp.next().map(|p| num(p, 2)).unwrap_or(Some(0))?;
        if cp.next().is_some() || h > 23 || mi > 59 || se > 60 {
            return None;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Milliseconds: the first three digits of the fraction, padded.
        let ms: i64 = frac
            .chars()
            .chain("000".chars())
            .take(3)
            .collect::<String>()
            .parse()
            .ok()?;
        millis_of_day = ((h * 3600 + mi * 60 + se) - offset_secs) * 1000 + ms;
    }
    let total = days_from_civil(y, m, d) * 86_400_000 + millis_of_day;
    u64::try_from(total).ok()
}

/// A decimal field of exactly `width` digits.
fn num<T: std::str::FromStr>(s: &str, width: usize) -> Option<T> {
    (s.len() == width && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil-date algorithms (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_777_372_200_000; // 2026-04-28T10:30:00Z

    #[test]
    fn formats() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(T), "2026-04-28T10:30:00Z");
        assert_eq!(iso8601(T + 999), "2026-04-28T10:30:00Z");
        assert_eq!(iso8601_millis(T + 7), "2026-04-28T10:30:00.007Z");
        assert_eq!(iso8601_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(4_107_542_399_000), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn parses() {
        assert_eq!(parse_iso8601("2026-04-28T10:30:00Z"), Some(T));
        assert_eq!(parse_iso8601("2026-04-28T10:30:00.123Z"), Some(T + 123));
        assert_eq!(parse_iso8601("2026-04-28T10:30:00.5Z"), Some(T + 500));
        assert_eq!(parse_iso8601("2026-04-28T10:30:00.123456Z"), Some(T + 123));
        assert_eq!(parse_iso8601("2026-04-28T12:30:00+02:00"), Some(T));
        assert_eq!(parse_iso8601("2026-04-28T07:30:00-0300"), Some(T));
        assert_eq!(parse_iso8601("2026-04-28 10:30"), Some(T));
        assert_eq!(parse_iso8601("2026-04-28T10:30:00"), Some(T));
        assert_eq!(parse_iso8601(" 2024-02-29 "), Some(1_709_164_800_000));
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-02-30",
            "2023-02-29",
            "2026-04-28T24:00:00Z",
            "2026-04-28T10:60Z",
            "2026-04-28T10",
            "2026-04-28T10:30:00.1xZ",
            "2026-4-28",
            "1969-12-31T23:59:59Z",
            "2026-04-28T10:30:00+25:00",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn round_trips() {
        for ms in [0, 1, T, T + 123, 951_782_400_000, 4_102_444_800_000] {
            assert_eq!(parse_iso8601(&iso8601_millis(ms)), Some(ms), "{ms}");
            assert_eq!(parse_iso8601(&iso8601(ms)), Some(ms - ms % 1000), "{ms}");
        }
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now_ms() > 1_577_836_800_000);
    }
}
