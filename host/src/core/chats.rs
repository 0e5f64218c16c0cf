//! Chats: list, read, archive/pin/mute, delete (local copy, optionally with media).

use super::Core;
use super::jid;
use super::lid_map::{self, Alts};
use super::messages::chat_not_found;
use super::model::{
    Capability, Chat, ChatPatch, ConnectionState, CoreResult, EventPayload, InstanceRef, Principal,
};
use crate::core::outbox;
use crate::store::kv::ReadableTable;
use crate::store::{decode, encode, get_json, internal, tables};

impl Core {
    /// Stored chats: pinned first, then most recent activity first.
    pub async fn list_chats(&self, p: &Principal, which: &InstanceRef) -> CoreResult<Vec<Chat>> {
        let record = self.authorize(p, which, Capability::Read)?;
        let prefix = tables::instance_prefix(&record.instance.id);
        let end = tables::prefix_end(&prefix);
        let mut chats = self.store.read(|tx| -> CoreResult<Vec<Chat>> {
            let table = tx.open_table(tables::CHATS).map_err(internal)?;
            let mut alts = Alts::open(tx, &record.instance.id)?;
            let mut out = Vec::new();
            for row in table
                .range::<&[u8]>(prefix.as_slice()..end.as_slice())
                .map_err(internal)?
            {
                let mut chat = decode::<Chat>(row.map_err(internal)?.1.value())?;
                alts.fill_chat(&mut chat)?;
                out.push(chat);
            }
            Ok(out)
        })?;
        chats.sort_by(|a, b| {
            b.pinned
                .cmp(&a.pinned)
                .then(b.last_activity.cmp(&a.last_activity))
        });
        Ok(chats)
    }

    /// One stored chat, by number or JID in any accepted spelling.
    pub async fn get_chat(
        &self,
        p: &Principal,
        which: &InstanceRef,
        chat: &str,
    ) -> CoreResult<Chat> {
        let record = self.authorize(p, which, Capability::Read)?;
        let chat_jid = jid::normalize(chat)?;
        self.stored_chat(&record.instance.id, &chat_jid)
    }

    /// A stored chat, by either half of a LID <-> phone pair, without authorization:
    /// callers have authorized already (with the capability their own operation needs).
    /// Its `jid` is the key it is stored under.
    fn stored_chat(&self, instance_id: &str, chat_jid: &str) -> CoreResult<Chat> {
        self.store.read(|tx| {
            let table = tx.open_table(tables::CHATS).map_err(internal)?;
            let mut alts = Alts::open(tx, instance_id)?;
            let key = lid_map::stored_chat_jid(&table, &mut alts, instance_id, chat_jid)?
                .ok_or_else(chat_not_found)?;
            let mut chat =
                get_json::<_, Chat>(&table, tables::chat_key(instance_id, &key).as_slice())?
                    .ok_or_else(chat_not_found)?;
            alts.fill_chat(&mut chat)?;
            Ok(chat)
        })
    }

    /// Applies a partial archive/pin/mute update; synced through WhatsApp app state
    /// when the link is open, stored locally either way.
    pub async fn update_chat(
        &self,
        p: &Principal,
        which: &InstanceRef,
        chat: &str,
        patch: ChatPatch,
    ) -> CoreResult<Chat> {
        let record = self.authorize(p, which, Capability::Send)?;
        let current = self.stored_chat(&record.instance.id, &jid::normalize(chat)?)?;
        let chat_jid = current.jid.clone();
        if self.live_state(&record.instance) == ConnectionState::Open {
            self.link
                .update_chat(&record.instance.id, &current.jid, &patch)
                .await?;
        }
        let instance = record.instance;
        self.store
            .write(move |tx| {
                let mut table = tx.open_table(tables::CHATS).map_err(internal)?;
                let key = tables::chat_key(&instance.id, &chat_jid);
                let Some(mut chat) = get_json::<_, Chat>(&table, key.as_slice())? else {
                    return Err(chat_not_found());
                };
                apply_patch(&mut chat, &patch);
                table
                    .insert(key.as_slice(), encode(&chat).as_slice())
                    .map_err(internal)?;
                drop(table);
                chat.jid_alt = current.jid_alt.clone();
                outbox::append(
                    tx,
                    &outbox::event_for(&instance, EventPayload::ChatUpdated(chat.clone())),
                )?;
                Ok(chat)
            })
            .await
    }

    /// Removes a chat and its stored messages from the gateway's copy (WhatsApp keeps
    /// the conversation; it comes back on new activity). With `media`, its media files
    /// go too. When the link is open, the chat is also deleted on the account's devices.
    pub async fn delete_chat(
        &self,
        p: &Principal,
        which: &InstanceRef,
        chat: &str,
        media: bool,
    ) -> CoreResult<String> {
        let record = self.authorize(p, which, Capability::Send)?;
        // The key it is stored under, when named by the other half of a LID pair.
        let chat_jid = self
            .stored_chat(&record.instance.id, &jid::normalize(chat)?)?
            .jid;
        if self.live_state(&record.instance) == ConnectionState::Open {
            self.link
                .delete_chat(&record.instance.id, &chat_jid)
                .await?;
        }
        let instance = record.instance;
        let jid_out = chat_jid.clone();
        self.store
            .write(move |tx| {
                let mut chats = tx.open_table(tables::CHATS).map_err(internal)?;
                if chats
                    .remove(tables::chat_key(&instance.id, &chat_jid).as_slice())
                    .map_err(internal)?
                    .is_none()
                {
                    return Err(chat_not_found());
                }
                drop(chats);
                let prefix = tables::chat_messages_prefix(&instance.id, &chat_jid);
                let end = tables::prefix_end(&prefix);
                let mut messages = tx.open_table(tables::MESSAGES).map_err(internal)?;
                let mut ids = tx.open_table(tables::MESSAGE_IDS).map_err(internal)?;
                let mut gc = tx.open_table(tables::MEDIA_GC).map_err(internal)?;
                let removed = messages
                    .extract_from_if::<&[u8], _>(prefix.as_slice()..end.as_slice(), |_, _| true)
                    .map_err(internal)?;
                for row in removed {
                    let (_, v) = row.map_err(internal)?;
                    let message = decode::<super::model::Message>(v.value())?;
                    ids.remove(tables::message_id_key(&instance.id, &message.id).as_slice())
                        .map_err(internal)?;
                    if media && message.media.is_some() {
                        let key = super::media::media_key(&instance.id, &message)?;
                        gc.insert(key.as_str(), ()).map_err(internal)?;
                    }
                }
                drop((messages, ids, gc));
                outbox::append(
                    tx,
                    &outbox::event_for(&instance, EventPayload::ChatDeleted(chat_jid.clone())),
                )?;
                Ok(())
            })
            .await?;
        if media {
            self.media_gc.collect_now().await;
        }
        Ok(jid_out)
    }
}

/// `unmute` wins over `muted_until`; a `muted_until` of 0 also clears the mute.
fn apply_patch(chat: &mut Chat, patch: &ChatPatch) {
    if let Some(a) = patch.archived {
        chat.archived = a;
    }
    if let Some(p) = patch.pinned {
        chat.pinned = p;
    }
    if patch.unmute {
        chat.muted_until = None;
    } else if let Some(until) = patch.muted_until {
        chat.muted_until = (until > 0).then_some(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmute_wins_and_omitted_fields_stay() {
        let mut chat = Chat {
            jid: "j".into(),
            jid_alt: None,
            name: None,
            archived: true,
            pinned: false,
            muted_until: Some(5),
            last_activity: 1,
        };
        apply_patch(
            &mut chat,
            &ChatPatch {
                archived: None,
                pinned: Some(true),
                muted_until: Some(99),
                unmute: true,
            },
        );
        assert!(chat.archived && chat.pinned);
        assert_eq!(chat.muted_until, None);
        apply_patch(
            &mut chat,
            &ChatPatch {
                muted_until: Some(99),
                ..Default::default()
            },
        );
        assert_eq!(chat.muted_until, Some(99));
    }
}
