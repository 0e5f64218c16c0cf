//! Chat labels (WhatsApp Business "etiquetas"): the labels an account keeps, and which
//! chats carry which label. WhatsApp syncs both to linked devices through app state
//! (`label_edit` and `label_jid` mutations), so the phone's edits arrive as link events
//! ([`Core::ingest_label_edit`], [`Core::ingest_label_association`]); the gateway may
//! put a label on a chat or take it off ([`Core::label_chat`]). Every change is stored
//! and reported in the same commit (`label_edit`, `label_association` events), only
//! when it changes something: a full app-state sync repeats what is known.
//!
//! A deleted label goes from the store with its chat associations (WhatsApp Web prunes
//! them too); its `label_edit` event carries the label as last known, `deleted: true`.
//! Both tables are keyed by instance and go with it.

use crate::store::kv::ReadableTable;
use serde::{Deserialize, Serialize};

use super::Core;
use super::model::{
    Capability, CoreError, CoreResult, EventPayload, InstanceRef, Principal, Resource,
};
use super::{jid, outbox};
use crate::store::{encode, get_json, internal, tables};
use crate::util::now_ms;

/// Longest label id taken from a caller (WhatsApp's are short decimal numbers).
const MAX_LABEL_ID_LEN: usize = 64;

/// A label as the account keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// WhatsApp's id of the label (its app-state index key, a decimal number).
    pub id: String,
    /// Its name.
    pub name: String,
    /// One of WhatsApp's label colours, by index (0-19).
    pub color: i32,
    /// Set on the labels WhatsApp Business predefines ("New customer", ...).
    pub predefined_id: Option<String>,
    /// Deleted on the phone (only events carry it: a deleted label is not stored).
    pub deleted: bool,
}

/// A label put on a chat or taken off it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelAssociation {
    /// The label's id.
    pub label_id: String,
    /// The chat's JID.
    pub chat_jid: String,
    /// `true`: put on; `false`: taken off.
    pub labeled: bool,
    /// Epoch ms of the change.
    pub timestamp: u64,
}

/// A label edit as the link reports it: the fields the mutation carried (the others
/// keep their stored value).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelEdit {
    /// The label's id.
    pub id: String,
    /// Its new name, when the edit carried one.
    pub name: Option<String>,
    /// Its new colour, when the edit carried one.
    pub color: Option<i32>,
    /// Its predefined id, when the edit carried one.
    pub predefined_id: Option<String>,
    /// The label was deleted.
    pub deleted: bool,
}

/// `instance \0 label_id`.
fn label_key(instance_id: &str, label_id: &str) -> Vec<u8> {
    tables::chat_key(instance_id, label_id)
}

/// `instance \0 chat \0`: the prefix of one chat's label rows.
fn chat_labels_prefix(instance_id: &str, chat: &str) -> Vec<u8> {
    tables::chat_messages_prefix(instance_id, chat)
}

/// `instance \0 chat \0 label_id`.
fn chat_label_key(instance_id: &str, chat: &str, label_id: &str) -> Vec<u8> {
    let mut k = chat_labels_prefix(instance_id, chat);
    k.extend_from_slice(label_id.as_bytes());
    k
}

fn label_not_found(label_id: &str) -> CoreError {
    CoreError::NotFound(Resource::Label, format!("label {label_id} not found"))
}

/// A label id as a caller gives it: non-empty, short, no separator.
fn check_label_id(label_id: &str) -> CoreResult<String> {
    let id = label_id.trim();
    if id.is_empty() || id.len() > MAX_LABEL_ID_LEN || id.contains('\0') {
        return Err(CoreError::Invalid(format!(
            "a label id is 1 to {MAX_LABEL_ID_LEN} characters"
        )));
    }
    Ok(id.to_string())
}

impl Core {
    /// The instance's labels, by id. Needs `read`.
    pub async fn list_labels(&self, p: &Principal, which: &InstanceRef) -> CoreResult<Vec<Label>> {
        let record = self.authorize(p, which, Capability::Read)?;
        self.labels_of(&record.instance.id)
    }

    /// The labels on one chat (a number or JID), by id: those put on it under either
    /// half of its LID <-> phone pair, when the instance knows the pair (the phone
    /// names a chat by the address it uses). Needs `read`.
    pub async fn chat_labels(
        &self,
        p: &Principal,
        which: &InstanceRef,
        chat: &str,
    ) -> CoreResult<Vec<Label>> {
        let record = self.authorize(p, which, Capability::Read)?;
        let chat = jid::normalize(chat)?;
        let id = record.instance.id;
        let on_chat = self.store.read(|tx| -> CoreResult<Vec<String>> {
            let alt = super::lid_map::Alts::open(tx, &id)?.of(&chat)?;
            let table = tx.open_table(tables::CHAT_LABELS).map_err(internal)?;
            let mut ids = Vec::new();
            for address in std::iter::once(&chat).chain(alt.as_ref()) {
                let prefix = chat_labels_prefix(&id, address);
                let end = tables::prefix_end(&prefix);
                for row in table
                    .range(prefix.as_slice()..end.as_slice())
                    .map_err(internal)?
                {
                    let (k, _) = row.map_err(internal)?;
                    ids.push(String::from_utf8_lossy(&k.value()[prefix.len()..]).into_owned());
                }
            }
            Ok(ids)
        })?;
        Ok(self
            .labels_of(&id)?
            .into_iter()
            .filter(|l| on_chat.contains(&l.id))
            .collect())
    }

    /// Puts label `label_id` on `chat` (a number or JID), or takes it off, on the
    /// account's devices (app state), then stores it with a `label_association` event
    /// when it changed anything. `not-found` for a label the instance does not have.
    /// Needs `send`.
    pub async fn label_chat(
        &self,
        p: &Principal,
        which: &InstanceRef,
        chat: &str,
        label_id: &str,
        labeled: bool,
    ) -> CoreResult<LabelAssociation> {
        let record = self.authorize(p, which, Capability::Send)?;
        let label_id = check_label_id(label_id)?;
        let chat_jid = jid::normalize(chat)?;
        let id = record.instance.id.clone();
        if !self.labels_of(&id)?.iter().any(|l| l.id == label_id) {
            return Err(label_not_found(&label_id));
        }
        self.link
            .label_chat(&id, &chat_jid, &label_id, labeled)
            .await?;
        let association = LabelAssociation {
            label_id,
            chat_jid,
            labeled,
            timestamp: now_ms(),
        };
        self.store_association(&id, association.clone()).await?;
        Ok(association)
    }

    /// Stores a label the phone created, changed or deleted, reported as `label_edit`
    /// when it changed anything. A label of an instance deleted meanwhile is dropped.
    pub async fn ingest_label_edit(&self, instance_id: &str, edit: LabelEdit) -> CoreResult<()> {
        let Ok(label_id) = check_label_id(&edit.id) else {
            tracing::debug!(instance = %instance_id, "label edit without a usable id");
            return Ok(());
        };
        let id = instance_id.to_string();
        self.store
            .write(move |tx| {
                let Some(record) = super::records::live_record(tx, &id)? else {
                    return Ok(());
                };
                let mut labels = tx.open_table(tables::LABELS).map_err(internal)?;
                let key = label_key(&id, &label_id);
                let stored = get_json::<_, Label>(&labels, key.as_slice())?;
                let label = Label {
                    id: label_id.clone(),
                    name: edit
                        .name
                        .clone()
                        .or_else(|| stored.as_ref().map(|l| l.name.clone()))
                        .unwrap_or_default(),
                    color: edit
                        .color
                        .or_else(|| stored.as_ref().map(|l| l.color))
                        .unwrap_or(0),
                    predefined_id: edit
                        .predefined_id
                        .clone()
                        .or_else(|| stored.as_ref().and_then(|l| l.predefined_id.clone())),
                    deleted: edit.deleted,
                };
                if edit.deleted {
                    if stored.is_none() {
                        return Ok(());
                    }
                    labels.remove(key.as_slice()).map_err(internal)?;
                    drop(labels);
                    unlabel_all(tx, &id, &label_id)?;
                } else {
                    if stored.as_ref() == Some(&label) {
                        return Ok(());
                    }
                    labels
                        .insert(key.as_slice(), encode(&label).as_slice())
                        .map_err(internal)?;
                    drop(labels);
                }
                let event = outbox::event_for(&record.instance, EventPayload::LabelEdit(label));
                outbox::append(tx, &event).map(|_| ())
            })
            .await
    }

    /// Stores a label the phone put on a chat or took off, reported as
    /// `label_association` when it changed anything. The label need not be known yet
    /// (a full sync may send a chat's labels before the labels).
    pub async fn ingest_label_association(
        &self,
        instance_id: &str,
        association: LabelAssociation,
    ) -> CoreResult<()> {
        let (Ok(label_id), Ok(chat_jid)) = (
            check_label_id(&association.label_id),
            jid::normalize(&association.chat_jid),
        ) else {
            tracing::debug!(instance = %instance_id, "label association without a usable id or chat");
            return Ok(());
        };
        self.store_association(
            instance_id,
            LabelAssociation {
                label_id,
                chat_jid,
                ..association
            },
        )
        .await
    }

    /// Puts `association` in the store and the outbox, unless the store already says
    /// the same.
    async fn store_association(
        &self,
        instance_id: &str,
        association: LabelAssociation,
    ) -> CoreResult<()> {
        let id = instance_id.to_string();
        self.store
            .write(move |tx| {
                let Some(record) = super::records::live_record(tx, &id)? else {
                    return Ok(());
                };
                let mut table = tx.open_table(tables::CHAT_LABELS).map_err(internal)?;
                let key = chat_label_key(&id, &association.chat_jid, &association.label_id);
                let present = table.get(key.as_slice()).map_err(internal)?.is_some();
                if present == association.labeled {
                    return Ok(());
                }
                if association.labeled {
                    table
                        .insert(key.as_slice(), [].as_slice())
                        .map_err(internal)?;
                } else {
                    table.remove(key.as_slice()).map_err(internal)?;
                }
                drop(table);
                let event = outbox::event_for(
                    &record.instance,
                    EventPayload::LabelAssociation(association.clone()),
                );
                outbox::append(tx, &event).map(|_| ())
            })
            .await
    }

    /// The stored labels of an instance by id, in id order.
    fn labels_of(&self, instance_id: &str) -> CoreResult<Vec<Label>> {
        let prefix = tables::instance_prefix(instance_id);
        self.store.read(|tx| {
            let table = tx.open_table(tables::LABELS).map_err(internal)?;
            let end = tables::prefix_end(&prefix);
            let mut labels = Vec::new();
            for row in table
                .range(prefix.as_slice()..end.as_slice())
                .map_err(internal)?
            {
                let (_, v) = row.map_err(internal)?;
                labels.push(crate::store::decode::<Label>(v.value())?);
            }
            // WhatsApp's ids are numbers: "10" after "9".
            labels.sort_by(|a, b| (a.id.len(), &a.id).cmp(&(b.id.len(), &b.id)));
            Ok(labels)
        })
    }
}

/// Takes a deleted label off every chat of the instance inside `tx`.
fn unlabel_all(
    tx: &crate::store::kv::WriteTx,
    instance_id: &str,
    label_id: &str,
) -> CoreResult<()> {
    let prefix = tables::instance_prefix(instance_id);
    let end = tables::prefix_end(&prefix);
    let suffix = {
        let mut s = vec![0u8];
        s.extend_from_slice(label_id.as_bytes());
        s
    };
    tx.open_table(tables::CHAT_LABELS)
        .map_err(internal)?
        .retain_in(prefix.as_slice()..end.as_slice(), |k, _| {
            !k.ends_with(&suffix)
        })
        .map_err(internal)?;
    Ok(())
}
