//! The `http-out` grant: outbound HTTP only to the hosts the operator listed for the
//! plugin, with host-owned timeouts and body caps.
//!
//! `http://` and `https://` (rustls, with the Mozilla roots of `webpki-roots`, plus the
//! PEM certificates in the file named by `WAGATE_EXTRA_CA_FILE` for private CAs).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use wasmtime::component::{HasData, Linker};

use crate::plugin::bindings::http_out::{
    self as wit, HttpError, OutboundRequest, OutboundResponse,
};
use crate::plugin::bindings::types::Header;
use crate::plugin::manifest::HttpOutGrant;
use crate::plugin::state::{AuthCall, CallBase, CallState, DialectCall, SinkCall};

/// The effective outbound policy of one plugin.
#[derive(Clone, Debug)]
pub struct HttpOutPolicy {
    /// Allowed `(host, port)` pairs, hosts lower-case; `None` port means the scheme's
    /// default port only.
    allow: Vec<(String, Option<u16>)>,
    /// Upper bound of one request's timeout.
    pub max_timeout: Duration,
    /// Request and response body cap.
    pub max_body: usize,
}

impl HttpOutPolicy {
    /// The policy of a grant.
    pub fn from_grant(g: &HttpOutGrant) -> Self {
        let allow = g
            .hosts
            .iter()
            .map(|h| {
                let h = h.to_ascii_lowercase();
                // `[::1]:8080`, `host:8080`, `host`
                match h.rsplit_once(':') {
                    Some((host, port)) if !host.is_empty() && !port.contains(']') => {
                        match port.parse() {
                            Ok(p) => (host.trim_matches(['[', ']']).to_string(), Some(p)),
                            Err(_) => (h.trim_matches(['[', ']']).to_string(), None),
                        }
                    }
                    _ => (h.trim_matches(['[', ']']).to_string(), None),
                }
            })
            .collect();
        Self {
            allow,
            max_timeout: Duration::from_millis(g.timeout_ms.max(1)),
            max_body: g.max_body_bytes,
        }
    }

    /// Whether `host:port` may be reached (`default_port` is the scheme's).
    pub fn allows(&self, host: &str, port: u16, default_port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let host = host.trim_matches(['[', ']']);
        self.allow
            .iter()
            .any(|(h, p)| h == host && p.unwrap_or(default_port) == port)
    }
}

/// What one call adds to the plugin's allowlist: for a sink's `deliver`, the
/// destination (a webhook URL its owner set) and the headers to add on every request to
/// it; nothing in other calls.
#[derive(Default)]
pub struct HttpOutCtx {
    /// One more `host:port` this call may reach.
    pub destination: Option<crate::util::Origin>,
    /// Headers added to every request to `destination`'s origin (same scheme, host and
    /// port: an integration's secret headers, e.g. Chatwoot's `api_access_token`),
    /// replacing same-named ones the guest set. The guest never sees their values.
    pub destination_secret_headers: Vec<(String, String)>,
}

/// The grant's view of one call.
pub struct HttpOutView<'a> {
    ctx: &'a HttpOutCtx,
    base: &'a mut CallBase,
}

/// Store data that hands out the `http-out` view (every world may be granted it; the
/// allowlist is the plugin's, the destination the call's).
pub trait HasHttpOut {
    /// This call's view.
    fn http_out(&mut self) -> HttpOutView<'_>;
}

macro_rules! with_http_out {
    ($($t:ty),*) => {$(
        impl HasHttpOut for $t {
            fn http_out(&mut self) -> HttpOutView<'_> {
                HttpOutView { ctx: &self.http_out, base: &mut self.base }
            }
        }
    )*};
}
with_http_out!(AuthCall, DialectCall, SinkCall);

struct Grant;

impl HasData for Grant {
    type Data<'a> = HttpOutView<'a>;
}

/// Link `wagate:plugin/http-out`.
pub fn add_to_linker<T: CallState + HasHttpOut>(linker: &mut Linker<T>) -> anyhow::Result<()> {
    wit::add_to_linker::<T, Grant>(linker, T::http_out)?;
    Ok(())
}

impl wit::Host for HttpOutView<'_> {
    async fn fetch(
        &mut self,
        req: OutboundRequest,
    ) -> wasmtime::Result<Result<OutboundResponse, HttpError>> {
        let policy = self.base.plugin.http_out.clone();
        let uri: http::Uri = match req.url.parse() {
            Ok(u) => u,
            Err(e) => {
                return Ok(Err(HttpError::Failed(format!(
                    "bad url `{}`: {e}",
                    req.url
                ))));
            }
        };
        let (scheme_port, https) = match uri.scheme_str() {
            Some("http") => (80, false),
            Some("https") => (443, true),
            _ => {
                return Ok(Err(HttpError::Failed(format!(
                    "url `{}` is not http(s)",
                    req.url
                ))));
            }
        };
        let Some(host) = uri.host().map(str::to_string) else {
            return Ok(Err(HttpError::Failed(format!(
                "url `{}` has no host",
                req.url
            ))));
        };
        let port = uri.port_u16().unwrap_or(scheme_port);
        let destination = self.ctx.destination.as_ref().filter(|d| {
            d.host.eq_ignore_ascii_case(host.trim_matches(['[', ']'])) && d.port == port
        });
        let is_destination = destination.is_some();
        if !is_destination && !policy.allows(&host, port, scheme_port) {
            self.base
                .plugin
                .counters
                .http_out_denied
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(plugin = %self.base.plugin.name, %host, port, "http-out denied: not on the allowlist");
            return Ok(Err(HttpError::Denied(format!(
                "{host}:{port} is not on this plugin's http-out allowlist"
            ))));
        }
        let mut req = req;
        // Secret headers only over the destination's own scheme: an `https` integration's
        // token must not go out in clear to `http://` on the same host and port.
        if destination.is_some_and(|d| d.https == https) {
            inject_secret_headers(&mut req.headers, &self.ctx.destination_secret_headers);
        }
        if req.body.len() > policy.max_body {
            return Ok(Err(HttpError::Failed(format!(
                "request body over {} bytes",
                policy.max_body
            ))));
        }
        let timeout = match req.timeout_ms {
            0 => policy.max_timeout,
            ms => Duration::from_millis(ms.into()).min(policy.max_timeout),
        };
        let result = self
            .base
            .host_call(async move {
                tokio::time::timeout(timeout, send(host, port, https, uri, req, policy.max_body))
                    .await
            })
            .await;
        Ok(match result {
            Ok(Err(HttpError::Denied(why))) => {
                // The outbound guard refused the address the host resolved to.
                self.base
                    .plugin
                    .counters
                    .http_out_denied
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(plugin = %self.base.plugin.name, reason = %why, "http-out denied: refused address");
                Err(HttpError::Denied(why))
            }
            Ok(r) => r,
            Err(_) => Err(HttpError::Timeout),
        })
    }
}

/// Adds the destination's secret headers, replacing any the guest set under the same
/// names (case-insensitively), so a guest can neither read nor override them.
fn inject_secret_headers(headers: &mut Vec<Header>, secrets: &[(String, String)]) {
    if secrets.is_empty() {
        return;
    }
    headers.retain(|h| !secrets.iter().any(|(n, _)| n.eq_ignore_ascii_case(&h.name)));
    headers.extend(secrets.iter().map(|(name, value)| Header {
        name: name.clone(),
        value: value.clone(),
    }));
}

fn failed(what: &str, e: &dyn std::fmt::Display) -> HttpError {
    HttpError::Failed(format!("{what}: {e}"))
}

fn tls_connector() -> Result<tokio_rustls::TlsConnector, HttpError> {
    crate::outbound::tls_connector().map_err(|e| HttpError::Failed(format!("tls setup: {e}")))
}

async fn send(
    host: String,
    port: u16,
    https: bool,
    uri: http::Uri,
    req: OutboundRequest,
    max_body: usize,
) -> Result<OutboundResponse, HttpError> {
    // Through the outbound guard: only an address the policy allows is dialled.
    let stream = crate::outbound::connect(&host, port)
        .await
        .map_err(|e| match e {
            crate::outbound::ConnectError::Refused(why) => HttpError::Denied(why),
            crate::outbound::ConnectError::Io(e) => failed("connect", &e),
        })?;
    if https {
        let name =
            rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())
                .map_err(|e| failed("tls server name", &e))?;
        let tls = tls_connector()?
            .connect(name, stream)
            .await
            .map_err(|e| failed("tls handshake", &e))?;
        exchange(TokioIo::new(tls), host, port, 443, uri, req, max_body).await
    } else {
        exchange(TokioIo::new(stream), host, port, 80, uri, req, max_body).await
    }
}

/// One HTTP/1.1 request/response over an established (plain or TLS) connection.
async fn exchange<S>(
    io: S,
    host: String,
    port: u16,
    default_port: u16,
    uri: http::Uri,
    req: OutboundRequest,
    max_body: usize,
) -> Result<OutboundResponse, HttpError>
where
    S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| failed("handshake", &e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let mut builder = http::Request::builder()
        .method(req.method.as_str())
        .uri(path);
    let host_header = if port == default_port {
        host.clone()
    } else {
        format!("{host}:{port}")
    };
    builder = builder.header(http::header::HOST, host_header);
    for Header { name, value } in &req.headers {
        // The host frames the message and names the host itself: a guest's (or a stored
        // webhook's) `Content-Length: 0` would otherwise cut the body off.
        if crate::core::webhooks::is_framing_header(name) {
            continue;
        }
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = builder
        .body(Full::new(Bytes::from(req.body)))
        .map_err(|e| failed("request", &e))?;
    let resp = sender
        .send_request(request)
        .await
        .map_err(|e| failed("send", &e))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| Header {
            name: k.as_str().to_string(),
            value: String::from_utf8_lossy(v.as_bytes()).into_owned(),
        })
        .collect();
    let body = Limited::new(resp.into_body(), max_body)
        .collect()
        .await
        .map_err(|e| HttpError::Failed(format!("response body (cap {max_body} bytes): {e}")))?
        .to_bytes()
        .to_vec();
    Ok(OutboundResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_headers_replace_the_guests() {
        let h = |n: &str, v: &str| Header {
            name: n.into(),
            value: v.into(),
        };
        let mut headers = vec![h("API_ACCESS_TOKEN", "forged"), h("content-type", "x")];
        inject_secret_headers(&mut headers, &[("api_access_token".into(), "real".into())]);
        let names: Vec<_> = headers.iter().map(|h| (&*h.name, &*h.value)).collect();
        assert_eq!(
            names,
            vec![("content-type", "x"), ("api_access_token", "real")]
        );
    }

    #[tokio::test]
    async fn only_the_allowlist_and_the_calls_destination_are_reached() {
        use crate::plugin::bindings::http_out::Host;
        let mut base = super::super::tests::base(
            "[grants]\nimports = [\"http-out\"]\n[grants.http_out]\nhosts = [\"allowed.invalid\"]\n",
        );
        let get = |url: &str| OutboundRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms: 200,
        };
        let none = HttpOutCtx::default();
        let mut view = HttpOutView {
            ctx: &none,
            base: &mut base,
        };
        let denied = view.fetch(get("http://dest.invalid/hook")).await.unwrap();
        assert!(matches!(denied, Err(HttpError::Denied(_))), "{denied:?}");
        // The allowlisted host is let through (and fails to resolve: `.invalid`).
        let tried = view.fetch(get("http://allowed.invalid/")).await.unwrap();
        assert!(!matches!(tried, Err(HttpError::Denied(_))), "{tried:?}");

        // A delivery's destination is reachable during that call only.
        let deliver = HttpOutCtx {
            destination: crate::util::Origin::of("http://dest.invalid/hook"),
            destination_secret_headers: Vec::new(),
        };
        let mut view = HttpOutView {
            ctx: &deliver,
            base: &mut base,
        };
        let tried = view.fetch(get("http://dest.invalid/hook")).await.unwrap();
        assert!(!matches!(tried, Err(HttpError::Denied(_))), "{tried:?}");
        let denied = view.fetch(get("http://dest.invalid:8080/")).await.unwrap();
        assert!(matches!(denied, Err(HttpError::Denied(_))), "{denied:?}");
    }

    #[test]
    fn allowlist() {
        let p = HttpOutPolicy::from_grant(&HttpOutGrant {
            hosts: vec![
                "Example.com".into(),
                "127.0.0.1:8080".into(),
                "[::1]:9000".into(),
            ],
            ..Default::default()
        });
        assert!(p.allows("example.com", 80, 80));
        assert!(p.allows("example.com", 443, 443));
        assert!(!p.allows("example.com", 8080, 80));
        assert!(p.allows("127.0.0.1", 8080, 80));
        assert!(!p.allows("127.0.0.1", 80, 80));
        assert!(p.allows("[::1]", 9000, 80));
        assert!(!p.allows("evil.com", 80, 80));
    }
}
