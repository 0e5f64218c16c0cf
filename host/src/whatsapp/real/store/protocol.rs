//! `ProtocolStore`: sender-key distribution status, LID/phone mappings, base keys,
//! device lists, group metadata, trusted-contact tokens, sent messages kept for
//! retries and the pending-inbound buffer.

use crate::store::kv::{ReadableTable, WriteTx};
use async_trait::async_trait;
use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::{
    DeviceListRecord, LidPnMappingEntry, PendingInboundKey, PendingInboundRow, ProtocolStore,
    TcTokenEntry,
};

use super::{RedbBackend, db, from_json, get_in, now_secs, split_i64, to_json, with_i64};
use crate::store::tables::{
    WA_BASE_KEYS, WA_DEVICE_LISTS, WA_GROUP_METADATA, WA_LID_PN, WA_PENDING_INBOUND, WA_PN_LID,
    WA_SENDER_KEY_DEVICES, WA_SENT_MESSAGES, WA_TC_TOKENS,
};

impl RedbBackend {
    fn pending_key(&self, chat: &str, sender: &str, id: &str) -> Result<Vec<u8>> {
        self.key(&[chat.as_bytes(), sender.as_bytes(), id.as_bytes()])
    }
}

/// Inserts a LID mapping and keeps the phone -> LID index in step: when the LID moved
/// to another phone, the old phone's entry goes if it still points at this LID.
fn put_lid_mapping_in(
    tx: &WriteTx,
    instance_prefix: &[u8],
    entry: &LidPnMappingEntry,
    value: &[u8],
) -> Result<()> {
    let key_of = |part: &str| {
        let mut k = instance_prefix.to_vec();
        k.extend_from_slice(part.as_bytes());
        k
    };
    let lid_key = key_of(&entry.lid);
    let mut by_lid = tx.open_table(WA_LID_PN).map_err(db)?;
    let mut by_pn = tx.open_table(WA_PN_LID).map_err(db)?;
    let old = by_lid
        .get(lid_key.as_slice())
        .map_err(db)?
        .map(|v| v.value().to_vec());
    if let Some(old) = old {
        let old: LidPnMappingEntry = from_json(&old)?;
        if old.phone_number != entry.phone_number {
            let old_pn_key = key_of(&old.phone_number);
            let points_here = by_pn
                .get(old_pn_key.as_slice())
                .map_err(db)?
                .is_some_and(|v| v.value() == entry.lid.as_bytes());
            if points_here {
                by_pn.remove(old_pn_key.as_slice()).map_err(db)?;
            }
        }
    }
    by_lid.insert(lid_key.as_slice(), value).map_err(db)?;
    by_pn
        .insert(key_of(&entry.phone_number).as_slice(), entry.lid.as_bytes())
        .map_err(db)?;
    Ok(())
}

/// Reads a tc-token row inside a write transaction (for the atomic merges).
fn tc_token_in(tx: &WriteTx, key: &[u8]) -> Result<Option<TcTokenEntry>> {
    get_in(tx, WA_TC_TOKENS, key)?
        .map(|v| from_json(&v))
        .transpose()
}

fn put_tc_token_in(tx: &WriteTx, key: &[u8], entry: &TcTokenEntry) -> Result<()> {
    let value = to_json(entry)?;
    tx.open_table(WA_TC_TOKENS)
        .map_err(db)?
        .insert(key, value.as_slice())
        .map_err(db)?;
    Ok(())
}

#[async_trait]
impl ProtocolStore for RedbBackend {
    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        let prefix = self.key(&[group_jid.as_bytes(), b""])?;
        self.scan("loading sender-key devices", WA_SENDER_KEY_DEVICES, prefix)
            .await?
            .into_iter()
            .map(|(device, has_key)| {
                Ok((
                    String::from_utf8_lossy(&device).into_owned(),
                    has_key.first() == Some(&1),
                ))
            })
            .collect()
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        let rows = entries
            .iter()
            .map(|(device, has_key)| {
                Ok((
                    self.key(&[group_jid.as_bytes(), device.as_bytes()])?,
                    vec![u8::from(*has_key)],
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        self.put_rows("storing sender-key status", WA_SENDER_KEY_DEVICES, rows)
            .await
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        let prefix = self.key(&[group_jid.as_bytes(), b""])?;
        self.delete_where(
            "clearing a group's sender-key devices",
            WA_SENDER_KEY_DEVICES,
            prefix,
            |_, _| true,
        )
        .await?;
        Ok(())
    }

    /// Rows are keyed by group first, so this scans the instance's rows once and
    /// drops those whose device part is one of `device_jids`.
    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        if device_jids.is_empty() {
            return Ok(());
        }
        let prefix = self.key(&[])?;
        let doomed: std::collections::HashSet<Vec<u8>> =
            device_jids.iter().map(|d| d.as_bytes().to_vec()).collect();
        self.delete_where(
            "deleting sender-key device rows",
            WA_SENDER_KEY_DEVICES,
            prefix,
            move |suffix, _| {
                // suffix = group \0 device (groups never contain \0, see wa_key).
                match suffix.iter().position(|b| *b == 0) {
                    Some(i) => doomed.contains(&suffix[i + 1..]),
                    None => false,
                }
            },
        )
        .await?;
        Ok(())
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        let prefix = self.key(&[])?;
        self.delete_where(
            "clearing all sender-key devices",
            WA_SENDER_KEY_DEVICES,
            prefix,
            |_, _| true,
        )
        .await?;
        Ok(())
    }

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        let k = self.key(&[lid.as_bytes()])?;
        self.get("loading a LID mapping", WA_LID_PN, k)
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        let pn_key = self.key(&[phone.as_bytes()])?;
        let prefix = self.key(&[])?;
        self.read("loading a phone mapping", move |tx| {
            let Some(lid) = get_in(tx, WA_PN_LID, &pn_key)? else {
                return Ok(None);
            };
            let mut lid_key = prefix;
            lid_key.extend_from_slice(&lid);
            get_in(tx, WA_LID_PN, &lid_key)?
                .map(|v| from_json(&v))
                .transpose()
        })
        .await
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        self.put_lid_mappings(std::slice::from_ref(entry)).await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let prefix = self.key(&[])?;
        let rows = entries
            .iter()
            .map(|e| Ok((e.clone(), to_json(e)?)))
            .collect::<Result<Vec<_>>>()?;
        self.write("storing LID mappings", move |tx| {
            for (entry, value) in &rows {
                put_lid_mapping_in(tx, &prefix, entry, value)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        let prefix = self.key(&[])?;
        self.scan("loading LID mappings", WA_LID_PN, prefix)
            .await?
            .into_iter()
            .map(|(_, v)| from_json(&v))
            .collect()
    }

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Result<()> {
        let k = self.key(&[address.as_bytes(), message_id.as_bytes()])?;
        self.put_rows(
            "storing a base key",
            WA_BASE_KEYS,
            vec![(k, base_key.to_vec())],
        )
        .await
    }

    async fn has_same_base_key(
        &self,
        address: &str,
        message_id: &str,
        current_base_key: &[u8],
    ) -> Result<bool> {
        let k = self.key(&[address.as_bytes(), message_id.as_bytes()])?;
        Ok(self
            .get("comparing a base key", WA_BASE_KEYS, k)
            .await?
            .is_some_and(|stored| stored == current_base_key))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        let k = self.key(&[address.as_bytes(), message_id.as_bytes()])?;
        self.delete_keys("deleting a base key", WA_BASE_KEYS, vec![k])
            .await
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        self.update_device_lists(vec![record]).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        let rows = records
            .iter()
            .map(|r| Ok((self.key(&[r.user.as_bytes()])?, to_json(r)?)))
            .collect::<Result<Vec<_>>>()?;
        self.put_rows("storing device lists", WA_DEVICE_LISTS, rows)
            .await
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        let k = self.key(&[user.as_bytes()])?;
        self.get("loading a device list", WA_DEVICE_LISTS, k)
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn delete_devices(&self, user: &str) -> Result<()> {
        let k = self.key(&[user.as_bytes()])?;
        self.delete_keys("deleting a device list", WA_DEVICE_LISTS, vec![k])
            .await
    }

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        let k = self.key(&[group_jid.as_bytes()])?;
        self.get("loading group metadata", WA_GROUP_METADATA, k)
            .await
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        let k = self.key(&[group_jid.as_bytes()])?;
        self.put_rows(
            "storing group metadata",
            WA_GROUP_METADATA,
            vec![(k, blob.to_vec())],
        )
        .await
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        let k = self.key(&[group_jid.as_bytes()])?;
        self.delete_keys("deleting group metadata", WA_GROUP_METADATA, vec![k])
            .await
    }

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        let k = self.key(&[jid.as_bytes()])?;
        self.get("loading a tc token", WA_TC_TOKENS, k)
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        let k = self.key(&[jid.as_bytes()])?;
        let v = to_json(entry)?;
        self.put_rows("storing a tc token", WA_TC_TOKENS, vec![(k, v)])
            .await
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        let k = self.key(&[jid.as_bytes()])?;
        self.delete_keys("deleting a tc token", WA_TC_TOKENS, vec![k])
            .await
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        let prefix = self.key(&[])?;
        Ok(self
            .scan("listing tc tokens", WA_TC_TOKENS, prefix)
            .await?
            .into_iter()
            .map(|(jid, _)| String::from_utf8_lossy(&jid).into_owned())
            .collect())
    }

    /// A row goes only when neither its received token nor its sender bucket is live.
    /// A row that does not decode is kept (and logged by the next read) rather than
    /// silently dropped.
    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        let prefix = self.key(&[])?;
        self.delete_where("pruning tc tokens", WA_TC_TOKENS, prefix, move |_, v| {
            let Ok(entry) = from_json::<TcTokenEntry>(v) else {
                return false;
            };
            let token_live = !entry.token.is_empty() && entry.token_timestamp >= token_cutoff;
            let sender_live = entry.sender_timestamp.is_some_and(|ts| ts >= sender_cutoff);
            !(token_live || sender_live)
        })
        .await
    }

    /// Read-modify-write inside one write transaction: atomic against
    /// `store_received_tc_token` (redb has one writer at a time).
    async fn touch_tc_token_sender_timestamp(
        &self,
        jid: &str,
        sender_timestamp: i64,
    ) -> Result<()> {
        let k = self.key(&[jid.as_bytes()])?;
        self.write("advancing a tc token's sender time", move |tx| {
            let entry = match tc_token_in(tx, &k)? {
                Some(existing) => TcTokenEntry {
                    sender_timestamp: Some(
                        existing
                            .sender_timestamp
                            .map_or(sender_timestamp, |e| e.max(sender_timestamp)),
                    ),
                    ..existing
                },
                None => TcTokenEntry {
                    token: Vec::new(),
                    token_timestamp: sender_timestamp,
                    sender_timestamp: Some(sender_timestamp),
                },
            };
            put_tc_token_in(tx, &k, &entry)
        })
        .await
    }

    /// Newer wins (a placeholder never blocks a real token); the sender bucket stays.
    async fn store_received_tc_token(
        &self,
        jid: &str,
        token: &[u8],
        token_timestamp: i64,
    ) -> Result<()> {
        let k = self.key(&[jid.as_bytes()])?;
        let token = token.to_vec();
        self.write("storing a received tc token", move |tx| {
            let existing = tc_token_in(tx, &k)?;
            if let Some(e) = &existing
                && !e.token.is_empty()
                && token_timestamp < e.token_timestamp
            {
                return Ok(());
            }
            let entry = TcTokenEntry {
                token: token.clone(),
                token_timestamp,
                sender_timestamp: existing.and_then(|e| e.sender_timestamp),
            };
            put_tc_token_in(tx, &k, &entry)
        })
        .await
    }

    /// No count cap as in the in-memory store: rows are on disk, and the client's
    /// keepalive sweep (`delete_expired_sent_messages`) bounds them by age.
    async fn store_sent_message(
        &self,
        chat_jid: &str,
        message_id: &str,
        payload: &[u8],
    ) -> Result<()> {
        let k = self.key(&[chat_jid.as_bytes(), message_id.as_bytes()])?;
        let v = with_i64(now_secs(), payload);
        self.put_rows("storing a sent message", WA_SENT_MESSAGES, vec![(k, v)])
            .await
    }

    /// Get and delete in one commit, so two retry receipts cannot both take it.
    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        let k = self.key(&[chat_jid.as_bytes(), message_id.as_bytes()])?;
        let taken = self
            .write("taking a sent message", move |tx| {
                let mut t = tx.open_table(WA_SENT_MESSAGES).map_err(db)?;
                let v = t
                    .remove(k.as_slice())
                    .map_err(db)?
                    .map(|v| v.value().to_vec());
                Ok(v)
            })
            .await?;
        taken
            .map(|v| split_i64(&v, "sent message").map(|(_, payload)| payload))
            .transpose()
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        let prefix = self.key(&[])?;
        self.delete_where(
            "pruning sent messages",
            WA_SENT_MESSAGES,
            prefix,
            move |_, v| split_i64(v, "sent message").is_ok_and(|(ts, _)| ts < cutoff_timestamp),
        )
        .await
    }

    async fn store_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Result<()> {
        self.store_pending_inbound_batch(&[PendingInboundRow {
            chat,
            sender,
            id,
            message,
        }])
        .await
    }

    async fn get_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>> {
        let k = self.pending_key(chat, sender, id)?;
        self.get("loading a pending inbound message", WA_PENDING_INBOUND, k)
            .await?
            .map(|v| split_i64(&v, "pending inbound message").map(|(_, m)| m))
            .transpose()
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        self.delete_pending_inbound_batch(&[PendingInboundKey { chat, sender, id }])
            .await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        let prefix = self.key(&[])?;
        self.delete_where(
            "pruning pending inbound messages",
            WA_PENDING_INBOUND,
            prefix,
            move |_, v| {
                split_i64(v, "pending inbound message").is_ok_and(|(ts, _)| ts < cutoff_timestamp)
            },
        )
        .await
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        let now = now_secs();
        let rows = rows
            .iter()
            .map(|r| {
                Ok((
                    self.pending_key(r.chat, r.sender, r.id)?,
                    with_i64(now, r.message),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        self.put_rows("buffering inbound messages", WA_PENDING_INBOUND, rows)
            .await
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        let keys = keys
            .iter()
            .map(|k| self.pending_key(k.chat, k.sender, k.id))
            .collect::<Result<Vec<_>>>()?;
        self.delete_keys("releasing inbound messages", WA_PENDING_INBOUND, keys)
            .await
    }
}
