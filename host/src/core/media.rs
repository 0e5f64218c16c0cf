//! Media messages: send (bytes or a URL the host fetches), read back, and the inbound
//! side's bytes (inline from the sim, downloaded later by the real link).
//!
//! Order of a send: check everything the caller gave (kind, type, size, quoted id,
//! mentions), fetch a URL source, hand the bytes to WhatsApp, then keep them in the
//! media store and commit the message. A failure before WhatsApp accepted the media
//! changes nothing; the bytes are put before the commit and taken back if it fails, so
//! a stored message never names bytes that are not there (`stored: false` says so).

use bytes::Bytes;

use super::Core;
use super::jid;
use super::messages::{MAX_TEXT_CHARS, message_not_found, store_message};
use super::model::{
    Capability, CoreError, CoreResult, EventPayload, InstanceRef, MediaInfo, MediaKind, Message,
    Principal, Resource,
};
use crate::core::outbox;
use crate::media::fetch::FetchError;
use crate::media::sniff;
use crate::media::store::MediaKey;
use crate::store::{encode, internal, tables};
use crate::whatsapp::OutboundMedia;

/// Where a media send's bytes come from.
#[derive(Clone, Debug)]
pub enum MediaSource {
    /// The bytes themselves (a dialect decoded base64 or a multipart upload).
    Bytes(Bytes),
    /// An `http(s)` URL the host fetches under `[media]` and the SSRF guard.
    Url(String),
    /// Bytes the server took out of this request's body (see [`super::uploads`]): the
    /// id of a `wagate-upload:` reference.
    Upload(String),
}

/// A media send as a caller describes it.
#[derive(Clone, Debug)]
pub struct SendMedia {
    /// How WhatsApp shows it.
    pub kind: MediaKind,
    /// The bytes or where to fetch them.
    pub source: MediaSource,
    /// The caller's MIME type; sniffed from the bytes when absent or implausible.
    pub mimetype: Option<String>,
    /// The file name shown with a document (from the URL when absent).
    pub file_name: Option<String>,
    /// Shown under images, videos and documents; dropped for the other kinds, which
    /// WhatsApp shows without one.
    pub caption: Option<String>,
    /// Length of audio or video in seconds, if the caller knows it.
    pub duration_secs: Option<u32>,
    /// Width, if the caller knows it.
    pub width: Option<u32>,
    /// Height, if the caller knows it.
    pub height: Option<u32>,
    /// A stored message of the instance this one replies to.
    pub quoted: Option<String>,
    /// Numbers or JIDs mentioned.
    pub mentions: Vec<String>,
}

/// A media source's bytes, with what was said about them.
pub(crate) struct SourceBytes {
    /// The bytes (never empty, never over `[media] max_bytes`).
    pub bytes: Bytes,
    /// The type the caller stated or, for a URL, the server's header.
    pub stated_type: Option<String>,
    /// The file name a URL's path or header gave.
    pub url_name: Option<String>,
}

impl Core {
    /// A media source's bytes: as given, taken from this request's uploads, or
    /// fetched under `[media]` and the SSRF guard (through the proxy of instance
    /// `instance_id`, when it has one). Empty or over the cap is refused. `stated` is
    /// the caller's type; for a URL it wins over the server's header.
    pub(crate) async fn source_bytes(
        &self,
        instance_id: &str,
        source: MediaSource,
        stated: Option<String>,
    ) -> CoreResult<SourceBytes> {
        let max = self.media_config.max_bytes;
        let got = match source {
            MediaSource::Bytes(bytes) => SourceBytes {
                bytes,
                stated_type: stated,
                url_name: None,
            },
            MediaSource::Upload(id) => SourceBytes {
                bytes: self.uploads.take(&id).ok_or_else(|| {
                    CoreError::Invalid(
                        "the media upload this send names is not part of its request".into(),
                    )
                })?,
                stated_type: stated,
                url_name: None,
            },
            MediaSource::Url(url) => {
                let proxy = self.proxy_in_use(instance_id)?;
                let fetched = crate::media::fetch::fetch(&url, &self.media_config, proxy.as_ref())
                    .await
                    .map_err(fetch_error)?;
                SourceBytes {
                    bytes: fetched.bytes,
                    stated_type: stated.or(fetched.content_type),
                    url_name: fetched.file_name,
                }
            }
        };
        if got.bytes.is_empty() {
            return Err(CoreError::Invalid("media is empty".into()));
        }
        if got.bytes.len() as u64 > max {
            return Err(too_large(max));
        }
        Ok(got)
    }

    /// Sends media and stores it as the account's own message, stamped with `origin`
    /// (the plugin whose request caused it). Needs `send`.
    pub async fn send_media(
        &self,
        p: &Principal,
        which: &InstanceRef,
        to: &str,
        req: SendMedia,
        origin: Option<&str>,
    ) -> CoreResult<Message> {
        let record = self.authorize(p, which, Capability::Send)?;
        let chat_jid = jid::normalize(to)?;
        let instance = record.instance;
        let (outbound, info) = self.outbound_media(&instance.id, req).await?;
        let sent = self
            .link
            .send_media(&instance.id, &chat_jid, &outbound)
            .await?;
        let message = Message {
            id: sent.id,
            chat_jid,
            chat_jid_alt: None,
            from_me: true,
            sender: instance.owner_jid.clone().unwrap_or_default(),
            sender_alt: None,
            timestamp: sent.timestamp,
            text: outbound.caption.clone(),
            media: Some(info),
            revoked: false,
            deleted_for_me: false,
            origin: origin.map(str::to_string),
            status: None,
            truncated: false,
            reactions: Vec::new(),
            poll_votes: Vec::new(),
            content: None,
        };
        self.commit_with_media(&instance, message, Some(outbound.bytes), true)
            .await
    }

    /// A media send's bytes, checked and typed, as the link sends them, with the
    /// metadata the stored message keeps (`stored: false` until committed).
    pub(crate) async fn outbound_media(
        &self,
        instance_id: &str,
        req: SendMedia,
    ) -> CoreResult<(OutboundMedia, MediaInfo)> {
        let caption = req
            .caption
            .filter(|c| !c.trim().is_empty() && takes_caption(req.kind));
        if caption
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_TEXT_CHARS)
        {
            return Err(CoreError::Invalid(format!(
                "caption is longer than {MAX_TEXT_CHARS} characters"
            )));
        }
        let mentions = req
            .mentions
            .iter()
            .map(|m| jid::normalize(m))
            .collect::<CoreResult<Vec<_>>>()?;
        if let Some(q) = &req.quoted
            && self.find_message(instance_id, q)?.is_none()
        {
            return Err(CoreError::NotFound(
                Resource::Message,
                "quoted message not found".into(),
            ));
        }
        let SourceBytes {
            bytes,
            stated_type,
            url_name,
        } = self
            .source_bytes(instance_id, req.source, req.mimetype.clone())
            .await?;
        let mut mimetype = sniff::resolve(stated_type.as_deref(), &bytes);
        let (mut width, mut height) = (req.width, req.height);
        let bytes = if req.kind == MediaKind::Sticker
            && crate::media::sticker::needs_transcoding(&sniff::essence(&mimetype))
        {
            // WhatsApp shows only 512x512 WebP stickers; decoding and encoding are
            // CPU work, kept off the async workers.
            let essence = sniff::essence(&mimetype);
            let webp = tokio::task::spawn_blocking(move || {
                crate::media::sticker::to_webp(&bytes, &essence)
            })
            .await
            .map_err(|e| CoreError::Internal(format!("sticker transcoding: {e}")))?
            .map_err(CoreError::Invalid)?;
            mimetype = "image/webp".to_string();
            (width, height) = (
                Some(crate::media::sticker::SIDE),
                Some(crate::media::sticker::SIDE),
            );
            bytes::Bytes::from(webp)
        } else {
            bytes
        };
        check_type(req.kind, &mimetype)?;
        let mut duration_secs = req.duration_secs;
        let bytes = match crate::media::voice::ffmpeg(&self.media_config.ffmpeg) {
            Some(ffmpeg)
                if req.kind == MediaKind::Voice && !crate::media::voice::is_ogg_opus(&bytes) =>
            {
                let opus = crate::media::voice::to_opus(
                    ffmpeg,
                    &bytes,
                    std::time::Duration::from_millis(self.media_config.transcode_timeout_ms),
                    self.media_config.max_bytes,
                )
                .await
                .map_err(CoreError::Invalid)?;
                duration_secs = duration_secs.or_else(|| crate::media::voice::duration_secs(&opus));
                Bytes::from(opus)
            }
            _ => bytes,
        };
        if req.kind == MediaKind::Voice && crate::media::voice::is_ogg_opus(&bytes) {
            // What WhatsApp's own voice notes say, whatever the caller called it.
            mimetype = crate::media::voice::OPUS_MIMETYPE.to_string();
        }
        let file_name = req
            .file_name
            .filter(|n| !n.trim().is_empty())
            .or(url_name)
            .or_else(|| {
                (req.kind == MediaKind::Document)
                    .then(|| format!("file.{}", sniff::extension_of(&mimetype)))
            });
        let outbound = OutboundMedia {
            kind: req.kind,
            bytes,
            mimetype: mimetype.clone(),
            file_name: file_name.clone(),
            caption: caption.clone(),
            duration_secs,
            width,
            height,
            quoted: req.quoted,
            mentions,
        };
        let info = MediaInfo {
            kind: req.kind,
            mimetype,
            size: outbound.bytes.len() as u64,
            sha256: crate::util::sha256_hex(&outbound.bytes),
            file_name,
            duration_secs,
            width,
            height,
            stored: false,
        };
        Ok((outbound, info))
    }

    /// The bytes of a stored message's media, with its metadata. Needs `read`.
    pub async fn get_media(
        &self,
        p: &Principal,
        which: &InstanceRef,
        message_id: &str,
    ) -> CoreResult<(Bytes, MediaInfo)> {
        let record = self.authorize(p, which, Capability::Read)?;
        let message = self
            .find_message(&record.instance.id, message_id)?
            .ok_or_else(message_not_found)?;
        let Some(info) = message.media.clone() else {
            return Err(CoreError::NotFound(
                Resource::Message,
                "the message has no media".into(),
            ));
        };
        let not_stored = || {
            CoreError::NotFound(
                Resource::Message,
                "the message's media is not stored (its download is pending or failed)".into(),
            )
        };
        if !info.stored {
            return Err(not_stored());
        }
        let key = media_key(&record.instance.id, &message)?;
        match self.media_store.get(&key).await.map_err(internal_io)? {
            Some(bytes) => Ok((bytes, info)),
            None => Err(not_stored()),
        }
    }

    /// A presigned URL of a stored message's media, valid for `expires_in` (capped by
    /// the store; `None`: the cap); `None` when the media store hands out no URLs (the
    /// data folder is not served). The same errors as [`Core::get_media`]. Needs `read`.
    pub async fn get_media_url(
        &self,
        p: &Principal,
        which: &InstanceRef,
        message_id: &str,
        expires_in: Option<std::time::Duration>,
    ) -> CoreResult<Option<MediaUrl>> {
        let record = self.authorize(p, which, Capability::Read)?;
        let message = self
            .find_message(&record.instance.id, message_id)?
            .ok_or_else(message_not_found)?;
        let Some(info) = message.media.clone() else {
            return Err(CoreError::NotFound(
                Resource::Message,
                "the message has no media".into(),
            ));
        };
        if !info.stored {
            return Err(CoreError::NotFound(
                Resource::Message,
                "the message's media is not stored (its download is pending or failed)".into(),
            ));
        }
        let key = media_key(&record.instance.id, &message)?;
        // Signing is local (no request to the bucket): the URL answers 404 only if
        // the object went since, which the record would say.
        let signed = self
            .media_store
            .signed_url(&key, expires_in)
            .await
            .map_err(internal_io)?;
        Ok(signed.map(|(url, expires_in)| MediaUrl {
            url,
            expires_in,
            info,
        }))
    }

    /// Puts `bytes` (if any) in the media store, then commits `message` (marked
    /// `stored` when the put succeeded) with a `message-upsert` event. A failed commit
    /// takes the bytes back. With `always_event` false, a message id already stored
    /// is a no-op (re-delivered inbound messages).
    pub(crate) async fn commit_with_media(
        &self,
        instance: &super::model::Instance,
        mut message: Message,
        bytes: Option<Bytes>,
        always_event: bool,
    ) -> CoreResult<Message> {
        self.place_message(&instance.id, &mut message)?;
        let key = match &message.media {
            Some(_) => Some(media_key(&instance.id, &message)?),
            None => None,
        };
        let mut put = false;
        if let (Some(key), Some(bytes), Some(info)) = (&key, bytes, message.media.as_mut()) {
            if info.sha256.is_empty() {
                info.sha256 = crate::util::sha256_hex(&bytes);
            }
            info.size = bytes.len() as u64;
            match self.media_store.put(key, bytes).await {
                Ok(()) => {
                    info.stored = true;
                    put = true;
                }
                // WhatsApp has the message either way: it is stored without its bytes,
                // and says so.
                Err(e) => {
                    tracing::warn!(instance = %instance.id, message = %message.id, error = %e, "storing media")
                }
            }
        }
        let stored = message.clone();
        let inst = instance.clone();
        let result = self
            .store
            .write(move |tx| {
                let new = store_message(tx, &inst.id, &stored)?;
                if new || always_event {
                    outbox::append(
                        tx,
                        &outbox::event_for(&inst, EventPayload::MessageUpsert(stored.clone())),
                    )?;
                }
                Ok(new)
            })
            .await;
        // A re-delivered message (not new) had its bytes replaced by the same bytes.
        match result {
            Ok(_) => Ok(message),
            Err(e) => {
                if put && let Some(key) = &key {
                    let _ = self.media_store.remove(key).await;
                }
                Err(e)
            }
        }
    }

    /// A background download finished: keep the bytes, mark the message stored and
    /// emit `message-media` (in one commit).
    pub(crate) async fn media_downloaded(
        &self,
        instance_id: &str,
        message_id: &str,
        bytes: Bytes,
    ) -> CoreResult<()> {
        let Some(message) = self.find_message(instance_id, message_id)? else {
            return Ok(()); // deleted meanwhile
        };
        if message.media.is_none() {
            return Ok(());
        }
        let key = media_key(instance_id, &message)?;
        let sha = crate::util::sha256_hex(&bytes);
        let size = bytes.len() as u64;
        self.media_store
            .put(&key, bytes)
            .await
            .map_err(internal_io)?;
        let (id, mid) = (instance_id.to_string(), message_id.to_string());
        let Some(instance) = self.instance_of(instance_id)? else {
            let _ = self.media_store.remove(&key).await;
            return Ok(());
        };
        let updated = self
            .store
            .write(move |tx| {
                let Some((k, mut m)) = super::messages::load_message(tx, &id, &mid)? else {
                    return Ok(false);
                };
                let Some(info) = m.media.as_mut() else {
                    return Ok(false);
                };
                info.stored = true;
                info.size = size;
                if info.sha256.is_empty() {
                    info.sha256 = sha.clone();
                }
                tx.open_table(tables::MESSAGES)
                    .map_err(internal)?
                    .insert(k.as_slice(), encode(&m).as_slice())
                    .map_err(internal)?;
                outbox::append(
                    tx,
                    &outbox::event_for(&instance, EventPayload::MessageMedia(m)),
                )?;
                Ok(true)
            })
            .await;
        match updated {
            Ok(true) => Ok(()),
            // Deleted between the put and the commit (or the commit failed): the bytes
            // have no message, so they go.
            other => {
                let _ = self.media_store.remove(&key).await;
                other.map(|_| ())
            }
        }
    }
}

/// The media store key of a message's bytes.
pub(crate) fn media_key(instance_id: &str, message: &Message) -> CoreResult<MediaKey> {
    MediaKey::message(instance_id, &message.chat_jid, &message.id)
        .ok_or_else(|| CoreError::Invalid("media has an unsafe chat or message id".into()))
}

/// Kinds WhatsApp shows with a caption.
fn takes_caption(kind: MediaKind) -> bool {
    matches!(
        kind,
        MediaKind::Image | MediaKind::Video | MediaKind::Document
    )
}

/// Whether WhatsApp can show a file of `mimetype` as `kind` (a document can be
/// anything; the others need their family, a sticker WebP).
fn check_type(kind: MediaKind, mimetype: &str) -> CoreResult<()> {
    let base = sniff::essence(mimetype);
    let family = base.split('/').next().unwrap_or("");
    let ok = match kind {
        MediaKind::Document => true,
        MediaKind::Image => matches!(
            base.as_str(),
            "image/jpeg" | "image/jpg" | "image/png" | "image/webp" | "image/gif"
        ),
        MediaKind::Sticker => base == "image/webp",
        MediaKind::Video | MediaKind::VideoNote => family == "video",
        MediaKind::Audio | MediaKind::Voice => family == "audio",
    };
    if ok {
        Ok(())
    } else {
        Err(CoreError::Invalid(format!(
            "unsupported media type `{mimetype}` for {}",
            kind.as_str()
        )))
    }
}

fn too_large(max: u64) -> CoreError {
    CoreError::TooLarge(format!("media is larger than {max} bytes"))
}

fn fetch_error(e: FetchError) -> CoreError {
    match e {
        FetchError::TooLarge(max) => too_large(max),
        other => CoreError::Invalid(other.to_string()),
    }
}

fn internal_io(e: std::io::Error) -> CoreError {
    tracing::warn!(error = %e, "media store");
    CoreError::Internal("media store failure".into())
}

/// A presigned URL of a stored message's media ([`Core::get_media_url`]).
#[derive(Clone, Debug)]
pub struct MediaUrl {
    /// The URL, signed for a GET of the object.
    pub url: String,
    /// How long it stays valid from now.
    pub expires_in: std::time::Duration,
    /// The media record of the message.
    pub info: MediaInfo,
}
