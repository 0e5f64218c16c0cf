//! The `cache` grant: a small per-plugin key-value store kept by the host, so plugins
//! (whose memory is fresh on every call) can keep what is costly to fetch. Entries
//! survive hot reloads (the store is keyed by plugin name) but not restarts.
//!
//! Bounded by the manifest's `[grants.cache]` (`max_entries`, `max_bytes`); when full,
//! the oldest stored entries are evicted first. Expired entries read as absent.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::Linker;

use crate::plugin::bindings::wit_cache::{self, Cached};
use crate::plugin::manifest::CacheGrant;
use crate::plugin::state::{CallBase, CallState};

struct Entry {
    value: Vec<u8>,
    stored_at_ms: u64,
    expires: Option<Instant>,
    seq: u64,
}

/// One plugin's cache.
#[derive(Default)]
pub struct PluginCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Store order (`seq` -> key), for oldest-first eviction.
    order: BTreeMap<u64, String>,
    bytes: usize,
    next_seq: u64,
}

impl Inner {
    fn remove(&mut self, key: &str) {
        if let Some(e) = self.entries.remove(key) {
            self.order.remove(&e.seq);
            self.bytes -= key.len() + e.value.len();
        }
    }
}

impl PluginCache {
    /// The live value under `key`.
    pub fn get(&self, key: &str) -> Option<(Vec<u8>, u64)> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let expired = inner
            .entries
            .get(key)
            .is_some_and(|e| e.expires.is_some_and(|t| t <= Instant::now()));
        if expired {
            inner.remove(key);
            return None;
        }
        inner
            .entries
            .get(key)
            .map(|e| (e.value.clone(), e.stored_at_ms))
    }

    /// Store `value` under `key`, evicting the oldest entries to stay within `limits`.
    /// False when the entry alone exceeds `max_bytes`.
    pub fn set(
        &self,
        key: String,
        value: Vec<u8>,
        ttl: Option<Duration>,
        limits: &CacheGrant,
    ) -> bool {
        let size = key.len() + value.len();
        if size > limits.max_bytes || limits.max_entries == 0 {
            return false;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.remove(&key);
        while inner.entries.len() >= limits.max_entries || inner.bytes + size > limits.max_bytes {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.bytes -= oldest.len() + e.value.len();
            }
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.order.insert(seq, key.clone());
        inner.bytes += size;
        let stored_at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        inner.entries.insert(
            key,
            Entry {
                value,
                stored_at_ms,
                expires: ttl.map(|t| Instant::now() + t),
                seq,
            },
        );
        true
    }

    /// Remove `key`.
    pub fn delete(&self, key: &str) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// The caches of every plugin of a host, by plugin name (kept across reloads).
#[derive(Default)]
pub struct Caches {
    by_plugin: Mutex<HashMap<String, Arc<PluginCache>>>,
}

impl Caches {
    /// The cache of plugin `name` (created on first use).
    pub fn plugin(&self, name: &str) -> Arc<PluginCache> {
        let mut map = self.by_plugin.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(name.to_string()).or_default().clone()
    }
}

/// Link `wagate:plugin/cache`.
pub fn add_to_linker<T: CallState>(linker: &mut Linker<T>) -> anyhow::Result<()> {
    wit_cache::add_to_linker::<T, super::Base>(linker, T::base)?;
    Ok(())
}

impl wit_cache::Host for CallBase {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<Cached>> {
        Ok(self
            .plugin
            .cache
            .get(&key)
            .map(|(value, stored_at)| Cached { value, stored_at }))
    }

    async fn set(&mut self, key: String, value: Vec<u8>, ttl_ms: u64) -> wasmtime::Result<bool> {
        let ttl = (ttl_ms > 0).then(|| Duration::from_millis(ttl_ms));
        Ok(self
            .plugin
            .cache
            .set(key, value, ttl, &self.plugin.grants.cache))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.plugin.cache.delete(&key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_oldest_and_expires() {
        let c = PluginCache::default();
        let limits = CacheGrant {
            max_entries: 2,
            max_bytes: 100,
        };
        assert!(c.set("a".into(), vec![1], None, &limits));
        assert!(c.set("b".into(), vec![2], None, &limits));
        assert!(c.set("c".into(), vec![3], None, &limits));
        assert!(c.get("a").is_none(), "oldest evicted");
        assert_eq!(c.get("c").unwrap().0, vec![3]);
        assert!(!c.set("big".into(), vec![0; 200], None, &limits));
        assert!(
            c.set("d".into(), vec![0; 90], None, &limits),
            "evicts by bytes too"
        );
        assert!(c.get("b").is_none(), "oldest evicted to make room");
        assert!(c.get("c").is_some());
        assert!(c.set("t".into(), vec![1], Some(Duration::from_millis(1)), &limits));
        std::thread::sleep(Duration::from_millis(5));
        assert!(c.get("t").is_none(), "expired");
        c.delete("d");
        assert!(c.get("d").is_none());
    }
}
