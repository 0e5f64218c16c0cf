//! Evolution API's error bodies. Shared with the `evolution-apikey` auth plugin (which
//! includes this file by path), so a refused key looks the same whichever plugin
//! answers.
//!
//! Two shapes exist, as in Evolution API v2:
//! - the exception filter's `{"status":N,"error":"<reason>","response":{"message":[..]}}`
//!   (everywhere; a bare 401 carries `"message":"Unauthorized"`, a string, as
//!   Evolution's `UnauthorizedException()` without arguments does);
//! - the delete route's documented `{"error":true,"message":"..."}`
//!   (`DELETE /instance/delete/{instanceName}`, per the spec's examples).

use serde::Serialize;
use wagate_plugin_sdk::prelude::*;

/// Which error body a route answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// The exception filter's `{"status","error","response":{"message"}}`.
    Evolution,
    /// The delete route's `{"error":true,"message"}`.
    Delete,
}

impl Style {
    /// The style of a request path relative to the mount (`/instance/delete/x` is the
    /// delete route's; everything else Evolution's).
    pub fn of(method: &str, rel_path: &str) -> Style {
        let segs: Vec<&str> = rel_path.split('/').filter(|s| !s.is_empty()).collect();
        if method.eq_ignore_ascii_case("DELETE")
            && matches!(segs.as_slice(), ["instance", "delete", _])
        {
            Style::Delete
        } else {
            Style::Evolution
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a, M: Serialize> {
    status: u16,
    error: &'a str,
    response: Inner<M>,
}

#[derive(Serialize)]
struct Inner<M: Serialize> {
    message: M,
}

#[derive(Serialize)]
struct DeleteError<'a> {
    error: bool,
    message: &'a str,
}

/// The reason phrase Evolution's exception classes put in `error`.
pub fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// `{"status":N,"error":"<reason>","response":{"message":<messages>}}`.
pub fn evolution<M: Serialize>(status: u16, messages: M) -> HttpResponse {
    json(
        status,
        &Envelope {
            status,
            error: reason(status),
            response: Inner { message: messages },
        },
    )
}

/// `evolution(status, [message])`.
pub fn evolution_msg(status: u16, message: &str) -> HttpResponse {
    evolution(status, [message])
}

/// `{"error":true,"message":"..."}` (the delete route's documented shape).
pub fn delete_error(status: u16, message: &str) -> HttpResponse {
    json(
        status,
        &DeleteError {
            error: true,
            message,
        },
    )
}

/// 401 in the route's shape: `{"status":401,"error":"Unauthorized","response":
/// {"message":"Unauthorized"}}`, or `{"error":true,"message":"Unauthorized"}` on the
/// delete route.
pub fn unauthorized(style: Style) -> HttpResponse {
    match style {
        Style::Evolution => evolution(401, "Unauthorized"),
        Style::Delete => delete_error(401, "Unauthorized"),
    }
}

/// Evolution's instance-guard answer for an unknown instance: 404 `The "x" instance
/// does not exist`; on the delete route 400 with the same message, as its spec lists
/// "400 - instance doesn't exist".
pub fn instance_missing(style: Style, name: &str) -> HttpResponse {
    let msg = format!("The \"{name}\" instance does not exist");
    match style {
        Style::Evolution => evolution_msg(404, &msg),
        Style::Delete => delete_error(400, &msg),
    }
}
