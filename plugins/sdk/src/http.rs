//! Request access and response helpers for dialect and auth plugins.

use crate::types::{ConnectionState, CoreError, Header, HttpRequest, HttpResponse, Principal};
use serde::Serialize;

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
}

impl Request {
    /// Wrap a request the host passed to `handle`.
    pub fn new(raw: HttpRequest, caller: Option<Principal>) -> Self {
        let rel_path = relative_path(&raw.path, &raw.mount);
        Self {
            raw,
            caller,
            rel_path,
        }
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
        CoreError::NotFound(_) => 404,
        CoreError::Forbidden(_) => 403,
        CoreError::Invalid(_) => 400,
        CoreError::Conflict(_) => 409,
        CoreError::NotConnected(_) => 503,
        CoreError::RateLimited(_) => 429,
        CoreError::Internal(_) => 500,
    }
}

/// The stable code of a core error (`not_found`, `forbidden`, ...).
pub fn core_error_code(e: &CoreError) -> &'static str {
    match e {
        CoreError::NotFound(_) => "not_found",
        CoreError::Forbidden(_) => "forbidden",
        CoreError::Invalid(_) => "invalid",
        CoreError::Conflict(_) => "conflict",
        CoreError::NotConnected(_) => "not_connected",
        CoreError::RateLimited(_) => "rate_limited",
        CoreError::Internal(_) => "internal",
    }
}

/// The message carried by a core error.
pub fn core_error_message(e: &CoreError) -> String {
    match e {
        CoreError::NotFound(m)
        | CoreError::Forbidden(m)
        | CoreError::Invalid(m)
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

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
