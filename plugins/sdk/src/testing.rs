//! Fakes of the imported interfaces, so a plugin's code runs under plain `cargo test`
//! (feature `testing`, native targets only; on wasm the host is always called).
//!
//! Install [`Fakes`] for the current thread; every SDK import then reaches them instead
//! of the host until the returned guard drops:
//!
//! ```ignore
//! use wagate_plugin_sdk::testing::{self, Fakes};
//! use wagate_plugin_sdk::{core, prelude::*};
//!
//! struct OneInstance;
//! impl core::Fake for OneInstance {
//!     fn connection_state(&mut self, which: &InstanceRef) -> Result<ConnectionState, CoreError> {
//!         match which {
//!             InstanceRef::Name(n) if n == "shop" => Ok(ConnectionState::Open),
//!             _ => Err(testing::not_found(ResourceKind::Instance, "instance not found")),
//!         }
//!     }
//! }
//!
//! #[test]
//! fn answers_the_state() {
//!     let _fakes = testing::install(Fakes::new().core(OneInstance).config("greeting", "hi"));
//!     let resp = router().handle(&testing::request("GET", "/shop", ""));
//!     assert_eq!(resp.status, 200);
//! }
//! ```
//!
//! - `core`: a [`core::Fake`](crate::core::Fake) the test implements for the
//!   operations it exercises (any other panics with its name);
//! - `http-out`: a responder closure; every request is recorded in
//!   [`Fakes::requests`];
//! - `storage`, `cache`, `config`: in-memory maps with the host's semantics (storage
//!   keyed by instance and key, cache entries expire after their TTL), preset with the
//!   builder methods and inspectable through [`with`];
//! - `identity`: a map from secret to principal; `log`: lines kept in [`Fakes::logs`].

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::cache::Cached;
use crate::http::Request;
use crate::http_out::{HttpError, OutboundRequest, OutboundResponse};
use crate::log::Level;
use crate::types::{CoreError, HttpRequest, Integration, Missing, Principal, ResourceKind};

/// How the fake `http-out` answers a request.
pub type Responder = Box<dyn FnMut(&OutboundRequest) -> Result<OutboundResponse, HttpError>>;

/// What the SDK's imports reach while installed. Build with [`Fakes::new`] and the
/// builder methods; the fields are public so a test can inspect what the code did.
pub struct Fakes {
    core: Option<Box<dyn crate::core::Fake>>,
    http: Option<Responder>,
    /// Every request the code sent through `http_out::fetch`, in order.
    pub requests: Vec<OutboundRequest>,
    /// `config` values.
    pub config: BTreeMap<String, String>,
    /// `cache` entries: value, stored-at and expiry (epoch ms; `None`: no TTL).
    pub cache: BTreeMap<String, (Vec<u8>, u64, Option<u64>)>,
    /// `storage` values by (instance id, key).
    pub storage: BTreeMap<(String, String), Vec<u8>>,
    /// `storage::integration` answers, by instance id.
    pub integrations: BTreeMap<String, Integration>,
    /// `identity::resolve` answers, by secret.
    pub principals: BTreeMap<String, Principal>,
    /// Lines written with `log`.
    pub logs: Vec<(Level, String)>,
    /// The clock the cache's `stored-at` and TTLs use (epoch ms); real time when `None`.
    pub now_ms: Option<u64>,
}

impl Default for Fakes {
    fn default() -> Self {
        Self::new()
    }
}

impl Fakes {
    /// No core, no http-out responder, empty maps.
    pub fn new() -> Self {
        Self {
            core: None,
            http: None,
            requests: Vec::new(),
            config: BTreeMap::new(),
            cache: BTreeMap::new(),
            storage: BTreeMap::new(),
            integrations: BTreeMap::new(),
            principals: BTreeMap::new(),
            logs: Vec::new(),
            now_ms: None,
        }
    }

    /// Answer `core` calls with `fake`.
    pub fn core(mut self, fake: impl crate::core::Fake + 'static) -> Self {
        self.core = Some(Box::new(fake));
        self
    }

    /// Answer `http_out::fetch` with `responder`.
    pub fn http(
        mut self,
        responder: impl FnMut(&OutboundRequest) -> Result<OutboundResponse, HttpError> + 'static,
    ) -> Self {
        self.http = Some(Box::new(responder));
        self
    }

    /// Set a `config` value.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Set what `storage::integration(instance_id)` answers.
    pub fn integration(mut self, instance_id: &str, integration: Integration) -> Self {
        self.integrations.insert(instance_id.into(), integration);
        self
    }

    /// Make `identity::resolve(secret)` answer `principal`.
    pub fn principal(mut self, secret: &str, principal: Principal) -> Self {
        self.principals.insert(secret.into(), principal);
        self
    }

    pub(crate) fn core_mut(&mut self) -> &mut dyn crate::core::Fake {
        match &mut self.core {
            Some(c) => c.as_mut(),
            None => panic!(
                "sdk::testing: the code called `core`, but no core fake is installed (Fakes::core)"
            ),
        }
    }

    pub(crate) fn identity(&mut self, secret: &str) -> Option<Principal> {
        self.principals.get(secret).cloned()
    }

    pub(crate) fn fetch(&mut self, req: &OutboundRequest) -> Result<OutboundResponse, HttpError> {
        self.requests.push(req.clone());
        match &mut self.http {
            Some(respond) => respond(req),
            None => panic!(
                "sdk::testing: the code sent {} {}, but no http-out responder is installed (Fakes::http)",
                req.method, req.url
            ),
        }
    }

    fn now(&self) -> u64 {
        self.now_ms.unwrap_or_else(crate::time::now_ms)
    }

    pub(crate) fn cache_get(&mut self, key: &str) -> Option<Cached> {
        let now = self.now();
        match self.cache.get(key) {
            Some((_, _, Some(expires))) if *expires <= now => {
                self.cache.remove(key);
                None
            }
            Some((value, stored_at, _)) => Some(Cached {
                value: value.clone(),
                stored_at: *stored_at,
            }),
            None => None,
        }
    }

    pub(crate) fn cache_set(&mut self, key: &str, value: &[u8], ttl_ms: u64) -> bool {
        let now = self.now();
        let expires = (ttl_ms > 0).then(|| now.saturating_add(ttl_ms));
        self.cache
            .insert(key.into(), (value.to_vec(), now, expires));
        true
    }

    pub(crate) fn storage_get(
        &mut self,
        instance_id: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, String> {
        Ok(self.storage.get(&(instance_id.into(), key.into())).cloned())
    }

    pub(crate) fn storage_set(
        &mut self,
        instance_id: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), String> {
        // The host's limits, so a test sees what production would refuse.
        if key.len() > 512 {
            return Err("storage keys are at most 512 bytes".into());
        }
        if value.len() > 64 * 1024 {
            return Err("storage values are at most 64 KiB".into());
        }
        self.storage
            .insert((instance_id.into(), key.into()), value.to_vec());
        Ok(())
    }

    pub(crate) fn storage_delete(&mut self, instance_id: &str, key: &str) -> Result<(), String> {
        self.storage.remove(&(instance_id.into(), key.into()));
        Ok(())
    }
}

thread_local! {
    static FAKES: RefCell<Option<Fakes>> = const { RefCell::new(None) };
}

/// Uninstalls the fakes when dropped (returned by [`install`]).
#[must_use = "the fakes are uninstalled when the guard drops"]
pub struct Installed(());

impl Drop for Installed {
    fn drop(&mut self) {
        FAKES.with(|f| f.borrow_mut().take());
    }
}

/// Route this thread's SDK imports to `fakes` until the guard drops (each test runs on
/// its own thread, so tests do not see each other's fakes).
pub fn install(fakes: Fakes) -> Installed {
    FAKES.with(|f| *f.borrow_mut() = Some(fakes));
    Installed(())
}

/// Run `f` on the installed fakes (to inspect or change them mid-test). Panics when
/// none are installed, or when called from inside a fake (a fake that calls the SDK's
/// imports again).
pub fn with<R>(f: impl FnOnce(&mut Fakes) -> R) -> R {
    FAKES.with(|cell| {
        let mut guard = cell
            .try_borrow_mut()
            .expect("sdk::testing: a fake called an SDK import (fakes are not reentrant)");
        let fakes = guard
            .as_mut()
            .expect("sdk::testing: no fakes installed on this thread (testing::install)");
        f(fakes)
    })
}

/// A `not-found` core error about `kind`.
pub fn not_found(kind: ResourceKind, message: &str) -> CoreError {
    CoreError::NotFound(Missing {
        kind,
        message: message.into(),
    })
}

/// A request as a dialect mounted at `/` receives it, with `body` and no caller (set
/// `caller` on the result to act as someone).
pub fn request(method: &str, path: &str, body: &str) -> Request {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (path, None),
    };
    Request::new(
        HttpRequest {
            method: method.into(),
            path: path.into(),
            mount: "/".into(),
            query,
            headers: vec![crate::http::header("content-type", "application/json")],
            body: body.as_bytes().to_vec(),
        },
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ConnectionState, InstanceRef};

    struct Shop;
    impl crate::core::Fake for Shop {
        fn connection_state(&mut self, which: &InstanceRef) -> Result<ConnectionState, CoreError> {
            match which {
                InstanceRef::Name(n) if n == "shop" => Ok(ConnectionState::Open),
                _ => Err(not_found(ResourceKind::Instance, "instance not found")),
            }
        }
    }

    #[test]
    fn imports_reach_the_fakes() {
        let _f = install(
            Fakes::new()
                .core(Shop)
                .config("greeting", "hi")
                .http(|req| {
                    Ok(OutboundResponse {
                        status: 201,
                        headers: Vec::new(),
                        body: req.url.clone().into_bytes(),
                    })
                }),
        );
        assert_eq!(
            crate::core::connection_state(&InstanceRef::Name("shop".into())).unwrap(),
            ConnectionState::Open
        );
        let e = crate::core::connection_state(&InstanceRef::Name("x".into())).unwrap_err();
        assert!(e.is_not_found(ResourceKind::Instance));
        assert_eq!(crate::config::get("greeting").as_deref(), Some("hi"));
        assert_eq!(crate::config::get("other"), None);

        let req = OutboundRequest {
            method: "POST".into(),
            url: "http://svc/x".into(),
            headers: Vec::new(),
            body: b"{}".to_vec(),
            timeout_ms: 1000,
        };
        let resp = crate::http_out::fetch(&req).unwrap();
        assert_eq!(
            (resp.status, resp.body.as_slice()),
            (201, &b"http://svc/x"[..])
        );
        assert_eq!(with(|f| f.requests.len()), 1);

        crate::storage::set("i1", "k", b"v").unwrap();
        assert_eq!(crate::storage::get("i1", "k").unwrap(), Some(b"v".to_vec()));
        assert_eq!(
            crate::storage::get("i2", "k").unwrap(),
            None,
            "per instance"
        );
        assert!(crate::storage::set("i1", &"k".repeat(513), b"v").is_err());
        crate::storage::delete("i1", "k").unwrap();
        assert_eq!(crate::storage::get("i1", "k").unwrap(), None);

        crate::log::info("hello");
        assert_eq!(
            with(|f| f.logs.clone()),
            vec![(Level::Info, "hello".to_string())]
        );
    }

    #[test]
    fn cache_entries_expire() {
        let _f = install(Fakes {
            now_ms: Some(1_000),
            ..Fakes::new()
        });
        assert!(crate::cache::set("a", b"1", 50));
        assert!(crate::cache::set("b", b"2", 0));
        assert_eq!(crate::cache::get("a").unwrap().stored_at, 1_000);
        with(|f| f.now_ms = Some(1_050));
        assert!(crate::cache::get("a").is_none(), "expired at its TTL");
        assert_eq!(crate::cache::get("b").unwrap().value, b"2", "no TTL: kept");
        crate::cache::delete("b");
        assert!(crate::cache::get("b").is_none());
    }

    #[test]
    #[should_panic(expected = "did not fake core::send_text")]
    fn an_unfaked_operation_names_itself() {
        let _f = install(Fakes::new().core(Shop));
        let _ = crate::core::send_text(&InstanceRef::Name("shop".into()), "1", "hi");
    }
}
