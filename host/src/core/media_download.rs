//! Which inbound media an instance downloads: its own choice over the deployment's
//! default, stored with the instance and handed to the link (which decides per
//! message, before any byte is fetched).

use super::Core;
use super::model::{Capability, CoreResult, InstanceRef, MediaInfo, Principal};
use crate::whatsapp::MediaDownload;

impl Core {
    /// The instance's choice, or `None` when it follows the default. Needs `read`.
    pub async fn media_download(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<Option<MediaDownload>> {
        Ok(self.authorize(p, which, Capability::Read)?.media_download)
    }

    /// Sets (or, with `None`, clears) the instance's choice; the link applies it to
    /// the messages that arrive from now on. Needs `manage`.
    pub async fn set_media_download(
        &self,
        p: &Principal,
        which: &InstanceRef,
        choice: Option<MediaDownload>,
    ) -> CoreResult<Option<MediaDownload>> {
        let record = self.authorize(p, which, Capability::Manage)?;
        let stored = choice.clone();
        self.update_record(&record.instance.id, move |rec| {
            rec.media_download = stored.clone()
        })
        .await?;
        self.link
            .set_media_download(&record.instance.id, choice.clone());
        Ok(choice)
    }
}

impl Core {
    /// The media record of stored message `message_id` once the link's download of
    /// its file settled (or the `[events] media_wait_ms` bound since the message
    /// arrived passed); `None` when the message is gone.
    pub async fn media_when_settled(
        &self,
        instance_id: &str,
        message_id: &str,
    ) -> CoreResult<Option<MediaInfo>> {
        self.pending_media.wait(instance_id, message_id).await;
        Ok(self
            .find_message(instance_id, message_id)?
            .and_then(|m| m.media))
    }
}
