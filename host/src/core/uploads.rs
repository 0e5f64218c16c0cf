//! Media bytes the server took out of a request body before a dialect plugin saw it.
//!
//! A base64 media field of tens of megabytes would otherwise be copied into the
//! plugin's linear memory (capped at a few dozen MiB), decoded there, and copied back
//! out through `send-media`: three copies, and a plugin memory cap that decides the
//! largest file a dialect can send. For the routes a dialect's manifest lists under
//! `[uploads]`, the server decodes the field itself, keeps the bytes here and hands
//! the plugin a short reference (`wagate-upload:<id>`) in its place; the plugin passes
//! it on as `media-source::upload`, and the core takes the bytes back.
//!
//! An upload lives exactly as long as its request: the server holds a [`Staged`]
//! guard that forgets it when the request ends, used or not. Ids are 256 random bits
//! and never leave the host except inside that one request's body, so a reference is
//! as good as the bytes it stands for and cannot name another request's upload.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// What a staged field's value becomes in the body the plugin reads.
pub const REFERENCE_PREFIX: &str = "wagate-upload:";

/// The uploads of the requests in flight.
#[derive(Default)]
pub struct Uploads {
    by_id: Mutex<HashMap<String, Bytes>>,
}

impl Uploads {
    /// Keeps `bytes` until the returned guard is dropped.
    pub fn stage(self: &Arc<Self>, bytes: Bytes) -> Staged {
        let id = crate::util::new_secret("");
        self.lock().insert(id.clone(), bytes);
        Staged {
            uploads: self.clone(),
            id,
        }
    }

    /// The bytes of upload `id`, once (a reference is consumed by the send it names).
    pub fn take(&self, id: &str) -> Option<Bytes> {
        self.lock().remove(id)
    }

    /// Uploads held now (for tests and metrics).
    pub fn held(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bytes>> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One staged upload; dropping it forgets the bytes if no send took them.
pub struct Staged {
    uploads: Arc<Uploads>,
    id: String,
}

impl Staged {
    /// The reference that stands for the bytes in the rewritten body.
    pub fn reference(&self) -> String {
        format!("{REFERENCE_PREFIX}{}", self.id)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        self.uploads.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_taken_once_and_forgotten_with_its_request() {
        let uploads = Arc::new(Uploads::default());
        let staged = uploads.stage(Bytes::from_static(b"png"));
        let id = staged.reference()[REFERENCE_PREFIX.len()..].to_string();
        assert_eq!(id.len(), 43);
        assert_eq!(uploads.take(&id).as_deref(), Some(&b"png"[..]));
        assert_eq!(uploads.take(&id), None);
        let unused = uploads.stage(Bytes::from_static(b"pdf"));
        assert_eq!(uploads.held(), 1);
        drop(unused);
        drop(staged);
        assert_eq!(uploads.held(), 0);
    }
}
