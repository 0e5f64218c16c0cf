//! Contacts on the real network: which numbers have an account (usync's contact
//! protocol), profile pictures, blocking, through whatsapp-rust 0.7.

use super::WhatsAppLink;
use super::session::jid;
use crate::whatsapp::{FoundNumber, LinkError};

impl WhatsAppLink {
    pub(super) async fn wa_check_numbers(
        &self,
        instance_id: &str,
        jids: &[String],
    ) -> Result<Vec<FoundNumber>, LinkError> {
        let session = self.open(instance_id)?;
        let asked = jids.iter().map(|j| jid(j)).collect::<Result<Vec<_>, _>>()?;
        let answers = session
            .client
            .contacts()
            .is_on_whatsapp(&asked)
            .await
            .map_err(|e| LinkError::Failed(format!("checking numbers: {e}")))?;
        Ok(answers
            .into_iter()
            .filter(|r| r.is_registered)
            .map(|r| {
                // A phone is answered under its JID with its LID beside it; a LID
                // under itself with its phone beside it.
                let (this, other) = if r.jid.is_lid() {
                    (r.jid, r.pn_jid)
                } else {
                    (r.jid, r.lid)
                };
                FoundNumber {
                    jid: this.to_non_ad().to_string(),
                    alt: other.map(|j| j.to_non_ad().to_string()),
                    is_business: r.is_business,
                }
            })
            .collect())
    }

    pub(super) async fn wa_profile_picture_url(
        &self,
        instance_id: &str,
        who: &str,
    ) -> Result<Option<String>, LinkError> {
        let session = self.open(instance_id)?;
        let picture = session
            .client
            .contacts()
            .get_profile_picture(&jid(who)?, false)
            .await
            .map_err(|e| LinkError::Failed(format!("reading the profile picture: {e}")))?;
        Ok(picture.map(|p| p.url))
    }

    pub(super) async fn wa_blocklist(&self, instance_id: &str) -> Result<Vec<String>, LinkError> {
        let session = self.open(instance_id)?;
        let entries = session
            .client
            .blocking()
            .get_blocklist()
            .await
            .map_err(|e| LinkError::Failed(format!("reading the block list: {e}")))?;
        Ok(entries.iter().map(|e| e.jid.to_non_ad_string()).collect())
    }

    pub(super) async fn wa_set_blocked(
        &self,
        instance_id: &str,
        who: &str,
        blocked: bool,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        let target = jid(who)?;
        let change = || async {
            let blocking = session.client.blocking();
            if blocked {
                blocking.block(&target).await
            } else {
                blocking.unblock(&target).await
            }
        };
        let done = match change().await {
            // whatsapp-rust blocks by LID and phone together and knows the pair only
            // for people it has met: a number check asks WhatsApp for it, then again.
            Err(whatsapp_rust::BlockingError::InvalidJid(_)) if target.is_pn() => {
                session
                    .client
                    .contacts()
                    .is_on_whatsapp(std::slice::from_ref(&target))
                    .await
                    .map_err(|e| LinkError::Failed(format!("checking the number: {e}")))?;
                change().await
            }
            other => other,
        };
        done.map_err(|e| match e {
            whatsapp_rust::BlockingError::InvalidJid(m) => LinkError::NotFound(m),
            e => LinkError::Failed(format!("changing the block list: {e}")),
        })
    }
}
