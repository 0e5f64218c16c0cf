//! Contacts on the real network: which numbers have an account (usync's contact
//! protocol), profile pictures, blocking, through whatsapp-rust 0.7.

use super::WhatsAppLink;
use super::session::jid;
use crate::whatsapp::{FoundNumber, LinkError};
use whatsapp_rust::Jid;

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
                let (jid, alt) = addresses(&r.jid, r.lid.as_ref(), r.pn_jid.as_ref(), jids);
                FoundNumber {
                    jid,
                    alt,
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

/// A check's answer as (the JID that was asked, its other address). WhatsApp answers a
/// phone under its JID with its `lid` beside it, or LID-first with the phone as
/// `pn_jid`; a LID query LID-first. Whichever half was asked is the key.
fn addresses(
    jid: &Jid,
    lid: Option<&Jid>,
    pn_jid: Option<&Jid>,
    asked: &[String],
) -> (String, Option<String>) {
    let name = |j: &Jid| j.to_non_ad().to_string();
    let (this, other) = if jid.is_lid() {
        (name(jid), pn_jid.map(name))
    } else {
        (name(jid), lid.map(name))
    };
    match other {
        Some(other) if !asked.contains(&this) && asked.contains(&other) => (other, Some(this)),
        other => (this, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_is_keyed_by_the_half_that_was_asked() {
        let j = |s: &str| s.parse::<Jid>().unwrap();
        let (phone, lid) = ("5511999999999@s.whatsapp.net", "190000000000077@lid");
        // A phone answered under its JID, its LID beside it.
        let got = addresses(&j(phone), Some(&j(lid)), None, &[phone.to_string()]);
        assert_eq!(got, (phone.to_string(), Some(lid.to_string())));
        // A phone answered LID-first: still the phone's answer.
        let got = addresses(&j(lid), None, Some(&j(phone)), &[phone.to_string()]);
        assert_eq!(got, (phone.to_string(), Some(lid.to_string())));
        // A LID asked and answered as itself.
        let got = addresses(&j(lid), None, Some(&j(phone)), &[lid.to_string()]);
        assert_eq!(got, (lid.to_string(), Some(phone.to_string())));
        // No other half known.
        let got = addresses(&j(phone), None, None, &[phone.to_string()]);
        assert_eq!(got, (phone.to_string(), None));
    }
}
