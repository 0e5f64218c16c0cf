//! Account settings on the real network: profile pictures (the account's own and a
//! group's, `w:profile:picture` IQs), privacy settings (`privacy` IQs) and business
//! profiles (`w:biz` IQ), through whatsapp-rust 0.7.

use whatsapp_rust::request::IqError;
use whatsapp_rust::wacore::iq::privacy::{PrivacyCategory as WaCategory, PrivacyValue as WaValue};

use super::WhatsAppLink;
use super::session::jid;
use crate::core::business::{BusinessProfile, OpeningHours};
use crate::core::privacy::{PrivacyCategory, PrivacySetting, PrivacyValue};
use crate::whatsapp::LinkError;

fn iq_error(what: &str, e: IqError) -> LinkError {
    match e {
        IqError::NotConnected => LinkError::NotConnected,
        IqError::ServerError {
            code: 401 | 403,
            text,
            ..
        } => LinkError::Forbidden(format!("WhatsApp refused {what}: {text}")),
        IqError::ServerError {
            code: 404, text, ..
        } => LinkError::NotFound(format!("WhatsApp does not know it ({text})")),
        IqError::ServerError {
            code: 400 | 406 | 409,
            text,
            ..
        } => LinkError::Rejected(format!("WhatsApp refused {what}: {text}")),
        e => LinkError::Failed(format!("{what}: {e}")),
    }
}

fn wa_category(c: PrivacyCategory) -> WaCategory {
    match c {
        PrivacyCategory::LastSeen => WaCategory::Last,
        PrivacyCategory::Online => WaCategory::Online,
        PrivacyCategory::ProfilePicture => WaCategory::Profile,
        PrivacyCategory::About => WaCategory::Status,
        PrivacyCategory::GroupAdd => WaCategory::GroupAdd,
        PrivacyCategory::ReadReceipts => WaCategory::ReadReceipts,
        PrivacyCategory::CallAdd => WaCategory::CallAdd,
        PrivacyCategory::Messages => WaCategory::Messages,
    }
}

fn wa_value(v: PrivacyValue) -> WaValue {
    match v {
        PrivacyValue::All => WaValue::All,
        PrivacyValue::Contacts => WaValue::Contacts,
        PrivacyValue::ContactBlacklist => WaValue::ContactBlacklist,
        PrivacyValue::Nobody => WaValue::None,
        PrivacyValue::MatchLastSeen => WaValue::MatchLastSeen,
        PrivacyValue::Known => WaValue::Known,
    }
}

/// A setting WhatsApp reported, when core has names for its category and value
/// (defense mode and values newer than this build are left out).
fn setting_of(category: &WaCategory, value: &WaValue) -> Option<PrivacySetting> {
    let category = PrivacyCategory::ALL
        .into_iter()
        .find(|c| &wa_category(*c) == category)?;
    let value = [
        PrivacyValue::All,
        PrivacyValue::Contacts,
        PrivacyValue::ContactBlacklist,
        PrivacyValue::Nobody,
        PrivacyValue::MatchLastSeen,
        PrivacyValue::Known,
    ]
    .into_iter()
    .find(|v| &wa_value(*v) == value)?;
    Some(PrivacySetting { category, value })
}

impl WhatsAppLink {
    pub(super) async fn wa_set_picture(
        &self,
        instance_id: &str,
        target: &str,
        jpeg: Option<bytes::Bytes>,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        let client = &session.client;
        if target.ends_with("@g.us") {
            let groups = client.groups();
            let done = match jpeg {
                Some(bytes) => {
                    groups
                        .set_profile_picture(jid(target)?, bytes.to_vec())
                        .await
                }
                None => groups.remove_profile_picture(jid(target)?).await,
            };
            done.map(|_| ())
                .map_err(|e| super::groups::group_error("the group picture change", e))
        } else {
            let profile = client.profile();
            let done = match jpeg {
                Some(bytes) => profile.set_profile_picture(bytes.to_vec()).await,
                None => profile.remove_profile_picture().await,
            };
            done.map(|_| ()).map_err(|e| match e {
                whatsapp_rust::ProfileError::Iq(e) => iq_error("the profile picture change", e),
                whatsapp_rust::ProfileError::InvalidArgument(m) => LinkError::Rejected(m),
                e => LinkError::Failed(format!("changing the profile picture: {e}")),
            })
        }
    }

    pub(super) async fn wa_privacy_settings(
        &self,
        instance_id: &str,
    ) -> Result<Vec<PrivacySetting>, LinkError> {
        let session = self.open(instance_id)?;
        let got = session
            .client
            .fetch_privacy_settings()
            .await
            .map_err(|e| iq_error("reading the privacy settings", e))?;
        Ok(got
            .settings
            .iter()
            .filter_map(|s| setting_of(&s.category, &s.value))
            .collect())
    }

    pub(super) async fn wa_set_privacy(
        &self,
        instance_id: &str,
        setting: PrivacySetting,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        session
            .client
            .set_privacy_setting(wa_category(setting.category), wa_value(setting.value))
            .await
            .map(|_| ())
            .map_err(|e| iq_error("the privacy change", e))
    }

    pub(super) async fn wa_business_profile(
        &self,
        instance_id: &str,
        who: &str,
    ) -> Result<Option<BusinessProfile>, LinkError> {
        let session = self.open(instance_id)?;
        let target = jid(who)?;
        let profile = session
            .client
            .get_business_profile(&target)
            .await
            .map_err(|e| iq_error("reading the business profile", e))?;
        // WhatsApp answers no profile alike for a person and for nobody: ask which.
        if profile.is_none()
            && self
                .wa_check_numbers(instance_id, &[who.to_string()])
                .await?
                .is_empty()
        {
            return Err(LinkError::NotFound(format!("{who} is not on WhatsApp")));
        }
        Ok(profile.map(|p| BusinessProfile {
            jid: who.to_string(),
            description: p.description,
            email: p.email,
            websites: p.website,
            categories: p.categories.into_iter().map(|c| c.name).collect(),
            address: p.address,
            hours: p
                .business_hours
                .business_config
                .unwrap_or_default()
                .into_iter()
                .map(|h| OpeningHours {
                    day: h.day_of_week.as_str().to_string(),
                    mode: h.mode.as_str().to_string(),
                    open_minute: h.open_time,
                    close_minute: h.close_time,
                })
                .collect(),
            timezone: p.business_hours.timezone,
        }))
    }
}
