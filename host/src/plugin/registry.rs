//! Loading: manifests + wasm -> compiled, grant-checked, pre-instantiated plugins, and
//! the mount table over them. A [`PluginSet`] is immutable; reload builds a new one and
//! swaps it in whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail, ensure};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::bundled::BUNDLED;
use super::cache::{ChildCompiler, CodeCache};
use super::compat::{AuthPre, Contract, DialectPre, SinkPre};
use super::config::{MountConfig, PluginsConfig, RuntimeConfig, StreamRoute, prefix_matches};
use super::engine::PluginEngine;
use super::grants::{self, PluginShared};
use super::manifest::{Grant, Manifest, World, value_string};
use super::metrics::Metrics;
use super::state::{AuthCall, DialectCall, SinkCall};

/// The contract version this host speaks (`package wagate:plugin@...` in `wit/`).
pub const CONTRACT_VERSION: &str = "0.2.0";

/// Engine, linker, code cache and the instance pool's gate: built once per host.
pub struct Runtime {
    /// The engine and its epoch ticker.
    pub engine: PluginEngine,
    /// WASI (empty context) and every wagate interface, one linker per world's store
    /// data.
    pub linkers: Linkers,
    /// Compiled code cache.
    pub cache: CodeCache,
    /// The plugins' host-kept caches (`cache` grant), by plugin name.
    pub caches: super::grants::cache::Caches,
    /// One permit per pooled instance slot: calls wait here instead of failing when
    /// the pool is full.
    pub permits: Arc<Semaphore>,
}

impl Runtime {
    /// Build the engine and linker.
    pub fn new(cfg: &RuntimeConfig, cache_dir: &Path) -> anyhow::Result<Self> {
        let max_instances = cfg.max_instances;
        let keep_resident = cfg.keep_resident_kib.map(|k| (k as usize) << 10);
        let engine = PluginEngine::new(max_instances, keep_resident)?;
        let linkers = Linkers::new(engine.engine()).context("linking host interfaces")?;
        let compiler = cfg.compile_with.clone().map(|exe| ChildCompiler {
            exe,
            max_instances,
            keep_resident,
        });
        Ok(Self {
            engine,
            linkers,
            cache: CodeCache::new(cache_dir, compiler)?,
            caches: Default::default(),
            permits: Arc::new(Semaphore::new(max_instances.max(1) as usize)),
        })
    }
}

/// The host interfaces linked for each world's store data.
pub struct Linkers {
    /// For `authenticate` calls.
    pub auth: Linker<AuthCall>,
    /// For `handle`, `render-event` and `openapi` calls.
    pub dialect: Linker<DialectCall>,
    /// For `deliver` calls.
    pub sink: Linker<SinkCall>,
}

impl Linkers {
    /// Link every interface for each world, in the current contract and in every
    /// older one this host still serves (`compat`).
    pub fn new(engine: &wasmtime::Engine) -> anyhow::Result<Self> {
        let mut auth = Linker::new(engine);
        grants::add_to_linker(&mut auth)?;
        super::compat::add_to_linker(&mut auth)?;
        let mut dialect = Linker::new(engine);
        grants::add_to_linker(&mut dialect)?;
        super::compat::add_to_linker(&mut dialect)?;
        let mut sink = Linker::new(engine);
        grants::add_to_linker(&mut sink)?;
        super::compat::add_to_linker(&mut sink)?;
        Ok(Self {
            auth,
            dialect,
            sink,
        })
    }
}

/// One loaded plugin: its effective manifest and one `InstancePre` per world it
/// implements.
pub struct LoadedPlugin {
    /// Name, grants, configuration and counters shared by its calls.
    pub shared: Arc<PluginShared>,
    /// The effective manifest (deployment settings applied).
    pub manifest: Manifest,
    /// Hex sha256 of its wasm.
    pub sha256: String,
    /// `bundled` or the wasm's path.
    pub origin: String,
    /// The component's imports.
    pub imports: Vec<String>,
    /// The contract version it was built against.
    pub contract: Contract,
    /// Pre-instantiated `auth` world.
    pub auth: Option<AuthPre<AuthCall>>,
    /// Pre-instantiated `dialect` world.
    pub dialect: Option<DialectPre<DialectCall>>,
    /// Pre-instantiated `sink` world.
    pub sink: Option<SinkPre<SinkCall>>,
}

/// A mount: path prefix -> auth chain -> dialect.
pub struct Mount {
    /// The path prefix.
    pub prefix: String,
    /// The dialect serving it.
    pub dialect: Arc<LoadedPlugin>,
    /// Auth plugins, in order.
    pub auth: Vec<Arc<LoadedPlugin>>,
    /// Outcomes of `auth` kept for reuse, when every one of them allows it.
    pub auth_cache: Option<super::auth_cache::AuthCache>,
}

/// An immutable set of loaded plugins and the mount table over them.
pub struct PluginSet {
    /// By name.
    pub plugins: BTreeMap<String, Arc<LoadedPlugin>>,
    /// Longest prefix first.
    pub mounts: Vec<Mount>,
    /// Names of the plugins that export `sink` (what integrations may name).
    pub sinks: Arc<std::collections::BTreeSet<String>>,
    /// The stream routes the mounted dialects declare (`default_streams`).
    pub default_streams: Arc<Vec<StreamRoute>>,
}

impl PluginSet {
    /// The credential kinds the loaded plugins declare.
    pub fn credential_kinds(&self) -> Vec<crate::core::records::CredentialKindSpec> {
        self.plugins
            .values()
            .flat_map(|p| p.manifest.credential_kind_specs())
            .collect()
    }

    /// The position in `mounts` of the mount with the longest prefix matching `path`.
    pub fn route_index(&self, path: &str) -> Option<usize> {
        self.mounts
            .iter()
            .position(|m| prefix_matches(&m.prefix, path))
    }

    /// The loaded plugin `name` and its dialect export, or why there is none.
    pub fn dialect(
        &self,
        name: &str,
    ) -> anyhow::Result<(&Arc<LoadedPlugin>, &DialectPre<DialectCall>)> {
        let plugin = self
            .plugins
            .get(name)
            .with_context(|| format!("no plugin named `{name}` is loaded"))?;
        let pre = plugin
            .dialect
            .as_ref()
            .with_context(|| format!("plugin `{name}` is not a dialect"))?;
        Ok((plugin, pre))
    }
}

/// A plugin to load: manifest and wasm, from the bundle or a file.
struct Source {
    manifest: Manifest,
    wasm: Vec<u8>,
    sha256: String,
    origin: String,
}

/// Hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Load every plugin the config names and build the mount table.
pub fn build_set(
    rt: &Runtime,
    metrics: &Metrics,
    cfg: &PluginsConfig,
) -> anyhow::Result<PluginSet> {
    let mut sources: BTreeMap<String, Source> = BTreeMap::new();

    // Bundled plugins.
    let mut bundled_names = Vec::new();
    for b in BUNDLED {
        let manifest = Manifest::parse(b.manifest)
            .with_context(|| format!("bundled plugin `{}`: plugin.toml", b.package))?;
        bundled_names.push(manifest.name.clone());
        let wanted = cfg
            .bundled
            .as_ref()
            .is_none_or(|names| names.contains(&manifest.name));
        if wanted {
            let src = Source {
                wasm: b.wasm.to_vec(),
                sha256: b.sha256.to_string(),
                origin: "bundled".into(),
                manifest,
            };
            sources.insert(src.manifest.name.clone(), src);
        }
    }
    if let Some(names) = &cfg.bundled {
        for n in names {
            ensure!(
                bundled_names.contains(n),
                "[plugins].bundled names `{n}`, which is not bundled (bundled: {})",
                bundled_names.join(", ")
            );
        }
    }

    // File plugins replace bundled ones of the same name.
    let mut from_files = Vec::new();
    for f in &cfg.file {
        let src = read_file_plugin(&f.manifest, f.wasm.as_deref())?;
        let name = src.manifest.name.clone();
        ensure!(
            !from_files.contains(&name),
            "two [[plugins.file]] entries are named `{name}`"
        );
        from_files.push(name.clone());
        sources.insert(name, src);
    }

    // Deployment settings.
    for (name, s) in &cfg.settings {
        let Some(src) = sources.get_mut(name) else {
            bail!("[plugins.settings.{name}]: no plugin named `{name}` is loaded");
        };
        let m = &mut src.manifest;
        for (k, v) in &s.config {
            m.config.insert(k.clone(), v.clone());
        }
        if let Some(hosts) = &s.http_out_hosts {
            m.grants.http_out.hosts = hosts.clone();
        }
        if let Some(mib) = s.memory_mib {
            m.grants.memory_mib = mib;
        }
        if let Some(ms) = s.deadline_ms {
            m.grants.deadline_ms = ms;
        }
        if let Some(ms) = s.core_timeout_ms {
            m.grants.core_timeout_ms = ms;
        }
        m.validate()
            .with_context(|| format!("[plugins.settings.{name}]"))?;
    }

    // Everything not compiled yet, at once (in a child process: see `cache`).
    rt.cache.warm(
        rt.engine.engine(),
        sources
            .values()
            .map(|s| (s.wasm.as_slice(), s.sha256.as_str())),
    );
    let mut plugins = BTreeMap::new();
    for (name, src) in sources {
        let origin = src.origin.clone();
        let loaded = load_plugin(rt, metrics, src)
            .with_context(|| format!("loading plugin `{name}` ({origin})"))?;
        plugins.insert(name, Arc::new(loaded));
    }

    let mounts = build_mounts(
        &plugins,
        cfg.mount.as_deref(),
        cfg.runtime.auth_cache_entries,
    )?;
    let sinks = Arc::new(
        plugins
            .values()
            .filter(|p| p.sink.is_some())
            .map(|p| p.manifest.name.clone())
            .collect(),
    );
    // A dialect's streams are authorised by its mount's auth plugins: only mounted
    // dialects have any.
    let mut default_streams: Vec<StreamRoute> = Vec::new();
    for m in &mounts {
        for path in &m.dialect.manifest.default_streams {
            if !default_streams.iter().any(|r| &r.path == path) {
                default_streams.push(StreamRoute {
                    path: path.clone(),
                    dialect: m.dialect.manifest.name.clone(),
                });
            }
        }
    }
    Ok(PluginSet {
        plugins,
        mounts,
        sinks,
        default_streams: Arc::new(default_streams),
    })
}

/// The credential kinds the plugins of `cfg` declare, from their manifests alone
/// (nothing is compiled): what the operator CLI mints with while the gateway is
/// stopped.
pub fn declared_credential_kinds(
    cfg: &PluginsConfig,
) -> anyhow::Result<Vec<crate::core::records::CredentialKindSpec>> {
    let mut manifests: BTreeMap<String, Manifest> = BTreeMap::new();
    for b in BUNDLED {
        let m = Manifest::parse(b.manifest)
            .with_context(|| format!("bundled plugin `{}`: plugin.toml", b.package))?;
        if cfg
            .bundled
            .as_ref()
            .is_none_or(|names| names.contains(&m.name))
        {
            manifests.insert(m.name.clone(), m);
        }
    }
    for f in &cfg.file {
        let text = std::fs::read_to_string(&f.manifest)
            .with_context(|| format!("reading plugin manifest {}", f.manifest.display()))?;
        let m = Manifest::parse(&text).with_context(|| format!("in {}", f.manifest.display()))?;
        manifests.insert(m.name.clone(), m);
    }
    Ok(manifests
        .values()
        .flat_map(Manifest::credential_kind_specs)
        .collect())
}

fn read_file_plugin(manifest_path: &Path, wasm_override: Option<&Path>) -> anyhow::Result<Source> {
    let text = std::fs::read_to_string(manifest_path)
        .with_context(|| format!("reading plugin manifest {}", manifest_path.display()))?;
    let manifest =
        Manifest::parse(&text).with_context(|| format!("in {}", manifest_path.display()))?;
    let base = manifest_path.parent().unwrap_or(Path::new("."));
    let wasm_path: PathBuf = match (wasm_override, &manifest.wasm) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(p)) => base.join(p),
        (None, None) => base.join(format!("{}.wasm", manifest.name)),
    };
    let wasm = std::fs::read(&wasm_path)
        .with_context(|| format!("reading plugin wasm {}", wasm_path.display()))?;
    let sha256 = sha256_hex(&wasm);
    if let Some(expected) = &manifest.sha256 {
        ensure!(
            expected.eq_ignore_ascii_case(&sha256),
            "{} has sha256 {sha256}, but its manifest pins {expected}",
            wasm_path.display()
        );
    }
    Ok(Source {
        manifest,
        wasm,
        sha256,
        origin: wasm_path.display().to_string(),
    })
}

fn load_plugin(rt: &Runtime, metrics: &Metrics, src: Source) -> anyhow::Result<LoadedPlugin> {
    let Source {
        manifest,
        wasm,
        sha256,
        origin,
    } = src;
    if let Some(pinned) = &manifest.sha256 {
        ensure!(
            pinned.eq_ignore_ascii_case(&sha256),
            "wasm sha256 {sha256} does not match the manifest's {pinned}"
        );
    }
    let engine = rt.engine.engine();
    let component = rt.cache.load(engine, &wasm, &sha256)?;
    let imports = check_imports(engine, &component, &manifest)?;
    let contract = Contract::of_component(engine, &component)?;

    let mut auth = None;
    let mut dialect = None;
    let mut sink = None;
    for world in &manifest.worlds {
        let ctx = || {
            format!(
                "the manifest declares world `{}`, but the component's exports do not match it",
                world.as_str()
            )
        };
        match world {
            World::Auth => {
                let pre = instantiate_pre(&rt.linkers.auth, engine, &component, &manifest.name)?;
                auth = Some(
                    AuthPre::new(contract, pre)
                        .map_err(anyhow::Error::from)
                        .with_context(ctx)?,
                )
            }
            World::Dialect => {
                let pre = instantiate_pre(&rt.linkers.dialect, engine, &component, &manifest.name)?;
                dialect = Some(
                    DialectPre::new(contract, pre)
                        .map_err(anyhow::Error::from)
                        .with_context(ctx)?,
                )
            }
            World::Sink => {
                let pre = instantiate_pre(&rt.linkers.sink, engine, &component, &manifest.name)?;
                sink = Some(
                    SinkPre::new(contract, pre)
                        .map_err(anyhow::Error::from)
                        .with_context(ctx)?,
                )
            }
        }
    }

    let config = manifest
        .config
        .iter()
        .map(|(k, v)| (k.clone(), value_string(v)))
        .collect();
    let shared = Arc::new(PluginShared::new(
        &manifest,
        config,
        metrics.plugin(&manifest.name),
        rt.caches.plugin(&manifest.name),
    ));
    tracing::info!(
        plugin = %manifest.name, version = %manifest.version, %origin, sha256 = %&sha256[..12],
        contract = contract.version(),
        worlds = ?manifest.worlds.iter().map(|w| w.as_str()).collect::<Vec<_>>(),
        "plugin loaded"
    );
    Ok(LoadedPlugin {
        shared,
        manifest,
        sha256,
        origin,
        imports,
        contract,
        auth,
        dialect,
        sink,
    })
}

/// Check every import of `component` against the manifest's grants: wagate interfaces
/// must be granted (and of this contract version), WASI is linked to an empty context,
/// anything else is refused. Returns the import names.
pub fn check_imports(
    engine: &Engine,
    component: &Component,
    manifest: &Manifest,
) -> anyhow::Result<Vec<String>> {
    let ty = component.component_type();
    let mut names = Vec::new();
    for (name, _) in ty.imports(engine) {
        names.push(name.to_string());
        if name.starts_with("wasi:") {
            continue;
        }
        let Some(rest) = name.strip_prefix("wagate:plugin/") else {
            bail!(
                "the component imports `{name}`, which is neither part of the wagate contract nor WASI"
            );
        };
        let (iface, version) = rest.split_once('@').unwrap_or((rest, ""));
        ensure!(
            version.is_empty() || Contract::of_version(version).is_some(),
            "the component imports `{name}`: built against contract {version}, this host serves {}",
            super::compat::supported()
        );
        match Grant::from_import(name) {
            Some(g) if manifest.grants.allows(g) => {}
            Some(g) => bail!(
                "the component imports `{name}`, which its manifest does not grant (add \"{}\" to [grants].imports to allow it)",
                g.interface()
            ),
            None if iface == "types" => {}
            None => bail!("the component imports `{name}`, which this host does not provide"),
        }
    }
    Ok(names)
}

/// The WASI 0.2 packages wasmtime-wasi links (to an empty context).
const PROVIDED_WASI: &[&str] = &[
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:io/",
    "wasi:random/",
    "wasi:sockets/",
];

/// Whether the host links this WASI import (semver-compatible 0.2.x).
fn wasi_provided(name: &str) -> bool {
    PROVIDED_WASI.iter().any(|p| name.starts_with(p))
        && name
            .split_once('@')
            .is_none_or(|(_, v)| v.starts_with("0.2."))
}

/// Link `component` for one world's store data. WASI interfaces the host does not
/// provide (e.g. wasi:http) are linked as functions that trap when called.
pub(crate) fn instantiate_pre<T: 'static>(
    linker: &Linker<T>,
    engine: &Engine,
    component: &Component,
    plugin: &str,
) -> anyhow::Result<wasmtime::component::InstancePre<T>> {
    match linker.instantiate_pre(component) {
        Ok(pre) => Ok(pre),
        Err(first) => {
            let mut linker = linker.clone();
            let stubbed = stub_unknown_wasi(&mut linker, engine, component)?;
            if stubbed.is_empty() {
                return Err(anyhow::Error::from(first).context("linking the component"));
            }
            tracing::debug!(plugin, interfaces = ?stubbed, "WASI interfaces not provided to plugins are linked as traps");
            linker
                .instantiate_pre(component)
                .map_err(anyhow::Error::from)
                .context("linking the component")
        }
    }
}

/// A stand-in for resources of WASI interfaces plugins do not get.
struct Unavailable;

/// Define every function of the WASI imports the host does not provide as a trap
/// (their resources as opaque host resources). Returns the stubbed interfaces.
/// `Linker::define_unknown_imports_as_traps` is not used because it would also shadow
/// the provided interfaces that only match by semver (0.2.6 vs 0.2.12).
pub fn stub_unknown_wasi<T: 'static>(
    linker: &mut Linker<T>,
    engine: &Engine,
    component: &Component,
) -> anyhow::Result<Vec<String>> {
    use wasmtime::component::ResourceType;
    use wasmtime::component::types::ComponentItem;
    let mut stubbed = Vec::new();
    for (name, item) in component.component_type().imports(engine) {
        if !name.starts_with("wasi:") || wasi_provided(name) {
            continue;
        }
        let ComponentItem::ComponentInstance(inst) = item.ty else {
            bail!("the component imports `{name}`, which is not an interface");
        };
        let mut li = linker.instance(name).map_err(anyhow::Error::from)?;
        for (item_name, export) in inst.exports(engine) {
            match export.ty {
                ComponentItem::ComponentFunc(_) => {
                    let full = format!("{name}#{item_name}");
                    li.func_new(item_name, move |_, _, _, _| {
                        Err(wasmtime::format_err!(
                            "`{full}` is not available to plugins"
                        ))
                    })
                    .map_err(anyhow::Error::from)?;
                }
                ComponentItem::Resource(_) => {
                    li.resource(
                        item_name,
                        ResourceType::host::<Unavailable>(),
                        |_, _| Ok(()),
                    )
                    .map_err(anyhow::Error::from)?;
                }
                _ => {}
            }
        }
        stubbed.push(name.to_string());
    }
    Ok(stubbed)
}

/// The mounts the loaded dialects declare (`default_mount` in their manifests).
fn default_mounts(
    plugins: &BTreeMap<String, Arc<LoadedPlugin>>,
) -> anyhow::Result<Vec<MountConfig>> {
    let mut table: Vec<MountConfig> = Vec::new();
    for (name, p) in plugins {
        let Some(prefix) = &p.manifest.default_mount else {
            continue;
        };
        if p.dialect.is_none() {
            continue;
        }
        if let Some(other) = table.iter().find(|m| &m.prefix == prefix) {
            bail!(
                "dialects `{}` and `{name}` both declare the default mount `{prefix}`; give a [[plugins.mount]] table",
                other.dialect
            );
        }
        table.push(MountConfig {
            prefix: prefix.clone(),
            dialect: name.clone(),
            auth: p
                .manifest
                .default_auth
                .iter()
                .filter(|a| plugins.contains_key(*a))
                .cloned()
                .collect(),
        });
    }
    Ok(table)
}

fn build_mounts(
    plugins: &BTreeMap<String, Arc<LoadedPlugin>>,
    configured: Option<&[MountConfig]>,
    auth_cache_entries: usize,
) -> anyhow::Result<Vec<Mount>> {
    let table: Vec<MountConfig> = match configured {
        Some(m) => m.to_vec(),
        None => default_mounts(plugins)?,
    };
    let mut mounts = Vec::new();
    for m in table {
        m.validate()?;
        ensure!(
            !mounts.iter().any(|x: &Mount| x.prefix == m.prefix),
            "two mounts have the prefix `{}`",
            m.prefix
        );
        let dialect = plugins.get(&m.dialect).with_context(|| {
            format!(
                "mount `{}`: no plugin named `{}` is loaded",
                m.prefix, m.dialect
            )
        })?;
        ensure!(
            dialect.dialect.is_some(),
            "mount `{}`: plugin `{}` is not a dialect",
            m.prefix,
            m.dialect
        );
        let mut auth = Vec::new();
        for a in &m.auth {
            let p = plugins.get(a).with_context(|| {
                format!("mount `{}`: no auth plugin named `{a}` is loaded", m.prefix)
            })?;
            ensure!(
                p.auth.is_some(),
                "mount `{}`: plugin `{a}` is not an auth plugin",
                m.prefix
            );
            auth.push(p.clone());
        }
        let decls: Vec<_> = auth
            .iter()
            .map(|a| a.manifest.auth_cache.as_ref())
            .collect();
        mounts.push(Mount {
            prefix: m.prefix.clone(),
            dialect: dialect.clone(),
            auth_cache: super::auth_cache::AuthCache::for_chain(&decls, auth_cache_entries),
            auth,
        });
    }
    mounts.sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));
    Ok(mounts)
}
