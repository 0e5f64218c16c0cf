//! Reusing a mount's auth outcome for the same credentials.
//!
//! Every request of a dialect runs its mount's auth chain: a fresh plugin instance that
//! hashes the presented secret and reads the credential from the store. When every
//! plugin of the chain declares `[auth_cache]` in its manifest (the request headers its
//! outcome depends on, and the longest it may be reused), the host keeps the chain's
//! `allow` for a request whose declared headers carry the same values, under three
//! conditions that keep a revoke immediate:
//!
//! - only an `allow` whose plugin resolved a stored credential through `identity`
//!   during that call is kept (a login JWT's allow, derived from a signature and the
//!   clock, never is);
//! - an entry records how many credential changes the store had counted when its call
//!   began (`Store::credential_changes`), and is used only while that count is
//!   unchanged: the writer counts a change before it answers the request that made
//!   it, so the very next request after a revoke or delete runs the plugins again;
//! - nothing is reused in cluster mode (another node's change is not counted here).
//!
//! Denials and skips are never kept. The map is bounded (`[plugins.runtime]
//! auth_cache_entries`) and emptied when full; a plugin reload starts a new one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::bindings::types as wit;
use super::manifest::AuthCacheDecl;
use crate::core::model::Principal;

/// The reusable outcomes of one mount's auth chain.
pub struct AuthCache {
    /// Lower-cased names of the headers the chain's outcome depends on (the union of
    /// its plugins' `vary`), in a fixed order.
    vary: Vec<String>,
    /// The shortest `ttl_ms` of the chain.
    ttl: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<Vec<u8>, Entry>>,
}

struct Entry {
    principal: Principal,
    /// `Store::credential_changes` when the call that produced it began.
    credential_changes: u64,
    until: Instant,
}

impl AuthCache {
    /// The cache of a chain whose plugins declare `decls` (one per plugin, in order);
    /// `None` when one of them declares nothing, the chain is empty, or `max_entries`
    /// is 0.
    pub fn for_chain(decls: &[Option<&AuthCacheDecl>], max_entries: usize) -> Option<Self> {
        if decls.is_empty() || max_entries == 0 {
            return None;
        }
        let mut vary: Vec<String> = Vec::new();
        let mut ttl_ms = u64::MAX;
        for decl in decls {
            let decl = (*decl)?;
            ttl_ms = ttl_ms.min(decl.ttl_ms);
            vary.extend(decl.vary.iter().map(|h| h.to_ascii_lowercase()));
        }
        vary.sort();
        vary.dedup();
        Some(AuthCache {
            vary,
            ttl: Duration::from_millis(ttl_ms),
            max_entries,
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// The key of a request: the values of every `vary` header, in order (a header
    /// sent twice keeps both values). Header values cannot hold NUL, so the separators
    /// keep two different requests from sharing a key.
    pub fn key(&self, req: &wit::HttpRequest) -> Vec<u8> {
        let mut key = Vec::with_capacity(64);
        for name in &self.vary {
            for h in &req.headers {
                if h.name.eq_ignore_ascii_case(name) {
                    key.extend_from_slice(h.value.as_bytes());
                    key.push(0);
                }
            }
            key.push(1);
        }
        key
    }

    /// The principal kept for `key`, if it was derived under `credential_changes` and
    /// has not expired.
    pub fn get(&self, key: &[u8], credential_changes: u64) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(key)?;
        (entry.credential_changes == credential_changes && entry.until > Instant::now())
            .then(|| entry.principal.clone())
    }

    /// Keeps `principal` for `key`, derived by a call that began when the store had
    /// counted `credential_changes`.
    pub fn put(&self, key: Vec<u8>, principal: Principal, credential_changes: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            // Bounded the simple way: a full map starts over (callers re-run their
            // plugins once), rather than tracking recency on every hit.
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                principal,
                credential_changes,
                until: Instant::now() + self.ttl,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Capabilities;

    fn decl(vary: &[&str], ttl_ms: u64) -> AuthCacheDecl {
        AuthCacheDecl {
            vary: vary.iter().map(|s| s.to_string()).collect(),
            ttl_ms,
        }
    }

    fn req(headers: &[(&str, &str)]) -> wit::HttpRequest {
        wit::HttpRequest {
            method: "GET".into(),
            path: "/x".into(),
            mount: "/".into(),
            query: None,
            headers: headers
                .iter()
                .map(|(n, v)| wit::Header {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            body: Vec::new(),
        }
    }

    fn principal(subject: &str) -> Principal {
        Principal {
            subject: subject.into(),
            org: "o".into(),
            caps: Capabilities {
                read: true,
                send: false,
                manage: false,
                admin: false,
            },
            instance: None,
            may_delete_own_instance: false,
        }
    }

    #[test]
    fn only_chains_that_all_declare_are_cached() {
        let a = decl(&["token"], 5000);
        let b = decl(&["Authorization"], 1000);
        assert!(AuthCache::for_chain(&[Some(&a), None], 10).is_none());
        assert!(AuthCache::for_chain(&[], 10).is_none());
        assert!(AuthCache::for_chain(&[Some(&a)], 0).is_none());
        let c = AuthCache::for_chain(&[Some(&a), Some(&b)], 10).unwrap();
        assert_eq!(c.vary, ["authorization", "token"]);
        assert_eq!(c.ttl, Duration::from_millis(1000));
    }

    #[test]
    fn keys_differ_by_value_and_by_header() {
        let c =
            AuthCache::for_chain(&[Some(&decl(&["token", "authorization"], 1000))], 10).unwrap();
        let k = |h: &[(&str, &str)]| c.key(&req(h));
        assert_eq!(k(&[("Token", "a")]), k(&[("token", "a"), ("x", "y")]));
        assert_ne!(k(&[("token", "a")]), k(&[("token", "b")]));
        assert_ne!(k(&[("token", "a")]), k(&[("authorization", "a")]));
        assert_ne!(k(&[("token", "a")]), k(&[]));
        assert_ne!(k(&[("token", "ab")]), k(&[("token", "a"), ("token", "b")]));
    }

    #[test]
    fn an_entry_lives_until_a_credential_change_or_its_time() {
        let c = AuthCache::for_chain(&[Some(&decl(&["token"], 60_000))], 10).unwrap();
        let key = c.key(&req(&[("token", "a")]));
        c.put(key.clone(), principal("p"), 7);
        assert_eq!(c.get(&key, 7).unwrap().subject, "p");
        assert!(c.get(&key, 8).is_none(), "a credential changed since");

        let short = AuthCache::for_chain(&[Some(&decl(&["token"], 1))], 10).unwrap();
        short.put(key.clone(), principal("p"), 7);
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.get(&key, 7).is_none(), "expired");
    }

    #[test]
    fn a_full_map_starts_over() {
        let c = AuthCache::for_chain(&[Some(&decl(&["token"], 60_000))], 2).unwrap();
        let k = |v: &str| c.key(&req(&[("token", v)]));
        c.put(k("a"), principal("a"), 0);
        c.put(k("b"), principal("b"), 0);
        c.put(k("b"), principal("b2"), 0);
        assert!(
            c.get(&k("a"), 0).is_some(),
            "replacing a key does not evict"
        );
        c.put(k("c"), principal("c"), 0);
        assert!(c.get(&k("a"), 0).is_none());
        assert_eq!(c.get(&k("c"), 0).unwrap().subject, "c");
        assert_eq!(c.entries.lock().unwrap().len(), 1);
    }
}
