//! `MsgSecretStore`: per-message secrets (poll votes, reactions, edits refer to them).

use crate::store::kv::ReadableTable;
use async_trait::async_trait;
use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::{
    MessageSecret, MsgSecretEntry, MsgSecretStore, merge_msg_secret_expiry,
    merge_msg_secret_message_ts,
};

use super::{RedbBackend, corrupt, db};
use crate::store::tables::WA_MSG_SECRETS;

/// Rows are `secret(32) expires_at(8) message_ts(8)`, numbers big endian.
const SECRET_LEN: usize = std::mem::size_of::<MessageSecret>();
const ROW_LEN: usize = SECRET_LEN + 16;

struct Row {
    secret: MessageSecret,
    expires_at: i64,
    message_ts: i64,
}

impl Row {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(ROW_LEN);
        v.extend_from_slice(&self.secret);
        v.extend_from_slice(&self.expires_at.to_be_bytes());
        v.extend_from_slice(&self.message_ts.to_be_bytes());
        v
    }

    fn decode(v: &[u8]) -> Result<Row> {
        if v.len() != ROW_LEN {
            return Err(corrupt("message secret"));
        }
        let num = |at: usize| i64::from_be_bytes(v[at..at + 8].try_into().expect("8 bytes"));
        Ok(Row {
            secret: v[..SECRET_LEN].try_into().expect("secret length"),
            expires_at: num(SECRET_LEN),
            message_ts: num(SECRET_LEN + 8),
        })
    }
}

impl RedbBackend {
    fn secret_key(&self, chat: &str, sender: &str, msg_id: &str) -> Result<Vec<u8>> {
        self.key(&[chat.as_bytes(), sender.as_bytes(), msg_id.as_bytes()])
    }
}

#[async_trait]
impl MsgSecretStore for RedbBackend {
    /// One commit for the batch. On a key that is already there the secret is
    /// replaced, the later deadline wins (0 = never) and a known parent time is kept.
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Result<usize> {
        let count = entries.len();
        if count == 0 {
            return Ok(0);
        }
        let rows = entries
            .iter()
            .map(|e| {
                let row = Row {
                    secret: e.secret,
                    expires_at: e.expires_at,
                    message_ts: e.message_ts,
                };
                Ok((self.secret_key(&e.chat, &e.sender, &e.msg_id)?, row))
            })
            .collect::<Result<Vec<_>>>()?;
        self.write("storing message secrets", move |tx| {
            let mut t = tx.open_table(WA_MSG_SECRETS).map_err(db)?;
            for (k, incoming) in &rows {
                let existing = t
                    .get(k.as_slice())
                    .map_err(db)?
                    .map(|v| Row::decode(v.value()))
                    .transpose()?;
                let row = match existing {
                    None => Row { ..*incoming },
                    Some(old) => Row {
                        secret: incoming.secret,
                        expires_at: merge_msg_secret_expiry(old.expires_at, incoming.expires_at),
                        message_ts: merge_msg_secret_message_ts(
                            old.message_ts,
                            incoming.message_ts,
                        ),
                    },
                };
                t.insert(k.as_slice(), row.encode().as_slice())
                    .map_err(db)?;
            }
            Ok(())
        })
        .await?;
        Ok(count)
    }

    async fn get_msg_secret(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get_msg_secret_with_ts(chat, sender, msg_id)
            .await?
            .map(|(secret, _)| secret))
    }

    async fn get_msg_secret_with_ts(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<(Vec<u8>, i64)>> {
        let k = self.secret_key(chat, sender, msg_id)?;
        self.get("loading a message secret", WA_MSG_SECRETS, k)
            .await?
            .map(|v| Row::decode(&v).map(|row| (row.secret.to_vec(), row.message_ts)))
            .transpose()
    }

    /// Rows whose deadline (non-zero) is at or before the cutoff go.
    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Result<u32> {
        let prefix = self.key(&[])?;
        self.delete_where(
            "pruning message secrets",
            WA_MSG_SECRETS,
            prefix,
            move |_, v| {
                Row::decode(v)
                    .is_ok_and(|row| row.expires_at != 0 && row.expires_at <= cutoff_timestamp)
            },
        )
        .await
    }
}
