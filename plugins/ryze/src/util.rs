//! Small pure helpers: ISO-8601 times, base64, QR rendering, JID display, durations.

/// `2026-04-28T10:30:00Z` for epoch milliseconds (UTC, second precision).
pub fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Epoch milliseconds of an ISO-8601 UTC time (`2026-04-28T10:30:00Z`, optional
/// fraction, `Z` or `+00:00`; a bare date means its midnight). `None` if malformed.
pub fn parse_iso8601(s: &str) -> Option<u64> {
    let s = s.trim();
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) || y < 1970 {
        return None;
    }
    let mut secs_of_day = 0u64;
    let mut offset_secs = 0i64;
    if let Some(t) = time {
        let (clock, offset) = if let Some(c) = t.strip_suffix('Z') {
            (c, 0i64)
        } else if let Some(pos) = t.rfind(['+', '-']) {
            let (c, o) = t.split_at(pos);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = o[1..].split_once(':').unwrap_or((&o[1..], "0"));
            let oh: i64 = oh.parse().ok()?;
            let om: i64 = om.parse().ok()?;
            (c, sign * (oh * 3600 + om * 60))
        } else {
            (t, 0)
        };
        let clock = clock.split('.').next()?;
        let mut cp = clock.split(':');
        let h: u64 = cp.next()?.parse().ok()?;
        let mi: u64 = cp.next()?.parse().ok()?;
        let se: u64 = cp.next().map(str::parse).transpose().ok()?.unwrap_or(0);
        if h > 23 || mi > 59 || se > 60 {
            return None;
        }
        secs_of_day = h * 3600 + mi * 60 + se;
        offset_secs = offset;
    }
    let days = days_from_civil(y, m, d);
    let secs = days * 86_400 + secs_of_day as i64 - offset_secs;
    (secs >= 0).then(|| secs as u64 * 1000)
}

// Howard Hinnant's civil-date algorithms.
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
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// The QR payload rendered as an SVG image, as a `data:image/svg+xml;base64,...` URL
/// (RyzeAPI returns a PNG data URL; SVG keeps the plugin pure Rust and small, and
/// renders in the same `<img src>`). `None` if the payload does not fit a QR code.
pub fn qr_data_url(payload: &str) -> Option<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(payload.as_bytes()).ok()?;
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64(svg.as_bytes())
    ))
}

/// How RyzeAPI's event catalog shows a JID: the bare number for a person
/// (`5511999999999`), the full JID otherwise (`...@g.us`, `...@lid`).
pub fn display_jid(jid: &str) -> String {
    match jid.strip_suffix("@s.whatsapp.net") {
        Some(user) => user.to_string(),
        None => jid.to_string(),
    }
}

/// `group` for `@g.us`, `newsletter` for `@newsletter`, else `private`.
pub fn chat_type(jid: &str) -> &'static str {
    if jid.ends_with("@g.us") {
        "group"
    } else if jid.ends_with("@newsletter") {
        "newsletter"
    } else {
        "private"
    }
}

/// A mute duration as RyzeAPI accepts it: `"8h"`, `"8 hours"`, `"7d"`, `"1w"`,
/// `"1 week"`, `"30m"`, `"90 minutes"`, a bare number of seconds; `"always"`,
/// `"forever"`, `"permanent"` or empty mean no expiry (`Ok(None)`). Seconds otherwise.
pub fn parse_duration(s: &str) -> Result<Option<u64>, ()> {
    let s = s.trim().to_ascii_lowercase();
    if s.is_empty() || matches!(s.as_str(), "always" | "forever" | "permanent") {
        return Ok(None);
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| ())?;
    let unit = unit.trim();
    let mult = match unit {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        _ => return Err(()),
    };
    match n.checked_mul(mult) {
        Some(0) | None => Err(()),
        Some(secs) => Ok(Some(secs)),
    }
}

/// `"8 hours"`, `"1 week"`, `"2 days"`, `"30 minutes"`, `"45 seconds"`.
pub fn human_duration(secs: u64) -> String {
    let unit = |n: u64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    if secs.is_multiple_of(604_800) {
        unit(secs / 604_800, "week")
    } else if secs.is_multiple_of(86_400) {
        unit(secs / 86_400, "day")
    } else if secs.is_multiple_of(3600) {
        unit(secs / 3600, "hour")
    } else if secs.is_multiple_of(60) {
        unit(secs / 60, "minute")
    } else {
        unit(secs, "second")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_777_372_200_000), "2026-04-28T10:30:00Z");
        assert_eq!(
            parse_iso8601("2026-04-28T10:30:00Z"),
            Some(1_777_372_200_000)
        );
        assert_eq!(
            parse_iso8601("2026-04-28T10:30:00.123Z"),
            Some(1_777_372_200_000)
        );
        assert_eq!(
            parse_iso8601("2026-04-28T12:30:00+02:00"),
            Some(1_777_372_200_000)
        );
        assert_eq!(parse_iso8601("2024-02-29"), Some(1_709_164_800_000));
        assert_eq!(parse_iso8601("yesterday"), None);
        assert_eq!(parse_iso8601("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("8h"), Ok(Some(28_800)));
        assert_eq!(parse_duration("8 hours"), Ok(Some(28_800)));
        assert_eq!(parse_duration("1w"), Ok(Some(604_800)));
        assert_eq!(parse_duration("7d"), Ok(Some(604_800)));
        assert_eq!(parse_duration("1 week"), Ok(Some(604_800)));
        assert_eq!(parse_duration("always"), Ok(None));
        assert_eq!(parse_duration(""), Ok(None));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0h").is_err());
        assert_eq!(human_duration(28_800), "8 hours");
        assert_eq!(human_duration(604_800), "1 week");
        assert_eq!(human_duration(90), "90 seconds");
    }

    #[test]
    fn qr_renders() {
        let url = qr_data_url("2@abc,def,ghi").unwrap();
        assert!(url.starts_with("data:image/svg+xml;base64,PD94"), "{url}");
    }

    #[test]
    fn jids() {
        assert_eq!(display_jid("5511999999999@s.whatsapp.net"), "5511999999999");
        assert_eq!(display_jid("120363@g.us"), "120363@g.us");
        assert_eq!(chat_type("120363@g.us"), "group");
        assert_eq!(chat_type("1@lid"), "private");
    }
}
