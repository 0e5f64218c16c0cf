//! Which inbound media an instance downloads: its own choice over the deployment's
//! default, stored with the instance and handed to the link (which decides per
//! message, before any byte is fetched).

use super::Core;
use super::model::{Capability, CoreError, CoreResult, InstanceRef, Principal, Resource};
use super::records::InstanceRecord;
use crate::store::{encode, get_json, internal, tables};
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
        let id = record.instance.id.clone();
        let stored = choice.clone();
        self.store
            .write(move |tx| {
                let mut table = tx.open_table(tables::INSTANCES).map_err(internal)?;
                let Some(mut rec) = get_json::<_, InstanceRecord>(&table, id.as_str())? else {
                    return Err(CoreError::NotFound(
                        Resource::Instance,
                        "instance not found".into(),
                    ));
                };
                rec.media_download = stored.clone();
                table
                    .insert(id.as_str(), encode(&rec).as_slice())
                    .map_err(internal)?;
                Ok(())
            })
            .await?;
        self.link
            .set_media_download(&record.instance.id, choice.clone());
        Ok(choice)
    }
}
