//! The account's privacy settings: who sees its last seen, online status, profile
//! picture and about text, who may add it to groups or call it, whether it sends read
//! receipts. WhatsApp keeps them; the gateway reads and changes them through the link
//! and stores nothing. Reading needs `read`, changing needs `manage` (like the
//! account's name).

use serde::{Deserialize, Serialize};

use super::Core;
use super::model::{Capability, CoreError, CoreResult, InstanceRef, Principal};

/// What a privacy setting governs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyCategory {
    /// Who sees "last seen".
    LastSeen,
    /// Who sees "online" (everyone, or as last seen).
    Online,
    /// Who sees the profile picture.
    ProfilePicture,
    /// Who sees the about text.
    About,
    /// Who may add the account to groups.
    GroupAdd,
    /// Whether read receipts are sent (and seen).
    ReadReceipts,
    /// Who may call.
    CallAdd,
    /// Who may message the account.
    Messages,
}

/// Who a setting lets in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyValue {
    /// Everybody.
    All,
    /// The account's contacts.
    Contacts,
    /// The account's contacts except a list kept on the phone.
    ContactBlacklist,
    /// Nobody (`none` on the wire).
    #[serde(rename = "none")]
    Nobody,
    /// `online` only: the same people as last seen.
    MatchLastSeen,
    /// `call_add` only: people the account knows.
    Known,
}

impl PrivacyValue {
    /// The value's name as answers spell it (`all`, `contact_blacklist`, ...).
    pub fn name(self) -> &'static str {
        use PrivacyValue as V;
        match self {
            V::All => "all",
            V::Contacts => "contacts",
            V::ContactBlacklist => "contact_blacklist",
            V::Nobody => "none",
            V::MatchLastSeen => "match_last_seen",
            V::Known => "known",
        }
    }
}

/// One setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacySetting {
    /// What it governs.
    pub category: PrivacyCategory,
    /// Who it lets in.
    pub value: PrivacyValue,
}

impl PrivacyCategory {
    /// Every category, in the order answers list them.
    pub const ALL: [PrivacyCategory; 8] = [
        PrivacyCategory::LastSeen,
        PrivacyCategory::Online,
        PrivacyCategory::ProfilePicture,
        PrivacyCategory::About,
        PrivacyCategory::GroupAdd,
        PrivacyCategory::ReadReceipts,
        PrivacyCategory::CallAdd,
        PrivacyCategory::Messages,
    ];

    /// The category's name as answers spell it (`last_seen`, ...).
    pub fn name(self) -> &'static str {
        use PrivacyCategory as C;
        match self {
            C::LastSeen => "last_seen",
            C::Online => "online",
            C::ProfilePicture => "profile_picture",
            C::About => "about",
            C::GroupAdd => "group_add",
            C::ReadReceipts => "read_receipts",
            C::CallAdd => "call_add",
            C::Messages => "messages",
        }
    }

    /// The values WhatsApp takes for this category.
    pub fn allows(self, value: PrivacyValue) -> bool {
        use PrivacyCategory as C;
        use PrivacyValue as V;
        match self {
            C::LastSeen | C::ProfilePicture | C::About => {
                matches!(
                    value,
                    V::All | V::Contacts | V::ContactBlacklist | V::Nobody
                )
            }
            // WhatsApp has no "nobody" for group adds.
            C::GroupAdd => matches!(value, V::All | V::Contacts | V::ContactBlacklist),
            C::Online => matches!(value, V::All | V::MatchLastSeen),
            C::ReadReceipts => matches!(value, V::All | V::Nobody),
            C::CallAdd => matches!(value, V::All | V::Known | V::Contacts),
            C::Messages => matches!(value, V::All | V::Contacts),
        }
    }
}

/// WhatsApp's defaults for a new account (what the sim starts with).
pub fn defaults() -> Vec<PrivacySetting> {
    PrivacyCategory::ALL
        .iter()
        .map(|&category| PrivacySetting {
            category,
            value: PrivacyValue::All,
        })
        .collect()
}

impl Core {
    /// The account's privacy settings, as WhatsApp answers them (categories it does
    /// not report are left out). Needs `read`.
    pub async fn get_privacy(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<Vec<PrivacySetting>> {
        let record = self.authorize(p, which, Capability::Read)?;
        Ok(self.link.privacy_settings(&record.instance.id).await?)
    }

    /// Changes the given settings, in order, and answers all of them afterwards. Every
    /// value is checked first (one WhatsApp does not take for its category is
    /// `invalid` and nothing is changed); WhatsApp takes one setting per request, so a
    /// failure part way leaves the earlier ones changed (read them back to know).
    /// Needs `manage`.
    pub async fn set_privacy(
        &self,
        p: &Principal,
        which: &InstanceRef,
        settings: &[PrivacySetting],
    ) -> CoreResult<Vec<PrivacySetting>> {
        let record = self.authorize(p, which, Capability::Manage)?;
        if settings.is_empty() {
            return Err(CoreError::Invalid(
                "give at least one privacy setting".into(),
            ));
        }
        if let Some(bad) = settings.iter().find(|s| !s.category.allows(s.value)) {
            return Err(CoreError::Invalid(format!(
                "privacy setting `{}` cannot be `{}`",
                bad.category.name(),
                bad.value.name()
            )));
        }
        // One request per category, the last value given for it winning (a long list
        // is at most eight round trips).
        let mut wanted: Vec<PrivacySetting> = Vec::new();
        for s in settings {
            match wanted.iter_mut().find(|w| w.category == s.category) {
                Some(w) => w.value = s.value,
                None => wanted.push(*s),
            }
        }
        let id = &record.instance.id;
        for s in &wanted {
            self.link.set_privacy(id, *s).await?;
        }
        Ok(self.link.privacy_settings(id).await?)
    }
}
