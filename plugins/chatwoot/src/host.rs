//! The [`Net`], [`Kv`] and [`Wa`] traits on the host's interfaces (`http-out`,
//! `storage`, `core`). Natively these compile to calls that cannot run; the unit tests
//! use fakes instead.

use serde_json::Value;
use wagate_plugin_sdk::http_out::{self, HttpError, OutboundRequest};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::storage;

use crate::env::{Kv, Net, NetError, Reply};
use crate::inbound::{Wa, WaError};

/// Per-call timeout asked of http-out (the host caps it with the manifest's).
const TIMEOUT_MS: u32 = 10_000;

/// Chatwoot through http-out; the host adds `api_access_token` to these requests.
pub struct HostNet;

impl Net for HostNet {
    fn call(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Reply, NetError> {
        let mut headers = vec![header("accept", "application/json")];
        let body = match body {
            Some(b) => {
                headers.push(header("content-type", "application/json"));
                b.to_string().into_bytes()
            }
            None => Vec::new(),
        };
        let req = OutboundRequest {
            method: method.to_string(),
            url: url.to_string(),
            headers,
            body,
            timeout_ms: TIMEOUT_MS,
        };
        match http_out::fetch(&req) {
            Ok(r) => Ok(Reply {
                status: r.status,
                body: r.body,
            }),
            Err(HttpError::Denied(why)) => Err(NetError::Denied(why)),
            Err(HttpError::Timeout) => Err(NetError::Timeout),
            Err(HttpError::Failed(why)) => Err(NetError::Failed(why)),
        }
    }
}

/// The plugin's storage for one instance.
pub struct HostKv {
    pub instance_id: String,
}

impl Kv for HostKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        storage::get(&self.instance_id, key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        storage::set(&self.instance_id, key, value)
    }
    fn delete(&self, key: &str) -> Result<(), String> {
        storage::delete(&self.instance_id, key)
    }
}

/// WhatsApp through `core`, as the webhook's caller.
pub struct HostWa {
    pub instance_id: String,
}

impl HostWa {
    fn which(&self) -> InstanceRef {
        InstanceRef::Id(self.instance_id.clone())
    }
}

/// Core's answer as the inbound route reports it: what the caller can fix (a
/// disconnected instance, a text too long, a missing right, a rate limit) is a 4xx;
/// only the gateway's own failure is a 502 (WhatsApp did not take it).
fn wa_error(e: CoreError) -> WaError {
    let message = wagate_plugin_sdk::http::core_error_message(&e);
    match e {
        CoreError::Conflict(_) => WaError::Conflict,
        CoreError::NotFound(_) => WaError::NotFound,
        CoreError::Invalid(_) => WaError::Refused(422, message),
        CoreError::TooLarge(_) => WaError::Refused(413, message),
        CoreError::Forbidden(_) => WaError::Refused(403, message),
        CoreError::NotConnected(_) => WaError::Refused(409, message),
        CoreError::RateLimited(_) => WaError::Refused(429, message),
        CoreError::Internal(_) => WaError::Other(message),
    }
}

impl Wa for HostWa {
    fn send_text(&self, to: &str, text: &str) -> Result<String, WaError> {
        core::send_text(&self.which(), to, text)
            .map(|m| m.id)
            .map_err(wa_error)
    }
    fn revoke(&self, id: &str) -> Result<(), WaError> {
        core::delete_message(&self.which(), id, true)
            .map(|_| ())
            .map_err(wa_error)
    }
}
