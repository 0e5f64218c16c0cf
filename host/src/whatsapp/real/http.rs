//! The HTTPS client whatsapp-rust uses for media uploads and downloads (its
//! [`HttpClient`] trait), on hyper + rustls with the host's shared TLS roots
//! ([`crate::outbound::tls_connector`]), instead of the library's default ureq client.
//!
//! Why not ureq: ureq trusts either Mozilla's roots or a fixed list, not both, so
//! `WAGATE_EXTRA_CA_FILE` (an operator's TLS-intercepting proxy, the tests' local
//! media host) could not be honoured without dropping the public roots WhatsApp's
//! CDN needs. One request per connection: media transfers are large and few, so
//! pooling would save little and hold sockets open between them.
//!
//! Non-2xx answers come back as responses (the library reads 401/403/404/410 to
//! refresh its media connection or ask for a re-upload); only transport failures
//! are errors. Bodies are capped; an error page is cut at 64 KiB.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use whatsapp_rust::http::{HttpClient, HttpRequest, HttpResponse};

use super::proxy::Conn;

/// Connecting (TCP + TLS) to a media host.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// One whole request, body included (a 100 MB video on a slow link).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);
/// What is kept of a non-2xx body (diagnostics only).
const ERROR_BODY_CAP: usize = 64 * 1024;

/// whatsapp-rust's media HTTP client.
#[derive(Clone)]
pub struct MediaHttp {
    tls: tokio_rustls::TlsConnector,
    max_body: usize,
    /// The instance whose proxy transfers are dialled through, looked up per
    /// transfer (none: the link-wide client, direct).
    route: Option<(super::proxy::ProxyTable, String)>,
}

impl std::fmt::Debug for MediaHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaHttp")
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

impl MediaHttp {
    /// A client trusting the host's TLS roots, refusing bodies over `max_body` bytes.
    pub fn new(tls: tokio_rustls::TlsConnector, max_body: u64) -> Self {
        MediaHttp {
            tls,
            max_body: usize::try_from(max_body).unwrap_or(usize::MAX),
            route: None,
        }
    }

    /// The same client for one instance: each transfer goes through the proxy the
    /// instance has in `proxies` at that moment.
    pub fn for_instance(&self, proxies: super::proxy::ProxyTable, instance_id: &str) -> Self {
        MediaHttp {
            route: Some((proxies, instance_id.to_string())),
            ..self.clone()
        }
    }

    /// A TCP stream to `host:port`, through the proxy when there is one.
    async fn open(&self, host: &str, port: u16) -> anyhow::Result<Box<dyn Conn>> {
        if let Some(proxy) = self
            .route
            .as_ref()
            .and_then(|(table, id)| super::proxy::lookup(table, id))
        {
            return super::proxy::dial(&proxy, host, port).await;
        }
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port)),
        )
        .await
        .map_err(|_| anyhow::anyhow!("connecting to {host}:{port} timed out"))??;
        Ok(Box::new(stream))
    }

    async fn exchange(&self, request: HttpRequest) -> anyhow::Result<HttpResponse> {
        let uri: http::Uri = request.url.parse()?;
        if uri.scheme_str() != Some("https") {
            anyhow::bail!("media URL `{}` is not https", request.url);
        }
        let host = uri
            .host()
            .ok_or_else(|| anyhow::anyhow!("media URL without a host"))?
            .to_string();
        let port = uri.port_u16().unwrap_or(443);
        let stream = self.open(&host, port).await?;
        let name =
            rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())?;
        let tls = tokio::time::timeout(CONNECT_TIMEOUT, self.tls.connect(name, stream))
            .await
            .map_err(|_| anyhow::anyhow!("TLS handshake with {host}:{port} timed out"))??;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let authority = if port == 443 {
            host.clone()
        } else {
            format!("{host}:{port}")
        };
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(path)
            .header(http::header::HOST, authority);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let body = request.body.unwrap_or_default();
        let resp = sender.send_request(builder.body(Full::new(body))?).await?;
        let status = resp.status().as_u16();
        let cap = if resp.status().is_success() {
            self.max_body
        } else {
            ERROR_BODY_CAP
        };
        let body: Bytes = match Limited::new(resp.into_body(), cap).collect().await {
            Ok(collected) => collected.to_bytes(),
            // A 2xx body over the cap is an error (never a truncated file); an
            // error page is only diagnostics, so its status is what matters.
            Err(e) if status < 300 => anyhow::bail!("media body over {cap} bytes: {e}"),
            Err(_) => Bytes::new(),
        };
        Ok(HttpResponse {
            status_code: status,
            body: body.to_vec(),
        })
    }
}

#[async_trait]
impl HttpClient for MediaHttp {
    async fn execute(&self, request: HttpRequest) -> anyhow::Result<HttpResponse> {
        let url = request.url.clone();
        tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(request))
            .await
            .map_err(|_| anyhow::anyhow!("media request timed out after {REQUEST_TIMEOUT:?}"))?
            .map_err(|e| e.context(format!("media request to {}", redact(&url))))
    }
}

/// A media URL without its query (`auth` and `token` are credentials) for logs.
fn redact(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}
