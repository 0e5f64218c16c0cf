//! Profiles on the real network: this account's name (its push name, from the device
//! store) and anyone's "about" text, picture and business flag (usync's status and
//! business protocols, the picture IQ), and changing this account's name and about.

use super::WhatsAppLink;
use super::session::jid;
use crate::whatsapp::{LinkError, LinkProfile};

impl WhatsAppLink {
    pub(super) async fn wa_fetch_profile(
        &self,
        instance_id: &str,
        who: &str,
    ) -> Result<LinkProfile, LinkError> {
        let session = self.open(instance_id)?;
        let target = jid(who)?;
        let own = session
            .client
            .pn()
            .is_some_and(|me| me.to_non_ad().to_string() == who);
        let info = session
            .client
            .contacts()
            .get_user_info(std::slice::from_ref(&target))
            .await
            .map_err(|e| LinkError::Failed(format!("reading the profile: {e}")))?;
        let info = info.into_values().next();
        let picture_url = self.wa_profile_picture_url(instance_id, who).await?;
        Ok(LinkProfile {
            name: own
                .then(|| session.client.push_name())
                .filter(|n| !n.is_empty()),
            status: info.as_ref().and_then(|i| i.status.clone()),
            picture_url,
            is_business: info.is_some_and(|i| i.is_business),
        })
    }

    pub(super) async fn wa_set_profile_name(
        &self,
        instance_id: &str,
        name: &str,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        session
            .client
            .profile()
            .set_push_name(name)
            .await
            .map_err(|e| LinkError::Failed(format!("setting the profile name: {e}")))
    }

    pub(super) async fn wa_set_profile_status(
        &self,
        instance_id: &str,
        status: &str,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        session
            .client
            .profile()
            .set_status_text(status)
            .await
            .map_err(|e| LinkError::Failed(format!("setting the profile status: {e}")))
    }
}
