//! Small pure helpers: QR rendering, JID display, durations (and the SDK's ISO-8601
//! times, re-exported for the routes).

// Times and base64 are the SDK's (one tested implementation for every plugin).
use wagate_plugin_sdk::base64;
pub(crate) use wagate_plugin_sdk::time::{iso8601, parse_iso8601};

/// The QR payload rendered as an SVG image, as a `data:image/svg+xml;base64,...` URL
/// (RyzeAPI returns a PNG data URL; SVG keeps the plugin pure Rust and small, and
/// renders in the same `<img src>`). `None` if the payload does not fit a QR code.
pub(crate) fn qr_data_url(payload: &str) -> Option<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(payload.as_bytes()).ok()?;
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::encode(svg.as_bytes())
    ))
}

/// How RyzeAPI's event catalog shows a JID: the bare number for a person
/// (`5511999999999`), the full JID otherwise (`...@g.us`, `...@lid`).
pub(crate) fn display_jid(jid: &str) -> String {
    match jid.strip_suffix("@s.whatsapp.net") {
        Some(user) => user.to_string(),
        None => jid.to_string(),
    }
}

/// `group` for `@g.us`, `newsletter` for `@newsletter`, else `private`.
pub(crate) fn chat_type(jid: &str) -> &'static str {
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
pub(crate) fn parse_duration(s: &str) -> Result<Option<u64>, ()> {
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
pub(crate) fn human_duration(secs: u64) -> String {
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
