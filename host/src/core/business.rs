//! Business profiles: what a WhatsApp Business account shows about itself
//! (description, email, websites, categories, address, opening hours). Asked of
//! WhatsApp each time; nothing is stored. Needs `read`.

use serde::{Deserialize, Serialize};

use super::Core;
use super::jid;
use super::model::{Capability, CoreError, CoreResult, InstanceRef, Principal};

/// A business account's profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessProfile {
    /// The account's JID.
    pub jid: String,
    /// The business's description.
    pub description: String,
    /// Its email address, if shown.
    pub email: Option<String>,
    /// Its websites.
    pub websites: Vec<String>,
    /// Its categories' names ("Retail", ...).
    pub categories: Vec<String>,
    /// Its address, if shown.
    pub address: Option<String>,
    /// The time zone its opening hours are in, if it set hours.
    pub timezone: Option<String>,
    /// Its opening hours, one entry per day it set (none: it set no hours).
    pub hours: Vec<OpeningHours>,
}

/// One day of a business's opening hours, as WhatsApp keeps them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningHours {
    /// The day: `sun`, `mon`, `tue`, `wed`, `thu`, `fri` or `sat`.
    pub day: String,
    /// `specific_hours` (open from `open_minute` to `close_minute`), `open_24h` or
    /// `appointment_only`.
    pub mode: String,
    /// Opening time in minutes after midnight (`specific_hours` only).
    pub open_minute: Option<u32>,
    /// Closing time in minutes after midnight (`specific_hours` only).
    pub close_minute: Option<u32>,
}

impl Core {
    /// The business profile of `who` (a number or JID); `None` when the account is
    /// not a business, `not-found` when WhatsApp has no such account. Needs `read`.
    pub async fn business_profile(
        &self,
        p: &Principal,
        which: &InstanceRef,
        who: &str,
    ) -> CoreResult<Option<BusinessProfile>> {
        let record = self.authorize(p, which, Capability::Read)?;
        let j = jid::normalize(who)?;
        if j.ends_with("@g.us") {
            return Err(CoreError::Invalid("a group has no business profile".into()));
        }
        // Not on WhatsApp is `not-found`, as for a profile read.
        Ok(self.link.business_profile(&record.instance.id, &j).await?)
    }
}
