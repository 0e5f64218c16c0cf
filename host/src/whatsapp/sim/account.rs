//! The sim network's account-level state: profile pictures (the account's own and
//! groups'), each account's privacy settings, and which numbers are business
//! accounts (those whose digits end in `4242`, so tests can name one).

use std::collections::HashMap;

use super::SimLink;
use crate::core::business::{BusinessProfile, OpeningHours};
use crate::core::privacy::{self, PrivacySetting};
use crate::whatsapp::LinkError;

/// Pictures changed through the network: JID -> the new picture's URL, or `None`
/// once removed. A JID not here still has the picture every sim account starts with.
#[derive(Default)]
pub(super) struct SimPictures(HashMap<String, Option<String>>);

impl SimPictures {
    /// The URL of `jid`'s picture, when it has one.
    pub(super) fn url_of(&self, jid: &str) -> Option<String> {
        match self.0.get(jid) {
            Some(changed) => changed.clone(),
            None => {
                let user = jid.split('@').next().unwrap_or_default();
                Some(format!("https://pps.whatsapp.net/sim/{user}.jpg"))
            }
        }
    }

    /// Sets (a URL named after the bytes, so a new picture has a new URL) or removes
    /// `jid`'s picture.
    fn set(&mut self, jid: &str, jpeg: Option<&[u8]>) {
        let url = jpeg.map(|bytes| {
            let user = jid.split('@').next().unwrap_or_default();
            let digest = &crate::util::sha256_hex(bytes)[..12];
            format!("https://pps.whatsapp.net/sim/{user}-{digest}.jpg")
        });
        self.0.insert(jid.to_string(), url);
    }
}

/// Whether the sim network counts `jid` as a business account.
pub fn is_business(jid: &str) -> bool {
    jid.split('@')
        .next()
        .is_some_and(|user| user.ends_with("4242"))
}

impl SimLink {
    /// The account's own picture or a group's it may change (see `Link::set_picture`).
    pub(super) fn sim_set_picture(
        &self,
        instance_id: &str,
        target: &str,
        jpeg: Option<&[u8]>,
    ) -> Result<(), LinkError> {
        let me = self.me(instance_id)?;
        if target.ends_with("@g.us") {
            self.sim_groups().may_edit_info(&me, target)?;
        } else if target != me {
            return Err(LinkError::Forbidden(
                "only the account's own picture can be changed".into(),
            ));
        }
        self.pictures
            .lock()
            .expect("sim pictures lock")
            .set(target, jpeg);
        let change = if jpeg.is_some() { "set" } else { "remove" };
        self.record(instance_id, format!("picture {change} {target}"));
        Ok(())
    }

    /// The account's privacy settings (WhatsApp's defaults until changed).
    pub(super) fn sim_privacy(&self, instance_id: &str) -> Result<Vec<PrivacySetting>, LinkError> {
        self.require_open(instance_id)?;
        Ok(self
            .privacy
            .lock()
            .expect("sim privacy lock")
            .get(instance_id)
            .cloned()
            .unwrap_or_else(privacy::defaults))
    }

    /// Changes one of the account's privacy settings.
    pub(super) fn sim_set_privacy(
        &self,
        instance_id: &str,
        setting: PrivacySetting,
    ) -> Result<(), LinkError> {
        self.require_open(instance_id)?;
        let mut all = self.privacy.lock().expect("sim privacy lock");
        let settings = all
            .entry(instance_id.to_string())
            .or_insert_with(privacy::defaults);
        match settings.iter_mut().find(|s| s.category == setting.category) {
            Some(s) => s.value = setting.value,
            None => settings.push(setting),
        }
        Ok(())
    }

    /// A business account's profile: the same made-up shop for every one of them.
    pub(super) fn sim_business_profile(
        &self,
        instance_id: &str,
        jid: &str,
    ) -> Result<Option<BusinessProfile>, LinkError> {
        self.require_open(instance_id)?;
        if !super::on_whatsapp(jid) {
            return Err(LinkError::NotFound(format!("{jid} is not on WhatsApp")));
        }
        Ok(is_business(jid).then(|| BusinessProfile {
            jid: jid.to_string(),
            description: "Fresh bread every morning".into(),
            email: Some("hello@bakery.example".into()),
            websites: vec!["https://bakery.example".into()],
            categories: vec!["Bakery".into()],
            address: Some("1 Baker Street".into()),
            timezone: Some("America/Sao_Paulo".into()),
            // Weekdays 07:00-19:00, Saturday by appointment.
            hours: ["mon", "tue", "wed", "thu", "fri"]
                .iter()
                .map(|day| OpeningHours {
                    day: day.to_string(),
                    mode: "specific_hours".into(),
                    open_minute: Some(7 * 60),
                    close_minute: Some(19 * 60),
                })
                .chain(std::iter::once(OpeningHours {
                    day: "sat".into(),
                    mode: "appointment_only".into(),
                    open_minute: None,
                    close_minute: None,
                }))
                .collect(),
        }))
    }
}
