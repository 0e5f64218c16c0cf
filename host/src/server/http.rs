//! Request/response plumbing shared by the native routes.

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::core::model::CoreError;

/// A request with its body already read (size-capped by the server).
pub struct Req {
    /// The request method.
    pub method: Method,
    /// The path as sent, without the query (percent-encoding kept).
    pub path: String,
    /// The raw query string after `?`, if any.
    pub query: Option<String>,
    /// The request headers.
    pub headers: HeaderMap,
    /// The whole body, already read within `max_body_bytes`.
    pub body: Bytes,
}

impl Req {
    /// Path segments after `prefix`, percent-decoded. `None` when a segment is not
    /// valid UTF-8 after decoding.
    pub fn segments(&self, prefix: &str) -> Option<Vec<String>> {
        let rest = self.path.strip_prefix(prefix)?;
        rest.split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .ok()
                    .map(|c| c.into_owned())
            })
            .collect()
    }

    /// A query parameter, percent-decoded (`+` as space).
    pub fn query_param(&self, name: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        q.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| {
                let v = v.replace('+', " ");
                percent_encoding::percent_decode_str(&v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub fn bearer(&self) -> Option<&str> {
        let v = self
            .headers
            .get(http::header::AUTHORIZATION)?
            .to_str()
            .ok()?;
        let (scheme, token) = v.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    }

    /// The body as JSON `T`; an empty body reads as `{}`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("invalid JSON body: {e}"),
            )
        })
    }
}

/// An error in the native shape `{"error":{"code","message"}}`.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status it is answered with.
    pub status: StatusCode,
    /// A stable machine-readable code (`not_found`, `invalid`, ...).
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
}

impl ApiError {
    /// An error with any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404 for a path no route matches.
    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }

    /// 401 with a `WWW-Authenticate: Bearer` challenge (added by `into_response`).
    pub fn unauthorized(message: &str) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 405 for a known path with a method it does not serve.
    pub fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this route",
        )
    }

    /// The error as a JSON response in the native shape.
    pub fn into_response(self) -> Response<Bytes> {
        let mut resp = json(
            self.status,
            &serde_json::json!({"error": {"code": self.code, "message": self.message}}),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

/// The HTTP status the native API answers a core error with (the dialects choose their
/// own in their plugins).
fn core_error_status(e: &CoreError) -> StatusCode {
    match e {
        CoreError::NotFound(..) => StatusCode::NOT_FOUND,
        CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
        CoreError::Invalid(_) => StatusCode::BAD_REQUEST,
        CoreError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        CoreError::Conflict(_) => StatusCode::CONFLICT,
        CoreError::NotConnected(_) => StatusCode::SERVICE_UNAVAILABLE,
        CoreError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError::new(core_error_status(&e), e.code(), e.to_string())
    }
}

/// What a native route handler returns: a response, or an error to render.
pub type ApiResult = Result<Response<Bytes>, ApiError>;

/// A JSON response with the given status.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Bytes> {
    let body = serde_json::to_vec(value).expect("responses serialize infallibly");
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Bytes::from(body))
        .expect("static response parts are valid")
}

/// 200 with a JSON body.
pub fn ok<T: Serialize + ?Sized>(value: &T) -> ApiResult {
    Ok(json(StatusCode::OK, value))
}

/// A stored media file: its bytes with its type, length and (when it has one) file
/// name as `Content-Disposition`, and its checksum as an `ETag`.
pub fn media_response(bytes: Bytes, info: &crate::core::model::MediaInfo) -> Response<Bytes> {
    // The type came from the network or a caller: one that is no valid header value
    // is served as plain bytes.
    let content_type = http::HeaderValue::from_str(&info.mimetype)
        .unwrap_or(http::HeaderValue::from_static("application/octet-stream"));
    let mut b = Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::CONTENT_LENGTH, bytes.len());
    if !info.sha256.is_empty() && info.sha256.bytes().all(|c| c.is_ascii_hexdigit()) {
        b = b.header(http::header::ETAG, format!("\"{}\"", info.sha256));
    }
    if let Some(name) = &info.file_name {
        // Only printable ASCII in the quoted form; other names go percent-encoded.
        let plain: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let encoded =
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
        b = b.header(
            http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}"),
        );
    }
    b.body(bytes)
        .expect("every header value was checked or encoded")
}

/// 204 with no body.
pub fn no_content() -> ApiResult {
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Bytes::new())
        .expect("valid response"))
}

/// A response with a non-JSON body (metrics text, say) and its content type.
pub fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Bytes> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Bytes::from(body))
        .expect("valid response")
}

/// Parses a boolean query flag: `true`/`1` or `false`/`0`; absent is `default`.
pub fn flag(req: &Req, name: &str, default: bool) -> Result<bool, ApiError> {
    match req.query_param(name).as_deref() {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("`{name}` must be true or false, not `{other}`"),
        )),
    }
}
