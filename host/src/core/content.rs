//! Structured sends: a location, contact cards, a poll. Checked here, before the link
//! sees them, so every dialect answers the same mistakes the same way.

use super::Core;
use super::jid;
use super::messages::sent_message;
use super::model::{
    Capability, ContactCard, Content, CoreError, CoreResult, InstanceRef, Location, Message, Poll,
    Principal,
};

/// WhatsApp's bounds on a poll's options.
pub const POLL_OPTIONS: std::ops::RangeInclusive<usize> = 2..=12;
/// The most contact cards one message carries.
pub const MAX_CONTACTS: usize = 20;
/// The longest name, address, question or option the gateway sends, in characters.
const MAX_LABEL_CHARS: usize = 1024;
/// The largest vCard, in bytes.
const MAX_VCARD_BYTES: usize = 16 * 1024;

impl Core {
    /// Sends `content` to `to` (a number or JID) and stores it as the account's own
    /// message, stamped with `origin` (the plugin whose request caused it). Needs
    /// `send`; `invalid` says what is wrong with the content.
    pub async fn send_content(
        &self,
        p: &Principal,
        which: &InstanceRef,
        to: &str,
        content: Content,
        origin: Option<&str>,
    ) -> CoreResult<Message> {
        let record = self.authorize(p, which, Capability::Send)?;
        let chat_jid = jid::normalize(to)?;
        check(&content)?;
        let mut sent = self
            .link
            .send_content(&record.instance.id, &chat_jid, &content)
            .await?;
        // A poll's secret, kept for its votes (see `core::polls`).
        let poll_secret = sent.poll_secret.take();
        let message = Message {
            content: Some(content),
            ..sent_message(&record.instance, sent, chat_jid, origin)
        };
        let instance_id = record.instance.id.clone();
        let message = self.record_sent(record.instance, message).await?;
        if let Some(secret) = poll_secret {
            self.keep_poll_secret(&instance_id, &message.id, secret)
                .await?;
        }
        Ok(message)
    }
}

fn invalid(m: impl Into<String>) -> CoreError {
    CoreError::Invalid(m.into())
}

fn label(what: &str, s: &str) -> CoreResult<()> {
    if s.trim().is_empty() {
        return Err(invalid(format!("{what} must not be empty")));
    }
    if s.chars().count() > MAX_LABEL_CHARS {
        return Err(invalid(format!(
            "{what} is longer than {MAX_LABEL_CHARS} characters"
        )));
    }
    Ok(())
}

/// Why `content` cannot be sent, if it cannot.
pub fn check(content: &Content) -> CoreResult<()> {
    match content {
        Content::Location(l) => check_location(l),
        Content::Contacts { contacts } => check_contacts(contacts),
        Content::Poll(p) => check_poll(p),
        Content::Unsupported { .. } => Err(invalid("an unsupported message cannot be sent")),
    }
}

fn check_location(l: &Location) -> CoreResult<()> {
    if !l.latitude.is_finite() || !(-90.0..=90.0).contains(&l.latitude) {
        return Err(invalid("latitude must be between -90 and 90"));
    }
    if !l.longitude.is_finite() || !(-180.0..=180.0).contains(&l.longitude) {
        return Err(invalid("longitude must be between -180 and 180"));
    }
    if let Some(name) = &l.name {
        label("the location's name", name)?;
    }
    if let Some(address) = &l.address {
        label("the location's address", address)?;
    }
    Ok(())
}

fn check_contacts(contacts: &[ContactCard]) -> CoreResult<()> {
    if contacts.is_empty() || contacts.len() > MAX_CONTACTS {
        return Err(invalid(format!(
            "send between 1 and {MAX_CONTACTS} contacts"
        )));
    }
    for c in contacts {
        label("a contact's name", &c.display_name)?;
        let card = c.vcard.trim();
        if !card.starts_with("BEGIN:VCARD") || !card.ends_with("END:VCARD") {
            return Err(invalid(
                "a contact's vcard must be a BEGIN:VCARD ... END:VCARD text",
            ));
        }
        if card.len() > MAX_VCARD_BYTES {
            return Err(invalid(format!(
                "a contact's vcard is larger than {MAX_VCARD_BYTES} bytes"
            )));
        }
    }
    Ok(())
}

fn check_poll(p: &Poll) -> CoreResult<()> {
    label("the poll's question", &p.question)?;
    if !POLL_OPTIONS.contains(&p.options.len()) {
        return Err(invalid(format!(
            "a poll has between {} and {} options, not {}",
            POLL_OPTIONS.start(),
            POLL_OPTIONS.end(),
            p.options.len()
        )));
    }
    for (i, o) in p.options.iter().enumerate() {
        label("a poll option", o)?;
        if p.options[..i].contains(o) {
            return Err(invalid(format!("the poll option `{o}` is given twice")));
        }
    }
    if p.selectable == 0 || p.selectable as usize > p.options.len() {
        return Err(invalid(format!(
            "selectable must be between 1 and the number of options ({})",
            p.options.len()
        )));
    }
    Ok(())
}
