//! The domain: instances, chats, messages, credentials and authorization.
//!
//! Every operation takes the caller's [`Principal`] and authorizes it here (see
//! [`authz`]) before it touches the store or the link. Nothing in core knows a dialect.

pub mod authz;
pub mod brokers;
pub mod business;
pub mod calls;
pub mod chats;
pub mod contacts;
pub mod content;
pub mod credentials;
pub mod deliveries;
pub mod edits;
pub mod group_events;
pub mod groups;
pub mod ingest;
pub mod instances;
pub mod integrations;
pub mod jid;
pub mod labels;
pub mod lid_map;
pub mod media;
pub mod media_download;
pub mod media_gc;
pub mod messages;
pub mod model;
pub mod outbox;
pub mod pending_media;
pub mod pictures;
pub mod plugin_storage;
pub mod polls;
pub mod presence;
pub mod privacy;
pub mod profile;
pub mod proxy;
pub mod ratelimit;
pub mod reactions;
pub mod receipts;
pub mod records;
pub mod settings;
pub mod socketio;
pub mod status;
pub mod uploads;
pub mod webhooks;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use model::{CoreError, Instance, RateDecision};

use crate::store::Store;
use crate::whatsapp::{Link, LinkError};

/// The gateway's core: the store, the WhatsApp link and the rules between them.
pub struct Core {
    store: Store,
    link: Arc<dyn Link>,
    /// Instance ids with a delete in progress (a second delete is a conflict).
    deleting: Mutex<HashSet<String>>,
    limiter: ratelimit::RateLimiter,
    /// The credential kinds that can be minted: the host's own and those the loaded
    /// plugins declare (see [`Core::declare_credential_kinds`]).
    credential_kinds: RwLock<BTreeMap<records::CredentialKind, records::CredentialKindSpec>>,
    /// Recent delivery attempts per webhook, recorded by the event dispatcher.
    deliveries: Arc<deliveries::DeliveryLog>,
    /// Where media bytes are kept (the data folder by default).
    media_store: Arc<dyn crate::media::store::MediaStore>,
    /// Removes from `media_store` what deletes journalled (`tables::MEDIA_GC`).
    media_gc: Arc<media_gc::MediaCollector>,
    /// The `[media]` limits of sends and URL fetches.
    media_config: crate::media::MediaConfig,
    /// Media bytes the server took out of request bodies in flight.
    uploads: Arc<uploads::Uploads>,
    /// The configured message brokers' names (what `set-broker` accepts).
    brokers: brokers::BrokerDirectory,
    /// Inbound media the link is downloading, which event deliveries wait for.
    pending_media: Arc<pending_media::PendingMedia>,
}

impl Core {
    /// The core over a store and a link, knowing the host's own credential kinds until
    /// the plugins declare theirs.
    pub fn new(store: Store, link: Arc<dyn Link>) -> Arc<Self> {
        Self::with_media(store, link, crate::media::MediaConfig::default())
    }

    /// [`Core::new`] with the `[media]` limits of the configuration; the media bytes
    /// are kept under the store's data folder.
    pub fn with_media(
        store: Store,
        link: Arc<dyn Link>,
        media_config: crate::media::MediaConfig,
    ) -> Arc<Self> {
        let media_store = Arc::new(crate::media::store::DiskStore::new(store.data_dir()));
        Self::with_media_store(store, link, media_config, media_store)
    }

    /// [`Core::with_media`] over a given media store (`crate::media::open_store`).
    pub fn with_media_store(
        store: Store,
        link: Arc<dyn Link>,
        media_config: crate::media::MediaConfig,
        media_store: Arc<dyn crate::media::store::MediaStore>,
    ) -> Arc<Self> {
        Arc::new(Core {
            media_gc: media_gc::MediaCollector::new(store.clone(), media_store.clone()),
            media_store,
            media_config,
            limiter: ratelimit::RateLimiter::new(store.cluster().map(|c| c.counters.clone())),
            store,
            link,
            deleting: Mutex::default(),
            credential_kinds: RwLock::new(
                records::CredentialKindSpec::builtin()
                    .into_iter()
                    .map(|s| (s.kind.clone(), s))
                    .collect(),
            ),
            deliveries: Arc::default(),
            uploads: Arc::default(),
            brokers: Default::default(),
            pending_media: Arc::new(pending_media::PendingMedia::new(
                pending_media::DEFAULT_WAIT,
            )),
        })
    }

    /// The inbound media downloads in flight (see [`pending_media`]).
    pub fn pending_media(&self) -> &Arc<pending_media::PendingMedia> {
        &self.pending_media
    }

    /// The media bytes staged by the requests in flight (see [`uploads`]).
    pub fn uploads(&self) -> &Arc<uploads::Uploads> {
        &self.uploads
    }

    /// The largest request body a media route reads: `[media] max_bytes` as base64
    /// (4/3 of it), line breaks in it (JSON-escaped `\r\n` every 76 characters: about
    /// 5% more), and room for the rest of the request.
    pub fn media_body_cap(&self) -> usize {
        let max = usize::try_from(self.media_config.max_bytes).unwrap_or(usize::MAX);
        let base64 = max.saturating_add(max / 3);
        base64.saturating_add(base64 / 16).saturating_add(1 << 20)
    }

    /// How long a media send may take as a whole: a URL fetch (`[media]
    /// fetch_timeout_ms`) and as long again for the upload to WhatsApp.
    pub fn media_send_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.media_config.fetch_timeout_ms.saturating_mul(2))
    }

    /// The store, for callers that read records directly (the dead-letter admin commands).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The WhatsApp link the operations drive.
    pub fn link(&self) -> &Arc<dyn Link> {
        &self.link
    }

    /// Counts one hit against a host-kept rate-limit bucket.
    pub fn rate_limit(&self, bucket: &str, limit: u32, window_ms: u64) -> RateDecision {
        self.limiter.hit(bucket, limit, window_ms)
    }

    /// The instance with its live connection state from the link.
    fn live(&self, mut instance: Instance) -> Instance {
        instance.state = self.live_state(&instance);
        instance
    }

    /// The link's live state of a stored instance. The link turns `Open` a moment before
    /// core has stored the pairing (owner JID) it reported with it; until then the
    /// instance reads as `Connecting`, so "connected" always comes with its number.
    /// In cluster mode, an instance whose session runs on another node reads as that
    /// node last stored it.
    fn live_state(&self, instance: &Instance) -> model::ConnectionState {
        if !self.link.runs_here(&instance.id) {
            return instance.state;
        }
        match self.link.state(&instance.id) {
            model::ConnectionState::Open if instance.owner_jid.is_none() => {
                model::ConnectionState::Connecting
            }
            state => state,
        }
    }
}

/// How link failures read to callers.
impl From<LinkError> for CoreError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::NotConnected => {
                CoreError::NotConnected("instance is not connected to WhatsApp".into())
            }
            LinkError::Rejected(m) => CoreError::Conflict(m),
            // The link reports not-found only for groups and invite codes.
            LinkError::NotFound(m) => CoreError::NotFound(model::Resource::Group, m),
            LinkError::Forbidden(m) => CoreError::Forbidden(m),
            LinkError::Failed(m) => {
                tracing::warn!(error = %m, "whatsapp link failure");
                CoreError::Internal(format!("whatsapp: {m}"))
            }
        }
    }
}
