//! The S3 media store end to end: the real binary on the sim link with
//! `[media.store] kind = "s3"` against moto's S3 server on loopback
//! (tests/common/moto.rs). Media sent (base64 and URL) and received land in the
//! bucket, read back byte-identical through every dialect; the deletes leave no object
//! behind, also when the bucket was unreachable at the time (the removal journal
//! retries); Evolution's `/s3/getMedia` and `/s3/getMediaUrl` hand out a presigned URL
//! that serves the bytes; a bad `[media.store]` stops the start-up with its reason.

use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;

use crate::common::moto::Moto;
use crate::media::{Files, PEER, PEER_JID, World, evo, mp4, ogg, pdf, png, ryze_token, world};

/// The object key of a message's media (the gateway's `MediaKey` under prefix `gw1`).
fn object_key(w: &World, chat: &str, id: &str) -> String {
    format!("gw1/media/{}/{chat}/{id}", w.instance_id)
}

fn instance_prefix(w: &World) -> String {
    format!("gw1/media/{}/", w.instance_id)
}

/// The media bytes through each dialect's media read.
fn read_back_everywhere(w: &World, id: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let r = w.get_raw(&format!("/core/instances/shop/messages/{id}/media"));
    assert_eq!(r.status, 200, "native read of {id}");
    out.push(r.body);
    let (s, v) = evo(
        w,
        "/chat/getBase64FromMediaMessage/shop",
        json!({"message": {"key": {"id": id}}}),
    );
    assert_eq!(s, 201, "{v}");
    out.push(B64.decode(v["base64"].as_str().unwrap()).unwrap());
    let ryze = ryze_token(&w.gw);
    let r = w.gw.raw(
        "GET",
        &format!("/api/message/download/shop?messageId={id}"),
        &[("token", ryze.as_str())],
        b"",
    );
    assert_eq!(r.status, 200, "ryze read of {id}");
    out.push(r.body);
    let auth = format!("Bearer {}", w.key);
    let r = w.gw.raw(
        "GET",
        &format!("/api/v1/sessions/{}/messages/{id}/media", w.instance_id),
        &[("Authorization", auth.as_str())],
        b"",
    );
    assert_eq!(r.status, 200, "sessions/v1 read of {id}");
    out.push(r.body);
    out
}

#[test]
fn media_sent_and_received_lives_in_the_bucket_and_reads_back_in_every_dialect() {
    let moto = Moto::start();
    let w = world(&moto.toml(), &[]);
    let files = Files::start();

    // Sent by base64, sent by URL, received from the sim network.
    let (s, sent) = w.send(json!({"to": PEER, "kind": "image", "data": B64.encode(png())}));
    assert_eq!(s, 201, "{sent}");
    let url = files.serve("/clip.mp4", "video/mp4", mp4());
    let (s, by_url) = w.send(json!({"to": PEER, "kind": "video", "url": url}));
    assert_eq!(s, 201, "{by_url}");
    let got = w.inbound("document", &pdf(), json!({"fileName": "doc.pdf"}));

    for (m, bytes) in [(&sent, png()), (&by_url, mp4()), (&got, pdf())] {
        let id = m["id"].as_str().unwrap();
        assert_eq!(m["media"]["stored"], true, "{m}");
        for (i, read) in read_back_everywhere(&w, id).into_iter().enumerate() {
            assert!(
                read == bytes,
                "read #{i} of {id} differs from what was stored"
            );
        }
        // The object is in the bucket, under its key, with the bytes.
        let key = object_key(&w, PEER_JID, id);
        assert!(moto.object(&key).is_some_and(|b| b == bytes), "{key}");
    }
    assert_eq!(moto.keys(&instance_prefix(&w)).len(), 3);
    // Nothing on disk: the bucket is the store.
    assert!(
        !w.gw.data.join("media").exists(),
        "the S3 store wrote media into the data folder"
    );
}

#[test]
fn deletes_leave_no_object_in_the_bucket() {
    let moto = Moto::start();
    let w = world(&moto.toml(), &[]);
    let other = "5511888888888";
    let other_jid = "5511888888888@s.whatsapp.net";

    // Delete for me: its object goes.
    let m1 = w.inbound("image", &png(), json!({}));
    let k1 = object_key(&w, PEER_JID, m1["id"].as_str().unwrap());
    assert!(moto.object(&k1).is_some());
    let (s, v) = w.native(
        "DELETE",
        &format!(
            "/core/instances/shop/messages/{}",
            m1["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert!(moto.empty_within(&k1, Duration::from_secs(10)), "{k1} left");

    // Delete chat without media: the object stays; with media: it goes.
    let m2 = w.inbound("document", &pdf(), json!({}));
    let k2 = object_key(&w, PEER_JID, m2["id"].as_str().unwrap());
    let (s, _) = w.native(
        "DELETE",
        &format!("/core/instances/shop/chats/{PEER_JID}"),
        None,
    );
    assert_eq!(s, 204);
    std::thread::sleep(Duration::from_millis(300));
    assert!(moto.object(&k2).is_some(), "media=false kept the object");
    let (s, v) = w.gw.admin(
        "POST",
        "/admin/sim/shop/inbound",
        Some(json!({"from": other, "media": {"data": B64.encode(mp4()), "kind": "video"}})),
    );
    assert_eq!(s, 201, "{v}");
    let k3 = object_key(&w, other_jid, v["id"].as_str().unwrap());
    assert!(moto.object(&k3).is_some());
    let (s, _) = w.native(
        "DELETE",
        &format!("/core/instances/shop/chats/{other_jid}?media=true"),
        None,
    );
    assert_eq!(s, 204);
    assert!(moto.empty_within(&k3, Duration::from_secs(10)), "{k3} left");

    // RyzeAPI's deleteChat with deleteMedia goes through the same journal.
    let m4 = w.inbound("voice", &ogg(), json!({}));
    let k4 = object_key(&w, PEER_JID, m4["id"].as_str().unwrap());
    assert!(moto.object(&k4).is_some());
    let ryze = ryze_token(&w.gw);
    let r = w.gw.raw(
        "DELETE",
        "/api/chat/deleteChat/shop",
        &[
            ("token", ryze.as_str()),
            ("content-type", "application/json"),
        ],
        json!({"number": PEER, "deleteMedia": true})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert!(moto.empty_within(&k4, Duration::from_secs(10)), "{k4} left");
    // k2's message went with the first chat delete (its bytes kept, as asked): no
    // record names it any more, so only the instance delete takes it.
    assert!(moto.object(&k2).is_some());

    // Instance delete: no object of it is left (k2 among them).
    let m5 = w.inbound("image", &png(), json!({}));
    assert!(
        moto.object(&object_key(&w, PEER_JID, m5["id"].as_str().unwrap()))
            .is_some()
    );
    let (s, v) = w.native("DELETE", "/core/instances/shop", None);
    assert_eq!(s, 200, "{v}");
    assert!(
        moto.empty_within(&instance_prefix(&w), Duration::from_secs(10)),
        "instance delete left {:?}",
        moto.keys(&instance_prefix(&w))
    );
}

#[test]
fn an_unreachable_bucket_during_instance_delete_is_retried_from_the_journal() {
    let moto = Moto::start();
    let w = world(&moto.toml(), &[]);
    for kind in ["image", "document"] {
        let bytes = if kind == "image" { png() } else { pdf() };
        w.inbound(kind, &bytes, json!({}));
    }
    let prefix = instance_prefix(&w);
    assert_eq!(moto.keys(&prefix).len(), 2);

    moto.gate.cut();
    let started = std::time::Instant::now();
    let (s, v) = w.native("DELETE", "/core/instances/shop", None);
    assert_eq!(s, 200, "the delete answers as before: {v}");
    assert_eq!(v["name"], "shop");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the delete waited {:?} for the bucket",
        started.elapsed()
    );
    // The instance is gone for callers at once; its objects are still in the bucket.
    let (s, _) = w.native("GET", "/core/instances/shop", None);
    assert_eq!(s, 404);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(moto.keys(&prefix).len(), 2, "nothing could be removed yet");

    // The bucket is back: the journal's retry removes them.
    moto.gate.restore();
    assert!(
        moto.empty_within(&prefix, Duration::from_secs(60)),
        "the journal did not finish the removal: {:?}",
        moto.keys(&prefix)
    );
}

#[test]
fn journalled_removals_survive_a_restart_while_the_bucket_is_unreachable() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wagate.toml");
    std::fs::write(&cfg, moto.toml()).unwrap();
    let data = dir.path().join("data");
    let start = || crate::common::Gateway::start_on(&data, &["--config", cfg.to_str().unwrap()]);
    let gw = start();
    let key = gw.org_with_key("acme", None);
    let (instance, _) = gw.connected_instance(&key, "shop");
    let (s, v) = gw.admin(
        "POST",
        "/admin/sim/shop/inbound",
        Some(json!({"from": PEER, "media": {"data": B64.encode(png()), "kind": "image"}})),
    );
    assert_eq!(s, 201, "{v}");
    let prefix = format!("gw1/media/{}/", instance["id"].as_str().unwrap());
    assert_eq!(moto.keys(&prefix).len(), 1);

    moto.gate.cut();
    let (s, _) = gw.call("DELETE", "/core/instances/shop", Some(&key), None);
    assert_eq!(s, 200);
    assert!(gw.stop().success());
    assert_eq!(moto.keys(&prefix).len(), 1, "the bucket was unreachable");

    // The journal is in the database: the next start (bucket back) finishes it.
    moto.gate.restore();
    let _gw = start();
    assert!(
        moto.empty_within(&prefix, Duration::from_secs(30)),
        "the restarted gateway did not finish the removal"
    );
}

/// Evolution's `message.mediaUrl` of the stored message `id` as findMessages shows it.
fn find_messages_media_url(w: &World, id: &str) -> Option<String> {
    let (s, v) = evo(
        w,
        "/chat/findMessages/shop",
        json!({"where": {"key": {"remoteJid": PEER_JID}}}),
    );
    assert_eq!(s, 200, "{v}");
    let records = v["messages"]["records"].as_array().unwrap();
    let row = records
        .iter()
        .find(|r| r["key"]["id"] == id)
        .expect("the message's row");
    row["message"]["mediaUrl"].as_str().map(str::to_string)
}

/// GETs a presigned URL without credentials.
fn get_presigned(url: &str) -> wagate::client::Response {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    wagate::client::request(&format!("http://{authority}"), "GET", path, &[], None).unwrap()
}

#[test]
fn evolution_get_media_url_hands_out_a_presigned_url_that_serves_the_bytes() {
    let moto = Moto::start();
    let w = world(&moto.toml(), &[]);
    let photo = w.inbound("image", &png(), json!({"fileName": "photo.png"}));
    let id = photo["id"].as_str().unwrap();
    let doc = w.inbound("document", &pdf(), json!({}));

    let (s, v) = evo(
        &w,
        "/s3/getMediaUrl/shop",
        json!({"id": id, "expiry": "120"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["id"], id);
    assert_eq!(v["fileName"], "photo.png");
    assert_eq!(v["type"], "imageMessage");
    assert_eq!(v["mimetype"], "image/png");
    assert_eq!(v["Message"]["key"]["id"], id, "{v}");
    assert!(
        v["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{v}"
    );
    let url = v["mediaUrl"].as_str().unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(url.contains("X-Amz-Expires=120"), "{url}");
    // An HTTP GET of it (no credentials) answers the bytes.
    let r = get_presigned(url);
    assert_eq!(r.status, 200);
    assert!(r.body == png(), "the presigned URL served other bytes");

    // As in Evolution with S3 on, the message row carries a presigned `mediaUrl` too.
    let url = find_messages_media_url(&w, id).expect("findMessages' message.mediaUrl");
    assert!(url.contains("X-Amz-Expires=3600"), "{url}");
    let r = get_presigned(&url);
    assert_eq!(r.status, 200);
    assert!(r.body == png(), "message.mediaUrl served other bytes");

    // No expiry: the operator's cap (an hour by default); a larger one is capped.
    let (_, v) = evo(&w, "/s3/getMediaUrl/shop", json!({"id": id}));
    assert!(
        v["mediaUrl"]
            .as_str()
            .unwrap()
            .contains("X-Amz-Expires=3600"),
        "{v}"
    );
    let (_, v) = evo(
        &w,
        "/s3/getMediaUrl/shop",
        json!({"id": id, "expiry": "999999"}),
    );
    assert!(
        v["mediaUrl"]
            .as_str()
            .unwrap()
            .contains("X-Amz-Expires=3600"),
        "{v}"
    );

    // getMedia: by id, by type, all; 201 and a list, as Evolution answers.
    let (s, v) = evo(&w, "/s3/getMedia/shop", json!({"id": id}));
    assert_eq!(s, 201, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["fileName"], "photo.png");
    let (s, v) = evo(&w, "/s3/getMedia/shop", json!({"type": "documentMessage"}));
    assert_eq!(s, 201, "{v}");
    assert_eq!(v[0]["id"], doc["id"], "{v}");
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (s, v) = evo(&w, "/s3/getMedia/shop", json!({}));
    assert_eq!((s, v.as_array().map(Vec::len)), (201, Some(2)), "{v}");

    // Evolution's 400s: unknown id, a text message, no id, a bad expiry.
    let not_found = json!({"status": 400, "error": "Bad Request", "response": {"message": ["Media not found"]}});
    assert_eq!(
        evo(&w, "/s3/getMediaUrl/shop", json!({"id": "NOPE"})),
        (400, not_found.clone())
    );
    let text = w.gw.inbound("shop", PEER, "plain", false);
    assert_eq!(
        evo(&w, "/s3/getMediaUrl/shop", json!({"id": text})),
        (400, not_found.clone())
    );
    assert_eq!(
        evo(&w, "/s3/getMedia/shop", json!({"id": "NOPE"})),
        (400, not_found.clone())
    );
    assert_eq!(
        evo(&w, "/s3/getMedia/shop", json!({"messageId": 7})),
        (400, not_found)
    );
    let (s, v) = evo(&w, "/s3/getMediaUrl/shop", json!({}));
    assert_eq!(s, 400, "{v}");
    let (s, v) = evo(
        &w,
        "/s3/getMediaUrl/shop",
        json!({"id": id, "expiry": "soon"}),
    );
    assert_eq!(s, 400, "{v}");

    // Tenancy: another organisation's key does not see the instance; an instance
    // token of another instance is refused.
    let rival = w.gw.org_with_key("rival", None);
    let r = w.gw.raw(
        "POST",
        "/s3/getMediaUrl/shop",
        &[
            ("apikey", rival.as_str()),
            ("content-type", "application/json"),
        ],
        json!({"id": id}).to_string().as_bytes(),
    );
    assert_eq!(r.status, 404, "{:?}", r.json());
    assert!(r.json().get("mediaUrl").is_none());
    let (_, other_token) = w.gw.instance(&w.key, "other");
    let r = w.gw.raw(
        "POST",
        "/s3/getMediaUrl/shop",
        &[
            ("apikey", other_token.as_str()),
            ("content-type", "application/json"),
        ],
        json!({"id": id}).to_string().as_bytes(),
    );
    assert_eq!(r.status, 401, "{:?}", r.json());
}

#[test]
fn on_the_disk_store_the_s3_routes_answer_as_evolution_without_s3() {
    let w = world("", &[]);
    let photo = w.inbound("image", &png(), json!({}));
    let id = photo["id"].as_str().unwrap();
    let not_found = json!({"status": 400, "error": "Bad Request", "response": {"message": ["Media not found"]}});
    assert_eq!(
        evo(&w, "/s3/getMediaUrl/shop", json!({"id": id})),
        (400, not_found.clone())
    );
    assert_eq!(
        evo(&w, "/s3/getMedia/shop", json!({"id": id})),
        (400, not_found)
    );
    // The media itself is there, on disk, for the other reads; no row gives a URL.
    let r = w.get_raw(&format!("/core/instances/shop/messages/{id}/media"));
    assert_eq!((r.status, r.body), (200, png()));
    assert_eq!(find_messages_media_url(&w, id), None);
}

/// Runs `wagate serve` with `toml` and returns (exit success, stderr) once it exits
/// (it must, within 30 s).
fn serve_exits(toml: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wagate.toml");
    std::fs::write(&cfg, toml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--link",
            "sim",
            "--config",
        ])
        .arg(&cfg)
        .arg("--data")
        .arg(dir.path().join("data"))
        .env("WAGATE_ADMIN_TOKEN", crate::common::ADMIN)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.success(), err);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("wagate kept running with a bad [media.store]");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_bad_media_store_stops_the_start_with_its_reason() {
    let moto = Moto::start();
    let cases: Vec<(String, &str)> = vec![
        ("[media.store]\nkind = \"s3\"\n".into(), "needs `bucket`"),
        (
            moto.toml().replace("wagate-media", "no-such-bucket"),
            "no-such-bucket",
        ),
        (
            "[media.store]\nkind = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:1\"\n\
             path_style = true\naccess_key_id = \"k\"\nsecret_access_key = \"s\"\n"
                .into(),
            "is not usable",
        ),
        ("[media.store]\nkind = \"ftp\"\n".into(), "unknown variant"),
    ];
    for (toml, says) in cases {
        let (ok, err) = serve_exits(&toml);
        assert!(!ok, "started with {toml}");
        assert!(err.contains(says), "{toml}\n=> {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // Wrong credentials, against a moto that checks them (after its first, unsigned,
    // bucket creation).
    let strict = Moto::start_checking_credentials();
    let (ok, err) = serve_exits(&strict.toml());
    assert!(!ok, "started with credentials moto does not know");
    assert!(err.contains("is not usable"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Evolution's `webhook.base64`: MESSAGES_UPSERT of a media message carries its bytes
/// in `data.message.base64` (read from the bucket), and not without the switch or for
/// media over the inline cap.
#[test]
fn evolution_webhook_base64_carries_the_media_bytes() {
    let moto = Moto::start();
    // Room for a 5 MiB file through the admin inbound route.
    let w = world(&format!("max_body_bytes = 16777216\n{}", moto.toml()), &[]);
    let rx = crate::common::receiver::Receiver::start();
    let set = |base64: bool| {
        let (s, v) = evo(
            &w,
            "/webhook/set/shop",
            json!({"webhook": {"enabled": true, "url": rx.url("/hook"), "base64": base64,
                   "events": ["MESSAGES_UPSERT"]}}),
        );
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["webhookBase64"], base64, "{v}");
    };
    set(true);
    let r = w.gw.raw(
        "GET",
        "/webhook/find/shop",
        &[("apikey", w.key.as_str())],
        b"",
    );
    assert_eq!(r.json()["webhookBase64"], true);

    let photo = w.inbound("image", &png(), json!({}));
    let got = rx.wait_until("the photo's MESSAGES_UPSERT", |r| {
        r.body["data"]["key"]["id"] == photo["id"]
    });
    let data = &got
        .iter()
        .find(|r| r.body["data"]["key"]["id"] == photo["id"])
        .unwrap()
        .body["data"];
    assert_eq!(data["messageType"], "imageMessage");
    let b64 = data["message"]["base64"]
        .as_str()
        .expect("base64 in the event");
    assert!(
        B64.decode(b64).unwrap() == png(),
        "the event carried other bytes"
    );

    // Over the cap (5 MiB): the event without the bytes.
    let big = {
        let mut b = png();
        b.resize(5 * 1024 * 1024 + 1, 7);
        b
    };
    let large = w.inbound("image", &big, json!({}));
    let got = rx.wait_until("the large photo's MESSAGES_UPSERT", |r| {
        r.body["data"]["key"]["id"] == large["id"]
    });
    let data = &got
        .iter()
        .find(|r| r.body["data"]["key"]["id"] == large["id"])
        .unwrap()
        .body["data"];
    assert_eq!(data["messageType"], "imageMessage");
    assert!(data["message"].get("base64").is_none(), "over the cap");
    // The bucket's presigned URL instead, as Evolution gives with S3 on.
    let url = data["message"]["mediaUrl"]
        .as_str()
        .expect("mediaUrl in the event");
    assert!(
        get_presigned(url).body == big,
        "the event's mediaUrl serves the file"
    );

    // Switched off: no bytes.
    set(false);
    let doc = w.inbound("document", &pdf(), json!({}));
    let got = rx.wait_until("the document's MESSAGES_UPSERT", |r| {
        r.body["data"]["key"]["id"] == doc["id"]
    });
    let data = &got
        .iter()
        .find(|r| r.body["data"]["key"]["id"] == doc["id"])
        .unwrap()
        .body["data"];
    assert_eq!(data["messageType"], "documentMessage");
    assert!(data["message"].get("base64").is_none(), "{data}");
}

/// A file over the multipart threshold (8 MiB) goes up in parts: the object's ETag is
/// a multipart one (`-2`: 8 MiB and the rest), no upload is left open, the bytes read
/// back byte-identical, and deleting the instance removes the object.
#[test]
fn a_large_file_is_uploaded_in_parts_and_reads_back_byte_identical() {
    let moto = Moto::start();
    // Room for a 9 MiB file (12 MiB of base64) through the admin inbound route.
    let w = world(&format!("max_body_bytes = 33554432\n{}", moto.toml()), &[]);
    let big: Vec<u8> = {
        let mut b = mp4();
        b.extend((0..9 * 1024 * 1024).map(|i: usize| (i.wrapping_mul(31) % 251) as u8));
        b
    };
    let got = w.inbound("video", &big, json!({"mimetype": "video/mp4"}));
    let id = got["id"].as_str().unwrap();
    assert_eq!(got["media"]["stored"], true, "{got}");
    assert_eq!(got["media"]["size"], big.len(), "{got}");

    let key = object_key(&w, PEER_JID, id);
    let etag = moto.etag(&key).expect("the object is in the bucket");
    assert!(
        etag.ends_with("-2"),
        "not a 2-part multipart upload: {etag}"
    );
    assert!(moto.open_uploads().is_empty(), "an upload was left open");
    assert!(moto.object(&key).is_some_and(|b| b == big), "{key}");
    // Read back through core. (Not through a dialect: a plugin holds the whole file
    // and its copies in its 64 MiB memory cap, which a 9 MiB file already exceeds in
    // RyzeAPI's download and Evolution's getBase64FromMediaMessage; see the README.)
    let r = w.get_raw(&format!("/core/instances/shop/messages/{id}/media"));
    assert_eq!(r.status, 200, "native read");
    assert!(r.body == big, "the native read differs");

    // A file under the threshold is still one PUT (a plain MD5 ETag).
    let small = w.inbound("image", &png(), json!({}));
    let small_key = object_key(&w, PEER_JID, small["id"].as_str().unwrap());
    let etag = moto.etag(&small_key).expect("the small object");
    assert!(!etag.contains('-'), "{etag}");

    let (s, v) = w.native("DELETE", "/core/instances/shop", None);
    assert_eq!(s, 200, "{v}");
    assert!(
        moto.empty_within(&instance_prefix(&w), Duration::from_secs(10)),
        "the large object outlived its instance"
    );
}
