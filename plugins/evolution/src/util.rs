//! Small conversions: Evolution's state names, ISO-8601 times, message sources, config.

use wagate_plugin_sdk::config;
use wagate_plugin_sdk::prelude::*;

/// Evolution's connection states are Baileys' `open`, `connecting` and `close`; core's
/// `disconnected` (never paired or logged out) and `closed` (paired, link down) are
/// both `close` there.
pub fn state(s: ConnectionState) -> &'static str {
    match s {
        ConnectionState::Open => "open",
        ConnectionState::Connecting => "connecting",
        ConnectionState::Disconnected | ConnectionState::Closed => "close",
    }
}

/// `2024-05-01T12:34:56.789Z` for epoch milliseconds (UTC).
pub fn iso(ms: u64) -> String {
    let secs = ms / 1000;
    let millis = ms % 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z")
}

/// Baileys' `getDevice`: which kind of client produced a message id.
pub fn source(id: &str) -> &'static str {
    let n = id.len();
    if id.starts_with("3A") && n == 20 {
        "ios"
    } else if id.starts_with("3E") && n == 22 {
        "web"
    } else if n == 21 || n == 32 {
        "android"
    } else if id.starts_with("3F") || n == 18 {
        "desktop"
    } else {
        "unknown"
    }
}

/// A config value; empty counts as unset.
pub fn setting(key: &str) -> Option<String> {
    config::get(key).filter(|v| !v.trim().is_empty())
}

/// A boolean config value (`true`/`1`/`yes`), `default` when unset.
pub fn flag(key: &str, default: bool) -> bool {
    match setting(key) {
        Some(v) => matches!(v.trim(), "true" | "1" | "yes" | "on"),
        None => default,
    }
}
