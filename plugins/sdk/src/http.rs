//! Request access and response helpers for dialect and auth plugins.

use crate::types::{ConnectionState, CoreError, Header, HttpRequest, HttpResponse, Principal};
use serde::Serialize;
use std::cell::Cell;

/// An inbound request as a dialect sees it: the raw [`HttpRequest`], the caller the
/// mount's auth plugins resolved, and the path relative to the mount.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request exactly as the host passed it.
    pub raw: HttpRequest,
    /// Who is calling; `None` when every auth plugin of the mount skipped.
    pub caller: Option<Principal>,
    /// The path with the mount prefix removed, always starting with `/`.
    pub rel_path: String,
    /// How [`Request::body`] answers a body it cannot read (the router sets it, see
    /// [`crate::router::Router::body_errors`]).
    body_errors: Cell<fn(&BodyError) -> HttpResponse>,
}

/// Why a request body could not be read as the expected JSON.
#[derive(Debug)]
pub enum BodyError {
    /// The body is empty.
    Empty,
    /// The body is not JSON.
    Syntax(serde_json::Error),
    /// The body is JSON, but not of the expected shape (a missing field, a wrong type).
    Shape(serde_json::Error),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Empty => f.write_str("the request body is empty"),
            BodyError::Syntax(e) => write!(f, "the request body is not JSON: {e}"),
            BodyError::Shape(e) => write!(f, "the request body does not fit: {e}"),
        }
    }
}

impl std::error::Error for BodyError {}

/// The answer to a body [`Request::body`] cannot read when no mapper is set: wagate's
/// neutral shape, `400 {"error":{"code":"invalid_body","message":...}}`.
pub fn default_body_error(e: &BodyError) -> HttpResponse {
    json_error(400, "invalid_body", &e.to_string())
}

impl Request {
    /// Wrap a request the host passed to `handle`.
    pub fn new(raw: HttpRequest, caller: Option<Principal>) -> Self {
        let rel_path = relative_path(&raw.path, &raw.mount);
        Self {
            raw,
            caller,
            rel_path,
            body_errors: Cell::new(default_body_error),
        }
    }

    /// Answer unreadable bodies with `mapper` (see [`Request::body`]).
    pub fn with_body_errors(self, mapper: fn(&BodyError) -> HttpResponse) -> Self {
        self.body_errors.set(mapper);
        self
    }

    pub(crate) fn set_body_errors(&self, mapper: fn(&BodyError) -> HttpResponse) {
        self.body_errors.set(mapper);
    }

    /// The body as JSON of type `T`, or the response for a body that is empty, not
    /// JSON or not of that shape, from the body-error mapper (the router's
    /// [`body_errors`](crate::router::Router::body_errors), else
    /// [`default_body_error`]). For `?` in handlers that return a `Result`.
    pub fn body<T: serde::de::DeserializeOwned>(&self) -> Result<T, HttpResponse> {
        let error = if self.raw.body.iter().all(u8::is_ascii_whitespace) {
            BodyError::Empty
        } else {
            match serde_json::from_slice(&self.raw.body) {
                Ok(v) => return Ok(v),
                Err(e) if e.is_data() => BodyError::Shape(e),
                Err(e) => BodyError::Syntax(e),
            }
        };
        Err((self.body_errors.get())(&error))
    }

    /// The HTTP method (`GET`, `POST`, ...).
    pub fn method(&self) -> &str {
        &self.raw.method
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.raw
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The first value of query parameter `name`, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let q = self.raw.query.as_deref()?;
        q.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }

    /// The scheme and host the client addressed, e.g. `https://gw.example.com`: from
    /// `X-Forwarded-Proto` / `X-Forwarded-Host` when a proxy set them, else `http` and
    /// the `Host` header (`localhost` without one). For URLs a dialect hands back to
    /// the client or to a service that must call the gateway (callback URLs).
    pub fn base_url(&self) -> String {
        let first = |name: &str| {
            self.header(name)
                .and_then(|v| v.split(',').next())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let scheme = first("x-forwarded-proto").unwrap_or("http");
        let host = first("x-forwarded-host")
            .or_else(|| first("host"))
            .unwrap_or("localhost");
        format!("{scheme}://{host}")
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.raw.body)
    }
}

/// `path` without the `mount` prefix (`/api/x` under `/api` is `/x`; the mount itself
/// is `/`).
pub fn relative_path(path: &str, mount: &str) -> String {
    let mount = mount.trim_end_matches('/');
    let rest = path.strip_prefix(mount).unwrap_or(path);
    let rest = rest.split('?').next().unwrap_or(rest);
    if rest.is_empty() {
        "/".to_string()
    } else if rest.starts_with('/') {
        rest.to_string()
    } else {
        format!("/{rest}")
    }
}

/// Decode `%XX` escapes and `+` (as a space); invalid escapes are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A header record.
pub fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.to_ascii_lowercase(),
        value: value.to_string(),
    }
}

/// A JSON response with `content-type: application/json`.
pub fn json<T: Serialize + ?Sized>(status: u16, body: &T) -> HttpResponse {
    match serde_json::to_vec(body) {
        Ok(body) => HttpResponse {
            status,
            headers: vec![header("content-type", "application/json")],
            body,
        },
        Err(e) => json_error(500, "internal", &format!("cannot encode response: {e}")),
    }
}

/// A plain-text response.
pub fn text(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![header("content-type", "text/plain; charset=utf-8")],
        body: body.as_bytes().to_vec(),
    }
}

/// wagate's neutral error shape: `{"error":{"code":..,"message":..}}`. Dialects with
/// their own error envelope build it with [`json`] instead.
pub fn json_error(status: u16, code: &str, message: &str) -> HttpResponse {
    json(
        status,
        &serde_json::json!({ "error": { "code": code, "message": message } }),
    )
}

/// The HTTP status wagate uses for a core error (`not-found` 404, `forbidden` 403,
/// `invalid` 400, `conflict` 409, `not-connected` 503, `rate-limited` 429,
/// `internal` 500).
pub fn core_error_status(e: &CoreError) -> u16 {
    match e {
        CoreError::NotFound(..) => 404,
        CoreError::Forbidden(_) => 403,
        CoreError::Invalid(_) => 400,
        CoreError::TooLarge(_) => 413,
        CoreError::Conflict(_) => 409,
        CoreError::NotConnected(_) => 503,
        CoreError::RateLimited(_) => 429,
        CoreError::Internal(_) => 500,
    }
}

/// The stable code of a core error (`not_found`, `forbidden`, ...).
pub fn core_error_code(e: &CoreError) -> &'static str {
    match e {
        CoreError::NotFound(..) => "not_found",
        CoreError::Forbidden(_) => "forbidden",
        CoreError::Invalid(_) => "invalid",
        CoreError::TooLarge(_) => "too_large",
        CoreError::Conflict(_) => "conflict",
        CoreError::NotConnected(_) => "not_connected",
        CoreError::RateLimited(_) => "rate_limited",
        CoreError::Internal(_) => "internal",
    }
}

/// The message carried by a core error.
pub fn core_error_message(e: &CoreError) -> String {
    match e {
        CoreError::NotFound(m) => m.message.clone(),
        CoreError::Forbidden(m)
        | CoreError::Invalid(m)
        | CoreError::TooLarge(m)
        | CoreError::Conflict(m)
        | CoreError::NotConnected(m)
        | CoreError::Internal(m) => m.clone(),
        CoreError::RateLimited(ms) => format!("rate limited, retry after {ms} ms"),
    }
}

/// A core error in wagate's neutral error shape (see [`json_error`]).
pub fn core_error(e: &CoreError) -> HttpResponse {
    json_error(
        core_error_status(e),
        core_error_code(e),
        &core_error_message(e),
    )
}

/// The lower-case name of a connection state (`open`, `connecting`, ...).
pub fn state_name(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Disconnected => "disconnected",
        ConnectionState::Connecting => "connecting",
        ConnectionState::Open => "open",
        ConnectionState::Closed => "closed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative_path("/api/x/y", "/api"), "/x/y");
        assert_eq!(relative_path("/api", "/api"), "/");
        assert_eq!(relative_path("/x", "/"), "/x");
        assert_eq!(relative_path("/api/x?a=1", "/api/"), "/x");
    }

    fn request(headers: &[(&str, &str)]) -> Request {
        Request::new(
            HttpRequest {
                method: "GET".into(),
                path: "/api/x".into(),
                mount: "/api".into(),
                query: None,
                headers: headers.iter().map(|(n, v)| header(n, v)).collect(),
                body: Vec::new(),
            },
            None,
        )
    }

    #[test]
    fn base_urls() {
        assert_eq!(request(&[]).base_url(), "http://localhost");
        assert_eq!(
            request(&[("host", "127.0.0.1:8080")]).base_url(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            request(&[
                ("Host", "internal:8080"),
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Host", "gw.example.com, proxy.local"),
            ])
            .base_url(),
            "https://gw.example.com"
        );
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
