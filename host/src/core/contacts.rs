//! Contacts: which numbers are on WhatsApp, the people the instance has heard from
//! (stored per instance with the push name WhatsApp gave), a contact's profile picture,
//! and blocking.
//!
//! Reads (`check_numbers`, `list_contacts`, `profile_picture_url`, `list_blocked`)
//! need `read`; blocking and unblocking need `send`.

use serde::{Deserialize, Serialize};

use super::Core;
use super::jid;
use super::lid_map::{self, Alts};
use super::model::{Capability, CoreError, CoreResult, EventPayload, InstanceRef, Principal};
use crate::store::kv::ReadableTable;
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
    /// Its other address, when WhatsApp gave it: the LID behind a phone number, or
    /// the phone JID of a LID (kept in `core::lid_map` too).
    pub jid_alt: Option<String>,
    /// A WhatsApp Business account (`false` when it does not exist).
    pub business: bool,
    /// Why it was not checked (malformed, or not a person's number).
    pub error: Option<String>,
}

/// The one field of a contact that an event changes.
#[derive(Clone)]
enum ContactField {
    /// The name their messages carried (`None`: the message carried none, which
    /// changes nothing but makes a new contact).
    PushName(Option<String>),
    /// The name the account's address book gives them (`None`: cleared).
    SavedName(Option<String>),
    /// Whether they are a WhatsApp Business account, as WhatsApp last said (a number
    /// check, a profile read, a verified name on their message). Only ever changes an
    /// existing contact: checking a number does not make it one.
    Business(bool),
}

impl ContactField {
    /// Whether applying it to `current` (absent: no contact yet) keeps anything new.
    fn changes(&self, current: Option<&Contact>) -> bool {
        match (self, current) {
            (ContactField::PushName(_), None) => true,
            (ContactField::SavedName(name), None) => name.is_some(),
            (ContactField::Business(_), None) => false,
            (ContactField::PushName(name), Some(c)) => name.is_some() && *name != c.push_name,
            (ContactField::SavedName(name), Some(c)) => *name != c.saved_name,
            (ContactField::Business(b), Some(c)) => *b != c.business,
        }
    }

    fn apply(&self, c: &mut Contact) {
        match self {
            ContactField::PushName(Some(name)) => c.push_name = Some(name.clone()),
            ContactField::PushName(None) => {}
            ContactField::SavedName(name) => c.saved_name = name.clone(),
            ContactField::Business(b) => c.business = *b,
        }
    }
}

/// Contacts per page when the caller gives no limit.
pub const DEFAULT_CONTACT_PAGE: u32 = 100;
/// The largest page of contacts a caller may ask for (a page is lifted whole into a
/// dialect plugin, whose memory is capped).
pub const MAX_CONTACT_PAGE: u32 = 1000;

/// One page of an instance's contacts, in JID order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContactPage {
    /// The contacts of this page.
    pub contacts: Vec<Contact>,
    /// Pass back as `cursor` for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// A person the instance has heard from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Their JID (phone or LID): the address they first wrote from.
    pub jid: String,
    /// Their other address, when known: the phone JID behind a LID, or the LID of a
    /// phone JID (`core::lid_map`; filled on reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jid_alt: Option<String>,
    /// The name they gave WhatsApp (the "push name"), when a message carried it.
    pub push_name: Option<String>,
    /// The name the account saved them under in its address book, when WhatsApp
    /// synced it to this device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_name: Option<String>,
    /// A WhatsApp Business account, as WhatsApp last said (a number check, a profile
    /// read, or a verified business name on their message).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub business: bool,
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
                    jid_alt: None,
                    business: false,
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
            let id = &record.instance.id;
            let found = self.link.check_numbers(id, &asked).await?;
            for c in checks.iter_mut().filter(|c| c.error.is_none()) {
                if let Some(f) = found.iter().find(|f| c.jid.as_ref() == Some(&f.jid)) {
                    c.exists = true;
                    c.jid_alt = f.alt.clone();
                    c.business = f.is_business;
                }
            }
            // What WhatsApp said is kept: the pairs for every later read, the business
            // flag on the contacts the instance already has.
            let pairs = found
                .iter()
                .filter_map(|f| lid_map::pair(&f.jid, f.alt.as_deref()?))
                .collect();
            // Keeping them is a bonus to the answer, so a failure is only a warning.
            if let Err(e) = self.learn_alts(id, pairs).await {
                tracing::warn!(instance = %id, error = %e, "keeping the pairs a number check gave");
            }
            for f in &found {
                if let Err(e) = self.note_business(id, &f.jid, f.is_business).await {
                    tracing::warn!(instance = %id, error = %e, "keeping a contact's business flag");
                }
            }
        }
        Ok(checks)
    }

    /// The people the instance has heard from, a page at a time in JID order: `limit`
    /// of them (0: [`DEFAULT_CONTACT_PAGE`], at most [`MAX_CONTACT_PAGE`]) after
    /// `cursor` (the `next_cursor` of the page before). Needs `read`.
    pub async fn list_contacts(
        &self,
        p: &Principal,
        which: &InstanceRef,
        limit: u32,
        cursor: Option<&str>,
    ) -> CoreResult<ContactPage> {
        let record = self.authorize(p, which, Capability::Read)?;
        let limit = super::messages::page_limit(limit, DEFAULT_CONTACT_PAGE, MAX_CONTACT_PAGE)?;
        let prefix = tables::instance_prefix(&record.instance.id);
        let end = tables::prefix_end(&prefix);
        // The cursor is the last JID of the page before; the next page starts after it.
        let start = match cursor.filter(|c| !c.is_empty()) {
            Some(c) => {
                let after = jid::normalize(c).map_err(|_| {
                    CoreError::Invalid(
                        "cursor: pass back the next_cursor of the page before".into(),
                    )
                })?;
                std::ops::Bound::Excluded(tables::contact_key(&record.instance.id, &after))
            }
            None => std::ops::Bound::Included(prefix),
        };
        self.store.read(|tx| -> CoreResult<ContactPage> {
            let table = tx.open_table(tables::CONTACTS).map_err(internal)?;
            let mut alts = Alts::open(tx, &record.instance.id)?;
            let mut contacts = Vec::new();
            let mut more = false;
            let range = (
                start.as_ref().map(Vec::as_slice),
                std::ops::Bound::Excluded(end.as_slice()),
            );
            for row in table.range::<&[u8]>(range).map_err(internal)? {
                if contacts.len() == limit as usize {
                    more = true;
                    break;
                }
                let mut contact = decode::<Contact>(row.map_err(internal)?.1.value())?;
                if contact.jid_alt.is_none() {
                    contact.jid_alt = alts.of(&contact.jid)?;
                }
                contacts.push(contact);
            }
            let next_cursor = if more {
                contacts.last().map(|c| c.jid.clone())
            } else {
                None
            };
            Ok(ContactPage {
                contacts,
                next_cursor,
            })
        })
    }

    /// The push name a person's messages carried, if any.
    pub(crate) fn contact_push_name(
        &self,
        instance_id: &str,
        j: &str,
    ) -> CoreResult<Option<String>> {
        self.store.read(|tx| -> CoreResult<Option<String>> {
            let table = tx.open_table(tables::CONTACTS).map_err(internal)?;
            let mut alts = Alts::open(tx, instance_id)?;
            let Some(j) = lid_map::stored_chat_jid(&table, &mut alts, instance_id, j)? else {
                return Ok(None);
            };
            let key = tables::contact_key(instance_id, &j);
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
    /// for a new name.
    pub(crate) async fn note_contact(
        &self,
        instance_id: &str,
        who: &str,
        push_name: Option<String>,
    ) -> CoreResult<()> {
        let push_name = push_name.filter(|n| !n.trim().is_empty());
        self.upsert_contact(instance_id, who, ContactField::PushName(push_name))
            .await
    }

    /// Records whether `who`, already a contact, is a WhatsApp Business account.
    pub(crate) async fn note_business(
        &self,
        instance_id: &str,
        who: &str,
        business: bool,
    ) -> CoreResult<()> {
        self.upsert_contact(instance_id, who, ContactField::Business(business))
            .await
    }

    /// Records the name the account's address book gives `who` (`None`: the entry
    /// was cleared) and the LID <-> phone pair it is filed under; reported like
    /// [`Core::note_contact`]. Nobody becomes a contact by an empty entry.
    pub(crate) async fn note_saved_contact(
        &self,
        instance_id: &str,
        who: &str,
        name: Option<String>,
        pair: Option<(String, String)>,
    ) -> CoreResult<()> {
        self.learn_alts(instance_id, pair.into_iter().collect())
            .await?;
        let name = name.filter(|n| !n.trim().is_empty());
        self.upsert_contact(instance_id, who, ContactField::SavedName(name))
            .await
    }

    /// Creates or changes `who`'s contact record (one per person: a LID and its phone
    /// JID share the record of whichever came first; contacts are keyed like chats, so
    /// they are placed like chats) and reports it in the same commit. Reads first and
    /// writes only a new contact or a changed field, so the message path pays a write
    /// only when there is something to keep.
    async fn upsert_contact(
        &self,
        instance_id: &str,
        who: &str,
        field: ContactField,
    ) -> CoreResult<()> {
        let Ok(j) = jid::normalize(who) else {
            return Ok(());
        };
        if j.ends_with("@g.us") {
            return Ok(());
        }
        let (j, current) = self
            .store
            .read(|tx| -> CoreResult<(String, Option<Contact>)> {
                let table = tx.open_table(tables::CONTACTS).map_err(internal)?;
                let mut alts = Alts::open(tx, instance_id)?;
                let j = lid_map::place_chat(&table, &mut alts, instance_id, &j)?;
                let current = get_json::<_, Contact>(
                    &table,
                    tables::contact_key(instance_id, &j).as_slice(),
                )?;
                Ok((j, current))
            })?;
        if !field.changes(current.as_ref()) {
            return Ok(());
        }
        let key = tables::contact_key(instance_id, &j);
        let id = instance_id.to_string();
        self.store
            .write(move |tx| {
                let Some(record) = super::records::live_record(tx, &id)? else {
                    return Ok(());
                };
                let mut table = tx.open_table(tables::CONTACTS).map_err(internal)?;
                let current = get_json::<_, Contact>(&table, key.as_slice())?;
                // Raced with another write: nothing new to keep.
                if !field.changes(current.as_ref()) {
                    return Ok(());
                }
                let now = now_ms();
                let (mut contact, payload): (Contact, fn(Contact) -> EventPayload) = match current {
                    Some(c) => (c, EventPayload::ContactUpdate),
                    None => (
                        Contact {
                            jid: j.clone(),
                            jid_alt: None,
                            push_name: None,
                            saved_name: None,
                            business: false,
                            created_at: now,
                            updated_at: now,
                        },
                        EventPayload::ContactUpsert,
                    ),
                };
                field.apply(&mut contact);
                contact.updated_at = now;
                table
                    .insert(key.as_slice(), encode(&contact).as_slice())
                    .map_err(internal)?;
                drop(table);
                contact.jid_alt = Alts::open(tx, &id)?.of(&contact.jid)?;
                let event = super::outbox::event_for(&record.instance, payload(contact));
                super::outbox::append(tx, &event).map(|_| ())
            })
            .await
    }
}
