//! Who is behind a LID: the LID <-> phone mapping an instance has learned.
//!
//! WhatsApp addresses more and more contacts by a LID (`<digits>@lid`), an alias that
//! hides the phone number; the same person may write from their LID today and from
//! their phone JID tomorrow. The link reports which phone is behind a LID (a
//! message's alternate addresses, a history conversation, a group notice, an address
//! book entry; not yet a number check) and the core keeps that
//! mapping per instance in [`tables::JID_ALTS`], so that:
//!
//! - reads carry the other half beside the JID: a message's `chat_jid_alt` and
//!   `sender_alt`, a chat's and a contact's `jid_alt`, including on records stored
//!   before the mapping was known (they are filled when read, not only when written);
//! - a client may address a chat by either half ([`place_chat`], [`stored_chat_jid`]);
//! - one person's conversation is not split in two when WhatsApp switches addressing:
//!   a chat is stored under the address of its first message, and later messages to
//!   or from either half join it. (Two chats stored before their pair was known stay
//!   two; nothing merges them.)

use std::collections::HashMap;

use crate::store::kv::{ReadableTable, WriteTx};

use super::Core;
use super::model::{Chat, CoreResult, Message};
use crate::store::{internal, tables};

const LID_SERVER: &str = "@lid";
const PHONE_SERVER: &str = "@s.whatsapp.net";

/// A normalised LID (`<digits>@lid`).
pub fn is_lid(jid: &str) -> bool {
    jid.ends_with(LID_SERVER)
}

/// A normalised phone JID (`<digits>@s.whatsapp.net`).
pub fn is_phone(jid: &str) -> bool {
    jid.ends_with(PHONE_SERVER)
}

/// Orders two addresses of one person as `(lid, phone)`; `None` unless one is a LID
/// and the other a phone JID (both normalised).
pub fn pair(a: &str, b: &str) -> Option<(String, String)> {
    let (a, b) = (
        super::jid::normalize(a).ok()?,
        super::jid::normalize(b).ok()?,
    );
    match (is_lid(&a), is_phone(&b), is_phone(&a), is_lid(&b)) {
        (true, true, _, _) => Some((a, b)),
        (_, _, true, true) => Some((b, a)),
        _ => None,
    }
}

/// Records that `lid` and `phone` are one person on this instance. A LID that moved to
/// another phone (or a phone to another LID) drops its old pair, so each half maps to
/// exactly one other. Returns whether anything changed.
pub(crate) fn learn(tx: &WriteTx, instance_id: &str, lid: &str, phone: &str) -> CoreResult<bool> {
    let mut table = tx.open_table(tables::JID_ALTS).map_err(internal)?;
    let key = |jid: &str| tables::chat_key(instance_id, jid);
    let current =
        |t: &crate::store::kv::Table<&[u8], &[u8]>, jid: &str| -> CoreResult<Option<String>> {
            Ok(t.get(key(jid).as_slice())
                .map_err(internal)?
                .map(|v| String::from_utf8_lossy(v.value()).into_owned()))
        };
    if current(&table, lid)?.as_deref() == Some(phone) {
        return Ok(false);
    }
    // Unpair whatever each half was paired with before.
    for (this, other) in [
        (lid, current(&table, lid)?),
        (phone, current(&table, phone)?),
    ] {
        if let Some(other) = other
            && current(&table, &other)?.as_deref() == Some(this)
        {
            table.remove(key(&other).as_slice()).map_err(internal)?;
        }
    }
    table
        .insert(key(lid).as_slice(), phone.as_bytes())
        .map_err(internal)?;
    table
        .insert(key(phone).as_slice(), lid.as_bytes())
        .map_err(internal)?;
    Ok(true)
}

/// Looks up other halves, remembering each answer (a page of one chat asks about the
/// same few JIDs over and over).
pub(crate) struct Alts<'i, T> {
    table: T,
    instance_id: &'i str,
    seen: HashMap<String, Option<String>>,
}

/// A transaction the pair table is read through: a read or a write transaction.
pub(crate) trait PairTable<'t> {
    type Table: ReadableTable<&'static [u8], &'static [u8]>;
    /// Opens [`tables::JID_ALTS`].
    fn open_pairs(&'t self) -> CoreResult<Self::Table>;
}

impl<'t> PairTable<'t> for crate::store::kv::ReadTx {
    type Table = crate::store::kv::ReadTable<'t, &'static [u8], &'static [u8]>;
    fn open_pairs(&'t self) -> CoreResult<Self::Table> {
        Ok(self.open_table(tables::JID_ALTS).map_err(internal)?)
    }
}

impl<'t> PairTable<'t> for WriteTx {
    type Table = crate::store::kv::Table<'t, &'static [u8], &'static [u8]>;
    fn open_pairs(&'t self) -> CoreResult<Self::Table> {
        Ok(self.open_table(tables::JID_ALTS).map_err(internal)?)
    }
}

impl<'i, T: ReadableTable<&'static [u8], &'static [u8]>> Alts<'i, T> {
    /// The pairs of `instance_id`, read through `tx`.
    pub(crate) fn open<'t, X: PairTable<'t, Table = T> + ?Sized>(
        tx: &'t X,
        instance_id: &'i str,
    ) -> CoreResult<Self> {
        Ok(Self {
            table: tx.open_pairs()?,
            instance_id,
            seen: HashMap::new(),
        })
    }

    /// The other half of `jid` (the phone JID of a LID, the LID of a phone JID), when
    /// known. Groups and other addresses have none.
    pub(crate) fn of(&mut self, jid: &str) -> CoreResult<Option<String>> {
        if !is_lid(jid) && !is_phone(jid) {
            return Ok(None);
        }
        if let Some(hit) = self.seen.get(jid) {
            return Ok(hit.clone());
        }
        let found = self
            .table
            .get(tables::chat_key(self.instance_id, jid).as_slice())
            .map_err(internal)?
            .map(|v| String::from_utf8_lossy(v.value()).into_owned());
        self.seen.insert(jid.to_string(), found.clone());
        Ok(found)
    }

    /// Sets a message's alternates from the table, which wins over what the record
    /// was stored with (a record stored before its pair was learned picks it up here,
    /// and one stored before a re-pairing shows the current pair); what the table does
    /// not know keeps the record's own.
    pub(crate) fn fill_message(&mut self, m: &mut Message) -> CoreResult<()> {
        if let Some(alt) = self.of(&m.chat_jid)? {
            m.chat_jid_alt = Some(alt);
        }
        if !m.sender.is_empty()
            && let Some(alt) = self.of(&m.sender)?
        {
            m.sender_alt = Some(alt);
        }
        Ok(())
    }

    /// Sets a chat's alternate from the table.
    pub(crate) fn fill_chat(&mut self, c: &mut Chat) -> CoreResult<()> {
        if let Some(alt) = self.of(&c.jid)? {
            c.jid_alt = Some(alt);
        }
        Ok(())
    }
}

/// The key of the stored chat that `jid` names, by either half: `jid` itself when a
/// chat is stored under it, else its other half when one is stored under that, else
/// `None`.
pub(crate) fn stored_chat_jid<C, T>(
    chats: &C,
    alts: &mut Alts<'_, T>,
    instance_id: &str,
    jid: &str,
) -> CoreResult<Option<String>>
where
    C: ReadableTable<&'static [u8], &'static [u8]>,
    T: ReadableTable<&'static [u8], &'static [u8]>,
{
    let stored = |j: &str| -> CoreResult<bool> {
        Ok(chats
            .get(tables::chat_key(instance_id, j).as_slice())
            .map_err(internal)?
            .is_some())
    };
    if stored(jid)? {
        return Ok(Some(jid.to_string()));
    }
    match alts.of(jid)? {
        Some(alt) if stored(&alt)? => Ok(Some(alt)),
        _ => Ok(None),
    }
}

/// The chat a new message to or from `jid` belongs in: the stored chat of either half
/// ([`stored_chat_jid`]), else a new one under `jid` itself, the address the
/// conversation began with. (Not the phone JID by preference: a phone number can pass
/// to another person, a LID cannot.) Contacts are keyed like chats and placed the same
/// way (`chats` is then the contacts table).
pub(crate) fn place_chat<C, T>(
    chats: &C,
    alts: &mut Alts<'_, T>,
    instance_id: &str,
    jid: &str,
) -> CoreResult<String>
where
    C: ReadableTable<&'static [u8], &'static [u8]>,
    T: ReadableTable<&'static [u8], &'static [u8]>,
{
    Ok(stored_chat_jid(chats, alts, instance_id, jid)?.unwrap_or_else(|| jid.to_string()))
}

/// An event as it is committed: the messages it carries show the pairs known in
/// this transaction (an edit, receipt, reaction or vote on a message stored before its
/// pair was learned reports the pair). `None` when it carries none to fill. New
/// messages and chats (`message_upsert`, history, chat updates) are left out: they
/// were filled as they were placed, just before their commit, and the inbound path
/// should not pay for a second lookup and a copy of every message.
pub(crate) fn event_with_alts(
    tx: &WriteTx,
    event: &super::model::Event,
) -> CoreResult<Option<super::model::Event>> {
    use super::model::EventPayload as P;
    let carries = matches!(
        &event.payload,
        P::MessageRevoked(_)
            | P::MessageMedia(_)
            | P::MessageDeleted(_)
            | P::MessageStatus(_)
            | P::MessageEdited(_)
            | P::MessageReaction(_)
            | P::PollVote(_)
    );
    if !carries {
        return Ok(None);
    }
    let mut alts = Alts::open(tx, &event.instance_id)?;
    let mut event = event.clone();
    match &mut event.payload {
        P::MessageRevoked(m)
        | P::MessageMedia(m)
        | P::MessageDeleted(m)
        | P::MessageStatus(m)
        | P::MessageEdited(m) => alts.fill_message(m)?,
        P::MessageReaction(u) => alts.fill_message(&mut u.message)?,
        P::PollVote(u) => alts.fill_message(&mut u.message)?,
        _ => {}
    }
    Ok(Some(event))
}

/// Files `m` under the chat it belongs in ([`place_chat`]) and fills its alternates.
pub(crate) fn place_message<C, T>(
    chats: &C,
    alts: &mut Alts<'_, T>,
    instance_id: &str,
    m: &mut Message,
) -> CoreResult<()>
where
    C: ReadableTable<&'static [u8], &'static [u8]>,
    T: ReadableTable<&'static [u8], &'static [u8]>,
{
    let placed = place_chat(chats, alts, instance_id, &m.chat_jid)?;
    if placed != m.chat_jid {
        m.chat_jid = placed;
        m.chat_jid_alt = None;
    }
    alts.fill_message(m)
}

impl Core {
    /// Records the LID <-> phone pairs the link reported with an event. Reads first and
    /// writes only a new or changed pair, so the message path pays a write only when
    /// there is something to learn.
    pub(crate) async fn learn_alts(
        &self,
        instance_id: &str,
        pairs: Vec<(String, String)>,
    ) -> CoreResult<()> {
        if pairs.is_empty() {
            return Ok(());
        }
        let known = self.store.read(|tx| -> CoreResult<bool> {
            let mut alts = Alts::open(tx, instance_id)?;
            for (lid, phone) in &pairs {
                if alts.of(lid)?.as_deref() != Some(phone.as_str()) {
                    return Ok(false);
                }
            }
            Ok(true)
        })?;
        if known {
            return Ok(());
        }
        let id = instance_id.to_string();
        self.store
            .write(move |tx| {
                // An instance deleted meanwhile keeps nothing.
                if super::records::live_record(tx, &id)?.is_none() {
                    return Ok(());
                }
                for (lid, phone) in &pairs {
                    learn(tx, &id, lid, phone)?;
                }
                Ok(())
            })
            .await
    }

    /// [`place_message`] against the committed store (before a message is written:
    /// its media key depends on the chat it is filed under).
    pub(crate) fn place_message(&self, instance_id: &str, m: &mut Message) -> CoreResult<()> {
        self.store.read(|tx| {
            let chats = tx.open_table(tables::CHATS).map_err(internal)?;
            let mut alts = Alts::open(tx, instance_id)?;
            place_message(&chats, &mut alts, instance_id, m)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_a_lid_with_a_phone_in_either_order() {
        let want = Some((
            "123456789@lid".into(),
            "5511999990000@s.whatsapp.net".into(),
        ));
        assert_eq!(pair("123456789@lid", "5511999990000"), want);
        assert_eq!(pair("5511999990000@s.whatsapp.net", "123456789@lid"), want);
        assert_eq!(pair("123456789@lid", "987654321@lid"), None);
        assert_eq!(pair("5511999990000", "120363000000000001@g.us"), None);
        assert_eq!(pair("not a jid", "123456789@lid"), None);
    }
}
