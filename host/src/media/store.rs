//! The media store: a message's bytes under a key derived from instance, chat and
//! message id. [`MediaStore`] is the seam the backends plug into: [`DiskStore`], the
//! default, and an S3-compatible bucket (`super::s3::S3Store`).
//!
//! Keys double as the entries of the store's removal journal (`tables::MEDIA_GC`):
//! `media/<instance>` names everything of an instance, `media/<instance>/<chat>/<id>`
//! one message's bytes. On disk a key is a path relative to the data folder.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;

/// Where a message's bytes live. Every component is checked: ids and JIDs come from
/// the network and from callers, and a key must never name anything outside its
/// instance's folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaKey(String);

impl MediaKey {
    /// The key of one message's bytes; `None` when a component is unsafe (empty, too
    /// long, a dot first, or a character outside `[A-Za-z0-9@.-_]`).
    pub fn message(instance_id: &str, chat_jid: &str, message_id: &str) -> Option<MediaKey> {
        [instance_id, chat_jid, message_id]
            .iter()
            .all(|c| safe_component(c))
            .then(|| MediaKey(format!("media/{instance_id}/{chat_jid}/{message_id}")))
    }

    /// The key prefix of everything an instance stored (what instance delete removes).
    pub fn instance_prefix(instance_id: &str) -> String {
        format!("media/{instance_id}")
    }

    /// The key as the removal journal records it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn safe_component(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'-' | b'_'))
}

/// A place to keep media bytes. Removal is not here: it goes through the store's
/// journal (`Store::collect_media_garbage`), so a crash between the commit that drops
/// a message and the unlink still ends with the bytes gone.
#[async_trait]
pub trait MediaStore: Send + Sync + 'static {
    /// Stores `bytes` under `key`, replacing what was there. When it returns Ok the
    /// bytes are durable and whole (a reader never sees half a file).
    async fn put(&self, key: &MediaKey, bytes: Bytes) -> std::io::Result<()>;

    /// The bytes under `key`, or `None` when nothing is stored there.
    async fn get(&self, key: &MediaKey) -> std::io::Result<Option<Bytes>>;

    /// Removes the bytes under `key` now (undoing a `put` whose message was not
    /// stored); a missing key is not an error.
    async fn remove(&self, key: &MediaKey) -> std::io::Result<()>;

    /// Removes what a removal-journal entry names: one message's bytes
    /// (`media/<instance>/<chat>/<message>`) or everything of an instance
    /// (`media/<instance>`). Nothing there is not an error; an error means "try again
    /// later" (the journal keeps the entry).
    async fn remove_entry(&self, entry: &str) -> std::io::Result<()>;

    /// A URL anyone holding it can GET `key`'s bytes from for `expires_in` (capped by
    /// the store; `None`: the store's longest), with the validity granted; `None` when
    /// the store cannot hand out URLs (the data folder is not served).
    async fn signed_url(
        &self,
        _key: &MediaKey,
        _expires_in: Option<std::time::Duration>,
    ) -> std::io::Result<Option<(String, std::time::Duration)>> {
        Ok(None)
    }
}

/// Media as files under the data folder: `<data>/media/<instance>/<chat>/<message>`.
pub struct DiskStore {
    root: PathBuf,
}

impl DiskStore {
    /// A store whose keys are paths relative to `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        DiskStore {
            root: data_dir.to_path_buf(),
        }
    }

    fn path(&self, key: &MediaKey) -> PathBuf {
        self.root.join(key.as_str())
    }
}

#[async_trait]
impl MediaStore for DiskStore {
    async fn put(&self, key: &MediaKey, bytes: Bytes) -> std::io::Result<()> {
        let path = self.path(key);
        let dir = path.parent().expect("a key has a folder").to_path_buf();
        tokio::fs::create_dir_all(&dir).await?;
        // Written beside its final name and renamed into place: a crash or a reader
        // never meets a partial file under the key.
        let tmp = dir.join(format!(
            ".{}.{}.part",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("media"),
            ulid::Ulid::new()
        ));
        let result = async {
            let mut file = tokio::fs::File::create(&tmp).await?;
            tokio::io::AsyncWriteExt::write_all(&mut file, &bytes).await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&tmp, &path).await
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    async fn get(&self, key: &MediaKey) -> std::io::Result<Option<Bytes>> {
        match tokio::fs::read(self.path(key)).await {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn remove(&self, key: &MediaKey) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn remove_entry(&self, entry: &str) -> std::io::Result<()> {
        // Entries are written by core, never by callers; checked to stay inside the
        // data folder anyway.
        if !entry.starts_with("media/")
            || entry.split('/').any(|part| part == ".." || part.is_empty())
        {
            tracing::warn!(
                path = entry,
                "refusing to remove a media path outside the media folder"
            );
            return Ok(());
        }
        let path = self.root.join(entry);
        let res = match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_dir() => tokio::fs::remove_dir_all(&path).await,
            Ok(_) => tokio::fs::remove_file(&path).await,
            Err(e) => Err(e),
        };
        match res {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_refuse_unsafe_components() {
        assert!(MediaKey::message("01A", "1@s.whatsapp.net", "3EB0").is_some());
        for bad in ["", "..", ".x", "a/b", "a\\b", "a b", &"x".repeat(129)] {
            assert!(MediaKey::message(bad, "c", "m").is_none(), "{bad:?}");
            assert!(MediaKey::message("i", bad, "m").is_none(), "{bad:?}");
            assert!(MediaKey::message("i", "c", bad).is_none(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn disk_round_trip_replace_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::new(dir.path());
        let key = MediaKey::message("01A", "1@s.whatsapp.net", "M1").unwrap();
        assert_eq!(store.get(&key).await.unwrap(), None);
        store.put(&key, Bytes::from_static(b"one")).await.unwrap();
        store.put(&key, Bytes::from_static(b"two")).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap().unwrap(), &b"two"[..]);
        assert!(dir.path().join("media/01A/1@s.whatsapp.net/M1").is_file());
        let leftovers = std::fs::read_dir(dir.path().join("media/01A/1@s.whatsapp.net"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
        store.remove(&key).await.unwrap();
        store.remove(&key).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), None);
    }

    #[tokio::test]
    async fn disk_remove_entry_takes_a_file_or_an_instance_folder_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::new(dir.path());
        let a = MediaKey::message("01A", "c@s.whatsapp.net", "M1").unwrap();
        let b = MediaKey::message("01A", "c@s.whatsapp.net", "M2").unwrap();
        store.put(&a, Bytes::from_static(b"a")).await.unwrap();
        store.put(&b, Bytes::from_static(b"b")).await.unwrap();
        store.remove_entry(a.as_str()).await.unwrap();
        assert_eq!(store.get(&a).await.unwrap(), None);
        assert_eq!(store.get(&b).await.unwrap().unwrap(), &b"b"[..]);
        let instance = MediaKey::instance_prefix("01A");
        store.remove_entry(&instance).await.unwrap();
        assert!(!dir.path().join("media/01A").exists());
        // Already gone: done, not an error (the journal drops the entry).
        store.remove_entry(&instance).await.unwrap();
        // Outside the media folder: refused, nothing removed.
        std::fs::write(dir.path().join("keep"), b"x").unwrap();
        for outside in ["keep", "media/../keep", "media//keep"] {
            store.remove_entry(outside).await.unwrap();
        }
        assert!(dir.path().join("keep").is_file());
    }
}
