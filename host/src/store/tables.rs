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
//!
//! WhatsApp session keys (whatsapp-rust's storage traits, see
//! `whatsapp::real::store`) live in the `wa_*` tables below, every key built by
//! [`wa_key`]: `instance_id \0 part \0 part ... last`, so one file holds many
//! instances' sessions and [`WA_TABLES`] + [`instance_prefix`] find all of one
//! instance's keys. Only the last part may contain `\0` (a peer-chosen message id, say):
//! earlier parts containing it are refused, so no key can pose as another's prefix.
//! Numeric parts are 4-byte big endian, so a prefix scan returns them in order.

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
/// `org_id \0 instance name` ([`instance_name_key`]) -> instance id: names are unique
/// within an org, and each org's names are its own (schema 3; before, the key was the
/// bare name, unique across the gateway).
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
/// broker name -> `core::brokers::GlobalBroker`: the brokers whose `global` switch is
/// on this run (rewritten at start from the configuration). Read by the fan-out.
pub const BROKER_GLOBALS: TableDefinition<&str, &[u8]> = TableDefinition::new("broker_globals");
/// dead-letter id -> `DeadLetter`: deliveries that failed for good, for an operator
/// to list and replay.
pub const DEAD_LETTERS: TableDefinition<&str, &[u8]> = TableDefinition::new("dead_letters");

/// group key ([`group_key`]) -> `core::groups::Group`: the groups the instance is in,
/// as WhatsApp last described them. Removed with the instance.
pub const GROUPS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("groups");
/// contact key ([`contact_key`]) -> `core::contacts::Contact`: the people the instance
/// has heard from. Removed with the instance.
pub const CONTACTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("contacts");
/// `instance_id \0 jid` -> the other address of the same account, both ways: a LID
/// (`…@lid`) maps to its phone JID and the phone JID back to the LID
/// (`core::lid_map`). The two halves end differently, so one table holds both
/// directions. Removed with the instance.
pub const JID_ALTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("jid_alts");

/// message id key ([`message_id_key`]) -> a poll's 32-byte message secret, which the
/// votes on it are encrypted with (`core::polls`). Kept apart from the message, so no
/// dialect ever renders it; removed with the instance.
pub const POLL_SECRETS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("poll_secrets");
/// `instance_id \0 label_id` -> `core::labels::Label`: the account's chat labels.
/// Removed with the instance.
pub const LABELS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("labels");
/// `instance_id \0 chat_jid \0 label_id` -> nothing: which chats carry which label
/// (`core::labels`). Removed with the instance.
pub const CHAT_LABELS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("chat_labels");
/// plugin storage key -> the value a plugin stored (`storage` grant). Never evicted;
/// removed with the instance, or with the plugin's integration of it.
pub const PLUGIN_STORAGE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("plugin_storage");

/// instance id -> `core::socketio::SocketIoSettings`: which events the host's
/// Socket.IO server emits on the instance's namespace. Removed with the instance.
pub const SOCKETIO: TableDefinition<&str, &[u8]> = TableDefinition::new("socketio");

// --- WhatsApp session keys (whatsapp-rust's Backend traits), one row per item. ---

/// `instance \0` -> the paired device (wacore `Device`, JSON): our own keys and ids.
pub const WA_DEVICE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_device");
/// `instance \0 address` -> a peer's 32-byte identity key.
pub const WA_IDENTITIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_identities");
/// `instance \0 address` -> a Signal session record.
pub const WA_SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_sessions");
/// `instance \0 id(4)` -> `uploaded(1) record`: one-time pre-keys.
pub const WA_PREKEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_prekeys");
/// `instance \0 id(4)` -> signed pre-key record.
pub const WA_SIGNED_PREKEYS: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("wa_signed_prekeys");
/// `instance \0 sender_key_name` -> group sender key record.
pub const WA_SENDER_KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_sender_keys");
/// `instance \0 key_id` -> app-state sync key (JSON).
pub const WA_SYNC_KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_sync_keys");
/// `instance \0 collection` -> app-state version and ltHash (JSON).
pub const WA_APP_VERSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_app_versions");
/// `instance \0 collection \0 index_mac` -> value MAC.
pub const WA_MUTATION_MACS: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("wa_mutation_macs");
/// `instance \0 name` -> small per-instance values (`latest_sync_key_id`).
pub const WA_META: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_meta");
/// `instance \0 group \0 device_jid` -> `has_key(1)`: who holds our sender key.
pub const WA_SENDER_KEY_DEVICES: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("wa_sender_key_devices");
/// `instance \0 lid` -> LID/phone mapping (JSON).
pub const WA_LID_PN: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_lid_pn");
/// `instance \0 phone` -> lid: the reverse of [`WA_LID_PN`], kept in the same commit.
pub const WA_PN_LID: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_pn_lid");
/// `instance \0 address \0 message_id` -> base key (retry collision detection).
pub const WA_BASE_KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_base_keys");
/// `instance \0 user` -> the user's device list (JSON).
pub const WA_DEVICE_LISTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_device_lists");
/// `instance \0 group` -> opaque group metadata blob.
pub const WA_GROUP_METADATA: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("wa_group_metadata");
/// `instance \0 jid` -> trusted-contact token (JSON).
pub const WA_TC_TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_tc_tokens");
/// `instance \0 chat \0 message_id` -> `stored_at_secs(8) payload`: sent messages kept
/// for retry receipts.
pub const WA_SENT_MESSAGES: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("wa_sent_messages");
/// `instance \0 chat \0 sender \0 id` -> `stored_at_secs(8) message`: decrypted
/// inbound messages awaiting the durability hook.
pub const WA_PENDING_INBOUND: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("wa_pending_inbound");
/// `instance \0 chat \0 sender \0 msg_id` -> `secret(32) expires_at(8) message_ts(8)`.
pub const WA_MSG_SECRETS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wa_msg_secrets");

/// Every WhatsApp key table: created at open, emptied of an instance by its wipe.
pub const WA_TABLES: [TableDefinition<&[u8], &[u8]>; 20] = [
    WA_DEVICE,
    WA_IDENTITIES,
    WA_SESSIONS,
    WA_PREKEYS,
    WA_SIGNED_PREKEYS,
    WA_SENDER_KEYS,
    WA_SYNC_KEYS,
    WA_APP_VERSIONS,
    WA_MUTATION_MACS,
    WA_META,
    WA_SENDER_KEY_DEVICES,
    WA_LID_PN,
    WA_PN_LID,
    WA_BASE_KEYS,
    WA_DEVICE_LISTS,
    WA_GROUP_METADATA,
    WA_TC_TOKENS,
    WA_SENT_MESSAGES,
    WA_PENDING_INBOUND,
    WA_MSG_SECRETS,
];

const SEP: u8 = 0;

/// `instance_id \0 parts[0] \0 ... parts[n-1]`; `None` when a part other than the
/// last contains `\0` (it could then pose as a prefix of another key). An empty
/// `parts` gives the instance prefix itself.
pub fn wa_key(instance_id: &str, parts: &[&[u8]]) -> Option<Vec<u8>> {
    let len = parts.iter().map(|p| p.len() + 1).sum::<usize>();
    let mut k = Vec::with_capacity(instance_id.len() + 1 + len);
    k.extend_from_slice(instance_id.as_bytes());
    k.push(SEP);
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if !last && part.contains(&SEP) {
            return None;
        }
        k.extend_from_slice(part);
        if !last {
            k.push(SEP);
        }
    }
    Some(k)
}

/// The [`INSTANCE_NAMES`] key of `name` in `org` (org ids are ULIDs and names are
/// `[A-Za-z0-9._-]`, so neither holds the separator).
pub fn instance_name_key(org: &str, name: &str) -> String {
    format!("{org}\0{name}")
}

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

/// `instance_id \0 group_jid`: a stored group (the chat key's layout, in its own table).
pub fn group_key(instance_id: &str, group_jid: &str) -> Vec<u8> {
    chat_key(instance_id, group_jid)
}

/// `instance_id \0 jid`: a stored contact (the chat key's layout, in its own table).
pub fn contact_key(instance_id: &str, jid: &str) -> Vec<u8> {
    chat_key(instance_id, jid)
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

/// The full key of one message in a chat, ordered newest first (see the module docs).
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

/// `instance_id \0 message_id`: finds a message's full key from its id alone.
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
    fn wa_keys_refuse_a_separator_before_the_last_part() {
        assert_eq!(wa_key("I", &[]).unwrap(), b"I\0");
        assert_eq!(wa_key("I", &[b"g", b"d"]).unwrap(), b"I\0g\0d");
        assert_eq!(wa_key("I", &[b"g", b"d\0x"]).unwrap(), b"I\0g\0d\0x");
        assert!(wa_key("I", &[b"g\0d", b"x"]).is_none());
    }

    #[test]
    fn chat_prefix_does_not_cover_a_longer_jid() {
        let p = chat_messages_prefix("I", "1@s.whatsapp.net");
        let other = message_key("I", "1@s.whatsapp.net.x", 5, 1, "M");
        assert!(!other.starts_with(&p));
        assert!(p.as_slice() < prefix_end(&p).as_slice());
    }
}
