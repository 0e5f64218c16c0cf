//! The JWKS, fetched through `http-out` and kept in the host's per-plugin `cache`
//! between requests (guest memory does not survive a call).
//!
//! Two entries, both keyed by `jwks_url` (so a changed URL never serves the old set):
//!
//! - `jwks:{url}`: the `keys` array as JSON, stored when fetched (the host's
//!   `stored-at` is the fetch time). Fresh for `jwks_cache_seconds`; afterwards still
//!   *usable* for `jwks_stale_seconds` more, but only while refreshing it fails. The
//!   host drops it once both have passed.
//! - `jwks-refetch:{url}`: when a fetch out of the normal schedule was last attempted —
//!   a refetch for a token whose key is not in the set, or a refresh that failed. No
//!   such fetch is attempted again within `jwks_refetch_seconds` of it while a set is
//!   usable, so unknown `kid`s (or a down JWKS host) cost at most one round trip per
//!   interval.

use serde_json::Value;
use wagate_plugin_sdk::http_out::{self, HttpError, OutboundRequest};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::{cache, log};

use crate::jwt::{Refusal, refuse};
use crate::settings::Settings;
use wagate_plugin_sdk::time::now_ms;

/// A key set and whether it was fetched by this very call.
pub(crate) struct KeySet {
    pub keys: Vec<Value>,
    pub fetched_now: bool,
}

fn keys_entry(s: &Settings) -> String {
    format!("jwks:{}", s.jwks_url)
}

fn refetch_entry(s: &Settings) -> String {
    format!("jwks-refetch:{}", s.jwks_url)
}

/// The key set to verify with: the cached one while fresh, else a fetched one, else
/// (the fetch failed) the cached one while still usable.
pub(crate) fn current(s: &Settings) -> Result<KeySet, Refusal> {
    let now = now_ms();
    let Some((keys, stored_at)) = cached(s) else {
        let keys = fetch(s).map_err(|e| unavailable(s, &e))?;
        store(s, &keys);
        return Ok(KeySet {
            keys,
            fetched_now: true,
        });
    };
    let age = now.saturating_sub(stored_at);
    if age < s.jwks_cache_seconds.saturating_mul(1000) {
        return Ok(KeySet {
            keys,
            fetched_now: false,
        });
    }
    // Stale: refresh, unless a refresh failed (or a refetch ran) within the interval.
    if recently_attempted(s, now) {
        return Ok(KeySet {
            keys,
            fetched_now: false,
        });
    }
    match fetch(s) {
        Ok(fresh) => {
            store(s, &fresh);
            Ok(KeySet {
                keys: fresh,
                fetched_now: true,
            })
        }
        Err(e) => {
            mark_attempt(s);
            log::warn(&format!(
                "bearer: JWKS {} unavailable ({e}); using the set fetched {}s ago",
                s.jwks_url,
                age / 1000
            ));
            Ok(KeySet {
                keys,
                fetched_now: false,
            })
        }
    }
}

/// A token's key is not in the set: fetch the set again, unless that was already tried
/// within `jwks_refetch_seconds`. `None` when not refetched or the fetch failed (the
/// caller keeps the set it has).
pub(crate) fn refetch_for_unknown_key(s: &Settings) -> Option<Vec<Value>> {
    let now = now_ms();
    if recently_attempted(s, now) {
        log::debug("bearer: unknown JWKS key; refetched less than the interval ago");
        return None;
    }
    mark_attempt(s);
    match fetch(s) {
        Ok(keys) => {
            store(s, &keys);
            Some(keys)
        }
        Err(e) => {
            log::warn(&format!(
                "bearer: JWKS {} refetch failed ({e}); keeping the cached set",
                s.jwks_url
            ));
            None
        }
    }
}

/// The cached set and when it was fetched (epoch ms), if the host still keeps it.
fn cached(s: &Settings) -> Option<(Vec<Value>, u64)> {
    let entry = cache::get(&keys_entry(s))?;
    match serde_json::from_slice::<Value>(&entry.value) {
        Ok(Value::Array(keys)) => Some((keys, entry.stored_at)),
        _ => None,
    }
}

fn store(s: &Settings, keys: &[Value]) {
    let ttl_ms = s
        .jwks_cache_seconds
        .saturating_add(s.jwks_stale_seconds)
        .saturating_mul(1000);
    if ttl_ms == 0 {
        return; // caching disabled (a TTL of 0 would mean "until evicted")
    }
    let value = serde_json::to_vec(keys).unwrap_or_default();
    if !cache::set(&keys_entry(s), &value, ttl_ms) {
        log::warn(&format!(
            "bearer: JWKS of {} bytes exceeds the cache grant; it is fetched per request",
            value.len()
        ));
    }
}

fn recently_attempted(s: &Settings, now: u64) -> bool {
    let interval_ms = s.jwks_refetch_seconds.saturating_mul(1000);
    interval_ms > 0
        && cache::get(&refetch_entry(s))
            .is_some_and(|e| now.saturating_sub(e.stored_at) < interval_ms)
}

fn mark_attempt(s: &Settings) {
    let interval_ms = s.jwks_refetch_seconds.saturating_mul(1000);
    if interval_ms > 0 {
        cache::set(&refetch_entry(s), &[], interval_ms);
    }
}

fn unavailable(s: &Settings, detail: &str) -> Refusal {
    log::warn(&format!(
        "bearer: JWKS {} unavailable: {detail}",
        s.jwks_url
    ));
    refuse(
        "jwks_unavailable",
        "login tokens cannot be verified right now",
    )
}

/// The JWKS's `keys`, fetched through http-out (the operator's allowlist applies).
fn fetch(s: &Settings) -> Result<Vec<Value>, String> {
    let resp = http_out::fetch(&OutboundRequest {
        method: "GET".into(),
        url: s.jwks_url.clone(),
        headers: vec![header("accept", "application/json")],
        body: Vec::new(),
        timeout_ms: s.jwks_timeout_ms,
    })
    .map_err(|e| match e {
        HttpError::Denied(m) => format!("denied by http-out: {m}"),
        HttpError::Timeout => "timed out".into(),
        HttpError::Failed(m) => m,
    })?;
    if resp.status != 200 {
        return Err(format!("HTTP {}", resp.status));
    }
    match serde_json::from_slice::<Value>(&resp.body) {
        Ok(Value::Object(mut m)) => match m.remove("keys") {
            Some(Value::Array(keys)) => Ok(keys),
            _ => Err("no `keys` array".into()),
        },
        _ => Err("not a JSON object".into()),
    }
}
