//! Socket.IO, as Evolution API serves it (its `websocket` integration), for the dialect
//! whose manifest declares `[socketio]`, at `/socket.io/` (socketioxide, a tower
//! service, called from the server's hyper stack like any route; the plain WebSocket
//! streams of `server::stream` are unchanged).
//!
//! - **Per-instance namespaces** `/{instance}`: the instance's events whose kinds its
//!   settings list (`core.set-socketio`, Evolution's `/websocket/set/{instance}`), as
//!   Evolution emits them when `websocket.enabled` is set for the instance.
//! - **Global mode** (Evolution's `WEBSOCKET_GLOBAL_EVENTS=true`): every event is also
//!   emitted on the main namespace `/`.
//!
//! Each message is emitted under Evolution's event name (`messages.upsert`) with the
//! body the dialect's `render-event` gives for the Socket.IO target
//! (`{event, instance, data, server_url, date_time, sender, apikey}`): the host never
//! shapes a dialect's body.
//!
//! **Who may listen.** Evolution checks the `apikey` (query or header) once per
//! connection: the global key or any instance's token opens every namespace, and in
//! global mode every socket on `/` gets every instance's events. wagate authorises each
//! namespace connection through the dialect's auth plugins (the `apikey` header, the
//! `?apikey=` query, or `{apikey}` in the Socket.IO auth payload), and a socket only
//! ever receives the events of instances its key may read: on `/{instance}`, the key
//! must read that instance (another org's, or another instance for an instance's own
//! token, is refused with a `connect_error`); on `/`, an org-wide key gets its org's
//! instances' events and an instance's token only its instance's. So nothing crosses
//! orgs, where Evolution would leak. Evolution's `WEBSOCKET_ALLOWED_HOSTS` (connections
//! from those addresses need no key at all) is not honoured: such a socket could not
//! be scoped to an org.
//!
//! **Switches**, lowest first: `[socketio]` in wagate.toml (`enabled`,
//! `global_events`, both `false` by default as in Evolution's `.env.example`); the
//! variables the dialect declares (Evolution's `WEBSOCKET_ENABLED`,
//! `WEBSOCKET_GLOBAL_EVENTS`); `WAGATE_SOCKETIO_ENABLED`, `WAGATE_SOCKETIO_GLOBAL_EVENTS`.
//!
//! **Browsers.** The polling transport's requests pass through the CORS policy like
//! any route (`server::cors`). A WebSocket handshake is not subject to CORS in a
//! browser, so the server refuses one whose `Origin` is neither the server's own nor
//! an allowed origin: a page on a foreign origin cannot open the stream either way.

use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde::Deserialize;
use socketioxide::SocketIo;
use socketioxide::extract::{SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use tokio::sync::broadcast::error::RecvError;

use crate::core::Core;
use crate::core::model::{Event, EventPayload, InstanceRef, Principal};
use crate::events::live::LiveFeed;
use crate::plugin::manifest::SocketIoDecl;
use crate::plugin::{PluginHost, RenderTarget};

/// The path Socket.IO clients use by default (Evolution serves it there too).
pub const PATH: &str = "/socket.io";

/// The `[socketio]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SocketIoConfig {
    /// Serve Socket.IO (for the mounted dialect that declares `[socketio]`).
    pub enabled: bool,
    /// Also emit every event on the main namespace `/` (Evolution's global mode).
    pub global_events: bool,
}

/// The switches after the file, the dialect's variables and the gateway's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switches {
    /// Serve at all.
    pub enabled: bool,
    /// Global mode.
    pub global_events: bool,
}

impl Switches {
    /// Reads the switches through `env` (the process environment in production).
    pub fn from_sources(
        file: &SocketIoConfig,
        declared: Option<&SocketIoDecl>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Switches> {
        let mut s = Switches {
            enabled: file.enabled,
            global_events: file.global_events,
        };
        let read = |name: Option<&str>, into: &mut bool| -> anyhow::Result<()> {
            let Some(name) = name else { return Ok(()) };
            let Some(v) = env(name).filter(|v| !v.trim().is_empty()) else {
                return Ok(());
            };
            *into = match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                other => bail!("{name}: `{other}` is not true or false"),
            };
            Ok(())
        };
        if let Some(d) = declared {
            read(d.enabled_env.as_deref(), &mut s.enabled)?;
            read(d.global_events_env.as_deref(), &mut s.global_events)?;
        }
        read(Some("WAGATE_SOCKETIO_ENABLED"), &mut s.enabled)?;
        read(Some("WAGATE_SOCKETIO_GLOBAL_EVENTS"), &mut s.global_events)?;
        Ok(s)
    }
}

/// One Engine.IO request answered, body collected.
type Serve = Arc<
    dyn Fn(
            hyper::Request<hyper::body::Incoming>,
        ) -> std::pin::Pin<Box<dyn Future<Output = http::Response<Bytes>> + Send>>
        + Send
        + Sync,
>;

/// The running Socket.IO server.
pub struct SocketIoServer {
    serve: Serve,
    /// The dialect served (its auth plugins, its `render-event`).
    pub dialect: String,
}

/// What the namespace handlers need.
#[derive(Clone)]
struct Ctx {
    core: Arc<Core>,
    plugins: PluginHost,
    dialect: Arc<str>,
    io: SocketIo,
}

/// The room of one instance's listeners (in any namespace).
fn instance_room(instance_id: &str) -> String {
    format!("instance:{instance_id}")
}

/// The room of an org-wide key's listeners on `/`.
fn org_room(org: &str) -> String {
    format!("org:{org}")
}

impl SocketIoServer {
    /// Starts the server for the first mounted dialect declaring `[socketio]`, when the
    /// switches say so; `None` otherwise.
    pub fn start(
        file: &SocketIoConfig,
        core: Arc<Core>,
        plugins: PluginHost,
        live: &LiveFeed,
    ) -> anyhow::Result<Option<SocketIoServer>> {
        let decls = plugins.socketio_decls();
        let declared = decls.first();
        let switches =
            Switches::from_sources(file, declared.map(|(_, d)| d), |n| std::env::var(n).ok())
                .context("reading the Socket.IO switches")?;
        let Some((dialect, _)) = declared.filter(|_| switches.enabled) else {
            if switches.enabled {
                tracing::warn!("Socket.IO is enabled but no mounted dialect serves it");
            }
            return Ok(None);
        };
        let (svc, io) = SocketIo::builder().req_path(PATH).build_svc();
        let ctx = Ctx {
            core,
            plugins,
            dialect: dialect.as_str().into(),
            io: io.clone(),
        };
        let global = ctx.clone();
        io.ns(
            "/",
            (async |_: SocketRef| {}).with(move |s: SocketRef, TryData(auth): TryData<Auth>| {
                let ctx = global.clone();
                async move { ctx.admit(&s, auth.ok(), None).await }
            }),
        );
        let per_instance = ctx.clone();
        io.dyn_ns(
            "/{instance}",
            (async |_: SocketRef| {}).with(move |s: SocketRef, TryData(auth): TryData<Auth>| {
                let ctx = per_instance.clone();
                async move {
                    let name = s.ns().trim_start_matches('/').to_string();
                    let admitted = ctx.admit(&s, auth.ok(), Some(name)).await;
                    if admitted.is_err() {
                        ctx.drop_if_empty(s.ns());
                    }
                    admitted
                }
            }),
        )
        .context("registering the per-instance namespaces")?;
        tokio::spawn(pump(ctx, io, live.subscribe(), switches.global_events));
        tracing::info!(%dialect, global_events = switches.global_events, path = PATH, "Socket.IO served");
        let serve: Serve = Arc::new(move |req| {
            use tower::ServiceExt;
            let svc = svc.clone();
            Box::pin(async move {
                let Ok(resp) = svc.oneshot(req).await;
                let (parts, body) = resp.into_parts();
                // Polling answers are small and complete (a long poll answers once it
                // has packets): collected whole.
                match body.collect().await {
                    Ok(b) => http::Response::from_parts(parts, b.to_bytes()),
                    Err(_) => http::Response::builder()
                        .status(http::StatusCode::INTERNAL_SERVER_ERROR)
                        .body(Bytes::new())
                        .expect("static response"),
                }
            })
        });
        Ok(Some(SocketIoServer {
            serve,
            dialect: dialect.clone(),
        }))
    }

    /// Whether `path` is the Socket.IO endpoint's.
    pub fn serves(path: &str) -> bool {
        path.strip_prefix(PATH)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// Serves one Engine.IO request (polling, or the WebSocket upgrade).
    pub async fn handle(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> http::Response<Bytes> {
        (self.serve)(req).await
    }
}

/// The Socket.IO auth payload a client may send instead of the `apikey` header.
#[derive(Deserialize)]
struct Auth {
    apikey: Option<String>,
}

impl Ctx {
    /// Drops the namespace at `path` shortly after a refused connection if no socket
    /// is in it: socketioxide creates a dynamic namespace before its connect handler
    /// runs, so refused attempts at made-up names would otherwise pile up for ever.
    fn drop_if_empty(&self, path: &str) {
        let (io, path) = (self.io.clone(), path.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            if io.of(&path).is_some_and(|ns| ns.sockets().is_empty()) {
                io.delete_ns(&path);
            }
        });
    }

    /// Authorises one namespace connection and puts the socket in the rooms of what
    /// it may hear; `instance` is the per-instance namespace's name (`None`: `/`).
    async fn admit(
        &self,
        s: &SocketRef,
        auth: Option<Auth>,
        instance: Option<String>,
    ) -> Result<(), String> {
        let mut head = s.req_parts().clone();
        if let Some(key) = auth.and_then(|a| a.apikey)
            && !head.headers.contains_key("apikey")
            && let Ok(v) = http::HeaderValue::from_str(&key)
        {
            head.headers.insert("apikey", v);
        }
        super::stream::credentials_from_query(&mut head);
        let principal: Principal = match self.plugins.authenticate_for(&self.dialect, &head).await {
            Ok(Some(p)) => p,
            Ok(None) => return Err("apikey is required".into()),
            Err(_) => return Err("Unauthorized".into()),
        };
        match instance {
            Some(name) => {
                let inst = self
                    .core
                    .get_instance(&principal, &InstanceRef::parse(&name))
                    .await
                    .map_err(|e| e.to_string())?;
                s.join(instance_room(&inst.id));
            }
            None => {
                if !principal.caps.read {
                    return Err("Forbidden: this key may not read events".into());
                }
                match &principal.instance {
                    Some(id) => s.join(instance_room(id)),
                    None => s.join(org_room(&principal.org)),
                }
            }
        }
        Ok(())
    }
}

/// Emits each live event where it belongs: on `/` in global mode (to the listeners of
/// its org and of its instance), and on `/{instance}` when the instance's settings list
/// its kind.
async fn pump(
    ctx: Ctx,
    io: SocketIo,
    mut feed: tokio::sync::broadcast::Receiver<Arc<Event>>,
    global: bool,
) {
    loop {
        let ev = match feed.recv().await {
            Ok(ev) => ev,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "Socket.IO fell behind the live feed");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        emit(&ctx, &io, &ev, global).await;
        // A deleted instance's listeners have nothing more to hear (and an instance
        // token's credential is gone with it): closed, as the plain streams are.
        if matches!(ev.payload, EventPayload::InstanceDeleted(_)) {
            let room = instance_room(&ev.instance_id);
            let _ = io.to(room.clone()).disconnect().await;
            if let Some(ns) = io.of(format!("/{}", ev.instance_name)) {
                let _ = ns.to(room).disconnect().await;
            }
        }
    }
}

/// Emits one event on `/` (global mode) and on its instance's namespace (when the
/// instance's settings list its kind and someone listens there).
async fn emit(ctx: &Ctx, io: &SocketIo, ev: &Event, global: bool) {
    let per_instance = match ctx.core.socketio_of(&ev.instance_id) {
        Ok(settings) => settings.is_some_and(|s| s.emits(ev.payload.kind())),
        Err(e) => {
            tracing::warn!(error = %e, "reading an instance's Socket.IO settings");
            false
        }
    };
    // The instance's namespace exists once someone connected to it.
    let namespace = io
        .of(format!("/{}", ev.instance_name))
        .filter(|_| per_instance);
    if !global && namespace.is_none() {
        return;
    }
    let body = match ctx
        .plugins
        .render_event(&ctx.dialect, ev, RenderTarget::SocketIo, None)
        .await
    {
        Ok(Some(body)) => body,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), dialect = %ctx.dialect, "rendering a Socket.IO event");
            return;
        }
    };
    let Some((name, body)) = message(&body) else {
        tracing::warn!(dialect = %ctx.dialect, "a Socket.IO body without an `event` name");
        return;
    };
    let room = instance_room(&ev.instance_id);
    if global {
        let _ = io
            .to([room.clone(), org_room(&ev.org)])
            .emit(&name, &body)
            .await;
    }
    if let Some(ns) = namespace {
        let _ = ns.to(room).emit(&name, &body).await;
    }
}

/// The event name (the body's `event`) and the body as JSON.
fn message(body: &[u8]) -> Option<(String, serde_json::Value)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let name = value.get("event")?.as_str()?.to_string();
    Some((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_file_then_dialect_then_wagate() {
        let decl = SocketIoDecl {
            enabled_env: Some("WEBSOCKET_ENABLED".into()),
            global_events_env: Some("WEBSOCKET_GLOBAL_EVENTS".into()),
        };
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |n: &str| {
                vars.iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            }
        };
        let off = Switches::from_sources(&SocketIoConfig::default(), Some(&decl), env(&[]));
        assert_eq!(
            off.unwrap(),
            Switches {
                enabled: false,
                global_events: false
            }
        );
        let on = Switches::from_sources(
            &SocketIoConfig::default(),
            Some(&decl),
            env(&[
                ("WEBSOCKET_ENABLED", "true"),
                ("WEBSOCKET_GLOBAL_EVENTS", "true"),
            ]),
        )
        .unwrap();
        assert!(on.enabled && on.global_events);
        let own = Switches::from_sources(
            &SocketIoConfig {
                enabled: true,
                global_events: false,
            },
            Some(&decl),
            env(&[("WAGATE_SOCKETIO_ENABLED", "false")]),
        )
        .unwrap();
        assert!(!own.enabled);
        let err = Switches::from_sources(
            &SocketIoConfig::default(),
            Some(&decl),
            env(&[("WEBSOCKET_ENABLED", "yes")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("WEBSOCKET_ENABLED"), "{err}");
    }

    #[test]
    fn only_its_path_is_served() {
        assert!(SocketIoServer::serves("/socket.io/"));
        assert!(SocketIoServer::serves("/socket.io"));
        assert!(!SocketIoServer::serves("/socket.iox"));
        assert!(!SocketIoServer::serves("/instance/socket.io/"));
    }
}
