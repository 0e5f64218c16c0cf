//! Configuration: `wagate.toml` (optional) overlaid by command-line flags and env
//! variables. Every value has a working default, so `wagate serve` needs nothing.
//!
//! ```toml
//! listen = "127.0.0.1:8080"     # WAGATE_LISTEN / --listen
//! data = "./wagate-data"         # WAGATE_DATA / --data
//! plugin_cache = "/var/cache/wagate"  # WAGATE_PLUGIN_CACHE / --plugin-cache
//!                                # (default <data>/plugin-cache)
//! link = "whatsapp"              # --link whatsapp|sim
//! log_format = "human"           # --log-format human|json
//! tls_cert = "cert.pem"          # --tls-cert (with tls_key: serve HTTPS)
//! tls_key = "key.pem"            # --tls-key
//! max_body_bytes = 1048576       # larger request bodies get 413
//! max_write_batch = 512          # mutations per durable commit (1: no group commit)
//! store_cache_mib = 32           # redb's page cache (reads and writes), in MiB
//!
//! [store]                        # where the state is kept (see `store`)
//! url = "postgres://wagate:secret@db:5432/wagate"  # WAGATE_STORE / --store: PostgreSQL
//!                                # instead of the redb file (default: redb)
//!
//! [cluster]                      # several gateways on one PostgreSQL store (see `cluster`)
//! node = "node-a"                # WAGATE_NODE / --node: this node's id; turns cluster
//!                                # mode on (needs [store] url)
//! advertise = "http://10.0.0.5:8080"  # WAGATE_ADVERTISE / --advertise: where the
//!                                # others reach it (default http://<listen>)
//! lease_ms = 15000               # WAGATE_LEASE_MS / --lease-ms: a dead node's instances move within about this long
//!
//! [server]                       # slow clients and connection bounds
//! header_timeout_ms = 10000      # a request head must be complete by then (also the
//!                                # idle keep-alive timeout); else the connection closes
//! body_timeout_ms = 30000        # a request body must be complete by then; else 408
//! max_connections = 1024         # open connections; more are answered 503 and closed
//! max_connections_per_ip = 256   # per client address (0: no per-address cap)
//!
//! [outbound]                     # the SSRF guard (see `outbound`)
//! allow = ["10.1.2.3/32"]        # private ranges the host may reach anyway (default
//!                                # none); WAGATE_OUTBOUND_ALLOW adds comma-separated CIDRs
//!
//! [media]                        # media sends and URL sources (see `media`)
//! max_bytes = 67108864           # largest media sent or fetched (64 MiB); more: 413
//! connect_timeout_ms = 10000     # connecting to a media URL
//! fetch_timeout_ms = 120000      # a whole media URL fetch, redirects included
//! max_redirects = 5              # each redirect re-checked by the SSRF guard
//! ffmpeg = "ffmpeg"              # converts voice notes to Opus (a path or a name on
//!                                # the PATH; "" or not found: sent as given)
//! transcode_timeout_ms = 60000   # converting one voice note
//!
//! [media.store]                  # where media bytes are kept (see `media::s3`)
//! kind = "disk"                  # "disk": under the data folder | "s3": a bucket
//! bucket = "wagate-media"        # s3: required; region, endpoint, access_key_id,
//! path_style = true              # secret_access_key (else AWS_*), prefix,
//!                                # url_expiry_max_secs (presigned URLs; 3600)
//!
//! [whatsapp]                     # the real link (whatsapp-rust)
//! url = "wss://web.whatsapp.com/ws/chat"
//! version = "2.3000.1042742319"  # WhatsApp Web version announced; never fetched
//! reconnect_base_ms = 1000       # reconnect delay ceiling, doubling per failed
//! reconnect_max_ms = 300000      # attempt up to this (jittered)
//!
//! [whatsapp.media]               # inbound media on the real link (all instances)
//! download = "all"               # "all" | "none": fetch the bytes in the background
//! kinds = ["image", "voice"]     # only these kinds (default: every kind)
//! max_bytes = 67108864           # larger media keeps its metadata only
//! concurrency = 4                # downloads at once per instance
//! attempts = 4                   # tries per file, then reported failed
//! retry_base_ms = 2000           # first retry delay ceiling, doubling
//!
//! [sim]
//! pair_delay_ms = 500            # how long the simulated phone takes to "scan"
//!
//! [events]                       # webhook delivery retries
//! max_attempts = 12              # then the delivery is dead-lettered
//! base_backoff_ms = 500          # doubles per attempt, with jitter, up to
//! max_backoff_ms = 300000
//!
//! [cors]                         # browsers on other origins (see `server::cors`)
//! allow_origins = ["https://app.example.com"]  # default none: no cross-origin; "*": any
//! allow_methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
//! allow_headers = []             # default: those the browser asks for
//! allow_credentials = false
//! max_age_secs = 600
//! admin = false                  # also cover /admin and /metrics
//!
//! [socketio]                     # Socket.IO for the dialect declaring it (Evolution's
//! enabled = false                # WEBSOCKET_ENABLED / WEBSOCKET_GLOBAL_EVENTS override
//! global_events = false          # these; see `server::socketio`)
//!
//! [plugins]                      # which plugins load and where dialects mount;
//!                                # see `plugin::config` (default: all bundled)
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// Which WhatsApp network the gateway talks to (`link`, `--link`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// In-process simulated WhatsApp network.
    Sim,
    /// The real network through whatsapp-rust (the default).
    Whatsapp,
}

/// How log lines are formatted (`log_format`, `--log-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal (the default).
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The `[sim]` table: how the simulated network behaves.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// How long the simulated phone takes to "scan" a pairing code.
    pub pair_delay_ms: u64,
}

/// The `[server]` table: how long a client may take and how many connections it may
/// hold.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// A request head (request line and headers) must be complete within this time
    /// from when the connection starts waiting for it. hyper runs the same timer while
    /// a keep-alive connection is idle, so it is also the idle keep-alive timeout.
    pub header_timeout_ms: u64,
    /// A request body must be read completely within this time from the end of its
    /// head (a body trickled byte by byte is cut off): 408, and the connection closes.
    pub body_timeout_ms: u64,
    /// Most connections open at once (WebSocket streams included); more are answered
    /// 503 and closed. 0: no cap.
    pub max_connections: usize,
    /// Most connections open at once from one client address. 0: no cap. (Behind a
    /// reverse proxy every client has the proxy's address.)
    pub max_connections_per_ip: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_timeout_ms: 10_000,
            body_timeout_ms: 30_000,
            max_connections: 1024,
            max_connections_per_ip: 256,
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig { pair_delay_ms: 500 }
    }
}

/// The whole configuration after defaults, file and overrides are merged.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Folder of the redb file and received media.
    pub data: PathBuf,
    /// Folder of compiled plugin code; `None`: `<data>/plugin-cache`. Its files are
    /// loaded as native code: only the gateway may write to it. Gateways of the same
    /// binary may share one (entries are written whole, then renamed into place).
    pub plugin_cache: Option<PathBuf>,
    /// The real WhatsApp network or the simulated one.
    pub link: LinkKind,
    /// Human or JSON log lines.
    pub log_format: LogFormat,
    /// PEM certificate chain; with `tls_key` the server speaks HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Largest request body accepted; a larger one gets 413.
    pub max_body_bytes: usize,
    /// Most mutations folded into one durable commit (group commit); 1 turns it off.
    pub max_write_batch: usize,
    /// The store's page cache in MiB (redb's default, 1 GiB, would let the cache
    /// alone grow the gateway's memory to a gigabyte on a large store).
    pub store_cache_mib: usize,
    /// The `[store]` table: redb in the data folder, or PostgreSQL.
    pub store: crate::store::StoreConfig,
    /// The `[cluster]` table: this gateway as one node of several on one PostgreSQL store.
    pub cluster: crate::cluster::ClusterConfig,
    /// The `[sim]` table, used only with the `sim` link.
    pub sim: SimConfig,
    /// The `[server]` table: timeouts and connection caps.
    pub server: ServerConfig,
    /// The `[outbound]` table: private ranges outbound requests may reach anyway.
    pub outbound: crate::outbound::OutboundConfig,
    /// The `[media]` table: size cap and timeouts of media sends and URL fetches.
    pub media: crate::media::MediaConfig,
    /// The `[whatsapp]` table: the real link's endpoint, version and reconnect policy.
    pub whatsapp: crate::whatsapp::real::WhatsAppConfig,
    /// The `[plugins]` table (see [`crate::plugin::PluginsConfig`]).
    pub plugins: crate::plugin::PluginsConfig,
    /// `[[streams]]`: WebSocket event stream routes; absent: those the loaded dialects
    /// declare (see [`crate::server::stream`]).
    pub streams: Option<Vec<crate::plugin::config::StreamRoute>>,
    /// The `[events]` table: webhook retry policy.
    pub events: crate::events::dispatcher::DispatchConfig,
    /// The `[console]` table: the operator web console (on at `/console` by default).
    pub console: crate::server::console::ConsoleConfig,
    /// The `[cors]` table (see [`crate::server::cors`]).
    pub cors: crate::server::cors::CorsConfig,
    /// The `[socketio]` table (see [`crate::server::socketio`]).
    pub socketio: crate::server::socketio::SocketIoConfig,
    /// The `[brokers.<name>]` tables: message brokers events are published to (see
    /// [`crate::events::brokers::config`]).
    pub brokers: std::collections::BTreeMap<String, crate::events::brokers::config::BrokerConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            data: PathBuf::from("./wagate-data"),
            plugin_cache: None,
            link: LinkKind::Whatsapp,
            log_format: LogFormat::Human,
            tls_cert: None,
            tls_key: None,
            max_body_bytes: 1024 * 1024,
            max_write_batch: 512,
            store_cache_mib: crate::store::DEFAULT_CACHE_MIB,
            store: Default::default(),
            cluster: Default::default(),
            sim: SimConfig::default(),
            server: ServerConfig::default(),
            outbound: Default::default(),
            media: Default::default(),
            whatsapp: Default::default(),
            plugins: crate::plugin::PluginsConfig::default(),
            events: Default::default(),
            streams: None,
            console: Default::default(),
            cors: Default::default(),
            socketio: Default::default(),
            brokers: Default::default(),
        }
    }
}

impl Config {
    /// Reads `path` (TOML); a missing optional file is the defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        match path {
            None => Ok(Config::default()),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading config {}", p.display()))?;
                let mut config: Config = toml::from_str(&text)
                    .with_context(|| format!("parsing config {}", p.display()))?;
                // Read once more through the plugin loader so relative plugin paths are
                // resolved against the file and reloads know where to re-read it.
                config.plugins = crate::plugin::PluginsConfig::from_wagate_toml(p)?;
                Ok(config)
            }
        }
    }
}
