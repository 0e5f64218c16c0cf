//! The plugin runtime: wasmtime engine, manifests and grants, limits, per-world
//! bindings, the mount table and hot reload.
//!
//! Per request: route by the longest mount prefix, run the mount's auth plugins in
//! order (allow stops, deny answers, skip goes on), then the dialect with the resolved
//! principal bound to its `core` calls. Every call gets a fresh store from the plugin's
//! cached `InstancePre` (nothing leaks between callers), a memory cap and a guest-time
//! deadline. A trap, deadline, memory cap or malformed output becomes that request's
//! 5xx (in the dialect's error shape), a log line and a metric, never a host crash.

pub mod attachments;
pub mod auth_cache;
pub mod bindings;
pub mod bundled;
pub mod cache;
mod check;
pub mod compat;
pub mod config;
pub mod convert;
pub mod engine;
pub mod grants;
pub mod limits;
pub mod manifest;
pub mod metrics;
pub mod registry;
pub mod state;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::Context;
use arc_swap::ArcSwap;
use bytes::Bytes;
use wasmtime::Store;

use crate::core::model::{Event, Principal};
use bindings::auth::AuthOutcome;
use bindings::types as wit;
pub use bindings::types::RenderTarget;
pub use check::{check_component, check_component_with};
pub use config::{MountConfig, PluginsConfig};
use manifest::ErrorShape;
use metrics::{FailureKind, Metrics};
use registry::{LoadedPlugin, PluginSet, Runtime};
use state::{AuthCall, CallBase, CallState, DialectCall, SinkCall};

/// The loaded plugins and their mounts; cheap to clone (all clones share one set).
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Arc<Runtime>,
    core: Arc<crate::core::Core>,
    set: ArcSwap<PluginSet>,
    config: std::sync::Mutex<PluginsConfig>,
    metrics: Arc<Metrics>,
    reload_lock: tokio::sync::Mutex<()>,
}

/// Why one plugin call failed.
#[derive(Debug)]
pub struct PluginFailure {
    /// The plugin.
    pub plugin: String,
    /// What went wrong.
    pub kind: FailureKind,
    /// Human-readable detail (the trap, the limit).
    pub message: String,
    /// What the plugin wrote to stderr (a panic message, typically).
    pub stderr: String,
}

impl std::fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "plugin `{}` failed ({}): {}",
            self.plugin,
            self.kind.as_str(),
            self.message
        )?;
        if !self.stderr.is_empty() {
            write!(f, " [stderr: {}]", self.stderr)?;
        }
        Ok(())
    }
}

impl std::error::Error for PluginFailure {}

/// The result of a sink's `deliver`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Every event was delivered.
    Ok,
    /// Retry the batch after this many milliseconds.
    RetryAfter(u64),
    /// The batch can never be delivered.
    Permanent(String),
}

/// A summary of one loaded plugin.
#[derive(Clone, Debug)]
pub struct PluginInfo {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The worlds it implements.
    pub worlds: Vec<&'static str>,
    /// Hex sha256 of its wasm.
    pub sha256: String,
    /// `bundled` or the wasm's path.
    pub origin: String,
}

impl PluginHost {
    /// Load bundled plugins + those in the deployment config, build the mount table.
    pub async fn load(
        cfg: &PluginsConfig,
        core: Arc<crate::core::Core>,
        cache_dir: &Path,
    ) -> anyhow::Result<Self> {
        let runtime = Arc::new(Runtime::new(&cfg.runtime, cache_dir)?);
        let metrics = Arc::new(Metrics::default());
        let set = {
            let (rt, m, c) = (runtime.clone(), metrics.clone(), cfg.clone());
            tokio::task::spawn_blocking(move || registry::build_set(&rt, &m, &c))
                .await
                .context("plugin loader task")??
        };
        core.declare_credential_kinds(set.credential_kinds())
            .context("the plugins' credential kinds")?;
        Ok(Self {
            inner: Arc::new(Inner {
                runtime,
                core,
                set: ArcSwap::from_pointee(set),
                config: std::sync::Mutex::new(cfg.clone()),
                metrics,
                reload_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The names of the loaded sink plugins (what an integration may name).
    pub fn sinks(&self) -> Arc<std::collections::BTreeSet<String>> {
        self.inner.set.load().sinks.clone()
    }

    /// The stream routes the mounted dialects declare (`default_streams`).
    pub fn default_streams(&self) -> Arc<Vec<config::StreamRoute>> {
        self.inner.set.load().default_streams.clone()
    }

    /// The keys the loaded plugins ask the host to register from the environment
    /// (`[[env_credentials]]`), with the plugin that declared each.
    pub fn env_credentials(&self) -> Vec<(String, manifest::EnvCredential)> {
        self.inner
            .set
            .load()
            .plugins
            .values()
            .flat_map(|p| {
                p.manifest
                    .env_credentials
                    .iter()
                    .map(|e| (p.manifest.name.clone(), e.clone()))
            })
            .collect()
    }

    /// The `[cors_env]` declarations of the mounted dialects, with each dialect's name
    /// (a loaded but unmounted dialect serves nothing, so it sets no policy).
    pub fn cors_env(&self) -> Vec<(String, manifest::CorsEnv)> {
        let set = self.inner.set.load();
        let mut out: Vec<(String, manifest::CorsEnv)> = Vec::new();
        for m in &set.mounts {
            let manifest = &m.dialect.manifest;
            if manifest.cors_env != manifest::CorsEnv::default()
                && !out.iter().any(|(n, _)| n == &manifest.name)
            {
                out.push((manifest.name.clone(), manifest.cors_env.clone()));
            }
        }
        out
    }

    /// The mounted dialects that declare `[socketio]`, with each one's declaration
    /// (the first one is the one served: there is one `/socket.io/`).
    pub fn socketio_decls(&self) -> Vec<(String, manifest::SocketIoDecl)> {
        let set = self.inner.set.load();
        let mut out: Vec<(String, manifest::SocketIoDecl)> = Vec::new();
        for m in &set.mounts {
            let manifest = &m.dialect.manifest;
            if let Some(decl) = &manifest.socketio
                && !out.iter().any(|(n, _)| n == &manifest.name)
            {
                out.push((manifest.name.clone(), decl.clone()));
            }
        }
        out
    }

    /// The `[broker_env]` declarations of the mounted dialects: (dialect, broker name,
    /// variables). An unmounted dialect configures no broker.
    pub fn broker_env(&self) -> Vec<(String, String, manifest::BrokerEnv)> {
        let set = self.inner.set.load();
        let mut out: Vec<(String, String, manifest::BrokerEnv)> = Vec::new();
        for m in &set.mounts {
            let manifest = &m.dialect.manifest;
            for (broker, env) in &manifest.broker_env {
                if !out
                    .iter()
                    .any(|(d, b, _)| d == &manifest.name && b == broker)
                {
                    out.push((manifest.name.clone(), broker.clone(), env.clone()));
                }
            }
        }
        out
    }

    /// Route by longest mount prefix; None if no mount matches (server then 404s).
    /// Runs the mount's auth plugins in order (allow/deny/skip), then the dialect.
    pub async fn handle(&self, req: http::Request<Bytes>) -> Option<http::Response<Bytes>> {
        let (parts, body) = req.into_parts();
        match self.admit(&parts).await? {
            Ok(admitted) => Some(self.serve(admitted, body).await),
            Err(denied) => Some(denied),
        }
    }

    /// The first half of [`handle`], on the request head alone: the mount by longest
    /// prefix (None: no mount matches) and its auth chain. The server reads the body
    /// only for a request admitted here, up to the cap [`Admitted::uploads`] decides.
    pub async fn admit(
        &self,
        head: &http::request::Parts,
    ) -> Option<Result<Admitted, http::Response<Bytes>>> {
        // In-flight requests keep the set they started with, across reloads.
        let set = self.inner.set.load_full();
        let mount = set.route_index(head.uri.path())?;
        let req = head_request(&set.mounts[mount], head);
        Some(match self.run_auth(&set.mounts[mount], &req).await {
            Ok(caller) => Ok(Admitted {
                set,
                mount,
                caller,
                req,
            }),
            Err(denied) => Err(denied),
        })
    }

    /// The second half of [`handle`]: the admitted request's dialect call with `body`.
    pub async fn serve(&self, admitted: Admitted, body: Bytes) -> http::Response<Bytes> {
        let Admitted {
            set,
            mount,
            caller,
            mut req,
        } = admitted;
        req.body = body.to_vec();
        let dialect = &set.mounts[mount].dialect;
        let attachments = attachments::Attachments::default();
        let resp = match self
            .call_dialect(dialect, caller, &req, set.sinks.clone(), &attachments)
            .await
        {
            Ok(resp) => self.to_response(dialect, resp),
            Err(f) => Err(f),
        };
        match resp {
            Ok(resp) if !attachments.is_empty() => splice_attachments(resp, &attachments),
            Ok(resp) => resp,
            Err(f) => self.failure(&dialect.shared.errors, f),
        }
    }

    /// The 413 an admitted request's too-large body gets, in its dialect's shape.
    pub fn too_large(&self, admitted: &Admitted, message: &str) -> http::Response<Bytes> {
        let manifest = &admitted.set.mounts[admitted.mount].dialect.manifest;
        let shape = ErrorShape {
            status: 413,
            body: manifest
                .uploads
                .too_large_body
                .clone()
                .unwrap_or_else(|| manifest.errors.body.clone()),
            content_type: manifest.errors.content_type.clone(),
        };
        http::Response::builder()
            .status(http::StatusCode::PAYLOAD_TOO_LARGE)
            .header(http::header::CONTENT_TYPE, shape.content_type.as_str())
            .body(Bytes::from(shape.render("payload_too_large", message)))
            .expect("valid 413")
    }

    /// Runs the auth plugins of the mount that serves `dialect` on a request head, as
    /// `handle` would (for routes the host serves on a dialect's behalf, such as event
    /// streams). `Ok(None)`: every scheme skipped; `Err`: the response to answer with.
    pub async fn authenticate_for(
        &self,
        dialect: &str,
        head: &http::request::Parts,
    ) -> Result<Option<Principal>, http::Response<Bytes>> {
        let set = self.inner.set.load_full();
        let Some(mount) = set.mounts.iter().find(|m| m.dialect.shared.name == dialect) else {
            return Err(http::Response::builder()
                .status(404)
                .body(Bytes::from_static(
                    b"{\"error\":{\"code\":\"not_found\",\"message\":\"dialect not mounted\"}}",
                ))
                .expect("static response"));
        };
        self.run_auth(mount, &head_request(mount, head)).await
    }

    /// The mount's auth plugins in order: the first `allow` names the caller, a `deny`
    /// is the answer, all `skip`: no caller. An `allow` the mount may reuse (see
    /// [`auth_cache`]) answers the same credentials again without running the plugins.
    async fn run_auth(
        &self,
        mount: &registry::Mount,
        req: &wit::HttpRequest,
    ) -> Result<Option<Principal>, http::Response<Bytes>> {
        // Read before the plugins run: a credential change committed while they run
        // makes what they derive stale at once.
        let reuse = mount
            .auth_cache
            .as_ref()
            .zip(self.inner.core.store().credential_changes())
            .map(|(cache, changes)| (cache, cache.key(req), changes));
        if let Some((cache, key, changes)) = &reuse
            && let Some(p) = cache.get(key, *changes)
        {
            self.inner
                .metrics
                .auth_reused
                .fetch_add(1, Ordering::Relaxed);
            return Ok(Some(p));
        }
        let errors = &mount.dialect.shared.errors;
        for auth in &mount.auth {
            match self.call_auth(auth, req).await {
                Ok((AuthOutcome::Allow(p), resolved)) => {
                    let mut p: Principal = p.into();
                    p.may_delete_own_instance =
                        p.instance.is_some() && auth.manifest.instance_tokens_may_delete;
                    if let Some((cache, key, changes)) = reuse
                        && resolved
                    {
                        cache.put(key, p.clone(), changes);
                    }
                    return Ok(Some(p));
                }
                Ok((AuthOutcome::Deny(resp), _)) => {
                    return Err(self
                        .to_response(auth, resp)
                        .unwrap_or_else(|f| self.failure(errors, f)));
                }
                Ok((AuthOutcome::Skip, _)) => {}
                Err(f) => return Err(self.failure(errors, f)),
            }
        }
        Ok(None)
    }

    /// Re-read config + files, swap atomically; on error keep the old set.
    ///
    /// The config is re-read from [`PluginsConfig::source`] when set, else the config
    /// last loaded is reused (plugin files are re-read either way).
    pub async fn reload(&self) -> anyhow::Result<()> {
        let cfg = {
            let current = self
                .inner
                .config
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            match &current.source {
                Some(path) => PluginsConfig::from_wagate_toml(path)?,
                None => current,
            }
        };
        self.reload_with(&cfg).await
    }

    /// Load the plugins of `cfg` and swap them in atomically; on error the old set
    /// keeps serving. In-flight requests finish on the set they started with.
    pub async fn reload_with(&self, cfg: &PluginsConfig) -> anyhow::Result<()> {
        let _one_at_a_time = self.inner.reload_lock.lock().await;
        let started = Instant::now();
        let (rt, m, c) = (
            self.inner.runtime.clone(),
            self.inner.metrics.clone(),
            cfg.clone(),
        );
        let core = self.inner.core.clone();
        let built = tokio::task::spawn_blocking(move || registry::build_set(&rt, &m, &c))
            .await
            .context("plugin loader task")
            .and_then(|r| r)
            .and_then(|set| {
                core.declare_credential_kinds(set.credential_kinds())
                    .context("the plugins' credential kinds")?;
                Ok(set)
            });
        match built {
            Ok(set) => {
                let names: Vec<String> = set.plugins.keys().cloned().collect();
                self.inner.set.store(Arc::new(set));
                *self.inner.config.lock().unwrap_or_else(|e| e.into_inner()) = cfg.clone();
                self.inner
                    .metrics
                    .reloads_ok
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // The old set's compiled code and the compiler's scratch are freed.
                crate::util::release_freed_memory();
                tracing::info!(plugins = ?names, took = ?started.elapsed(), "plugins reloaded");
                Ok(())
            }
            Err(e) => {
                self.inner
                    .metrics
                    .reloads_failed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(error = %format!("{e:#}"), "plugin reload refused; the previous plugins keep serving");
                Err(e.context("plugin reload refused; the previous plugins keep serving"))
            }
        }
    }

    /// Render one event with the named dialect for `target` (webhook bodies, stream
    /// frames, Socket.IO messages); `hook` is the destination a webhook body is for.
    pub async fn render_event(
        &self,
        dialect: &str,
        ev: &Event,
        target: RenderTarget,
        hook: Option<&crate::core::model::Webhook>,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let set = self.inner.set.load_full();
        let (plugin, pre) = set.dialect(dialect)?;
        // The render acts as a read-only caller bound to the event's instance: it may
        // read that instance's stored media and the dialect's own storage of it (to
        // inline media bytes where the dialect's webhooks ask for them, as Evolution's
        // `webhookBase64`), nothing of another instance and nothing that changes.
        let reader = Principal {
            subject: format!("render:{}", ev.id),
            org: ev.org.clone(),
            caps: crate::core::model::Capabilities {
                read: true,
                send: false,
                manage: false,
                admin: false,
            },
            instance: Some(ev.instance_id.clone()),
            may_delete_own_instance: false,
        };
        let ev: wit::Event = ev.clone().into();
        let hook: Option<wit::Webhook> = hook.cloned().map(Into::into);
        let out = self
            .call(
                self.dialect_call(plugin, Some(reader), Arc::default(), None),
                async |store| {
                    pre.render_event(&mut *store, &ev, target, hook.as_ref())
                        .await
                },
            )
            .await?;
        Ok(out)
    }

    /// The named dialect's OpenAPI document.
    pub async fn openapi(&self, dialect: &str) -> anyhow::Result<String> {
        let set = self.inner.set.load_full();
        let (plugin, pre) = set.dialect(dialect)?;
        let out = self
            .call(
                self.dialect_call(plugin, None, Arc::default(), None),
                async |store| pre.openapi(&mut *store).await,
            )
            .await?;
        Ok(out)
    }

    /// Deliver a batch of rendered events to the named sink plugin; with a destination
    /// (a webhook or an integration), the plugin may reach that destination's host
    /// during this call (with an integration's secret headers added to every request
    /// to it) and its `storage` calls are scoped to the destination's instance.
    pub async fn deliver(
        &self,
        sink: &str,
        destination: Option<&crate::core::model::Webhook>,
        batch: &[(Event, Vec<u8>)],
    ) -> anyhow::Result<Delivery> {
        use bindings::sink::{Delivery as D, Destination, Outgoing};
        let set = self.inner.set.load_full();
        let plugin = set
            .plugins
            .get(sink)
            .with_context(|| format!("no plugin named `{sink}` is loaded"))?;
        let pre = plugin
            .sink
            .as_ref()
            .with_context(|| format!("plugin `{sink}` is not a sink"))?;
        let dest = destination.map(|w| Destination {
            id: w.id.clone(),
            url: w.url.clone(),
            // Stored before set-time validation refused them, framing and X-Wagate-*
            // headers would override the sink's own (its signature, the body length):
            // they never reach a sink.
            headers: w
                .headers
                .iter()
                .filter(|(name, _)| !crate::core::webhooks::is_reserved_header(name))
                .map(|(name, value)| wit::Header {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            // An integration's sink gets no secret value at all: it does not sign, and
            // its API token reaches the wire through http-out only.
            secret: if w.integration.is_some() {
                String::new()
            } else {
                w.secret.clone()
            },
        });
        let dest_origin = destination.and_then(|w| crate::util::Origin::of(&w.url));
        let secret_headers = destination
            .and_then(|w| w.integration.as_ref())
            .map(|i| i.secret_headers.clone())
            .unwrap_or_default();
        let scope = match destination {
            Some(w) => grants::storage::StorageScope::Instance(w.instance_id.clone()),
            None => grants::storage::StorageScope::Nothing,
        };
        let state = SinkCall {
            base: CallBase::new(plugin.shared.clone()),
            storage: grants::storage::StorageCtx {
                core: self.inner.core.clone(),
                scope,
            },
            http_out: grants::http_out::HttpOutCtx {
                destination: dest_origin,
                destination_secret_headers: secret_headers,
            },
        };
        let batch: Vec<Outgoing> = batch
            .iter()
            .map(|(event, body)| Outgoing {
                event: event.clone().into(),
                body: body.clone(),
            })
            .collect();
        let out = self
            .call(state, async |store| {
                pre.deliver(&mut *store, dest.as_ref(), &batch).await
            })
            .await?;
        Ok(match out {
            D::Ok => Delivery::Ok,
            D::RetryAfter(ms) => Delivery::RetryAfter(ms),
            D::Permanent(m) => Delivery::Permanent(m),
        })
    }

    /// Counters of every plugin, in the Prometheus text format (appended to /metrics).
    pub fn metrics_text(&self) -> String {
        self.inner.metrics.render()
    }

    /// A plugin's call counters so far (`None` before its first call).
    pub fn health(&self, name: &str) -> Option<metrics::PluginHealth> {
        self.inner.metrics.health(name)
    }

    /// The loaded plugins.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.inner
            .set
            .load()
            .plugins
            .values()
            .map(|p| PluginInfo {
                name: p.manifest.name.clone(),
                version: p.manifest.version.clone(),
                worlds: p.manifest.worlds.iter().map(|w| w.as_str()).collect(),
                sha256: p.sha256.clone(),
                origin: p.origin.clone(),
            })
            .collect()
    }

    /// The mount table, longest prefix first.
    pub fn mounts(&self) -> Vec<MountConfig> {
        self.inner
            .set
            .load()
            .mounts
            .iter()
            .map(|m| MountConfig {
                prefix: m.prefix.clone(),
                dialect: m.dialect.manifest.name.clone(),
                auth: m.auth.iter().map(|a| a.manifest.name.clone()).collect(),
            })
            .collect()
    }

    /// One auth plugin's outcome, and whether its call resolved a stored credential
    /// through `identity`.
    async fn call_auth(
        &self,
        plugin: &LoadedPlugin,
        req: &wit::HttpRequest,
    ) -> Result<(AuthOutcome, bool), PluginFailure> {
        let pre = plugin.auth.as_ref().expect("mounts only list auth plugins");
        let identity = grants::identity::IdentityCtx::new(self.inner.core.clone());
        let resolved = identity.resolved.clone();
        let state = AuthCall {
            base: CallBase::new(plugin.shared.clone()),
            identity,
            http_out: Default::default(),
        };
        let outcome = self
            .call(state, async |store| {
                pre.authenticate(&mut *store, req).await
            })
            .await?;
        Ok((outcome, resolved.load(Ordering::Relaxed)))
    }

    async fn call_dialect(
        &self,
        plugin: &LoadedPlugin,
        caller: Option<Principal>,
        req: &wit::HttpRequest,
        sinks: Arc<std::collections::BTreeSet<String>>,
        attachments: &attachments::Attachments,
    ) -> Result<wit::HttpResponse, PluginFailure> {
        let pre = plugin.dialect.as_ref().expect("mounts only name dialects");
        let wit_caller: Option<wit::Principal> = caller.clone().map(Into::into);
        let state = self.dialect_call(plugin, caller, sinks, Some(attachments.clone()));
        self.call(state, async |store| {
            pre.handle(&mut *store, req, wit_caller.as_ref()).await
        })
        .await
    }

    /// The store data of a dialect call as `caller` (none: `openapi`); `attachments`
    /// where the call's answer is a response the host splices media into (`handle`).
    fn dialect_call(
        &self,
        plugin: &LoadedPlugin,
        caller: Option<Principal>,
        sinks: Arc<std::collections::BTreeSet<String>>,
        attachments: Option<attachments::Attachments>,
    ) -> DialectCall {
        let core = self.inner.core.clone();
        let scope = match &caller {
            Some(p) => grants::storage::StorageScope::Caller(p.clone()),
            None => grants::storage::StorageScope::Nothing,
        };
        DialectCall {
            base: CallBase::new(plugin.shared.clone()),
            core: grants::core::CoreCtx {
                core: core.clone(),
                principal: caller,
                loaded_sinks: sinks,
                attachments,
            },
            storage: grants::storage::StorageCtx { core, scope },
            http_out: Default::default(),
        }
    }

    /// One call into a fresh store holding `state` (made for one plugin): wait for a
    /// pool slot, set limits, run `f`, classify any failure (and count and log it).
    async fn call<T: CallState, R>(
        &self,
        state: T,
        f: impl AsyncFnOnce(&mut Store<T>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginFailure> {
        let started = Instant::now();
        let _slot = self
            .inner
            .runtime
            .permits
            .acquire()
            .await
            .expect("the pool semaphore is never closed");
        let plugin = state.base_ref().plugin.clone();
        let mut store = Store::new(self.inner.runtime.engine.engine(), state);
        store.limiter(|s| &mut s.base().limiter);
        store.epoch_deadline_callback(limits::on_epoch);
        let ticks = store.data().base_ref().clock.next_ticks();
        store.set_epoch_deadline(ticks);
        let result = f(&mut store).await;
        let counters = &plugin.counters;
        counters.record_call(started.elapsed());
        result.map_err(|e| {
            let data = store.data().base_ref();
            let kind = if data.clock.expired {
                FailureKind::Deadline
            } else if data.limiter.hit.is_some() {
                FailureKind::Memory
            } else if e.downcast_ref::<wasmtime::Trap>().is_some() {
                FailureKind::Trap
            } else if e.to_string().contains("instantiat") {
                FailureKind::Instantiate
            } else {
                FailureKind::Trap
            };
            let message = match kind {
                FailureKind::Deadline => {
                    format!("exceeded its deadline of {} ms", plugin.grants.deadline_ms)
                }
                FailureKind::Memory => format!(
                    "exceeded its memory cap of {} MiB (asked for {} bytes)",
                    plugin.grants.memory_mib,
                    data.limiter.hit.unwrap_or_default()
                ),
                _ => e.root_cause().to_string(),
            };
            let failure =
                PluginFailure { plugin: plugin.name.clone(), kind, message, stderr: data.stderr_text() };
            counters.record_failure(kind);
            tracing::warn!(plugin = %failure.plugin, kind = kind.as_str(), stderr = %failure.stderr, "{}", failure.message);
            failure
        })
    }

    /// Turn a plugin's response into an HTTP response, or a `malformed` failure.
    fn to_response(
        &self,
        plugin: &LoadedPlugin,
        resp: wit::HttpResponse,
    ) -> Result<http::Response<Bytes>, PluginFailure> {
        let malformed = |message: String| {
            plugin
                .shared
                .counters
                .record_failure(FailureKind::Malformed);
            tracing::warn!(plugin = %plugin.shared.name, kind = "malformed", "{message}");
            PluginFailure {
                plugin: plugin.shared.name.clone(),
                kind: FailureKind::Malformed,
                message,
                stderr: String::new(),
            }
        };
        if !(100..=599).contains(&resp.status) {
            return Err(malformed(format!("answered HTTP status {}", resp.status)));
        }
        let mut builder = http::Response::builder().status(resp.status);
        for h in resp.headers {
            let name = http::HeaderName::from_bytes(h.name.as_bytes())
                .map_err(|_| malformed(format!("answered an invalid header name {:?}", h.name)))?;
            let value = http::HeaderValue::from_str(&h.value)
                .map_err(|_| malformed(format!("answered an invalid value for header `{name}`")))?;
            builder = builder.header(name, value);
        }
        builder
            .body(Bytes::from(resp.body))
            .map_err(|e| malformed(format!("answered an invalid response: {e}")))
    }

    /// The 5xx for a failure, in the shape of `errors` (the mount's dialect's). The
    /// caller gets a generic message: which plugin failed and why (its deadline, its
    /// memory cap, a trap) are the gateway's internals, logged where the failure was
    /// classified (`call`, `to_response`), not told to whoever sent the request.
    fn failure(&self, errors: &ErrorShape, _failure: PluginFailure) -> http::Response<Bytes> {
        let message = "internal error: the request could not be completed";
        http::Response::builder()
            .status(errors.status)
            .header(http::header::CONTENT_TYPE, errors.content_type.as_str())
            .body(Bytes::from(errors.render("plugin_failed", message)))
            .unwrap_or_else(|_| {
                let mut r = http::Response::new(Bytes::from_static(b"plugin failed"));
                *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                r
            })
    }
}

/// A dialect request its mount's auth chain let through ([`PluginHost::admit`]), its
/// body not read yet.
pub struct Admitted {
    set: Arc<PluginSet>,
    mount: usize,
    caller: Option<Principal>,
    req: wit::HttpRequest,
}

impl Admitted {
    /// The dialect's `[uploads]` when this request is a `POST` to one of its media
    /// routes (a larger body, its media fields staged); `None` for any other request.
    pub fn uploads(&self) -> Option<&manifest::UploadRoutes> {
        let mount = &self.set.mounts[self.mount];
        let uploads = &mount.dialect.manifest.uploads;
        let under = match mount.prefix.as_str() {
            "/" => self.req.path.as_str(),
            prefix => self.req.path.strip_prefix(prefix).unwrap_or_default(),
        };
        (self.req.method == "POST" && uploads.matches(under)).then_some(uploads)
    }
}

/// `resp` with the media its dialect attached put where their references are. The
/// length the plugin may have declared was the reference's: hyper sets the real one.
fn splice_attachments(
    resp: http::Response<Bytes>,
    attachments: &attachments::Attachments,
) -> http::Response<Bytes> {
    let (mut parts, body) = resp.into_parts();
    parts.headers.remove(http::header::CONTENT_LENGTH);
    http::Response::from_parts(parts, attachments.splice(body))
}

/// The request head as plugins see it (the body is filled in for dialects only).
fn head_request(mount: &registry::Mount, parts: &http::request::Parts) -> wit::HttpRequest {
    wit::HttpRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        mount: mount.prefix.clone(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| wit::Header {
                name: k.as_str().to_string(),
                value: String::from_utf8_lossy(v.as_bytes()).into_owned(),
            })
            .collect(),
        body: Vec::new(),
    }
}
