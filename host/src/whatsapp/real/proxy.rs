//! Dialling WhatsApp (and its media hosts) through an instance's proxy.
//!
//! [`dial`] opens a TCP stream to a target `host:port` through an HTTP `CONNECT`
//! proxy (plain or over TLS), a SOCKS5 proxy (optionally with username/password,
//! RFC 1929) or a SOCKS4a one. Each is a few lines of handshake, written here rather
//! than pulled in as crates (the build budget). The target name is handed to the
//! proxy unresolved, so DNS happens where the traffic leaves.
//!
//! The proxy itself is dialled through the gateway's outbound policy
//! ([`crate::outbound::connect`]), like webhooks.
//!
//! [`InstanceTransportFactory`] looks the instance's proxy up in the link's
//! [`ProxyTable`] at every connection attempt (so a proxy set, fixed or removed
//! applies at the next attempt, no restart needed): none, and it is whatsapp-rust's
//! stock WebSocket factory; one, and the TCP stream comes from [`dial`], with the
//! library's own TLS (WhatsApp's roots) and WebSocket upgrade (`Origin:
//! https://web.whatsapp.com`) over it. A proxy that fails is logged with its reason
//! and marks the session's status ([`super::session::Status::proxy_error`]); the
//! supervisor's backoff paces the retries as for any failed attempt. The media HTTP
//! client looks it up the same way ([`super::http::MediaHttp::for_instance`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use whatsapp_rust::transport::{Connector, Transport, TransportEvent, TransportFactory};

use super::session::Status;
use crate::core::proxy::{Proxy, ProxyProtocol};

/// The link's instances that have a proxy, by instance id; read at every dial.
pub type ProxyTable = Arc<std::sync::Mutex<std::collections::HashMap<String, Proxy>>>;

/// The instance's proxy now, if any.
pub fn lookup(table: &ProxyTable, instance_id: &str) -> Option<Proxy> {
    table
        .lock()
        .expect("proxy table lock")
        .get(instance_id)
        .cloned()
}

/// Reaching the proxy and getting its go-ahead.
const DIAL_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest HTTP `CONNECT` answer read.
const MAX_CONNECT_REPLY: usize = 8 * 1024;
/// The Origin WhatsApp's web socket expects (the stock factory's default).
const WHATSAPP_WEB_ORIGIN: &str = "https://web.whatsapp.com";

/// A byte stream to the target, whatever carried it.
pub trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

/// Opens a stream to `host:port` through `proxy`; the error says which step failed
/// (unreachable, refused credentials, refused target).
pub async fn dial(proxy: &Proxy, host: &str, port: u16) -> anyhow::Result<Box<dyn Conn>> {
    let host = host.trim_matches(['[', ']']);
    tokio::time::timeout(DIAL_TIMEOUT, dial_inner(proxy, host, port))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "proxy {} did not connect within {} s",
                proxy.address(),
                DIAL_TIMEOUT.as_secs()
            )
        })?
}

async fn dial_inner(proxy: &Proxy, host: &str, port: u16) -> anyhow::Result<Box<dyn Conn>> {
    // The outbound policy applies to the proxy (set by a tenant); what lies behind
    // it is the proxy's business.
    let tcp = crate::outbound::connect(&proxy.host, proxy.port)
        .await
        .map_err(|e| anyhow::anyhow!("proxy {} unreachable: {e}", proxy.address()))?;
    let _ = tcp.set_nodelay(true);
    match proxy.protocol {
        ProxyProtocol::Http => http_connect(tcp, proxy, host, port).await,
        ProxyProtocol::Https => {
            let tls = crate::outbound::tls_connector().map_err(|e| anyhow::anyhow!(e))?;
            let name = rustls::pki_types::ServerName::try_from(
                proxy.host.trim_matches(['[', ']']).to_string(),
            )?;
            let stream = tls
                .connect(name, tcp)
                .await
                .map_err(|e| anyhow::anyhow!("TLS with proxy {}: {e}", proxy.address()))?;
            http_connect(stream, proxy, host, port).await
        }
        ProxyProtocol::Socks5 => socks5(tcp, proxy, host, port).await,
        ProxyProtocol::Socks4 => socks4(tcp, proxy, host, port).await,
    }
}

/// HTTP `CONNECT host:port`, with Basic credentials when given.
async fn http_connect<S: Conn + 'static>(
    mut stream: S,
    proxy: &Proxy,
    host: &str,
    port: u16,
) -> anyhow::Result<Box<dyn Conn>> {
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(user) = &proxy.username {
        let pair = format!("{user}:{}", proxy.password.as_deref().unwrap_or(""));
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        request.push_str(&format!("Proxy-Authorization: Basic {encoded}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    stream.flush().await?;
    // Byte by byte up to the blank line: nothing past the proxy's answer may be
    // consumed (the target's first bytes belong to TLS / the WebSocket).
    let mut reply = Vec::with_capacity(128);
    while !reply.ends_with(b"\r\n\r\n") {
        if reply.len() >= MAX_CONNECT_REPLY {
            anyhow::bail!("proxy {}: CONNECT answer too long", proxy.address());
        }
        let byte = stream
            .read_u8()
            .await
            .map_err(|e| anyhow::anyhow!("proxy {} closed during CONNECT: {e}", proxy.address()))?;
        reply.push(byte);
    }
    let status_line = String::from_utf8_lossy(&reply);
    let status_line = status_line.lines().next().unwrap_or_default();
    let code = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(200..=299) => Ok(Box::new(stream)),
        Some(407) => anyhow::bail!(
            "proxy {} refused the credentials (407 Proxy Authentication Required)",
            proxy.address()
        ),
        _ => anyhow::bail!(
            "proxy {} refused CONNECT {target}: {status_line}",
            proxy.address()
        ),
    }
}

/// SOCKS5 (RFC 1928), username/password (RFC 1929) when a username is set.
async fn socks5(
    mut stream: tokio::net::TcpStream,
    proxy: &Proxy,
    host: &str,
    port: u16,
) -> anyhow::Result<Box<dyn Conn>> {
    let at = proxy.address();
    let greeting: &[u8] = if proxy.username.is_some() {
        &[5, 2, 0, 2]
    } else {
        &[5, 1, 0]
    };
    stream.write_all(greeting).await?;
    let mut choice = [0u8; 2];
    stream
        .read_exact(&mut choice)
        .await
        .map_err(|e| anyhow::anyhow!("proxy {at} closed during the SOCKS5 greeting: {e}"))?;
    if choice[0] != 5 {
        anyhow::bail!("proxy {at} does not speak SOCKS5");
    }
    match choice[1] {
        0 => {}
        2 => {
            let user = proxy.username.as_deref().unwrap_or("").as_bytes();
            let pass = proxy.password.as_deref().unwrap_or("").as_bytes();
            let mut auth = vec![1, user.len() as u8];
            auth.extend_from_slice(user);
            auth.push(pass.len() as u8);
            auth.extend_from_slice(pass);
            stream.write_all(&auth).await?;
            let mut status = [0u8; 2];
            stream.read_exact(&mut status).await.map_err(|e| {
                anyhow::anyhow!("proxy {at} closed during SOCKS5 authentication: {e}")
            })?;
            if status[1] != 0 {
                anyhow::bail!("proxy {at} refused the credentials (SOCKS5)");
            }
        }
        _ => anyhow::bail!(
            "proxy {at} accepts none of the offered SOCKS5 methods (it wants credentials?)"
        ),
    }
    let mut request = vec![5, 1, 0];
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            request.push(1);
            request.extend_from_slice(&ip.octets());
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            request.push(4);
            request.extend_from_slice(&ip.octets());
        }
        Err(_) => {
            let name = host.as_bytes();
            anyhow::ensure!(name.len() <= 255, "host name too long for SOCKS5");
            request.push(3);
            request.push(name.len() as u8);
            request.extend_from_slice(name);
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&request).await?;
    let mut head = [0u8; 4];
    stream
        .read_exact(&mut head)
        .await
        .map_err(|e| anyhow::anyhow!("proxy {at} closed during the SOCKS5 connect: {e}"))?;
    if head[1] != 0 {
        anyhow::bail!(
            "proxy {at} refused to connect to {host}:{port}: {}",
            socks5_reply(head[1])
        );
    }
    // The bound address, unused: read past it.
    let rest = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => stream.read_u8().await? as usize + 2,
        other => anyhow::bail!("proxy {at}: unknown SOCKS5 address type {other}"),
    };
    let mut skip = vec![0u8; rest];
    stream.read_exact(&mut skip).await?;
    Ok(Box::new(stream))
}

fn socks5_reply(code: u8) -> &'static str {
    match code {
        1 => "general failure",
        2 => "not allowed by its rules",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown error",
    }
}

/// SOCKS4a: the target name goes to the proxy unresolved.
async fn socks4(
    mut stream: tokio::net::TcpStream,
    proxy: &Proxy,
    host: &str,
    port: u16,
) -> anyhow::Result<Box<dyn Conn>> {
    let at = proxy.address();
    let mut request = vec![4, 1];
    request.extend_from_slice(&port.to_be_bytes());
    let ip = host.parse::<std::net::Ipv4Addr>().ok();
    request.extend_from_slice(&ip.map(|ip| ip.octets()).unwrap_or([0, 0, 0, 1]));
    request.extend_from_slice(proxy.username.as_deref().unwrap_or("").as_bytes());
    request.push(0);
    if ip.is_none() {
        request.extend_from_slice(host.as_bytes());
        request.push(0);
    }
    stream.write_all(&request).await?;
    let mut reply = [0u8; 8];
    stream
        .read_exact(&mut reply)
        .await
        .map_err(|e| anyhow::anyhow!("proxy {at} closed during the SOCKS4 connect: {e}"))?;
    if reply[1] != 0x5a {
        anyhow::bail!(
            "proxy {at} refused to connect to {host}:{port} (SOCKS4 code {:#x})",
            reply[1]
        );
    }
    Ok(Box::new(stream))
}

/// whatsapp-rust's WebSocket transport for one instance, dialled through its proxy
/// when it has one.
pub struct InstanceTransportFactory {
    /// WhatsApp's WebSocket URL (or a test server's).
    pub url: String,
    /// Where the instance's proxy is looked up at each attempt.
    pub proxies: ProxyTable,
    /// The instance (the table's key; log lines).
    pub instance_id: String,
    /// The session's status, where a proxy failure is shown.
    pub status: Arc<watch::Sender<Status>>,
}

impl InstanceTransportFactory {
    async fn connect(
        &self,
    ) -> anyhow::Result<(
        Arc<dyn Transport>,
        whatsapp_rust::async_channel::Receiver<TransportEvent>,
    )> {
        let Some(proxy) = lookup(&self.proxies, &self.instance_id) else {
            self.status
                .send_if_modified(|s| s.proxy_error.take().is_some());
            return whatsapp_rust::transport::TokioWebSocketTransportFactory::new()
                .with_url(&self.url)
                .create_transport()
                .await;
        };
        let uri: http::Uri = self.url.parse()?;
        let host = uri
            .host()
            .ok_or_else(|| anyhow::anyhow!("WhatsApp URL without a host"))?
            .trim_matches(['[', ']'])
            .to_string();
        let tls = match uri.scheme_str() {
            Some("wss") => true,
            Some("ws") => false,
            _ => anyhow::bail!("WhatsApp URL `{}` is neither ws nor wss", self.url),
        };
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let stream = match dial(&proxy, &host, port).await {
            Ok(stream) => {
                self.status
                    .send_if_modified(|s| s.proxy_error.take().is_some());
                stream
            }
            Err(e) => {
                tracing::warn!(instance = %self.instance_id, proxy = %proxy.address(), error = %format!("{e:#}"), "WhatsApp connection through the instance's proxy failed");
                let reason = format!("{e:#}");
                self.status.send_modify(|s| s.proxy_error = Some(reason));
                return Err(e);
            }
        };
        let connector = if tls {
            whatsapp_rust::transport::default_tls_connector()
        } else {
            Connector::Plain
        };
        let stream = connector.wrap(&host, stream).await?;
        let origin = http::HeaderValue::from_static(WHATSAPP_WEB_ORIGIN);
        let (ws, _) = tokio_websockets::ClientBuilder::from_uri(uri)
            .add_header(http::header::ORIGIN, origin)?
            .connect_on(stream)
            .await
            .map_err(|e| anyhow::anyhow!("WebSocket upgrade through the proxy failed: {e}"))?;
        Ok(whatsapp_rust::transport::from_websocket(ws))
    }
}

#[async_trait]
impl TransportFactory for InstanceTransportFactory {
    async fn create_transport(
        &self,
    ) -> Result<
        (
            Arc<dyn Transport>,
            whatsapp_rust::async_channel::Receiver<TransportEvent>,
        ),
        anyhow::Error,
    > {
        self.connect().await
    }
}
