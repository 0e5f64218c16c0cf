//! Messages: send, store, delete for me / revoke, page through.

use crate::store::kv::{ReadableTable, WriteTx};
use base64::Engine;

use super::Core;
use super::jid;
use super::lid_map::{self, Alts};
use super::model::{
    Capability, Chat, CoreError, CoreResult, EventPayload, Instance, InstanceRef, Message,
    MessagePage, Principal,
};
use crate::core::outbox;
use crate::store::{decode, encode, get_json, internal, tables};
use crate::whatsapp::Sent;

/// The record of a message this account just sent to `chat_jid` (no text, media or
/// content yet: the caller sets what it sent), stamped with `origin`.
pub(crate) fn sent_message(
    instance: &Instance,
    sent: Sent,
    chat_jid: String,
    origin: Option<&str>,
) -> Message {
    Message {
        id: sent.id,
        chat_jid,
        chat_jid_alt: None,
        from_me: true,
        sender: instance.owner_jid.clone().unwrap_or_default(),
        sender_alt: None,
        timestamp: sent.timestamp,
        text: None,
        media: None,
        revoked: false,
        deleted_for_me: false,
        truncated: false,
        reactions: Vec::new(),
        poll_votes: Vec::new(),
        content: None,
        origin: origin.map(str::to_string),
        status: None,
    }
}

/// A paged read's `limit`: 0 is `default`, 1..=`max` is itself, more is `invalid`.
pub(crate) fn page_limit(limit: u32, default: u32, max: u32) -> CoreResult<u32> {
    match limit {
        0 => Ok(default),
        l if l <= max => Ok(l),
        _ => Err(CoreError::Invalid(format!(
            "limit must be between 1 and {max}"
        ))),
    }
}

/// Messages per page when the caller gives no limit.
pub const DEFAULT_PAGE: u32 = 50;
/// Largest page a caller may ask for, so one request cannot scan a whole chat.
pub const MAX_PAGE: u32 = 200;
/// The most bytes of message content one page carries (besides counting messages): a
/// page is lifted whole into a dialect plugin, whose memory is capped (32 MiB for the
/// bundled ones), and rendered there, so its size must be bounded by what it holds,
/// not only by how many. A page always has at least one message (one is at most
/// [`MAX_TEXT_CHARS`] characters, < 300 KiB); past the budget the page ends and its
/// `next_cursor` continues with the message that did not fit, so a walk skips nothing.
pub const PAGE_BYTES: usize = 1 << 20;

/// What a message weighs against [`PAGE_BYTES`]: its strings, plus a fixed allowance
/// for the other fields.
fn page_weight(m: &Message) -> usize {
    const FIXED: usize = 64;
    FIXED
        + m.id.len()
        + m.chat_jid.len()
        + m.sender.len()
        + m.text.as_ref().map_or(0, String::len)
        + m.media.as_ref().map_or(0, |i| {
            // The info's strings plus its numbers and flags, as a dialect renders them.
            64 + i.mimetype.len() + i.sha256.len() + i.file_name.as_ref().map_or(0, String::len)
        })
        + m.origin.as_ref().map_or(0, String::len)
}
/// WhatsApp's own cap on a text message: what a caller may send, and what the gateway
/// stores of a text it receives (see [`cap_text`]).
pub const MAX_TEXT_CHARS: usize = 65_536;

/// A received text as the gateway stores it: at most [`MAX_TEXT_CHARS`] characters
/// (the rest is dropped; the flag says so). Inbound text comes from the network with no
/// bound of its own, and every stored message must fit a page a dialect can render.
pub fn cap_text(text: Option<String>) -> (Option<String>, bool) {
    match text {
        Some(t) => match t.char_indices().nth(MAX_TEXT_CHARS) {
            Some((cut, _)) => (Some(t[..cut].to_string()), true),
            None => (Some(t), false),
        },
        None => (None, false),
    }
}

impl Core {
    /// Sends a text message and stores it as the account's own.
    pub async fn send_text(
        &self,
        p: &Principal,
        which: &InstanceRef,
        to: &str,
        text: &str,
    ) -> CoreResult<Message> {
        self.send_text_from(p, which, to, text, None).await
    }

    /// [`Core::send_text`], stamping the stored message (and its event) with `origin`:
    /// the plugin whose request caused it.
    pub async fn send_text_from(
        &self,
        p: &Principal,
        which: &InstanceRef,
        to: &str,
        text: &str,
        origin: Option<&str>,
    ) -> CoreResult<Message> {
        let record = self.authorize(p, which, Capability::Send)?;
        let chat_jid = jid::normalize(to)?;
        if text.trim().is_empty() {
            return Err(CoreError::Invalid("text must not be empty".into()));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(CoreError::Invalid(format!(
                "text is longer than {MAX_TEXT_CHARS} characters"
            )));
        }
        let sent = self
            .link
            .send_text(&record.instance.id, &chat_jid, text)
            .await?;
        let message = Message {
            text: Some(text.to_string()),
            ..sent_message(&record.instance, sent, chat_jid, origin)
        };
        self.record_sent(record.instance, message).await
    }

    /// Stores a message this account just sent, with its `message_upsert` event, in
    /// one commit; filed under the chat of either half of its address
    /// (`lid_map::place_chat`).
    pub(crate) async fn record_sent(
        &self,
        instance: Instance,
        mut message: Message,
    ) -> CoreResult<Message> {
        self.place_message(&instance.id, &mut message)?;
        let stored = message.clone();
        self.store
            .write(move |tx| -> CoreResult<()> {
                store_message(tx, &instance.id, &stored)?;
                outbox::append(
                    tx,
                    &outbox::event_for(&instance, EventPayload::MessageUpsert(stored.clone())),
                )?;
                Ok(())
            })
            .await?;
        Ok(message)
    }

    /// Revokes a message for everyone, or deletes it for me (removed from the stored
    /// copy, its media file too).
    pub async fn delete_message(
        &self,
        p: &Principal,
        which: &InstanceRef,
        message_id: &str,
        for_everyone: bool,
    ) -> CoreResult<Message> {
        let record = self.authorize(p, which, Capability::Send)?;
        let instance = record.instance;
        let message = self
            .find_message(&instance.id, message_id)?
            .ok_or_else(message_not_found)?;
        if for_everyone {
            if message.revoked {
                return Err(CoreError::Conflict("message was already revoked".into()));
            }
            self.link
                .revoke(
                    &instance.id,
                    &message.chat_jid,
                    &message.id,
                    message.from_me,
                )
                .await?;
        } else {
            self.link
                .delete_for_me(
                    &instance.id,
                    &message.chat_jid,
                    &message.id,
                    message.from_me,
                )
                .await?;
        }
        let id = message_id.to_string();
        let result = self
            .store
            .write(move |tx| {
                let Some((key, mut message)) = load_message(tx, &instance.id, &id)? else {
                    return Err(message_not_found());
                };
                if for_everyone && message.revoked {
                    return Err(CoreError::Conflict("message was already revoked".into()));
                }
                if message.media.is_some() {
                    let key = super::media::media_key(&instance.id, &message)?;
                    tx.open_table(tables::MEDIA_GC)
                        .map_err(internal)?
                        .insert(key.as_str(), ())
                        .map_err(internal)?;
                }
                let payload = if for_everyone {
                    message.revoked = true;
                    message.text = None;
                    message.media = None;
                    tx.open_table(tables::MESSAGES)
                        .map_err(internal)?
                        .insert(key.as_slice(), encode(&message).as_slice())
                        .map_err(internal)?;
                    EventPayload::MessageRevoked(message.clone())
                } else {
                    tx.open_table(tables::MESSAGES)
                        .map_err(internal)?
                        .remove(key.as_slice())
                        .map_err(internal)?;
                    tx.open_table(tables::MESSAGE_IDS)
                        .map_err(internal)?
                        .remove(tables::message_id_key(&instance.id, &id).as_slice())
                        .map_err(internal)?;
                    message.deleted_for_me = true;
                    EventPayload::MessageDeleted(message.clone())
                };
                outbox::append(tx, &outbox::event_for(&instance, payload))?;
                Ok(message)
            })
            .await?;
        self.media_gc.collect_now().await;
        Ok(result)
    }

    /// A page of a chat's messages, newest first.
    pub async fn list_messages(
        &self,
        p: &Principal,
        which: &InstanceRef,
        chat: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> CoreResult<MessagePage> {
        let record = self.authorize(p, which, Capability::Read)?;
        let chat_jid = jid::normalize(chat)?;
        let limit = page_limit(limit, DEFAULT_PAGE, MAX_PAGE)?;
        let after = cursor
            .filter(|c| !c.is_empty())
            .map(decode_cursor)
            .transpose()?;
        let id = record.instance.id;
        self.store.read(|tx| {
            let chats = tx.open_table(tables::CHATS).map_err(internal)?;
            let mut alts = Alts::open(tx, &id)?;
            // Either half of a LID <-> phone pair names the chat.
            let chat_jid = lid_map::stored_chat_jid(&chats, &mut alts, &id, &chat_jid)?
                .ok_or_else(chat_not_found)?;
            let prefix = tables::chat_messages_prefix(&id, &chat_jid);
            let end = tables::prefix_end(&prefix);
            let start = match &after {
                Some(suffix) => [prefix.as_slice(), suffix].concat(),
                None => prefix.clone(),
            };
            let table = tx.open_table(tables::MESSAGES).map_err(internal)?;
            let range = table
                .range::<&[u8]>((
                    std::ops::Bound::Excluded(start.as_slice()),
                    std::ops::Bound::Excluded(end.as_slice()),
                ))
                .map_err(internal)?;
            let mut messages = Vec::with_capacity(limit as usize);
            let mut last_suffix = None;
            let mut more = false;
            let mut bytes = 0;
            for row in range {
                let (k, v) = row.map_err(internal)?;
                if messages.len() == limit as usize {
                    more = true;
                    break;
                }
                let mut message = decode::<Message>(v.value())?;
                alts.fill_message(&mut message)?;
                let weight = page_weight(&message);
                if !messages.is_empty() && bytes + weight > PAGE_BYTES {
                    // The cursor stays on the last message taken: this one opens the
                    // next page.
                    more = true;
                    break;
                }
                bytes += weight;
                last_suffix = Some(k.value()[prefix.len()..].to_vec());
                messages.push(message);
            }
            let next_cursor = if more {
                last_suffix.map(|s| encode_cursor(&s))
            } else {
                None
            };
            Ok(MessagePage {
                messages,
                next_cursor,
            })
        })
    }

    /// One stored message of `which` by id (in any chat). Needs `read`.
    pub async fn get_message(
        &self,
        p: &Principal,
        which: &InstanceRef,
        message_id: &str,
    ) -> CoreResult<Message> {
        let record = self.authorize(p, which, Capability::Read)?;
        if message_id.is_empty() {
            return Err(CoreError::Invalid("a message id is required".into()));
        }
        self.find_message(&record.instance.id, message_id)?
            .ok_or_else(message_not_found)
    }

    /// A stored message by id, if any.
    pub fn find_message(&self, instance_id: &str, message_id: &str) -> CoreResult<Option<Message>> {
        self.store.read(|tx| {
            let ids = tx.open_table(tables::MESSAGE_IDS).map_err(internal)?;
            let Some(key) = ids
                .get(tables::message_id_key(instance_id, message_id).as_slice())
                .map_err(internal)?
            else {
                return Ok(None);
            };
            let messages = tx.open_table(tables::MESSAGES).map_err(internal)?;
            let Some(mut message) = get_json::<_, Message>(&messages, key.value())? else {
                return Ok(None);
            };
            Alts::open(tx, instance_id)?.fill_message(&mut message)?;
            Ok(Some(message))
        })
    }
}

/// The `NotFound` error every dialect maps for an unknown message id.
pub fn message_not_found() -> CoreError {
    CoreError::NotFound(super::model::Resource::Message, "message not found".into())
}

/// The `NotFound` error every dialect maps for an unknown chat.
pub fn chat_not_found() -> CoreError {
    CoreError::NotFound(super::model::Resource::Chat, "chat not found".into())
}

/// Loads a message and its key inside a write transaction.
pub(crate) fn load_message(
    tx: &WriteTx,
    instance_id: &str,
    message_id: &str,
) -> CoreResult<Option<(Vec<u8>, Message)>> {
    let ids = tx.open_table(tables::MESSAGE_IDS).map_err(internal)?;
    let Some(key) = ids
        .get(tables::message_id_key(instance_id, message_id).as_slice())
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let key = key.value().to_vec();
    let messages = tx.open_table(tables::MESSAGES).map_err(internal)?;
    Ok(get_json::<_, Message>(&messages, key.as_slice())?.map(|m| (key, m)))
}

/// Stores a message and bumps (or creates) its chat. Returns false, writing nothing,
/// when a message with this id is already stored (re-delivered events are no-ops).
pub(crate) fn store_message(
    tx: &WriteTx,
    instance_id: &str,
    message: &Message,
) -> CoreResult<bool> {
    let mut ids = tx.open_table(tables::MESSAGE_IDS).map_err(internal)?;
    let id_key = tables::message_id_key(instance_id, &message.id);
    if ids.get(id_key.as_slice()).map_err(internal)?.is_some() {
        return Ok(false);
    }
    let mut meta = tx.open_table(tables::META).map_err(internal)?;
    let seq = meta
        .get("message_seq")
        .map_err(internal)?
        .map(|v| v.value())
        .unwrap_or(0)
        + 1;
    meta.insert("message_seq", seq).map_err(internal)?;
    drop(meta);
    let key = tables::message_key(
        instance_id,
        &message.chat_jid,
        message.timestamp,
        seq,
        &message.id,
    );
    ids.insert(id_key.as_slice(), key.as_slice())
        .map_err(internal)?;
    tx.open_table(tables::MESSAGES)
        .map_err(internal)?
        .insert(key.as_slice(), encode(message).as_slice())
        .map_err(internal)?;
    let mut chats = tx.open_table(tables::CHATS).map_err(internal)?;
    let chat_key = tables::chat_key(instance_id, &message.chat_jid);
    let mut chat: Chat = get_json(&chats, chat_key.as_slice())?.unwrap_or_else(|| Chat {
        jid: message.chat_jid.clone(),
        jid_alt: None,
        name: None,
        archived: false,
        pinned: false,
        muted_until: None,
        last_activity: 0,
    });
    chat.last_activity = chat.last_activity.max(message.timestamp);
    chats
        .insert(chat_key.as_slice(), encode(&chat).as_slice())
        .map_err(internal)?;
    Ok(true)
}

fn encode_cursor(suffix: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(suffix)
}

fn decode_cursor(cursor: &str) -> CoreResult<Vec<u8>> {
    match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor) {
        Ok(bytes)
            if bytes.len() > tables::MESSAGE_SUFFIX_FIXED
                && bytes.len() <= tables::MESSAGE_SUFFIX_FIXED + 128 =>
        {
            Ok(bytes)
        }
        _ => Err(CoreError::Invalid(
            "invalid cursor; pass back the nextCursor of the previous page".into(),
        )),
    }
}
