//! Profiles: this account's (name, "about" text, picture), kept with the instance and
//! refreshed whenever its session opens or the gateway changes it, so listing
//! instances costs no round trip to WhatsApp; and a contact's, asked of WhatsApp each
//! time (their push name from the messages they sent, see `contacts.rs`).
//!
//! Reads need `read`; changing this account's name or about text needs `manage` (it
//! is the account's identity, as every contact sees it).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Core;
use super::jid;
use super::model::{Capability, CoreError, CoreResult, InstanceRef, Principal};
use super::records::InstanceRecord;
use crate::whatsapp::LinkProfile;

/// WhatsApp's longest push name.
pub const MAX_NAME_CHARS: usize = 25;
/// WhatsApp's longest "about" text.
pub const MAX_STATUS_CHARS: usize = 139;

/// An account's profile as the gateway shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The account's JID.
    pub jid: String,
    /// Its name: this account's push name, or the one a contact's messages carried.
    pub name: Option<String>,
    /// Its "about" text, when its privacy lets this account see it.
    pub status: Option<String>,
    /// A URL of its picture (WhatsApp's CDN; it expires), when there is one to see.
    pub picture_url: Option<String>,
    /// A WhatsApp Business account.
    pub is_business: bool,
}

impl Profile {
    fn from_link(jid: String, p: LinkProfile) -> Self {
        Profile {
            jid,
            name: p.name,
            status: p.status,
            picture_url: p.picture_url,
            is_business: p.is_business,
        }
    }
}

impl Core {
    /// A profile: this account's (`who` `None` or the account's own JID) as last seen
    /// when the session opened or the gateway changed it, else `who`'s, asked of
    /// WhatsApp now. `not-connected` when this account's was never seen (never
    /// paired) or a contact's is asked while the session is down. Needs `read`.
    pub async fn get_profile(
        &self,
        p: &Principal,
        which: &InstanceRef,
        who: Option<&str>,
    ) -> CoreResult<Profile> {
        let record = self.authorize(p, which, Capability::Read)?;
        let owner = record.instance.owner_jid.clone();
        let target = who.map(jid::normalize).transpose()?;
        match target {
            Some(j) if Some(&j) != owner.as_ref() => {
                let found = self.link.fetch_profile(&record.instance.id, &j).await?;
                if let Err(e) = self
                    .note_business(&record.instance.id, &j, found.is_business)
                    .await
                {
                    tracing::warn!(error = %e, "keeping a contact's business flag");
                }
                let mut profile = Profile::from_link(j.clone(), found);
                profile.name = self.contact_push_name(&record.instance.id, &j)?;
                Ok(profile)
            }
            _ => match record.profile {
                Some(profile) => Ok(profile),
                None => self.refresh_own_profile(&record.instance.id).await,
            },
        }
    }

    /// Refreshes the kept profile off the ingest path (a round trip to WhatsApp per
    /// session that opens must not hold up other instances' events).
    pub(crate) fn refresh_profile_later(self: &Arc<Self>, instance_id: &str) {
        let (core, id) = (self.clone(), instance_id.to_string());
        tokio::spawn(async move {
            if let Err(e) = core.refresh_own_profile(&id).await {
                tracing::debug!(instance = %id, error = %e, "reading the account's profile");
            }
        });
    }

    /// Asks WhatsApp for this account's profile and keeps it with the instance.
    pub(crate) async fn refresh_own_profile(&self, instance_id: &str) -> CoreResult<Profile> {
        let owner = self
            .record_by_id(instance_id)?
            .and_then(|r| r.instance.owner_jid)
            .ok_or_else(|| CoreError::NotConnected("the instance is not paired".into()))?;
        let found = self.link.fetch_profile(instance_id, &owner).await?;
        let profile = Profile::from_link(owner, found);
        self.keep_profile(instance_id, profile.clone()).await?;
        Ok(profile)
    }

    /// Changes this account's name; answers the profile as it is now. Needs `manage`.
    pub async fn set_profile_name(
        &self,
        p: &Principal,
        which: &InstanceRef,
        name: &str,
    ) -> CoreResult<Profile> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(CoreError::Invalid(format!(
                "the name must be 1 to {MAX_NAME_CHARS} characters"
            )));
        }
        let record = self.authorize(p, which, Capability::Manage)?;
        self.link
            .set_profile_name(&record.instance.id, name)
            .await?;
        self.changed_own_profile(&record, |profile| profile.name = Some(name.to_string()))
            .await
    }

    /// Changes this account's "about" text; answers the profile as it is now. Needs
    /// `manage`.
    pub async fn set_profile_status(
        &self,
        p: &Principal,
        which: &InstanceRef,
        status: &str,
    ) -> CoreResult<Profile> {
        if status.trim().is_empty() || status.chars().count() > MAX_STATUS_CHARS {
            return Err(CoreError::Invalid(format!(
                "the status must be 1 to {MAX_STATUS_CHARS} characters"
            )));
        }
        let record = self.authorize(p, which, Capability::Manage)?;
        self.link
            .set_profile_status(&record.instance.id, status)
            .await?;
        self.changed_own_profile(&record, |profile| profile.status = Some(status.to_string()))
            .await
    }

    /// The kept profile with a change the link just made (asked of WhatsApp when none
    /// was kept yet).
    async fn changed_own_profile(
        &self,
        record: &InstanceRecord,
        change: impl FnOnce(&mut Profile),
    ) -> CoreResult<Profile> {
        let mut profile = match record.profile.clone() {
            Some(p) => p,
            None => return self.refresh_own_profile(&record.instance.id).await,
        };
        change(&mut profile);
        self.keep_profile(&record.instance.id, profile.clone())
            .await?;
        Ok(profile)
    }

    /// Keeps `profile` with the instance, unless the instance paired another account
    /// meanwhile (a late refresh must not label the new account with the old one).
    async fn keep_profile(&self, instance_id: &str, profile: Profile) -> CoreResult<()> {
        self.update_record(instance_id, move |rec| {
            if rec.instance.owner_jid.as_deref() == Some(profile.jid.as_str()) {
                rec.profile = Some(profile.clone());
            }
        })
        .await
    }
}
