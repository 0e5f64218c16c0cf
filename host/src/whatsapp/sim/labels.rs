//! The sim phone's chat labels: the labels the account has and which chats carry them,
//! so the label routes are testable. The admin API plays the phone
//! (`/admin/sim/{i}/label`, `/admin/sim/{i}/label-chat`): each edit becomes the link
//! event WhatsApp's app-state sync would raise; the gateway's own `label_chat` is recorded as
//! a wire action (`label-add <label> <chat>`, `label-remove <label> <chat>`).

use std::collections::{BTreeMap, BTreeSet};

use super::SimLink;
use crate::core::labels::{LabelAssociation, LabelEdit};
use crate::util::now_ms;
use crate::whatsapp::{LinkError, LinkEvent};

/// One account's labels as its phone keeps them.
#[derive(Default)]
pub(super) struct SimLabels {
    /// Label id -> name.
    labels: BTreeMap<String, String>,
    /// (label id, chat JID) pairs.
    on_chats: BTreeSet<(String, String)>,
}

impl SimLabels {
    fn require(&self, label_id: &str) -> Result<(), LinkError> {
        if self.labels.contains_key(label_id) {
            Ok(())
        } else {
            Err(LinkError::NotFound(format!(
                "the phone has no label {label_id}"
            )))
        }
    }

    fn set_on_chat(&mut self, label_id: &str, chat: &str, labeled: bool) {
        let pair = (label_id.to_string(), chat.to_string());
        if labeled {
            self.on_chats.insert(pair);
        } else {
            self.on_chats.remove(&pair);
        }
    }
}

impl SimLink {
    /// The phone creates, changes or deletes a label: the label edit the session
    /// reports (the caller hands it to core, so it is stored when this returns).
    pub fn phone_edits_label(
        &self,
        instance_id: &str,
        edit: LabelEdit,
    ) -> Result<LinkEvent, LinkError> {
        self.require_open(instance_id)?;
        self.with_session(instance_id, |s| {
            if edit.deleted {
                s.labels.labels.remove(&edit.id);
                s.labels.on_chats.retain(|(l, _)| *l != edit.id);
            } else {
                let name = edit.name.clone().unwrap_or_default();
                s.labels.labels.insert(edit.id.clone(), name);
            }
        });
        Ok(LinkEvent::LabelEdit {
            instance_id: instance_id.to_string(),
            edit,
        })
    }

    /// The phone puts a label it has on a chat, or takes it off: the label association
    /// the session reports (handed to core like [`SimLink::phone_edits_label`]'s).
    pub fn phone_labels_chat(
        &self,
        instance_id: &str,
        label_id: &str,
        chat: &str,
        labeled: bool,
    ) -> Result<LinkEvent, LinkError> {
        self.set_chat_label(instance_id, label_id, chat, labeled)?;
        Ok(LinkEvent::LabelAssociation {
            instance_id: instance_id.to_string(),
            association: LabelAssociation {
                label_id: label_id.to_string(),
                chat_jid: chat.to_string(),
                labeled,
                timestamp: now_ms(),
            },
        })
    }

    /// Puts a label the phone has on a chat of an open session, or takes it off (the
    /// phone's change and the gateway's alike).
    fn set_chat_label(
        &self,
        instance_id: &str,
        label_id: &str,
        chat: &str,
        labeled: bool,
    ) -> Result<(), LinkError> {
        self.require_open(instance_id)?;
        self.with_session(instance_id, |s| {
            s.labels.require(label_id)?;
            s.labels.set_on_chat(label_id, chat, labeled);
            Ok(())
        })
    }

    /// The gateway's `label_chat`: the label must be one the phone has.
    pub(super) fn sim_label_chat(
        &self,
        instance_id: &str,
        chat: &str,
        label_id: &str,
        labeled: bool,
    ) -> Result<(), LinkError> {
        self.set_chat_label(instance_id, label_id, chat, labeled)?;
        let verb = if labeled { "label-add" } else { "label-remove" };
        self.record(instance_id, format!("{verb} {label_id} {chat}"));
        Ok(())
    }
}
