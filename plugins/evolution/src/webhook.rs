//! `POST /webhook/set/{instanceName}` and `GET /webhook/find/{instanceName}`, on core's
//! typed webhooks (one per instance for this dialect, as in Evolution). Deliveries go
//! through the bundled webhook sink with bodies from this dialect's `render-event`.
//!
//! Evolution's event names map onto core's event kinds:
//!
//! | Evolution | core |
//! |---|---|
//! | QRCODE_UPDATED | qr_updated |
//! | MESSAGES_UPSERT | message_upsert, message_reaction |
//! | MESSAGES_DELETE | message_revoked |
//! | MESSAGES_UPDATE | message_status, poll_vote |
//! | MESSAGES_EDITED | message_edited |
//! | CHATS_UPDATE | chat_updated |
//! | CHATS_DELETE | chat_deleted |
//! | CONNECTION_UPDATE | connection_update |
//! | INSTANCE_CREATE | instance_created |
//! | INSTANCE_DELETE | instance_deleted |
//! | CALL | call, call_ended |
//! | PRESENCE_UPDATE | presence_update |
//! | MESSAGES_SET | history_sync |
//! | CHATS_SET | history_chats |
//! | GROUPS_UPSERT | group_upsert |
//! | GROUP_UPDATE | group_update |
//! | GROUP_PARTICIPANTS_UPDATE | group_participants |
//! | CONTACTS_UPSERT | contact_upsert |
//! | CONTACTS_UPDATE | contact_update |
//! | LABELS_EDIT | label_edit |
//! | LABELS_ASSOCIATION | label_association |
//!
//! Evolution's other names are accepted (they are valid there) but wagate never emits
//! them. Not supported, and refused rather than ignored: `byEvents: true` (Evolution
//! posts each event to `url/<event-name>`; wagate posts to the one URL) and a
//! `jwt_key` header (Evolution signs a JWT with it; wagate signs every delivery with
//! HMAC-SHA256, see the README). `base64: true` (Evolution's `webhookBase64`) puts a
//! media message's bytes, base64, in `data.message.base64` of MESSAGES_UPSERT (on
//! every transport, as Evolution does: it sets it on the message before emitting),
//! when the bytes are stored and at most [`wagate_plugin_sdk::media::MAX_INLINE_BYTES`]; the switch is kept in
//! this plugin's storage of the instance.

use serde::Serialize;
use serde_json::{Map, Value};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{Webhook, WebhookSpec};

use crate::input::{self, bad};
use crate::shape::Style;
use crate::util::iso;
use crate::{Cap, Reply, core_error, guard};

/// Every event name Evolution's webhook config accepts (its `EventController.events`).
pub(crate) const EVOLUTION_EVENTS: [&str; 31] = [
    "APPLICATION_STARTUP",
    "QRCODE_UPDATED",
    "MESSAGES_SET",
    "MESSAGES_UPSERT",
    "MESSAGES_EDITED",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "SEND_MESSAGE",
    "SEND_MESSAGE_UPDATE",
    "CONTACTS_SET",
    "CONTACTS_UPSERT",
    "CONTACTS_UPDATE",
    "PRESENCE_UPDATE",
    "CHATS_SET",
    "CHATS_UPSERT",
    "CHATS_UPDATE",
    "CHATS_DELETE",
    "GROUPS_UPSERT",
    "GROUP_UPDATE",
    "GROUP_PARTICIPANTS_UPDATE",
    "CONNECTION_UPDATE",
    "LABELS_EDIT",
    "LABELS_ASSOCIATION",
    "CALL",
    "TYPEBOT_START",
    "TYPEBOT_CHANGE_STATUS",
    "REMOVE_INSTANCE",
    "LOGOUT_INSTANCE",
    "INSTANCE_CREATE",
    "INSTANCE_DELETE",
    "STATUS_INSTANCE",
];

/// (Evolution name, core kind).
const KINDS: [(&str, &str); 24] = [
    ("QRCODE_UPDATED", "qr_updated"),
    ("MESSAGES_UPSERT", "message_upsert"),
    // Evolution stores a reaction as a message of its own (`reactionMessage`).
    ("MESSAGES_UPSERT", "message_reaction"),
    ("MESSAGES_DELETE", "message_revoked"),
    ("MESSAGES_UPDATE", "message_status"),
    // Evolution's `messages.update` carries poll votes too (`pollUpdates`).
    ("MESSAGES_UPDATE", "poll_vote"),
    ("MESSAGES_EDITED", "message_edited"),
    ("CHATS_UPDATE", "chat_updated"),
    ("CHATS_DELETE", "chat_deleted"),
    ("CONNECTION_UPDATE", "connection_update"),
    ("INSTANCE_CREATE", "instance_created"),
    ("INSTANCE_DELETE", "instance_deleted"),
    ("CALL", "call"),
    ("CALL", "call_ended"),
    ("PRESENCE_UPDATE", "presence_update"),
    ("MESSAGES_SET", "history_sync"),
    ("CHATS_SET", "history_chats"),
    ("GROUPS_UPSERT", "group_upsert"),
    ("GROUP_UPDATE", "group_update"),
    ("GROUP_PARTICIPANTS_UPDATE", "group_participants"),
    ("CONTACTS_UPSERT", "contact_upsert"),
    ("CONTACTS_UPDATE", "contact_update"),
    ("LABELS_EDIT", "label_edit"),
    ("LABELS_ASSOCIATION", "label_association"),
];

/// A kind this dialect never renders: stands for "only events wagate does not emit"
/// (core reads an empty list as "all").
const NOTHING: &str = "message_deleted";

/// Core event kinds for Evolution's `events` list (`what` names it in messages):
/// empty for none or an empty list (every event); a list naming only events wagate
/// never emits gets [`NOTHING`]. Shared by the webhook and the websocket settings.
pub(crate) fn kinds_of(events: Option<&Value>, what: &str) -> Result<Vec<String>, HttpResponse> {
    let mut kinds = Vec::new();
    let mut named = false;
    match events {
        None => {}
        Some(Value::Array(list)) => {
            for (i, e) in list.iter().enumerate() {
                let name = e.as_str().filter(|n| EVOLUTION_EVENTS.contains(n));
                let Some(name) = name else {
                    return Err(bad(&format!(
                        "{what}[{i}] is not one of enum values: {}",
                        EVOLUTION_EVENTS.join(",")
                    )));
                };
                named = true;
                for (_, kind) in KINDS.iter().filter(|(n, _)| *n == name) {
                    if !kinds.iter().any(|k| k == kind) {
                        kinds.push(kind.to_string());
                    }
                }
            }
        }
        Some(_) => return Err(bad(&format!("{what} is not of a type(s) array"))),
    }
    if named && kinds.is_empty() {
        kinds.push(NOTHING.to_string());
    }
    Ok(kinds)
}

/// Evolution's names for stored kinds, as its rows list them: none when disabled,
/// every name for "all kinds" (empty).
pub(crate) fn names_of(enabled: bool, kinds: &[String]) -> Vec<&'static str> {
    if !enabled {
        Vec::new()
    } else if kinds.is_empty() {
        EVOLUTION_EVENTS.to_vec()
    } else {
        // One Evolution name may stand for several kinds (MESSAGES_UPSERT): listed once.
        let mut names: Vec<&'static str> = Vec::new();
        for (name, _) in KINDS.iter().filter(|(_, k)| kinds.iter().any(|e| e == k)) {
            if !names.contains(name) {
                names.push(name);
            }
        }
        names
    }
}

/// Evolution's stored webhook row.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    id: String,
    url: String,
    headers: Value,
    enabled: bool,
    events: Vec<&'static str>,
    webhook_by_events: bool,
    webhook_base64: bool,
    created_at: String,
    updated_at: String,
    instance_id: String,
    /// wagate's: the HMAC-SHA256 key its deliveries are signed with.
    secret: String,
}

/// The storage key of the instance's `base64` switch.
const BASE64_KEY: &str = "webhook_base64";

/// Evolution's `webhook` object: core's spec and the `base64` switch, which core's
/// webhooks do not know.
pub(crate) struct HookInput {
    spec: WebhookSpec,
    base64: bool,
}

/// Whether the instance's webhook asked for media bytes in its events.
pub(crate) fn base64_enabled(instance_id: &str) -> bool {
    wagate_plugin_sdk::storage::get(instance_id, BASE64_KEY)
        .ok()
        .flatten()
        .is_some()
}

/// The base64 of `m`'s media for its MESSAGES_UPSERT, when the instance asked for it
/// and the bytes are stored and small enough (the SDK's rule, shared with RyzeAPI's
/// `mediaBase64`; larger files: `getBase64FromMediaMessage` serves any size).
pub(crate) fn inline_media(m: &Message, instance_id: &str) -> Option<String> {
    if m.media.is_none() || !base64_enabled(instance_id) {
        return None;
    }
    wagate_plugin_sdk::media::inline_base64(instance_id, m)
}

fn row(w: Webhook, instance_id: &str) -> Row {
    let events = names_of(w.enabled, &w.events);
    let headers: Map<String, Value> = w
        .headers
        .into_iter()
        .map(|h| (h.name, Value::String(h.value)))
        .collect();
    Row {
        id: w.id,
        url: w.url,
        headers: Value::Object(headers),
        enabled: w.enabled,
        events,
        webhook_by_events: false,
        webhook_base64: base64_enabled(instance_id),
        created_at: iso(w.created_at),
        updated_at: iso(w.created_at),
        instance_id: instance_id.to_string(),
        secret: w.secret,
    }
}

/// Reads Evolution's `webhook` object (`{enabled, url, headers?, byEvents?, base64?,
/// events?}`) into core's spec and the `base64` switch. `prefix` names the object in
/// messages (`webhook`).
pub(crate) fn spec(
    v: &Value,
    prefix: &str,
    default_enabled: Option<bool>,
) -> Result<HookInput, HttpResponse> {
    let path = |k: &str| format!("{prefix}.{k}");
    let enabled = match default_enabled {
        Some(d) => input::opt_bool(v, &path("enabled"))?.unwrap_or(d),
        None => input::req_bool(v, &path("enabled"))?,
    };
    let url = input::req_str(v, &path("url"))?;
    if input::opt_bool(v, &path("byEvents"))? == Some(true) {
        return Err(bad(&format!(
            "{} is not supported: wagate posts every event to the one url",
            path("byEvents")
        )));
    }
    let base64 = input::opt_bool(v, &path("base64"))?.unwrap_or(false);
    let lookup = |k: &str| {
        prefix
            .split('.')
            .chain([k])
            .try_fold(v, |v, k| v.get(k))
            .filter(|v| !v.is_null())
    };
    let mut headers = Vec::new();
    match lookup("headers") {
        None => {}
        Some(Value::Object(map)) => {
            for (k, val) in map {
                if k.eq_ignore_ascii_case("jwt_key") {
                    return Err(bad(&format!(
                        "{}.jwt_key is not supported: wagate signs deliveries with HMAC-SHA256",
                        path("headers")
                    )));
                }
                let value = match val {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                headers.push(header(k, &value));
            }
        }
        Some(_) => {
            return Err(bad(&format!(
                "{} is not of a type(s) object",
                path("headers")
            )));
        }
    }
    let kinds = kinds_of(lookup("events"), &path("events"))?;
    Ok(HookInput {
        spec: WebhookSpec {
            url,
            events: kinds,
            headers,
            enabled,
            secret: None,
        },
        base64,
    })
}

/// Replaces this dialect's webhook of the instance; the answer in Evolution's row shape.
pub(crate) fn apply(instance: &Instance, input: HookInput) -> Result<Value, HttpResponse> {
    let set = core::set_webhooks(&InstanceRef::Id(instance.id.clone()), &[input.spec])
        .map_err(|e| core_error(&e))?;
    let stored = if input.base64 {
        wagate_plugin_sdk::storage::set(&instance.id, BASE64_KEY, b"1")
    } else {
        wagate_plugin_sdk::storage::delete(&instance.id, BASE64_KEY)
    };
    stored.map_err(|e| crate::shape::evolution_msg(500, &e))?;
    let hook = set
        .into_iter()
        .next()
        .ok_or_else(|| crate::shape::evolution_msg(500, "the webhook was not stored"))?;
    serde_json::to_value(row(hook, &instance.id))
        .map_err(|e| crate::shape::evolution_msg(500, &e.to_string()))
}

// ---- POST /webhook/set/{instanceName} ---------------------------------------------

pub(crate) fn set(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let body = input::body(req)?;
    if body.get("webhook").is_none_or(Value::is_null) {
        return Err(bad("instance requires property \"webhook\""));
    }
    let spec = spec(&body, "webhook", None)?;
    let row = apply(&instance, spec)?;
    Ok(json(201, &row))
}

// ---- GET /webhook/find/{instanceName} ---------------------------------------------

pub(crate) fn find(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let hooks =
        core::get_webhooks(&InstanceRef::Id(instance.id.clone())).map_err(|e| core_error(&e))?;
    Ok(match hooks.into_iter().next() {
        Some(w) => json(200, &row(w, &instance.id)),
        None => json(200, &Value::Null),
    })
}
