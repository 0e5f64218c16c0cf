//! Media bytes: where they are kept ([`store`]), what a byte string is ([`sniff`]),
//! how a URL source is fetched for a caller ([`fetch`]) and how stickers and voice
//! notes are made into what WhatsApp shows ([`sticker`], [`voice`]). Nothing here knows a message
//! record: core decides what to store and when, this layer only moves bytes.

pub mod fetch;
pub mod s3;
pub mod sniff;
pub mod sticker;
pub mod store;
pub mod voice;

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

/// The `[media]` table of `wagate.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// Largest media a send may carry or a URL source may deliver, in bytes (64 MiB,
    /// WhatsApp's own cap on most media; documents may be larger on WhatsApp, not here).
    pub max_bytes: u64,
    /// How long connecting to a URL source may take.
    pub connect_timeout_ms: u64,
    /// How long a whole URL fetch (redirects and body included) may take.
    pub fetch_timeout_ms: u64,
    /// Redirects a URL fetch follows, each re-checked by the SSRF guard.
    pub max_redirects: u32,
    /// The `[media.store]` table: the data folder (default) or an S3 bucket.
    pub store: s3::StoreConfig,
    /// The ffmpeg that converts voice notes to Opus (see [`voice`]): a path, or a name
    /// looked up on the `PATH`; empty: voice notes go as given.
    pub ffmpeg: String,
    /// How long converting one voice note may take.
    pub transcode_timeout_ms: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            max_bytes: 64 * 1024 * 1024,
            connect_timeout_ms: 10_000,
            fetch_timeout_ms: 120_000,
            max_redirects: 5,
            store: s3::StoreConfig::default(),
            ffmpeg: "ffmpeg".into(),
            transcode_timeout_ms: 60_000,
        }
    }
}

/// The media store `[media.store]` selects: files under `data_dir`, or a bucket
/// (checked reachable now, so a bad configuration stops the start-up with its reason).
pub async fn open_store(
    config: &s3::StoreConfig,
    data_dir: &Path,
) -> anyhow::Result<Arc<dyn store::MediaStore>> {
    Ok(match config.kind {
        s3::StoreKind::Disk => Arc::new(store::DiskStore::new(data_dir)),
        s3::StoreKind::S3 => Arc::new(s3::S3Store::open(config).await?),
    })
}
