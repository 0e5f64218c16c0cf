//! Profile pictures: the account's own and a group's, set from an image (bytes, an
//! upload, or a URL the host fetches under `[media]` and the SSRF guard) or removed.
//!
//! WhatsApp takes a JPEG (it shows 640x640); wagate does not convert images, so any
//! other type is `invalid` with a message saying so. The account's picture needs
//! `manage` (like its name); a group's needs `send` (like its subject), and WhatsApp
//! decides whether this account may change it (admins; members of an unlocked group).

use super::Core;
use super::groups::{group_jid, group_not_found};
use super::media::MediaSource;
use super::model::{Capability, CoreError, CoreResult, InstanceRef, Principal};
use crate::media::sniff;

impl Core {
    /// Sets the account's profile picture, or removes it (`None`). Needs `manage`.
    pub async fn set_profile_picture(
        &self,
        p: &Principal,
        which: &InstanceRef,
        image: Option<MediaSource>,
    ) -> CoreResult<()> {
        let record = self.authorize(p, which, Capability::Manage)?;
        let owner = record
            .instance
            .owner_jid
            .clone()
            .ok_or_else(|| CoreError::NotConnected("instance is not paired yet".into()))?;
        let jpeg = self.jpeg(&record.instance.id, image).await?;
        let id = &record.instance.id;
        self.link.set_picture(id, &owner, jpeg).await?;
        // The kept profile names the picture's URL, which just changed: ask again. The
        // change is done either way; a failed refresh leaves the old URL until the
        // next session start.
        if let Err(e) = self.refresh_own_profile(id).await {
            tracing::warn!(instance = %id, error = %e, "refreshing the profile after a picture change");
        }
        Ok(())
    }

    /// Sets a group's picture, or removes it (`None`). Needs `send`.
    pub async fn set_group_picture(
        &self,
        p: &Principal,
        which: &InstanceRef,
        group: &str,
        image: Option<MediaSource>,
    ) -> CoreResult<()> {
        let record = self.authorize(p, which, Capability::Send)?;
        let gjid = group_jid(group)?;
        let jpeg = self.jpeg(&record.instance.id, image).await?;
        match self
            .link
            .set_picture(&record.instance.id, &gjid, jpeg)
            .await
        {
            Ok(()) => Ok(()),
            Err(crate::whatsapp::LinkError::NotFound(_)) => Err(group_not_found(&gjid)),
            Err(e) => Err(e.into()),
        }
    }

    /// The image's bytes when they are a JPEG.
    async fn jpeg(
        &self,
        instance_id: &str,
        image: Option<MediaSource>,
    ) -> CoreResult<Option<bytes::Bytes>> {
        let Some(source) = image else {
            return Ok(None);
        };
        let got = self.source_bytes(instance_id, source, None).await?;
        // The bytes decide: a server's header or a caller's word does not make a JPEG.
        let sniffed = sniff::from_bytes(&got.bytes);
        if sniffed != Some("image/jpeg") {
            return Err(CoreError::Invalid(format!(
                "a profile picture must be a JPEG image (got {}); wagate does not convert images",
                sniffed.unwrap_or("unknown bytes")
            )));
        }
        Ok(Some(got.bytes))
    }
}
