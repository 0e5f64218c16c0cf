//! Fetching a media source given as a URL, for a caller: the host does it, never a
//! plugin, so the SSRF guard, the size cap and the timeouts hold whatever dialect asked.
//!
//! Every connection goes through [`crate::outbound::connect`] (loopback, private,
//! link-local and metadata addresses refused unless `[outbound] allow`), redirects are
//! followed by hand up to [`MediaConfig::max_redirects`] so each new location is checked
//! the same way, and the body is read frame by frame against
//! [`MediaConfig::max_bytes`]: a server that lies about (or omits) its length is cut
//! off at the cap, not buffered whole.
//!
//! For an instance with a proxy, every connection goes through the proxy instead
//! ([`crate::whatsapp::real::proxy::dial`], the dialler its WhatsApp connection uses).
//! The SSRF guard still holds for the URL: its host is resolved and checked here
//! ([`crate::outbound::allowed_addrs`]) and the proxy is handed the checked address,
//! not the name (which it could resolve to something else). The proxy's own address
//! was checked when it was set, and is checked again at each dial.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

use super::MediaConfig;
use crate::core::proxy::Proxy;
use crate::whatsapp::real::proxy::Conn;

/// What a URL delivered.
#[derive(Debug)]
pub struct Fetched {
    /// The body.
    pub bytes: Bytes,
    /// The response's `Content-Type`, if any (a hint: see [`super::sniff::resolve`]).
    pub content_type: Option<String>,
    /// A file name from `Content-Disposition` or the URL's last path segment.
    pub file_name: Option<String>,
}

/// Why a URL could not be fetched; each reads as a caller's error, never the gateway's.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Not an `http(s)://` URL with a host.
    #[error("media URL is not valid: {0}")]
    Invalid(String),
    /// The SSRF guard refused the address the URL (or a redirect) leads to.
    #[error("media URL refused: {0}")]
    Refused(String),
    /// The server could not be reached, answered an error status, or timed out.
    #[error("media URL unreachable: {0}")]
    Unreachable(String),
    /// The body is larger than the cap (bytes).
    #[error("media is larger than {0} bytes")]
    TooLarge(u64),
}

/// Fetches `url` under `config`'s cap, timeouts and redirect bound, through `proxy`
/// when given.
pub async fn fetch(
    url: &str,
    config: &MediaConfig,
    proxy: Option<&Proxy>,
) -> Result<Fetched, FetchError> {
    let total = Duration::from_millis(config.fetch_timeout_ms);
    match tokio::time::timeout(total, follow(url, config, proxy)).await {
        Ok(r) => r,
        Err(_) => Err(FetchError::Unreachable(format!(
            "no complete answer within {} ms",
            config.fetch_timeout_ms
        ))),
    }
}

async fn follow(
    url: &str,
    config: &MediaConfig,
    proxy: Option<&Proxy>,
) -> Result<Fetched, FetchError> {
    let mut current =
        url::Url::parse(url.trim()).map_err(|e| FetchError::Invalid(e.to_string()))?;
    let mut redirects = 0;
    loop {
        let resp = get(&current, config, proxy).await?;
        let status = resp.status();
        if status.is_redirection() {
            if redirects >= config.max_redirects {
                return Err(FetchError::Unreachable(format!(
                    "more than {} redirects",
                    config.max_redirects
                )));
            }
            redirects += 1;
            let location = resp
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    FetchError::Unreachable(format!("{status} without a Location header"))
                })?;
            current = current
                .join(location)
                .map_err(|e| FetchError::Unreachable(format!("bad redirect location: {e}")))?;
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::Unreachable(format!(
                "the server answered {status}"
            )));
        }
        let max = config.max_bytes;
        let announced = resp
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > max) {
            return Err(FetchError::TooLarge(max));
        }
        let content_type = header(&resp, http::header::CONTENT_TYPE);
        let file_name = header(&resp, http::header::CONTENT_DISPOSITION)
            .as_deref()
            .and_then(disposition_file_name)
            .or_else(|| url_file_name(&current));
        let mut body = resp.into_body();
        let mut buf = BytesMut::with_capacity(announced.unwrap_or(0).min(max) as usize);
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| FetchError::Unreachable(format!("reading the body: {e}")))?;
            if let Ok(data) = frame.into_data() {
                if buf.len() as u64 + data.len() as u64 > max {
                    return Err(FetchError::TooLarge(max));
                }
                buf.extend_from_slice(&data);
            }
        }
        return Ok(Fetched {
            bytes: buf.freeze(),
            content_type,
            file_name,
        });
    }
}

fn header(resp: &http::Response<hyper::body::Incoming>, name: http::HeaderName) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// One GET through the outbound guard (and the proxy, when given), plain or TLS.
async fn get(
    url: &url::Url,
    config: &MediaConfig,
    proxy: Option<&Proxy>,
) -> Result<http::Response<hyper::body::Incoming>, FetchError> {
    let https = match url.scheme() {
        "http" => false,
        "https" => true,
        other => {
            return Err(FetchError::Invalid(format!(
                "scheme `{other}` (expected http or https)"
            )));
        }
    };
    let host = url
        .host_str()
        .ok_or_else(|| FetchError::Invalid("the URL has no host".into()))?
        .to_string();
    let port = url
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    let stream = tokio::time::timeout(
        Duration::from_millis(config.connect_timeout_ms),
        open(&host, port, proxy),
    )
    .await
    .map_err(|_| {
        FetchError::Unreachable(format!(
            "connecting to {host}:{port} took longer than {} ms",
            config.connect_timeout_ms
        ))
    })??;
    let host_header = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let request = http::Request::get(path)
        .header(http::header::HOST, host_header)
        .header(http::header::USER_AGENT, "wagate")
        .body(Empty::<Bytes>::new())
        .map_err(|e| FetchError::Invalid(e.to_string()))?;
    let unreachable = |what: &str, e: &dyn std::fmt::Display| {
        FetchError::Unreachable(format!("{what} with {host}:{port}: {e}"))
    };
    if https {
        let name =
            rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())
                .map_err(|e| FetchError::Invalid(format!("tls server name: {e}")))?;
        let tls = crate::outbound::tls_connector()
            .map_err(|e| FetchError::Unreachable(format!("tls setup: {e}")))?
            .connect(name, stream)
            .await
            .map_err(|e| unreachable("tls handshake", &e))?;
        exchange(TokioIo::new(tls), request)
            .await
            .map_err(|e| unreachable("request", &e))
    } else {
        exchange(TokioIo::new(stream), request)
            .await
            .map_err(|e| unreachable("request", &e))
    }
}

/// A stream to `host:port` the outbound policy allows: direct, or through `proxy` to
/// an address checked here.
async fn open(host: &str, port: u16, proxy: Option<&Proxy>) -> Result<Box<dyn Conn>, FetchError> {
    let refused = |e| match e {
        crate::outbound::ConnectError::Refused(why) => FetchError::Refused(why),
        crate::outbound::ConnectError::Io(e) => {
            FetchError::Unreachable(format!("connecting to {host}:{port}: {e}"))
        }
    };
    let Some(proxy) = proxy else {
        let stream = crate::outbound::connect(host, port)
            .await
            .map_err(refused)?;
        return Ok(Box::new(stream));
    };
    let addrs = crate::outbound::allowed_addrs(host, port)
        .await
        .map_err(refused)?;
    let mut last = None;
    for addr in addrs {
        match crate::whatsapp::real::proxy::dial(proxy, &addr.ip().to_string(), port).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(FetchError::Unreachable(format!(
        "connecting to {host}:{port} through the instance's proxy: {:#}",
        last.unwrap_or_else(|| anyhow::anyhow!("no address"))
    )))
}

async fn exchange<S>(
    io: S,
    request: http::Request<Empty<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, hyper::Error>
where
    S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender.send_request(request).await
}

/// `attachment; filename="report.pdf"` -> `report.pdf` (the plain `filename` form; a
/// name with a path is cut to its last part).
fn disposition_file_name(value: &str) -> Option<String> {
    value.split(';').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("filename") {
            return None;
        }
        clean_name(v.trim().trim_matches('"'))
    })
}

fn url_file_name(url: &url::Url) -> Option<String> {
    let last = url.path_segments()?.next_back()?;
    let decoded = percent_encoding::percent_decode_str(last)
        .decode_utf8()
        .ok()?;
    clean_name(&decoded).filter(|n| n.contains('.'))
}

fn clean_name(name: &str) -> Option<String> {
    let name = name.rsplit(['/', '\\']).next()?.trim();
    (!name.is_empty() && name.len() <= 255 && !name.chars().any(char::is_control))
        .then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_from_headers_and_urls() {
        assert_eq!(
            disposition_file_name(r#"attachment; filename="a b.pdf""#).as_deref(),
            Some("a b.pdf")
        );
        assert_eq!(
            disposition_file_name("inline; filename=../../x.png").as_deref(),
            Some("x.png")
        );
        assert_eq!(disposition_file_name("inline"), None);
        let u = url::Url::parse("http://h/files/photo%201.jpg?x=1").unwrap();
        assert_eq!(url_file_name(&u).as_deref(), Some("photo 1.jpg"));
        let u = url::Url::parse("http://h/download").unwrap();
        assert_eq!(url_file_name(&u), None);
    }

    #[tokio::test]
    async fn bad_urls_are_the_callers_error() {
        let c = MediaConfig::default();
        assert!(matches!(
            fetch("not a url", &c, None).await,
            Err(FetchError::Invalid(_))
        ));
        assert!(matches!(
            fetch("ftp://example.com/x", &c, None).await,
            Err(FetchError::Invalid(_))
        ));
        // No allowance is installed in unit tests: loopback is refused.
        assert!(matches!(
            fetch("http://127.0.0.1:9/x.png", &c, None).await,
            Err(FetchError::Refused(_))
        ));
    }
}
