//! `/message/sendText` and `/chat/*`: send, revoke, archive, find messages and chats.

use serde::Serialize;
use serde_json::{Value, json as j};
use wagate_plugin_sdk::prelude::*;

use crate::input::{self, bad};
use crate::shape::{self, Style};
use crate::util::{self, iso};
use crate::{Cap, Reply, core_error, guard};
use wagate_plugin_sdk::time::now_secs;

/// Evolution's `findMessages` page size when `offset` is not given.
const DEFAULT_OFFSET: u64 = 50;
/// Core's largest page, used to walk a chat.
const CORE_PAGE: u32 = 200;

// ---- messages as Evolution writes them (`prepareMessage`) --------------------------

#[derive(Serialize, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Key {
    pub remote_jid: String,
    /// Baileys 7's other address of the chat: the phone JID of a LID chat, or the LID
    /// of a phone chat, when the instance knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_jid_alt: Option<String>,
    pub from_me: bool,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    /// The group member's other address (as `remote_jid_alt`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant_alt: Option<String>,
    /// `lid` or `pn`: which kind of address `remoteJid` (in a group, `participant`)
    /// is, given when the other one is known (Baileys 7 sets it from the stanza).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addressing_mode: Option<&'static str>,
    /// Logical delete marker (`logical_message_delete`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
}

/// One message: the `messageRaw` of sendText and MESSAGES_UPSERT, and (with `id` and
/// `MessageUpdate`) a findMessages record.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub key: Key,
    pub push_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    pub message: Value,
    pub context_info: Option<Value>,
    pub message_type: std::borrow::Cow<'static, str>,
    pub message_timestamp: u64,
    pub instance_id: String,
    pub source: &'static str,
    #[serde(rename = "MessageUpdate", skip_serializing_if = "Option::is_none")]
    pub message_update: Option<Vec<Value>>,
}

pub(crate) fn key_of(m: &Message) -> Key {
    // A group's message, or a contact's status update, names its author.
    let group = m.chat_jid.ends_with("@g.us") || m.chat_jid == "status@broadcast";
    let member = group && !m.from_me;
    let participant_alt = if member { m.sender_alt.clone() } else { None };
    // The address the mode describes: the member's in a group, else the chat's.
    let (addressed, alt) = if group {
        (m.sender.as_str(), participant_alt.as_ref())
    } else {
        (m.chat_jid.as_str(), m.chat_jid_alt.as_ref())
    };
    let addressing_mode = alt.map(|_| {
        if addressed.ends_with("@lid") {
            "lid"
        } else {
            "pn"
        }
    });
    Key {
        remote_jid: m.chat_jid.clone(),
        remote_jid_alt: m.chat_jid_alt.clone(),
        from_me: m.from_me,
        id: m.id.clone(),
        participant: member.then(|| m.sender.clone()),
        participant_alt,
        addressing_mode,
        deleted: None,
    }
}

/// The message's type and content in Baileys' terms.
fn content(m: &Message) -> (std::borrow::Cow<'static, str>, Value) {
    if let Some(c) = &m.content {
        let (kind, message) = crate::content::message_of(c);
        return (kind.into(), message);
    }
    match &m.media {
        None => (
            "conversation".into(),
            j!({ "conversation": m.text.clone().unwrap_or_default() }),
        ),
        Some(info) => {
            let (kind, message) = crate::media::content(info, m.text.as_deref());
            (kind.into(), message)
        }
    }
}

/// With the S3 media store, a stored file's presigned URL, which Evolution gives as
/// `message.mediaUrl` in its webhooks and message rows (valid for the operator's
/// `url_expiry_max_secs`); none on the data folder, which hands out no URLs.
///
/// The gateway's media store is fixed for its life, so once it said it hands out no
/// URLs this instance of the plugin asks no more (a page of photos makes one call,
/// not one a photo).
fn media_url(m: &Message, instance_id: &str) -> Option<String> {
    use std::sync::atomic::{AtomicBool, Ordering};
    static NO_URLS: AtomicBool = AtomicBool::new(false);
    if !m.media.as_ref()?.stored || NO_URLS.load(Ordering::Relaxed) {
        return None;
    }
    let which = InstanceRef::Id(instance_id.to_string());
    match core::get_media_url(&which, &m.id, None) {
        Ok(Some(u)) => Some(u.url),
        Ok(None) => {
            NO_URLS.store(true, Ordering::Relaxed);
            None
        }
        Err(_) => None,
    }
}

/// `messageRaw` (sendText's answer, MESSAGES_UPSERT's data).
pub(crate) fn raw(m: &Message, instance_id: &str) -> MessageBody {
    let (kind, mut message) = content(m);
    if let (Some(url), Value::Object(fields)) = (media_url(m, instance_id), &mut message) {
        fields.insert("mediaUrl".into(), Value::String(url));
    }
    MessageBody {
        id: None,
        key: key_of(m),
        push_name: push_name(m),
        // The receipt WhatsApp reported, else what Baileys assumes of a message it
        // has: its own accepted by the server, a contact's delivered here.
        status: Some(match m.status {
            Some(s) => crate::receipts::status_name(s),
            None if m.from_me => "SERVER_ACK",
            None => "DELIVERY_ACK",
        }),
        message,
        context_info: None,
        message_type: kind,
        message_timestamp: m.timestamp / 1000,
        instance_id: instance_id.to_string(),
        source: util::source(&m.id),
        message_update: None,
    }
}

/// Baileys' fallback when WhatsApp gave no push name: "Você" for own messages, the
/// participant's number in groups. Core keeps no push names.
fn push_name(m: &Message) -> Option<String> {
    if m.from_me {
        Some("Você".into())
    } else if m.chat_jid.ends_with("@g.us") {
        m.sender.split('@').next().map(str::to_string)
    } else {
        None
    }
}

pub(crate) fn record(m: &Message, instance_id: &str) -> MessageBody {
    let mut body = raw(m, instance_id);
    body.id = Some(m.id.clone());
    // Evolution's row keeps the last status `messages.update` wrote.
    body.status = m.status.map(crate::receipts::status_name);
    // A poll's votes, as the update Evolution's row would have (see polls.rs).
    body.message_update = Some(
        crate::polls::update(m, instance_id)
            .map(|u| serde_json::to_value(u).unwrap_or_default())
            .into_iter()
            .collect(),
    );
    if m.revoked {
        body.key.deleted = Some(true);
        body.status = Some("DELETED");
    }
    body
}

// ---- POST /message/sendText/{instanceName} --------------------------------------

pub(crate) fn send_text(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let number = input::req_str(&body, "number")?;
    let text = match body.get("text") {
        Some(Value::String(t)) => t.clone(),
        None | Some(Value::Null) => return Err(bad("instance requires property \"text\"")),
        Some(_) => return Err(bad("text is not of a type(s) string")),
    };
    let to = strip_device(&number);
    let sent = core::send_text(&InstanceRef::Id(instance.id.clone()), &to, &text)
        .map_err(|e| core_error(&e))?;
    let mut out = raw(&sent, &instance.id);
    out.status = Some("PENDING");
    Ok(json(201, &out))
}

/// Evolution accepts `5511999999999`, `+55 11 99999-9999` and full JIDs.
pub(crate) fn strip_device(number: &str) -> String {
    if number.contains('@') {
        number.trim().to_string()
    } else {
        number.chars().filter(char::is_ascii_digit).collect()
    }
}

fn normalize(jid: &str) -> Result<String, HttpResponse> {
    core::normalize_jid(&strip_device(jid)).map_err(|e| core_error(&e))
}

// ---- DELETE /chat/deleteMessageForEveryone/{instanceName} -----------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Revoke {
    key: Key,
    message: RevokeMessage,
    message_timestamp: String,
    status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RevokeMessage {
    protocol_message: Protocol,
}

#[derive(Serialize)]
struct Protocol {
    key: Key,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// Revokes the message `id` for everyone. Core finds it by id (ids are unique per
/// instance); `remoteJid` must be a valid JID and is echoed in the answer, which has
/// Baileys' shape for the REVOKE protocol message it sends.
pub(crate) fn delete_for_everyone(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let id = input::req_str(&body, "id")?;
    let from_me = input::req_bool(&body, "fromMe")?;
    let remote = input::req_str(&body, "remoteJid")?;
    let participant = match input::opt_str(&body, "participant")? {
        Some(p) if p.is_empty() => return Err(bad("The \"participant\" cannot be empty")),
        p => p,
    };
    let remote = normalize(&remote)?;
    // A disconnected instance is the caller's state to fix (400 in the shared mapping),
    // not a gateway failure.
    let revoked = core::delete_message(&InstanceRef::Id(instance.id), &id, true)
        .map_err(|e| core_error(&e))?;
    let target = Key {
        remote_jid: remote.clone(),
        from_me,
        id: revoked.id.clone(),
        participant,
        ..Key::default()
    };
    Ok(json(
        201,
        &Revoke {
            key: Key {
                remote_jid: remote,
                from_me: true,
                id: revoked.id,
                ..Key::default()
            },
            message: RevokeMessage {
                protocol_message: Protocol {
                    key: target,
                    kind: "REVOKE",
                },
            },
            message_timestamp: (now_secs()).to_string(),
            status: "PENDING",
        },
    ))
}

// ---- POST /chat/archiveChat/{instanceName} ---------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Archived {
    chat_id: String,
    archived: bool,
}

/// `{chat | lastMessage.key.remoteJid, archive}`. As in Evolution, success answers
/// `archived: true` for archive and unarchive alike ("the change was made"). Evolution
/// turns every failure into a 500; here the caller's mistakes answer as such: no
/// `send` right 403 (the guard), a missing or malformed `chat` 400, a chat the gateway
/// has no message of 404 `Last message not found` (Evolution's own words for it).
pub(crate) fn archive(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let archive = input::req_bool(&body, "archive")?;
    let chat = match input::opt_str(&body, "chat")?.filter(|c| !c.is_empty()) {
        Some(c) => c,
        None => match input::opt_str(&body, "lastMessage.key.remoteJid")? {
            Some(c) if !c.is_empty() => c,
            _ => return Err(bad("instance requires property \"chat\"")),
        },
    };
    let jid = normalize(&chat)?;
    let patch = wagate_plugin_sdk::types::ChatPatch {
        archived: Some(archive),
        pinned: None,
        muted_until: None,
        unmute: false,
    };
    core::update_chat(&InstanceRef::Id(instance.id), &jid, patch).map_err(|e| match e {
        e if e.is_not_found(ResourceKind::Chat) => {
            shape::evolution_msg(404, "Last message not found")
        }
        e => core_error(&e),
    })?;
    Ok(json(
        201,
        &Archived {
            chat_id: chat,
            archived: true,
        },
    ))
}

// ---- POST /chat/findMessages/{instanceName} ------------------------------------

#[derive(Serialize)]
struct MessagesPage {
    messages: Page,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    total: u64,
    pages: u64,
    current_page: u64,
    records: Vec<MessageBody>,
}

/// The most bytes of message content one findMessages page carries. The page is built
/// in this plugin's capped memory (64 MiB), so a page of large messages holds fewer
/// records than `offset` asks (see [`find_messages`]).
const PAGE_BYTES: u64 = 4 << 20;

/// What a message weighs against [`PAGE_BYTES`]: its strings and an allowance for the
/// rest of its record.
fn weight(m: &Message) -> u64 {
    (512 + m.id.len()
        + m.chat_jid.len()
        + m.sender.len()
        + m.text.as_ref().map_or(0, String::len)
        + m.media.as_ref().map_or(0, |i| {
            256 + i.mimetype.len() + i.file_name.as_ref().map_or(0, String::len)
        })) as u64
}

/// Walks every stored message of one chat, newest first (deleted-for-me ones are
/// hidden by core; revoked ones only with `logical_message_delete`), one core page at a
/// time, so only the page in hand is held. A chat the gateway never stored has none.
/// `each` answers whether to go on.
fn walk_chat(
    which: &InstanceRef,
    jid: &str,
    keep_revoked: bool,
    mut each: impl FnMut(Message) -> bool,
) -> Result<(), HttpResponse> {
    let mut cursor = None;
    loop {
        let page = match core::list_messages(which, jid, CORE_PAGE, cursor.as_deref()) {
            Ok(p) => p,
            // A chat the gateway never stored has no messages.
            Err(e) if e.is_not_found(ResourceKind::Chat) => return Ok(()),
            Err(e) => return Err(core_error(&e)),
        };
        for m in page.messages {
            if (keep_revoked || !m.revoked) && !each(m) {
                return Ok(());
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(()),
        }
    }
}

/// One message that matched, without its content: which it is, and how it sorts and
/// weighs.
struct Hit {
    id: String,
    timestamp: u64,
    chat: usize,
    weight: u64,
    /// Its place among the matches as found (in the held records, while held).
    found: usize,
}

/// `{where: {id?, key: {id?, fromMe?, remoteJid?, participant(s)?}, messageTimestamp:
/// {gte?, lte?}}, page?, offset?}` -> `{messages: {total, pages, currentPage, records}}`,
/// newest first, `offset` (default 50) records per page.
///
/// The chat is read twice, one core page at a time: first to find, count and sort the
/// matching messages by their metadata only, then to pick the records of the asked
/// page. So a page never holds more than it shows, whatever the chat holds. While
/// every match together weighs no more than a page may ([`PAGE_BYTES`]), the first
/// read keeps their records and the second is skipped (a small chat is read once). When the
/// largest matching message times `offset` would exceed [`PAGE_BYTES`], every page of
/// this query holds fewer records (the same number on each page, at least one) and
/// `pages` counts pages of that size, so walking `page` from 1 to `pages` still reads
/// every message exactly once.
pub(crate) fn find_messages(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let body = input::body(req)?;
    let id = match input::opt_str(&body, "where.key.id")? {
        Some(id) => Some(id),
        None => input::opt_str(&body, "where.id")?,
    };
    let from_me = input::opt_bool(&body, "where.key.fromMe")?;
    let remote = input::opt_str(&body, "where.key.remoteJid")?.filter(|s| !s.is_empty());
    let participant = match input::opt_str(&body, "where.key.participant")? {
        Some(p) => Some(p),
        None => input::opt_str(&body, "where.key.participants")?,
    };
    let gte = input::opt_instant(&body, "where.messageTimestamp.gte")?;
    let lte = input::opt_instant(&body, "where.messageTimestamp.lte")?;
    let offset = input::opt_uint(&body, "offset")?
        .filter(|o| *o > 0)
        .unwrap_or(DEFAULT_OFFSET);
    let page = input::opt_uint(&body, "page")?
        .filter(|p| *p > 0)
        .unwrap_or(1);
    let keep_revoked = util::flag("logical_message_delete", false);

    let which = InstanceRef::Id(instance.id.clone());
    let chats: Vec<String> = match &remote {
        Some(r) => vec![normalize(r)?],
        None => core::list_chats(&which)
            .map_err(|e| core_error(&e))?
            .into_iter()
            .map(|c| c.jid)
            .collect(),
    };
    // Evolution compares whole seconds.
    let secs = |ms: u64| ms / 1000;
    let matches = |m: &Message| {
        id.as_deref().is_none_or(|id| m.id == id)
            && from_me.is_none_or(|f| m.from_me == f)
            && participant
                .as_deref()
                .is_none_or(|p| m.sender == p && m.chat_jid.ends_with("@g.us"))
            && gte.is_none_or(|g| secs(m.timestamp) >= secs(g))
            && lte.is_none_or(|l| secs(m.timestamp) <= secs(l))
    };

    // 1. Find, count and sort by metadata; hold the records while they fit in a page.
    let mut hits: Vec<Hit> = Vec::new();
    let mut held: Option<Vec<Message>> = Some(Vec::new());
    let mut held_weight = 0u64;
    for (chat, jid) in chats.iter().enumerate() {
        walk_chat(&which, jid, keep_revoked, |m| {
            if matches(&m) {
                let w = weight(&m);
                hits.push(Hit {
                    weight: w,
                    timestamp: m.timestamp,
                    chat,
                    id: m.id.clone(),
                    found: hits.len(),
                });
                held_weight = held_weight.saturating_add(w);
                match &mut held {
                    Some(records) if held_weight <= PAGE_BYTES => records.push(m),
                    _ => held = None,
                }
            }
            true
        })?;
    }
    // Stable: messages of one millisecond keep their chat's order.
    hits.sort_by_key(|h| std::cmp::Reverse(h.timestamp));
    let total = hits.len() as u64;
    let heaviest = hits.iter().map(|h| h.weight).max().unwrap_or(1).max(1);
    let per_page = offset.min((PAGE_BYTES / heaviest).max(1));
    let skip = usize::try_from(per_page.saturating_mul(page - 1)).unwrap_or(usize::MAX);
    let take = usize::try_from(per_page).unwrap_or(usize::MAX);
    let wanted: Vec<&Hit> = hits.iter().skip(skip).take(take).collect();

    // 2. The page's records: held from step 1, or picked by id (ids are unique per
    // instance) in a second read, in the sorted order; a chat's walk stops once its
    // records are found.
    let records: Vec<MessageBody> = match held {
        Some(held) => wanted
            .iter()
            .map(|h| record(&held[h.found], &instance.id))
            .collect(),
        None => pick(&which, &chats, &wanted, keep_revoked)?
            .iter()
            .flatten()
            .map(|m| record(m, &instance.id))
            .collect(),
    };
    Ok(json(
        200,
        &MessagesPage {
            messages: Page {
                total,
                pages: total.div_ceil(per_page),
                current_page: page,
                records,
            },
        },
    ))
}

/// The records of `wanted` (hits of `chats`), in its order, read again from core.
fn pick(
    which: &InstanceRef,
    chats: &[String],
    wanted: &[&Hit],
    keep_revoked: bool,
) -> Result<Vec<Option<Message>>, HttpResponse> {
    let mut picked: Vec<Option<Message>> = (0..wanted.len()).map(|_| None).collect();
    for (chat, jid) in chats.iter().enumerate() {
        let mut slots: std::collections::HashMap<&str, usize> = wanted
            .iter()
            .enumerate()
            .filter(|(_, h)| h.chat == chat)
            .map(|(slot, h)| (h.id.as_str(), slot))
            .collect();
        if slots.is_empty() {
            continue;
        }
        walk_chat(which, jid, keep_revoked, |m| {
            if let Some(slot) = slots.remove(m.id.as_str()) {
                picked[slot] = Some(m);
            }
            !slots.is_empty()
        })?;
    }
    Ok(picked)
}

// ---- POST /chat/findChats/{instanceName} ---------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChatBody {
    id: Option<String>,
    remote_jid: String,
    push_name: Option<String>,
    profile_pic_url: Option<String>,
    updated_at: String,
    window_start: Option<String>,
    window_expires: Option<String>,
    window_active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_message: Option<MessageBody>,
    unread_count: u32,
    is_saved: bool,
    /// wagate's own fields (Evolution keeps no archive state).
    archived: bool,
    pinned: bool,
}

/// `{where: {remoteJid?}, take?, skip?}` -> `[chat, ...]`, most recent activity first,
/// each with its `lastMessage`.
pub(crate) fn find_chats(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let body = input::body(req)?;
    let remote = input::opt_str(&body, "where.remoteJid")?.filter(|s| !s.is_empty());
    let take = input::opt_uint(&body, "take")?;
    let skip = input::opt_uint(&body, "skip")?.unwrap_or(0);
    let which = InstanceRef::Id(instance.id.clone());
    let chats: Vec<Chat> = match &remote {
        Some(r) => match core::get_chat(&which, &normalize(r)?) {
            Ok(c) => vec![c],
            Err(e) if e.is_not_found(ResourceKind::Chat) => Vec::new(),
            Err(e) => return Err(core_error(&e)),
        },
        None => core::list_chats(&which).map_err(|e| core_error(&e))?,
    };
    let keep_revoked = util::flag("logical_message_delete", false);
    let mut out = Vec::new();
    for c in chats
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(take.map_or(usize::MAX, |t| usize::try_from(t).unwrap_or(usize::MAX)))
    {
        let last = match core::list_messages(&which, &c.jid, 20, None) {
            Ok(p) => p
                .messages
                .into_iter()
                .find(|m| keep_revoked || !m.revoked)
                .map(|m| record(&m, &instance.id)),
            Err(e) if e.is_not_found(ResourceKind::Chat) => None,
            Err(e) => return Err(core_error(&e)),
        };
        out.push(ChatBody {
            id: None,
            remote_jid: c.jid,
            push_name: c.name,
            profile_pic_url: None,
            updated_at: iso(c.last_activity),
            window_start: None,
            window_expires: None,
            window_active: false,
            last_message: last,
            unread_count: 0,
            is_saved: false,
            archived: c.archived,
            pinned: c.pinned,
        });
    }
    Ok(json(200, &out))
}
