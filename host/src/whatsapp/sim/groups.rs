//! The sim network's groups and WhatsApp's rules for them, so every group route can be
//! exercised without a phone:
//!
//! - an unknown group is `NotFound`; a group this account is not in is `Forbidden`;
//! - settings, participants and invite links are for admins only (`Forbidden`);
//!   subject and description too once the group is `locked`;
//! - per participant: adding somebody not on WhatsApp is 404, a member again 409;
//!   removing, promoting or demoting a non-member is 404; the creator (super admin)
//!   cannot be removed or demoted (403);
//! - a revoked invite code leads nowhere (`NotFound`); joining twice is a conflict;
//! - when the last admin leaves, the longest-standing member becomes admin; the last
//!   member leaving dissolves the group.
//!
//! Who is on WhatsApp: every number except those whose digits end in `0000`
//! ([`on_whatsapp`]), so tests can name an unregistered number.

use std::collections::HashMap;

use rand::Rng;

use crate::core::groups::{
    Group, GroupParticipant, GroupSetting, GroupSettings, ParticipantAction, ParticipantResult,
    ParticipantRole,
};
use crate::util::now_ms;
use crate::whatsapp::LinkError;

/// Whether the sim network has an account for `jid` (numbers ending in `0000` have
/// none; LIDs always do).
pub fn on_whatsapp(jid: &str) -> bool {
    match jid.split_once('@') {
        Some((user, "s.whatsapp.net")) => !user.ends_with("0000"),
        Some((_, "lid")) => true,
        _ => false,
    }
}

/// Every group of the network, and the live invite codes.
#[derive(Default)]
pub(super) struct SimGroups {
    by_jid: HashMap<String, Group>,
    /// invite code -> group JID.
    codes: HashMap<String, String>,
}

fn not_found() -> LinkError {
    LinkError::NotFound("group not found".into())
}

fn role_of(group: &Group, jid: &str) -> Option<ParticipantRole> {
    group
        .participants
        .iter()
        .find(|p| p.jid == jid)
        .map(|p| p.role)
}

impl SimGroups {
    /// A group `me` is in, for reading or changing.
    fn member_of(&mut self, me: &str, group: &str) -> Result<&mut Group, LinkError> {
        let g = self.by_jid.get_mut(group).ok_or_else(not_found)?;
        if role_of(g, me).is_none() {
            return Err(LinkError::Forbidden(
                "this account is not a participant of the group".into(),
            ));
        }
        Ok(g)
    }

    /// A group `me` administers.
    fn admin_of(&mut self, me: &str, group: &str) -> Result<&mut Group, LinkError> {
        let g = self.member_of(me, group)?;
        if !role_of(g, me).is_some_and(ParticipantRole::is_admin) {
            return Err(LinkError::Forbidden(
                "this account is not an admin of the group".into(),
            ));
        }
        Ok(g)
    }

    /// A group whose info `me` may edit (anyone, unless locked).
    fn editor_of(&mut self, me: &str, group: &str) -> Result<&mut Group, LinkError> {
        let locked = self.member_of(me, group)?.settings.locked;
        if locked {
            self.admin_of(me, group)
        } else {
            self.member_of(me, group)
        }
    }

    pub(super) fn create(&mut self, me: &str, subject: &str, participants: &[String]) -> Group {
        let jid = loop {
            let j = format!(
                "120363{:012}@g.us",
                rand::rng().random_range(0..1_000_000_000_000u64)
            );
            if !self.by_jid.contains_key(&j) {
                break j;
            }
        };
        let now = now_ms();
        let mut members = vec![GroupParticipant {
            jid: me.to_string(),
            role: ParticipantRole::SuperAdmin,
        }];
        members.extend(
            participants
                .iter()
                .filter(|p| on_whatsapp(p) && p.as_str() != me)
                .map(|p| GroupParticipant {
                    jid: p.clone(),
                    role: ParticipantRole::Member,
                }),
        );
        let group = Group {
            jid: jid.clone(),
            subject: subject.to_string(),
            subject_owner: Some(me.to_string()),
            subject_time: Some(now),
            description: None,
            description_id: None,
            owner: Some(me.to_string()),
            created_at: now,
            participants: members,
            settings: GroupSettings::default(),
            invite_code: None,
        };
        self.by_jid.insert(jid, group.clone());
        group
    }

    /// `Ok` when `me` may change the group's info (picture, subject): an admin, or
    /// any member while the group is not locked.
    pub(super) fn may_edit_info(&mut self, me: &str, group: &str) -> Result<(), LinkError> {
        self.editor_of(me, group).map(|_| ())
    }

    /// The JIDs of a group's members (none for an unknown group).
    pub(super) fn member_jids(&self, group: &str) -> Vec<String> {
        self.by_jid
            .get(group)
            .map(|g| g.participants.iter().map(|p| p.jid.clone()).collect())
            .unwrap_or_default()
    }

    pub(super) fn of(&self, me: &str) -> Vec<Group> {
        let mut out: Vec<Group> = self
            .by_jid
            .values()
            .filter(|g| role_of(g, me).is_some())
            .map(|g| hide_code(g, me))
            .collect();
        out.sort_by(|a, b| a.jid.cmp(&b.jid));
        out
    }

    pub(super) fn info(&mut self, me: &str, group: &str) -> Result<Group, LinkError> {
        let g = self.member_of(me, group)?;
        Ok(hide_code(g, me))
    }

    pub(super) fn set_subject(
        &mut self,
        me: &str,
        group: &str,
        subject: &str,
    ) -> Result<(), LinkError> {
        let g = self.editor_of(me, group)?;
        g.subject = subject.to_string();
        g.subject_owner = Some(me.to_string());
        g.subject_time = Some(now_ms());
        Ok(())
    }

    /// Sets (or with `None` removes) the description; answers its new id.
    pub(super) fn set_description(
        &mut self,
        me: &str,
        group: &str,
        description: Option<&str>,
    ) -> Result<Option<String>, LinkError> {
        let g = self.editor_of(me, group)?;
        g.description = description.map(str::to_string);
        g.description_id = description.map(|_| format!("{:016X}", rand::rng().random::<u64>()));
        Ok(g.description_id.clone())
    }

    pub(super) fn set_setting(
        &mut self,
        me: &str,
        group: &str,
        setting: GroupSetting,
    ) -> Result<(), LinkError> {
        let g = self.admin_of(me, group)?;
        match setting {
            GroupSetting::Announcement(on) => g.settings.announcement = on,
            GroupSetting::Locked(on) => g.settings.locked = on,
            GroupSetting::Ephemeral(secs) => g.settings.ephemeral_secs = secs,
            GroupSetting::Approval(on) => g.settings.approval = on,
        }
        Ok(())
    }

    pub(super) fn update_participants(
        &mut self,
        me: &str,
        group: &str,
        action: ParticipantAction,
        participants: &[String],
    ) -> Result<Vec<ParticipantResult>, LinkError> {
        let g = self.admin_of(me, group)?;
        Ok(participants
            .iter()
            .map(|jid| {
                let outcome = apply(g, action, jid);
                ParticipantResult {
                    jid: jid.clone(),
                    status: outcome.map_or_else(|(code, _)| code, |()| 200),
                    error: outcome.err().map(|(_, why)| why.to_string()),
                }
            })
            .collect())
    }

    pub(super) fn invite_code(
        &mut self,
        me: &str,
        group: &str,
        revoke: bool,
    ) -> Result<String, LinkError> {
        let g = self.admin_of(me, group)?;
        let old = g.invite_code.take();
        let code = match old.clone() {
            Some(c) if !revoke => c,
            _ => new_code(),
        };
        g.invite_code = Some(code.clone());
        if let Some(old) = old.filter(|o| *o != code) {
            self.codes.remove(&old);
        }
        self.codes.insert(code.clone(), group.to_string());
        Ok(code)
    }

    pub(super) fn invite_info(&self, code: &str) -> Result<Group, LinkError> {
        let jid = self.codes.get(code).ok_or_else(invite_gone)?;
        let g = self.by_jid.get(jid).ok_or_else(invite_gone)?;
        let mut g = g.clone();
        g.invite_code = None;
        Ok(g)
    }

    pub(super) fn join(&mut self, me: &str, code: &str) -> Result<String, LinkError> {
        let jid = self.codes.get(code).cloned().ok_or_else(invite_gone)?;
        let g = self.by_jid.get_mut(&jid).ok_or_else(invite_gone)?;
        if role_of(g, me).is_some() {
            return Err(LinkError::Rejected(
                "this account is already a participant of the group".into(),
            ));
        }
        if g.settings.approval {
            return Err(LinkError::Rejected(
                "the group needs an admin's approval to join; the request was not sent".into(),
            ));
        }
        g.participants.push(GroupParticipant {
            jid: me.to_string(),
            role: ParticipantRole::Member,
        });
        Ok(jid)
    }

    pub(super) fn leave(&mut self, me: &str, group: &str) -> Result<(), LinkError> {
        let g = self.member_of(me, group)?;
        g.participants.retain(|p| p.jid != me);
        if g.participants.is_empty() {
            if let Some(code) = g.invite_code.take() {
                self.codes.remove(&code);
            }
            self.by_jid.remove(group);
        } else if !g.participants.iter().any(|p| p.role.is_admin()) {
            g.participants[0].role = ParticipantRole::Admin;
        }
        Ok(())
    }
}

/// One participant's change, or WhatsApp's code and reason for refusing it.
fn apply(g: &mut Group, action: ParticipantAction, jid: &str) -> Result<(), (u16, &'static str)> {
    let at = g.participants.iter().position(|p| p.jid == jid);
    match (action, at) {
        (ParticipantAction::Add, Some(_)) => Err((409, "already a participant")),
        (ParticipantAction::Add, None) if !on_whatsapp(jid) => Err((404, "not on WhatsApp")),
        (ParticipantAction::Add, None) => {
            g.participants.push(GroupParticipant {
                jid: jid.to_string(),
                role: ParticipantRole::Member,
            });
            Ok(())
        }
        (_, None) => Err((404, "not a participant")),
        (ParticipantAction::Remove | ParticipantAction::Demote, Some(i))
            if g.participants[i].role == ParticipantRole::SuperAdmin =>
        {
            Err((403, "the group's creator cannot be removed or demoted"))
        }
        (ParticipantAction::Remove, Some(i)) => {
            g.participants.remove(i);
            Ok(())
        }
        (ParticipantAction::Promote, Some(i)) => {
            g.participants[i].role = ParticipantRole::Admin;
            Ok(())
        }
        (ParticipantAction::Demote, Some(i)) => {
            g.participants[i].role = ParticipantRole::Member;
            Ok(())
        }
    }
}

/// WhatsApp shows the invite code to admins only.
fn hide_code(g: &Group, me: &str) -> Group {
    let mut g = g.clone();
    if !role_of(&g, me).is_some_and(ParticipantRole::is_admin) {
        g.invite_code = None;
    }
    g
}

fn invite_gone() -> LinkError {
    LinkError::NotFound("invite code not found or revoked".into())
}

/// A WhatsApp-like invite code: 22 characters of base62.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..22)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
