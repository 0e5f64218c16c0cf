//! The session's proxy:
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | GET | /sessions/{sid}/proxy | none | `{proxy}`: the proxy, password `********`, or null (`read`) |
//! | PUT | /sessions/{sid}/proxy | `{protocol, host, port, username?, password?}` | `{proxy}` as saved (`manage`) |
//! | DELETE | /sessions/{sid}/proxy | none | 204: the session connects directly again (`manage`) |
//!
//! `protocol` is `http`, `https` (HTTP CONNECT, over TLS to the proxy), `socks4` or
//! `socks5`. A proxy that cannot be reached is refused (422). The WhatsApp
//! connection and media go through it from the session's next connection on; only
//! the `whatsapp` link dials through it.

use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{ProxyProtocol, ProxySettings};

use crate::api::{
    Cap, Within, body_object, checked, core_failure, invalid_fields, session_ref, sid,
};

const FIELDS: [&str; 5] = ["protocol", "host", "port", "username", "password"];

fn shown(p: &ProxySettings) -> Value {
    json!({
        "protocol": match p.protocol {
            ProxyProtocol::Http => "http",
            ProxyProtocol::Https => "https",
            ProxyProtocol::Socks4 => "socks4",
            ProxyProtocol::Socks5 => "socks5",
        },
        "host": p.host,
        "port": p.port,
        "username": p.username,
        "password": p.password,
    })
}

/// `GET /sessions/{sid}/proxy`.
pub(crate) fn get(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    match core::get_proxy(&session_ref(&sid)) {
        Ok(proxy) => json(200, &json!({ "proxy": proxy.as_ref().map(shown) })),
        Err(e) => core_failure(req, e, &sid, Cap::Read, Within::Session),
    }
}

/// `PUT /sessions/{sid}/proxy`.
pub(crate) fn put(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let invalid = |r: HttpResponse| checked(req, &sid, Cap::Manage, Within::Session, r);
    let body = match body_object(req, true) {
        Ok(o) => o,
        Err(r) => return invalid(r),
    };
    let mut fields = Map::new();
    for k in body.keys() {
        if !FIELDS.contains(&k.as_str()) {
            fields.insert(k.clone(), json!("unknown field"));
        }
    }
    let protocol = match body.get("protocol").and_then(Value::as_str) {
        Some("http") => Some(ProxyProtocol::Http),
        Some("https") => Some(ProxyProtocol::Https),
        Some("socks4") => Some(ProxyProtocol::Socks4),
        Some("socks5") => Some(ProxyProtocol::Socks5),
        _ => {
            fields.insert(
                "protocol".into(),
                json!("must be http, https, socks4 or socks5"),
            );
            None
        }
    };
    let host = match body.get("host").and_then(Value::as_str) {
        Some(h) if !h.trim().is_empty() => h.trim().to_string(),
        _ => {
            fields.insert(
                "host".into(),
                json!("must be a non-empty host name or address"),
            );
            String::new()
        }
    };
    let port = match body.get("port").and_then(Value::as_u64) {
        Some(p @ 1..=65535) => p as u16,
        _ => {
            fields.insert("port".into(), json!("must be an integer from 1 to 65535"));
            0
        }
    };
    let mut text = |k: &str| match body.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()).filter(|s| !s.is_empty()),
        Some(_) => {
            fields.insert(k.into(), json!("must be a string"));
            None
        }
    };
    let (username, password) = (text("username"), text("password"));
    let Some(protocol) = protocol.filter(|_| fields.is_empty()) else {
        return invalid(invalid_fields(fields));
    };
    let proxy = ProxySettings {
        enabled: true,
        protocol,
        host,
        port,
        username,
        password,
    };
    match core::set_proxy(&session_ref(&sid), Some(&proxy)) {
        Ok(saved) => json(200, &json!({ "proxy": saved.as_ref().map(shown) })),
        Err(e) => core_failure(req, e, &sid, Cap::Manage, Within::Session),
    }
}

/// `DELETE /sessions/{sid}/proxy`.
pub(crate) fn delete(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    match core::set_proxy(&session_ref(&sid), None) {
        Ok(_) => crate::render::no_content(),
        Err(e) => core_failure(req, e, &sid, Cap::Manage, Within::Session),
    }
}

/// The three operations and the `Proxy` schema, into the OpenAPI document.
pub(crate) fn add_openapi(doc: &mut Value) {
    use crate::openapi::{body, error_response, ok, sid};
    let forbidden = |cap: &str| {
        error_response(&format!(
            "`forbidden`: the caller lacks the `{cap}` capability"
        ))
    };
    let invalid = || {
        error_response(
            "`validation_error`: the request is malformed, or the proxy cannot be reached",
        )
    };
    doc["components"]["schemas"]["Proxy"] = json!({
        "type": "object", "required": ["protocol", "host", "port", "username", "password"],
        "properties": {
            "protocol": { "enum": ["http", "https", "socks4", "socks5"] },
            "host": { "type": "string" }, "port": { "type": "integer" },
            "username": { "type": ["string", "null"] }, "password": { "type": ["string", "null"] }
        }
    });
    doc["paths"]["/sessions/{sid}/proxy"] = json!({
        "get": {
            "operationId": "getProxy", "summary": "The session's proxy",
            "description": "The HTTP or SOCKS proxy the session's WhatsApp connection and media go through (only the whatsapp link dials through it), password shown as `********`; null when none. Requires `read`.",
            "parameters": [sid()],
            "responses": {
                "200": ok("The proxy", json!({ "type": "object", "required": ["proxy"], "properties": { "proxy": { "oneOf": [{ "$ref": "#/components/schemas/Proxy" }, { "type": "null" }] } } })),
                "403": forbidden("read"),
                "404": error_response("`not_found`: no such session"),
                "401": error_response("`unauthorized`")
            }
        },
        "put": {
            "operationId": "putProxy", "summary": "Set the session's proxy",
            "description": "The proxy must accept a connection (else 422). The session dials through it from its next connection on. Requires `manage`.",
            "parameters": [sid()],
            "requestBody": body(json!({
                "type": "object", "additionalProperties": false, "required": ["protocol", "host", "port"],
                "properties": {
                    "protocol": { "enum": ["http", "https", "socks4", "socks5"] },
                    "host": { "type": "string", "minLength": 1 },
                    "port": { "type": "integer", "minimum": 1, "maximum": 65535 },
                    "username": { "type": ["string", "null"] },
                    "password": { "type": ["string", "null"], "description": "`********` keeps the stored password" }
                }
            })),
            "responses": {
                "200": ok("The proxy as saved", json!({ "type": "object", "required": ["proxy"], "properties": { "proxy": { "$ref": "#/components/schemas/Proxy" } } })),
                "403": forbidden("manage"),
                "404": error_response("`not_found`: no such session"),
                "422": invalid(), "401": error_response("`unauthorized`")
            }
        },
        "delete": {
            "operationId": "deleteProxy", "summary": "Remove the session's proxy",
            "description": "The session connects directly from its next connection on. Requires `manage`.",
            "parameters": [sid()],
            "responses": {
                "204": { "description": "Removed" },
                "403": forbidden("manage"),
                "404": error_response("`not_found`: no such session"),
                "401": error_response("`unauthorized`")
            }
        }
    });
}
