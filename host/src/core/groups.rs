//! Groups: create, list, read, change (subject, description, settings, participants),
//! invite links, join and leave.
//!
//! WhatsApp is the authority on a group: every operation asks the link, and the answer
//! it gives (the group's metadata after the change) is stored per instance in
//! [`tables::GROUPS`], so a group stays readable while the link is down. Reads need
//! `read`; every change (including create, join and leave) needs `send`, like sending
//! a message to the group does. Who may change what inside the group (admins, locked
//! info) is WhatsApp's rule, enforced by the link; its refusals come back as
//! `forbidden` (not an admin, not a participant) or `not-found` (unknown group).

use serde::{Deserialize, Serialize};

use super::Core;
use super::jid;
use super::model::{
    Capability, ConnectionState, CoreError, CoreResult, InstanceRef, Principal, Resource,
};
use crate::store::kv::ReadableTable;
use crate::store::{decode, encode, internal, tables};

/// A participant's standing in a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    /// An ordinary member.
    Member,
    /// An admin: may change settings and participants.
    Admin,
    /// The group's creator (an admin nobody can demote).
    SuperAdmin,
}

impl ParticipantRole {
    /// Admin or super admin.
    pub fn is_admin(self) -> bool {
        !matches!(self, ParticipantRole::Member)
    }
}

/// One member of a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupParticipant {
    /// The member's JID (phone or LID).
    pub jid: String,
    /// Member, admin or super admin.
    pub role: ParticipantRole,
}

/// A group's settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSettings {
    /// Only admins may send messages.
    pub announcement: bool,
    /// Only admins may change the group's info (subject, description, picture).
    pub locked: bool,
    /// Disappearing messages timer in seconds; 0 when off.
    pub ephemeral_secs: u32,
    /// New members need an admin's approval to join by link.
    pub approval: bool,
}

/// Groups per page when the caller gives no limit.
pub const DEFAULT_GROUP_PAGE: u32 = 50;
/// The largest page of groups a caller may ask for: a group carries its participants
/// (up to 1,024), and a page is lifted whole into a dialect plugin.
pub const MAX_GROUP_PAGE: u32 = 200;

/// One page of the groups an account is in, in JID order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupPage {
    /// The groups of this page.
    pub groups: Vec<Group>,
    /// Pass back as `cursor` for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// A group as WhatsApp describes it (and the gateway stores it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// `...@g.us`.
    pub jid: String,
    /// The group's name.
    pub subject: String,
    /// Who set the subject last, when known.
    pub subject_owner: Option<String>,
    /// When the subject was set, epoch ms, when known.
    pub subject_time: Option<u64>,
    /// The description, if any.
    pub description: Option<String>,
    /// WhatsApp's id of the current description (changes with each edit).
    pub description_id: Option<String>,
    /// The creator's JID, when known.
    pub owner: Option<String>,
    /// Creation time, epoch ms.
    pub created_at: u64,
    /// Every member with its role.
    pub participants: Vec<GroupParticipant>,
    /// Announcement, locked, ephemeral, approval.
    pub settings: GroupSettings,
    /// The invite code (`https://chat.whatsapp.com/<code>`), when this account has
    /// asked for it as an admin.
    pub invite_code: Option<String>,
}

/// What a participants update does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantAction {
    /// Add members.
    Add,
    /// Remove members.
    Remove,
    /// Make members admins.
    Promote,
    /// Make admins members.
    Demote,
}

/// WhatsApp's answer for one participant of an update: `status` 200 when done, else
/// WhatsApp's code (403 refused by the member's privacy or the creator's standing,
/// 404 not on WhatsApp or not a member, 409 already a member).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantResult {
    /// The participant's JID.
    pub jid: String,
    /// 200 or WhatsApp's error code.
    pub status: u16,
    /// Why, when not 200.
    pub error: Option<String>,
}

/// One setting change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupSetting {
    /// Only admins send (`true`) or everybody (`false`).
    Announcement(bool),
    /// Only admins edit info (`true`) or everybody (`false`).
    Locked(bool),
    /// Disappearing messages timer in seconds (0 turns it off).
    Ephemeral(u32),
    /// Joining by link needs approval.
    Approval(bool),
}

/// What `create_group` takes.
#[derive(Clone, Debug)]
pub struct GroupCreate {
    /// The group's name (1..=100 characters).
    pub subject: String,
    /// Numbers or JIDs to add.
    pub participants: Vec<String>,
    /// A description to set right after creation.
    pub description: Option<String>,
}

/// WhatsApp's longest subject, in characters.
pub const MAX_SUBJECT: usize = 100;
/// WhatsApp's longest description, in characters.
pub const MAX_DESCRIPTION: usize = 2048;
/// The ephemeral timers WhatsApp offers (off, 24 h, 7 days, 90 days).
pub const EPHEMERAL_TIMERS: [u32; 4] = [0, 86_400, 604_800, 7_776_000];

/// The canonical JID of a group, or `invalid` when `input` names no group.
pub fn group_jid(input: &str) -> CoreResult<String> {
    let j = jid::normalize(input)?;
    if j.ends_with("@g.us") {
        Ok(j)
    } else {
        Err(CoreError::Invalid(format!(
            "`{}` is not a group JID (expected ...@g.us)",
            input.trim()
        )))
    }
}

/// Stores `group` for the instance (in the caller's transaction), keeping the invite
/// code already known: WhatsApp tells it only when asked.
pub(crate) fn put_group(
    tx: &crate::store::kv::WriteTx,
    instance_id: &str,
    mut group: Group,
) -> CoreResult<Group> {
    let key = tables::group_key(instance_id, &group.jid);
    let mut table = tx.open_table(tables::GROUPS).map_err(internal)?;
    if group.invite_code.is_none()
        && let Some(old) = crate::store::get_json::<_, Group>(&table, key.as_slice())?
    {
        group.invite_code = old.invite_code;
    }
    table
        .insert(key.as_slice(), encode(&group).as_slice())
        .map_err(internal)?;
    Ok(group)
}

/// The not-found error of a group.
pub fn group_not_found(jid: &str) -> CoreError {
    CoreError::NotFound(Resource::Group, format!("group {jid} not found"))
}

fn check_subject(subject: &str) -> CoreResult<String> {
    let s = subject.trim();
    if s.is_empty() || s.chars().count() > MAX_SUBJECT {
        return Err(CoreError::Invalid(format!(
            "a group subject must be 1 to {MAX_SUBJECT} characters"
        )));
    }
    Ok(s.to_string())
}

fn check_description(d: Option<String>) -> CoreResult<Option<String>> {
    match d {
        Some(d) if d.chars().count() > MAX_DESCRIPTION => Err(CoreError::Invalid(format!(
            "a group description may have at most {MAX_DESCRIPTION} characters"
        ))),
        Some(d) if d.trim().is_empty() => Ok(None),
        d => Ok(d),
    }
}

/// Normalises a participant list; the first malformed entry is an `invalid` error
/// naming it (nothing is sent to WhatsApp then).
fn participant_jids(list: &[String]) -> CoreResult<Vec<String>> {
    if list.is_empty() {
        return Err(CoreError::Invalid("participants may not be empty".into()));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for p in list {
        let j = jid::normalize(p)?;
        if j.ends_with("@g.us") {
            return Err(CoreError::Invalid(format!(
                "`{p}` is a group; participants are people"
            )));
        }
        if !out.contains(&j) {
            out.push(j);
        }
    }
    Ok(out)
}

fn check_setting(s: GroupSetting) -> CoreResult<GroupSetting> {
    match s {
        GroupSetting::Ephemeral(secs) if !EPHEMERAL_TIMERS.contains(&secs) => {
            Err(CoreError::Invalid(format!(
                "ephemeral timer must be one of {EPHEMERAL_TIMERS:?} seconds"
            )))
        }
        s => Ok(s),
    }
}

/// An invite code as the caller gave it: the bare code or the whole link.
fn invite_code(input: &str) -> CoreResult<String> {
    let s = input.trim();
    let code = s.rsplit('/').next().unwrap_or(s);
    if code.is_empty()
        || code.len() > 64
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(CoreError::Invalid(
            "expected an invite code (the part after https://chat.whatsapp.com/)".into(),
        ));
    }
    Ok(code.to_string())
}

impl Core {
    /// Creates a group with this account as its creator (super admin). Needs `send`.
    pub async fn create_group(
        &self,
        p: &Principal,
        which: &InstanceRef,
        spec: GroupCreate,
    ) -> CoreResult<Group> {
        let record = self.authorize(p, which, Capability::Send)?;
        let subject = check_subject(&spec.subject)?;
        let description = check_description(spec.description)?;
        let participants = participant_jids(&spec.participants)?;
        let id = &record.instance.id;
        let mut group = self.link.create_group(id, &subject, &participants).await?;
        if let Some(d) = description {
            self.link
                .set_group_description(id, &group.jid, Some(&d))
                .await?;
            group = self.link.group_info(id, &group.jid).await?;
        }
        self.store_group(id, group).await
    }

    /// The groups this account is in, a page at a time in JID order: `limit` of them
    /// (0: [`DEFAULT_GROUP_PAGE`], at most [`MAX_GROUP_PAGE`]) after `cursor` (the
    /// `next_cursor` of the page before). The first page (no cursor) asks WhatsApp
    /// when the link is open and stores its answer; every page reads the stored
    /// copies, so a walk sees one consistent list. Needs `read`.
    pub async fn list_groups(
        &self,
        p: &Principal,
        which: &InstanceRef,
        limit: u32,
        cursor: Option<&str>,
    ) -> CoreResult<GroupPage> {
        let record = self.authorize(p, which, Capability::Read)?;
        let limit = super::messages::page_limit(limit, DEFAULT_GROUP_PAGE, MAX_GROUP_PAGE)?;
        let cursor = cursor.filter(|c| !c.is_empty());
        let after = match cursor {
            Some(c) => Some(group_jid(c).map_err(|_| {
                CoreError::Invalid("cursor: pass back the next_cursor of the page before".into())
            })?),
            None => None,
        };
        let id = record.instance.id.clone();
        if after.is_none() && self.live_state(&record.instance) == ConnectionState::Open {
            let groups = self.link.list_groups(&id).await?;
            self.replace_groups(&id, groups).await?;
        }
        self.stored_groups(&id, limit, after.as_deref())
    }

    /// One group's metadata: from WhatsApp when the link is open (and stored), else the
    /// stored copy. Needs `read`.
    pub async fn get_group(
        &self,
        p: &Principal,
        which: &InstanceRef,
        group: &str,
    ) -> CoreResult<Group> {
        let record = self.authorize(p, which, Capability::Read)?;
        let gjid = group_jid(group)?;
        let id = &record.instance.id;
        if self.live_state(&record.instance) != ConnectionState::Open {
            return self
                .stored_group(id, &gjid)?
                .ok_or_else(|| group_not_found(&gjid));
        }
        self.refresh_group(id, &gjid).await
    }

    /// Changes the subject. Needs `send` (and, in a locked group, being an admin).
    pub async fn set_group_subject(
        &self,
        p: &Principal,
        which: &InstanceRef,
        group: &str,
        subject: &str,
    ) -> CoreResult<Group> {
        let record = self.authorize(p, which, Capability::Send)?;
        let gjid = group_jid(group)?;
        let subject = check_subject(subject)?;
        let id = &record.instance.id;
        self.changing_group(id, &gjid, self.link.set_group_subject(id, &gjid, &subject))
            .await
    }

    /// Changes (or, with `None`, clears) the description. Needs `send`.
    pub async fn set_group_description(
        &self,
        p: &Principal,
        which: &InstanceRef,
        group: &str,
        description: Option<String>,
    ) -> CoreResult<Group> {
        let record = self.authorize(p, which, Capability::Send)?;
        let gjid = group_jid(group)?;
        let description = check_description(description)?;
        let id = &record.instance.id;
        self.changing_group(
            id,
            &gjid,
            self.link
                .set_group_description(id, &gjid, description.as_deref()),
        )
        .await
    }

    /// Changes one setting (admins only, as WhatsApp rules). Needs `send`.
    pub async fn set_group_setting(
        &self,
        p: &Principal,
        which: &InstanceRef,
        group: &str,
        setting: GroupSetting,
    ) -> CoreResult<Group> {
        let record = self.authorize(p, which, Capability::Send)?;
        let gjid = group_jid(group)?;
        let setting = check_setting(setting)?;
        let id = &record.instance.id;
        self.changing_group(id, &gjid, self.link.set_group_setting(id, &gjid, setting))
            .await
    }

    /// Adds, removes, promotes or demotes participants (admins only); answers
    /// WhatsApp's result for each. Needs `send`.
    pub async fn update_group_participants(
        &self,
        p: &Principal,
        which: &InstanceRef,
        group: &str,
        action: ParticipantAction,
        participants: &[String],
    ) -> CoreResult<Vec<ParticipantResult>> {
        let record = self.authorize(p, which, Capability::Send)?;
        let gjid = group_jid(group)?;
        let jids = participant_jids(participants)?;
        let id = &record.instance.id;
        let results = self
            .link
            .update_group_participants(id, &gjid, action, &jids)
            .await
            .map_err(|e| self.group_error(&gjid, e))?;
        // The stored copy follows; a failed refresh does not undo what WhatsApp did.
        if let Err(e) = self.refresh_group(id, &gjid).await {
            tracing::debug!(group = %gjid, error = %e, "group refresh after participants update");
        }
        Ok(results)
    }

    /// The group's invite code; with `revoke`, a new one (the old link stops
    /// working). Admins only. Needs `send` (an invite link lets anybody in).
    pub async fn group_invite_code(
        &self,
        p: &Principal,
        which: &InstanceRef,
        group: &str,
        revoke: bool,
    ) -> CoreResult<String> {
        let record = self.authorize(p, which, Capability::Send)?;
        let gjid = group_jid(group)?;
        let id = &record.instance.id;
        let code = self
            .link
            .group_invite_code(id, &gjid, revoke)
            .await
            .map_err(|e| self.group_error(&gjid, e))?;
        if let Err(e) = self.refresh_group(id, &gjid).await {
            tracing::debug!(group = %gjid, error = %e, "group refresh after invite code");
        }
        Ok(code)
    }

    /// What an invite code leads to, without joining. Needs `read`.
    pub async fn group_invite_info(
        &self,
        p: &Principal,
        which: &InstanceRef,
        code: &str,
    ) -> CoreResult<Group> {
        let record = self.authorize(p, which, Capability::Read)?;
        let code = invite_code(code)?;
        self.link
            .group_invite_info(&record.instance.id, &code)
            .await
            .map_err(invite_error)
    }

    /// Joins the group an invite code leads to; returns its JID. Needs `send`.
    pub async fn join_group(
        &self,
        p: &Principal,
        which: &InstanceRef,
        code: &str,
    ) -> CoreResult<String> {
        let record = self.authorize(p, which, Capability::Send)?;
        let code = invite_code(code)?;
        let id = &record.instance.id;
        let gjid = self
            .link
            .join_group(id, &code)
            .await
            .map_err(invite_error)?;
        if let Err(e) = self.refresh_group(id, &gjid).await {
            tracing::debug!(group = %gjid, error = %e, "group refresh after join");
        }
        Ok(gjid)
    }

    /// Leaves the group; its stored copy goes (the chat and its messages stay).
    /// Needs `send`.
    pub async fn leave_group(
        &self,
        p: &Principal,
        which: &InstanceRef,
        group: &str,
    ) -> CoreResult<String> {
        let record = self.authorize(p, which, Capability::Send)?;
        let gjid = group_jid(group)?;
        let id = record.instance.id.clone();
        self.link
            .leave_group(&id, &gjid)
            .await
            .map_err(|e| self.group_error(&gjid, e))?;
        self.forget_group(&id, &gjid).await?;
        Ok(gjid)
    }

    // ---- helpers ---------------------------------------------------------------

    /// Runs a change, then stores the group as WhatsApp then describes it.
    async fn changing_group(
        &self,
        instance_id: &str,
        gjid: &str,
        change: impl std::future::Future<Output = Result<(), crate::whatsapp::LinkError>>,
    ) -> CoreResult<Group> {
        change.await.map_err(|e| self.group_error(gjid, e))?;
        self.refresh_group(instance_id, gjid).await
    }

    /// Asks WhatsApp for the group and stores the answer; a group WhatsApp no longer
    /// shows to this account (unknown, or left) loses its stored copy.
    async fn refresh_group(&self, instance_id: &str, gjid: &str) -> CoreResult<Group> {
        match self.link.group_info(instance_id, gjid).await {
            Ok(group) => self.store_group(instance_id, group).await,
            Err(e) => {
                let e = self.group_error(gjid, e);
                if matches!(e, CoreError::NotFound(..) | CoreError::Forbidden(_)) {
                    self.forget_group(instance_id, gjid).await?;
                }
                Err(e)
            }
        }
    }

    /// A link error about one group, in core's terms.
    fn group_error(&self, gjid: &str, e: crate::whatsapp::LinkError) -> CoreError {
        match e {
            crate::whatsapp::LinkError::NotFound(_) => group_not_found(gjid),
            e => e.into(),
        }
    }

    fn stored_group(&self, instance_id: &str, gjid: &str) -> CoreResult<Option<Group>> {
        self.store.read(|tx| -> CoreResult<Option<Group>> {
            let table = tx.open_table(tables::GROUPS).map_err(internal)?;
            Ok(crate::store::get_json::<_, Group>(
                &table,
                tables::group_key(instance_id, gjid).as_slice(),
            )?)
        })
    }

    /// A page of the stored groups after the group `after`.
    fn stored_groups(
        &self,
        instance_id: &str,
        limit: u32,
        after: Option<&str>,
    ) -> CoreResult<GroupPage> {
        let prefix = tables::instance_prefix(instance_id);
        let end = tables::prefix_end(&prefix);
        let start = match after {
            Some(g) => std::ops::Bound::Excluded(tables::group_key(instance_id, g)),
            None => std::ops::Bound::Included(prefix),
        };
        self.store.read(|tx| -> CoreResult<GroupPage> {
            let table = tx.open_table(tables::GROUPS).map_err(internal)?;
            let range = (
                start.as_ref().map(Vec::as_slice),
                std::ops::Bound::Excluded(end.as_slice()),
            );
            let mut groups = Vec::new();
            let mut more = false;
            for row in table.range::<&[u8]>(range).map_err(internal)? {
                if groups.len() == limit as usize {
                    more = true;
                    break;
                }
                groups.push(decode::<Group>(row.map_err(internal)?.1.value())?);
            }
            let next_cursor = if more {
                groups.last().map(|g: &Group| g.jid.clone())
            } else {
                None
            };
            Ok(GroupPage {
                groups,
                next_cursor,
            })
        })
    }

    async fn store_group(&self, instance_id: &str, group: Group) -> CoreResult<Group> {
        let id = instance_id.to_string();
        self.store
            .write(move |tx| put_group(tx, &id, group.clone()))
            .await
    }

    /// Replaces the instance's stored groups with WhatsApp's list (groups it no
    /// longer lists were left or removed from meanwhile).
    async fn replace_groups(
        &self,
        instance_id: &str,
        groups: Vec<Group>,
    ) -> CoreResult<Vec<Group>> {
        let id = instance_id.to_string();
        self.store
            .write(move |tx| {
                let mut table = tx.open_table(tables::GROUPS).map_err(internal)?;
                let prefix = tables::instance_prefix(&id);
                let end = tables::prefix_end(&prefix);
                let old = table
                    .extract_from_if::<&[u8], _>(prefix.as_slice()..end.as_slice(), |_, _| true)
                    .map_err(internal)?;
                let mut codes = std::collections::HashMap::new();
                for row in old {
                    let g = decode::<Group>(row.map_err(internal)?.1.value())?;
                    if let Some(c) = g.invite_code {
                        codes.insert(g.jid, c);
                    }
                }
                let mut out = Vec::with_capacity(groups.len());
                for mut g in groups.iter().cloned() {
                    if g.invite_code.is_none() {
                        g.invite_code = codes.remove(&g.jid);
                    }
                    table
                        .insert(
                            tables::group_key(&id, &g.jid).as_slice(),
                            encode(&g).as_slice(),
                        )
                        .map_err(internal)?;
                    out.push(g);
                }
                Ok(out)
            })
            .await
    }

    async fn forget_group(&self, instance_id: &str, gjid: &str) -> CoreResult<()> {
        let key = tables::group_key(instance_id, gjid);
        self.store
            .write(move |tx| {
                tx.open_table(tables::GROUPS)
                    .map_err(internal)?
                    .remove(key.as_slice())
                    .map_err(internal)?;
                Ok(())
            })
            .await
    }
}

/// A link error about an invite code: an unknown or revoked code is `not-found`.
fn invite_error(e: crate::whatsapp::LinkError) -> CoreError {
    match e {
        crate::whatsapp::LinkError::NotFound(m) => CoreError::NotFound(Resource::Group, m),
        e => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_jids_and_invite_codes_are_checked() {
        assert_eq!(
            group_jid("120363000000000001@g.us").unwrap(),
            "120363000000000001@g.us"
        );
        assert!(matches!(
            group_jid("5511999999999"),
            Err(CoreError::Invalid(_))
        ));
        assert_eq!(
            invite_code("https://chat.whatsapp.com/AbC123").unwrap(),
            "AbC123"
        );
        assert!(invite_code("no spaces allowed").is_err());
        assert!(check_setting(GroupSetting::Ephemeral(5)).is_err());
        assert!(participant_jids(&["abc".into()]).is_err());
        assert_eq!(
            participant_jids(&[
                "5511999999999".into(),
                "5511999999999@s.whatsapp.net".into()
            ])
            .unwrap()
            .len(),
            1
        );
    }
}
