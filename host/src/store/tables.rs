//! Table definitions and key layouts of the gateway's one redb file.
//!
//! Values are JSON (serde) so records stay readable and can gain fields without a
//! migration. Keys that need ordering or prefix scans are byte strings built here, so
//! the layout lives in one place:
//!
//! - chat key:    `instance_id \0 jid`
//! - message key: `instance_id \0 jid \0 rev_ts(8) rev_seq(8) message_id` (big endian),
//!   where `rev_ts = u64::MAX - timestamp_ms` and `rev_seq = u64::MAX - seq` with `seq`
//!   the store-wide arrival counter (`META["message_seq"]`): a forward scan of one chat
//!   is newest first, and messages of the same millisecond keep their arrival order.
//! - message id key: `instance_id \0 message_id` -> the message key.
//! - plugin storage key: `instance_id \0 plugin \0 key` (the `storage` grant): the
//!   instance prefix wipes an instance's entries of every plugin, `instance_id \0
//!   plugin \0` one plugin's (plugin names are `[a-z0-9_-]`, so they hold no `\0`;
//!   the plugin's own key is last, so it may hold any byte).
//!
//! Instance ids are ULIDs and JIDs never contain `\0`, so prefixes cannot collide.

use redb::{MultimapTableDefinition, TableDefinition};

/// `schema_version` and other single values.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Small opaque settings (admin token hash).
pub const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings");
/// org id -> `OrgRecord`.
pub const ORGS: TableDefinition<&str, &[u8]> = TableDefinition::new("orgs");
/// org name -> org id (names are unique).
pub const ORG_NAMES: TableDefinition<&str, &str> = TableDefinition::new("org_names");
/// sha256(secret) -> `CredentialRecord`. Secrets themselves are never stored.
pub const CREDENTIALS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("credentials");
/// instance id -> sha256 of every credential bound to it (wiped with the instance).
pub const CREDENTIALS_BY_INSTANCE: MultimapTableDefinition<&str, &[u8]> =
    MultimapTableDefinition::new("credentials_by_instance");
/// instance id -> `InstanceRecord`.
pub const INSTANCES: TableDefinition<&str, &[u8]> = TableDefinition::new("instances");
/// instance name -> instance id (names are unique across the gateway).
pub const INSTANCE_NAMES: TableDefinition<&str, &str> = TableDefinition::new("instance_names");
/// chat key -> `Chat`.
pub const CHATS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("chats");
/// message key -> `Message`.
pub const MESSAGES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("messages");
/// message id key -> message key.
pub const MESSAGE_IDS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("message_ids");
/// outbox sequence -> `Event`. Written in the same transaction as the change.
pub const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
/// Media paths (relative to the data folder) whose removal was committed but not yet
/// done on disk. Processed after each commit and again at start-up, so a crash between
/// commit and unlink leaves no orphan file behind.
pub const MEDIA_GC: TableDefinition<&str, ()> = TableDefinition::new("media_gc");

/// webhook id -> `Webhook`. Retired webhooks (of deleted instances) stay until their
/// queue is drained.
pub const WEBHOOKS: TableDefinition<&str, &[u8]> = TableDefinition::new("webhooks");
/// instance id -> webhook ids (live webhooks only; removed with the instance).
pub const WEBHOOKS_BY_INSTANCE: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("webhooks_by_instance");
/// delivery key (`webhook_id \0 seq(8)`) -> `QueuedDelivery`. Filled in the same
/// transaction as the outbox event (fan-out at write), drained by the dispatcher in
/// key order, so each destination receives its instance's events in order.
pub const DELIVERY_QUEUE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("delivery_queue");
/// dead-letter id -> `DeadLetter`: deliveries that failed for good, for an operator
/// to list and replay.
pub const DEAD_LETTERS: TableDefinition<&str, &[u8]> = TableDefinition::new("dead_letters");

/// plugin storage key -> the value a plugin stored (`storage` grant). Never evicted;
/// removed with the instance, or with the plugin's integration of it.
pub const PLUGIN_STORAGE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("plugin_storage");

const SEP: u8 = 0;

/// `instance_id \0`: the prefix of every chat/message key of an instance.
pub fn instance_prefix(instance_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(instance_id.len() + 1);
    k.extend_from_slice(instance_id.as_bytes());
    k.push(SEP);
    k
}

/// `instance_id \0 jid`.
pub fn chat_key(instance_id: &str, jid: &str) -> Vec<u8> {
    let mut k = instance_prefix(instance_id);
    k.extend_from_slice(jid.as_bytes());
    k
}

/// `instance_id \0 jid \0`: the prefix of every message key of one chat.
pub fn chat_messages_prefix(instance_id: &str, jid: &str) -> Vec<u8> {
    let mut k = chat_key(instance_id, jid);
    k.push(SEP);
    k
}

/// Length of the fixed part of a message suffix (`rev_ts` + `rev_seq`).
pub const MESSAGE_SUFFIX_FIXED: usize = 16;

/// The position of a message inside its chat: `rev_ts(8) rev_seq(8) message_id`.
pub fn message_suffix(timestamp_ms: u64, seq: u64, message_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(MESSAGE_SUFFIX_FIXED + message_id.len());
    k.extend_from_slice(&(u64::MAX - timestamp_ms).to_be_bytes());
    k.extend_from_slice(&(u64::MAX - seq).to_be_bytes());
    k.extend_from_slice(message_id.as_bytes());
    k
}

pub fn message_key(
    instance_id: &str,
    jid: &str,
    timestamp_ms: u64,
    seq: u64,
    message_id: &str,
) -> Vec<u8> {
    let mut k = chat_messages_prefix(instance_id, jid);
    k.extend_from_slice(&message_suffix(timestamp_ms, seq, message_id));
    k
}

/// `webhook_id \0 seq(8, big endian)`.
pub fn delivery_key(webhook_id: &str, seq: u64) -> Vec<u8> {
    let mut k = instance_prefix(webhook_id);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn message_id_key(instance_id: &str, message_id: &str) -> Vec<u8> {
    let mut k = instance_prefix(instance_id);
    k.extend_from_slice(message_id.as_bytes());
    k
}

/// `instance_id \0 plugin \0`: the prefix of one plugin's storage for an instance.
pub fn plugin_storage_prefix(instance_id: &str, plugin: &str) -> Vec<u8> {
    let mut k = instance_prefix(instance_id);
    k.extend_from_slice(plugin.as_bytes());
    k.push(SEP);
    k
}

/// `instance_id \0 plugin \0 key`.
pub fn plugin_storage_key(instance_id: &str, plugin: &str, key: &str) -> Vec<u8> {
    let mut k = plugin_storage_prefix(instance_id, plugin);
    k.extend_from_slice(key.as_bytes());
    k
}

/// The smallest key greater than every key starting with `prefix` (an exclusive end
/// bound for a prefix scan). Prefixes here always end in `\0`, so no carry is needed
/// beyond the last byte.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    vec![u8::MAX; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_messages_sort_first_within_a_chat() {
        let newer = message_key("I", "a@s.whatsapp.net", 2_000, 1, "A");
        let older = message_key("I", "a@s.whatsapp.net", 1_000, 2, "Z");
        assert!(newer < older);
        let later_arrival = message_key("I", "a@s.whatsapp.net", 1_000, 3, "A");
        assert!(later_arrival < older, "same millisecond: arrival order");
    }

    #[test]
    fn plugin_storage_prefixes_do_not_overlap() {
        let a = plugin_storage_prefix("I", "chat");
        let key_of_longer_name = plugin_storage_key("I", "chatwoot", "k");
        assert!(!key_of_longer_name.starts_with(&a));
        assert!(plugin_storage_key("I", "chat", "woot\0k").starts_with(&a));
        assert!(plugin_storage_key("I", "chat", "k").starts_with(&instance_prefix("I")));
        assert!(!plugin_storage_key("I2", "chat", "k").starts_with(&instance_prefix("I")));
    }

    #[test]
    fn chat_prefix_does_not_cover_a_longer_jid() {
        let p = chat_messages_prefix("I", "1@s.whatsapp.net");
        let other = message_key("I", "1@s.whatsapp.net.x", 5, 1, "M");
        assert!(!other.starts_with(&p));
        assert!(p.as_slice() < prefix_end(&p).as_slice());
    }
}
