//! RyzeAPI's webhook endpoints on core's typed webhooks:
//!
//! - `POST /events/webhook/{instance}`: create or update the webhook with `label`
//!   (default `default`): `{label?, enabled?, url, authorization?, byEvents?, events?,
//!   mediaBase64?}`. Upsert by label; at most 3 enabled per instance. `{"enabled":
//!   false}` soft-disables a label (the row stays, answered with `url`,
//!   `authorization` null and `events` empty).
//! - `GET /events/getWebhook/{instance}[?label=]`: `{"success":true,"webhooks":[...]}`
//!   sorted by label, or with `?label=` (empty means `default`) `{"success":true,
//!   "webhook":{...}}`, 404 `Webhook not found` when there is none.
//!
//! TokenAccount or TokenInstance (its own instance only). Deliveries carry RyzeAPI's
//! `{event, data, instanceData}` envelope (see `events.rs`), signed with HMAC-SHA256
//! by the bundled webhook sink; each webhook's `secret` is in its answer.
//!
//! RyzeAPI's event names map onto core's kinds:
//!
//! | RyzeAPI | core |
//! |---|---|
//! | message.exchange | message_upsert, message_revoked, message_reaction, message_edited, poll_vote |
//! | message.status | message_status |
//! | instance.state | connection_update, qr_updated, instance_deleted |
//! | call.update | call, call_ended |
//! | group.flow | group_upsert, group_update, group_participants |
//! | label.update | label_edit, label_association |
//!
//! Where wagate differs, and says so:
//! - core keeps no webhook label or Ryze event list, so both ride along as delivery headers
//!   `x-ryze-label` and `x-ryze-events` (the receiver sees them; they also let one
//!   URL tell webhooks apart).
//! - `authorization` is an object: either `{"type": "Bearer", "token": "..."}` (sent
//!   as `Authorization: Bearer ...`; `type` defaults to `Bearer`) or a map of header
//!   name to value. It is answered as the map of headers it became.
//! - `byEvents: true` is refused (wagate posts every event to the one url).
//! - `mediaBase64: true` puts a media message's bytes, base64, in
//!   `data.message.media.base64` of its `message.exchange` (a new message) for this
//!   webhook only, when the bytes are stored and at most 5 MiB (the SDK's
//!   `media::MAX_INLINE_BYTES`; larger: `GET /message/download` serves them). Kept,
//!   like the label, as a delivery header (`x-ryze-media-base64: true`); the render
//!   is told which webhook it is for and reads the bytes then.
//! - core replaces a dialect's webhooks as a set: an upsert gives every Ryze webhook of
//!   the instance a new `id` (secrets are kept), and deliveries still queued for them
//!   are dropped.

use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{Webhook, WebhookSpec};

use crate::util::iso8601;
use crate::{core_fail, fail, msg, ok};

/// RyzeAPI's six event types.
pub(crate) const RYZE_EVENTS: [&str; 6] = [
    "message.exchange",
    "message.status",
    "call.update",
    "group.flow",
    "instance.state",
    "label.update",
];

/// (RyzeAPI name, core kind); names missing here are never emitted by wagate.
const KINDS: [(&str, &str); 16] = [
    ("message.exchange", "message_upsert"),
    ("message.exchange", "message_revoked"),
    ("message.exchange", "message_reaction"),
    ("message.exchange", "message_edited"),
    ("message.exchange", "poll_vote"),
    ("message.status", "message_status"),
    ("instance.state", "connection_update"),
    ("instance.state", "qr_updated"),
    ("instance.state", "instance_deleted"),
    ("call.update", "call"),
    ("call.update", "call_ended"),
    ("group.flow", "group_upsert"),
    ("group.flow", "group_update"),
    ("group.flow", "group_participants"),
    ("label.update", "label_edit"),
    ("label.update", "label_association"),
];

/// A kind this dialect never renders: stands for "only events wagate does not emit"
/// (core reads an empty list as "all").
const NOTHING: &str = "message_deleted";

/// Enabled webhooks one instance may have (RyzeAPI's limit).
pub(crate) const MAX_ENABLED: usize = 3;

pub(crate) const LABEL_HEADER: &str = "x-ryze-label";
pub(crate) const EVENTS_HEADER: &str = "x-ryze-events";
/// Present (`true`) on a webhook saved with `mediaBase64: true`.
pub(crate) const MEDIA_HEADER: &str = "x-ryze-media-base64";
const DEFAULT_LABEL: &str = "default";
const NOT_FOUND: &str = "Webhook not found";

/// The core kinds a list of RyzeAPI names stands for (empty: all).
pub(crate) fn kinds_of(names: &[String]) -> Vec<String> {
    if names.is_empty() {
        return Vec::new();
    }
    let mut kinds: Vec<String> = Vec::new();
    for (name, kind) in KINDS {
        if names.iter().any(|n| n == name) && !kinds.iter().any(|k| k == kind) {
            kinds.push(kind.to_string());
        }
    }
    if kinds.is_empty() {
        kinds.push(NOTHING.to_string());
    }
    kinds
}

/// Whether deliveries to `hook` carry media bytes (`mediaBase64`).
pub(crate) fn wants_media(hook: &Webhook) -> bool {
    hook.enabled
        && hook
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(MEDIA_HEADER) && h.value == "true")
}

/// A webhook as this dialect reads it back from core.
struct Row {
    label: String,
    /// RyzeAPI names as given (empty: all).
    names: Vec<String>,
    /// `mediaBase64` as saved.
    media_base64: bool,
    /// The headers of `authorization` (without the `x-ryze-*` ones).
    auth: Vec<(String, String)>,
    hook: Webhook,
}

impl Row {
    fn from(hook: Webhook) -> Row {
        let mut label = DEFAULT_LABEL.to_string();
        let mut names = Vec::new();
        let mut auth = Vec::new();
        let media_base64 = wants_media(&hook);
        for h in &hook.headers {
            if h.name.eq_ignore_ascii_case(MEDIA_HEADER) {
                continue;
            } else if h.name.eq_ignore_ascii_case(LABEL_HEADER) {
                label = h.value.clone();
            } else if h.name.eq_ignore_ascii_case(EVENTS_HEADER) {
                names = h
                    .value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
            } else {
                auth.push((h.name.clone(), h.value.clone()));
            }
        }
        Row {
            label,
            names,
            media_base64,
            auth,
            hook,
        }
    }

    /// The spec that stores this row again unchanged (its secret kept).
    fn spec(&self) -> WebhookSpec {
        WebhookSpec {
            url: self.hook.url.clone(),
            events: self.hook.events.clone(),
            headers: self.hook.headers.clone(),
            enabled: self.hook.enabled,
            secret: Some(self.hook.secret.clone()),
        }
    }

    fn json(&self) -> Value {
        let enabled = self.hook.enabled;
        let authorization = if !enabled || self.auth.is_empty() {
            Value::Null
        } else {
            Value::Object(
                self.auth
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect::<Map<_, _>>(),
            )
        };
        json!({
            "label": self.label,
            "enabled": enabled,
            "url": if enabled { json!(self.hook.url) } else { Value::Null },
            "authorization": authorization,
            "byEvents": false,
            "events": if enabled { json!(self.names) } else { json!([]) },
            "mediaBase64": self.media_base64,
            "id": self.hook.id,
            "secret": self.hook.secret,
            "createdAt": iso8601(self.hook.created_at),
        })
    }
}

/// What the body asks for, validated.
#[derive(Debug, PartialEq)]
pub(crate) struct Wanted {
    pub label: String,
    pub enabled: bool,
    pub url: Option<String>,
    pub names: Vec<String>,
    pub auth: Vec<(String, String)>,
    pub media_base64: bool,
}

fn bad(m: &str) -> HttpResponse {
    fail(400, m)
}

/// Reads and validates the body of `POST /events/webhook/{instance}`.
pub(crate) fn parse(body: &[u8]) -> Result<Wanted, HttpResponse> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| bad(&format!("{}: {e}", msg::INVALID_BODY)))?;
    let Value::Object(o) = v else {
        return Err(bad(&format!(
            "{}: expected a JSON object",
            msg::INVALID_BODY
        )));
    };
    let field = |k: &str| o.get(k).filter(|v| !v.is_null());
    let type_err = |k: &str, t: &str| bad(&format!("{}: {k} must be {t}", msg::INVALID_BODY));

    let label = match field("label") {
        None => DEFAULT_LABEL.to_string(),
        Some(Value::String(s)) if s.trim().is_empty() => DEFAULT_LABEL.to_string(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => return Err(type_err("label", "a string")),
    };
    if label.len() > 64 || label.contains(',') || label.chars().any(char::is_control) {
        return Err(bad(
            "Invalid label: at most 64 characters, no commas or control characters",
        ));
    }
    let enabled = match field("enabled") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(type_err("enabled", "a boolean")),
    };
    let url = match field("url") {
        None => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => return Err(type_err("url", "a string")),
    };
    if enabled && url.is_none() {
        return Err(bad("URL is required"));
    }
    match field("byEvents") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            return Err(bad(
                "byEvents is not supported: wagate posts every event to the one url",
            ));
        }
        Some(_) => return Err(type_err("byEvents", "a boolean")),
    }
    let media_base64 = match field("mediaBase64") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(type_err("mediaBase64", "a boolean")),
    };
    let mut names: Vec<String> = Vec::new();
    match field("events") {
        None => {}
        Some(Value::Array(list)) => {
            for e in list {
                match e.as_str().filter(|n| RYZE_EVENTS.contains(n)) {
                    Some(n) => {
                        if !names.iter().any(|x| x == n) {
                            names.push(n.to_string());
                        }
                    }
                    None => {
                        let shown = e.as_str().map(String::from).unwrap_or(e.to_string());
                        return Err(bad(&format!(
                            "Invalid event: {shown}. Valid events: {}",
                            RYZE_EVENTS.join(", ")
                        )));
                    }
                }
            }
        }
        Some(_) => return Err(type_err("events", "an array of strings")),
    }
    let auth = match field("authorization") {
        None => Vec::new(),
        Some(Value::Object(map)) => authorization(map)?,
        Some(_) => return Err(type_err("authorization", "an object")),
    };
    Ok(Wanted {
        label,
        enabled,
        url,
        names,
        auth,
        media_base64,
    })
}

/// `{"type": "Bearer", "token": "..."}` or a map of header name to value.
fn authorization(map: &Map<String, Value>) -> Result<Vec<(String, String)>, HttpResponse> {
    let invalid = |m: &str| bad(&format!("Invalid authorization: {m}"));
    if let Some(token) = map.get("token") {
        let token = token
            .as_str()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| invalid("token must be a non-empty string"))?;
        let kind = match map.get("type") {
            None | Some(Value::Null) => "Bearer",
            Some(Value::String(t)) if !t.trim().is_empty() => t.trim(),
            Some(_) => return Err(invalid("type must be a string")),
        };
        if map.keys().any(|k| k != "token" && k != "type") {
            return Err(invalid("with token, only type is allowed"));
        }
        return Ok(vec![(
            "Authorization".to_string(),
            format!("{kind} {}", token.trim()),
        )]);
    }
    let mut out = Vec::new();
    for (k, v) in map {
        let ok_name = !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok_name || k.to_ascii_lowercase().starts_with("x-ryze-") {
            return Err(invalid(&format!("`{k}` is not a usable header name")));
        }
        let Some(v) = v.as_str().filter(|v| !v.chars().any(char::is_control)) else {
            return Err(invalid(&format!("the value of `{k}` must be a string")));
        };
        out.push((k.clone(), v.to_string()));
    }
    Ok(out)
}

/// The stored spec of `w`; `previous` is the row it replaces (its url is kept when a
/// soft-disable sends none, and its secret always).
fn spec_of(w: &Wanted, previous: Option<&Row>) -> Result<WebhookSpec, HttpResponse> {
    let url = match (&w.url, previous) {
        (Some(u), _) => u.clone(),
        (None, Some(p)) => p.hook.url.clone(),
        (None, None) => return Err(bad("URL is required")),
    };
    let mut headers = vec![header(LABEL_HEADER, &w.label)];
    if w.enabled {
        if !w.names.is_empty() {
            headers.push(header(EVENTS_HEADER, &w.names.join(",")));
        }
        if w.media_base64 {
            headers.push(header(MEDIA_HEADER, "true"));
        }
        headers.extend(w.auth.iter().map(|(k, v)| header(k, v)));
    }
    Ok(WebhookSpec {
        url,
        events: if w.enabled {
            kinds_of(&w.names)
        } else {
            Vec::new()
        },
        headers,
        enabled: w.enabled,
        secret: previous.map(|p| p.hook.secret.clone()),
    })
}

fn rows(which: &InstanceRef) -> Result<Vec<Row>, HttpResponse> {
    let hooks = core::get_webhooks(which).map_err(|e| hook_error(&e))?;
    let mut rows: Vec<Row> = hooks.into_iter().map(Row::from).collect();
    rows.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(rows)
}

fn hook_error(e: &CoreError) -> HttpResponse {
    match e {
        CoreError::NotFound(_) => fail(404, msg::INSTANCE_NOT_FOUND),
        other => core_fail(other),
    }
}

/// `POST /events/webhook/{instance}`.
pub(crate) fn set(req: &Request, which: &InstanceRef) -> Result<HttpResponse, HttpResponse> {
    let wanted = parse(&req.raw.body)?;
    let existing = rows(which)?;
    let previous = existing.iter().find(|r| r.label == wanted.label);
    let spec = spec_of(&wanted, previous)?;
    let enabled_others = existing
        .iter()
        .filter(|r| r.label != wanted.label && r.hook.enabled)
        .count();
    if wanted.enabled && enabled_others >= MAX_ENABLED {
        return Err(bad(&format!(
            "Maximum of {MAX_ENABLED} enabled webhooks per instance reached; disable one first"
        )));
    }
    let mut specs: Vec<WebhookSpec> = existing
        .iter()
        .filter(|r| r.label != wanted.label)
        .map(Row::spec)
        .collect();
    specs.push(spec);
    let stored = core::set_webhooks(which, &specs).map_err(|e| hook_error(&e))?;
    let row = stored
        .into_iter()
        .map(Row::from)
        .find(|r| r.label == wanted.label)
        .ok_or_else(|| fail(500, "The webhook was not stored"))?;
    let message = if !wanted.enabled {
        "Webhook disabled successfully"
    } else if previous.is_some() {
        "Webhook updated successfully"
    } else {
        "Webhook configured successfully"
    };
    Ok(ok(
        200,
        json!({ "success": true, "message": message, "webhook": row.json() }),
    ))
}

/// `GET /events/getWebhook/{instance}[?label=]`.
pub(crate) fn get(req: &Request, which: &InstanceRef) -> Result<HttpResponse, HttpResponse> {
    let rows = rows(which)?;
    match req.query("label") {
        Some(label) => {
            let label = match label.trim() {
                "" => DEFAULT_LABEL,
                l => l,
            };
            let row = rows
                .iter()
                .find(|r| r.label == label)
                .ok_or_else(|| fail(404, NOT_FOUND))?;
            Ok(ok(200, json!({ "success": true, "webhook": row.json() })))
        }
        None => Ok(ok(
            200,
            json!({
                "success": true,
                "webhooks": rows.iter().map(Row::json).collect::<Vec<_>>(),
            }),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: &HttpResponse) -> String {
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["success"], false);
        v["error"]["message"].as_str().unwrap().to_string()
    }

    #[test]
    fn names_map_to_kinds() {
        assert!(kinds_of(&[]).is_empty());
        assert_eq!(
            kinds_of(&["message.exchange".into()]),
            [
                "message_upsert",
                "message_revoked",
                "message_reaction",
                "message_edited",
                "poll_vote"
            ]
        );
        assert_eq!(
            kinds_of(&["instance.state".into(), "message.status".into()]),
            [
                "message_status",
                "connection_update",
                "qr_updated",
                "instance_deleted"
            ]
        );
        assert_eq!(kinds_of(&["call.update".into()]), ["call", "call_ended"]);
        assert_eq!(
            kinds_of(&["label.update".into()]),
            ["label_edit", "label_association"]
        );
    }

    #[test]
    fn parses_the_minimum_and_defaults_the_label() {
        let w = parse(br#"{"enabled": true, "url": "https://meuapp.com/webhook"}"#).unwrap();
        assert_eq!(w.label, "default");
        assert!(w.enabled && w.names.is_empty() && w.auth.is_empty());
        let w = parse(br#"{"enabled": false, "label": "a"}"#).unwrap();
        assert!(!w.enabled && w.url.is_none());
    }

    #[test]
    fn authorization_forms() {
        let w = parse(
            br#"{"url": "http://x", "authorization": {"type": "Bearer", "token": "svc-token-xyz"}}"#,
        )
        .unwrap();
        assert_eq!(
            w.auth,
            [("Authorization".into(), "Bearer svc-token-xyz".into())]
        );
        let w = parse(br#"{"url": "http://x", "authorization": {"X-Api-Key": "k"}}"#).unwrap();
        assert_eq!(w.auth, [("X-Api-Key".into(), "k".into())]);
        let r =
            parse(br#"{"url": "http://x", "authorization": {"x-ryze-label": "k"}}"#).unwrap_err();
        assert_eq!(r.status, 400);
    }

    #[test]
    fn refusals() {
        let r = parse(b"{").unwrap_err();
        assert!(message(&r).starts_with("Invalid request body"));
        let r = parse(br#"{"enabled": true}"#).unwrap_err();
        assert_eq!(message(&r), "URL is required");
        let r = parse(br#"{"url": "http://x", "events": ["message.nope"]}"#).unwrap_err();
        assert!(message(&r).starts_with("Invalid event: message.nope."));
        let r = parse(br#"{"url": "http://x", "byEvents": true}"#).unwrap_err();
        assert!(message(&r).starts_with("byEvents is not supported"));
        let r = parse(br#"{"url": "http://x", "events": "message.exchange"}"#).unwrap_err();
        assert_eq!(r.status, 400);
    }
}
