//! The two things the sync needs from its host, as traits: outbound HTTP to Chatwoot
//! and the plugin's durable per-instance storage. The wasm build implements them on the
//! host's `http-out` and `storage` interfaces (see `lib.rs`); the unit tests on an
//! in-memory fake Chatwoot and map, so the sync logic runs natively.

use serde_json::Value;

/// Chatwoot's answer to one call.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Why no answer came.
#[derive(Debug, Clone)]
pub(crate) enum NetError {
    /// The host's allowlist refused the URL (a configuration problem, never transient).
    Denied(String),
    /// No answer within the timeout: the request may or may not have been applied.
    Timeout,
    /// Connection or protocol failure.
    Failed(String),
}

/// JSON calls to Chatwoot. The `api_access_token` is not a parameter: the host adds it.
pub(crate) trait Net {
    fn call(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Reply, NetError>;
}

/// The plugin's durable key-value storage for one instance.
pub(crate) trait Kv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
    fn set(&self, key: &str, value: &[u8]) -> Result<(), String>;
    fn delete(&self, key: &str) -> Result<(), String>;

    /// The value under `key` as JSON; a value that is not JSON counts as absent (it can
    /// only come from an older layout, and every key here can be rebuilt).
    fn get_json(&self, key: &str) -> Result<Option<Value>, String> {
        Ok(self.get(key)?.and_then(|v| serde_json::from_slice(&v).ok()))
    }

    fn set_json(&self, key: &str, value: &Value) -> Result<(), String> {
        self.set(key, value.to_string().as_bytes())
    }
}

#[cfg(test)]
pub mod mem {
    //! An in-memory [`Kv`] for the unit tests.
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    #[derive(Default)]
    pub struct MemKv(pub RefCell<BTreeMap<String, Vec<u8>>>);

    impl super::Kv for MemKv {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
            Ok(self.0.borrow().get(key).cloned())
        }
        fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
            self.0.borrow_mut().insert(key.into(), value.to_vec());
            Ok(())
        }
        fn delete(&self, key: &str) -> Result<(), String> {
            self.0.borrow_mut().remove(key);
            Ok(())
        }
    }
}
