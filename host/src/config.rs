//! Configuration: `wagate.toml` (optional) overlaid by command-line flags and env
//! variables. Every value has a working default, so `wagate serve` needs nothing.
//!
//! ```toml
//! listen = "127.0.0.1:8080"     # WAGATE_LISTEN / --listen
//! data = "./wagate-data"         # WAGATE_DATA / --data
//! link = "whatsapp"              # --link whatsapp|sim
//! log_format = "human"           # --log-format human|json
//! tls_cert = "cert.pem"          # --tls-cert (with tls_key: serve HTTPS)
//! tls_key = "key.pem"            # --tls-key
//! max_body_bytes = 1048576       # larger request bodies get 413
//! max_write_batch = 512          # mutations per durable commit (1: no group commit)
//!
//! [whatsapp]                     # the real link (whatsapp-rust)
//! url = "wss://web.whatsapp.com/ws/chat"
//! version = "2.3000.1042742319"  # WhatsApp Web version announced; never fetched
//! reconnect_base_ms = 1000       # reconnect delay ceiling, doubling per failed
//! reconnect_max_ms = 300000      # attempt up to this (jittered)
//!
//! [sim]
//! pair_delay_ms = 500            # how long the simulated phone takes to "scan"
//!
//! [events]                       # webhook delivery retries
//! max_attempts = 12              # then the delivery is dead-lettered
//! base_backoff_ms = 500          # doubles per attempt, with jitter, up to
//! max_backoff_ms = 300000
//!
//! [plugins]                      # which plugins load and where dialects mount;
//!                                # see `plugin::config` (default: all bundled)
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// In-process simulated WhatsApp network.
    Sim,
    /// The real network through whatsapp-rust (the default).
    Whatsapp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    pub pair_delay_ms: u64,
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
    pub listen: SocketAddr,
    pub data: PathBuf,
    pub link: LinkKind,
    pub log_format: LogFormat,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub max_body_bytes: usize,
    /// Most mutations folded into one durable commit (group commit); 1 turns it off.
    pub max_write_batch: usize,
    pub sim: SimConfig,
    /// The `[whatsapp]` table: the real link's endpoint, version and reconnect policy.
    pub whatsapp: crate::whatsapp::real::WhatsAppConfig,
    /// The `[plugins]` table (see [`crate::plugin::PluginsConfig`]).
    pub plugins: crate::plugin::PluginsConfig,
    /// `[[streams]]`: WebSocket event stream routes; absent: those the loaded dialects
    /// declare (see [`crate::server::stream`]).
    pub streams: Option<Vec<crate::plugin::config::StreamRoute>>,
    /// The `[events]` table: webhook retry policy.
    pub events: crate::events::dispatcher::DispatchConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            data: PathBuf::from("./wagate-data"),
            link: LinkKind::Whatsapp,
            log_format: LogFormat::Human,
            tls_cert: None,
            tls_key: None,
            max_body_bytes: 1024 * 1024,
            max_write_batch: 512,
            sim: SimConfig::default(),
            whatsapp: Default::default(),
            plugins: crate::plugin::PluginsConfig::default(),
            events: Default::default(),
            streams: None,
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
