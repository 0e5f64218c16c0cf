//! Stored media a dialect attaches to its answer without copying the bytes into the
//! plugin (`core.attach-media`).
//!
//! A dialect that serves a file (RyzeAPI's download, Evolution's
//! `getBase64FromMediaMessage`) would otherwise copy it into its linear memory, encode
//! it there (base64 is 4/3 of the file), build the answer around it and copy that back
//! out: several copies of the file inside a memory capped at a few dozen MiB, so the
//! plugin's cap, not `[media] max_bytes`, decided the largest file a dialect could
//! serve. Instead the host reads the bytes, keeps them here for the one call, and hands
//! the plugin a reference (`wagate-media:<256 random bits>`) that stands for them;
//! where the reference appears in the body the plugin returns, the host puts the bytes,
//! encoded as asked. The bytes are the store's (reference counted), so a raw download
//! whose whole body is the reference costs no copy at all.
//!
//! Attachments live in the call's store data and go with it, so a reference means
//! nothing outside the call that made it (and cannot name another caller's media).

use std::sync::{Arc, Mutex};

use base64::Engine;
use bytes::Bytes;

/// What every reference starts with.
pub const REFERENCE_PREFIX: &str = "wagate-media:";

/// Attachments one call may make: an answer carries a file (two: a file and, say, its
/// preview), and each holds a file of up to `[media] max_bytes` in the host until the
/// answer is sent.
pub const MAX_PER_CALL: usize = 2;

/// How the bytes go into the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// As they are (a binary download).
    Raw,
    /// Standard base64 with padding (inside a JSON string).
    Base64,
}

impl Encoding {
    /// Bytes `len` raw bytes take in the body.
    pub fn encoded_len(self, len: usize) -> usize {
        match self {
            Encoding::Raw => len,
            Encoding::Base64 => len.div_ceil(3) * 4,
        }
    }
}

struct Attachment {
    reference: String,
    bytes: Bytes,
    encoding: Encoding,
}

/// One call's attachments (shared between the call's store data and whoever builds its
/// answer).
#[derive(Clone, Default)]
pub struct Attachments(Arc<Mutex<Vec<Attachment>>>);

impl Attachments {
    /// Keeps `bytes` for this call; the reference that stands for them, or `None` when
    /// the call already holds [`MAX_PER_CALL`].
    pub fn attach(&self, bytes: Bytes, encoding: Encoding) -> Option<String> {
        let mut held = self.lock();
        if held.len() >= MAX_PER_CALL {
            return None;
        }
        let reference = crate::util::new_secret(REFERENCE_PREFIX);
        held.push(Attachment {
            reference: reference.clone(),
            bytes,
            encoding,
        });
        Some(reference)
    }

    /// Whether the call attached anything.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// `body` with every occurrence of each reference replaced by its encoded bytes
    /// (references the body does not carry are dropped with their bytes). A body that
    /// is exactly one raw reference becomes the stored bytes themselves.
    pub fn splice(&self, body: Bytes) -> Bytes {
        let held = std::mem::take(&mut *self.lock());
        if held.is_empty() {
            return body;
        }
        if let [only] = held.as_slice()
            && only.encoding == Encoding::Raw
            && body == only.reference.as_bytes()
        {
            return only.bytes.clone();
        }
        // Where each reference occurs, in body order (references are random, so they
        // neither overlap each other nor occur by chance).
        let mut hits: Vec<(usize, &Attachment)> = held
            .iter()
            .flat_map(|a| {
                memchr::memmem::find_iter(&body, a.reference.as_bytes()).map(move |at| (at, a))
            })
            .collect();
        if hits.is_empty() {
            return body;
        }
        hits.sort_by_key(|(at, _)| *at);
        let size = hits.iter().fold(body.len(), |n, (_, a)| {
            n - a.reference.len() + a.encoding.encoded_len(a.bytes.len())
        });
        let mut out = Vec::with_capacity(size);
        let mut from = 0;
        for (at, a) in hits {
            out.extend_from_slice(&body[from..at]);
            match a.encoding {
                Encoding::Raw => out.extend_from_slice(&a.bytes),
                Encoding::Base64 => {
                    let start = out.len();
                    out.resize(start + Encoding::Base64.encoded_len(a.bytes.len()), 0);
                    base64::engine::general_purpose::STANDARD
                        .encode_slice(&a.bytes, &mut out[start..])
                        .expect("sized for the encoding");
                }
            }
            from = at + a.reference.len();
        }
        out.extend_from_slice(&body[from..]);
        Bytes::from(out)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Attachment>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_that_is_one_raw_reference_becomes_the_bytes_without_a_copy() {
        let a = Attachments::default();
        let file = Bytes::from(vec![7u8; 1000]);
        let r = a.attach(file.clone(), Encoding::Raw).unwrap();
        let out = a.splice(Bytes::from(r.into_bytes()));
        assert_eq!(out, file);
        assert_eq!(out.as_ptr(), file.as_ptr());
    }

    #[test]
    fn base64_and_raw_references_are_replaced_where_they_occur() {
        let a = Attachments::default();
        let r1 = a
            .attach(Bytes::from_static(b"hello"), Encoding::Base64)
            .unwrap();
        let r2 = a
            .attach(Bytes::from_static(b"\x00\x01"), Encoding::Raw)
            .unwrap();
        let body = format!("{{\"b\":\"{r1}\",\"again\":\"{r1}\"}}|{r2}|");
        let out = a.splice(Bytes::from(body));
        assert_eq!(
            &out[..],
            b"{\"b\":\"aGVsbG8=\",\"again\":\"aGVsbG8=\"}|\x00\x01|"
        );
        // Spliced once: the call's attachments are gone.
        assert!(a.is_empty());
    }

    #[test]
    fn a_body_without_the_reference_is_left_as_it_is() {
        let a = Attachments::default();
        a.attach(Bytes::from_static(b"x"), Encoding::Base64)
            .unwrap();
        let body = Bytes::from_static(b"{\"ok\":true}");
        assert_eq!(a.splice(body.clone()), body);
    }

    #[test]
    fn a_call_attaches_a_bounded_number_of_files() {
        let a = Attachments::default();
        for _ in 0..MAX_PER_CALL {
            assert!(a.attach(Bytes::new(), Encoding::Raw).is_some());
        }
        assert!(a.attach(Bytes::new(), Encoding::Raw).is_none());
    }

    #[test]
    fn encoded_lengths() {
        assert_eq!(Encoding::Base64.encoded_len(0), 0);
        assert_eq!(Encoding::Base64.encoded_len(1), 4);
        assert_eq!(Encoding::Base64.encoded_len(3), 4);
        assert_eq!(Encoding::Base64.encoded_len(4), 8);
        assert_eq!(Encoding::Raw.encoded_len(9), 9);
    }
}
