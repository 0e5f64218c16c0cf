//! Which inbound media an instance downloads: its own choice over the deployment's
//! default, stored with the instance and handed to the link (which decides per
//! message, before any byte is fetched).

use super::Core;
use super::model::{Capability, CoreResult, InstanceRef, Principal};
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
