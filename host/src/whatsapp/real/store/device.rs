//! `DeviceStore`: the instance's own device (identity, noise and pre-key pairs, ids).

use async_trait::async_trait;
use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::DeviceStore;

use super::{RedbBackend, db, from_json, get_in, to_json};
use crate::store::tables::WA_DEVICE;

/// One device per instance; whatsapp-rust only logs the id `create` returns.
const DEVICE_ID: i32 = 1;

#[async_trait]
impl DeviceStore for RedbBackend {
    async fn save(&self, device: &Device) -> Result<()> {
        let k = self.key(&[])?;
        let v = to_json(device)?;
        self.put_rows("saving the device", WA_DEVICE, vec![(k, v)])
            .await
    }

    async fn load(&self) -> Result<Option<Device>> {
        let k = self.key(&[])?;
        self.get("loading the device", WA_DEVICE, k)
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn exists(&self) -> Result<bool> {
        let k = self.key(&[])?;
        Ok(self
            .get("checking for a device", WA_DEVICE, k)
            .await?
            .is_some())
    }

    /// Stores a fresh device (new key pairs) unless one is there, in one commit, so the
    /// keys a client starts with are already durable when it first uses them.
    async fn create(&self) -> Result<i32> {
        let k = self.key(&[])?;
        let fresh = to_json(&Device::new())?;
        self.write("creating the device", move |tx| {
            if get_in(tx, WA_DEVICE, &k)?.is_none() {
                tx.open_table(WA_DEVICE)
                    .map_err(db)?
                    .insert(k.as_slice(), fresh.as_slice())
                    .map_err(db)?;
            }
            Ok(())
        })
        .await?;
        Ok(DEVICE_ID)
    }

    /// Rows live in the gateway's file, not in this process's memory.
    async fn resource_report(&self) -> whatsapp_rust::wacore::stats::StorageResourceReport {
        whatsapp_rust::wacore::stats::StorageResourceReport {
            memory_bytes: Some(0),
            ..Default::default()
        }
    }
}
