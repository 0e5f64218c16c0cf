//! The deployment's plugin configuration: the `[plugins]` table of wagate.toml.
//!
//! ```toml
//! [plugins]
//! # Bundled plugins to load, by name. Absent: all of them.
//! bundled = ["ryze", "ryze-token", "webhook"]
//!
//! # Plugins from files: a manifest (plugin.toml) and its .wasm (the manifest's `wasm`
//! # key, relative to the manifest, or `wasm` here). A file plugin with the name of a
//! # bundled one replaces it.
//! [[plugins.file]]
//! manifest = "/etc/wagate/plugins/hello/plugin.toml"
//! # wasm = "/etc/wagate/plugins/hello/hello.wasm"
//!
//! # Per-plugin settings, merged over the plugin's manifest.
//! [plugins.settings.hello]
//! config = { greeting = "hi" }        # key by key over the manifest's [config]
//! http_out_hosts = ["127.0.0.1:9000"]  # replaces grants.http_out.hosts
//! memory_mib = 16                      # replaces grants.memory_mib
//! deadline_ms = 50                     # replaces grants.deadline_ms
//! core_timeout_ms = 5000               # replaces grants.core_timeout_ms (a media
//!                                      # send gets at least twice [media]'s fetch timeout)
//!
//! # The mount table. Absent: the defaults (below). Longest prefix wins; a prefix
//! # matches itself and the paths under it (`/api` matches `/api/x`, not `/apix`).
//! [[plugins.mount]]
//! prefix = "/hello"
//! dialect = "hello"
//! auth = ["ryze-token"]   # tried in order: allow stops, deny answers, skip goes on
//! ```
//!
//! Default mounts: every loaded dialect whose manifest names a `default_mount`, behind
//! the auth plugins of its `default_auth` list (those that are loaded). The bundled
//! dialects declare Ryze (`ryze`) at `/api`, sessions/v1 (`sessions-v1`) at `/api/v1`,
//! Chatwoot's inbound webhooks (`chatwoot`, behind `url-token`) at `/chatwoot/webhook`
//! and Evolution (`evolution`) at `/` (longest prefix wins, so Evolution's own
//! `/chatwoot/set` and `/chatwoot/find` stay Evolution's). Two dialects declaring the
//! same default prefix is an error that asks for an explicit mount table.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, ensure};
use serde::Deserialize;

/// The `[plugins]` table. `Default` loads every bundled plugin with the default mounts.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// Bundled plugins to load by name; `None` loads all of them.
    pub bundled: Option<Vec<String>>,
    /// Plugins loaded from files (`[[plugins.file]]`).
    pub file: Vec<FilePlugin>,
    /// Per-plugin overrides (`[plugins.settings.<name>]`).
    pub settings: BTreeMap<String, PluginSettings>,
    /// The mount table (`[[plugins.mount]]`); `None`: the dialects' default mounts.
    pub mount: Option<Vec<MountConfig>>,
    /// Engine sizing (`[plugins.runtime]`).
    pub runtime: RuntimeConfig,
    /// The file this table was read from. When set, [`super::PluginHost::reload`]
    /// re-reads its `[plugins]` table; otherwise reload re-reads the plugin files only.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// A plugin loaded from a file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePlugin {
    /// Path of its plugin.toml.
    pub manifest: PathBuf,
    /// Path of its .wasm; default: the manifest's `wasm` key, else `<name>.wasm` beside
    /// the manifest.
    #[serde(default)]
    pub wasm: Option<PathBuf>,
}

/// Deployment overrides for one plugin.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginSettings {
    /// Merged key by key over the manifest's `[config]`.
    pub config: BTreeMap<String, toml::Value>,
    /// Replaces `grants.http_out.hosts`.
    pub http_out_hosts: Option<Vec<String>>,
    /// Replaces `grants.memory_mib`.
    pub memory_mib: Option<u32>,
    /// Replaces `grants.deadline_ms`.
    pub deadline_ms: Option<u64>,
    /// Replaces `grants.core_timeout_ms`.
    pub core_timeout_ms: Option<u64>,
}

/// One mount: requests under `prefix` go through `auth` then `dialect`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountConfig {
    /// Path prefix, `/` or `/segment[/segment...]` without a trailing slash.
    pub prefix: String,
    /// Name of a loaded dialect plugin.
    pub dialect: String,
    /// Names of loaded auth plugins, tried in order.
    #[serde(default)]
    pub auth: Vec<String>,
}

/// One WebSocket event stream route (`[[streams]]` in wagate.toml, or a dialect's
/// `default_streams`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamRoute {
    /// Absolute path with one `{instance}` segment (an instance name or id).
    pub path: String,
    /// The dialect that renders the events and whose mount's auth plugins authorise.
    pub dialect: String,
}

/// Engine sizing (`[plugins.runtime]`). Read at start only; reload keeps the engine.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Plugin instances alive at once (pool size); requests beyond it wait.
    pub max_instances: u32,
    /// KiB of each instance's memory kept resident between calls. Absent: 4096 where
    /// Linux's PAGEMAP_SCAN is available (only dirtied pages are reset), else 0
    /// (reset by madvise).
    pub keep_resident_kib: Option<u32>,
    /// The wagate binary plugins are compiled by, in a child process (`wagate serve`
    /// sets its own path); `None`: in this process. Compiling (Cranelift) leaves about
    /// a hundred MiB of freed memory in malloc's arenas that `malloc_trim` cannot give
    /// back (it is interleaved with live data); a child returns all of it when it exits.
    #[serde(skip)]
    pub compile_with: Option<std::path::PathBuf>,
    /// Auth outcomes kept per mount for reuse, at most (see `plugin::auth_cache`); 0
    /// runs the auth plugins on every request. Unlike the engine sizing above, applied
    /// at every load: a reload builds the mounts, and their caches, anew.
    pub auth_cache_entries: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            max_instances: 256,
            keep_resident_kib: None,
            compile_with: None,
            auth_cache_entries: 4096,
        }
    }
}

impl PluginsConfig {
    /// Read the `[plugins]` table of a wagate.toml (empty when absent), remembering the
    /// file for reloads.
    pub fn from_wagate_toml(path: &std::path::Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let table: toml::Table =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let mut cfg = match table.get("plugins") {
            Some(v) => v
                .clone()
                .try_into::<PluginsConfig>()
                .with_context(|| format!("parsing [plugins] of {}", path.display()))?,
            None => PluginsConfig::default(),
        };
        cfg.source = Some(path.to_path_buf());
        cfg.resolve_paths_relative_to(path.parent().unwrap_or(std::path::Path::new(".")));
        Ok(cfg)
    }

    /// Make relative file-plugin paths relative to `base` (the config file's folder).
    pub fn resolve_paths_relative_to(&mut self, base: &std::path::Path) {
        for f in &mut self.file {
            if f.manifest.is_relative() {
                f.manifest = base.join(&f.manifest);
            }
            if let Some(w) = &mut f.wasm
                && w.is_relative()
            {
                *w = base.join(&*w);
            }
        }
    }
}

impl MountConfig {
    /// Check the prefix's shape.
    pub fn validate(&self) -> anyhow::Result<()> {
        check_prefix(&self.prefix)
    }

    /// Whether `path` is under this mount.
    pub fn matches(&self, path: &str) -> bool {
        prefix_matches(&self.prefix, path)
    }
}

/// Check a mount prefix's shape: `/` or `/segment[/segment...]`, no trailing slash.
pub fn check_prefix(p: &str) -> anyhow::Result<()> {
    ensure!(p.starts_with('/'), "mount prefix `{p}` must start with `/`");
    ensure!(
        p == "/" || !p.ends_with('/'),
        "mount prefix `{p}` must not end with `/`"
    );
    ensure!(
        !p.contains("//") && !p.contains('?') && !p.contains('#'),
        "mount prefix `{p}` is malformed"
    );
    Ok(())
}

/// `/api` matches `/api`, `/api/` and `/api/...`, not `/apix`; `/` matches everything.
pub fn prefix_matches(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert!(prefix_matches("/api", "/api"));
        assert!(prefix_matches("/api", "/api/x"));
        assert!(!prefix_matches("/api", "/apix"));
        assert!(prefix_matches("/", "/anything"));
    }

    #[test]
    fn parses_table() {
        let cfg: PluginsConfig = toml::from_str(
            r#"
            bundled = ["probe"]
            [[file]]
            manifest = "p/plugin.toml"
            [settings.probe]
            config = { a = 1 }
            deadline_ms = 5
            [[mount]]
            prefix = "/p"
            dialect = "probe"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.mount.unwrap()[0].auth.len(), 0);
        assert_eq!(cfg.settings["probe"].deadline_ms, Some(5));
        assert!(toml::from_str::<PluginsConfig>("nope = 1").is_err());
    }
}
