//! The sim network's group notifications: WhatsApp tells every member's devices about a
//! change to their group (the author's own devices included), and the sim does the
//! same for every open session whose account is in the group, or was until the
//! change (a removed member learns it was removed).

use super::SimLink;
use crate::core::group_events::{GroupChange, GroupChangeKind, GroupInfoChange, GroupMember};
use crate::core::groups::{ParticipantAction, ParticipantResult};
use crate::core::model::ConnectionState;
use crate::util::now_ms;
use crate::whatsapp::LinkError;
use crate::whatsapp::LinkEvent;

impl SimLink {
    /// `author` (an admin) adds, removes, promotes or demotes `participants`, as
    /// WhatsApp would rule; the members it changed are announced.
    pub(super) fn change_participants(
        &self,
        author: &str,
        group: &str,
        action: ParticipantAction,
        participants: &[String],
    ) -> Result<Vec<ParticipantResult>, LinkError> {
        let results = self
            .sim_groups()
            .update_participants(author, group, action, participants)?;
        let done: Vec<String> = results
            .iter()
            .filter(|r| r.status == 200)
            .map(|r| r.jid.clone())
            .collect();
        if !done.is_empty() {
            let removed = if action == ParticipantAction::Remove {
                done.as_slice()
            } else {
                &[]
            };
            self.announce_participants(group, author, action, &done, removed);
        }
        Ok(results)
    }

    /// Announces a participants change to the group's members and to `removed`.
    pub(super) fn announce_participants(
        &self,
        group: &str,
        author: &str,
        action: ParticipantAction,
        changed: &[String],
        removed: &[String],
    ) {
        let mut audience = self.sim_groups().member_jids(group);
        audience.extend(removed.iter().cloned());
        let kind = GroupChangeKind::Participants {
            action,
            members: members(changed),
        };
        self.announce_group(group, author, kind, &audience);
    }

    /// A change `author`, a member of `group` on their own phone, makes (the admin
    /// API's `/admin/sim/{i}/group`), ruled as WhatsApp would (an admin for
    /// participants and settings; anyone for the info of an unlocked group) and
    /// announced to the members' sessions. The instance's session must be open.
    pub fn inject_group_change(
        &self,
        instance_id: &str,
        author: &str,
        group: &str,
        change: GroupChangeKind,
    ) -> Result<Vec<ParticipantResult>, LinkError> {
        // The instance's account must be in the group (it would hear nothing else):
        // an unknown group is `NotFound`, one it is not in `Forbidden`.
        let me = self.me(instance_id)?;
        self.sim_groups().info(&me, group)?;
        match change {
            GroupChangeKind::Participants { action, members } => {
                let jids: Vec<String> = members.into_iter().map(|m| m.jid).collect();
                self.change_participants(author, group, action, &jids)
            }
            GroupChangeKind::Info(change) => {
                let change = {
                    let mut groups = self.sim_groups();
                    match change {
                        GroupInfoChange::Subject(s) => {
                            groups.set_subject(author, group, &s)?;
                            GroupInfoChange::Subject(s)
                        }
                        GroupInfoChange::Description { text, .. } => {
                            let id = groups.set_description(author, group, text.as_deref())?;
                            GroupInfoChange::Description { text, id }
                        }
                        GroupInfoChange::Setting(s) => {
                            groups.set_setting(author, group, s)?;
                            GroupInfoChange::Setting(s)
                        }
                    }
                };
                self.announce_info(group, author, change);
                Ok(Vec::new())
            }
            GroupChangeKind::Joined => Err(LinkError::Rejected(
                "a member cannot make another account join; add it".into(),
            )),
        }
    }

    /// Announces an info or settings change to the group's members.
    pub(super) fn announce_info(&self, group: &str, author: &str, change: GroupInfoChange) {
        let audience = self.sim_groups().member_jids(group);
        self.announce_group(group, author, GroupChangeKind::Info(change), &audience);
    }

    /// Announces `kind`, made by `author`, to the sessions of `audience` (JIDs).
    pub(super) fn announce_group(
        &self,
        group_jid: &str,
        author: &str,
        kind: GroupChangeKind,
        audience: &[String],
    ) {
        let timestamp = now_ms();
        let sessions = self.sessions.lock().expect("sim sessions lock");
        for (instance_id, s) in sessions.iter() {
            let Some(me) = s.owner_jid.as_deref() else {
                continue;
            };
            if s.state != Some(ConnectionState::Open) || !audience.iter().any(|a| a == me) {
                continue;
            }
            let _ = self.events.send(LinkEvent::Group {
                instance_id: instance_id.clone(),
                change: GroupChange {
                    group_jid: group_jid.to_string(),
                    author: Some(author.to_string()),
                    timestamp,
                    kind: kind.clone(),
                },
            });
        }
    }
}

/// The members a participants notification names (the sim knows no phone numbers
/// behind LIDs).
pub(super) fn members(jids: &[String]) -> Vec<GroupMember> {
    jids.iter()
        .map(|j| GroupMember {
            jid: j.clone(),
            phone: None,
        })
        .collect()
}
