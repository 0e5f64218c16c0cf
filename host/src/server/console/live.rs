//! The console's live feed: a WebSocket at `{console}/api/events` carrying the events
//! the session's credential may see (its org's, or the instance it is bound to; every
//! org's for the admin token), one native JSON event per text frame (the body native
//! webhooks get). It is what turns an instance "connected" on the page without a
//! reload. The same backpressure rule as the dialect streams: a client that stalls is
//! closed. The credential is re-checked every [`RECHECK`], so a revoked key or a
//! logout ends the feed.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Response, StatusCode, header};
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::tungstenite::Message;

use super::session::Login;
use crate::core::model::Event;
use crate::server::App;
use crate::server::http::ApiError;
use crate::server::stream::{SEND_TIMEOUT, Socket};

/// How often an open feed re-checks its session and credential.
pub const RECHECK: Duration = Duration::from_secs(15);

/// Answers the WebSocket handshake for `{console}/api/events` and runs the feed.
pub async fn upgrade<B: Send + 'static>(app: &Arc<App>, req: hyper::Request<B>) -> Response<Bytes> {
    // Browsers always send Origin on a WebSocket; one from another site is a
    // cross-site WebSocket hijack attempt riding the session cookie.
    if !same_origin(req.headers()) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "cross-origin console feed refused",
        )
        .into_response();
    }
    let Some((session_id, who)) = app.console.login(req.headers()) else {
        return ApiError::unauthorized("not logged in").into_response();
    };
    let Some(scope) = scope_of(app, &who).await else {
        return ApiError::unauthorized("the key this session logged in with is no longer valid")
            .into_response();
    };
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned() else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "missing Sec-WebSocket-Key",
        )
        .into_response();
    };
    let app = app.clone();
    crate::server::stream::accept(req, &key, move |ws| run(app, ws, session_id, who, scope))
}

/// Which events a session sees.
#[derive(Clone, Debug)]
enum Scope {
    Everything,
    Org {
        org: String,
        instance: Option<String>,
    },
}

impl Scope {
    fn admits(&self, event: &Event) -> bool {
        match self {
            Scope::Everything => true,
            Scope::Org { org, instance } => {
                event.org == *org && instance.as_ref().is_none_or(|i| *i == event.instance_id)
            }
        }
    }
}

async fn scope_of(app: &App, who: &Login) -> Option<Scope> {
    match who {
        Login::Admin(t) => app.core.check_admin_token(t).then_some(Scope::Everything),
        Login::Credential(t) => {
            let p = app.core.resolve_credential(t).await?;
            Some(Scope::Org {
                org: p.org,
                instance: p.instance,
            })
        }
    }
}

fn same_origin(headers: &http::HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => {
            let authority = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
        }
        // Not a browser (browsers always send Origin on a WebSocket): the cookie is
        // then the caller's own.
        (None, _) => true,
        (Some(_), None) => false,
    }
}

async fn run(app: Arc<App>, mut ws: Socket, session_id: String, who: Login, scope: Scope) {
    let mut feed = app.live.subscribe();
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    loop {
        tokio::select! {
            event = feed.recv() => match event {
                Ok(event) if scope.admits(&event) => {
                    let Ok(text) = serde_json::to_string(&*event) else { continue };
                    match tokio::time::timeout(SEND_TIMEOUT, ws.send(Message::Text(text.into()))).await {
                        Ok(Ok(())) => {}
                        _ => return,
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => {
                    let _ = ws.close(None).await;
                    return;
                }
            },
            _ = recheck.tick() => {
                let still = app.console.sessions.get(&session_id).is_some_and(|w| w == who)
                    && scope_of(&app, &who).await.is_some();
                if !still {
                    let _ = ws.close(None).await;
                    return;
                }
            }
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Ping(p))) => {
                    if ws.send(Message::Pong(p)).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
