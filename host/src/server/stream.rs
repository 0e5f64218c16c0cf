//! WebSocket event streams: one instance's events, live, rendered by a dialect and
//! authorised by that dialect's auth plugins.
//!
//! Routes: `[[streams]]` in wagate.toml; absent, the routes the loaded dialects declare
//! in their manifests (`default_streams`). The bundled dialects declare:
//!
//! | path | dialect | credential |
//! |---|---|---|
//! | `/ws/{instance}` | ryze | `token` header or `?token=` |
//! | `/evolution/ws/{instance}` | evolution | `apikey` header or `?apikey=` |
//! | `/api/v1/sessions/{instance}/events` | sessions-v1 | `Authorization: Bearer` or `?access_token=` |
//!
//! The query forms exist because browsers cannot set headers on a WebSocket. Better
//! still for browsers, a ticket: `POST {stream path}/ticket` with the usual credential
//! answers `{"ticket","expiresAt"}`; the ticket opens that one stream once, within
//! [`TICKET_TTL`], as `?ticket=...`, so no long-lived secret ends up in a URL. Each text
//! frame is one event in the dialect's envelope (the same body its webhooks get).
//! Backpressure: a client that does not keep up (its send stalls for
//! [`SEND_TIMEOUT`], or it falls behind the live feed's buffer) is closed with 1008,
//! so a slow reader never grows the gateway's memory.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, frame::coding::CloseCode};
use tokio_tungstenite::tungstenite::{Message, handshake::derive_accept_key};

use super::App;
use super::http::ApiError;
use crate::core::model::{EventPayload, InstanceRef};

/// How long one frame may take to go out before the client counts as too slow.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a stream ticket stays valid (it is also single-use).
pub const TICKET_TTL: Duration = Duration::from_secs(60);

/// Short-lived, single-use stream tickets, in memory (a restart invalidates them).
#[derive(Default)]
pub struct Tickets {
    issued: std::sync::Mutex<std::collections::HashMap<String, Ticket>>,
}

struct Ticket {
    principal: crate::core::model::Principal,
    dialect: String,
    instance_id: String,
    expires_at: std::time::Instant,
}

impl Tickets {
    fn issue(
        &self,
        principal: crate::core::model::Principal,
        dialect: &str,
        instance_id: &str,
    ) -> String {
        let ticket = crate::util::new_secret("wst_");
        let mut issued = self.issued.lock().expect("tickets lock");
        let now = std::time::Instant::now();
        issued.retain(|_, t| t.expires_at > now);
        issued.insert(
            ticket.clone(),
            Ticket {
                principal,
                dialect: dialect.to_string(),
                instance_id: instance_id.to_string(),
                expires_at: now + TICKET_TTL,
            },
        );
        ticket
    }

    /// The ticket's principal and instance id if it is unexpired and was issued for
    /// this dialect's stream; the ticket is used up either way.
    fn redeem(
        &self,
        ticket: &str,
        dialect: &str,
    ) -> Option<(crate::core::model::Principal, String)> {
        let t = self.issued.lock().expect("tickets lock").remove(ticket)?;
        (t.expires_at > std::time::Instant::now() && t.dialect == dialect)
            .then_some((t.principal, t.instance_id))
    }
}

pub use crate::plugin::config::StreamRoute;

/// The route and instance segment a path matches, if any.
pub fn match_route<'a>(routes: &'a [StreamRoute], path: &str) -> Option<(&'a StreamRoute, String)> {
    let got: Vec<&str> = path.trim_matches('/').split('/').collect();
    routes.iter().find_map(|r| {
        let want: Vec<&str> = r.path.trim_matches('/').split('/').collect();
        if want.len() != got.len() {
            return None;
        }
        let mut instance = None;
        for (w, g) in want.iter().zip(&got) {
            if *w == "{instance}" {
                let decoded = percent_encoding::percent_decode_str(g).decode_utf8().ok()?;
                if decoded.is_empty() {
                    return None;
                }
                instance = Some(decoded.into_owned());
            } else if w != g {
                return None;
            }
        }
        instance.map(|i| (r, i))
    })
}

/// Whether a request asks to upgrade to a WebSocket.
pub fn is_upgrade<B>(req: &hyper::Request<B>) -> bool {
    let has = |name: http::header::HeaderName, needle: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case(needle)))
    };
    has(http::header::CONNECTION, "upgrade") && has(http::header::UPGRADE, "websocket")
}

/// Authorises and upgrades; the stream itself runs in its own task.
pub async fn upgrade<B: Send + 'static>(
    app: &Arc<App>,
    route: &StreamRoute,
    instance: String,
    req: hyper::Request<B>,
) -> Response<Bytes> {
    let (mut parts, body) = req.into_parts();
    let ticket = query_param(&parts, "ticket");
    let (principal, ticket_instance) = match ticket {
        Some(t) => match app.tickets.redeem(&t, &route.dialect) {
            Some((p, instance_id)) => (p, Some(instance_id)),
            None => {
                return ApiError::unauthorized("invalid or expired stream ticket").into_response();
            }
        },
        None => {
            credentials_from_query(&mut parts);
            match app.plugins.authenticate_for(&route.dialect, &parts).await {
                Ok(Some(p)) => (p, None),
                Ok(None) => return ApiError::unauthorized("missing credentials").into_response(),
                Err(denied) => return denied,
            }
        }
    };
    let which = InstanceRef::parse(&instance);
    let inst = match app.core.get_instance(&principal, &which).await {
        Ok(i) => i,
        Err(e) => return ApiError::from(e).into_response(),
    };
    // A ticket opens only the stream of the instance it was issued for.
    if ticket_instance.is_some_and(|id| id != inst.id) {
        return ApiError::unauthorized("invalid or expired stream ticket").into_response();
    }
    let Some(key) = parts.headers.get(http::header::SEC_WEBSOCKET_KEY).cloned() else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "missing Sec-WebSocket-Key",
        )
        .into_response();
    };
    if parts
        .headers
        .get(http::header::SEC_WEBSOCKET_VERSION)
        .and_then(|v| v.to_str().ok())
        != Some("13")
    {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "only WebSocket version 13 is supported",
        )
        .into_response();
    }
    let req = hyper::Request::from_parts(parts, body);
    let app = app.clone();
    let dialect = route.dialect.clone();
    accept(req, &key, move |ws| run(app, ws, dialect, inst.id))
}

/// An upgraded connection, as a WebSocket.
pub(crate) type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Completes a WebSocket handshake whose request was checked: answers 101 and runs
/// `serve` on the socket in its own task once hyper hands the connection over. The
/// connection keeps its place under the `[server]` caps while `serve` runs.
pub(crate) fn accept<B, F, Fut>(
    mut req: hyper::Request<B>,
    key: &http::HeaderValue,
    serve: F,
) -> Response<Bytes>
where
    B: Send + 'static,
    F: FnOnce(Socket) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let slot = req.extensions_mut().remove::<Arc<super::Slot>>();
    tokio::spawn(async move {
        let _slot = slot;
        match hyper::upgrade::on(req).await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                serve(ws).await;
            }
            Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(http::header::CONNECTION, "upgrade")
        .header(http::header::UPGRADE, "websocket")
        .header(
            http::header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        )
        .body(Bytes::new())
        .expect("valid upgrade response")
}

/// `POST {stream path}/ticket`: a single-use ticket for that stream, for the caller the
/// dialect's auth plugins resolve (who must be able to read the instance).
pub async fn issue_ticket<B>(
    app: &Arc<App>,
    route: &StreamRoute,
    instance: String,
    req: hyper::Request<B>,
) -> Response<Bytes> {
    let (parts, _body) = req.into_parts();
    let principal = match app.plugins.authenticate_for(&route.dialect, &parts).await {
        Ok(Some(p)) => p,
        Ok(None) => return ApiError::unauthorized("missing credentials").into_response(),
        Err(denied) => return denied,
    };
    let inst = match app
        .core
        .get_instance(&principal, &InstanceRef::parse(&instance))
        .await
    {
        Ok(i) => i,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let ticket = app.tickets.issue(principal, &route.dialect, &inst.id);
    let expires_at = crate::util::now_ms() + TICKET_TTL.as_millis() as u64;
    super::http::json(
        StatusCode::CREATED,
        &serde_json::json!({"ticket": ticket, "expiresAt": expires_at}),
    )
}

fn query_param(parts: &http::request::Parts, name: &str) -> Option<String> {
    parts.uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// Browsers cannot set headers on a WebSocket: accept the credential as a query
/// parameter too, in the header each scheme reads (a header, when present, wins).
pub(crate) fn credentials_from_query(parts: &mut http::request::Parts) {
    let Some(query) = parts.uri.query().map(str::to_string) else {
        return;
    };
    for pair in query.split('&') {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        let v = percent_encoding::percent_decode_str(v)
            .decode_utf8_lossy()
            .into_owned();
        let (name, value) = match k {
            "token" => (http::header::HeaderName::from_static("token"), v),
            "apikey" => (http::header::HeaderName::from_static("apikey"), v),
            "access_token" => (http::header::AUTHORIZATION, format!("Bearer {v}")),
            _ => continue,
        };
        if !parts.headers.contains_key(&name)
            && let Ok(value) = http::HeaderValue::from_str(&value)
        {
            parts.headers.insert(name, value);
        }
    }
}

async fn run<S>(app: Arc<App>, mut ws: WebSocketStream<S>, dialect: String, instance_id: String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut feed = app.live.subscribe();
    loop {
        tokio::select! {
            event = feed.recv() => match event {
                Ok(event) if event.instance_id == instance_id => {
                    let body = match app.plugins.render_event(&dialect, &event, crate::plugin::RenderTarget::Stream, None).await {
                        Ok(Some(body)) => body,
                        Ok(None) => continue,
                        Err(e) => {
                            tracing::warn!(error = %format!("{e:#}"), %dialect, "rendering a stream event");
                            continue;
                        }
                    };
                    let text = String::from_utf8_lossy(&body).into_owned();
                    match tokio::time::timeout(SEND_TIMEOUT, ws.send(Message::Text(text.into()))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return,
                        Err(_) => return close(&mut ws, CloseCode::Policy, "client too slow").await,
                    }
                    if matches!(event.payload, EventPayload::InstanceDeleted(_)) {
                        return close(&mut ws, CloseCode::Normal, "instance deleted").await;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => return close(&mut ws, CloseCode::Policy, "client too slow").await,
                Err(RecvError::Closed) => return close(&mut ws, CloseCode::Away, "shutting down").await,
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Ping(p))) => {
                    if ws.send(Message::Pong(p)).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {} // clients have nothing to say on this stream
            },
        }
    }
}

async fn close<S>(ws: &mut WebSocketStream<S>, code: CloseCode, reason: &'static str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(Some(frame))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_their_instance_segment() {
        let routes: Vec<StreamRoute> = [
            ("/ws/{instance}", "ryze"),
            ("/api/v1/sessions/{instance}/events", "sessions-v1"),
        ]
        .into_iter()
        .map(|(path, dialect)| StreamRoute {
            path: path.into(),
            dialect: dialect.into(),
        })
        .collect();
        let (r, i) = match_route(&routes, "/ws/shop").unwrap();
        assert_eq!((r.dialect.as_str(), i.as_str()), ("ryze", "shop"));
        let (r, i) = match_route(&routes, "/api/v1/sessions/01HX/events").unwrap();
        assert_eq!((r.dialect.as_str(), i.as_str()), ("sessions-v1", "01HX"));
        assert!(match_route(&routes, "/ws").is_none());
        assert!(match_route(&routes, "/ws/a/b").is_none());
        assert!(match_route(&routes, "/api/v1/sessions/x/chats").is_none());
    }
}
