//! The operator console: a small web app served by the binary itself (every asset is
//! compiled in with `include_str!`: no CDN, no build step, nothing fetched at run
//! time), at `[console] path` (default `/console`; `enabled = false` turns it off).
//!
//! | method | path (under the console path) | what |
//! |---|---|---|
//! | GET | `/`, `/app.js`, `/app.css`, `/strings.js` | the app |
//! | GET/POST/DELETE | `/session` | who is logged in / log in `{token}` / log out |
//! | any | `/api/core/...`, `/api/admin/...` | the native API, as the session's credential |
//! | POST | `/api/qr` | `{text}` as an SVG QR code (pairing) |
//! | GET (WebSocket) | `/api/events` | the session's events, live, in the native JSON |
//!
//! Security: the credential an operator logs in with stays on the server (see
//! [`session`]); the browser holds only an `HttpOnly`, `SameSite=Strict` session
//! cookie. Every request but the static assets must carry `X-Wagate-Console: 1`, which
//! a cross-site form or image cannot send and a cross-site `fetch` cannot send without
//! a CORS preflight that the console never grants; requests a browser marks
//! `Sec-Fetch-Site: cross-site` and WebSockets from another origin are refused too.
//! The HTML carries a strict Content-Security-Policy (scripts and styles from the
//! console only, no inline code).

pub mod live;
mod qr;
pub mod session;

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode, header};
use serde::Deserialize;

use self::session::{Login, Sessions};
use super::App;
use super::http::{ApiError, ApiResult, Req, json, ok};

/// The `[console]` table.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Serve the console at all.
    pub enabled: bool,
    /// Where it is served (an absolute path without a trailing slash).
    pub path: String,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            enabled: true,
            path: "/console".into(),
        }
    }
}

/// The console's state: where it is served and its live sessions.
pub struct Console {
    /// `None` when the console is turned off.
    path: Option<String>,
    /// Cookies get `Secure` when the gateway speaks HTTPS.
    secure: bool,
    sessions: Sessions,
}

impl Console {
    /// The console as configured (`secure`: the server speaks HTTPS).
    pub fn new(config: &ConsoleConfig, secure: bool) -> Console {
        let path = config.path.trim_end_matches('/');
        let path = if path.is_empty() { "/console" } else { path };
        Console {
            path: config.enabled.then(|| path.to_string()),
            secure,
            sessions: Sessions::default(),
        }
    }

    /// The part of `path` under the console, if the console serves it ("" for its root).
    pub fn sub_path<'a>(&self, path: &'a str) -> Option<&'a str> {
        let rest = path.strip_prefix(self.path.as_deref()?)?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }

    /// The login of the session whose cookie the request carries.
    fn login(&self, headers: &HeaderMap) -> Option<(String, Login)> {
        let id = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(session::from_cookie_header)?;
        Some((id.to_string(), self.sessions.get(id)?))
    }

    fn cookie_path(&self) -> &str {
        self.path.as_deref().unwrap_or("/console")
    }
}

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");
const STRINGS_JS: &str = include_str!("assets/strings.js");

/// Scripts, styles and connections from the console's own origin only; nothing inline,
/// no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                   connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Serves one console request (`sub` is the path under the console); returns the
/// metrics route label and the response.
pub async fn handle(app: &App, req: Req, sub: &str) -> (&'static str, ApiResult) {
    match (&req.method, sub) {
        // The page's assets are relative to it: it must be served at `{path}/`.
        (&Method::GET, "") => {
            let to = format!("{}/", app.console.cookie_path());
            let resp = Response::builder()
                .status(StatusCode::PERMANENT_REDIRECT)
                .header(header::LOCATION, to)
                .body(Bytes::new())
                .expect("valid redirect");
            ("console:asset", Ok(resp))
        }
        (&Method::GET, "/") => (
            "console:asset",
            Ok(asset(INDEX_HTML, "text/html; charset=utf-8")),
        ),
        (&Method::GET, "/app.js") => (
            "console:asset",
            Ok(asset(APP_JS, "text/javascript; charset=utf-8")),
        ),
        (&Method::GET, "/strings.js") => (
            "console:asset",
            Ok(asset(STRINGS_JS, "text/javascript; charset=utf-8")),
        ),
        (&Method::GET, "/app.css") => (
            "console:asset",
            Ok(asset(APP_CSS, "text/css; charset=utf-8")),
        ),
        _ => {
            let label = if sub == "/session" {
                "console:session"
            } else {
                "console:api"
            };
            if let Err(e) = same_origin_request(&req.headers) {
                return (label, Err(e));
            }
            (label, api(app, req, sub).await)
        }
    }
}

fn asset(body: &'static str, content_type: &'static str) -> Response<Bytes> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_SECURITY_POLICY, CSP)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Bytes::from_static(body.as_bytes()))
        .expect("valid asset response")
}

/// The console's CSRF guard (see the module docs).
fn same_origin_request(headers: &HeaderMap) -> Result<(), ApiError> {
    let marked = headers
        .get("x-wagate-console")
        .is_some_and(|v| v.as_bytes() == b"1");
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site" || v.as_bytes() == b"same-site");
    if !marked || cross_site {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "console requests must come from the console (X-Wagate-Console: 1, same origin)",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QrBody {
    text: String,
}

async fn api(app: &App, req: Req, sub: &str) -> ApiResult {
    let console = &app.console;
    if sub == "/session" {
        return match req.method {
            Method::POST => login(app, &req).await,
            Method::GET => {
                let (_, who) = console
                    .login(&req.headers)
                    .ok_or_else(|| ApiError::unauthorized("not logged in"))?;
                whoami(app, &who).await
            }
            Method::DELETE => {
                if let Some((id, _)) = console.login(&req.headers) {
                    console.sessions.close(&id);
                }
                let mut resp = json(StatusCode::OK, &serde_json::json!({"logged_out": true}));
                set_cookie(
                    &mut resp,
                    &session::clear_cookie(console.cookie_path(), console.secure),
                );
                Ok(resp)
            }
            _ => Err(ApiError::method_not_allowed()),
        };
    }
    let (_, who) = console
        .login(&req.headers)
        .ok_or_else(|| ApiError::unauthorized("not logged in"))?;
    if sub == "/api/qr" {
        if req.method != Method::POST {
            return Err(ApiError::method_not_allowed());
        }
        // The key may have been revoked since login. (The proxied routes below check it
        // themselves, as they check any bearer.)
        check_login(app, &who).await?;
        let body: QrBody = req.json()?;
        let svg = qr::svg(&body.text).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("cannot draw this text as a QR code: {e}"),
            )
        })?;
        return Ok(super::http::text(StatusCode::OK, "image/svg+xml", svg));
    }
    let (api_prefix, is_admin_api) = if let Some(rest) = sub.strip_prefix("/api/core") {
        (("/core", rest), false)
    } else if let Some(rest) = sub.strip_prefix("/api/admin") {
        (("/admin", rest), true)
    } else {
        return Err(ApiError::not_found());
    };
    if is_admin_api && !matches!(who, Login::Admin(_)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the admin API needs a session logged in with the admin token",
        ));
    }
    let (prefix, rest) = api_prefix;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return Err(ApiError::not_found());
    }
    let mut headers = HeaderMap::new();
    if let Some(ct) = req.headers.get(header::CONTENT_TYPE) {
        headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    let bearer = http::HeaderValue::from_str(&format!("Bearer {}", who.secret()))
        .map_err(|_| ApiError::unauthorized("not logged in"))?;
    headers.insert(header::AUTHORIZATION, bearer);
    let inner = Req {
        method: req.method,
        path: format!("{prefix}{rest}"),
        query: req.query,
        headers,
        body: req.body,
    };
    let (_, result) = if is_admin_api {
        super::admin_api::handle(app, &inner).await
    } else {
        super::core_api::handle(&app.core, &app.plugins.sinks(), &inner).await
    };
    result
}

async fn login(app: &App, req: &Req) -> ApiResult {
    let body: LoginBody = req.json()?;
    let token = body.token.trim().to_string();
    let who = if app.core.check_admin_token(&token) {
        Login::Admin(token)
    } else if app.core.resolve_credential(&token).await.is_some() {
        Login::Credential(token)
    } else {
        return Err(ApiError::unauthorized("this key is not valid"));
    };
    let id = app.console.sessions.open(who.clone());
    let mut resp = whoami(app, &who).await?;
    set_cookie(
        &mut resp,
        &session::set_cookie(&id, app.console.cookie_path(), app.console.secure),
    );
    Ok(resp)
}

async fn check_login(app: &App, who: &Login) -> Result<(), ApiError> {
    let valid = match who {
        Login::Admin(t) => app.core.check_admin_token(t),
        Login::Credential(t) => app.core.resolve_credential(t).await.is_some(),
    };
    if valid {
        Ok(())
    } else {
        Err(ApiError::unauthorized(
            "the key this session logged in with is no longer valid",
        ))
    }
}

/// `{"kind":"admin","sinks":[..]}` or `{"kind":"org","org":..,"capabilities":[..],
/// "instance":..,"sinks":[..]}`; `sinks` are the loaded sink plugins.
async fn whoami(app: &App, who: &Login) -> ApiResult {
    match who {
        Login::Admin(_) => ok(&serde_json::json!({"kind": "admin", "sinks": *app.plugins.sinks()})),
        Login::Credential(t) => {
            let p = app
                .core
                .resolve_credential(t)
                .await
                .ok_or_else(|| ApiError::unauthorized("not logged in"))?;
            // The org's name for the page's header (its id when the name is gone).
            let org_name = app
                .core
                .find_org(&p.org)
                .ok()
                .flatten()
                .map_or_else(|| p.org.clone(), |o| o.name);
            ok(&serde_json::json!({
                "kind": "org",
                "org": p.org,
                "org_name": org_name,
                "capabilities": p.caps,
                "instance": p.instance,
                // What an integration may name (the console offers them).
                "sinks": *app.plugins.sinks(),
            }))
        }
    }
}

fn set_cookie(resp: &mut Response<Bytes>, value: &str) {
    if let Ok(v) = http::HeaderValue::from_str(value) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
}
