//! The instance's proxy, to Evolution's `ProxyDto` and answers (its proxy router,
//! controller and service):
//!
//! - `POST /proxy/set/{instanceName} {enabled, host, port, protocol, username?,
//!   password?}` (the four required, `port` a string as in its schema) -> 201
//!   `{proxy: {instanceName, proxy: {...}}}`. `enabled: false` removes the proxy (as
//!   Evolution blanks the row). An enabled proxy that cannot be reached is refused
//!   with 400 `Invalid proxy` (Evolution checks its proxy before saving, too).
//! - `GET /proxy/find/{instanceName}` -> the stored proxy, or `null` when none.
//!
//! Unlike Evolution, the password is never answered back: reads show `********`,
//! and sending `********` back keeps the stored password. The proxy carries the
//! instance's WhatsApp connection and media from its next connection on
//! (`/instance/restart` applies it at once); only the `whatsapp` link dials.

use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{ProxyProtocol, ProxySettings};

use crate::input::{self, bad};
use crate::shape::Style;
use crate::{Cap, Reply, core_error, guard, titled_error};

/// The fields Evolution's `proxySchema` requires, in its order.
const REQUIRED: [&str; 4] = ["enabled", "host", "port", "protocol"];

/// The protocol as Evolution spells it.
pub(crate) fn protocol_name(p: ProxyProtocol) -> &'static str {
    match p {
        ProxyProtocol::Http => "http",
        ProxyProtocol::Https => "https",
        ProxyProtocol::Socks4 => "socks4",
        ProxyProtocol::Socks5 => "socks5",
    }
}

/// Evolution's protocol string (`http`, `https`, `socks4`, `socks5`).
pub(crate) fn parse_protocol(s: &str) -> Result<ProxyProtocol, HttpResponse> {
    match s.to_ascii_lowercase().as_str() {
        "http" => Ok(ProxyProtocol::Http),
        "https" => Ok(ProxyProtocol::Https),
        "socks4" => Ok(ProxyProtocol::Socks4),
        "socks5" => Ok(ProxyProtocol::Socks5),
        _ => Err(bad(&format!(
            "protocol must be one of http, https, socks4, socks5 (got \"{s}\")"
        ))),
    }
}

/// Evolution's port: a string in its schema; a number is taken too.
pub(crate) fn parse_port(v: &Value, key: &str) -> Result<u16, HttpResponse> {
    let port = match v.get(key) {
        Some(Value::String(s)) if s.is_empty() => {
            return Err(bad(&format!("The \"{key}\" cannot be empty")));
        }
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => return Err(bad(&format!("{key} is not of a type(s) string"))),
    };
    port.filter(|p| (1..=65535).contains(p))
        .map(|p| p as u16)
        .ok_or_else(|| bad(&format!("{key} must be a port number between 1 and 65535")))
}

/// Evolution's proxy row (without its database ids), password masked.
pub(crate) fn row(p: &ProxySettings) -> Value {
    json!({
        "enabled": p.enabled,
        "host": p.host,
        "port": p.port.to_string(),
        "protocol": protocol_name(p.protocol),
        "username": p.username.clone().unwrap_or_default(),
        "password": p.password.clone().unwrap_or_default(),
    })
}

/// `POST /proxy/set/{instanceName}`.
pub(crate) fn set(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let body = input::body(req)?;
    if let Some(missing) = REQUIRED.iter().find(|k| body.get(**k).is_none()) {
        return Err(bad(&format!("instance requires property \"{missing}\"")));
    }
    let which = InstanceRef::Id(instance.id);
    let proxy = if input::req_bool(&body, "enabled")? {
        let host = input::req_str(&body, "host")?;
        let port = parse_port(&body, "port")?;
        let protocol = parse_protocol(&input::req_str(&body, "protocol")?)?;
        Some(ProxySettings {
            enabled: true,
            protocol,
            host: host.trim().to_string(),
            port,
            username: input::opt_str(&body, "username")?.filter(|u| !u.is_empty()),
            password: input::opt_str(&body, "password")?.filter(|p| !p.is_empty()),
        })
    } else {
        None
    };
    let saved = match core::set_proxy(&which, proxy.as_ref()) {
        Ok(saved) => saved,
        Err(e @ CoreError::Invalid(_)) => return Err(titled_error("Invalid proxy", &e)),
        Err(e) => return Err(core_error(&e)),
    };
    let answered = match &saved {
        Some(p) => row(p),
        None => {
            json!({"enabled": false, "host": "", "port": "", "protocol": "", "username": "", "password": ""})
        }
    };
    Ok(json(
        201,
        &json!({"proxy": {"instanceName": instance.name, "proxy": answered}}),
    ))
}

/// `GET /proxy/find/{instanceName}`.
pub(crate) fn find(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let proxy = core::get_proxy(&InstanceRef::Id(instance.id)).map_err(|e| core_error(&e))?;
    Ok(json(200, &proxy.as_ref().map(row).unwrap_or(Value::Null)))
}

/// The stored proxy's shape (`Proxy` in the OpenAPI components).
pub(crate) fn schema() -> Value {
    json!({
        "type": "object", "required": ["enabled", "host", "port", "protocol", "username", "password"],
        "properties": {
            "enabled": { "type": "boolean" }, "host": { "type": "string" },
            "port": { "type": "string", "description": "A port number, as a string (Evolution's schema)" },
            "protocol": { "enum": ["http", "https", "socks4", "socks5", ""] },
            "username": { "type": "string" },
            "password": { "type": "string", "description": "`********` when one is stored: never answered in clear" }
        }
    })
}

/// `/proxy/set` and `/proxy/find` for the OpenAPI document.
pub(crate) fn openapi_paths() -> Vec<(&'static str, Value)> {
    use crate::openapi::{body, ok, op};
    let mut set = op(
        "Set the instance's proxy (HTTP CONNECT, https, SOCKS4 or SOCKS5): its WhatsApp connection and media go through it from the next connection on (restart to apply at once). enabled false removes it. An unreachable proxy is refused with 400 Invalid proxy. Only the whatsapp link dials through it",
        "Proxy",
        true,
        Some(body(json!({
            "type": "object", "required": REQUIRED,
            "properties": {
                "enabled": { "type": "boolean" },
                "host": { "type": "string", "description": "Host name or IP address (required non-empty when enabled)" },
                "port": { "type": ["string", "integer"], "description": "1-65535 (required when enabled)" },
                "protocol": { "type": "string", "description": "http, https, socks4 or socks5 (required when enabled)" },
                "username": { "type": "string" },
                "password": { "type": "string", "description": "Sending `********` keeps the stored password" }
            }
        }))),
        ok(
            "201",
            "Saved (password masked)",
            json!({ "type": "object", "required": ["proxy"], "properties": { "proxy": {
                "type": "object", "properties": { "instanceName": { "type": "string" }, "proxy": { "$ref": "#/components/schemas/Proxy" } } } } }),
        ),
    );
    set["operationId"] = json!("setProxy");
    set["responses"]["403"] = json!({ "$ref": "#/components/responses/Forbidden" });
    let mut find = op(
        "The instance's proxy (password masked), or null",
        "Proxy",
        true,
        None,
        ok(
            "200",
            "The proxy, or null when none is set",
            json!({ "oneOf": [{ "$ref": "#/components/schemas/Proxy" }, { "type": "null" }] }),
        ),
    );
    find["operationId"] = json!("findProxy");
    vec![
        ("/proxy/set/{instanceName}", json!({ "post": set })),
        ("/proxy/find/{instanceName}", json!({ "get": find })),
    ]
}
