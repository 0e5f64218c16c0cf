//! Contacts: which numbers are on WhatsApp, the people the instance has heard from
//! (stored per instance with the push name WhatsApp gave), a contact's profile picture,
//! and blocking.
//!
//! Reads (`check_numbers`, `list_contacts`, `profile_picture_url`, `list_blocked`)
//! need `read`; blocking and unblocking need `send`.

use serde::{Deserialize, Serialize};

use super::Core;
use super::jid;
use super::model::{Capability, CoreError, CoreResult, EventPayload, InstanceRef, Principal};
use crate::store::{decode, encode, get_json, internal, tables};
use crate::util::now_ms;

/// The most numbers one check takes (WhatsApp's usync queries are batched; a caller
/// with more sends several).
pub const MAX_NUMBERS: usize = 500;

/// One number of a check, answered in the order given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NumberCheck {
    /// The number or JID as the caller gave it.
    pub input: String,
    /// Its normalised JID, when it is a well-formed number or JID.
    pub jid: Option<String>,
    /// WhatsApp has an account for it.
    pub exists: bool,
    /// Why it was not checked (malformed, or not a person's number).
    pub error: Option<String>,
}

/// A person the instance has heard from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Their JID (phone or LID).
    pub jid: String,
    /// The name they gave WhatsApp (the "push name"), when a message carried it.
    pub push_name: Option<String>,
    /// First heard from, epoch ms.
    pub created_at: u64,
    /// Last change of this record, epoch ms.
    pub updated_at: u64,
}

impl Core {
    /// Asks WhatsApp which of `numbers` have an account. Malformed entries are
    /// answered with their `error` (the others are still checked); more than
    /// [`MAX_NUMBERS`] or none is `invalid`. Needs `read`.
    pub async fn check_numbers(
        &self,
        p: &Principal,
        which: &InstanceRef,
        numbers: &[String],
    ) -> CoreResult<Vec<NumberCheck>> {
        let record = self.authorize(p, which, Capability::Read)?;
        if numbers.is_empty() || numbers.len() > MAX_NUMBERS {
            return Err(CoreError::Invalid(format!(
                "give 1 to {MAX_NUMBERS} numbers to check"
            )));
        }
        let mut checks: Vec<NumberCheck> = numbers
            .iter()
            .map(|input| {
                let (jid, error) = match jid::normalize(input) {
                    Ok(j) if j.ends_with("@s.whatsapp.net") || j.ends_with("@lid") => {
                        (Some(j), None)
                    }
                    Ok(j) => (Some(j), Some("not a person's number or JID".to_string())),
                    Err(e) => (None, Some(e.to_string())),
                };
                NumberCheck {
                    input: input.clone(),
                    jid,
                    exists: false,
                    error,
                }
            })
            .collect();
        let asked: Vec<String> = checks
            .iter()
            .filter(|c| c.error.is_none())
            .filter_map(|c| c.jid.clone())
            .collect();
        if !asked.is_empty() {
            let found = self.link.check_numbers(&record.instance.id, &asked).await?;
            for c in checks.iter_mut().filter(|c| c.error.is_none()) {
                c.exists = c.jid.as_ref().is_some_and(|j| found.contains(j));
            }
        }
        Ok(checks)
    }

    /// The people the instance has heard from, by JID. Needs `read`.
    pub async fn list_contacts(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<Vec<Contact>> {
        let record = self.authorize(p, which, Capability::Read)?;
        let prefix = tables::instance_prefix(&record.instance.id);
        let end = tables::prefix_end(&prefix);
        self.store.read(|tx| -> CoreResult<Vec<Contact>> {
            let table = tx.open_table(tables::CONTACTS).map_err(internal)?;
            let mut out = Vec::new();
            for row in table
                .range::<&[u8]>(prefix.as_slice()..end.as_slice())
                .map_err(internal)?
            {
                out.push(decode::<Contact>(row.map_err(internal)?.1.value())?);
            }
            Ok(out)
        })
    }

    /// The push name a person's messages carried, if any.
    pub(crate) fn contact_push_name(
        &self,
        instance_id: &str,
        j: &str,
    ) -> CoreResult<Option<String>> {
        let key = tables::contact_key(instance_id, j);
        self.store.read(|tx| -> CoreResult<Option<String>> {
            let table = tx.open_table(tables::CONTACTS).map_err(internal)?;
            Ok(get_json::<_, Contact>(&table, key.as_slice())?.and_then(|c| c.push_name))
        })
    }

    /// The URL of a person's (or group's) profile picture; `None` when they have none
    /// or do not show it to this account. Needs `read`.
    pub async fn profile_picture_url(
        &self,
        p: &Principal,
        which: &InstanceRef,
        who: &str,
    ) -> CoreResult<Option<String>> {
        let record = self.authorize(p, which, Capability::Read)?;
        let j = jid::normalize(who)?;
        Ok(self
            .link
            .profile_picture_url(&record.instance.id, &j)
            .await?)
    }

    /// The JIDs this account blocked, as WhatsApp lists them (sorted). Needs `read`.
    pub async fn list_blocked(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<Vec<String>> {
        let record = self.authorize(p, which, Capability::Read)?;
        let mut blocked = self.link.blocklist(&record.instance.id).await?;
        blocked.sort();
        blocked.dedup();
        Ok(blocked)
    }

    /// Blocks (`true`) or unblocks a person; answers their JID. Needs `send`.
    pub async fn set_blocked(
        &self,
        p: &Principal,
        which: &InstanceRef,
        who: &str,
        blocked: bool,
    ) -> CoreResult<String> {
        let record = self.authorize(p, which, Capability::Send)?;
        let j = jid::normalize(who)?;
        if j.ends_with("@g.us") {
            return Err(CoreError::Invalid(
                "a group cannot be blocked; leave it".into(),
            ));
        }
        match self
            .link
            .set_blocked(&record.instance.id, &j, blocked)
            .await
        {
            Ok(()) => Ok(j),
            // Nobody to block: the caller named a number WhatsApp does not know.
            Err(crate::whatsapp::LinkError::NotFound(m)) => Err(CoreError::Invalid(m)),
            Err(e) => Err(e.into()),
        }
    }

    /// Records that `who` wrote to the instance, with the push name the message
    /// carried, and reports it: `contact_upsert` for a new contact, `contact_update`
    /// for a new name. Reads first and writes only a new contact or a changed name, so
    /// the message path pays a write only when there is something to keep.
    pub(crate) async fn note_contact(
        &self,
        instance_id: &str,
        who: &str,
        push_name: Option<String>,
    ) -> CoreResult<()> {
        let Ok(j) = jid::normalize(who) else {
            return Ok(());
        };
        if j.ends_with("@g.us") {
            return Ok(());
        }
        let key = tables::contact_key(instance_id, &j);
        let current = self.store.read(|tx| -> CoreResult<Option<Contact>> {
            let table = tx.open_table(tables::CONTACTS).map_err(internal)?;
            Ok(get_json::<_, Contact>(&table, key.as_slice())?)
        })?;
        let push_name = push_name.filter(|n| !n.trim().is_empty());
        if let Some(c) = &current
            && (push_name.is_none() || c.push_name == push_name)
        {
            return Ok(());
        }
        let id = instance_id.to_string();
        self.store
            .write(move |tx| {
                let Some(record) = super::records::live_record(tx, &id)? else {
                    return Ok(());
                };
                let mut table = tx.open_table(tables::CONTACTS).map_err(internal)?;
                let now = now_ms();
                let (contact, payload): (Contact, fn(Contact) -> EventPayload) =
                    match get_json::<_, Contact>(&table, key.as_slice())? {
                        // Raced with another message's write: nothing new to keep.
                        Some(c) if push_name.is_none() || c.push_name == push_name => {
                            return Ok(());
                        }
                        Some(mut c) => {
                            c.push_name = push_name.clone();
                            c.updated_at = now;
                            (c, EventPayload::ContactUpdate)
                        }
                        None => (
                            Contact {
                                jid: j.clone(),
                                push_name: push_name.clone(),
                                created_at: now,
                                updated_at: now,
                            },
                            EventPayload::ContactUpsert,
                        ),
                    };
                table
                    .insert(key.as_slice(), encode(&contact).as_slice())
                    .map_err(internal)?;
                drop(table);
                let event = super::outbox::event_for(&record.instance, payload(contact));
                super::outbox::append(tx, &event).map(|_| ())
            })
            .await
    }
}
