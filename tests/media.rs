//! Media end to end through the real binary on the sim link: sends of every kind by
//! base64 and by URL (served by a loopback file server in the test), inbound media
//! through the admin inbound route, reading it back byte-identical through the native
//! API and each dialect, the bad inputs with their documented answers, and the deletes
//! that must take the bytes off the disk.

use crate::common;

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::Gateway;
use serde_json::{Value, json};

use crate::common::receiver;

pub(crate) const PEER: &str = "5511999999999";
pub(crate) const PEER_JID: &str = "5511999999999@s.whatsapp.net";

/// Bytes whose magic number says what they are, padded to `len`.
fn file(magic: &[u8], len: usize) -> Vec<u8> {
    let mut b = magic.to_vec();
    b.extend((0..len.saturating_sub(magic.len())).map(|i| (i * 31 % 251) as u8));
    b
}

pub(crate) fn png() -> Vec<u8> {
    file(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 3000)
}
pub(crate) fn mp4() -> Vec<u8> {
    file(b"\0\0\0\x18ftypisom\0\0\x02\0", 5000)
}
/// A real Opus voice note in Ogg (0.3 s of a 440 Hz tone, made with ffmpeg), which a
/// voice send keeps as it is.
pub(crate) fn ogg() -> Vec<u8> {
    include_bytes!("fixtures/voice.ogg").to_vec()
}

/// `secs` seconds of a 440 Hz tone as a 16-bit mono 8 kHz WAV file.
fn wav(secs: f64) -> Vec<u8> {
    let samples: Vec<i16> = (0..(8000.0 * secs) as usize)
        .map(|i| ((i as f64 * 440.0 * std::f64::consts::TAU / 8000.0).sin() * 12_000.0) as i16)
        .collect();
    let data_len = (samples.len() * 2) as u32;
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}
fn mp3() -> Vec<u8> {
    file(b"ID3\x04\0\0\0\0\0\0", 2500)
}
pub(crate) fn pdf() -> Vec<u8> {
    file(b"%PDF-1.4\n", 1500)
}
fn webp() -> Vec<u8> {
    file(b"RIFF\0\0\0\0WEBPVP8 ", 1200)
}

/// Every kind with a file of its type and the type the gateway must record.
fn kinds() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        ("image", png(), "image/png"),
        ("video", mp4(), "video/mp4"),
        ("audio", mp3(), "audio/mpeg"),
        ("voice", ogg(), "audio/ogg; codecs=opus"),
        ("document", pdf(), "application/pdf"),
        ("sticker", webp(), "image/webp"),
        ("video_note", mp4(), "video/mp4"),
    ]
}

// ---- a loopback file server -------------------------------------------------------------

/// What the file server answers for a path: status, headers, body.
type Route = (u16, Vec<(String, String)>, Vec<u8>);

pub(crate) struct Files {
    base: String,
    routes: Arc<Mutex<HashMap<String, Route>>>,
}

impl Files {
    pub(crate) fn start() -> Files {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let r = routes.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let r = r.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let Some(req) = receiver::read_request(&mut reader) else {
                        return;
                    };
                    // A slow server: longer than a short core-call timeout.
                    if req.path.starts_with("/slow/") {
                        std::thread::sleep(std::time::Duration::from_millis(1500));
                    }
                    let (status, headers, body) = r
                        .lock()
                        .unwrap()
                        .get(&req.path)
                        .cloned()
                        .unwrap_or((404, vec![], b"no such file".to_vec()));
                    let mut head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = conn.write_all(head.as_bytes());
                    let _ = conn.write_all(&body);
                });
            }
        });
        Files { base, routes }
    }

    /// Serves `body` at `path` with `content_type`; returns its URL.
    pub(crate) fn serve(&self, path: &str, content_type: &str, body: Vec<u8>) -> String {
        self.routes.lock().unwrap().insert(
            path.into(),
            (
                200,
                vec![("Content-Type".into(), content_type.into())],
                body,
            ),
        );
        format!("{}{path}", self.base)
    }

    fn redirect(&self, path: &str, to: &str) -> String {
        self.routes.lock().unwrap().insert(
            path.into(),
            (302, vec![("Location".into(), to.into())], vec![]),
        );
        format!("{}{path}", self.base)
    }
}

// ---- helpers ----------------------------------------------------------------------------

pub(crate) struct World {
    pub(crate) gw: Gateway,
    pub(crate) key: String,
    pub(crate) instance_id: String,
    _dir: Option<tempfile::TempDir>,
}

/// A gateway (all bundled plugins) with org `acme`, an api key and a paired instance
/// `shop`. `toml` is extra `wagate.toml` text; `env` extra environment.
pub(crate) fn world(toml: &str, env: &[(&str, &str)]) -> World {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wagate.toml");
    std::fs::write(&cfg, toml).unwrap();
    let gw = Gateway::start_on_with_env(
        &dir.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
        env,
    );
    let key = gw.org_with_key("acme", None);
    let (instance, _) = gw.connected_instance(&key, "shop");
    World {
        instance_id: instance["id"].as_str().unwrap().to_string(),
        gw,
        key,
        _dir: Some(dir),
    }
}

impl World {
    pub(crate) fn native(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.gw.call(method, path, Some(&self.key), body)
    }

    pub(crate) fn send(&self, body: Value) -> (u16, Value) {
        self.native("POST", "/core/instances/shop/messages/media", Some(body))
    }

    /// The raw answer of a GET with the api key as Bearer.
    pub(crate) fn get_raw(&self, path: &str) -> wagate::client::Response {
        let auth = format!("Bearer {}", self.key);
        self.gw
            .raw("GET", path, &[("Authorization", auth.as_str())], b"")
    }

    fn media_path(&self, chat: &str, id: &str) -> PathBuf {
        self.gw
            .data
            .join("media")
            .join(&self.instance_id)
            .join(chat)
            .join(id)
    }

    /// Injects inbound media through the sim; returns the stored message.
    pub(crate) fn inbound(&self, kind: &str, bytes: &[u8], extra: Value) -> Value {
        let mut media = json!({"data": B64.encode(bytes), "kind": kind});
        if let Value::Object(x) = extra {
            media.as_object_mut().unwrap().extend(x);
        }
        let (s, v) = self.gw.admin(
            "POST",
            "/admin/sim/shop/inbound",
            Some(json!({"from": PEER, "text": "look", "media": media})),
        );
        assert_eq!(s, 201, "{v}");
        v["message"].clone()
    }
}

pub(crate) fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Waits (briefly) for a removal the gateway finishes after answering.
fn gone(p: &Path) -> bool {
    for _ in 0..200 {
        if !p.exists() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

// ---- native API: every kind, both sources, read back -----------------------------------

#[test]
fn native_sends_every_kind_by_base64_and_url_and_serves_it_back() {
    let w = world("", &[]);
    let files = Files::start();
    for (kind, bytes, mimetype) in kinds() {
        // The file server lies about the type: the bytes decide.
        let url = files.serve(&format!("/f/{kind}.bin"), "text/plain", bytes.clone());
        for body in [
            json!({"to": PEER, "kind": kind, "data": B64.encode(&bytes), "caption": "hi", "file_name": "report.pdf"}),
            json!({"to": PEER, "kind": kind, "url": url, "caption": "hi"}),
        ] {
            let (s, m) = w.send(body.clone());
            assert_eq!(s, 201, "{kind} {body}: {m}");
            let info = &m["media"];
            assert_eq!(info["kind"], kind, "{m}");
            assert_eq!(info["mimetype"], mimetype, "{m}");
            assert_eq!(info["size"], bytes.len(), "{m}");
            assert_eq!(info["sha256"], sha256_hex(&bytes), "{m}");
            assert_eq!(info["stored"], true, "{m}");
            assert_eq!(m["from_me"], true);
            // Images, videos and documents carry the caption; the others drop it.
            let captioned = matches!(kind, "image" | "video" | "document");
            assert_eq!(
                m["text"],
                if captioned { json!("hi") } else { Value::Null },
                "{kind}"
            );
            let id = m["id"].as_str().unwrap();
            let r = w.get_raw(&format!("/core/instances/shop/messages/{id}/media"));
            assert_eq!(r.status, 200, "{kind}");
            assert_eq!(r.body, bytes, "{kind}: byte-identical");
            assert_eq!(r.header("content-type"), Some(mimetype));
            assert_eq!(
                std::fs::read(w.media_path(PEER_JID, id)).unwrap(),
                bytes,
                "stored on disk under media/<instance>/<chat>/<message>"
            );
            // The record on every read carries the same metadata.
            let (s, stored) = w.native("GET", &format!("/core/instances/shop/messages/{id}"), None);
            assert_eq!(s, 200);
            assert_eq!(stored["media"], *info);
        }
    }
    // A document takes its file name from the URL when the caller gives none, and the
    // download names it.
    let url = files.serve("/docs/invoice%2042.pdf", "application/octet-stream", pdf());
    let (s, m) = w.send(json!({"to": PEER, "kind": "document", "url": url}));
    assert_eq!(s, 201, "{m}");
    assert_eq!(m["media"]["file_name"], "invoice 42.pdf");
    assert_eq!(m["media"]["mimetype"], "application/pdf");
    let r = w.get_raw(&format!(
        "/core/instances/shop/messages/{}/media",
        m["id"].as_str().unwrap()
    ));
    assert!(
        r.header("content-disposition")
            .unwrap()
            .contains("invoice 42.pdf"),
        "{:?}",
        r.header("content-disposition")
    );
    // Redirects are followed (each hop through the same guard).
    let target = files.serve("/real.png", "image/png", png());
    let hop = files.redirect("/hop", &target);
    let (s, m) = w.send(json!({"to": PEER, "kind": "image", "url": hop}));
    assert_eq!(s, 201, "{m}");
    assert_eq!(m["media"]["size"], png().len());
}

// ---- bad input: each with its documented answer, nothing stored -------------------------

#[test]
fn bad_media_input_is_the_callers_error_and_stores_nothing() {
    let w = world("[media]\nmax_bytes = 4096\nmax_redirects = 1\n", &[]);
    let files = Files::start();
    let big = files.serve("/big.png", "image/png", file(b"\x89PNG\r\n\x1a\n", 5000));
    let missing = format!("{}/missing.png", files.base);
    let a = files.redirect("/a", &format!("{}/b", files.base));
    files.redirect("/b", &format!("{}/a", files.base));
    // A port nobody listens on.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}/x.png")
    };
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"to": PEER, "kind": "image", "data": "%%% not base64"}),
            400,
            "invalid",
            "base64",
        ),
        (
            json!({"to": PEER, "kind": "image", "data": ""}),
            400,
            "invalid",
            "empty",
        ),
        (
            json!({"to": PEER, "kind": "image"}),
            400,
            "invalid",
            "exactly one of",
        ),
        (
            json!({"to": PEER, "kind": "image", "data": B64.encode(png()), "url": big}),
            400,
            "invalid",
            "exactly one of",
        ),
        (
            json!({"to": PEER, "kind": "image", "data": B64.encode(file(b"\x89PNG\r\n\x1a\n", 5000))}),
            413,
            "too_large",
            "larger than 4096 bytes",
        ),
        (
            json!({"to": PEER, "kind": "image", "url": big}),
            413,
            "too_large",
            "larger than 4096 bytes",
        ),
        (
            json!({"to": PEER, "kind": "image", "url": missing}),
            400,
            "invalid",
            "unreachable: the server answered 404",
        ),
        (
            json!({"to": PEER, "kind": "image", "url": closed}),
            400,
            "invalid",
            "unreachable: connecting to 127.0.0.1",
        ),
        (
            json!({"to": PEER, "kind": "image", "url": a}),
            400,
            "invalid",
            "more than 1 redirects",
        ),
        (
            json!({"to": PEER, "kind": "image", "url": "ftp://example.com/x.png"}),
            400,
            "invalid",
            "not valid",
        ),
        (
            json!({"to": PEER, "kind": "image", "data": B64.encode(pdf())}),
            400,
            "invalid",
            "unsupported media type `application/pdf` for image",
        ),
        (
            json!({"to": PEER, "kind": "sticker", "data": B64.encode(pdf())}),
            400,
            "invalid",
            "unsupported media type `application/pdf` for sticker",
        ),
        (
            json!({"to": PEER, "kind": "voice", "data": B64.encode(file(b"\0\0\0\x18ftypisom", 500))}),
            400,
            "invalid",
            "unsupported media type `video/mp4` for voice",
        ),
        (
            json!({"to": PEER, "kind": "hologram", "data": B64.encode(png())}),
            400,
            "invalid",
            "unknown variant `hologram`",
        ),
        (
            json!({"to": PEER, "kind": "image", "data": B64.encode(png()), "quoted": "NOPE"}),
            404,
            "not_found",
            "quoted message not found",
        ),
        (
            json!({"to": "not a number", "kind": "image", "data": B64.encode(png())}),
            400,
            "invalid",
            "",
        ),
    ];
    for (body, status, code, text) in cases {
        let (s, v) = w.send(body.clone());
        assert_eq!(s, status, "{}: {v}", short(&body));
        assert_eq!(v["error"]["code"], code, "{}: {v}", short(&body));
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(text), "{body}: {msg:?} should say {text:?}");
    }
    // Nothing was sent or stored: no chat, no media folder.
    let (s, _) = w.native(
        "GET",
        &format!("/core/instances/shop/chats/{PEER_JID}"),
        None,
    );
    assert_eq!(s, 404);
    assert!(!w.gw.data.join("media").join(&w.instance_id).exists());
    // Not connected: 503, nothing stored.
    let (s, v) =
        w.gw.admin("POST", "/admin/sim/shop/link", Some(json!({"up": false})));
    assert_eq!(s, 200, "{v}");
    let (s, v) = w.send(json!({"to": PEER, "kind": "image", "data": B64.encode(png())}));
    assert_eq!(
        (s, v["error"]["code"].clone()),
        (503, json!("not_connected")),
        "{v}"
    );
    assert!(!w.gw.data.join("media").join(&w.instance_id).exists());
    // Reading media that is not there.
    let (s, v) = w.native("GET", "/core/instances/shop/messages/NOPE/media", None);
    assert_eq!(
        (s, v["error"]["code"].clone()),
        (404, json!("not_found")),
        "{v}"
    );
}

#[test]
fn a_loopback_url_is_refused_without_the_operators_allowance() {
    // The default policy: no allowance.
    let w = world("", &[("WAGATE_OUTBOUND_ALLOW", "")]);
    let files = Files::start();
    let url = files.serve("/p.png", "image/png", png());
    let (s, v) = w.send(json!({"to": PEER, "kind": "image", "url": url}));
    assert_eq!(s, 400, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("refused") && msg.contains("loopback"), "{msg}");
    // The same through each dialect, in its own error shape.
    let body = json!({"number": PEER, "mediatype": "image", "media": url});
    let r = w.gw.raw(
        "POST",
        "/message/sendMedia/shop",
        &[
            ("apikey", w.key.as_str()),
            ("content-type", "application/json"),
        ],
        body.to_string().as_bytes(),
    );
    let v: Value = r.json();
    assert_eq!(r.status, 400, "{v}");
    assert_eq!(v["error"], "Bad Request");
    assert!(
        v["response"]["message"][0]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{v}"
    );
    let ryze = ryze_token(&w.gw);
    let r = w.gw.raw(
        "POST",
        "/api/message/image/shop",
        &[
            ("token", ryze.as_str()),
            ("content-type", "application/json"),
        ],
        json!({"number": PEER, "media": url}).to_string().as_bytes(),
    );
    let v: Value = r.json();
    assert_eq!((r.status, &v["success"]), (400, &json!(false)), "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("refused"),
        "{v}"
    );
    let (s, v) = sessions(
        &w,
        "POST",
        "/messages",
        Some(json!({"to": PEER, "type": "image", "media": {"url": url}})),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "validation_error", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("refused"),
        "{v}"
    );
    assert!(!w.gw.data.join("media").join(&w.instance_id).exists());
}

// ---- inbound media through every dialect ------------------------------------------------

pub(crate) fn ryze_token(gw: &Gateway) -> String {
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "acme", "kind": "ryze-account"})),
    );
    assert_eq!(s, 201, "{v}");
    v["token"].as_str().unwrap().to_string()
}

fn sessions(w: &World, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    w.gw.call(
        method,
        &format!("/api/v1/sessions/{}{path}", w.instance_id),
        Some(&w.key),
        body,
    )
}

#[test]
fn inbound_media_of_every_kind_reads_back_byte_identical_in_every_dialect() {
    let w = world("", &[]);
    let ryze = ryze_token(&w.gw);
    for (kind, bytes, mimetype) in kinds() {
        let m = w.inbound(kind, &bytes, json!({"fileName": format!("{kind}.x")}));
        let id = m["id"].as_str().unwrap().to_string();
        assert_eq!(m["media"]["kind"], kind, "{m}");
        assert_eq!(m["media"]["mimetype"], mimetype, "{m}");
        assert_eq!(m["media"]["stored"], true, "{m}");
        assert_eq!(m["media"]["sha256"], sha256_hex(&bytes));
        // Native.
        let r = w.get_raw(&format!("/core/instances/shop/messages/{id}/media"));
        assert_eq!((r.status, &r.body), (200, &bytes), "{kind}");
        // Evolution: getBase64FromMediaMessage.
        let r = w.gw.raw(
            "POST",
            "/chat/getBase64FromMediaMessage/shop",
            &[
                ("apikey", w.key.as_str()),
                ("content-type", "application/json"),
            ],
            json!({"message": {"key": {"id": id}}})
                .to_string()
                .as_bytes(),
        );
        let v: Value = r.json();
        assert_eq!(r.status, 201, "{v}");
        assert_eq!(
            B64.decode(v["base64"].as_str().unwrap()).unwrap(),
            bytes,
            "{kind}"
        );
        assert_eq!(v["mimetype"], mimetype);
        assert_eq!(v["fileName"], format!("{kind}.x"));
        assert_eq!(v["caption"], "look");
        assert_eq!(v["size"]["fileLength"], bytes.len().to_string());
        assert_eq!(v["buffer"], Value::Null);
        let want_type = match kind {
            "image" => "imageMessage",
            "video" => "videoMessage",
            "audio" | "voice" => "audioMessage",
            "document" => "documentMessage",
            "sticker" => "stickerMessage",
            _ => "ptvMessage",
        };
        assert_eq!(v["mediaType"], want_type);
        // RyzeAPI: raw bytes, and base64.
        let r = w.gw.raw(
            "GET",
            &format!("/api/message/download/shop?messageId={id}"),
            &[("token", ryze.as_str())],
            b"",
        );
        assert_eq!((r.status, &r.body), (200, &bytes), "{kind}");
        assert_eq!(r.header("content-type"), Some(mimetype));
        let r = w.gw.raw(
            "GET",
            &format!("/api/message/download/shop?messageId={id}&format=base64"),
            &[("token", ryze.as_str())],
            b"",
        );
        let v: Value = r.json();
        assert_eq!(v["success"], true, "{v}");
        assert_eq!(
            B64.decode(v["data"]["base64"].as_str().unwrap()).unwrap(),
            bytes
        );
        // sessions/v1.
        let auth = format!("Bearer {}", w.key);
        let r = w.gw.raw(
            "GET",
            &format!("/api/v1/sessions/{}/messages/{id}/media", w.instance_id),
            &[("Authorization", auth.as_str())],
            b"",
        );
        assert_eq!((r.status, &r.body), (200, &bytes), "{kind}");
        assert_eq!(r.header("content-type"), Some(mimetype));
    }
    // The message shapes carry the media record.
    let (s, v) = sessions(
        &w,
        "GET",
        &format!("/chats/{PEER_JID}/messages?limit=1"),
        None,
    );
    assert_eq!(s, 200, "{v}");
    let newest = &v["data"][0];
    assert_eq!(newest["hasMedia"], true);
    assert_eq!(newest["media"]["mimetype"], "video/mp4", "{newest}");
    assert_eq!(newest["media"]["available"], true);
    let r = w.gw.raw(
        "POST",
        "/chat/findMessages/shop",
        &[
            ("apikey", w.key.as_str()),
            ("content-type", "application/json"),
        ],
        json!({"where": {"key": {"remoteJid": PEER_JID}}})
            .to_string()
            .as_bytes(),
    );
    let v: Value = r.json();
    assert_eq!(r.status, 200, "{v}");
    let rec = &v["messages"]["records"][0];
    assert_eq!(rec["messageType"], "ptvMessage", "{rec}");
    assert_eq!(
        rec["message"]["ptvMessage"]["mimetype"], "video/mp4",
        "{rec}"
    );
    // Errors: an unknown id and a text message, in each dialect's words.
    let text_id = w.gw.inbound("shop", PEER, "plain", false);
    let r = w.gw.raw(
        "POST",
        "/chat/getBase64FromMediaMessage/shop",
        &[
            ("apikey", w.key.as_str()),
            ("content-type", "application/json"),
        ],
        json!({"message": {"key": {"id": text_id}}})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"status": 400, "error": "Bad Request", "response": {"message": ["The message is not of the media type"]}})
        )
    );
    let r = w.gw.raw(
        "POST",
        "/chat/getBase64FromMediaMessage/shop",
        &[
            ("apikey", w.key.as_str()),
            ("content-type", "application/json"),
        ],
        json!({"message": {"key": {"id": "NOPE"}}})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"status": 400, "error": "Bad Request", "response": {"message": ["Message not found"]}})
        )
    );
    let r = w.gw.raw(
        "GET",
        &format!("/api/message/download/shop?messageId={text_id}"),
        &[("token", ryze.as_str())],
        b"",
    );
    assert_eq!(
        (r.status, r.json()),
        (
            404,
            json!({"success": false, "error": {"message": "The message has no media"}})
        )
    );
    let (s, v) = sessions(&w, "GET", &format!("/messages/{text_id}/media"), None);
    assert_eq!((s, &v["error"]["code"]), (404, &json!("not_found")), "{v}");
}

// ---- the dialects' media sends ------------------------------------------------------------

pub(crate) fn evo(w: &World, path: &str, body: Value) -> (u16, Value) {
    let r = w.gw.raw(
        "POST",
        path,
        &[
            ("apikey", w.key.as_str()),
            ("content-type", "application/json"),
        ],
        body.to_string().as_bytes(),
    );
    let v = r.json();
    (r.status, v)
}

/// A `multipart/form-data` body as Evolution's multer routes take it: text `fields`,
/// then the `file` part; and its content type.
fn evolution_form(
    fields: &[(&str, &str)],
    file_name: &str,
    mimetype: &str,
    bytes: &[u8],
) -> (Vec<u8>, String) {
    let boundary = "----wagate-test-boundary";
    let mut form = Vec::with_capacity(bytes.len() + 1024);
    for (name, value) in fields {
        form.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    form.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {mimetype}\r\n\r\n").as_bytes(),
    );
    form.extend_from_slice(bytes);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (form, format!("multipart/form-data; boundary={boundary}"))
}

/// POSTs a form made by [`evolution_form`] with the world's api key.
fn post_form(w: &World, path: &str, (form, ct): &(Vec<u8>, String)) -> wagate::client::Response {
    w.gw.raw(
        "POST",
        path,
        &[("apikey", w.key.as_str()), ("content-type", ct.as_str())],
        form,
    )
}

/// The bytes of a message as the native API serves them.
pub(crate) fn stored_bytes(w: &World, id: &str) -> Vec<u8> {
    let r = w.get_raw(&format!("/core/instances/shop/messages/{id}/media"));
    assert_eq!(r.status, 200);
    r.body
}

#[test]
fn evolution_media_routes() {
    let w = world("", &[]);
    let files = Files::start();
    let url = files.serve("/p.png", "image/png", png());
    // sendMedia, base64 and URL.
    for media in [B64.encode(png()), url.clone()] {
        let (s, v) = evo(
            &w,
            "/message/sendMedia/shop",
            json!({"number": PEER, "mediatype": "image", "caption": "a photo", "media": media}),
        );
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["messageType"], "imageMessage", "{v}");
        assert_eq!(v["status"], "PENDING");
        assert_eq!(v["key"]["fromMe"], true);
        assert_eq!(v["message"]["imageMessage"]["caption"], "a photo");
        assert_eq!(v["message"]["imageMessage"]["mimetype"], "image/png");
        assert_eq!(
            v["message"]["imageMessage"]["fileLength"],
            png().len().to_string()
        );
        assert_eq!(stored_bytes(&w, v["key"]["id"].as_str().unwrap()), png());
    }
    // A document by base64 needs its file name; with it, the name is kept.
    let (s, v) = evo(
        &w,
        "/message/sendMedia/shop",
        json!({"number": PEER, "mediatype": "document", "media": B64.encode(pdf())}),
    );
    assert_eq!(
        (s, v),
        (
            400,
            json!({"status": 400, "error": "Bad Request", "response": {"message": ["For base64 the file name must be informed."]}})
        )
    );
    let (s, v) = evo(
        &w,
        "/message/sendMedia/shop",
        json!({"number": PEER, "mediatype": "document", "fileName": "q3.pdf", "media": B64.encode(pdf())}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["message"]["documentMessage"]["fileName"], "q3.pdf");
    // The other routes: voice note, sticker, round video.
    for (route, field, bytes, mtype) in [
        ("sendWhatsAppAudio", "audio", ogg(), "audioMessage"),
        ("sendSticker", "sticker", webp(), "stickerMessage"),
        ("sendPtv", "video", mp4(), "ptvMessage"),
    ] {
        let (s, v) = evo(
            &w,
            &format!("/message/{route}/shop"),
            json!({"number": PEER, field: B64.encode(&bytes)}),
        );
        assert_eq!(s, 201, "{route}: {v}");
        assert_eq!(v["messageType"], mtype, "{v}");
        assert_eq!(stored_bytes(&w, v["key"]["id"].as_str().unwrap()), bytes);
    }
    let (_, v) = evo(
        &w,
        "/message/sendWhatsAppAudio/shop",
        json!({"number": PEER, "audio": B64.encode(ogg())}),
    );
    assert_eq!(v["message"]["audioMessage"]["ptt"], true, "{v}");
    // Multipart with a `file` field, as Evolution's multer route takes it.
    let form = evolution_form(
        &[
            ("number", PEER),
            ("mediatype", "image"),
            ("caption", "uploaded"),
        ],
        "shot.png",
        "image/png",
        &png(),
    );
    let r = post_form(&w, "/message/sendMedia/shop", &form);
    let v: Value = r.json();
    assert_eq!(r.status, 201, "{v}");
    assert_eq!(v["message"]["imageMessage"]["caption"], "uploaded");
    assert_eq!(v["message"]["imageMessage"]["fileName"], "shot.png");
    assert_eq!(stored_bytes(&w, v["key"]["id"].as_str().unwrap()), png());
    // Bad input in Evolution's shape.
    let bad =
        |m: &str| json!({"status": 400, "error": "Bad Request", "response": {"message": [m]}});
    for (body, want) in [
        (
            json!({"number": PEER, "mediatype": "image", "media": "not base64 !!"}),
            bad("Owned media must be a url or base64"),
        ),
        (
            json!({"number": PEER, "mediatype": "image"}),
            bad("Owned media must be a url or base64"),
        ),
        (
            json!({"number": PEER, "media": B64.encode(png())}),
            bad("instance requires property \"mediatype\""),
        ),
        (
            json!({"number": PEER, "mediatype": "gif", "media": B64.encode(png())}),
            bad("mediatype is not one of enum values: image,document,video,audio"),
        ),
        (
            json!({"mediatype": "image", "media": B64.encode(png())}),
            bad("instance requires property \"number\""),
        ),
        (
            json!({"number": PEER, "mediatype": "image", "media": B64.encode(pdf())}),
            bad("unsupported media type `application/pdf` for image"),
        ),
    ] {
        assert_eq!(
            evo(&w, "/message/sendMedia/shop", body.clone()),
            (400, want),
            "{body}"
        );
    }
    let (s, v) = evo(
        &w,
        "/message/sendSticker/shop",
        json!({"number": PEER, "sticker": B64.encode(pdf())}),
    );
    assert_eq!(
        (s, v),
        (
            400,
            bad("unsupported media type `application/pdf` for sticker")
        )
    );
}

#[test]
fn evolution_media_too_large_is_413() {
    let w = world("[media]\nmax_bytes = 2048\n", &[]);
    let (s, v) = evo(
        &w,
        "/message/sendMedia/shop",
        json!({"number": PEER, "mediatype": "image", "media": B64.encode(png())}),
    );
    assert_eq!(
        (s, v),
        (
            413,
            json!({"status": 413, "error": "Payload Too Large", "response": {"message": ["media is larger than 2048 bytes"]}})
        )
    );
    let ryze = ryze_token(&w.gw);
    let r = w.gw.raw(
        "POST",
        "/api/message/image/shop",
        &[
            ("token", ryze.as_str()),
            ("content-type", "application/json"),
        ],
        json!({"number": PEER, "media": B64.encode(png())})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(
        (r.status, r.json()),
        (
            413,
            json!({"success": false, "error": {"message": "media is larger than 2048 bytes"}})
        )
    );
    let (s, v) = sessions(
        &w,
        "POST",
        "/messages",
        Some(json!({"to": PEER, "type": "image", "media": {"data": B64.encode(png())}})),
    );
    assert_eq!((s, &v["error"]["code"]), (413, &json!("too_large")), "{v}");
    assert!(!w.gw.data.join("media").join(&w.instance_id).exists());
}

#[test]
fn ryze_and_sessions_media_sends() {
    let w = world("", &[]);
    let files = Files::start();
    let ryze = ryze_token(&w.gw);
    let post = |path: &str, body: Value| {
        let r = w.gw.raw(
            "POST",
            path,
            &[
                ("token", ryze.as_str()),
                ("content-type", "application/json"),
            ],
            body.to_string().as_bytes(),
        );
        let v: Value = r.json();
        (r.status, v)
    };
    for (route, bytes, kind) in [
        ("image", png(), "image"),
        ("video", mp4(), "video"),
        ("audio", mp3(), "audio"),
        ("document", pdf(), "document"),
        ("sticker", webp(), "sticker"),
    ] {
        let url = files.serve(
            &format!("/r/{route}"),
            "application/octet-stream",
            bytes.clone(),
        );
        for media in [B64.encode(&bytes), url] {
            let (s, v) = post(
                &format!("/api/message/{route}/shop"),
                json!({"number": PEER, "media": media, "caption": "c", "fileName": "f.bin"}),
            );
            assert_eq!(s, 200, "{route}: {v}");
            assert_eq!(v["success"], true);
            assert_eq!(v["data"]["content"]["media"]["type"], kind, "{v}");
            assert_eq!(
                stored_bytes(&w, v["data"]["messageId"].as_str().unwrap()),
                bytes
            );
        }
    }
    let (s, v) = post(
        "/api/message/audio/shop",
        json!({"number": PEER, "media": B64.encode(ogg()), "ptt": true}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["content"]["media"]["type"], "ptt");
    for (body, status, msg) in [
        (
            json!({"media": B64.encode(png())}),
            400,
            "Number is required",
        ),
        (json!({"number": PEER}), 400, "Media is required"),
        (
            json!({"number": PEER, "media": "***"}),
            400,
            "Media must be an http(s) URL or base64",
        ),
        (
            json!({"number": PEER, "media": B64.encode(pdf())}),
            400,
            "unsupported media type `application/pdf` for image",
        ),
    ] {
        let (s, v) = post("/api/message/image/shop", body.clone());
        assert_eq!(
            (s, v),
            (status, json!({"success": false, "error": {"message": msg}})),
            "{body}"
        );
    }
    // sessions/v1: `type` + `media: {data | url}`.
    let url = files.serve("/s.webp", "image/webp", webp());
    for (t, media, bytes) in [
        (
            "image",
            json!({"data": B64.encode(png()), "caption": "x"}),
            png(),
        ),
        ("voice", json!({"data": B64.encode(ogg())}), ogg()),
        ("sticker", json!({"url": url}), webp()),
        (
            "document",
            json!({"data": B64.encode(pdf()), "filename": "a.pdf"}),
            pdf(),
        ),
    ] {
        let (s, v) = sessions(
            &w,
            "POST",
            "/messages",
            Some(json!({"to": PEER, "type": t, "media": media})),
        );
        assert_eq!(s, 201, "{t}: {v}");
        assert_eq!(v["hasMedia"], true);
        assert_eq!(v["type"], "media");
        assert_eq!(stored_bytes(&w, v["id"].as_str().unwrap()), bytes);
    }
    let (s, v) = sessions(
        &w,
        "POST",
        "/messages",
        Some(json!({"to": PEER, "type": "image", "media": {"data": "!!", "url": url}})),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        v["error"]["details"]["fields"]["media"], "provide exactly one of data or url",
        "{v}"
    );
    let (s, v) = sessions(
        &w,
        "POST",
        "/messages",
        Some(json!({"to": PEER, "type": "hologram"})),
    );
    assert_eq!(s, 422, "{v}");
}

// ---- deletes take the bytes off the disk --------------------------------------------------

#[test]
fn deletes_remove_media_files_and_keep_them_when_asked() {
    let w = world("", &[]);
    let other = "5511888888888";
    let other_jid = "5511888888888@s.whatsapp.net";
    let m1 = w.inbound("image", &png(), json!({}));
    let p1 = w.media_path(PEER_JID, m1["id"].as_str().unwrap());
    assert!(p1.is_file());
    // Delete for me: its bytes go.
    let (s, v) = w.native(
        "DELETE",
        &format!(
            "/core/instances/shop/messages/{}",
            m1["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert!(gone(&p1), "delete-for-me left {}", p1.display());
    // Delete chat without media: the files stay.
    let m2 = w.inbound("document", &pdf(), json!({}));
    let p2 = w.media_path(PEER_JID, m2["id"].as_str().unwrap());
    let (s, v) = w.native(
        "DELETE",
        &format!("/core/instances/shop/chats/{PEER_JID}"),
        None,
    );
    assert_eq!(s, 204, "{v}");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(p2.is_file(), "media=false kept the file");
    // With media: they go.
    let (s, v) = w.gw.admin(
        "POST",
        "/admin/sim/shop/inbound",
        Some(json!({"from": other, "media": {"data": B64.encode(mp4()), "kind": "video"}})),
    );
    assert_eq!(s, 201, "{v}");
    let p3 = w.media_path(other_jid, v["id"].as_str().unwrap());
    assert!(p3.is_file());
    let (s, _) = w.native(
        "DELETE",
        &format!("/core/instances/shop/chats/{other_jid}?media=true"),
        None,
    );
    assert_eq!(s, 204);
    assert!(gone(&p3), "delete chat with media left {}", p3.display());
    // Instance delete: no media file of it is left.
    let m4 = w.inbound("voice", &ogg(), json!({}));
    assert!(w.media_path(PEER_JID, m4["id"].as_str().unwrap()).is_file());
    let (s, v) = w.native("DELETE", "/core/instances/shop", None);
    assert_eq!(s, 200, "{v}");
    let folder = w.gw.data.join("media").join(&w.instance_id);
    assert!(gone(&folder), "instance delete left {}", folder.display());
}

/// A request body for an assertion message, its long base64 cut short.
fn short(body: &Value) -> String {
    let s = body.to_string();
    if s.len() > 200 {
        format!("{}...", &s[..200])
    } else {
        s
    }
}

// ---- schema 4: the old media path strings become media records ---------------------------

#[test]
fn schema_4_turns_stored_media_paths_into_media_records() {
    if crate::common::redb_only("schema_4_turns_stored_media_paths_into_media_records") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gw = Gateway::start_on(&data, &[]);
    let key = gw.org_with_key("acme", None);
    let (instance, _) = gw.connected_instance(&key, "shop");
    let instance_id = instance["id"].as_str().unwrap().to_string();
    let (s, v) = gw.admin(
        "POST",
        "/admin/sim/shop/inbound",
        Some(json!({"from": PEER, "text": "old", "media": {"data": B64.encode(png()), "kind": "image"}})),
    );
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert!(gw.stop().success());
    // Rewrite the record and the file as schema 3 kept them: `media` a path with the
    // file's extension, the file under that name.
    let dir_of = data.join("media").join(&instance_id).join(PEER_JID);
    std::fs::rename(dir_of.join(&id), dir_of.join(format!("{id}.png"))).unwrap();
    {
        use redb::{ReadableDatabase, ReadableTable, TableDefinition};
        const MESSAGES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("messages");
        const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
        let db = redb::Database::open(data.join("wagate.redb")).unwrap();
        let rows: Vec<(Vec<u8>, Value)> = {
            let tx = db.begin_read().unwrap();
            let t = tx.open_table(MESSAGES).unwrap();
            t.iter()
                .unwrap()
                .map(|r| {
                    let (k, v) = r.unwrap();
                    (
                        k.value().to_vec(),
                        serde_json::from_slice(v.value()).unwrap(),
                    )
                })
                .collect()
        };
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(MESSAGES).unwrap();
            for (k, mut m) in rows {
                if m["id"] == id {
                    m["media"] = json!(format!("media/{instance_id}/{PEER_JID}/{id}.png"));
                    t.insert(k.as_slice(), serde_json::to_vec(&m).unwrap().as_slice())
                        .unwrap();
                }
            }
            tx.open_table(META)
                .unwrap()
                .insert("schema_version", 3)
                .unwrap();
        }
        tx.commit().unwrap();
    }
    let gw = Gateway::start_on(&data, &[]);
    let (s, m) = gw.call(
        "GET",
        &format!("/core/instances/shop/messages/{id}"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        m["media"],
        json!({"kind": "image", "mimetype": "image/png", "size": png().len(),
               "sha256": sha256_hex(&png()), "stored": true})
    );
    let auth = format!("Bearer {key}");
    let r = gw.raw(
        "GET",
        &format!("/core/instances/shop/messages/{id}/media"),
        &[("Authorization", auth.as_str())],
        b"",
    );
    assert_eq!((r.status, &r.body), (200, &png()));
    assert!(dir_of.join(&id).is_file() && !dir_of.join(format!("{id}.png")).exists());
    assert!(gw.stop().success());
    assert_eq!(
        common::stored_schema_version(&data),
        wagate::store::SCHEMA_VERSION
    );
}

// ---- files larger than the server's body cap ----------------------------------------------

/// The `wagate_media_uploads_staged` gauge.
fn staged_now(gw: &Gateway) -> String {
    gw.metric("wagate_media_uploads_staged")
        .unwrap_or_else(|| "absent".to_string())
}

#[test]
fn a_file_larger_than_the_body_cap_is_sent_by_base64_in_every_dialect() {
    // 3 MiB: about 4 MiB as base64, four times the default `max_body_bytes`.
    let w = world("", &[]);
    let big = file(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 3 << 20);
    let b64 = B64.encode(&big);
    let ryze = ryze_token(&w.gw);

    let (s, v) = evo(
        &w,
        "/message/sendMedia/shop",
        json!({"number": PEER, "mediatype": "image", "caption": "big", "media": b64}),
    );
    assert_eq!(s, 201, "evolution: {}", short(&v));
    assert_eq!(
        v["message"]["imageMessage"]["fileLength"],
        big.len().to_string()
    );
    assert_eq!(stored_bytes(&w, v["key"]["id"].as_str().unwrap()), big);

    let r = w.gw.raw(
        "POST",
        "/api/message/image/shop",
        &[
            ("token", ryze.as_str()),
            ("content-type", "application/json"),
        ],
        json!({"number": PEER, "media": format!("data:image/png;base64,{b64}")})
            .to_string()
            .as_bytes(),
    );
    let v: Value = r.json();
    assert_eq!(r.status, 200, "ryze: {}", short(&v));
    assert_eq!(
        stored_bytes(&w, v["data"]["messageId"].as_str().unwrap()),
        big
    );

    let (s, v) = sessions(
        &w,
        "POST",
        "/messages",
        Some(json!({"to": PEER, "type": "image", "media": {"data": b64}})),
    );
    assert_eq!(s, 201, "sessions/v1: {}", short(&v));
    assert_eq!(stored_bytes(&w, v["id"].as_str().unwrap()), big);

    let (s, v) = w.send(json!({"to": PEER, "kind": "image", "data": b64}));
    assert_eq!(s, 201, "native: {}", short(&v));
    assert_eq!(stored_bytes(&w, v["id"].as_str().unwrap()), big);

    // The decoded bytes are held only while their request runs.
    assert_eq!(staged_now(&w.gw), "0");

    // A route that carries no media keeps the server's cap, answered in the dialect's
    // shape.
    let (s, v) = evo(
        &w,
        "/message/sendText/shop",
        json!({"number": PEER, "text": "x".repeat(2 << 20)}),
    );
    assert_eq!(s, 413, "{}", short(&v));
    assert_eq!(v["error"], "Payload Too Large", "{}", short(&v));
    assert!(
        v["response"]["message"][0]
            .as_str()
            .unwrap()
            .contains("larger than 1048576 bytes"),
        "{}",
        short(&v)
    );

    // A caller the dialect's auth refuses is refused before any media is staged.
    let r = w.gw.raw(
        "POST",
        "/message/sendMedia/shop",
        &[("apikey", "wrong"), ("content-type", "application/json")],
        json!({"number": PEER, "mediatype": "image", "media": B64.encode(file(b"\x89PNG", 100_000))})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 401);
    assert_eq!(staged_now(&w.gw), "0");
}

/// A voice note that is not Opus is converted to it by ffmpeg (as Evolution does), on
/// the native route and Evolution's `sendWhatsAppAudio`, with its length; one that is
/// Opus already goes as given; plain audio is never converted; audio ffmpeg cannot
/// read is the caller's 400 in each API's shape, and nothing is stored.
#[test]
fn a_voice_note_is_converted_to_opus() {
    assert!(
        std::process::Command::new("ffmpeg")
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "these tests need ffmpeg on the PATH (Debian: apt-get install ffmpeg; .ci/run installs it)"
    );
    let w = world("", &[]);
    let is_opus = |b: &[u8]| b.starts_with(b"OggS") && b.windows(8).any(|x| x == b"OpusHead");
    let (s, v) = w.send(json!({
        "to": PEER, "kind": "voice", "data": B64.encode(wav(2.5)), "mimetype": "audio/wav",
    }));
    assert_eq!(s, 201, "{}", short(&v));
    assert_eq!(v["media"]["mimetype"], "audio/ogg; codecs=opus", "{v}");
    assert_eq!(v["media"]["duration_secs"], 3, "2.5 s, rounded up: {v}");
    let stored = stored_bytes(&w, v["id"].as_str().unwrap());
    assert!(is_opus(&stored), "stored as Opus in Ogg");
    assert_eq!(v["media"]["size"], stored.len());

    let (s, v) = evo(
        &w,
        "/message/sendWhatsAppAudio/shop",
        json!({"number": PEER, "audio": B64.encode(wav(1.0))}),
    );
    assert_eq!(s, 201, "{}", short(&v));
    let audio = &v["message"]["audioMessage"];
    assert_eq!(audio["ptt"], true, "{v}");
    assert_eq!(audio["mimetype"], "audio/ogg; codecs=opus", "{v}");
    assert!(is_opus(&stored_bytes(&w, v["key"]["id"].as_str().unwrap())));

    // Opus already: as given. Plain audio: never converted.
    let (s, v) = w.send(json!({"to": PEER, "kind": "voice", "data": B64.encode(ogg())}));
    assert_eq!(s, 201, "{v}");
    assert_eq!(stored_bytes(&w, v["id"].as_str().unwrap()), ogg());
    let (s, v) = w.send(json!({
        "to": PEER, "kind": "audio", "data": B64.encode(wav(0.5)), "mimetype": "audio/wav",
    }));
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["media"]["mimetype"], "audio/wav");
    assert_eq!(stored_bytes(&w, v["id"].as_str().unwrap()), wav(0.5));

    // Not audio at all, though it says so.
    let (_, before) = w.native("GET", "/core/instances/shop/chats", None);
    let (s, v) = w.send(json!({
        "to": PEER, "kind": "voice", "data": B64.encode(mp3()), "mimetype": "audio/mpeg",
    }));
    assert_eq!(s, 400, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("the audio could not be converted to a voice note"),
        "{msg}"
    );
    let (s, v) = evo(
        &w,
        "/message/sendWhatsAppAudio/shop",
        json!({"number": PEER, "audio": B64.encode(mp3())}),
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error"], "Bad Request", "{v}");
    let (_, after) = w.native("GET", "/core/instances/shop/chats", None);
    assert_eq!(before, after, "nothing stored");
}

/// Evolution's multipart `sendMedia` with a file near `[media] max_bytes`: the host
/// takes the `file` part out of the form before the plugin reads it (a plugin that
/// copied 40 MiB into its 64 MiB memory would fail), and the part's own headers still
/// give the file name and type.
#[test]
fn a_large_multipart_upload_is_sent_whatever_the_plugins_memory_cap() {
    let w = world("", &[]);
    let big = file(b"%PDF-1.7\n", 40 << 20);
    let form = evolution_form(
        &[
            ("number", PEER),
            ("mediatype", "document"),
            ("caption", "Q3"),
        ],
        "annual.pdf",
        "application/pdf",
        &big,
    );
    let r = post_form(&w, "/message/sendMedia/shop", &form);
    let v: Value = r.json();
    assert_eq!(r.status, 201, "{}", short(&v));
    let document = &v["message"]["documentMessage"];
    assert_eq!(document["fileName"], "annual.pdf", "{}", short(&v));
    assert_eq!(document["mimetype"], "application/pdf", "{}", short(&v));
    assert_eq!(document["caption"], "Q3", "{}", short(&v));
    assert!(
        stored_bytes(&w, v["key"]["id"].as_str().unwrap()) == big,
        "stored byte-identical"
    );
}

#[test]
fn a_large_file_is_served_back_by_every_dialect_whatever_its_plugin_memory_cap() {
    // 24 MiB: 32 MiB as base64. A dialect that copied the file into its memory and
    // encoded it there would need several copies of it under a 64 MiB cap; the host
    // attaches the bytes to the dialect's answer instead (`core.attach-media`).
    let w = world("", &[]);
    let big = file(b"%PDF-1.7\n", 24 << 20);
    let (s, v) = w.send(json!({
        "to": PEER, "kind": "document", "data": B64.encode(&big),
        "mimetype": "application/pdf", "file_name": "annual \"report\".pdf",
    }));
    assert_eq!(s, 201, "{}", short(&v));
    let id = v["id"].as_str().unwrap().to_string();

    let (s, v) = evo(
        &w,
        "/chat/getBase64FromMediaMessage/shop",
        json!({"message": {"key": {"id": id}}}),
    );
    assert_eq!(s, 201, "evolution: {}", short(&v));
    assert_eq!(v["mimetype"], "application/pdf");
    assert_eq!(v["size"]["fileLength"], big.len().to_string());
    assert!(
        B64.decode(v["base64"].as_str().unwrap()).unwrap() == big,
        "evolution's base64"
    );

    let ryze = ryze_token(&w.gw);
    let r = w.gw.raw(
        "GET",
        &format!("/api/message/download/shop?messageId={id}"),
        &[("token", ryze.as_str())],
        b"",
    );
    assert_eq!(r.status, 200, "ryze binary: {}", short(&r.json()));
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"annual _report_.pdf\"")
    );
    assert_eq!(
        r.header("content-length"),
        Some(big.len().to_string().as_str())
    );
    assert!(r.body == big, "ryze's binary download");
    let r = w.gw.raw(
        "GET",
        &format!("/api/message/download/shop?messageId={id}&format=base64"),
        &[("token", ryze.as_str())],
        b"",
    );
    assert_eq!(r.status, 200, "ryze base64");
    let v: Value = r.json();
    assert_eq!(v["success"], true);
    assert_eq!(v["data"]["messageId"], id.as_str());
    assert!(
        B64.decode(v["data"]["base64"].as_str().unwrap()).unwrap() == big,
        "ryze's base64"
    );

    let auth = format!("Bearer {}", w.key);
    let r = w.gw.raw(
        "GET",
        &format!("/api/v1/sessions/{}/messages/{id}/media", w.instance_id),
        &[("Authorization", auth.as_str())],
        b"",
    );
    assert_eq!(r.status, 200, "sessions/v1");
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    assert!(r.body == big, "sessions/v1's download");

    // The errors are still each dialect's own: an unknown id, and a message without
    // media.
    let r = w.gw.raw(
        "GET",
        "/api/message/download/shop?messageId=NOPE",
        &[("token", ryze.as_str())],
        b"",
    );
    assert_eq!(r.status, 404, "{}", short(&r.json()));
    assert_eq!(r.json()["success"], false);
    let (s, v) = evo(
        &w,
        "/chat/getBase64FromMediaMessage/shop",
        json!({"message": {"key": {"id": "NOPE"}}}),
    );
    assert_eq!(s, 400, "{}", short(&v));
}

#[test]
fn a_media_body_over_the_media_cap_is_413_in_each_dialects_shape_and_stores_nothing() {
    // [media] max_bytes 1 MiB: a media route reads at most about 2.4 MiB (the base64 of
    // 1 MiB, room for line breaks in it, and 1 MiB for the rest).
    let w = world("[media]\nmax_bytes = 1048576\n", &[]);
    let b64 = B64.encode(file(b"\x89PNG\r\n\x1a\n", 3 << 20));
    let (s, v) = evo(
        &w,
        "/message/sendMedia/shop",
        json!({"number": PEER, "mediatype": "image", "media": b64}),
    );
    assert_eq!(s, 413, "{}", short(&v));
    assert_eq!(v["status"], 413);
    assert_eq!(v["error"], "Payload Too Large");
    let ryze = ryze_token(&w.gw);
    let r = w.gw.raw(
        "POST",
        "/api/message/document/shop",
        &[
            ("token", ryze.as_str()),
            ("content-type", "application/json"),
        ],
        json!({"number": PEER, "media": b64}).to_string().as_bytes(),
    );
    let v: Value = r.json();
    assert_eq!(r.status, 413, "{}", short(&v));
    assert_eq!(v["success"], false);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("larger than")
    );
    let (s, v) = sessions(
        &w,
        "POST",
        "/messages",
        Some(json!({"to": PEER, "type": "image", "media": {"data": b64}})),
    );
    assert_eq!(
        (s, &v["error"]["code"]),
        (413, &json!("too_large")),
        "{}",
        short(&v)
    );
    // Between the two caps: read, decoded, then refused by the media cap itself.
    let b64 = B64.encode(file(b"\x89PNG\r\n\x1a\n", (1 << 20) + 1000));
    let (s, v) = evo(
        &w,
        "/message/sendMedia/shop",
        json!({"number": PEER, "mediatype": "image", "media": b64}),
    );
    assert_eq!(s, 413, "{}", short(&v));
    assert!(!w.gw.data.join("media").join(&w.instance_id).exists());
    assert_eq!(staged_now(&w.gw), "0");
}

#[test]
fn a_dialects_url_send_is_not_cut_by_its_core_call_timeout() {
    // The dialect's core calls time out after 300 ms; a media send, which fetches its
    // URL inside the call, gets twice [media] fetch_timeout_ms instead.
    let w = world("[plugins.settings.evolution]\ncore_timeout_ms = 300\n", &[]);
    let files = Files::start();
    let url = files.serve("/slow/p.png", "image/png", png());
    let (s, v) = evo(
        &w,
        "/message/sendMedia/shop",
        json!({"number": PEER, "mediatype": "image", "media": url}),
    );
    assert_eq!(s, 201, "{}", short(&v));
    assert_eq!(stored_bytes(&w, v["key"]["id"].as_str().unwrap()), png());
}

// ---- which inbound media an instance downloads ---------------------------------------------

#[test]
fn an_instance_chooses_which_inbound_media_it_downloads() {
    let w = world("", &[]);
    let path = "/core/instances/shop/media-download";
    let (s, v) = w.native("GET", path, None);
    assert_eq!(
        (s, v),
        (200, Value::Null),
        "the default until one is chosen"
    );
    // Documents only, up to 4 KiB.
    let (s, v) = w.native(
        "PUT",
        path,
        Some(json!({"kinds": ["document"], "max_bytes": 4096})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"enabled": true, "kinds": ["document"], "max_bytes": 4096})
    );
    let photo = w.inbound("image", &png(), json!({"mimetype": "image/png"}));
    assert_eq!(photo["media"]["stored"], false, "{photo}");
    assert_eq!(
        photo["media"]["size"],
        png().len(),
        "the metadata is kept: {photo}"
    );
    let r = w.get_raw(&format!(
        "/core/instances/shop/messages/{}/media",
        photo["id"].as_str().unwrap()
    ));
    assert_eq!(r.status, 404);
    let doc = w.inbound("document", &pdf(), json!({"mimetype": "application/pdf"}));
    assert_eq!(doc["media"]["stored"], true, "{doc}");
    let big = file(b"%PDF-1.4\n", 5000);
    let doc = w.inbound("document", &big, json!({"mimetype": "application/pdf"}));
    assert_eq!(doc["media"]["stored"], false, "over its max_bytes: {doc}");
    // Nothing at all.
    let (s, _) = w.native("PUT", path, Some(json!({"enabled": false})));
    assert_eq!(s, 200);
    let doc = w.inbound("document", &pdf(), json!({"mimetype": "application/pdf"}));
    assert_eq!(doc["media"]["stored"], false);
    // Back to the default: everything.
    let (s, _) = w.native("DELETE", path, None);
    assert_eq!(s, 204);
    assert_eq!(w.native("GET", path, None), (200, Value::Null));
    let photo = w.inbound("image", &png(), json!({"mimetype": "image/png"}));
    assert_eq!(photo["media"]["stored"], true);
    assert_eq!(stored_bytes(&w, photo["id"].as_str().unwrap()), png());

    // Refusals: a kind WhatsApp has not, an unknown field, a read-only key, another org.
    for bad in [json!({"kinds": ["hologram"]}), json!({"everything": true})] {
        let (s, v) = w.native("PUT", path, Some(bad));
        assert_eq!((s, &v["error"]["code"]), (400, &json!("invalid")), "{v}");
    }
    let reader = w.gw.key("acme", Some(&["read"]));
    let (s, _) =
        w.gw.call("PUT", path, Some(&reader), Some(json!({"enabled": false})));
    assert_eq!(s, 403);
    let (s, _) = w.gw.call("GET", path, Some(&reader), None);
    assert_eq!(s, 200, "reading the choice needs read");
    let other = w.gw.org_with_key("rival", None);
    let (s, _) = w.gw.call("GET", path, Some(&other), None);
    assert_eq!(s, 404);
}

#[test]
fn an_instances_media_choice_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (key, id) = {
        let gw = Gateway::start_on(&data, &[]);
        let key = gw.org_with_key("acme", None);
        let (instance, _) = gw.connected_instance(&key, "shop");
        let (s, _) = gw.call(
            "PUT",
            "/core/instances/shop/media-download",
            Some(&key),
            Some(json!({"enabled": false})),
        );
        assert_eq!(s, 200);
        (key, instance["id"].as_str().unwrap().to_string())
    };
    let gw = Gateway::start_on(&data, &[]);
    gw.wait_state(&key, "shop", "open");
    let (s, v) = gw.admin(
        "POST",
        "/admin/sim/shop/inbound",
        Some(json!({"from": PEER, "text": "look", "media": {"data": B64.encode(png()), "kind": "image"}})),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["message"]["media"]["stored"], false, "{v}");
    assert!(!gw.data.join("media").join(&id).exists());
}

// ---- RyzeAPI's mediaBase64 ----------------------------------------------------------

/// A Ryze webhook saved with `mediaBase64: true` gets a new media message's bytes in
/// `data.message.media.base64`; another webhook of the same instance without it gets
/// the same event without them.
#[test]
fn ryze_media_base64_is_per_webhook() {
    let w = world("", &[]);
    let token = ryze_token(&w.gw);
    let rx = receiver::Receiver::start();
    let save = |body: Value| {
        let r = crate::common::ryze::ryze(
            &w.gw,
            "POST",
            "/api/events/webhook/shop",
            Some(&token),
            &body.to_string(),
        );
        (r.status, r.json())
    };
    let (s, v) = save(json!({"label": "with-bytes", "url": rx.url("bytes"),
        "events": ["message.exchange"], "mediaBase64": true}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["webhook"]["mediaBase64"], true, "{v}");
    let (s, v) = save(json!({"label": "plain", "url": rx.url("plain"),
        "events": ["message.exchange"]}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["webhook"]["mediaBase64"], false, "{v}");
    // Answered back as stored (the other upsert gave every webhook a new id).
    let r = crate::common::ryze::ryze(
        &w.gw,
        "GET",
        "/api/events/getWebhook/shop",
        Some(&token),
        "",
    );
    let listed = r.json();
    let flags: Vec<(Value, Value)> = listed["webhooks"]
        .as_array()
        .expect("webhooks")
        .iter()
        .map(|h| (h["label"].clone(), h["mediaBase64"].clone()))
        .collect();
    assert_eq!(
        flags,
        [
            (json!("plain"), json!(false)),
            (json!("with-bytes"), json!(true))
        ]
    );
    // Not a boolean: refused in Ryze's shape.
    let (s, v) = save(json!({"label": "x", "url": rx.url("x"), "mediaBase64": "yes"}));
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["success"], false, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mediaBase64 must be a boolean"),
        "{v}"
    );

    let photo = w.inbound("image", &png(), json!({}));
    let id = photo["id"].clone();
    rx.wait_until("the photo at the plain webhook", |r| {
        r.body["data"]["id"] == id && r.path == "/plain"
    });
    let got = rx.wait_until("the photo at the bytes webhook", |r| {
        r.body["data"]["id"] == id && r.path == "/bytes"
    });
    let at = |path: &str| {
        got.iter()
            .find(|r| r.path == path && r.body["data"]["id"] == id)
            .unwrap_or_else(|| panic!("no delivery at {path}"))
    };
    let with = at("/bytes");
    assert_eq!(with.body["event"], "message.exchange");
    let media = &with.body["data"]["message"]["media"];
    assert_eq!(media["type"], "image", "{media}");
    let b64 = media["base64"].as_str().expect("base64 in the event");
    assert!(B64.decode(b64).unwrap() == png(), "other bytes came");
    assert_eq!(with.header("x-ryze-media-base64"), Some("true"));
    let plain = at("/plain");
    let media = &plain.body["data"]["message"]["media"];
    assert_eq!(media["type"], "image", "{media}");
    assert!(media.get("base64").is_none(), "{media}");
    assert_eq!(plain.header("x-ryze-media-base64"), None);

    // A text message has no media to carry, with the switch on too.
    let text = w.gw.inbound("shop", PEER, "just words", false);
    let got = rx.wait_until("the text at the bytes webhook", |r| {
        r.body["data"]["id"] == text.as_str() && r.path == "/bytes"
    });
    let body = &got
        .iter()
        .find(|r| r.body["data"]["id"] == text.as_str() && r.path == "/bytes")
        .unwrap()
        .body;
    assert!(body["data"]["message"].get("media").is_none(), "{body}");
}

// ---- sticker transcoding --------------------------------------------------------------

/// A real image of `width` x `height` (opaque) in `format`.
fn real_image(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 120])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

/// A PNG or JPEG sent as a sticker goes out, and is stored, as the 512x512 WebP
/// WhatsApp requires: fitted, centred on a transparent square. A WebP is sent as is;
/// a file that only claims to be a PNG is refused with the reason.
#[test]
fn png_and_jpeg_stickers_become_512_webp() {
    let w = world("", &[]);
    for (name, bytes) in [
        ("png", real_image(300, 600, image::ImageFormat::Png)),
        ("jpeg", real_image(900, 450, image::ImageFormat::Jpeg)),
    ] {
        let (s, v) = w.send(json!({"to": PEER, "kind": "sticker", "data": B64.encode(&bytes)}));
        assert_eq!(s, 201, "{name}: {v}");
        assert_eq!(v["media"]["mimetype"], "image/webp", "{name}: {v}");
        assert_eq!(v["media"]["width"], 512, "{name}: {v}");
        assert_eq!(v["media"]["height"], 512, "{name}: {v}");
        let id = v["id"].as_str().unwrap();
        let r = w.get_raw(&format!("/core/instances/shop/messages/{id}/media"));
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(r.header("content-type"), Some("image/webp"), "{name}");
        assert_eq!(v["media"]["size"], r.body.len(), "{name}");
        let back = image::load_from_memory_with_format(&r.body, image::ImageFormat::WebP)
            .unwrap_or_else(|e| panic!("{name}: not a WebP: {e}"))
            .to_rgba8();
        assert_eq!(back.dimensions(), (512, 512), "{name}");
        // The picture in the middle, transparent margins beside (300x600 fits as
        // 256x512) or above (900x450 fits as 512x256).
        assert_eq!(back.get_pixel(256, 256)[3], 255, "{name}");
        let margin = if name == "png" { (5, 256) } else { (256, 5) };
        assert_eq!(back.get_pixel(margin.0, margin.1)[3], 0, "{name}");
    }

    let (s, v) = w.send(json!({"to": PEER, "kind": "sticker", "data": B64.encode(png())}));
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .or(v["error"]["message"].as_str())
            .unwrap_or_default()
            .contains("not a readable image/png image"),
        "{v}"
    );
}
