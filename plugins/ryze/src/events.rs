//! Events in RyzeAPI's webhook/WebSocket envelope:
//!
//! ```json
//! {"event": "message.exchange", "data": {...},
//!  "instanceData": {"baseUrl": "...", "instance": "<name>", "token": null}}
//! ```
//!
//! - `message.exchange`: a message received or sent (`data.type` `"message"`),
//!   revoked for everyone (`data.type` `"message_revoke"`), or a reaction put on or
//!   taken off one (`data.type` `"reaction"`, see `reactions.rs`), or edited
//!   (`data.type` `"message_edit"`, the message with its new text), or a vote on a
//!   poll (`data.type` `"poll_vote"`: `data.message.content.pollVote` is `{targetId,
//!   options, error}`, `data.poll` the poll's tally `[{option, votes, voters}]`); `data.message` follows
//!   RyzeAPI's catalog (`id`, `direction`, `timestamp`, `chat`, `sender`, `content`).
//! - `instance.state`: connection changes (`connected`, `connecting`, `disconnected`,
//!   `logged_out`), a new QR (`qr_ready` with `qrCode`), and `deleted` when the
//!   instance goes.
//! - `call.update`: someone called (`id`, `from`, `chat`, `video`, `group`, and
//!   `rejected` when the instance's settings declined it; `missed` when it arrived
//!   after the caller hung up); and how it ended (`ended`: `missed`,
//!   `accepted_elsewhere` or `rejected_elsewhere`, with `missed`).
//! - `group.flow`: a group change WhatsApp announced (changes made through the API
//!   included): `data.type` `joined` (the account created or joined the group; `info`
//!   is the group as `/api/group/info` answers it), `info` (`change` names the field:
//!   `subject`, `description`, `announcement`, `locked`, `ephemeralSeconds`,
//!   `approval`; `value` is its new value) or `participants` (`action` `add`,
//!   `remove`, `promote`, `demote`; `participants` with each member's `jid` and, for a
//!   LID, its `phone` when WhatsApp said it).
//! - `label.update`: a label edited on the phone (`{type: "edit", label: {id, name,
//!   color, predefinedId, deleted}}`), or put on or taken off a chat (`{type:
//!   "association", labelId, chat, labeled}`); see labels.rs.
//! - `message.status`: a receipt raised a message's status (see `receipts.rs`);
//!   deletes "for me", chat updates, instance creation, presence, history sync and
//!   contacts have no Ryze event.
//!
//! `instanceData.token` is `null`: the gateway keeps only hashes of tokens.

use serde_json::{Value, json};
use wagate_plugin_sdk::types::{ConnectionState, Event, EventPayload, Message};

use crate::util::{chat_type, display_jid, iso8601};

/// The envelope for `ev`, or `None` when RyzeAPI has no such event.
pub(crate) fn render(ev: &Event, base_url: &str) -> Option<Value> {
    let (event, data) = match &ev.payload {
        EventPayload::MessageUpsert(m) => ("message.exchange", exchange(m, "message")),
        EventPayload::MessageRevoked(m) => ("message.exchange", exchange(m, "message_revoke")),
        EventPayload::MessageEdited(m) => ("message.exchange", exchange(m, "message_edit")),
        EventPayload::MessageStatus(m) => ("message.status", crate::receipts::status_event(m)),
        EventPayload::MessageReaction(u) => ("message.exchange", crate::reactions::exchange(u)),
        EventPayload::PollVote(u) => ("message.exchange", poll_vote(u)),
        EventPayload::CallEnded(c) => (
            "call.update",
            json!({
                "id": c.id,
                "from": display_jid(&c.from),
                "chat": display_jid(&c.from),
                "ended": wagate_plugin_sdk::call_end_reason(c.reason),
                "missed": c.reason == wagate_plugin_sdk::types::CallEndReason::Missed,
                "timestamp": iso8601(c.timestamp),
            }),
        ),
        EventPayload::Call(c) => (
            "call.update",
            json!({
                "id": c.id,
                "from": display_jid(&c.from),
                "chat": c.group_jid.as_deref().map(display_jid).unwrap_or_else(|| display_jid(&c.from)),
                "video": c.video,
                "group": c.group_jid.is_some(),
                "rejected": c.rejected,
                "missed": c.offline,
                "timestamp": iso8601(c.timestamp),
            }),
        ),
        EventPayload::LabelEdit(l) => ("label.update", crate::labels::edit_event(l, ev.timestamp)),
        EventPayload::LabelAssociation(a) => ("label.update", crate::labels::association_event(a)),
        EventPayload::ConnectionUpdate(state) => (
            "instance.state",
            json!({
                "state": state_name(*state),
                "instance": ev.instance_name,
                "timestamp": iso8601(ev.timestamp),
            }),
        ),
        EventPayload::QrUpdated(qr) => (
            "instance.state",
            json!({
                "state": "qr_ready",
                "instance": ev.instance_name,
                "qrCode": qr,
                "timestamp": iso8601(ev.timestamp),
            }),
        ),
        EventPayload::InstanceDeleted(_) => (
            "instance.state",
            json!({
                "state": "deleted",
                "instance": ev.instance_name,
                "timestamp": iso8601(ev.timestamp),
            }),
        ),
        EventPayload::GroupUpsert(g) => (
            "group.flow",
            json!({
                "type": "joined",
                "group": display_jid(&g.jid),
                "info": crate::groups::group_json(g),
                "timestamp": iso8601(ev.timestamp),
            }),
        ),
        EventPayload::GroupUpdate(u) => {
            let (field, value) = wagate_plugin_sdk::group_change_json(&u.change);
            (
                "group.flow",
                json!({
                    "type": "info",
                    "group": display_jid(&u.group_jid),
                    "author": u.author.as_deref().map(display_jid),
                    "change": field,
                    "value": value,
                    "timestamp": iso8601(u.timestamp),
                }),
            )
        }
        EventPayload::GroupParticipants(u) => (
            "group.flow",
            json!({
                "type": "participants",
                "group": display_jid(&u.group_jid),
                "author": u.author.as_deref().map(display_jid),
                "action": wagate_plugin_sdk::participant_action_name(u.action),
                "participants": u.members.iter().map(|m| json!({
                    "jid": m.jid,
                    "phone": m.phone.as_deref().map(display_jid),
                })).collect::<Vec<_>>(),
                "timestamp": iso8601(u.timestamp),
            }),
        ),
        EventPayload::MessageDeleted(_)
        | EventPayload::MessageMedia(_)
        | EventPayload::ChatDeleted(_)
        | EventPayload::ChatUpdated(_)
        | EventPayload::InstanceCreated(_)
        // RyzeAPI's catalog has no presence, history or contact event.
        | EventPayload::PresenceUpdate(_)
        | EventPayload::HistorySync(_)
        | EventPayload::HistoryChats(_)
        | EventPayload::ContactUpsert(_)
        | EventPayload::ContactUpdate(_) => return None,
    };
    Some(json!({
        "event": event,
        "data": data,
        "instanceData": {
            "baseUrl": base_url,
            "instance": ev.instance_name,
            "token": Value::Null,
        },
    }))
}

fn state_name(s: ConnectionState) -> &'static str {
    match s {
        ConnectionState::Open => "connected",
        ConnectionState::Connecting => "connecting",
        ConnectionState::Closed => "disconnected",
        ConnectionState::Disconnected => "logged_out",
    }
}

/// `data` of a `message.exchange` event; `kind` is `message` or `message_revoke`.
fn exchange(m: &Message, kind: &str) -> Value {
    let content = if kind == "message_revoke" {
        json!({})
    } else if let Some(c) = &m.content {
        // A location, contact cards or a poll under its kind's name.
        let (name, value) = wagate_plugin_sdk::content_json(c);
        json!({ "text": m.text, name: value })
    } else {
        json!({ "text": m.text })
    };
    let mut message = json!({
        "id": m.id,
        "type": kind,
        "direction": if m.from_me { "outgoing" } else { "incoming" },
        "fromMe": m.from_me,
        "timestamp": iso8601(m.timestamp),
        "chat": {
            "jid": display_jid(&m.chat_jid),
            "type": chat_type(&m.chat_jid),
        },
        "sender": { "jid": display_jid(&m.sender) },
        "content": content,
    });
    // The other address (the phone behind a LID, or back), when the instance knows it.
    if let Some(alt) = &m.chat_jid_alt {
        message["chat"]["jidAlt"] = json!(display_jid(alt));
    }
    if let Some(alt) = &m.sender_alt {
        message["sender"]["jidAlt"] = json!(display_jid(alt));
    }
    if kind == "message_revoke" {
        message["revoked"] = json!(true);
    } else if let Some(media) = &m.media {
        message["media"] = crate::media::media_json(media);
    }
    json!({ "type": kind, "id": m.id, "message": message })
}

/// `data` of the `message.exchange` event a poll vote raises.
fn poll_vote(u: &wagate_plugin_sdk::types::PollVoteUpdate) -> Value {
    let (v, m) = (&u.vote, &u.message);
    let from_me = m.from_me && v.voter == m.sender;
    json!({
        "type": "poll_vote",
        "id": v.id,
        "message": {
            "id": v.id,
            "type": "poll_vote",
            "direction": if from_me { "outgoing" } else { "incoming" },
            "fromMe": from_me,
            "timestamp": iso8601(v.timestamp),
            "chat": { "jid": display_jid(&m.chat_jid), "type": chat_type(&m.chat_jid) },
            "sender": { "jid": display_jid(&v.voter) },
            "content": { "pollVote": { "targetId": m.id, "options": v.options, "error": v.error } },
        },
        "poll": wagate_plugin_sdk::poll_results_json(m),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(revoked: bool) -> Message {
        Message {
            id: "3EB0X".into(),
            chat_jid: "5511999999999@s.whatsapp.net".into(),
            chat_jid_alt: None,
            from_me: false,
            sender: "5511999999999@s.whatsapp.net".into(),
            sender_alt: None,
            timestamp: 1_777_372_200_000,
            text: (!revoked).then(|| "hi".into()),
            media: None,
            revoked,
            deleted_for_me: false,
            status: None,
            reactions: Vec::new(),
            poll_votes: Vec::new(),
            content: None,
        }
    }

    fn event(payload: EventPayload) -> Event {
        Event {
            id: "ev1".into(),
            instance_id: "01J".into(),
            instance_name: "inst".into(),
            org: "acme".into(),
            timestamp: 1_777_372_200_000,
            payload,
        }
    }

    #[test]
    fn revoke_is_a_message_exchange_of_type_message_revoke() {
        let v = render(&event(EventPayload::MessageRevoked(msg(true))), "").unwrap();
        assert_eq!(v["event"], "message.exchange");
        assert_eq!(v["data"]["type"], "message_revoke");
        assert_eq!(v["data"]["message"]["id"], "3EB0X");
        assert_eq!(v["instanceData"]["instance"], "inst");
    }

    #[test]
    fn upsert_and_state() {
        let v = render(
            &event(EventPayload::MessageUpsert(msg(false))),
            "https://gw",
        )
        .unwrap();
        assert_eq!(v["data"]["message"]["content"]["text"], "hi");
        assert_eq!(v["data"]["message"]["chat"]["jid"], "5511999999999");
        assert_eq!(v["instanceData"]["baseUrl"], "https://gw");
        let v = render(
            &event(EventPayload::ConnectionUpdate(ConnectionState::Open)),
            "",
        )
        .unwrap();
        assert_eq!(v["event"], "instance.state");
        assert_eq!(v["data"]["state"], "connected");
        assert!(render(&event(EventPayload::ChatDeleted("x".into())), "").is_none());
    }
}
