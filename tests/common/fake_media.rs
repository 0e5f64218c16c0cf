//! The fake WhatsApp server's media host: what `mmg.whatsapp.net` is to the real
//! client, on loopback HTTPS.
//!
//! - The chat server answers the media-connection query (`<iq xmlns="w:m">`) with
//!   this host (`localhost:PORT`) and the auth token [`AUTH`] (see
//!   `fake_whatsapp::answer`).
//! - `POST /mms/<type>/<token>?auth=…&token=…` is an upload: refused without the
//!   token, or when `token` is not the base64url SHA-256 of the body (the real
//!   server's integrity check of the encrypted file); kept under a new direct path,
//!   answered with `{"url", "direct_path"}` as the real host does.
//! - `GET <direct_path>?auth=…&token=…` serves a kept (or [`MediaHost::put`]) blob;
//!   [`MediaHost::fail`] makes a path answer an error status instead,
//!   [`MediaHost::slow_down`] answer late.
//!
//! TLS with a self-signed certificate for `localhost` made at start
//! ([`MediaHost::ca_pem`]); clients trust it through `WAGATE_EXTRA_CA_FILE` (the
//! gateway) or [`MediaHost::client_tls`] (in-process clients).
#![allow(dead_code)]
#![allow(unreachable_pub)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sha2::Digest as _;

/// The media auth token the chat server hands out; uploads and downloads must carry it.
pub const AUTH: &str = "fakemediaauth";

/// One upload the host accepted.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The MMS type from the path (`image`, `video`, `audio`, `document`).
    pub kind: String,
    /// The encrypted body as uploaded.
    pub body: Vec<u8>,
    /// Where it is kept (what a message's `direct_path` names).
    pub direct_path: String,
}

#[derive(Default)]
struct State {
    /// Blobs by direct path.
    blobs: HashMap<String, Vec<u8>>,
    uploads: Vec<Upload>,
    /// Every GET path, in order.
    downloads: Vec<String>,
    /// Paths answering an error status instead of their blob.
    failing: HashMap<String, u16>,
    /// Paths answered only after a pause (a slow download).
    slow: HashMap<String, std::time::Duration>,
}

/// A running media host (stops with the fake server's runtime).
pub struct MediaHost {
    port: u16,
    ca_pem: String,
    state: Arc<Mutex<State>>,
}

impl MediaHost {
    /// Starts the host on a free loopback port, served on `runtime`.
    pub fn start(runtime: &tokio::runtime::Runtime) -> MediaHost {
        let (config, ca_pem) = crate::common::tls::self_signed(&["localhost"]);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind media host");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("media host address").port();
        let state: Arc<Mutex<State>> = Arc::default();
        let serve_state = state.clone();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let state = serve_state.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(&state, port, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        MediaHost {
            port,
            ca_pem,
            state,
        }
    }

    /// The host name the chat server announces (`localhost:PORT`).
    pub fn hostname(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// The PEM certificate a client must trust to reach the host.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A TLS client configuration trusting this host (for in-process clients; the
    /// gateway binary trusts it through `WAGATE_EXTRA_CA_FILE`).
    pub fn client_tls(&self) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut self.ca_pem.as_bytes()) {
            roots.add(cert.expect("pem")).expect("root added");
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    /// Uploads accepted so far, in order.
    pub fn uploads(&self) -> Vec<Upload> {
        self.state.lock().unwrap().uploads.clone()
    }

    /// GET requests for `direct_path` so far.
    pub fn downloads_of(&self, direct_path: &str) -> usize {
        let state = self.state.lock().unwrap();
        state.downloads.iter().filter(|p| *p == direct_path).count()
    }

    /// Keeps `body` (already encrypted) for download; returns its direct path.
    pub fn put(&self, kind: &str, body: Vec<u8>) -> String {
        let mut state = self.state.lock().unwrap();
        let direct_path = format!("/v/t62.fake-{kind}/{}", state.blobs.len() + 1);
        state.blobs.insert(direct_path.clone(), body);
        direct_path
    }

    /// Makes GETs of `direct_path` answer only after `pause` from now on.
    pub fn slow_down(&self, direct_path: &str, pause: std::time::Duration) {
        let mut state = self.state.lock().unwrap();
        state.slow.insert(direct_path.to_string(), pause);
    }

    /// Makes GETs of `direct_path` answer `status` from now on.
    pub fn fail(&self, direct_path: &str, status: u16) {
        let mut state = self.state.lock().unwrap();
        state.failing.insert(direct_path.to_string(), status);
    }
}

fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    req.uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn respond(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(body.into()))
        .unwrap()
}

fn token_of(body: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(body))
}

async fn handle(state: &Mutex<State>, port: u16, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let q = query(&req);
    if q.get("auth").map(String::as_str) != Some(AUTH) {
        return respond(401, "bad media auth");
    }
    let path = req.uri().path().to_string();
    let post = req.method() == hyper::Method::POST;
    if post {
        let Some((kind, token)) = path
            .strip_prefix("/mms/")
            .and_then(|rest| rest.split_once('/'))
            .map(|(k, t)| (k.to_string(), t.to_string()))
        else {
            return respond(404, "no such upload path");
        };
        let Ok(body) = req.into_body().collect().await else {
            return respond(400, "unreadable body");
        };
        let body = body.to_bytes().to_vec();
        if token_of(&body) != token || q.get("token") != Some(&token) {
            return respond(400, "token is not the body's SHA-256");
        }
        let mut state = state.lock().unwrap();
        let direct_path = format!("/v/t62.fake-{kind}/{}", state.blobs.len() + 1);
        state.blobs.insert(direct_path.clone(), body.clone());
        state.uploads.push(Upload {
            kind,
            body,
            direct_path: direct_path.clone(),
        });
        let answer = serde_json::json!({
            "url": format!("https://localhost:{port}{direct_path}"),
            "direct_path": direct_path,
        });
        return respond(200, answer.to_string());
    }
    let pause = state.lock().unwrap().slow.get(&path).copied();
    if let Some(pause) = pause {
        tokio::time::sleep(pause).await;
    }
    let mut state = state.lock().unwrap();
    state.downloads.push(path.clone());
    if let Some(status) = state.failing.get(&path) {
        return respond(*status, "failing on purpose");
    }
    match state.blobs.get(&path) {
        Some(blob) if q.get("token") == Some(&token_of(blob)) => respond(200, blob.clone()),
        Some(_) => respond(403, "token does not match the file"),
        None => respond(404, "no such media"),
    }
}
