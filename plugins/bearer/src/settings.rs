//! The plugin's configuration (manifest `[config]`, overridden per deployment by
//! `[plugins.settings.bearer].config`).

use std::collections::BTreeMap;

use wagate_plugin_sdk::config;
use wagate_plugin_sdk::prelude::Capabilities;

pub(crate) struct Settings {
    pub jwks_url: String,
    pub issuer: String,
    pub audience: String,
    pub org_claim: String,
    pub role_claim: String,
    pub roles: BTreeMap<String, Capabilities>,
    pub leeway_seconds: u64,
    pub jwks_timeout_ms: u32,
    /// How long a fetched JWKS is served from the cache before it is fetched again.
    pub jwks_cache_seconds: u64,
    /// Least time between two refetches for unknown keys (or retries of a failed fetch).
    pub jwks_refetch_seconds: u64,
    /// How long past `jwks_cache_seconds` a cached JWKS is still used while fetching
    /// it fails.
    pub jwks_stale_seconds: u64,
}

fn get(key: &str, default: &str) -> String {
    config::get(key)
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| default.to_string())
}

fn number<T: std::str::FromStr>(key: &str, default: T) -> Result<T, String> {
    match config::get(key) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("`{key}` must be a non-negative integer, not `{v}`")),
    }
}

pub(crate) fn capability(name: &str) -> Option<Capabilities> {
    Some(match name {
        "read" => Capabilities::READ,
        "send" => Capabilities::SEND,
        "manage" => Capabilities::MANAGE,
        "admin" => Capabilities::ADMIN,
        _ => return None,
    })
}

/// `{"role":["read","send"],...}`.
fn parse_roles(text: &str) -> Result<BTreeMap<String, Capabilities>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("`roles` is not JSON: {e}"))?;
    let obj = value
        .as_object()
        .ok_or("`roles` must be a JSON object of role -> [capabilities]")?;
    let mut out = BTreeMap::new();
    for (role, caps) in obj {
        let list = caps
            .as_array()
            .ok_or_else(|| format!("`roles.{role}` must be a list of capabilities"))?;
        let mut set = Capabilities::empty();
        for c in list {
            let name = c.as_str().unwrap_or_default();
            set |= capability(name)
                .ok_or_else(|| format!("`roles.{role}`: unknown capability `{c}`"))?;
        }
        out.insert(role.clone(), set);
    }
    Ok(out)
}

impl Settings {
    pub(crate) fn load() -> Result<Settings, String> {
        Ok(Settings {
            jwks_url: get("jwks_url", ""),
            issuer: get("issuer", ""),
            audience: get("audience", ""),
            org_claim: get("org_claim", "org"),
            role_claim: get("role_claim", "role"),
            roles: parse_roles(&get("roles", "{}"))?,
            leeway_seconds: number("leeway_seconds", 60)?,
            jwks_timeout_ms: number("jwks_timeout_ms", 3000)?,
            jwks_cache_seconds: number("jwks_cache_seconds", 600)?,
            jwks_refetch_seconds: number("jwks_refetch_seconds", 60)?,
            jwks_stale_seconds: number("jwks_stale_seconds", 3600)?,
        })
    }
}
