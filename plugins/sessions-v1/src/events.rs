//! Events in the sessions/v1 envelope:
//! `{schema:"v1", id:"evt_…", event, session, organization, timestamp, payload}`.
//!
//! | core event | `event` | `payload` |
//! |---|---|---|
//! | message-upsert | `message` / `message.from_me` | message fields |
//! | message-revoked | `message.revoked` | message fields + `targetId` |
//! | message-deleted | `message.deleted` | `{chatJid, targetId}` |
//! | message-reaction | `message.reaction` | `{waMessageId, chatJid, reactionId, senderJid, fromMe, emoji, timestamp}` |
//! | poll-vote | `message.poll_vote` | `{waMessageId, chatJid, voteId, voterJid, options, error, timestamp, results: [{option, votes, voters}]}` |
//! | message-edited | `message.edited` | message fields (the new text as `body`) |
//! | message-status | `message.ack` | `{waMessageId, chatJid, fromMe, status, timestamp}` (`status`: `sent`, `delivered`, `read`, `played`) |
//! | history-chats | `chat.history` | `{chats: [...]}` (each as `GET /chats` lists it): the chats a history sync brought |
//! | chat-deleted | `chat.deleted` | `{chatJid}` |
//! | chat-updated | `chat.update` | `{chatJid, change:"settings", archived, pinned, mutedUntil}` |
//! | connection-update | `session.status` | `{status}` |
//! | qr-updated | `auth.qr` | `{code}` |
//! | instance-created | `session.created` | the session |
//! | instance-deleted | `session.deleted` | the session |
//! | call-ended | `call.ended` | `{id, from, reason, timestamp}` (`reason`: `missed`, `accepted_elsewhere`, `rejected_elsewhere`) |
//! | group-upsert | `group.joined` | the group (as `GET /groups/{gid}` answers it) |
//! | group-update | `group.update` | `{groupJid, author, change, value, timestamp, group}` (`change`: `subject`, `description`, `announcement`, `locked`, `ephemeralSeconds`, `approval`) |
//! | group-participants | `group.participants` | `{groupJid, author, action, participants: [{id, phoneNumber}], timestamp, group}` |
//! | label-edit | `label.edit` | `{id, name, color, predefinedId, deleted}` |
//! | label-association | `label.association` | `{labelId, chatJid, labeled, timestamp}` |
//! | contact-upsert / contact-update | `contact.upsert` / `contact.update` | the contact (as `GET /contacts` lists it) |

use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::EventPayload;

use crate::render;

fn message_payload(m: &Message) -> Value {
    json!({
        "waMessageId": m.id,
        "chatJid": m.chat_jid,
        "chatJidAlt": m.chat_jid_alt,
        "senderJid": m.sender,
        "senderJidAlt": m.sender_alt,
        "fromMe": m.from_me,
        "type": if m.revoked {
            "revoke"
        } else if let Some(c) = &m.content {
            wagate_plugin_sdk::content_json(c).0
        } else if m.media.is_some() {
            "media"
        } else {
            "text"
        },
        "body": m.text,
        "hasMedia": m.media.is_some(),
        "timestamp": m.timestamp,
        "status": render::delivery_status(m),
    })
}

/// The event's name and payload.
fn name_and_payload(p: &EventPayload) -> (&'static str, Value) {
    match p {
        EventPayload::MessageUpsert(m) => (
            if m.from_me {
                "message.from_me"
            } else {
                "message"
            },
            message_payload(m),
        ),
        EventPayload::MessageRevoked(m) => {
            let mut v = message_payload(m);
            v["targetId"] = json!(m.id);
            ("message.revoked", v)
        }
        EventPayload::MessageMedia(m) => ("message.media", message_payload(m)),
        EventPayload::MessageEdited(m) => ("message.edited", message_payload(m)),
        EventPayload::MessageDeleted(m) => (
            "message.deleted",
            json!({ "chatJid": m.chat_jid, "targetId": m.id }),
        ),
        EventPayload::MessageStatus(m) => (
            "message.ack",
            json!({
                "waMessageId": m.id,
                "chatJid": m.chat_jid,
                "fromMe": m.from_me,
                "status": render::delivery_status(m),
                "timestamp": m.timestamp,
            }),
        ),
        EventPayload::MessageReaction(u) => ("message.reaction", crate::reactions::event(u)),
        EventPayload::PollVote(u) => (
            "message.poll_vote",
            json!({
                "waMessageId": u.message.id,
                "chatJid": u.message.chat_jid,
                "voteId": u.vote.id,
                "voterJid": u.vote.voter,
                "options": u.vote.options,
                "error": u.vote.error,
                "timestamp": u.vote.timestamp,
                "results": wagate_plugin_sdk::poll_results_json(&u.message),
            }),
        ),
        EventPayload::HistoryChats(cs) => (
            "chat.history",
            json!({ "chats": cs.iter().map(render::chat).collect::<Vec<_>>() }),
        ),
        EventPayload::HistorySync(ms) => (
            "message.history",
            json!({ "messages": ms.iter().map(message_payload).collect::<Vec<_>>() }),
        ),
        EventPayload::PresenceUpdate(u) => (
            "presence.update",
            json!({
                "jid": u.jid,
                "chatJid": u.chat,
                "presence": crate::presence::state_name(u.presence),
                "lastSeen": u.last_seen,
            }),
        ),
        EventPayload::CallEnded(c) => (
            "call.ended",
            json!({
                "id": c.id,
                "from": c.from,
                "reason": wagate_plugin_sdk::call_end_reason(c.reason),
                "timestamp": c.timestamp,
            }),
        ),
        EventPayload::Call(c) => (
            "call.received",
            json!({
                "id": c.id,
                "from": c.from,
                "isVideo": c.video,
                "isGroup": c.group_jid.is_some(),
                "groupJid": c.group_jid,
                "timestamp": c.timestamp,
                "offline": c.offline,
                "rejected": c.rejected,
            }),
        ),
        EventPayload::ChatDeleted(jid) => ("chat.deleted", json!({ "chatJid": jid })),
        EventPayload::ChatUpdated(c) => (
            "chat.update",
            json!({
                "chatJid": c.jid,
                "change": "settings",
                "archived": c.archived,
                "pinned": c.pinned,
                "mutedUntil": c.muted_until,
            }),
        ),
        EventPayload::ConnectionUpdate(s) => {
            ("session.status", json!({ "status": render::status(*s) }))
        }
        EventPayload::QrUpdated(code) => ("auth.qr", json!({ "code": code })),
        EventPayload::InstanceCreated(i) => ("session.created", render::session(i)),
        EventPayload::InstanceDeleted(i) => ("session.deleted", render::session(i)),
        EventPayload::GroupUpsert(g) => ("group.joined", crate::groups::group(g)),
        EventPayload::GroupUpdate(u) => {
            let (field, value) = wagate_plugin_sdk::group_change_json(&u.change);
            (
                "group.update",
                json!({
                    "groupJid": u.group_jid,
                    "author": u.author,
                    "change": field,
                    "value": value,
                    "timestamp": u.timestamp,
                    "group": u.group.as_ref().map(crate::groups::group),
                }),
            )
        }
        EventPayload::GroupParticipants(u) => (
            "group.participants",
            json!({
                "groupJid": u.group_jid,
                "author": u.author,
                "action": wagate_plugin_sdk::participant_action_name(u.action),
                "participants": u.members.iter().map(|m| json!({
                    "id": m.jid,
                    "phoneNumber": m.phone.as_deref().map(|p| p.split('@').next().unwrap_or(p)),
                })).collect::<Vec<_>>(),
                "timestamp": u.timestamp,
                "group": u.group.as_ref().map(crate::groups::group),
            }),
        ),
        EventPayload::ContactUpsert(c) => ("contact.upsert", crate::contacts::contact(c)),
        EventPayload::ContactUpdate(c) => ("contact.update", crate::contacts::contact(c)),
        EventPayload::LabelEdit(l) => ("label.edit", crate::labels::edit_event(l)),
        EventPayload::LabelAssociation(a) => ("label.association", crate::labels::association(a)),
    }
}

/// The whole envelope. Every core event has a sessions/v1 rendering.
pub(crate) fn render(ev: &Event) -> Option<Value> {
    let (event, payload) = name_and_payload(&ev.payload);
    let id = if ev.id.starts_with("evt_") {
        ev.id.clone()
    } else {
        format!("evt_{}", ev.id)
    };
    Some(json!({
        "schema": "v1",
        "id": id,
        "event": event,
        "session": ev.instance_id,
        "organization": ev.org,
        "timestamp": ev.timestamp,
        "payload": payload,
    }))
}
