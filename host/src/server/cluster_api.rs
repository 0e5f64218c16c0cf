//! `POST /_cluster/link`: the link calls other nodes of the cluster forward to this one
//! because this node runs the instance's session (see `whatsapp::cluster`). Only nodes
//! present the shared secret; on a gateway outside cluster mode the route does not
//! exist.

use http::{Method, StatusCode};

use super::http::{ApiError, ApiResult, Req, ok};
use crate::whatsapp::cluster::{ForwardedCall, SECRET_HEADER};

/// Runs one forwarded call; the body is the call's `Result` as JSON.
pub(super) async fn handle(app: &super::App, req: &Req) -> (&'static str, ApiResult) {
    const ROUTE: &str = "cluster:link";
    let Some(coordinator) = &app.cluster else {
        return (ROUTE, Err(ApiError::not_found()));
    };
    let presented = req
        .headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !coordinator.link().accepts(presented) {
        return (
            ROUTE,
            Err(ApiError::unauthorized("missing or invalid node secret")),
        );
    }
    if req.method != Method::POST {
        return (
            ROUTE,
            Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "forwarded link calls are POSTed",
            )),
        );
    }
    let call: ForwardedCall = match serde_json::from_slice(&req.body) {
        Ok(call) => call,
        Err(e) => {
            return (
                ROUTE,
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_call",
                    format!("not a forwarded link call: {e}"),
                )),
            );
        }
    };
    (ROUTE, ok(&coordinator.link().serve_forwarded(call).await))
}
