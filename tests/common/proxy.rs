//! A small forwarding proxy on loopback for the proxy-per-instance tests: it speaks
//! HTTP `CONNECT` or SOCKS5 (one kind per proxy), optionally demands credentials
//! (Basic / RFC 1929), and counts the tunnels it opened and the targets it carried
//! them to. Written here (not a crate) so the test sees exactly what passed.
//!
//! Like the fake WhatsApp server it owns a small tokio runtime, so blocking tests
//! that drive the real gateway binary can use it.
#![allow(dead_code)]
#![allow(unreachable_pub)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Which protocol the proxy speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    HttpConnect,
    Socks5,
}

#[derive(Default)]
struct Seen {
    /// Tunnels opened to their target.
    tunnels: usize,
    /// Handshakes refused (bad or missing credentials).
    refused: usize,
    /// `host:port` of every tunnel, in order.
    targets: Vec<String>,
}

pub struct TestProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestProxy {
    /// A proxy that needs no credentials.
    pub fn start(kind: Kind) -> TestProxy {
        TestProxy::start_with(kind, None)
    }

    /// A proxy that demands `user`/`password` when `credentials` is given.
    pub fn start_with(kind: Kind, credentials: Option<(&str, &str)>) -> TestProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-proxy")
            .enable_all()
            .build()
            .expect("proxy runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("proxy address");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let creds = credentials.map(|(u, p)| (u.to_string(), p.to_string()));
        let shared = seen.clone();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            while let Ok((client, _)) = listener.accept().await {
                let (seen, creds) = (shared.clone(), creds.clone());
                tokio::spawn(async move {
                    let _ = serve(kind, client, seen, creds).await;
                });
            }
        });
        TestProxy {
            addr,
            seen,
            runtime: Some(runtime),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Tunnels carried so far.
    pub fn tunnels(&self) -> usize {
        self.seen.lock().unwrap().tunnels
    }

    /// Handshakes refused for their credentials so far.
    pub fn refused(&self) -> usize {
        self.seen.lock().unwrap().refused
    }

    /// The `host:port` of every tunnel.
    pub fn targets(&self) -> Vec<String> {
        self.seen.lock().unwrap().targets.clone()
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn serve(
    kind: Kind,
    mut client: TcpStream,
    seen: Arc<Mutex<Seen>>,
    creds: Option<(String, String)>,
) -> std::io::Result<()> {
    let target = match kind {
        Kind::HttpConnect => http_handshake(&mut client, creds.as_ref()).await?,
        Kind::Socks5 => socks5_handshake(&mut client, creds.as_ref()).await?,
    };
    let Some(target) = target else {
        seen.lock().unwrap().refused += 1;
        return Ok(());
    };
    let mut upstream = match TcpStream::connect(&target).await {
        Ok(s) => s,
        Err(e) => {
            match kind {
                Kind::HttpConnect => {
                    client
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
                        .await?
                }
                Kind::Socks5 => client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await?,
            }
            return Err(e);
        }
    };
    match kind {
        Kind::HttpConnect => {
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await?
        }
        Kind::Socks5 => client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?,
    }
    {
        let mut seen = seen.lock().unwrap();
        seen.tunnels += 1;
        seen.targets.push(target);
    }
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// Reads `CONNECT host:port`; `None` when the credentials are wrong (407 sent).
async fn http_handshake(
    client: &mut TcpStream,
    creds: Option<&(String, String)>,
) -> std::io::Result<Option<String>> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(client.read_u8().await?);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let mut lines = head.lines();
    let request = lines.next().unwrap_or_default();
    let mut parts = request.split_whitespace();
    if parts.next() != Some("CONNECT") {
        client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            .await?;
        return Ok(None);
    }
    let target = parts.next().unwrap_or_default().to_string();
    if let Some((user, pass)) = creds {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        );
        let given = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("proxy-authorization"))
            .map(|(_, v)| v.trim().to_string());
        if given.as_deref() != Some(expected.as_str()) {
            client
                .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n")
                .await?;
            return Ok(None);
        }
    }
    Ok(Some(target))
}

/// SOCKS5 greeting, optional RFC 1929 authentication and CONNECT; `None` when
/// the credentials are wrong or missing.
async fn socks5_handshake(
    client: &mut TcpStream,
    creds: Option<&(String, String)>,
) -> std::io::Result<Option<String>> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await?;
    let mut methods = vec![0u8; head[1] as usize];
    client.read_exact(&mut methods).await?;
    match creds {
        None => client.write_all(&[5, 0]).await?,
        Some((user, pass)) => {
            if !methods.contains(&2) {
                client.write_all(&[5, 0xff]).await?;
                return Ok(None);
            }
            client.write_all(&[5, 2]).await?;
            let _version = client.read_u8().await?;
            let mut u = vec![0u8; client.read_u8().await? as usize];
            client.read_exact(&mut u).await?;
            let mut p = vec![0u8; client.read_u8().await? as usize];
            client.read_exact(&mut p).await?;
            if u != user.as_bytes() || p != pass.as_bytes() {
                client.write_all(&[1, 1]).await?;
                return Ok(None);
            }
            client.write_all(&[1, 0]).await?;
        }
    }
    let mut req = [0u8; 4];
    client.read_exact(&mut req).await?;
    let host = match req[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let mut name = vec![0u8; client.read_u8().await? as usize];
            client.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).to_string()
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await?;
            format!("[{}]", std::net::Ipv6Addr::from(ip))
        }
        _ => return Ok(None),
    };
    let port = client.read_u16().await?;
    Ok(Some(format!("{host}:{port}")))
}
