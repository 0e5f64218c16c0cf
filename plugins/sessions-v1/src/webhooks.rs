//! `GET` and `PUT /sessions/{sid}/webhooks`: the session's webhooks set through this
//! dialect, on core's typed webhooks. Both need `manage` (webhooks hold signing
//! secrets); another organisation's session is `not_found`.
//!
//! `PUT` replaces the whole set: `{"webhooks": [{url, events?, headers?, enabled?,
//! secret?}]}` (at most 10 per session over every dialect; `[]` removes them all).
//! Both answer the list envelope `{"data": [Webhook], "nextCursor": null}` where a
//! Webhook is `{id, url, events, headers, enabled, secret, createdAt}`.
//!
//! Deliveries carry the v1 envelope (`events.rs`), signed with HMAC-SHA256 under the
//! webhook's `secret` (generated when none is given). `events` uses the v1 names of
//! the envelope's `event`; empty or absent means every event:
//!
//! | v1 event | core kind |
//! |---|---|
//! | message, message.from_me | message_upsert |
//! | message.revoked | message_revoked |
//! | message.deleted | message_deleted |
//! | message.ack | message_status |
//! | message.reaction | message_reaction |
//! | message.edited | message_edited |
//! | message.poll_vote | poll_vote |
//! | chat.history | history_chats |
//! | call.ended | call_ended |
//! | chat.deleted | chat_deleted |
//! | chat.update | chat_updated |
//! | session.status | connection_update |
//! | auth.qr | qr_updated |
//! | session.created | instance_created |
//! | session.deleted | instance_deleted |
//! | call.received | call |
//! | presence.update | presence_update |
//! | message.history | history_sync |
//! | group.joined | group_upsert |
//! | group.update | group_update |
//! | group.participants | group_participants |
//! | contact.upsert | contact_upsert |
//! | contact.update | contact_update |
//! | label.edit | label_edit |
//! | label.association | label_association |
//!
//! Core filters by kind, so `message` and `message.from_me` go together: naming either
//! subscribes to both, and the answer lists both.

use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{Webhook, WebhookSpec};

use crate::api::{Cap, Within, body_object, checked, core_failure, session_ref, sid};
use crate::render::{self, validation};

/// (v1 event name, core kind), in the order answers list them.
pub(crate) const EVENTS: [(&str, &str); 26] = [
    ("message", "message_upsert"),
    ("message.from_me", "message_upsert"),
    ("message.revoked", "message_revoked"),
    ("message.deleted", "message_deleted"),
    ("message.ack", "message_status"),
    ("message.reaction", "message_reaction"),
    ("message.edited", "message_edited"),
    ("message.poll_vote", "poll_vote"),
    ("chat.deleted", "chat_deleted"),
    ("chat.update", "chat_updated"),
    ("session.status", "connection_update"),
    ("auth.qr", "qr_updated"),
    ("session.created", "instance_created"),
    ("session.deleted", "instance_deleted"),
    ("call.received", "call"),
    ("call.ended", "call_ended"),
    ("presence.update", "presence_update"),
    ("message.history", "history_sync"),
    ("chat.history", "history_chats"),
    ("group.joined", "group_upsert"),
    ("group.update", "group_update"),
    ("group.participants", "group_participants"),
    ("contact.upsert", "contact_upsert"),
    ("contact.update", "contact_update"),
    ("label.edit", "label_edit"),
    ("label.association", "label_association"),
];

/// Most webhooks one `PUT` may carry (core's per-instance cap).
const MAX_HOOKS: usize = 10;

/// One webhook in the v1 shape.
pub(crate) fn webhook(w: &Webhook) -> Value {
    let events: Vec<&str> = EVENTS
        .iter()
        .filter(|(_, kind)| w.events.iter().any(|k| k == kind))
        .map(|(name, _)| *name)
        .collect();
    let headers: Map<String, Value> = w
        .headers
        .iter()
        .map(|h| (h.name.clone(), Value::String(h.value.clone())))
        .collect();
    json!({
        "id": w.id,
        "url": w.url,
        "events": events,
        "headers": headers,
        "enabled": w.enabled,
        "secret": w.secret,
        "createdAt": w.created_at,
    })
}

/// Reads the `PUT` body; `fields` collects what is wrong, keyed by JSON path.
pub(crate) fn parse(body: &Map<String, Value>) -> Result<Vec<WebhookSpec>, Map<String, Value>> {
    let mut fields = Map::new();
    for k in body.keys() {
        if k != "webhooks" {
            fields.insert(k.clone(), json!("unknown field"));
        }
    }
    let list = match body.get("webhooks") {
        Some(Value::Array(list)) => list.as_slice(),
        _ => {
            fields.insert(
                "webhooks".into(),
                json!("required, an array of webhooks (empty removes them all)"),
            );
            return Err(fields);
        }
    };
    if list.len() > MAX_HOOKS {
        fields.insert(
            "webhooks".into(),
            json!(format!("at most {MAX_HOOKS} webhooks")),
        );
    }
    let mut specs = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let at = |k: &str| format!("webhooks[{i}].{k}");
        let Value::Object(o) = item else {
            fields.insert(format!("webhooks[{i}]"), json!("must be an object"));
            continue;
        };
        for k in o.keys() {
            if !["url", "events", "headers", "enabled", "secret"].contains(&k.as_str()) {
                fields.insert(at(k), json!("unknown field"));
            }
        }
        let url = match o.get("url") {
            Some(Value::String(u)) if u.starts_with("http://") || u.starts_with("https://") => {
                u.clone()
            }
            _ => {
                fields.insert(at("url"), json!("required, an http:// or https:// URL"));
                String::new()
            }
        };
        let mut kinds: Vec<String> = Vec::new();
        match o.get("events") {
            None | Some(Value::Null) => {}
            Some(Value::Array(names)) => {
                for (j, n) in names.iter().enumerate() {
                    match n
                        .as_str()
                        .and_then(|n| EVENTS.iter().find(|(name, _)| *name == n))
                    {
                        Some((_, kind)) => {
                            if !kinds.iter().any(|k| k == kind) {
                                kinds.push(kind.to_string());
                            }
                        }
                        None => {
                            let known: Vec<&str> = EVENTS.iter().map(|(n, _)| *n).collect();
                            fields.insert(
                                format!("webhooks[{i}].events[{j}]"),
                                json!(format!("unknown event; known: {}", known.join(", "))),
                            );
                        }
                    }
                }
            }
            Some(_) => {
                fields.insert(at("events"), json!("must be an array of event names"));
            }
        }
        let mut headers = Vec::new();
        match o.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (name, v) in map {
                    let ok_name = !name.is_empty()
                        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                    match v.as_str() {
                        Some(v) if ok_name && !v.chars().any(char::is_control) => {
                            headers.push(header(name, v));
                        }
                        _ => {
                            fields.insert(
                                format!("webhooks[{i}].headers.{name}"),
                                json!("a header name (letters, digits, -) with a string value"),
                            );
                        }
                    }
                }
            }
            Some(_) => {
                fields.insert(at("headers"), json!("must be an object of strings"));
            }
        }
        let enabled = match o.get("enabled") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                fields.insert(at("enabled"), json!("must be a boolean"));
                true
            }
        };
        let secret = match o.get("secret") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if (16..=256).contains(&s.len()) => Some(s.clone()),
            Some(_) => {
                fields.insert(at("secret"), json!("a string of 16 to 256 characters"));
                None
            }
        };
        specs.push(WebhookSpec {
            url,
            events: kinds,
            headers,
            enabled,
            secret,
        });
    }
    if fields.is_empty() {
        Ok(specs)
    } else {
        Err(fields)
    }
}

fn list(hooks: &[Webhook]) -> HttpResponse {
    json(
        200,
        &render::page(hooks.iter().map(webhook).collect(), None),
    )
}

pub(crate) fn get_webhooks(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    match core::get_webhooks(&session_ref(&sid)) {
        Ok(hooks) => list(&hooks),
        Err(e) => core_failure(req, e, &sid, Cap::Manage, Within::Session),
    }
}

pub(crate) fn put_webhooks(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let invalid = |r| checked(req, &sid, Cap::Manage, Within::Session, r);
    let body = match body_object(req, false) {
        Ok(o) => o,
        Err(r) => return invalid(r),
    };
    let specs = match parse(&body) {
        Ok(specs) => specs,
        Err(fields) => {
            return invalid(validation("request body is invalid", Value::Object(fields)));
        }
    };
    match core::set_webhooks(&session_ref(&sid), &specs) {
        Ok(hooks) => list(&hooks),
        Err(e) => core_failure(req, e, &sid, Cap::Manage, Within::Session),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn parses_names_into_kinds() {
        let specs = parse(&obj(json!({"webhooks": [
            {"url": "https://x.example/h", "events": ["message.from_me", "session.deleted", "message"],
             "headers": {"x-tenant": "acme"}, "secret": "0123456789abcdef"}
        ]})))
        .unwrap();
        assert_eq!(specs[0].events, ["message_upsert", "instance_deleted"]);
        assert_eq!(specs[0].headers[0].name, "x-tenant");
        assert!(specs[0].enabled);
        assert_eq!(specs[0].secret.as_deref(), Some("0123456789abcdef"));
        assert!(parse(&obj(json!({"webhooks": []}))).unwrap().is_empty());
    }

    #[test]
    fn collects_every_problem() {
        let fields = parse(&obj(json!({"webhooks": [
            {"url": "ftp://x", "events": ["MESSAGES_UPSERT"], "enabled": "yes", "secret": "short", "extra": 1}
        ], "more": true})))
        .unwrap_err();
        for k in [
            "more",
            "webhooks[0].url",
            "webhooks[0].events[0]",
            "webhooks[0].enabled",
            "webhooks[0].secret",
            "webhooks[0].extra",
        ] {
            assert!(fields.contains_key(k), "{k}: {fields:?}");
        }
        let fields = parse(&obj(json!({}))).unwrap_err();
        assert!(fields.contains_key("webhooks"));
    }

    #[test]
    fn answers_in_v1_names() {
        let w = Webhook {
            id: "wh_1".into(),
            url: "http://x".into(),
            events: vec!["message_upsert".into(), "instance_deleted".into()],
            headers: vec![header("x-a", "b")],
            enabled: true,
            secret: "s".into(),
            created_at: 5,
        };
        let v = webhook(&w);
        assert_eq!(
            v["events"],
            json!(["message", "message.from_me", "session.deleted"])
        );
        assert_eq!(v["headers"], json!({"x-a": "b"}));
        assert_eq!(v["createdAt"], 5);
    }
}
