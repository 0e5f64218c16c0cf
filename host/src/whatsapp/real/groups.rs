//! Groups on the real network, through whatsapp-rust 0.7's `Groups` feature (`w:g2`
//! IQs): the calls core's group operations make, and the conversion of WhatsApp's
//! group metadata and refusals into core's terms.

use whatsapp_rust::{
    GroupCreateOptions, GroupDescription, GroupError, GroupMetadata, GroupParticipantOptions,
    GroupSubject, ParticipantChangeResponse, ParticipantType, PreviousDescription,
};

use super::WhatsAppLink;
use super::session::jid;
use crate::core::groups::{
    Group, GroupParticipant, GroupSetting, GroupSettings, ParticipantAction, ParticipantResult,
    ParticipantRole,
};
use crate::whatsapp::LinkError;

/// WhatsApp's refusal of a group IQ in core's terms: 401/403 is this account's
/// standing (not an admin, not a participant), 404 an unknown group or code, 406/409
/// a conflict with the group's state; anything else is the link's failure.
pub(super) fn group_error(what: &str, e: GroupError) -> LinkError {
    use whatsapp_rust::request::IqError;
    match e {
        GroupError::Iq(IqError::ServerError { code, text, .. }) => match code {
            401 | 403 => LinkError::Forbidden(format!(
                "WhatsApp refused {what}: this account is not an admin or not a participant ({text})"
            )),
            404 => LinkError::NotFound(format!("WhatsApp does not know the group ({text})")),
            400 | 406 | 409 | 410 => {
                LinkError::Rejected(format!("WhatsApp refused {what}: {code} {text}"))
            }
            _ => LinkError::Failed(format!("{what}: {code} {text}")),
        },
        GroupError::Iq(IqError::NotConnected) => LinkError::NotConnected,
        GroupError::InvalidRequest(m) => LinkError::Rejected(format!("{what}: {m}")),
        GroupError::DescriptionConflict => LinkError::Rejected(
            "the description changed on another device meanwhile; read it and retry".into(),
        ),
        e => LinkError::Failed(format!("{what}: {e}")),
    }
}

/// Core's group from WhatsApp's metadata (times in seconds there, milliseconds here).
fn group_of(m: GroupMetadata) -> Group {
    Group {
        jid: m.id.to_string(),
        subject: m.subject,
        subject_owner: m.subject_owner.map(|j| j.to_string()),
        subject_time: m.subject_time.map(|t| t * 1000),
        description: m.description,
        description_id: m.description_id,
        owner: m.creator.map(|j| j.to_string()),
        created_at: m.creation_time.unwrap_or(0) * 1000,
        participants: m
            .participants
            .into_iter()
            .map(|p| GroupParticipant {
                jid: p.jid.to_string(),
                role: match p.participant_type {
                    ParticipantType::SuperAdmin => ParticipantRole::SuperAdmin,
                    ParticipantType::Admin => ParticipantRole::Admin,
                    _ => ParticipantRole::Member,
                },
            })
            .collect(),
        settings: GroupSettings {
            announcement: m.is_announcement,
            locked: m.is_locked,
            ephemeral_secs: m.ephemeral.and_then(|e| e.expiration).unwrap_or(0),
            approval: m.membership_approval,
        },
        invite_code: None,
    }
}

/// WhatsApp's per-participant answer: its error code, 200 when it has none.
fn result_of(r: ParticipantChangeResponse) -> ParticipantResult {
    let code = r
        .error
        .as_deref()
        .or(r.status.as_deref())
        .and_then(|c| c.parse::<u16>().ok())
        .unwrap_or(200);
    ParticipantResult {
        jid: r.jid.to_string(),
        status: code,
        error: (code != 200).then(|| format!("WhatsApp answered {code}")),
    }
}

fn jids(list: &[String]) -> Result<Vec<whatsapp_rust::Jid>, LinkError> {
    list.iter().map(|j| jid(j)).collect()
}

impl WhatsAppLink {
    pub(super) async fn wa_create_group(
        &self,
        instance_id: &str,
        subject: &str,
        participants: &[String],
    ) -> Result<Group, LinkError> {
        let session = self.open(instance_id)?;
        let options = GroupCreateOptions::new(subject).with_participants(
            jids(participants)?
                .into_iter()
                .map(GroupParticipantOptions::new)
                .collect(),
        );
        let created = session
            .client
            .groups()
            .create_group(options)
            .await
            .map_err(|e| group_error("creating the group", e))?;
        Ok(group_of(created.metadata))
    }

    pub(super) async fn wa_list_groups(&self, instance_id: &str) -> Result<Vec<Group>, LinkError> {
        let session = self.open(instance_id)?;
        let all = session
            .client
            .groups()
            .get_participating()
            .await
            .map_err(|e| group_error("listing groups", e))?;
        let mut groups: Vec<Group> = all.into_values().map(group_of).collect();
        groups.sort_by(|a, b| a.jid.cmp(&b.jid));
        Ok(groups)
    }

    pub(super) async fn wa_group_info(
        &self,
        instance_id: &str,
        group: &str,
    ) -> Result<Group, LinkError> {
        let session = self.open(instance_id)?;
        let meta = session
            .client
            .groups()
            .get_metadata(&jid(group)?)
            .await
            .map_err(|e| group_error("reading the group", e))?;
        Ok(group_of(meta))
    }

    pub(super) async fn wa_set_group_subject(
        &self,
        instance_id: &str,
        group: &str,
        subject: &str,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        let subject = GroupSubject::new(subject).map_err(|e| LinkError::Rejected(e.to_string()))?;
        session
            .client
            .groups()
            .set_subject(jid(group)?, subject)
            .await
            .map_err(|e| group_error("renaming the group", e))
    }

    pub(super) async fn wa_set_group_description(
        &self,
        instance_id: &str,
        group: &str,
        description: Option<&str>,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        let description = description
            .map(GroupDescription::new)
            .transpose()
            .map_err(|e| LinkError::Rejected(e.to_string()))?;
        session
            .client
            .groups()
            .set_description(jid(group)?, description, PreviousDescription::Resolve)
            .await
            .map_err(|e| group_error("changing the description", e))
    }

    pub(super) async fn wa_set_group_setting(
        &self,
        instance_id: &str,
        group: &str,
        setting: GroupSetting,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        let groups = session.client.groups();
        let g = jid(group)?;
        let done = match setting {
            GroupSetting::Announcement(on) => groups.set_announce(g, on).await,
            GroupSetting::Locked(on) => groups.set_locked(g, on).await,
            GroupSetting::Ephemeral(secs) => groups.set_ephemeral(g, secs).await,
            GroupSetting::Approval(on) => {
                let mode = if on {
                    whatsapp_rust::MembershipApprovalMode::On
                } else {
                    whatsapp_rust::MembershipApprovalMode::Off
                };
                groups.set_membership_approval(g, mode).await
            }
        };
        done.map_err(|e| group_error("changing the group's settings", e))
    }

    pub(super) async fn wa_update_group_participants(
        &self,
        instance_id: &str,
        group: &str,
        action: ParticipantAction,
        participants: &[String],
    ) -> Result<Vec<ParticipantResult>, LinkError> {
        let session = self.open(instance_id)?;
        let groups = session.client.groups();
        let g = jid(group)?;
        let who = jids(participants)?;
        let answers = match action {
            ParticipantAction::Add => groups.add_participants(g, &who).await,
            ParticipantAction::Remove => groups.remove_participants(g, &who).await,
            ParticipantAction::Promote => groups.promote_participants(g, &who).await,
            ParticipantAction::Demote => groups.demote_participants(g, &who).await,
        }
        .map_err(|e| group_error("changing participants", e))?;
        Ok(answers.into_iter().map(result_of).collect())
    }

    pub(super) async fn wa_group_invite_code(
        &self,
        instance_id: &str,
        group: &str,
        revoke: bool,
    ) -> Result<String, LinkError> {
        let session = self.open(instance_id)?;
        let link = session
            .client
            .groups()
            .get_invite_link(jid(group)?, revoke)
            .await
            .map_err(|e| group_error("reading the invite link", e))?;
        // whatsapp-rust answers the whole link; core keeps the code.
        Ok(link.rsplit('/').next().unwrap_or(&link).to_string())
    }

    pub(super) async fn wa_group_invite_info(
        &self,
        instance_id: &str,
        code: &str,
    ) -> Result<Group, LinkError> {
        let session = self.open(instance_id)?;
        let meta = session
            .client
            .groups()
            .get_invite_info(code)
            .await
            .map_err(|e| group_error("reading the invite", e))?;
        Ok(group_of(meta))
    }

    pub(super) async fn wa_join_group(
        &self,
        instance_id: &str,
        code: &str,
    ) -> Result<String, LinkError> {
        let session = self.open(instance_id)?;
        let joined = session
            .client
            .groups()
            .join_with_invite_code(code)
            .await
            .map_err(|e| group_error("joining the group", e))?;
        match joined {
            whatsapp_rust::JoinGroupResult::Joined(g) => Ok(g.to_string()),
            whatsapp_rust::JoinGroupResult::PendingApproval(_) => Err(LinkError::Rejected(
                "the group needs an admin's approval; the request to join was sent".into(),
            )),
        }
    }

    pub(super) async fn wa_leave_group(
        &self,
        instance_id: &str,
        group: &str,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        session
            .client
            .groups()
            .leave(jid(group)?)
            .await
            .map_err(|e| group_error("leaving the group", e))
    }
}
