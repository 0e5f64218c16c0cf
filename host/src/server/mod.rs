//! The HTTP server: hyper 1 on tokio, HTTPS through rustls when a certificate is
//! configured, graceful drain on shutdown, and the route table:
//! `/healthz`, `/metrics`, `/admin/...`, `/core/...`, then the plugin mounts.

pub mod admin_api;
mod body;
mod cluster_api;
pub mod console;
pub mod core_api;
pub mod cors;
pub mod http;
pub mod socketio;
pub mod stream;
mod tls;
mod upload_parts;
mod uploads;

use std::convert::Infallible;
use std::fmt::Write;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use self::http::{ApiError, Req, text};
use crate::core::Core;
use crate::metrics::Metrics;

pub use tls::load_tls;

/// Everything a request handler needs.
pub struct App {
    /// The operations every dialect and the admin API call.
    pub core: Arc<Core>,
    /// The simulated network, when the gateway runs the `sim` link: only the admin
    /// API's injection endpoints (`/admin/sim/...`) reach it.
    pub sim: Option<Arc<crate::whatsapp::sim::SimLink>>,
    /// The loaded auth, dialect and sink plugins and their mounts.
    pub plugins: crate::plugin::PluginHost,
    /// Committed events, live, for WebSocket streams.
    pub live: crate::events::live::LiveFeed,
    /// The deployment's `[[streams]]`; `None`: the mounted dialects' defaults.
    pub streams: Option<Arc<Vec<stream::StreamRoute>>>,
    /// Single-use tickets for opening streams from browsers.
    pub tickets: stream::Tickets,
    /// Request counters and latencies served at `/metrics`.
    pub metrics: Metrics,
    /// Largest request body read; a larger one is refused before it reaches a plugin.
    pub max_body_bytes: usize,
    /// Timeouts and connection caps (`[server]`).
    pub limits: crate::config::ServerConfig,
    /// The operator console (`[console]`) and its sessions.
    pub console: console::Console,
    /// The CORS policy; `None`: no cross-origin request is allowed (see [`cors`]).
    pub cors: Option<cors::Cors>,
    /// Socket.IO for the dialect that declares it, when switched on (see [`socketio`]).
    pub socketio: Option<socketio::SocketIoServer>,
    /// The message brokers' clients (their counters are served at `/metrics`).
    pub brokers: std::sync::Arc<crate::events::brokers::Brokers>,
    /// Cluster mode's coordinator (`/admin/cluster`, `/metrics`); `None` outside it.
    pub cluster: Option<std::sync::Arc<crate::cluster::Coordinator>>,
}

impl App {
    /// The stream routes in force: the deployment's, else the loaded dialects'.
    fn stream_routes(&self) -> Arc<Vec<stream::StreamRoute>> {
        match &self.streams {
            Some(routes) => routes.clone(),
            None => self.plugins.default_streams(),
        }
    }
}

/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request head (request line and headers) read; larger ones get 431.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The [`App`] once the gateway has started: `None` while its plugins are still being
/// loaded (compiled, on a fresh data folder). The server accepts connections from the
/// moment its port is bound; see [`app_for`].
pub type Ready = tokio::sync::watch::Receiver<Option<Arc<App>>>;

/// Serves until `shutdown` resolves, then stops accepting and drains open connections.
/// `limits` are the `[server]` caps and timeouts (known before the app is ready).
pub async fn serve(
    limits: crate::config::ServerConfig,
    ready: Ready,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    // Graceful drain: every connection task watches `stop`; on shutdown each finishes
    // its in-flight request and closes (upgraded WebSocket streams end with the process).
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let gate = ConnectionGate::new(&limits);
    let header_timeout = Duration::from_millis(limits.header_timeout_ms.max(1));
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(slot) = gate.admit(peer.ip()) else {
            if let Some(app) = ready.borrow().as_ref() {
                app.metrics
                    .observe("connection_refused", 503, Duration::ZERO);
            }
            refuse(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let slot = Arc::new(slot);
        let ready = ready.clone();
        let request_slot = slot.clone();
        let service = service_fn(move |mut req: hyper::Request<Incoming>| {
            let ready = ready.clone();
            // A WebSocket upgrade keeps it for as long as its stream runs.
            req.extensions_mut().insert(request_slot.clone());
            async move {
                Ok::<_, Infallible>(match app_for(ready, &req).await {
                    Ok(app) => respond(app, req).await,
                    Err(resp) => resp,
                })
            }
        });
        let builder = {
            let mut b = hyper::server::conn::http1::Builder::new();
            // Past 100 header fields or 64 KiB of request head, hyper answers 431.
            b.max_headers(100)
                .max_header_size(MAX_HEAD_BYTES)
                .header_read_timeout(header_timeout)
                .timer(hyper_util::rt::TokioTimer::new());
            b
        };
        let mut stop = stop_rx.clone();
        let acceptor = tls.clone();
        connections.spawn(async move {
            // Held until the connection ends: its place under the caps.
            let _slot = slot;
            let result = match acceptor {
                None => {
                    let conn = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades();
                    drive(conn, &mut stop).await
                }
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls_stream) => {
                        let conn = builder
                            .serve_connection(TokioIo::new(tls_stream), service)
                            .with_upgrades();
                        drive(conn, &mut stop).await
                    }
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "tls handshake failed");
                        Ok(())
                    }
                },
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    tracing::info!("shutting down: draining in-flight requests");
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("drain timed out; closing remaining connections");
    }
    Ok(())
}

/// The app that answers `req`. While the gateway is still starting (its plugins
/// compiling), `/healthz` answers `200 starting` at once (the process is alive and
/// will serve), and every other request waits until the app is ready rather than
/// failing; `Err(503)` only if the gateway stops before it was ever ready.
async fn app_for(
    mut ready: Ready,
    req: &hyper::Request<Incoming>,
) -> Result<Arc<App>, hyper::Response<Full<Bytes>>> {
    if let Some(app) = ready.borrow().as_ref() {
        return Ok(app.clone());
    }
    if req.uri().path() == "/healthz" {
        return Err(text(::http::StatusCode::OK, "text/plain", "starting\n".into()).map(Full::new));
    }
    match ready.wait_for(Option::is_some).await {
        Ok(app) => Ok(app.as_ref().expect("waited for Some").clone()),
        Err(_) => Err(ApiError::new(
            ::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the gateway stopped before it was ready",
        )
        .into_response()
        .map(Full::new)),
    }
}

/// Answers one request: CORS first (a preflight never reaches auth or a plugin), then
/// [`handle`].
async fn respond(app: Arc<App>, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    use tower::{Layer, ServiceExt};
    let Some(policy) = app.cors.as_ref() else {
        return handle(&app, req).await;
    };
    // The console is same-origin only, whatever the policy: its session cookie must
    // never be usable from another origin (see `console`).
    if app.console.sub_path(req.uri().path()).is_some() {
        return handle(&app, req).await;
    }
    match policy.decide(&req) {
        cors::Decision::Pass => handle(&app, req).await,
        cors::Decision::Refuse => {
            app.metrics.observe("cors_refused", 204, Duration::ZERO);
            let mut resp = hyper::Response::new(Full::default());
            *resp.status_mut() = ::http::StatusCode::NO_CONTENT;
            resp
        }
        cors::Decision::Apply => {
            let service = policy.layer().layer(Handler(app.clone()));
            match service.oneshot(req).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            }
        }
    }
}

/// [`handle`] as a tower service, for tower-http's CORS layer to wrap.
#[derive(Clone)]
struct Handler(Arc<App>);

impl tower::Service<hyper::Request<Incoming>> for Handler {
    type Response = hyper::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send + 'static>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: hyper::Request<Incoming>) -> Self::Future {
        let app = self.0.clone();
        Box::pin(async move { Ok(handle(&app, req).await) })
    }
}

async fn handle(app: &Arc<App>, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let started = Instant::now();
    if let Some(sio) = &app.socketio
        && socketio::SocketIoServer::serves(req.uri().path())
    {
        // CORS does not cover a browser's WebSocket handshake: refuse a foreign page's.
        let resp = if stream::is_upgrade(&req) && foreign_origin(app, &req) {
            ApiError::new(
                ::http::StatusCode::FORBIDDEN,
                "forbidden",
                "this origin may not open the Socket.IO stream",
            )
            .into_response()
        } else {
            sio.handle(req).await
        };
        app.metrics
            .observe("socketio", resp.status().as_u16(), started.elapsed());
        return resp.map(Full::new);
    }
    if stream::is_upgrade(&req) && app.console.sub_path(req.uri().path()) == Some("/api/events") {
        let resp = console::live::upgrade(app, req).await;
        app.metrics
            .observe("console:events", resp.status().as_u16(), started.elapsed());
        return resp.map(Full::new);
    }
    if stream::is_upgrade(&req)
        && let Some((route, instance)) = stream::match_route(&app.stream_routes(), req.uri().path())
    {
        let resp = stream::upgrade(app, route, instance, req).await;
        app.metrics
            .observe("stream", resp.status().as_u16(), started.elapsed());
        return resp.map(Full::new);
    }
    if req.method() == ::http::Method::POST
        && let Some(stream_path) = req.uri().path().strip_suffix("/ticket")
        && let Some((route, instance)) = stream::match_route(&app.stream_routes(), stream_path)
    {
        let resp = stream::issue_ticket(app, route, instance, req).await;
        app.metrics
            .observe("stream_ticket", resp.status().as_u16(), started.elapsed());
        return resp.map(Full::new);
    }
    let (parts, body) = req.into_parts();
    // A dialect request passes its mount's auth on the head alone, before its body is
    // read: a refused caller's body is only drained (never buffered or parsed), and an
    // admitted one to a media route may send one as large as `[media]` allows.
    let host_route = HostRoute::of(app, parts.uri.path());
    let admitted = if host_route.is_some() {
        None
    } else {
        match app.plugins.admit(&parts).await {
            Some(Ok(admitted)) => Some(admitted),
            Some(Err(denied)) => {
                body::linger(body);
                app.metrics
                    .observe("plugin", denied.status().as_u16(), started.elapsed());
                return denied.map(Full::new);
            }
            None => None,
        }
    };
    let uploads = match &admitted {
        Some(admitted) => admitted.uploads().cloned(),
        None if core_api::is_media_send_by_known_key(&app.core, &parts).await => {
            Some(core_api::media_uploads())
        }
        None => None,
    };
    let cap = match uploads {
        Some(_) => app.core.media_body_cap(),
        // A forwarded media send carries the file base64-encoded (4/3 of its size).
        None if is_node_call(app, &parts) => app.core.media_body_cap() / 3 * 4 + (64 << 10),
        None => app.max_body_bytes,
    };
    // The whole body must arrive within the body timeout: a client trickling it a byte
    // at a time would otherwise hold the connection (and this task) for ever.
    let expected = parts
        .headers
        .get(::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let read = body::read(body, cap, expected, body_timeout(app)).await;
    // Staged media lives until the request has been answered, used or not.
    let (read, staged) = match (read, &uploads) {
        (Ok(body), Some(routes)) => {
            let form = parts
                .headers
                .get(::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(upload_parts::boundary)
                .filter(|_| !routes.file_parts.is_empty());
            let (body, staged) = match form {
                Some(boundary) => upload_parts::stage(
                    app.core.uploads(),
                    &routes.file_parts,
                    &boundary,
                    body.freeze(),
                ),
                None => uploads::stage(app.core.uploads(), routes, body),
            };
            (Ok(body), staged)
        }
        (read, _) => (read.map(bytes::BytesMut::freeze), Vec::new()),
    };
    let (route, resp) = match (read, admitted) {
        (Ok(body), Some(admitted)) => ("plugin", app.plugins.serve(admitted, body).await),
        (Ok(body), None) => {
            let req = Req {
                method: parts.method,
                path: parts.uri.path().to_string(),
                query: parts.uri.query().map(str::to_string),
                headers: parts.headers,
                body,
            };
            route(app, host_route, req).await
        }
        (Err(body::BodyError::TooLarge), admitted) => {
            let message = format!("request body is larger than {cap} bytes");
            let resp = match admitted {
                Some(admitted) => app.plugins.too_large(&admitted, &message),
                None => ApiError::new(
                    ::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    message,
                )
                .into_response(),
            };
            ("body_too_large", resp)
        }
        (Err(body::BodyError::Timeout), _) => {
            let mut resp = ApiError::new(
                ::http::StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "the request body did not arrive in time",
            )
            .into_response();
            // The rest of the body is still on the wire: this connection cannot carry
            // another request.
            resp.headers_mut().insert(
                ::http::header::CONNECTION,
                ::http::HeaderValue::from_static("close"),
            );
            ("body_timeout", resp)
        }
        (Err(body::BodyError::Broken(e)), _) => {
            tracing::debug!(error = %e, "reading request body");
            (
                "body_error",
                ApiError::new(
                    ::http::StatusCode::BAD_REQUEST,
                    "invalid",
                    "could not read the request body",
                )
                .into_response(),
            )
        }
    };
    drop(staged);
    app.metrics
        .observe(route, resp.status().as_u16(), started.elapsed());
    resp.map(Full::new)
}

/// Whether `req` comes from a page on an origin that is neither the server's own (its
/// `Host`) nor one the CORS policy allows. No `Origin` (not a browser): not foreign.
fn foreign_origin<B>(app: &App, req: &hyper::Request<B>) -> bool {
    let Some(origin) = req.headers().get(::http::header::ORIGIN) else {
        return false;
    };
    if app.cors.as_ref().is_some_and(|c| c.allows_origin(origin)) {
        return false;
    }
    let own = req
        .headers()
        .get(::http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let authority = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, a)| a);
    own.is_none() || authority != own
}

fn body_timeout(app: &App) -> Duration {
    Duration::from_millis(app.limits.body_timeout_ms.max(1))
}

/// A route the host serves itself; every other path is a dialect's.
enum HostRoute {
    Healthz,
    Metrics,
    Admin,
    Core,
    /// Link calls other cluster nodes forward to this one.
    Cluster,
    /// The console, with the path under it.
    Console(String),
}

impl HostRoute {
    fn of(app: &App, path: &str) -> Option<HostRoute> {
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        Some(match path {
            "/healthz" => HostRoute::Healthz,
            "/metrics" => HostRoute::Metrics,
            _ if under("/admin") => HostRoute::Admin,
            _ if under("/core") => HostRoute::Core,
            crate::whatsapp::cluster::FORWARD_PATH => HostRoute::Cluster,
            _ => HostRoute::Console(app.console.sub_path(path)?.to_string()),
        })
    }
}

/// Serves a request to one of the host's own routes ([`HostRoute`]); `None` for a
/// path none of them serves.
async fn route(
    app: &App,
    host: Option<HostRoute>,
    req: Req,
) -> (&'static str, ::http::Response<Bytes>) {
    let (label, result) = match host {
        Some(HostRoute::Healthz) => (
            "healthz",
            Ok(text(::http::StatusCode::OK, "text/plain", "ok\n".into())),
        ),
        Some(HostRoute::Metrics) => (
            "metrics",
            Ok(text(
                ::http::StatusCode::OK,
                "text/plain; version=0.0.4",
                metrics_text(app),
            )),
        ),
        Some(HostRoute::Admin) => admin_api::handle(app, &req).await,
        Some(HostRoute::Core) => core_api::handle(&app.core, &app.plugins.sinks(), &req).await,
        Some(HostRoute::Cluster) => cluster_api::handle(app, &req).await,
        Some(HostRoute::Console(sub)) => console::handle(app, req, &sub).await,
        // Dialect paths were served before their body was read (`handle`).
        None => ("unmatched", Err(ApiError::not_found())),
    };
    (label, result.unwrap_or_else(ApiError::into_response))
}

/// Whether the request is another cluster node's forwarded link call (it presents the
/// nodes' shared secret).
fn is_node_call(app: &App, parts: &::http::request::Parts) -> bool {
    parts.uri.path() == crate::whatsapp::cluster::FORWARD_PATH
        && app.cluster.as_ref().is_some_and(|c| {
            parts
                .headers
                .get(crate::whatsapp::cluster::SECRET_HEADER)
                .is_some_and(|v| c.link().accepts(v.as_bytes()))
        })
}

fn metrics_text(app: &App) -> String {
    let mut extra = String::new();
    extra.push_str(
        "# HELP wagate_instances Instances by connection state (cluster mode: those whose session runs on this node).\n# TYPE wagate_instances gauge\n",
    );
    let mut counts = std::collections::BTreeMap::new();
    for state in ["disconnected", "connecting", "open", "closed"] {
        counts.insert(state, 0u64);
    }
    if let Ok(all) = app.core.all_instances() {
        for r in all
            .iter()
            .filter(|r| app.core.link().runs_here(&r.instance.id))
        {
            *counts
                .entry(app.core.link().state(&r.instance.id).as_str())
                .or_default() += 1;
        }
    }
    for (state, n) in counts {
        let _ = writeln!(extra, "wagate_instances{{state=\"{state}\"}} {n}");
    }
    let _ = writeln!(
        extra,
        "# HELP wagate_media_uploads_staged Media the server decoded out of request bodies in flight.\n# TYPE wagate_media_uploads_staged gauge\nwagate_media_uploads_staged {}",
        app.core.uploads().held()
    );
    extra.push_str(&app.core.link().metrics_text());
    extra.push_str(&app.plugins.metrics_text());
    extra.push_str(&app.brokers.metrics_text(app.core.store()));
    if let Some(cluster) = &app.cluster {
        extra.push_str(&cluster.metrics_text());
    }
    app.metrics.render(&extra)
}

/// Counts open connections, in all and per client address, against the `[server]`
/// caps.
#[derive(Clone)]
struct ConnectionGate {
    inner: Arc<GateInner>,
}

struct GateInner {
    max: usize,
    max_per_ip: usize,
    open: std::sync::Mutex<(usize, std::collections::HashMap<std::net::IpAddr, usize>)>,
}

/// One admitted connection; dropping it (every clone of the `Arc`) gives its place
/// back.
pub(crate) struct Slot {
    gate: ConnectionGate,
    ip: std::net::IpAddr,
}

impl ConnectionGate {
    fn new(limits: &crate::config::ServerConfig) -> Self {
        ConnectionGate {
            inner: Arc::new(GateInner {
                max: limits.max_connections,
                max_per_ip: limits.max_connections_per_ip,
                open: Default::default(),
            }),
        }
    }

    /// A slot for a new connection from `ip`, or `None` when a cap is reached.
    fn admit(&self, ip: std::net::IpAddr) -> Option<Slot> {
        let mut open = self.inner.open.lock().unwrap_or_else(|e| e.into_inner());
        let (total, per_ip) = &mut *open;
        let from_ip = per_ip.get(&ip).copied().unwrap_or(0);
        if (self.inner.max > 0 && *total >= self.inner.max)
            || (self.inner.max_per_ip > 0 && from_ip >= self.inner.max_per_ip)
        {
            return None;
        }
        *total += 1;
        per_ip.insert(ip, from_ip + 1);
        Some(Slot {
            gate: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .gate
            .inner
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (total, per_ip) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

/// Answers a connection over the caps with a plain 503 (best effort, without waiting
/// for or reading its request) and closes it.
fn refuse(stream: tokio::net::TcpStream) {
    const BODY: &str = r#"{"error":{"code":"unavailable","message":"too many open connections"}}"#;
    let resp = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = stream.try_write(resp.as_bytes());
    // Dropped here: closed.
}

/// Serves one connection until it ends, or until `stop` flips: then hyper finishes the
/// request in flight and closes the connection.
async fn drive<I, S>(
    conn: hyper::server::conn::http1::UpgradeableConnection<I, S>,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> hyper::Result<()>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming, ResBody = Full<Bytes>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => res,
        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    }
}
