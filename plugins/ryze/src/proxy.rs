//! The instance's proxy. RyzeAPI's catalog names no such route; these follow its
//! instance routes (`token` header, `{"success":true,...}`) and are documented in
//! the OpenAPI document:
//!
//! - `GET /instance/proxy/{instance}` -> `{success, proxy}` (`null` when none; the
//!   password shown as `********`).
//! - `POST /instance/proxy/{instance} {protocol, host, port, username?, password?,
//!   enabled?}` sets it (an unreachable proxy is refused with 400); `{"enabled":
//!   false}` removes it -> `{success, message, proxy}`.
//!
//! Only the `whatsapp` link dials through it, from the session's next connection on.

use serde::Deserialize;
use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{ProxyProtocol, ProxySettings};

use crate::core_fail;
use crate::routes::{find_instance, which};

pub(crate) fn routes(r: Router) -> Router {
    r.get("/instance/proxy/{instance}", get)
        .post("/instance/proxy/{instance}", set)
}

fn shown(p: &ProxySettings) -> Value {
    json!({
        "enabled": p.enabled,
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

/// `GET /instance/proxy/{instance}`.
fn get(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    find_instance(req, &which, Capabilities::READ)?;
    let proxy = core::get_proxy(&which).map_err(|e| core_fail(&e))?;
    Ok(crate::ok(
        200,
        json!({ "success": true, "proxy": proxy.as_ref().map(shown) }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    enabled: Option<bool>,
    protocol: Option<String>,
    host: Option<String>,
    port: Option<u32>,
    username: Option<String>,
    password: Option<String>,
}

/// `POST /instance/proxy/{instance}`.
fn set(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    find_instance(req, &which, Capabilities::MANAGE)?;
    let body: Body = req.body()?;
    let bad = |m: &str| crate::fail(400, m);
    let proxy = if body.enabled.unwrap_or(true) {
        let protocol = match body
            .protocol
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("http") => ProxyProtocol::Http,
            Some("https") => ProxyProtocol::Https,
            Some("socks4") => ProxyProtocol::Socks4,
            Some("socks5") => ProxyProtocol::Socks5,
            _ => return Err(bad("protocol must be one of http, https, socks4, socks5")),
        };
        let host = body
            .host
            .filter(|h| !h.trim().is_empty())
            .ok_or_else(|| bad("host is required"))?;
        let port = body
            .port
            .filter(|p| (1..=65535).contains(p))
            .ok_or_else(|| bad("port must be between 1 and 65535"))?;
        Some(ProxySettings {
            enabled: true,
            protocol,
            host: host.trim().to_string(),
            port: port as u16,
            username: body.username.filter(|u| !u.is_empty()),
            password: body.password.filter(|p| !p.is_empty()),
        })
    } else {
        None
    };
    let saved = core::set_proxy(&which, proxy.as_ref()).map_err(|e| core_fail(&e))?;
    Ok(crate::ok(
        200,
        json!({ "success": true, "message": "Proxy updated", "proxy": saved.as_ref().map(shown) }),
    ))
}

/// The two operations for the OpenAPI document: (path, method, operationId, op).
pub(crate) fn openapi_paths() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    use crate::openapi::{err, instance_param, okr, op};
    let example = json!({ "enabled": true, "protocol": "socks5", "host": "proxy.example.com",
        "port": 1080, "username": "alice", "password": "********" });
    let props = json!({
        "enabled": { "type": "boolean", "description": "false removes the proxy (the other fields are then ignored); default true." },
        "protocol": { "enum": ["http", "https", "socks4", "socks5"], "description": "http/https: HTTP CONNECT (https: TLS to the proxy); socks4 (no password) or socks5." },
        "host": { "type": "string", "minLength": 1, "description": "Host name or IP address of the proxy." },
        "port": { "type": "integer", "minimum": 1, "maximum": 65535 },
        "username": { "type": "string" },
        "password": { "type": "string", "description": "Never shown back (`********`); sending `********` keeps the stored one." },
    });
    vec![
        (
            "/instance/proxy/{instance}",
            "get",
            "getInstanceProxy",
            op(
                "The proxy the instance's WhatsApp connection and media go through (null when none).",
                json!([instance_param()]),
                None,
                json!({
                    "200": okr("The proxy.", json!({ "success": true, "proxy": example })),
                    "404": err("Unknown instance.", "Instance not found"),
                }),
            ),
        ),
        (
            "/instance/proxy/{instance}",
            "post",
            "setInstanceProxy",
            op(
                "Set or remove the instance's proxy. An enabled proxy must accept a connection; the session uses it from its next connection on (restart to apply at once). Only the whatsapp link dials through it.",
                json!([instance_param()]),
                Some(json!({
                    "required": true,
                    "content": { "application/json": {
                        "schema": { "type": "object", "properties": props, "additionalProperties": false },
                        "example": { "protocol": "socks5", "host": "proxy.example.com", "port": 1080, "username": "alice", "password": "secret" },
                    }},
                })),
                json!({
                    "200": okr("Saved.", json!({ "success": true, "message": "Proxy updated", "proxy": example })),
                    "400": err("A missing or invalid field, or a proxy that cannot be reached.", "port must be between 1 and 65535"),
                    "404": err("Unknown instance.", "Instance not found"),
                }),
            ),
        ),
    ]
}
