//! Events in Evolution's webhook envelope:
//! `{event, instance, data, destination, date_time, sender, server_url, apikey}`.
//!
//! | core event | Evolution event | data |
//! |---|---|---|
//! | instance-deleted | INSTANCE_DELETE | `{instanceName, instanceId}` (the spec's example) |
//! | instance-created | INSTANCE_CREATE | `{instanceName, instanceId}` |
//! | message-upsert | MESSAGES_UPSERT | the message as `prepareMessage` writes it |
//! | message-revoked | MESSAGES_DELETE | the message with `status: "DELETED"` |
//! | chat-updated | CHATS_UPDATE | `[{remoteJid, instanceId, archived, pinned}]` |
//! | chat-deleted | CHATS_DELETE | `[remoteJid]` |
//! | connection-update | CONNECTION_UPDATE | `{instance, state, statusReason}` |
//! | qr-updated | QRCODE_UPDATED | `{qrcode: {instance, pairingCode, code, base64}}` |
//! | message-reaction | MESSAGES_UPSERT | the reaction as its own `reactionMessage` (see reactions.rs) |
//! | poll-vote | MESSAGES_UPDATE | `{messageId, keyId, remoteJid, fromMe, participant, status, pollUpdates: [{name, voters}], instanceId}` (see polls.rs) |
//! | history-sync / history-chats | MESSAGES_SET / CHATS_SET | the new messages as raw records / `[{remoteJid, instanceId, name}]` |
//! | message-edited | MESSAGES_EDITED | the message as edited, `status: "EDITED"` |
//! | message-status | MESSAGES_UPDATE | `{messageId, keyId, remoteJid, fromMe, participant, status, instanceId}` (status `SERVER_ACK`, `DELIVERY_ACK`, `READ`, `PLAYED`) |
//! | call-ended | CALL | Baileys' `WACallEvent`, `status` `timeout` (missed) or `terminate` (taken or declined on the phone), with `reason` |
//! | label-edit | LABELS_EDIT | Baileys' `Label` `{id, name, color, deleted, predefinedId?}` with `instance` (see labels.rs) |
//! | label-association | LABELS_ASSOCIATION | `{instance, type: add\|remove, chatId, labelId}` |
//! | message-deleted (for me) | none: Evolution has no such event | |
//! | group-upsert, group-update, group-participants, contact-upsert, contact-update | GROUPS_UPSERT, GROUP_UPDATE, GROUP_PARTICIPANTS_UPDATE, CONTACTS_UPSERT, CONTACTS_UPDATE | see group_events.rs |
//!
//! Event names are upper-case by default, as the spec's INSTANCE_DELETE example shows
//! (and as Evolution's own webhook config names them); config `event_names = "dotted"`
//! gives the `instance.delete` form Evolution puts on the wire.
//!
//! Envelope fields that Evolution would leave `undefined` are omitted: `destination`
//! (config `webhook_url`), `sender` (the paired number, when the event carries it),
//! `server_url` (config `server_url`). `date_time` is the event's time (ISO-8601, UTC).
//! `apikey` is `null`: wagate keeps only hashes of instance tokens, so it never echoes
//! one (Evolution does the same with `EXPOSE_IN_FETCH_INSTANCES=false`). Config
//! `envelope = "minimal"` renders only `event`, `instance` and `data`.

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::EventPayload;

use crate::chat::{self, key_of};
use crate::qr;
use crate::util::{self, iso};

#[derive(Serialize)]
struct Envelope<'a> {
    event: String,
    instance: &'a str,
    data: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sender: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    apikey: Option<Option<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InstanceData<'a> {
    instance_name: &'a str,
    instance_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Deleted {
    id: String,
    instance_id: String,
    key: chat::Key,
    message_type: std::borrow::Cow<'static, str>,
    status: &'static str,
    source: &'static str,
    message_timestamp: u64,
    push_name: Option<String>,
    participant: Option<String>,
    message: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChatUpdate<'a> {
    remote_jid: &'a str,
    instance_id: &'a str,
    archived: bool,
    pinned: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Connection<'a> {
    instance: &'a str,
    state: &'a str,
    status_reason: u16,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QrData<'a> {
    instance: &'a str,
    pairing_code: Option<String>,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    base64: Option<String>,
}

#[derive(Serialize)]
struct QrEvent<'a> {
    qrcode: QrData<'a>,
}

/// Serialized as is (field order kept: serde_json's `Value` would sort the keys).
fn to_value<T: Serialize>(v: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(v)
        .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"))
}

/// The event's name (`INSTANCE_DELETE`) and data, and the paired number if the event
/// tells it; `None` for events Evolution does not have.
fn translate(ev: &Event) -> Option<(&'static str, Box<RawValue>, Option<String>)> {
    Some(match &ev.payload {
        EventPayload::InstanceDeleted(i) => (
            "INSTANCE_DELETE",
            to_value(&InstanceData {
                instance_name: &i.name,
                instance_id: &i.id,
            }),
            i.owner_jid.clone(),
        ),
        EventPayload::InstanceCreated(i) => (
            "INSTANCE_CREATE",
            to_value(&InstanceData {
                instance_name: &i.name,
                instance_id: &i.id,
            }),
            i.owner_jid.clone(),
        ),
        EventPayload::MessageUpsert(m) => (
            "MESSAGES_UPSERT",
            to_value(&{
                let mut raw = chat::raw(m, &ev.instance_id);
                // Evolution's `webhookBase64`: the bytes beside the media message.
                if let (Some(b64), Value::Object(message)) = (
                    crate::webhook::inline_media(m, &ev.instance_id),
                    &mut raw.message,
                ) {
                    message.insert("base64".into(), Value::String(b64));
                }
                raw
            }),
            m.from_me.then(|| m.sender.clone()),
        ),
        EventPayload::MessageRevoked(m) => {
            let raw = chat::raw(m, &ev.instance_id);
            let key = key_of(m);
            (
                "MESSAGES_DELETE",
                to_value(&Deleted {
                    id: m.id.clone(),
                    instance_id: ev.instance_id.clone(),
                    participant: key.participant.clone(),
                    key,
                    message_type: raw.message_type,
                    status: "DELETED",
                    source: raw.source,
                    message_timestamp: raw.message_timestamp,
                    push_name: raw.push_name,
                    message: raw.message,
                }),
                m.from_me.then(|| m.sender.clone()),
            )
        }
        // Evolution downloads media on demand (getBase64FromMediaMessage): no event says
        // the bytes arrived.
        EventPayload::MessageDeleted(_) | EventPayload::MessageMedia(_) => return None,
        EventPayload::ChatUpdated(c) => (
            "CHATS_UPDATE",
            to_value(&[ChatUpdate {
                remote_jid: &c.jid,
                instance_id: &ev.instance_id,
                archived: c.archived,
                pinned: c.pinned,
            }]),
            None,
        ),
        EventPayload::ChatDeleted(jid) => ("CHATS_DELETE", to_value(&[jid]), None),
        EventPayload::ConnectionUpdate(state) => (
            "CONNECTION_UPDATE",
            to_value(&Connection {
                instance: &ev.instance_name,
                state: util::state(*state),
                // Baileys' DisconnectReason: 200 while up, 428 connectionClosed.
                status_reason: match state {
                    ConnectionState::Open | ConnectionState::Connecting => 200,
                    ConnectionState::Closed | ConnectionState::Disconnected => 428,
                },
            }),
            None,
        ),
        EventPayload::MessageStatus(m) => (
            "MESSAGES_UPDATE",
            to_value(&crate::receipts::update(m, &ev.instance_id)),
            None,
        ),
        EventPayload::MessageReaction(u) => (
            "MESSAGES_UPSERT",
            to_value(&crate::reactions::raw(
                u,
                &ev.instance_id,
                if u.reaction.from_me {
                    "SERVER_ACK"
                } else {
                    "DELIVERY_ACK"
                },
            )),
            u.reaction.from_me.then(|| u.reaction.sender.clone()),
        ),
        // As Evolution's `messages.update` with `pollUpdates` (see polls.rs).
        EventPayload::PollVote(u) => (
            "MESSAGES_UPDATE",
            to_value(&crate::polls::update(&u.message, &ev.instance_id)?),
            None,
        ),
        EventPayload::MessageEdited(m) => (
            "MESSAGES_EDITED",
            to_value(&crate::edits::edited(m, &ev.instance_id)),
            m.from_me.then(|| m.sender.clone()),
        ),
        EventPayload::Call(c) => ("CALL", to_value(&call(c)), None),
        EventPayload::CallEnded(c) => ("CALL", to_value(&call_end(c)), None),
        EventPayload::PresenceUpdate(u) => ("PRESENCE_UPDATE", to_value(&presence(u)), None),
        // Evolution's `messaging-history.set`: first the chats it did not have, as
        // `chatsRaw` (`{remoteJid, instanceId, name}`)...
        EventPayload::HistoryChats(cs) => (
            "CHATS_SET",
            to_value(
                &cs.iter()
                    .map(|c| {
                        serde_json::json!({
                            "remoteJid": c.jid,
                            "instanceId": ev.instance_id,
                            "name": c.name,
                        })
                    })
                    .collect::<Vec<_>>(),
            ),
            None,
        ),
        // ... then the chunk's new messages as raw records.
        EventPayload::HistorySync(ms) => (
            "MESSAGES_SET",
            to_value(
                &ms.iter()
                    .map(|m| chat::raw(m, &ev.instance_id))
                    .collect::<Vec<_>>(),
            ),
            None,
        ),
        EventPayload::GroupUpsert(g) => (
            "GROUPS_UPSERT",
            to_value(&[crate::group::metadata(g)]),
            None,
        ),
        EventPayload::GroupUpdate(u) => (
            "GROUP_UPDATE",
            to_value(&crate::group_events::group_update(u)?),
            None,
        ),
        EventPayload::GroupParticipants(u) => (
            "GROUP_PARTICIPANTS_UPDATE",
            to_value(&crate::group_events::participants_update(u)),
            None,
        ),
        EventPayload::ContactUpsert(c) => (
            "CONTACTS_UPSERT",
            to_value(&crate::group_events::contact(c, &ev.instance_id)),
            None,
        ),
        EventPayload::ContactUpdate(c) => (
            "CONTACTS_UPDATE",
            to_value(&crate::group_events::contact(c, &ev.instance_id)),
            None,
        ),
        EventPayload::LabelEdit(l) => (
            "LABELS_EDIT",
            to_value(&crate::labels::edit_event(l, &ev.instance_name)),
            None,
        ),
        EventPayload::LabelAssociation(a) => (
            "LABELS_ASSOCIATION",
            to_value(&crate::labels::association_event(a, &ev.instance_name)),
            None,
        ),
        EventPayload::QrUpdated(code) => (
            "QRCODE_UPDATED",
            to_value(&QrEvent {
                qrcode: QrData {
                    instance: &ev.instance_name,
                    pairing_code: None,
                    code,
                    base64: qr::data_url(code),
                },
            }),
            None,
        ),
    })
}

/// Baileys' `presence.update` payload: `{id: chat, presences: {jid: {lastKnownPresence,
/// lastSeen?}}}` (`lastSeen` in Unix seconds).
fn presence(u: &wagate_plugin_sdk::types::PresenceUpdate) -> Value {
    use wagate_plugin_sdk::types::PresenceState as P;
    let state = match u.presence {
        P::Available => "available",
        P::Unavailable => "unavailable",
        P::Composing => "composing",
        P::Recording => "recording",
        P::Paused => "paused",
    };
    let mut entry = serde_json::json!({ "lastKnownPresence": state });
    if let Some(ms) = u.last_seen {
        entry["lastSeen"] = (ms / 1000).into();
    }
    let mut presences = serde_json::Map::new();
    presences.insert(u.jid.clone(), entry);
    serde_json::json!({ "id": u.chat.as_deref().unwrap_or(&u.jid), "presences": presences })
}

/// Baileys' `WACallEvent` for an offered call, as Evolution forwards it.
fn call(c: &wagate_plugin_sdk::types::CallReport) -> Value {
    let mut v = serde_json::json!({
        "chatId": c.from,
        "from": c.from,
        "isGroup": c.group_jid.is_some(),
        "id": c.id,
        "date": iso(c.timestamp),
        "isVideo": c.video,
        "status": "offer",
        "offline": c.offline,
    });
    if let Some(group) = &c.group_jid {
        v["groupJid"] = group.as_str().into();
    }
    v
}

/// Baileys' `WACallEvent` for a call's end: `status` `timeout` for a missed call,
/// `terminate` for one the phone took or declined (Baileys' statuses; wagate's reason
/// rides along as `reason`).
fn call_end(c: &wagate_plugin_sdk::types::CallEnd) -> Value {
    use wagate_plugin_sdk::types::CallEndReason;
    serde_json::json!({
        "chatId": c.from,
        "from": c.from,
        "id": c.id,
        "date": iso(c.timestamp),
        "status": if c.reason == CallEndReason::Missed { "timeout" } else { "terminate" },
        "reason": wagate_plugin_sdk::call_end_reason(c.reason),
        "offline": false,
    })
}

/// `INSTANCE_DELETE` -> `instance.delete` (Evolution's `Events` enum values; the two
/// group events' values do not follow the pattern).
pub(crate) fn dotted(name: &str) -> String {
    match name {
        "GROUP_UPDATE" => "groups.update".into(),
        "GROUP_PARTICIPANTS_UPDATE" => "group-participants.update".into(),
        _ => name.to_ascii_lowercase().replacen('_', ".", 1),
    }
}

/// The webhook body of `ev`, or `None` when Evolution has no such event.
pub(crate) fn render(ev: &Event) -> Option<Vec<u8>> {
    let (name, data, sender) = translate(ev)?;
    let event = match util::setting("event_names").as_deref() {
        Some("dotted") => dotted(name),
        _ => name.to_string(),
    };
    let minimal = util::setting("envelope").as_deref() == Some("minimal");
    let envelope = if minimal {
        Envelope {
            event,
            instance: &ev.instance_name,
            data,
            destination: None,
            date_time: None,
            sender: None,
            server_url: None,
            apikey: None,
        }
    } else {
        Envelope {
            event,
            instance: &ev.instance_name,
            data,
            destination: util::setting("webhook_url"),
            date_time: Some(iso(ev.timestamp)),
            sender,
            server_url: util::setting("server_url"),
            apikey: Some(None),
        }
    };
    serde_json::to_vec(&envelope).ok()
}

/// The Socket.IO message of `ev`, as Evolution's websocket integration emits it:
/// `{event, instance, data, server_url, date_time, sender, apikey}` with the dotted
/// event name (`messages.upsert`), which is also the name the host emits it under
/// (Evolution uses the same string for both). Unlike the webhook body it never carries
/// `destination`, and its names do not follow `event_names` (that setting is the
/// webhook's). `apikey` is `null` as in the webhook body; `server_url` and `sender` are
/// omitted when unknown, as Evolution leaves them `undefined`.
pub(crate) fn render_socketio(ev: &Event) -> Option<Vec<u8>> {
    let (name, data, sender) = translate(ev)?;
    let envelope = Envelope {
        event: dotted(name),
        instance: &ev.instance_name,
        data,
        destination: None,
        date_time: Some(iso(ev.timestamp)),
        sender,
        server_url: util::setting("server_url"),
        apikey: Some(None),
    };
    serde_json::to_vec(&envelope).ok()
}
