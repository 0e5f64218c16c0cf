//! Group changes WhatsApp announces to the account: members added, removed, promoted
//! or demoted; a new subject, description or setting; the account created or was
//! added to a group. Each is applied to the stored copy of the group
//! ([`tables::GROUPS`]) and reported in the same commit:
//!
//! - `group_participants` for members ([`GroupParticipantsUpdate`]);
//! - `group_update` for the group's info and settings ([`GroupUpdate`]);
//! - `group_upsert` when the account joins a group (created it, was added, or joined
//!   by link): the group's whole metadata, which WhatsApp's announcement does not
//!   carry, so it is asked of the link off the event path first.
//!
//! WhatsApp announces changes this account makes too (every member's devices get the
//! notification), so a change made through the API is reported like anyone else's.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Core;
use super::groups::{Group, GroupParticipant, GroupSetting, ParticipantAction, ParticipantRole};
use super::model::{CoreResult, EventPayload};
use super::outbox;
use crate::store::{encode, get_json, internal, tables};

/// How long the metadata of a newly joined group may take to arrive before the join
/// is reported without it being stored.
const JOINED_METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// A member named in a participants change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    /// The member's JID (phone or LID).
    pub jid: String,
    /// Their phone-number JID, when `jid` is a LID and WhatsApp said the number.
    pub phone: Option<String>,
}

/// A change to a group's info or settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupInfoChange {
    /// A new subject (name).
    Subject(String),
    /// A new description (`text` `None` when it was removed) and WhatsApp's id of it.
    Description {
        /// The description.
        text: Option<String>,
        /// WhatsApp's id of this description, when it said.
        id: Option<String>,
    },
    /// One setting changed.
    Setting(GroupSetting),
}

/// What a group change does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupChangeKind {
    /// Members added, removed, promoted or demoted.
    Participants {
        /// Which.
        action: ParticipantAction,
        /// Whom.
        members: Vec<GroupMember>,
    },
    /// The group's info or a setting.
    Info(GroupInfoChange),
    /// The account created the group or joined it.
    Joined,
}

/// A group change as the link reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupChange {
    /// `...@g.us`.
    pub group_jid: String,
    /// Who made the change (an admin; the member who joined or left), when known.
    pub author: Option<String>,
    /// Epoch ms of the change.
    pub timestamp: u64,
    /// What changed.
    pub kind: GroupChangeKind,
}

/// The `group_participants` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupParticipantsUpdate {
    /// `...@g.us`.
    pub group_jid: String,
    /// Who made the change, when known.
    pub author: Option<String>,
    /// Epoch ms of the change.
    pub timestamp: u64,
    /// Added, removed, promoted or demoted.
    pub action: ParticipantAction,
    /// The members concerned.
    pub members: Vec<GroupMember>,
    /// The group as stored after the change, when the gateway has it.
    pub group: Option<Group>,
}

/// The `group_update` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupUpdate {
    /// `...@g.us`.
    pub group_jid: String,
    /// Who made the change, when known.
    pub author: Option<String>,
    /// Epoch ms of the change.
    pub timestamp: u64,
    /// What changed.
    pub change: GroupInfoChange,
    /// The group as stored after the change, when the gateway has it.
    pub group: Option<Group>,
}

impl Core {
    /// Applies a group change to the stored copy and reports it (see the module doc).
    /// When the account is among the members added, the group's metadata is fetched
    /// and reported as `group_upsert` after the participants event.
    pub async fn ingest_group_change(
        self: &Arc<Self>,
        instance_id: &str,
        change: GroupChange,
    ) -> CoreResult<()> {
        let Some(record) = self.record_by_id(instance_id)? else {
            return Ok(());
        };
        let me = record.instance.owner_jid.clone();
        // A LID member's phone number, when WhatsApp said it, is a pair the instance
        // keeps (`lid_map`); failing to keep it loses no group change.
        if let GroupChangeKind::Participants { members, .. } = &change.kind {
            let pairs = members
                .iter()
                .filter_map(|m| super::lid_map::pair(&m.jid, m.phone.as_deref()?))
                .collect();
            if let Err(e) = self.learn_alts(instance_id, pairs).await {
                tracing::warn!(instance = %instance_id, error = %e, "recording members' phone numbers");
            }
        }
        let joined = match &change.kind {
            GroupChangeKind::Joined => true,
            GroupChangeKind::Participants {
                action: ParticipantAction::Add,
                members,
            } => names_account(members, me.as_deref()),
            _ => false,
        };
        // An instance that ignores groups keeps its stored copies current but reports
        // nothing about them, as it reports none of their messages.
        let report = !record.behaviour.ignore_groups;
        if !matches!(change.kind, GroupChangeKind::Joined) {
            self.apply_group_change(instance_id, change.clone(), report)
                .await?;
        }
        if joined {
            self.report_joined_group(instance_id, change.group_jid, report);
        }
        Ok(())
    }

    /// One commit: the stored group as changed (gone when the account was removed
    /// from it), and the event that reports it (unless `report` is off).
    async fn apply_group_change(
        &self,
        instance_id: &str,
        change: GroupChange,
        report: bool,
    ) -> CoreResult<()> {
        let id = instance_id.to_string();
        self.store
            .write(move |tx| {
                let Some(record) = super::records::live_record(tx, &id)? else {
                    return Ok(());
                };
                let key = tables::group_key(&id, &change.group_jid);
                let mut groups = tx.open_table(tables::GROUPS).map_err(internal)?;
                let mut group = get_json::<_, Group>(&groups, key.as_slice())?;
                let removed_me = matches!(
                    &change.kind,
                    GroupChangeKind::Participants { action: ParticipantAction::Remove, members }
                        if names_account(members, record.instance.owner_jid.as_deref())
                );
                if removed_me {
                    // No longer a member: WhatsApp will not show it again; the event
                    // carries the group as it was.
                    groups.remove(key.as_slice()).map_err(internal)?;
                } else if let Some(g) = group.as_mut() {
                    apply(g, &change);
                    groups
                        .insert(key.as_slice(), encode(&*g).as_slice())
                        .map_err(internal)?;
                }
                drop(groups);
                if !report {
                    return Ok(());
                }
                // The writer may run this closure again (group commit retries), so
                // the change is cloned, not moved out.
                let GroupChange {
                    group_jid,
                    author,
                    timestamp,
                    kind,
                } = change.clone();
                let payload = match kind {
                    GroupChangeKind::Participants { action, members } => {
                        EventPayload::GroupParticipants(GroupParticipantsUpdate {
                            group_jid,
                            author,
                            timestamp,
                            action,
                            members,
                            group,
                        })
                    }
                    GroupChangeKind::Info(change) => EventPayload::GroupUpdate(GroupUpdate {
                        group_jid,
                        author,
                        timestamp,
                        change,
                        group,
                    }),
                    GroupChangeKind::Joined => return Ok(()),
                };
                outbox::append(tx, &outbox::event_for(&record.instance, payload)).map(|_| ())
            })
            .await
    }

    /// Asks the link for a newly joined group's metadata (off the event path: it is a
    /// round trip to WhatsApp), stores it and reports `group_upsert`.
    fn report_joined_group(self: &Arc<Self>, instance_id: &str, group_jid: String, report: bool) {
        let core = Arc::clone(self);
        let id = instance_id.to_string();
        tokio::spawn(async move {
            let asked = tokio::time::timeout(
                JOINED_METADATA_TIMEOUT,
                core.link.group_info(&id, &group_jid),
            )
            .await;
            let group = match asked {
                Ok(Ok(g)) => g,
                Ok(Err(e)) => {
                    tracing::warn!(instance = %id, group = %group_jid, error = %e, "joined group's metadata unavailable");
                    return;
                }
                Err(_) => {
                    tracing::warn!(instance = %id, group = %group_jid, "joined group's metadata timed out");
                    return;
                }
            };
            if let Err(e) = core.store_joined_group(&id, group, report).await {
                tracing::warn!(instance = %id, error = %e, "storing a joined group failed");
            }
        });
    }

    async fn store_joined_group(
        &self,
        instance_id: &str,
        group: Group,
        report: bool,
    ) -> CoreResult<()> {
        let id = instance_id.to_string();
        self.store
            .write(move |tx| {
                let Some(record) = super::records::live_record(tx, &id)? else {
                    return Ok(());
                };
                let group = super::groups::put_group(tx, &id, group.clone())?;
                if !report {
                    return Ok(());
                }
                let event = outbox::event_for(&record.instance, EventPayload::GroupUpsert(group));
                outbox::append(tx, &event).map(|_| ())
            })
            .await
    }
}

/// Whether `members` names the account `me` (by its phone JID, or by a LID whose
/// phone WhatsApp gave).
fn names_account(members: &[GroupMember], me: Option<&str>) -> bool {
    me.is_some_and(|me| {
        members
            .iter()
            .any(|m| same_user(&m.jid, me) || m.phone.as_deref().is_some_and(|p| same_user(p, me)))
    })
}

/// Two JIDs name the same account (a device suffix `:N` aside).
fn same_user(a: &str, b: &str) -> bool {
    fn user(j: &str) -> (&str, &str) {
        let (u, server) = j.split_once('@').unwrap_or((j, ""));
        (u.split(':').next().unwrap_or(u), server)
    }
    user(a) == user(b)
}

/// The change, applied to the stored group (idempotent: WhatsApp's announcement of a
/// change made through the API arrives after the API stored WhatsApp's answer).
fn apply(g: &mut Group, change: &GroupChange) {
    match &change.kind {
        GroupChangeKind::Participants { action, members } => {
            for m in members {
                let at = g
                    .participants
                    .iter()
                    .position(|p| same_user(&p.jid, &m.jid));
                match (action, at) {
                    (ParticipantAction::Add, None) => g.participants.push(GroupParticipant {
                        jid: m.jid.clone(),
                        role: ParticipantRole::Member,
                    }),
                    (ParticipantAction::Remove, Some(i)) => {
                        g.participants.remove(i);
                    }
                    (ParticipantAction::Promote, Some(i))
                        if g.participants[i].role == ParticipantRole::Member =>
                    {
                        g.participants[i].role = ParticipantRole::Admin
                    }
                    (ParticipantAction::Demote, Some(i)) => {
                        g.participants[i].role = ParticipantRole::Member
                    }
                    _ => {}
                }
            }
        }
        GroupChangeKind::Info(GroupInfoChange::Subject(s)) => {
            g.subject = s.clone();
            g.subject_owner = change.author.clone();
            g.subject_time = Some(change.timestamp);
        }
        GroupChangeKind::Info(GroupInfoChange::Description { text, id }) => {
            g.description = text.clone();
            g.description_id = id.clone();
        }
        GroupChangeKind::Info(GroupInfoChange::Setting(s)) => match *s {
            GroupSetting::Announcement(on) => g.settings.announcement = on,
            GroupSetting::Locked(on) => g.settings.locked = on,
            GroupSetting::Ephemeral(secs) => g.settings.ephemeral_secs = secs,
            GroupSetting::Approval(on) => g.settings.approval = on,
        },
        GroupChangeKind::Joined => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::groups::GroupSettings;

    fn group() -> Group {
        Group {
            jid: "1@g.us".into(),
            subject: "old".into(),
            subject_owner: None,
            subject_time: None,
            description: None,
            description_id: None,
            owner: Some("111@s.whatsapp.net".into()),
            created_at: 1,
            participants: vec![
                GroupParticipant {
                    jid: "111@s.whatsapp.net".into(),
                    role: ParticipantRole::SuperAdmin,
                },
                GroupParticipant {
                    jid: "222@s.whatsapp.net".into(),
                    role: ParticipantRole::Member,
                },
            ],
            settings: GroupSettings::default(),
            invite_code: None,
        }
    }

    fn change(kind: GroupChangeKind) -> GroupChange {
        GroupChange {
            group_jid: "1@g.us".into(),
            author: Some("111@s.whatsapp.net".into()),
            timestamp: 5,
            kind,
        }
    }

    fn members(jids: &[&str]) -> Vec<GroupMember> {
        jids.iter()
            .map(|j| GroupMember {
                jid: j.to_string(),
                phone: None,
            })
            .collect()
    }

    #[test]
    fn participants_changes_apply_once_and_keep_the_creator() {
        let mut g = group();
        let add = change(GroupChangeKind::Participants {
            action: ParticipantAction::Add,
            members: members(&["333@s.whatsapp.net"]),
        });
        apply(&mut g, &add);
        apply(&mut g, &add);
        assert_eq!(g.participants.len(), 3);
        apply(
            &mut g,
            &change(GroupChangeKind::Participants {
                action: ParticipantAction::Promote,
                members: members(&["333:4@s.whatsapp.net", "111@s.whatsapp.net"]),
            }),
        );
        assert_eq!(g.participants[2].role, ParticipantRole::Admin);
        assert_eq!(g.participants[0].role, ParticipantRole::SuperAdmin);
        apply(
            &mut g,
            &change(GroupChangeKind::Participants {
                action: ParticipantAction::Remove,
                members: members(&["222@s.whatsapp.net"]),
            }),
        );
        let left: Vec<_> = g.participants.iter().map(|p| p.jid.as_str()).collect();
        assert_eq!(left, ["111@s.whatsapp.net", "333@s.whatsapp.net"]);
    }

    #[test]
    fn info_changes_apply() {
        let mut g = group();
        apply(
            &mut g,
            &change(GroupChangeKind::Info(GroupInfoChange::Subject(
                "new".into(),
            ))),
        );
        apply(
            &mut g,
            &change(GroupChangeKind::Info(GroupInfoChange::Setting(
                GroupSetting::Announcement(true),
            ))),
        );
        assert_eq!(g.subject, "new");
        assert_eq!(g.subject_owner.as_deref(), Some("111@s.whatsapp.net"));
        assert_eq!(g.subject_time, Some(5));
        assert!(g.settings.announcement);
    }
}
