//! Media in an S3-compatible bucket (AWS S3, MinIO, R2, ...) through `object_store`'s
//! AWS client: it signs every request (SigV4) and presigns GET URLs, so nothing here
//! signs by hand.
//!
//! A [`MediaKey`] is the object's name under the configured prefix:
//! `<prefix>/media/<instance>/<chat>/<message>`. A removal-journal entry for a whole
//! instance (`media/<instance>`) lists and deletes every object under it.
//!
//! An object over [`MULTIPART_THRESHOLD`] is uploaded in parts (S3's multipart upload)
//! rather than one PUT; a failed part aborts the upload, so the bucket keeps no
//! orphan parts (which S3 would bill and keep until a lifecycle rule removes them).
//!
//! The endpoint is the operator's configuration, never a caller's input, so requests
//! to it do not go through the SSRF guard (`crate::outbound`): a MinIO on loopback or
//! on a private network is the usual set-up, and no API caller can choose where these
//! requests go.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    BackoffConfig, ClientOptions, MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload,
    RetryConfig,
};
use serde::Deserialize;

use super::store::{MediaKey, MediaStore};

/// The `[media.store]` table of `wagate.toml`: where media bytes are kept.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `disk` (the default: files under the data folder) or `s3`.
    pub kind: StoreKind,
    /// The bucket (s3; required).
    pub bucket: Option<String>,
    /// The bucket's region (s3; default `us-east-1`, or AWS_REGION / AWS_DEFAULT_REGION).
    pub region: Option<String>,
    /// The S3 endpoint, e.g. `http://127.0.0.1:9000` for a MinIO (s3; default AWS's).
    pub endpoint: Option<String>,
    /// Access key id (s3; else AWS_ACCESS_KEY_ID).
    pub access_key_id: Option<String>,
    /// Secret access key (s3; else AWS_SECRET_ACCESS_KEY).
    pub secret_access_key: Option<String>,
    /// Path-style requests (`<endpoint>/<bucket>/<key>`), as MinIO and most
    /// self-hosted stores need; off: virtual-hosted style (`<bucket>.<endpoint>`).
    pub path_style: bool,
    /// A folder inside the bucket every object is kept under (several gateways can
    /// share a bucket).
    pub prefix: Option<String>,
    /// Longest validity of a presigned media URL, in seconds (default 3600; a caller
    /// may ask for less, never more).
    pub url_expiry_max_secs: Option<u64>,
}

/// Which media store `[media.store]` selects.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// Files under the data folder.
    #[default]
    Disk,
    /// Objects in an S3-compatible bucket.
    S3,
}

/// Objects larger than this go up in parts, not in one PUT: a retried part resends
/// 8 MiB rather than the whole file, and some S3-compatible stores cap a single PUT
/// well below `[media] max_bytes`. It is above S3's 5 MiB minimum part size, so a
/// file just over it still makes valid parts.
pub const MULTIPART_THRESHOLD: usize = 8 * 1024 * 1024;

/// The size of every part but the last (equal parts, as R2 requires; S3 wants at
/// least 5 MiB).
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts being sent at once (bounds the connections one upload holds).
const PARTS_IN_FLIGHT: usize = 2;

/// Default and ceiling of a presigned URL's validity when the operator sets none.
const DEFAULT_URL_EXPIRY_MAX: Duration = Duration::from_secs(3600);

/// Media bytes as objects in one bucket.
#[derive(Debug)]
pub struct S3Store {
    client: AmazonS3,
    /// The folder every key is kept under ("" for the bucket's root).
    prefix: String,
    url_expiry_max: Duration,
}

impl S3Store {
    /// A client for `config`, checked against the bucket (a listing of the prefix):
    /// a missing bucket, a wrong endpoint or refused credentials are reported here, at
    /// start-up, not at the first media message.
    pub async fn open(config: &StoreConfig) -> anyhow::Result<S3Store> {
        let bucket = config
            .bucket
            .as_deref()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| anyhow::anyhow!("[media.store] kind = \"s3\" needs `bucket`"))?;
        // The AWS_* variables first (credentials, region, endpoint), the file's values
        // over them.
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_virtual_hosted_style_request(!config.path_style)
            // Bounded retries: a request to an unreachable bucket fails within seconds,
            // and the removal journal (core::media_gc) retries it later with its own
            // backoff, so a caller is never held for the client's default 3 minutes.
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 2,
                retry_timeout: Duration::from_secs(10),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120))
                    .with_allow_http(true),
            );
        if let Some(region) = &config.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(id) = &config.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &config.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let client = builder
            .build()
            .map_err(|e| anyhow::anyhow!("configuring the S3 media store: {e}"))?;
        let prefix = config
            .prefix
            .as_deref()
            .unwrap_or("")
            .trim_matches('/')
            .to_string();
        let store = S3Store {
            client,
            prefix,
            url_expiry_max: config
                .url_expiry_max_secs
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_URL_EXPIRY_MAX),
        };
        store
            .client
            .list_with_delimiter(Some(&store.path("media")))
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "the S3 media store (bucket {bucket:?}{}) is not usable: {e}",
                    config
                        .endpoint
                        .as_deref()
                        .map(|e| format!(" at {e}"))
                        .unwrap_or_default()
                )
            })?;
        Ok(store)
    }

    /// The object path of a key or a journal entry (both `media/...`).
    fn path(&self, rel: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(rel)
        } else {
            Path::from(format!("{}/{rel}", self.prefix))
        }
    }

    /// Deletes every object under `prefix` (an instance's folder): listed and deleted
    /// in the bucket's bulk-delete batches.
    async fn remove_all_under(&self, prefix: &Path) -> object_store::Result<()> {
        let locations = self
            .client
            .list(Some(prefix))
            .map_ok(|meta| meta.location)
            .boxed();
        let mut deleted = self.client.delete_stream(locations);
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn io_error(e: object_store::Error) -> std::io::Error {
    std::io::Error::other(e)
}

/// Sends `bytes` as the parts of `upload` (slices of the staged buffer, no copies)
/// and completes it; on any failure aborts it, so no part is left in the bucket, and
/// returns the failure.
async fn upload_in_parts(
    mut upload: Box<dyn MultipartUpload>,
    bytes: Bytes,
) -> object_store::Result<()> {
    // `put_part` numbers the parts in call order; the futures may then run together.
    let parts: Vec<_> = (0..bytes.len())
        .step_by(PART_SIZE)
        .map(|start| {
            let end = (start + PART_SIZE).min(bytes.len());
            upload.put_part(PutPayload::from_bytes(bytes.slice(start..end)))
        })
        .collect();
    let sent = futures_util::stream::iter(parts)
        .buffer_unordered(PARTS_IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await;
    let outcome = match sent {
        Ok(_) => upload.complete().await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = &outcome
        && let Err(abort) = upload.abort().await
    {
        tracing::warn!(error = %e, abort_error = %abort, "aborting a failed multipart media upload failed; its parts stay until the bucket's lifecycle rule removes them");
    }
    outcome
}

#[async_trait]
impl MediaStore for S3Store {
    async fn put(&self, key: &MediaKey, bytes: Bytes) -> std::io::Result<()> {
        // S3 makes an object visible only once it is whole, in one PUT or once a
        // multipart upload completes.
        let path = self.path(key.as_str());
        if bytes.len() > MULTIPART_THRESHOLD {
            let upload = self.client.put_multipart(&path).await.map_err(io_error)?;
            return upload_in_parts(upload, bytes).await.map_err(io_error);
        }
        self.client
            .put(&path, PutPayload::from_bytes(bytes))
            .await
            .map(|_| ())
            .map_err(io_error)
    }

    async fn get(&self, key: &MediaKey) -> std::io::Result<Option<Bytes>> {
        match self.client.get(&self.path(key.as_str())).await {
            Ok(found) => found.bytes().await.map(Some).map_err(io_error),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn remove(&self, key: &MediaKey) -> std::io::Result<()> {
        match self.client.delete(&self.path(key.as_str())).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn remove_entry(&self, entry: &str) -> std::io::Result<()> {
        match entry.split('/').count() {
            // `media/<instance>`: everything the instance stored.
            2 => self
                .remove_all_under(&self.path(entry))
                .await
                .map_err(io_error),
            // `media/<instance>/<chat>/<message>`: one object.
            _ => match self.client.delete(&self.path(entry)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(io_error(e)),
            },
        }
    }

    async fn signed_url(
        &self,
        key: &MediaKey,
        expires_in: Option<Duration>,
    ) -> std::io::Result<Option<(String, Duration)>> {
        let expires_in = expires_in
            .filter(|d| !d.is_zero())
            .map_or(self.url_expiry_max, |d| d.min(self.url_expiry_max));
        let url = self
            .client
            .signed_url(http::Method::GET, &self.path(key.as_str()), expires_in)
            .await
            .map_err(io_error)?;
        Ok(Some((url.to_string(), expires_in)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use object_store::{PutResult, UploadPart};

    use super::*;

    /// What a fake upload was asked to do.
    #[derive(Debug, Default)]
    struct Log {
        parts: Vec<usize>,
        completed: bool,
        aborted: bool,
    }

    /// A multipart upload that fails the part numbered `fail_at` (if any).
    #[derive(Debug)]
    struct FakeUpload {
        log: Arc<Mutex<Log>>,
        fail_at: Option<usize>,
    }

    #[async_trait]
    impl MultipartUpload for FakeUpload {
        fn put_part(&mut self, data: PutPayload) -> UploadPart {
            let mut log = self.log.lock().unwrap();
            let n = log.parts.len();
            log.parts.push(data.content_length());
            let fail = self.fail_at == Some(n);
            Box::pin(async move {
                if fail {
                    Err(object_store::Error::Generic {
                        store: "fake",
                        source: "the part was refused".into(),
                    })
                } else {
                    Ok(())
                }
            })
        }

        async fn complete(&mut self) -> object_store::Result<PutResult> {
            self.log.lock().unwrap().completed = true;
            Ok(PutResult {
                e_tag: None,
                version: None,
            })
        }

        async fn abort(&mut self) -> object_store::Result<()> {
            self.log.lock().unwrap().aborted = true;
            Ok(())
        }
    }

    fn run(len: usize, fail_at: Option<usize>) -> (object_store::Result<()>, Log) {
        let log = Arc::new(Mutex::new(Log::default()));
        let upload = Box::new(FakeUpload {
            log: log.clone(),
            fail_at,
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let result = rt.block_on(upload_in_parts(upload, Bytes::from(vec![7u8; len])));
        let log = std::mem::take(&mut *log.lock().unwrap());
        (result, log)
    }

    #[test]
    fn a_large_object_goes_up_in_equal_parts_and_is_completed() {
        let (result, log) = run(2 * PART_SIZE + 5, None);
        assert!(result.is_ok());
        assert_eq!(log.parts, [PART_SIZE, PART_SIZE, 5]);
        assert!(log.completed && !log.aborted);
    }

    #[test]
    fn a_failed_part_aborts_the_upload_and_never_completes_it() {
        let (result, log) = run(3 * PART_SIZE, Some(1));
        assert!(result.is_err());
        assert!(log.aborted, "no orphan parts");
        assert!(!log.completed);
    }
}
