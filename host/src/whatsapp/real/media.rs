//! Media on the real link, both ways, through whatsapp-rust's own media code (media
//! connection, upload hosts, HKDF-expanded media keys, AES-CBC + truncated
//! HMAC-SHA256, `file_sha256`/`file_enc_sha256` checks): nothing here is crypto.
//!
//! - Outbound: [`media_type`] picks the upload kind, [`message`] builds the WhatsApp
//!   message for each [`MediaKind`] from the upload result (caption, quote, mentions
//!   where the proto has them).
//! - Inbound: [`inbound_media`] reads a message's media metadata (what core stores
//!   on the message right away) and the reference to download it by; [`Downloads`]
//!   downloads, decrypts and reports it in the background under the operator's
//!   [`DownloadConfig`]: bounded concurrency per instance, retries with backoff, and on
//!   an expired or missing file (404/410) one request for the phone to re-upload it.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Semaphore, mpsc::UnboundedSender, watch};
use whatsapp_rust::download::{DownloadParams, MediaType};
use whatsapp_rust::error::ErrorChainExt as _;
use whatsapp_rust::upload::UploadResponse;
use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::waproto::buffa::MessageField;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{Client, Jid, MediaRetryResult, MediaReuploadRequest};

use super::backoff::Backoff;
use super::tasks::{TaskCounter, spawn_counted};
use crate::core::model::{MediaInfo, MediaKind};
use crate::whatsapp::{LinkEvent, OutboundMedia};

/// Which inbound media the link downloads: `all` or `none`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownloadPolicy {
    /// Every media message (within `kinds` and `max_bytes`).
    #[default]
    All,
    /// No media bytes: messages keep their media metadata with `stored: false`.
    None,
}

/// `[whatsapp.media]` in wagate.toml: what inbound media the real link downloads, for
/// every instance (an instance's own choice, `MediaDownload`, narrows it further).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DownloadConfig {
    /// `all` (default) or `none`.
    pub download: DownloadPolicy,
    /// Only these kinds (`image`, `video`, `audio`, `voice`, `document`, `sticker`,
    /// `video_note`); empty (default) means every kind.
    pub kinds: Vec<MediaKind>,
    /// Media larger than this (as the message declares it, and as downloaded) is not
    /// downloaded. Default 64 MiB.
    pub max_bytes: u64,
    /// Downloads running at once per instance. Default 4.
    pub concurrency: usize,
    /// Attempts per download before it is reported failed. Default 4.
    pub attempts: u32,
    /// First retry delay ceiling, doubling per attempt (jittered). Default 2000.
    pub retry_base_ms: u64,
}

impl Default for DownloadConfig {
    fn default() -> Self {
        DownloadConfig {
            download: DownloadPolicy::All,
            kinds: Vec::new(),
            max_bytes: 64 * 1024 * 1024,
            concurrency: 4,
            attempts: 4,
            retry_base_ms: 2_000,
        }
    }
}

impl DownloadConfig {
    /// Refuses settings that would never download anything by mistake.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.concurrency == 0 || self.attempts == 0 || self.retry_base_ms == 0 {
            anyhow::bail!("[whatsapp.media] needs concurrency, attempts and retry_base_ms > 0");
        }
        Ok(())
    }

    /// Whether a media message of `kind` and declared `size` is to be downloaded.
    pub fn wants(&self, kind: MediaKind, size: u64) -> bool {
        self.download == DownloadPolicy::All
            && (self.kinds.is_empty() || self.kinds.contains(&kind))
            && size <= self.max_bytes
    }
}

/// The upload kind (and so the key derivation and upload path) of a media kind.
pub fn media_type(kind: MediaKind) -> MediaType {
    match kind {
        MediaKind::Image => MediaType::Image,
        MediaKind::Video | MediaKind::VideoNote => MediaType::Video,
        MediaKind::Audio | MediaKind::Voice => MediaType::Audio,
        MediaKind::Document => MediaType::Document,
        MediaKind::Sticker => MediaType::Sticker,
    }
}

/// The reply/mention context, when the send has one.
fn context(media: &OutboundMedia) -> MessageField<wa::ContextInfo> {
    if media.quoted.is_none() && media.mentions.is_empty() {
        return MessageField::none();
    }
    MessageField::some(wa::ContextInfo {
        stanza_id: media.quoted.clone(),
        mentioned_jid: media.mentions.clone(),
        ..Default::default()
    })
}

/// The WhatsApp message carrying an uploaded media file of `media.kind`.
pub fn message(upload: UploadResponse, media: &OutboundMedia) -> wa::Message {
    let u = upload;
    let context_info = context(media);
    let mimetype = Some(media.mimetype.clone());
    let caption = media.caption.clone();
    let video = |ptv: bool| wa::message::VideoMessage {
        url: Some(u.url.clone()),
        direct_path: Some(u.direct_path.clone()),
        media_key: Some(u.media_key.to_vec()),
        file_sha256: Some(u.file_sha256.to_vec()),
        file_enc_sha256: Some(u.file_enc_sha256.to_vec()),
        file_length: Some(u.file_length),
        media_key_timestamp: Some(u.media_key_timestamp),
        streaming_sidecar: u.streaming_sidecar.clone(),
        mimetype: mimetype.clone(),
        // A video note has no caption on WhatsApp.
        caption: if ptv { None } else { caption.clone() },
        seconds: media.duration_secs,
        width: media.width,
        height: media.height,
        context_info: context_info.clone(),
        ..Default::default()
    };
    match media.kind {
        MediaKind::Image => wa::Message {
            image_message: MessageField::some(wa::message::ImageMessage {
                url: Some(u.url),
                direct_path: Some(u.direct_path),
                media_key: Some(u.media_key.to_vec()),
                file_sha256: Some(u.file_sha256.to_vec()),
                file_enc_sha256: Some(u.file_enc_sha256.to_vec()),
                file_length: Some(u.file_length),
                media_key_timestamp: Some(u.media_key_timestamp),
                mimetype,
                caption,
                width: media.width,
                height: media.height,
                context_info,
                ..Default::default()
            }),
            ..Default::default()
        },
        MediaKind::Video => wa::Message {
            video_message: MessageField::some(video(false)),
            ..Default::default()
        },
        MediaKind::VideoNote => wa::Message {
            ptv_message: MessageField::some(video(true)),
            ..Default::default()
        },
        MediaKind::Audio | MediaKind::Voice => wa::Message {
            audio_message: MessageField::some(wa::message::AudioMessage {
                url: Some(u.url),
                direct_path: Some(u.direct_path),
                media_key: Some(u.media_key.to_vec()),
                file_sha256: Some(u.file_sha256.to_vec()),
                file_enc_sha256: Some(u.file_enc_sha256.to_vec()),
                file_length: Some(u.file_length),
                media_key_timestamp: Some(u.media_key_timestamp),
                streaming_sidecar: u.streaming_sidecar,
                mimetype,
                seconds: media.duration_secs,
                ptt: Some(media.kind == MediaKind::Voice),
                context_info,
                ..Default::default()
            }),
            ..Default::default()
        },
        MediaKind::Document => {
            let document = wa::message::DocumentMessage {
                url: Some(u.url),
                direct_path: Some(u.direct_path),
                media_key: Some(u.media_key.to_vec()),
                file_sha256: Some(u.file_sha256.to_vec()),
                file_enc_sha256: Some(u.file_enc_sha256.to_vec()),
                file_length: Some(u.file_length),
                media_key_timestamp: Some(u.media_key_timestamp),
                mimetype,
                title: media.file_name.clone(),
                file_name: media.file_name.clone(),
                caption: caption.clone(),
                context_info,
                ..Default::default()
            };
            if caption.is_some() {
                // WhatsApp shows a document's caption only inside this wrapper.
                wa::Message {
                    document_with_caption_message: MessageField::some(
                        wa::message::FutureProofMessage {
                            message: MessageField::some(wa::Message {
                                document_message: MessageField::some(document),
                                ..Default::default()
                            }),
                        },
                    ),
                    ..Default::default()
                }
            } else {
                wa::Message {
                    document_message: MessageField::some(document),
                    ..Default::default()
                }
            }
        }
        MediaKind::Sticker => wa::Message {
            sticker_message: MessageField::some(wa::message::StickerMessage {
                url: Some(u.url),
                direct_path: Some(u.direct_path),
                media_key: Some(u.media_key.to_vec()),
                file_sha256: Some(u.file_sha256.to_vec()),
                file_enc_sha256: Some(u.file_enc_sha256.to_vec()),
                file_length: Some(u.file_length),
                media_key_timestamp: Some(u.media_key_timestamp),
                mimetype,
                width: media.width,
                height: media.height,
                context_info,
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

/// How to download one message's media: the CDN reference and keys it carries.
/// Built from the encrypted-media fields only: a message's `static_url` (a URL
/// the sender chose) is never fetched.
#[derive(Clone)]
pub struct MediaRef {
    /// The file's path on the media hosts (replaced after a re-upload).
    pub direct_path: String,
    media_key: Vec<u8>,
    file_sha256: Vec<u8>,
    file_enc_sha256: Vec<u8>,
    file_length: u64,
    media_type: MediaType,
}

impl MediaRef {
    fn params(&self) -> DownloadParams {
        DownloadParams::encrypted(
            self.direct_path.clone(),
            &self.media_key,
            &self.file_sha256,
            &self.file_enc_sha256,
            self.file_length,
            self.media_type,
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fields every encrypted media proto has.
struct Common<'a> {
    direct_path: &'a Option<String>,
    media_key: &'a Option<Vec<u8>>,
    file_sha256: &'a Option<Vec<u8>>,
    file_enc_sha256: &'a Option<Vec<u8>>,
    file_length: Option<u64>,
    mimetype: &'a Option<String>,
}

fn build(
    kind: MediaKind,
    c: Common<'_>,
    default_mime: &str,
    file_name: Option<String>,
    duration_secs: Option<u32>,
    dims: (Option<u32>, Option<u32>),
) -> (MediaInfo, Option<MediaRef>) {
    let size = c.file_length.unwrap_or(0);
    let info = MediaInfo {
        kind,
        mimetype: c
            .mimetype
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| default_mime.to_string()),
        size,
        sha256: c.file_sha256.as_deref().map(hex).unwrap_or_default(),
        file_name,
        duration_secs,
        width: dims.0,
        height: dims.1,
        stored: false,
    };
    let reference = match (c.direct_path, c.media_key, c.file_sha256, c.file_enc_sha256) {
        (Some(path), Some(key), Some(sha), Some(enc)) if !path.is_empty() => Some(MediaRef {
            direct_path: path.clone(),
            media_key: key.clone(),
            file_sha256: sha.clone(),
            file_enc_sha256: enc.clone(),
            file_length: size,
            media_type: media_type(kind),
        }),
        _ => None,
    };
    (info, reference)
}

/// The media a message carries: its metadata, and the reference to download it by
/// (`None` when the message lacks the fields a download needs). `None` for a
/// message without media.
pub fn inbound_media(message: &wa::Message) -> Option<(MediaInfo, Option<MediaRef>)> {
    let m = message.get_base_message();
    macro_rules! common {
        ($x:expr) => {
            Common {
                direct_path: &$x.direct_path,
                media_key: &$x.media_key,
                file_sha256: &$x.file_sha256,
                file_enc_sha256: &$x.file_enc_sha256,
                file_length: $x.file_length,
                mimetype: &$x.mimetype,
            }
        };
    }
    if let Some(x) = m.image_message.as_option() {
        let dims = (x.width, x.height);
        return Some(build(
            MediaKind::Image,
            common!(x),
            "image/jpeg",
            None,
            None,
            dims,
        ));
    }
    if let Some(x) = m.video_message.as_option() {
        let dims = (x.width, x.height);
        return Some(build(
            MediaKind::Video,
            common!(x),
            "video/mp4",
            None,
            x.seconds,
            dims,
        ));
    }
    if let Some(x) = m.ptv_message.as_option() {
        let dims = (x.width, x.height);
        let c = common!(x);
        return Some(build(
            MediaKind::VideoNote,
            c,
            "video/mp4",
            None,
            x.seconds,
            dims,
        ));
    }
    if let Some(x) = m.audio_message.as_option() {
        let kind = if x.ptt == Some(true) {
            MediaKind::Voice
        } else {
            MediaKind::Audio
        };
        let c = common!(x);
        return Some(build(
            kind,
            c,
            "audio/ogg; codecs=opus",
            None,
            x.seconds,
            (None, None),
        ));
    }
    if let Some(x) = m.document_message.as_option() {
        let name = x.file_name.clone().or_else(|| x.title.clone());
        let c = common!(x);
        let mime = "application/octet-stream";
        return Some(build(
            MediaKind::Document,
            c,
            mime,
            name,
            None,
            (None, None),
        ));
    }
    if let Some(x) = m.sticker_message.as_option() {
        let dims = (x.width, x.height);
        return Some(build(
            MediaKind::Sticker,
            common!(x),
            "image/webp",
            None,
            None,
            dims,
        ));
    }
    None
}

/// One inbound media file to fetch.
pub struct Job {
    /// The instance it belongs to.
    pub instance_id: String,
    /// The chat of the message.
    pub chat_jid: String,
    /// The message id.
    pub message_id: String,
    /// Who wrote it (for the re-upload request in groups).
    pub sender: String,
    /// Written by this account.
    pub from_me: bool,
    /// What to download.
    pub reference: MediaRef,
}

/// The background downloader of one session: a task per file, at most
/// `concurrency` of them transferring at once, all ending when the session stops.
#[derive(Clone)]
pub struct Downloads {
    /// The operator's policy.
    pub config: Arc<DownloadConfig>,
    permits: Arc<Semaphore>,
    events: UnboundedSender<LinkEvent>,
    tasks: TaskCounter,
    stop: watch::Receiver<bool>,
}

impl Downloads {
    /// A downloader reporting to `events`, counted in `tasks`, ending on `stop`.
    pub fn new(
        config: Arc<DownloadConfig>,
        events: UnboundedSender<LinkEvent>,
        tasks: TaskCounter,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Downloads {
            permits: Arc::new(Semaphore::new(config.concurrency)),
            config,
            events,
            tasks,
            stop,
        }
    }

    /// Queues `job` (never blocks: called on the library's event path).
    pub fn start(&self, client: Weak<Client>, job: Job) {
        let this = self.clone();
        let mut stop = self.stop.clone();
        drop(spawn_counted(&self.tasks, async move {
            tokio::select! {
                _ = this.run(client, job) => {}
                // The session ends: its files are not fetched (the messages keep
                // `stored: false`; nothing is reported for a deleted instance).
                _ = stop.wait_for(|s| *s) => {}
            }
        }));
    }

    async fn run(&self, client: Weak<Client>, job: Job) {
        let Ok(_permit) = self.permits.clone().acquire_owned().await else {
            return;
        };
        let outcome = self.fetch(&client, &job).await;
        let event = match outcome {
            Ok(bytes) => LinkEvent::MediaDownloaded {
                instance_id: job.instance_id,
                chat_jid: job.chat_jid,
                message_id: job.message_id,
                bytes,
            },
            Err(reason) => {
                tracing::warn!(instance = %job.instance_id, message = %job.message_id, %reason, "media download failed");
                LinkEvent::MediaFailed {
                    instance_id: job.instance_id,
                    chat_jid: job.chat_jid,
                    message_id: job.message_id,
                    reason,
                }
            }
        };
        let _ = self.events.send(event);
    }

    /// Downloads and decrypts, retrying with backoff; asks the phone to re-upload
    /// once when the file is gone from the media hosts.
    async fn fetch(&self, client: &Weak<Client>, job: &Job) -> Result<Bytes, String> {
        let backoff = Backoff {
            base: Duration::from_millis(self.config.retry_base_ms),
            cap: Duration::from_millis(self.config.retry_base_ms.saturating_mul(16)),
        };
        let mut reference = job.reference.clone();
        let mut reuploaded = false;
        let mut last = String::new();
        for attempt in 0..self.config.attempts {
            if attempt > 0 {
                tokio::time::sleep(backoff.delay(attempt - 1)).await;
            }
            let Some(client) = client.upgrade() else {
                return Err("the WhatsApp session ended".into());
            };
            match client.download(&reference.params()).await {
                Ok(bytes) if bytes.len() as u64 > self.config.max_bytes => {
                    return Err(format!(
                        "the file is {} bytes, over [whatsapp.media] max_bytes",
                        bytes.len()
                    ));
                }
                Ok(bytes) => return Ok(Bytes::from(bytes)),
                Err(e) => {
                    last = format!("{e:#}");
                    let chain: &(dyn std::error::Error + Send + Sync + 'static) = e.as_ref();
                    let gone = matches!(chain.http_status(), Some(404 | 410));
                    if gone && !reuploaded {
                        reuploaded = true;
                        match reupload(&client, job, &reference).await {
                            Ok(path) => reference.direct_path = path,
                            Err(why) => last = format!("{last}; re-upload request: {why}"),
                        }
                    }
                }
            }
        }
        Err(last)
    }
}

/// Asks the phone to upload the file again; its new direct path on success.
async fn reupload(client: &Client, job: &Job, reference: &MediaRef) -> Result<String, String> {
    let chat: Jid = job.chat_jid.parse().map_err(|e| format!("{e}"))?;
    let sender: Option<Jid> = if job.sender != job.chat_jid && !job.from_me {
        job.sender.parse().ok()
    } else {
        None
    };
    let request = MediaReuploadRequest {
        msg_id: &job.message_id,
        chat_jid: &chat,
        media_key: &reference.media_key,
        is_from_me: job.from_me,
        participant: sender.as_ref(),
    };
    match client.media_reupload().request(&request).await {
        Ok(MediaRetryResult::Success { direct_path }) => Ok(direct_path),
        Ok(other) => Err(format!("the phone answered {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}
