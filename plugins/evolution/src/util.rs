//! Small conversions: Evolution's state names, ISO-8601 times, message sources, config.

use wagate_plugin_sdk::config;
use wagate_plugin_sdk::prelude::*;

/// Evolution's connection states are Baileys' `open`, `connecting` and `close`; core's
/// `disconnected` (never paired or logged out) and `closed` (paired, link down) are
/// both `close` there.
pub(crate) fn state(s: ConnectionState) -> &'static str {
    match s {
        ConnectionState::Open => "open",
        ConnectionState::Connecting => "connecting",
        ConnectionState::Disconnected | ConnectionState::Closed => "close",
    }
}

/// `2024-05-01T12:34:56.789Z` for epoch milliseconds (UTC), as JavaScript's
/// `toISOString` writes it.
pub(crate) use wagate_plugin_sdk::time::iso8601_millis as iso;

/// Baileys' `getDevice`: which kind of client produced a message id.
pub(crate) fn source(id: &str) -> &'static str {
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
pub(crate) fn setting(key: &str) -> Option<String> {
    config::get(key).filter(|v| !v.trim().is_empty())
}

/// A boolean config value (`true`/`1`/`yes`), `default` when unset.
pub(crate) fn flag(key: &str, default: bool) -> bool {
    match setting(key) {
        Some(v) => matches!(v.trim(), "true" | "1" | "yes" | "on"),
        None => default,
    }
}
