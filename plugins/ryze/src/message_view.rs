//! A stored message as RyzeAPI's history lists it, serialised straight from the record.
//!
//! A page of messages is the dialect's hottest answer: typed views borrow the record's
//! strings instead of building a `serde_json::Value` tree per message (a map, a string
//! copy per field). Fields are declared in the order their keys sort, the order the
//! answer had when it was built as a JSON tree.

use serde::Serialize;
use serde_json::Value;
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::MediaInfo;

use crate::util::{display_jid, iso8601};

/// One stored message of `POST /chat/history`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageView<'a> {
    chat_jid: &'a str,
    chat_jid_alt: &'a Option<String>,
    content: Option<Value>,
    direction: &'static str,
    from_me: bool,
    id: &'a str,
    media: Option<MediaView<'a>>,
    /// A poll shows its tally: `[{option, votes, voters}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    poll_results: Option<Value>,
    reactions: Vec<ReactionView<'a>>,
    revoked: bool,
    sender_jid: &'a str,
    sender_jid_alt: &'a Option<String>,
    status: Option<&'static str>,
    text: &'a Option<String>,
    timestamp: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// A message's media, as every Ryze message shape carries it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MediaView<'a> {
    available: bool,
    file_name: &'a Option<String>,
    height: Option<u32>,
    mimetype: &'a str,
    seconds: Option<u32>,
    sha256: &'a str,
    size: u64,
    #[serde(rename = "type")]
    kind: &'static str,
    width: Option<u32>,
}

impl<'a> MediaView<'a> {
    pub(crate) fn of(i: &'a MediaInfo) -> Self {
        MediaView {
            available: i.stored,
            file_name: &i.file_name,
            height: i.height,
            mimetype: &i.mimetype,
            seconds: i.duration_secs,
            sha256: &i.sha256,
            size: i.size,
            kind: crate::media::kind_name(i.kind),
            width: i.width,
        }
    }
}

/// One reaction on a message: `{emoji, fromMe, sender}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReactionView<'a> {
    emoji: &'a str,
    from_me: bool,
    sender: String,
}

impl<'a> MessageView<'a> {
    pub(crate) fn of(m: &'a Message) -> Self {
        let structured = m.content.as_ref().map(wagate_plugin_sdk::content_json);
        let kind = if m.revoked {
            "revoked"
        } else if let Some((kind, _)) = &structured {
            kind
        } else if m.media.is_some() {
            "media"
        } else {
            "text"
        };
        MessageView {
            chat_jid: &m.chat_jid,
            chat_jid_alt: &m.chat_jid_alt,
            content: structured.map(|(_, v)| v),
            direction: if m.from_me { "outgoing" } else { "incoming" },
            from_me: m.from_me,
            id: &m.id,
            media: m.media.as_ref().map(MediaView::of),
            poll_results: wagate_plugin_sdk::poll_results_json(m),
            reactions: m
                .reactions
                .iter()
                .map(|r| ReactionView {
                    emoji: &r.emoji,
                    from_me: r.from_me,
                    sender: display_jid(&r.sender),
                })
                .collect(),
            revoked: m.revoked,
            sender_jid: &m.sender,
            sender_jid_alt: &m.sender_alt,
            status: m.status.map(crate::receipts::status_name),
            text: &m.text,
            timestamp: iso8601(m.timestamp),
            kind,
        }
    }
}

/// The answer of `POST /chat/history/{instance}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HistoryPage<'a> {
    #[serde(rename = "chat_jid")]
    pub chat_jid: &'a str,
    pub count: usize,
    pub has_more: bool,
    pub message: &'static str,
    pub messages: Vec<MessageView<'a>>,
    pub next_cursor: Option<String>,
    pub success: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wagate_plugin_sdk::types::{DeliveryStatus, MediaKind, Reaction};

    fn message() -> Message {
        Message {
            id: "3EB0A".into(),
            chat_jid: "5511999999999@s.whatsapp.net".into(),
            chat_jid_alt: Some("123@lid".into()),
            sender: "5511999999999@s.whatsapp.net".into(),
            sender_alt: None,
            from_me: false,
            timestamp: 1_764_000_000_123,
            text: Some("hello".into()),
            media: None,
            revoked: false,
            deleted_for_me: false,
            status: None,
            reactions: Vec::new(),
            content: None,
            poll_votes: Vec::new(),
        }
    }

    #[test]
    fn a_text_message() {
        let m = message();
        let v = serde_json::to_value(MessageView::of(&m)).unwrap();
        assert_eq!(
            v,
            json!({
                "chatJid": "5511999999999@s.whatsapp.net",
                "chatJidAlt": "123@lid",
                "content": null,
                "direction": "incoming",
                "fromMe": false,
                "id": "3EB0A",
                "media": null,
                "reactions": [],
                "revoked": false,
                "senderJid": "5511999999999@s.whatsapp.net",
                "senderJidAlt": null,
                "status": null,
                "text": "hello",
                "timestamp": "2025-11-24T16:00:00Z",
                "type": "text",
            })
        );
    }

    #[test]
    fn media_reactions_and_status() {
        let mut m = message();
        m.from_me = true;
        m.status = Some(DeliveryStatus::Read);
        m.media = Some(MediaInfo {
            kind: MediaKind::Voice,
            mimetype: "audio/ogg".into(),
            size: 1234,
            sha256: "ab".into(),
            file_name: None,
            duration_secs: Some(7),
            width: None,
            height: None,
            stored: true,
        });
        m.reactions = vec![Reaction {
            id: "R1".into(),
            sender: "5511888888888@s.whatsapp.net".into(),
            emoji: "👍".into(),
            from_me: false,
            timestamp: 1,
        }];
        let v = serde_json::to_value(MessageView::of(&m)).unwrap();
        assert_eq!(v["type"], "media");
        assert_eq!(v["direction"], "outgoing");
        assert_eq!(v["status"], "read");
        assert_eq!(
            v["media"],
            json!({"available": true, "fileName": null, "height": null, "mimetype": "audio/ogg",
                   "seconds": 7, "sha256": "ab", "size": 1234, "type": "ptt", "width": null})
        );
        assert_eq!(
            v["reactions"],
            json!([{"emoji": "👍", "fromMe": false, "sender": "5511888888888"}])
        );
        assert!(v.get("pollResults").is_none());
        m.revoked = true;
        assert_eq!(
            serde_json::to_value(MessageView::of(&m)).unwrap()["type"],
            "revoked"
        );
    }

    #[test]
    fn keys_serialise_in_sorted_order() {
        let m = message();
        let text = serde_json::to_string(&MessageView::of(&m)).unwrap();
        let tree =
            serde_json::to_string(&serde_json::to_value(MessageView::of(&m)).unwrap()).unwrap();
        assert_eq!(text, tree, "the same bytes as the JSON tree it replaces");
    }
}
