//! Schema migration steps, one per version, each run inside the transaction that bumps
//! `schema_version` (so a file is migrated wholly or not at all).
//!
//! They work on the stored JSON as `serde_json::Value`, not on core's record types: the
//! store depends on nothing above it, and a step must keep reading the layout of its
//! own version even after the record types move on.

use std::path::Path;

use redb::{ReadableTable, WriteTransaction};
use serde_json::Value;

use super::{encode, tables};

/// Schema 2: integrations' inbound secrets get their own credential kind (`inbound`),
/// which only the sink's inbound route accepts; schema 1 stored them as `instance`
/// credentials, which every dialect accepted. The secrets themselves (in Chatwoot's
/// settings) keep working: only the kind of their records changes.
pub(super) fn inbound_kinds(tx: &WriteTransaction) -> anyhow::Result<()> {
    let hashes: Vec<Vec<u8>> = {
        let webhooks = tx.open_table(tables::WEBHOOKS)?;
        let mut out = Vec::new();
        for row in webhooks.iter()? {
            let hook: Value = serde_json::from_slice(row?.1.value())?;
            let Some(hash) = hook.pointer("/integration/inbound_hash") else {
                continue;
            };
            out.push(serde_json::from_value::<Vec<u8>>(hash.clone())?);
        }
        out
    };
    let mut creds = tx.open_table(tables::CREDENTIALS)?;
    let mut moved = 0;
    for hash in hashes {
        let record: Option<Value> = match creds.get(hash.as_slice())? {
            Some(v) => Some(serde_json::from_slice(v.value())?),
            None => None,
        };
        if let Some(mut record) = record.filter(|r| r["kind"] == "instance") {
            record["kind"] = Value::from("inbound");
            creds.insert(hash.as_slice(), encode(&record).as_slice())?;
            moved += 1;
        }
    }
    if moved > 0 {
        tracing::info!(
            count = moved,
            "schema 2: integration inbound secrets now have their own credential kind"
        );
    }
    Ok(())
}

/// Schema 3: instance names are unique per org, not across the gateway. The name index
/// was `name -> id`; it becomes `org \0 name -> id` ([`tables::instance_name_key`]),
/// each instance's org read from its record. An entry whose instance is gone is
/// dropped (nothing could reach it).
pub(super) fn names_per_org(tx: &WriteTransaction) -> anyhow::Result<()> {
    let old: Vec<(String, String)> = {
        let names = tx.open_table(tables::INSTANCE_NAMES)?;
        let mut out = Vec::new();
        for row in names.iter()? {
            let (k, v) = row?;
            out.push((k.value().to_string(), v.value().to_string()));
        }
        out
    };
    let instances = tx.open_table(tables::INSTANCES)?;
    let mut names = tx.open_table(tables::INSTANCE_NAMES)?;
    names.retain(|_, _| false)?;
    let mut moved = 0;
    for (name, id) in old {
        if name.contains('\0') {
            // Already `org \0 name` (names cannot hold the separator): keep it.
            names.insert(name.as_str(), id.as_str())?;
            continue;
        }
        let Some(record) = instances.get(id.as_str())? else {
            tracing::warn!(%name, %id, "schema 3: dropping the name of a missing instance");
            continue;
        };
        let record: Value = serde_json::from_slice(record.value())?;
        let Some(org) = record["org"].as_str() else {
            anyhow::bail!("schema 3: instance {id} has no org");
        };
        let key = tables::instance_name_key(org, &name);
        names.insert(key.as_str(), id.as_str())?;
        moved += 1;
    }
    tracing::info!(
        count = moved,
        "schema 3: instance names are now unique per org"
    );
    Ok(())
}

/// Schema 4: a message's `media` was the path of its file relative to the data folder
/// (`media/<instance>/<chat>/<id>.<ext>`); it becomes the media record (kind, type,
/// size, sha256, whether the bytes are stored) and the file moves to the media store's
/// key, the same path without the extension. The type is read from the bytes, else the
/// extension. Renaming before the commit is safe to repeat: a file already at its new
/// place is found there.
pub(super) fn media_records(tx: &WriteTransaction, data_dir: &Path) -> anyhow::Result<()> {
    let mut messages = tx.open_table(tables::MESSAGES)?;
    let mut changed: Vec<(Vec<u8>, Value)> = Vec::new();
    for row in messages.iter()? {
        let (k, v) = row?;
        let mut record: Value = serde_json::from_slice(v.value())?;
        let Some(path) = record["media"].as_str().map(str::to_string) else {
            continue;
        };
        let (stem, ext) = match path.rsplit_once('.') {
            Some((stem, ext)) if !stem.ends_with('/') && !ext.contains('/') => (stem, ext),
            _ => (path.as_str(), ""),
        };
        let safe = !path.split('/').any(|p| p == ".." || p.is_empty());
        let (old, new) = (data_dir.join(&path), data_dir.join(stem));
        if safe && old != new && old.is_file() && !new.exists() {
            std::fs::rename(&old, &new)?;
        }
        let bytes = if safe { std::fs::read(&new).ok() } else { None };
        let stated = crate::media::sniff::from_extension(ext);
        let mimetype = match &bytes {
            Some(b) => crate::media::sniff::resolve(Some(stated), b),
            None => stated.to_string(),
        };
        let kind = match mimetype.split('/').next().unwrap_or("") {
            "image" => "image",
            "video" => "video",
            "audio" => "audio",
            _ => "document",
        };
        record["media"] = serde_json::json!({
            "kind": kind,
            "mimetype": mimetype,
            "size": bytes.as_ref().map_or(0, Vec::len),
            "sha256": bytes.as_deref().map(crate::util::sha256_hex).unwrap_or_default(),
            "stored": bytes.is_some(),
        });
        changed.push((k.value().to_vec(), record));
    }
    for (k, record) in &changed {
        messages.insert(k.as_slice(), encode(record).as_slice())?;
    }
    if !changed.is_empty() {
        tracing::info!(
            count = changed.len(),
            "schema 4: message media paths became media records"
        );
    }
    Ok(())
}
