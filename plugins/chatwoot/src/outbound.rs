//! WhatsApp -> Chatwoot: one event (the native `/core` JSON the host renders for
//! integrations) becomes the Chatwoot calls that mirror it.
//!
//! Every step is idempotent, because the dispatcher delivers at least once:
//! - a message already mapped (`wa:{id}`) is done;
//! - inbox, contact and conversation are looked up before they are created, and cached;
//! - before POSTing a message an intent marker is stored; an attempt that finds the
//!   marker but no mapping (the earlier POST may have reached Chatwoot with its answer
//!   lost) lists the conversation's messages and adopts the one whose `source_id` is
//!   `WAID:{id}` instead of posting again.

use serde_json::{Value, json};

use crate::api::{ApiError, Chatwoot, Contact};
use crate::env::Kv;
use crate::keys;
use crate::settings::Settings;

/// What the dispatcher should do with the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Done,
    Retry(String),
    Permanent(String),
}

/// A failed step: retry later, or never.
#[derive(Debug)]
enum Fail {
    Retry(String),
    Permanent(String),
}

type Step<T> = Result<T, Fail>;

fn storage(e: String) -> Fail {
    Fail::Retry(format!("plugin storage: {e}"))
}

/// A Chatwoot error where a 404 has no special meaning.
fn api(what: &str) -> impl Fn(ApiError) -> Fail + '_ {
    move |e| match e {
        ApiError::Retry(m) => Fail::Retry(m),
        ApiError::Permanent(m) => Fail::Permanent(m),
        ApiError::NotFound => Fail::Permanent(format!(
            "Chatwoot answered 404 to {what}: check the integration's url and accountId"
        )),
    }
}

/// The message fields of a native event that the sync reads.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct WaMessage {
    pub id: String,
    pub chat_jid: String,
    /// The chat's other address when the instance knows it (the phone JID behind a LID
    /// chat): what gives a LID contact its phone number in Chatwoot.
    #[serde(default)]
    pub chat_jid_alt: Option<String>,
    #[serde(default)]
    pub from_me: bool,
    #[serde(default)]
    pub sender: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub media: Option<WaMedia>,
    /// The plugin whose request created the message (stamped by the host).
    #[serde(default)]
    pub origin: Option<String>,
}

/// The media record of a native event's message (the fields the sync shows).
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct WaMedia {
    /// `image`, `video`, `audio`, `voice`, `document`, `sticker`, `video_note`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub file_name: Option<String>,
}

/// The sync of one instance's events into one Chatwoot account.
pub(crate) struct Sync<'a> {
    pub api: Chatwoot<'a>,
    pub kv: &'a dyn Kv,
    pub settings: &'a Settings,
    pub instance_name: &'a str,
    /// The URL Chatwoot should call back (an auto-created inbox's webhook), when known.
    pub webhook_url: Option<String>,
}

/// This plugin's name, as the host stamps it in `origin`.
pub(crate) const ORIGIN: &str = "chatwoot";

impl Sync<'_> {
    /// Mirror one event.
    pub(crate) fn event(&self, body: &[u8]) -> Outcome {
        let v: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return Outcome::Permanent(format!("event body is not JSON: {e}")),
        };
        let kind = v.pointer("/payload/type").and_then(Value::as_str);
        let data = v.pointer("/payload/data").cloned().unwrap_or(Value::Null);
        let result = match kind {
            Some("message_upsert") | Some("message_revoked") => {
                match serde_json::from_value::<WaMessage>(data) {
                    Ok(m) if kind == Some("message_upsert") => self.upsert(&m),
                    Ok(m) => self.revoke(&m),
                    Err(e) => Err(Fail::Permanent(format!("event message: {e}"))),
                }
            }
            // Chats, connection changes, QR codes: nothing to mirror.
            _ => Ok(()),
        };
        match result {
            Ok(()) => Outcome::Done,
            Err(Fail::Retry(m)) => Outcome::Retry(m),
            Err(Fail::Permanent(m)) => Outcome::Permanent(m),
        }
    }

    fn upsert(&self, m: &WaMessage) -> Step<()> {
        if m.origin.as_deref() == Some(ORIGIN)
            || skipped_chat(&m.chat_jid)
            || self.settings.ignores(&m.chat_jid)
        {
            return Ok(());
        }
        if self.kv.get(&keys::wa(&m.id)).map_err(storage)?.is_some() {
            return Ok(());
        }
        let Some(content) = content(m) else {
            return Ok(());
        };
        let inbox = self.inbox()?;
        let conversation = self.conversation(inbox, &m.chat_jid, m.chat_jid_alt.as_deref())?;
        let source_id = format!("WAID:{}", m.id);

        let intent = keys::intent(&m.id);
        if let Some(marker) = self.kv.get_json(&intent).map_err(storage)?
            && let Some(earlier) = marker.get("conversation").and_then(Value::as_u64)
        {
            let posted = self
                .api
                .messages(earlier)
                .or_else(|e| match e {
                    ApiError::NotFound => Ok(Vec::new()),
                    e => Err(e),
                })
                .map_err(api("the conversation's messages"))?;
            if let Some(found) = posted
                .iter()
                .find(|p| p.source_id.as_deref() == Some(&source_id))
            {
                self.map(&m.id, earlier, found.id)?;
                return self.kv.delete(&intent).map_err(storage);
            }
        }

        self.kv
            .set_json(&intent, &json!({ "conversation": conversation }))
            .map_err(storage)?;
        let posted = match self
            .api
            .create_message(conversation, &content, m.from_me, &source_id)
        {
            Ok(id) => id,
            Err(ApiError::NotFound) => {
                // The conversation was deleted in Chatwoot: forget it, the next attempt
                // finds or opens another.
                self.forget_conversation(inbox, &m.chat_jid, conversation)?;
                self.kv.delete(&intent).map_err(storage)?;
                return Err(Fail::Retry(format!(
                    "Chatwoot conversation {conversation} is gone; opening another"
                )));
            }
            Err(e) => return Err(api("the message")(e)),
        };
        self.map(&m.id, conversation, posted)?;
        self.kv.delete(&intent).map_err(storage)
    }

    fn revoke(&self, m: &WaMessage) -> Step<()> {
        let key = keys::wa(&m.id);
        let Some(mapping) = self.kv.get_json(&key).map_err(storage)? else {
            return Ok(());
        };
        let ids = (
            mapping.get("conversation").and_then(Value::as_u64),
            mapping.get("message").and_then(Value::as_u64),
        );
        let (Some(conversation), Some(message)) = ids else {
            return Ok(());
        };
        // Deleted in Chatwoot first (an agent's delete became this revoke): nothing to do.
        if mapping.get("deleted").and_then(Value::as_bool) != Some(true) {
            match self.api.delete_message(conversation, message) {
                Ok(()) | Err(ApiError::NotFound) => {}
                Err(e) => return Err(api("the message delete")(e)),
            }
        }
        self.kv.delete(&keys::cw(message)).map_err(storage)?;
        self.kv.delete(&key).map_err(storage)
    }

    fn map(&self, wa_id: &str, conversation: u64, message: u64) -> Step<()> {
        self.kv
            .set_json(
                &keys::cw(message),
                &json!({ "wa": wa_id, "conversation": conversation }),
            )
            .map_err(storage)?;
        self.kv
            .set_json(
                &keys::wa(wa_id),
                &json!({ "conversation": conversation, "message": message }),
            )
            .map_err(storage)
    }

    /// The inbox id: configured, cached, found by name, or created.
    fn inbox(&self) -> Step<u64> {
        if let Some(id) = self.settings.inbox_id {
            return Ok(id);
        }
        let name = self.settings.inbox_name(self.instance_name);
        let key = keys::inbox(&self.settings.account_id, name);
        if let Some(id) = self
            .kv
            .get_json(&key)
            .map_err(storage)?
            .and_then(|v| v.get("id").and_then(Value::as_u64))
        {
            return Ok(id);
        }
        let found = self.api.inboxes().map_err(api("the inbox list"))?;
        let id = match found.iter().find(|(_, n)| n == name) {
            Some((id, _)) => *id,
            None if self.settings.auto_create => {
                let Some(url) = &self.webhook_url else {
                    return Err(Fail::Permanent(
                        "cannot create the inbox: the integration has no serverUrl for \
                         Chatwoot's webhook"
                            .into(),
                    ));
                };
                self.api
                    .create_inbox(name, url)
                    .map_err(api("the inbox creation"))?
            }
            None => {
                return Err(Fail::Permanent(format!(
                    "Chatwoot has no inbox named {name:?} and autoCreate is off"
                )));
            }
        };
        self.kv
            .set_json(&key, &json!({ "id": id }))
            .map_err(storage)?;
        Ok(id)
    }

    /// The conversation a chat's messages go to: cached, or the contact's (found or
    /// created) open conversation in the inbox, or a new one.
    fn conversation(&self, inbox: u64, jid: &str, alt: Option<&str>) -> Step<u64> {
        let key = keys::chat(inbox, jid);
        if let Some(id) = self
            .kv
            .get_json(&key)
            .map_err(storage)?
            .and_then(|v| v.get("conversation").and_then(Value::as_u64))
        {
            return Ok(id);
        }
        let mut who = Identity::of(jid);
        // A LID chat whose phone the instance knows is found and created by that phone.
        if who.phone.is_none()
            && let Some(phone) = alt.and_then(|a| Identity::of(a).phone)
        {
            who.name = phone.clone();
            who.phone = Some(phone);
        }
        let contact = self.contact(inbox, &who)?;
        let listed = match self.api.contact_conversations(contact) {
            Ok(list) => list,
            Err(ApiError::NotFound) => Vec::new(),
            Err(e) => return Err(api("the contact's conversations")(e)),
        };
        let mine = listed.iter().filter(|c| c.inbox_id == inbox);
        let open = mine
            .clone()
            .filter(|c| c.status != "resolved")
            .max_by_key(|c| c.id);
        let reuse = if self.settings.reopen_conversation {
            open.or_else(|| mine.max_by_key(|c| c.id))
        } else {
            open
        };
        let id = match reuse {
            Some(c) => c.id,
            None => self
                .api
                .create_conversation(contact, inbox, self.settings.conversation_pending)
                .map_err(api("the conversation creation"))?,
        };
        self.kv
            .set_json(&key, &json!({ "contact": contact, "conversation": id }))
            .map_err(storage)?;
        self.kv
            .set_json(&keys::conv(id), &json!({ "jid": jid, "chat": key }))
            .map_err(storage)?;
        Ok(id)
    }

    fn forget_conversation(&self, inbox: u64, jid: &str, conversation: u64) -> Step<()> {
        self.kv.delete(&keys::chat(inbox, jid)).map_err(storage)?;
        self.kv.delete(&keys::conv(conversation)).map_err(storage)
    }

    /// The contact of a chat: found by phone number (or identifier), else created.
    fn contact(&self, inbox: u64, who: &Identity) -> Step<u64> {
        let q = who.phone.as_deref().unwrap_or(&who.identifier);
        let found = self
            .api
            .search_contacts(q)
            .map_err(api("the contact search"))?;
        if let Some(c) = found.iter().find(|c| who.matches(c)) {
            return Ok(c.id);
        }
        self.api
            .create_contact(inbox, &who.name, who.phone.as_deref(), &who.identifier)
            .map_err(api("the contact creation"))
    }
}

/// How a chat appears as a Chatwoot contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    /// `+digits` for phone-number JIDs; a LID's number is not known from the JID.
    pub phone: Option<String>,
    /// The chat's JID.
    pub identifier: String,
    pub name: String,
}

impl Identity {
    pub(crate) fn of(jid: &str) -> Identity {
        let (user, server) = jid.split_once('@').unwrap_or((jid, ""));
        // `5511...:12@s.whatsapp.net` (a device) is the same person.
        let user = user.split(':').next().unwrap_or(user);
        let phone = (server == "s.whatsapp.net"
            && !user.is_empty()
            && user.chars().all(|c| c.is_ascii_digit()))
        .then(|| format!("+{user}"));
        let name = phone.clone().unwrap_or_else(|| user.to_string());
        Identity {
            phone,
            identifier: jid.to_string(),
            name,
        }
    }

    fn matches(&self, c: &Contact) -> bool {
        c.identifier.as_deref() == Some(&self.identifier)
            || (self.phone.is_some() && c.phone_number == self.phone)
    }
}

/// Chats that are not conversations with someone (status updates, newsletters).
fn skipped_chat(jid: &str) -> bool {
    jid == "status@broadcast" || jid.ends_with("@broadcast") || jid.ends_with("@newsletter")
}

/// The text posted to Chatwoot for a message, `None` when there is nothing to show.
pub(crate) fn content(m: &WaMessage) -> Option<String> {
    let body = match (m.text.as_deref().map(str::trim), &m.media) {
        (Some(t), _) if !t.is_empty() => m.text.clone().unwrap_or_default(),
        // Media bytes are not uploaded (yet): the agent sees that a file came.
        (_, Some(media)) => format!(
            "[media: {}]",
            media.file_name.as_deref().unwrap_or(media.kind.as_str())
        ),
        _ => return None,
    };
    // In a group the author matters: Chatwoot shows the group as the contact.
    if m.chat_jid.ends_with("@g.us") && !m.from_me {
        let author = Identity::of(&m.sender);
        return Some(format!("**{}:**\n{body}", author.name));
    }
    Some(body)
}
