//! The real gateway binary on `--link whatsapp`, pointed (`--whatsapp-url`) at the
//! in-process fake WhatsApp server (`tests/common/fake_whatsapp.rs`): what a user
//! of a dialect sees when the real client talks to a server speaking the real
//! handshake.
//!
//! - Evolution `GET /instance/connect` and Ryze `GET /api/instance/connect` return
//!   the QR code built from the server's pairing ref;
//! - a device seeded into the data folder (through `RedbBackend`) is resumed and
//!   shows `open`; a 401 stream error then makes the instance `disconnected` with no
//!   owner, never reconnects, and webhooks (core and Evolution) hear it;
//! - archive / delete chat through the core API reach the server as app-state
//!   patches that decrypt to the expected mutations;
//! - media: a contact's end-to-end encrypted image and document are downloaded
//!   from the fake media host (HTTPS, trusted through `WAGATE_EXTRA_CA_FILE`),
//!   decrypted, stored, announced (`message_media` webhook) and served back
//!   byte-identical through `/core`; an image sent through `/core` is uploaded
//!   encrypted and reaches the contact, whose Signal session decrypts the message
//!   and whose media key decrypts the upload to the original bytes; a file the host
//!   keeps failing is retried, then given up with the message kept unstored.
//!
//! The binary under test is the one `cargo test` builds, which carries
//! whatsapp-rust's test-only `danger-skip-cert-chain-verify` (a dev-dependency
//! feature); a `cargo build` binary would refuse the fake server's certificate. (A
//! `cargo build` running at the same time rewrites `target/debug/wagate` without it.)

use crate::common;
use crate::common::fake_whatsapp;
use crate::common::receiver;

use std::time::Duration;

use common::Gateway;
use fake_whatsapp::{FakeWhatsApp, Login, Script};
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-tests";

/// A gateway on the whatsapp link talking to `server`, with the Evolution dialect's
/// global key set.
fn gateway(server: &FakeWhatsApp) -> (Gateway, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let url = server.url();
    let gw = Gateway::start_on_with_env(
        &tmp.path().join("data"),
        &["--link", "whatsapp", "--whatsapp-url", &url],
        &[("AUTHENTICATION_API_KEY", GLOBAL_KEY)],
    );
    (gw, tmp)
}

fn evo(gw: &Gateway, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let body = body
        .map(|b| serde_json::to_vec(&b).unwrap())
        .unwrap_or_default();
    let resp = gw.raw(
        method,
        path,
        &[("content-type", "application/json"), ("apikey", key)],
        &body,
    );
    let text = String::from_utf8_lossy(&resp.body).to_string();
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"));
    (resp.status, v)
}

#[test]
fn evolution_connect_returns_the_qr_code_the_server_offered() {
    let server = FakeWhatsApp::start_with(Script {
        pair_refs: vec!["2@gateway-ref".into()],
        ..Script::default()
    });
    let (gw, _tmp) = gateway(&server);

    let (s, v) = evo(
        &gw,
        "POST",
        "/instance/create",
        GLOBAL_KEY,
        Some(json!({"instanceName": "shop", "integration": "WHATSAPP-BAILEYS"})),
    );
    assert_eq!(s, 201, "create: {v}");
    let hash = v["hash"].as_str().expect("hash").to_string();

    // Connect waits (briefly) for the first QR code and returns it.
    let (s, v) = evo(&gw, "GET", "/instance/connect/shop", &hash, None);
    assert_eq!(s, 200, "connect: {v}");
    let code = v["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no QR code in {v}\nserver saw:\n{}", server.dump()));
    assert!(
        code.starts_with("2@gateway-ref,"),
        "the QR payload carries the server's ref: {code}"
    );
    let png = v["base64"].as_str().expect("base64 QR image");
    assert!(png.starts_with("data:image/png;base64,"), "{png:.40}");

    // It came over a real handshake as a device asking to be paired.
    let sessions = server.sessions();
    assert!(
        sessions
            .iter()
            .any(|s| s.login == Login::Registration && s.pattern == "XX"),
        "{sessions:?}"
    );
    // The gateway's client acknowledged the pairing offer.
    server.wait_node("the pair-device ack", Duration::from_secs(10), |n| {
        n.tag == "iq" && fake_whatsapp::attr(n, "type").as_deref() == Some("result")
    });
}

#[test]
fn ryze_connect_returns_the_qr_code_the_server_offered() {
    let server = FakeWhatsApp::start_with(Script {
        pair_refs: vec!["2@ryze-ref".into()],
        ..Script::default()
    });
    let (gw, _tmp) = gateway(&server);
    let (s, _) = gw.admin("POST", "/admin/orgs", Some(json!({"name": "acme"})));
    assert_eq!(s, 201);
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "acme", "kind": "ryze-account"})),
    );
    assert_eq!(s, 201, "mint ryze-account: {v}");
    let account = v["token"].as_str().unwrap().to_string();
    let ryze = |method: &str, path: &str, token: &str, body: &str| {
        let resp = gw.raw(
            method,
            path,
            &[("content-type", "application/json"), ("token", token)],
            body.as_bytes(),
        );
        let v: Value = serde_json::from_slice(&resp.body).expect("JSON body");
        (resp.status, v)
    };
    let (s, v) = ryze("POST", "/api/instance/new", &account, r#"{"name":"shop"}"#);
    assert_eq!(s, 201, "create: {v}");
    let token = v["instance"]["token"].as_str().unwrap().to_string();

    let (s, v) = ryze("GET", "/api/instance/connect/shop", &token, "");
    assert_eq!(s, 200, "connect: {v}");
    assert_eq!(v["status"], "qr", "{v}");
    let code = v["qrCode"].as_str().expect("qrCode");
    assert!(code.starts_with("2@ryze-ref,"), "{code}");
    assert!(
        v["qrCodeBase64"]
            .as_str()
            .is_some_and(|u| u.starts_with("data:image/svg+xml;base64,")),
        "{v}"
    );
}

/// The phone number and device of the seeded device.
const PHONE: &str = "15550002222";
const DEVICE: u16 = 3;

/// Writes a paired whatsapp-rust device for `instance_id` into the gateway's own
/// store (through the same `RedbBackend` the link uses), as pairing would have
/// left it, then waits until the database file is free again. Returns the
/// device's published keys (what a contact starts a session from).
fn seed_paired_device(
    data: &std::path::Path,
    instance_id: &str,
    app_state_key: Option<(&[u8], &[u8])>,
) -> fake_whatsapp::fake_peer::Bundle {
    use std::sync::Arc;
    use wagate::whatsapp::real::store::RedbBackend;
    use whatsapp_rust::store::persistence_manager::PersistenceManager;
    use whatsapp_rust::wacore::store::DeviceCommand;

    let rt = tokio::runtime::Runtime::new().unwrap();
    let bundle = rt.block_on(async {
        let backend = Arc::new(RedbBackend::new(common::open_store(data), instance_id));
        if let Some((key_id, key_data)) = app_state_key {
            // Normally shared by the phone after pairing; lets the client seal
            // app-state patches (archive, delete chat).
            use whatsapp_rust::wacore::store::traits::{AppStateSyncKey, AppSyncStore};
            backend
                .set_sync_key(
                    key_id,
                    AppStateSyncKey {
                        key_data: key_data.to_vec(),
                        fingerprint: Vec::new(),
                        timestamp: 1_700_000_000_000,
                    },
                )
                .await
                .expect("app-state key stored");
        }
        let pm = PersistenceManager::new(backend)
            .await
            .expect("persistence manager");
        let pn = format!("{PHONE}:{DEVICE}@s.whatsapp.net").parse().unwrap();
        let lid = format!("100000000000002:{DEVICE}@lid").parse().unwrap();
        pm.process_command(DeviceCommand::SetId(Some(pn))).await;
        pm.process_command(DeviceCommand::SetLid(Some(lid))).await;
        pm.process_command(DeviceCommand::SetPushName("Gateway Tester".into()))
            .await;
        pm.flush().await.expect("device saved");
        let device = pm.get_device_snapshot();
        fake_whatsapp::fake_peer::Bundle {
            registration_id: device.registration_id,
            device_id: DEVICE as u32,
            identity: whatsapp_rust::wacore::libsignal::protocol::IdentityKey::new(
                device.identity_key.public_key,
            ),
            signed_pre_key_id: device.signed_pre_key_id,
            signed_pre_key: device.signed_pre_key.public_key,
            signature: device.signed_pre_key_signature.to_vec(),
            pre_key: None,
        }
    });
    drop(rt);
    common::wait_store_free(data);
    bundle
}

#[test]
fn seeded_device_connects_and_a_401_logs_the_instance_out() {
    let server = FakeWhatsApp::start();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    // An instance that was paired before (the sim link records its owner), whose
    // whatsapp-rust keys are in the data folder: what a restart resumes.
    let gw = Gateway::start_on(&data, &[]);
    let key = gw.org_with_key("acme", None);
    let (instance, token) = gw.connected_instance(&key, "shop");
    let id = instance["id"].as_str().expect("instance id").to_string();
    gw.stop();
    seed_paired_device(&data, &id, None);

    let url = server.url();
    let gw = Gateway::start_on_with_env(
        &data,
        &["--link", "whatsapp", "--whatsapp-url", &url],
        &[("AUTHENTICATION_API_KEY", GLOBAL_KEY)],
    );
    // Resumed over the real handshake as the seeded device, then logged in.
    gw.wait_state(&key, "shop", "open");
    let sessions = server.sessions();
    assert_eq!(
        sessions.first().map(|s| s.login.clone()),
        Some(Login::Device {
            username: PHONE.parse().unwrap(),
            device: DEVICE as u32
        }),
        "{sessions:?}"
    );

    assert_ne!(owner_jid(&gw, &key), Value::Null, "paired before the 401");
    let hooks = receiver::Receiver::start();
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/shop/webhooks",
        Some(&key),
        Some(json!([{"url": hooks.url("hook")}])),
    );
    assert_eq!(s, 200, "set webhook: {v}");
    // The same instance through the Evolution dialect's own webhook.
    let (s, v) = evo(
        &gw,
        "POST",
        "/webhook/set/shop",
        &token,
        Some(
            json!({"webhook": {"enabled": true, "url": hooks.url("evolution"),
            "events": ["CONNECTION_UPDATE"]}}),
        ),
    );
    assert_eq!(s, 201, "evolution webhook: {v}");

    // The server ends the session: the device was removed from the phone.
    assert!(server.stream_error("401"), "no live connection to end");
    gw.wait_state(&key, "shop", "disconnected");
    // The link reports the state before core has ingested the logout that clears the
    // pairing (a plain disconnect keeps it), so the owner is gone a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while owner_jid(&gw, &key) != Value::Null && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        owner_jid(&gw, &key),
        Value::Null,
        "a logged-out instance has no owner"
    );
    // Subscribers hear it as a connection update to `disconnected`.
    hooks.wait_until("a connection_update to disconnected", |r| {
        r.body["payload"]["type"] == "connection_update"
            && r.body["payload"]["data"] == "disconnected"
    });
    // Evolution's rendering: CONNECTION_UPDATE, state `close`, Baileys' 428.
    hooks.wait_until("Evolution's CONNECTION_UPDATE to close", |r| {
        r.path.ends_with("evolution")
            && (r.body["event"] == "CONNECTION_UPDATE" || r.body["event"] == "connection.update")
            && r.body["instance"] == "shop"
            && r.body["data"]["state"] == "close"
            && r.body["data"]["statusReason"] == 428
    });
    // And it stays logged out: no reconnect to the server.
    let connections = server.connections();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(server.connections(), connections, "reconnected after a 401");
}

/// The instance's recorded owner (`owner_jid`), which must be present in the body.
fn owner_jid(gw: &Gateway, key: &str) -> Value {
    let (s, v) = gw.call("GET", "/core/instances/shop", Some(key), None);
    assert_eq!(s, 200, "{v}");
    let instance = if v.get("instance").is_some() {
        &v["instance"]
    } else {
        &v
    };
    instance
        .get("owner_jid")
        .unwrap_or_else(|| panic!("no owner_jid in {v}"))
        .clone()
}

pub(crate) const PEER: &str = "5511999999999";
pub(crate) const PEER_JID: &str = "5511999999999@s.whatsapp.net";

#[test]
fn archive_and_delete_chat_reach_the_server_as_app_state_patches() {
    let server = FakeWhatsApp::start();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    // Paired before, with a chat in the gateway's copy (from an inbound message).
    let gw = Gateway::start_on(&data, &[]);
    let key = gw.org_with_key("acme", None);
    let (instance, _) = gw.connected_instance(&key, "shop");
    gw.inbound("shop", PEER, "hello", false);
    let id = instance["id"].as_str().expect("instance id").to_string();
    gw.stop();
    let (key_id, key_data) = (b"gateway-key-1".as_slice(), [0x33u8; 32]);
    seed_paired_device(&data, &id, Some((key_id, &key_data)));

    let url = server.url();
    let gw = Gateway::start_on(&data, &["--link", "whatsapp", "--whatsapp-url", &url]);
    gw.wait_state(&key, "shop", "open");

    let path = format!("/core/instances/shop/chats/{PEER_JID}");
    let (s, v) = gw.call("PATCH", &path, Some(&key), Some(json!({"archived": true})));
    assert_eq!(s, 200, "archive: {v}");
    let iq = server.wait_node("an archive patch", Duration::from_secs(10), |n| {
        fake_whatsapp::is_app_state_patch(n, "regular_low")
    });
    let archive = fake_whatsapp::decode_app_state_patch(&iq, key_id, &key_data);
    assert_eq!(archive.index, ["archive", PEER_JID]);
    assert_eq!(
        archive
            .action_value
            .expect("action value")
            .archive_chat_action
            .as_option()
            .and_then(|a| a.archived),
        Some(true)
    );

    let (s, v) = gw.call("DELETE", &path, Some(&key), None);
    assert_eq!(s, 204, "delete: {v}");
    let iq = server.wait_node("a delete-chat patch", Duration::from_secs(10), |n| {
        fake_whatsapp::is_app_state_patch(n, "regular_high")
    });
    let delete = fake_whatsapp::decode_app_state_patch(&iq, key_id, &key_data);
    assert_eq!(delete.index, ["deleteChat", PEER_JID, "0"]);
}

/// Issue 18, labels: putting a label on a chat through a dialect reaches WhatsApp as a
/// `label_jid` app-state patch (collection `regular`), which decrypts with the app-state
/// key and carries `labeled`; taking it off sends `labeled: false`. The label itself
/// came from the phone (played by the sim before the switch to the real link).
#[test]
fn labelling_a_chat_reaches_the_server_as_a_label_jid_app_state_patch() {
    let server = FakeWhatsApp::start();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    let gw = Gateway::start_on(&data, &[]);
    let key = gw.org_with_key("acme", None);
    let (instance, _) = gw.connected_instance(&key, "shop");
    let (s, v) = gw.admin(
        "POST",
        "/admin/sim/shop/label",
        Some(json!({"id": "5", "name": "Paid", "color": 3})),
    );
    assert_eq!(s, 204, "{v}");
    let id = instance["id"].as_str().expect("instance id").to_string();
    gw.stop();
    let (key_id, key_data) = (b"gateway-key-1".as_slice(), [0x33u8; 32]);
    seed_paired_device(&data, &id, Some((key_id, &key_data)));

    let url = server.url();
    let gw = Gateway::start_on(&data, &["--link", "whatsapp", "--whatsapp-url", &url]);
    gw.wait_state(&key, "shop", "open");

    let path = format!("/sessions/{id}/chats/{PEER_JID}/labels/5");
    for labeled in [true, false] {
        let method = if labeled { "PUT" } else { "DELETE" };
        let (s, v) = common::v1::v1(&gw, method, &path, &key, None);
        assert_eq!(s, if labeled { 200 } else { 204 }, "{method}: {v}");
        let iq = server.wait_node("a label_jid patch", Duration::from_secs(10), |n| {
            fake_whatsapp::is_app_state_patch(n, "regular")
                && fake_whatsapp::decode_app_state_patch(n, key_id, &key_data)
                    .action_value
                    .and_then(|a| {
                        a.label_association_action
                            .as_option()
                            .and_then(|l| l.labeled)
                    })
                    == Some(labeled)
        });
        let patch = fake_whatsapp::decode_app_state_patch(&iq, key_id, &key_data);
        assert_eq!(patch.index, ["label_jid", "5", PEER_JID]);
        let (s, v) = common::v1::v1(
            &gw,
            "GET",
            &format!("/sessions/{id}/chats/{PEER_JID}/labels"),
            &key,
            None,
        );
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v["data"].as_array().map(Vec::len),
            Some(usize::from(labeled)),
            "{v}"
        );
    }
}

/// Issue 18: Evolution's `POST /instance/restart` really restarts the session on the
/// real link: the open connection is dropped and the stored device logs in again over
/// a new handshake (a second `Device` login on the server), then the instance is open.
#[test]
fn evolution_restart_drops_the_connection_and_logs_in_again() {
    let server = FakeWhatsApp::start();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let gw = Gateway::start_on(&data, &[]);
    let key = gw.org_with_key("acme", None);
    let (instance, token) = gw.connected_instance(&key, "shop");
    let id = instance["id"].as_str().expect("instance id").to_string();
    gw.stop();
    seed_paired_device(&data, &id, None);

    let url = server.url();
    let gw = Gateway::start_on_with_env(
        &data,
        &["--link", "whatsapp", "--whatsapp-url", &url],
        &[("AUTHENTICATION_API_KEY", GLOBAL_KEY)],
    );
    gw.wait_state(&key, "shop", "open");
    let device = Login::Device {
        username: PHONE.parse().unwrap(),
        device: DEVICE as u32,
    };
    let logins = |server: &FakeWhatsApp| {
        server
            .sessions()
            .iter()
            .filter(|s| s.login == device)
            .count()
    };
    assert_eq!(logins(&server), 1, "{:?}", server.sessions());
    let connections = server.connections();

    let (s, v) = evo(&gw, "POST", "/instance/restart/shop", &token, None);
    assert_eq!(s, 200, "restart: {v}");
    assert_eq!(v["instance"]["instanceName"], "shop", "{v}");
    // A new connection and a second login as the same device; the first is gone.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while logins(&server) < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no second login after restart:\n{}",
            server.dump()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.connections() > connections);
    gw.wait_state(&key, "shop", "open");
    // Still paired with the same account: a restart is not a logout.
    assert_ne!(owner_jid(&gw, &key), Value::Null);
}

/// The seeded device's Signal address (how a contact names its session with it).
pub(crate) fn device_address() -> whatsapp_rust::wacore::libsignal::protocol::ProtocolAddress {
    use whatsapp_rust::wacore::types::jid::JidExt as _;
    let jid: whatsapp_rust::Jid = format!("{PHONE}:{DEVICE}@s.whatsapp.net").parse().unwrap();
    jid.to_protocol_address()
}

/// A paired instance `shop` on the whatsapp link, resumed against `server`, trusting
/// its media host, with fast media retries.
struct MediaGateway {
    gw: Gateway,
    key: String,
    /// The device's published keys.
    bundle: fake_whatsapp::fake_peer::Bundle,
    /// Where the media store keeps this instance's files for the contact's chat.
    media_dir: std::path::PathBuf,
}

fn media_gateway(server: &FakeWhatsApp, tmp: &tempfile::TempDir) -> MediaGateway {
    media_gateway_with(server, tmp, "")
}

/// [`media_gateway`] with `extra` lines in its `wagate.toml`.
fn media_gateway_with(server: &FakeWhatsApp, tmp: &tempfile::TempDir, extra: &str) -> MediaGateway {
    let data = tmp.path().join("data");
    let gw = Gateway::start_on(&data, &[]);
    let key = gw.org_with_key("acme", None);
    let (instance, _) = gw.connected_instance(&key, "shop");
    let id = instance["id"].as_str().expect("instance id").to_string();
    gw.stop();
    let bundle = seed_paired_device(&data, &id, None);
    let ca = tmp.path().join("media-ca.pem");
    std::fs::write(&ca, server.media().ca_pem()).unwrap();
    let config = tmp.path().join("wagate.toml");
    std::fs::write(
        &config,
        format!("{extra}\n[whatsapp.media]\nattempts = 3\nretry_base_ms = 50\n"),
    )
    .unwrap();
    let url = server.url();
    let gw = Gateway::start_on_with_env(
        &data,
        &[
            "--link",
            "whatsapp",
            "--whatsapp-url",
            &url,
            "--config",
            config.to_str().unwrap(),
        ],
        &[("WAGATE_EXTRA_CA_FILE", ca.to_str().unwrap())],
    );
    gw.wait_state(&key, "shop", "open");
    MediaGateway {
        gw,
        key,
        bundle,
        media_dir: data.join("media").join(&id).join(PEER_JID),
    }
}

/// Sends `message` from `contact` to the seeded device, end-to-end encrypted.
fn deliver(
    server: &FakeWhatsApp,
    rt: &tokio::runtime::Runtime,
    contact: &mut fake_whatsapp::fake_peer::Peer,
    id: &str,
    message: &whatsapp_rust::waproto::whatsapp::Message,
    mediatype: &str,
) {
    let (kind, ciphertext) = rt.block_on(contact.encrypt(&device_address(), message));
    let from = format!("{PEER}@s.whatsapp.net");
    assert!(
        server.send(fake_whatsapp::message_node(
            &from,
            id,
            kind,
            ciphertext,
            Some(mediatype)
        )),
        "no live connection"
    );
}

/// The stored message `id` of the contact's chat, once `pred` holds for it.
fn wait_message(
    gw: &Gateway,
    key: &str,
    id: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (s, page) = gw.call(
            "GET",
            &format!("/core/instances/shop/chats/{PEER_JID}/messages"),
            Some(key),
            None,
        );
        if s == 404 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            continue; // the chat comes with its first message
        }
        let (_, chats) = gw.call("GET", "/core/instances/shop/chats", Some(key), None);
        assert_eq!(s, 200, "no {what}: {page}; chats: {chats}");
        let found = page["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["id"] == id)
            .cloned();
        if let Some(m) = found.filter(|m| pred(m)) {
            return m;
        }
        assert!(std::time::Instant::now() < deadline, "no {what}: {page}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The fields of a PNG image message naming a file `host_file` keeps.
fn image_fields(
    path: &str,
    enc: &whatsapp_rust::wacore::upload::EncryptedMedia,
    len: usize,
) -> whatsapp_rust::waproto::whatsapp::message::ImageMessage {
    whatsapp_rust::waproto::whatsapp::message::ImageMessage {
        direct_path: Some(path.into()),
        media_key: Some(enc.media_key.to_vec()),
        file_sha256: Some(enc.file_sha256.to_vec()),
        file_enc_sha256: Some(enc.file_enc_sha256.to_vec()),
        file_length: Some(len as u64),
        mimetype: Some("image/png".into()),
        ..Default::default()
    }
}

/// The fields of a PDF document message named `file_name`, naming a file `host_file`
/// keeps.
fn document_fields(
    path: &str,
    enc: &whatsapp_rust::wacore::upload::EncryptedMedia,
    len: usize,
    file_name: &str,
) -> whatsapp_rust::waproto::whatsapp::message::DocumentMessage {
    whatsapp_rust::waproto::whatsapp::message::DocumentMessage {
        direct_path: Some(path.into()),
        media_key: Some(enc.media_key.to_vec()),
        file_sha256: Some(enc.file_sha256.to_vec()),
        file_enc_sha256: Some(enc.file_enc_sha256.to_vec()),
        file_length: Some(len as u64),
        mimetype: Some("application/pdf".into()),
        file_name: Some(file_name.into()),
        ..Default::default()
    }
}

/// Encrypts `bytes` as WhatsApp media of `media_type` and keeps the file on the
/// fake media host; the message fields naming it.
fn host_file(
    server: &FakeWhatsApp,
    bytes: &[u8],
    media_type: whatsapp_rust::download::MediaType,
    mms: &str,
) -> (String, whatsapp_rust::wacore::upload::EncryptedMedia) {
    let enc = whatsapp_rust::wacore::upload::encrypt_media(bytes, media_type).expect("encrypt");
    let path = server.media().put(mms, enc.data_to_upload.clone());
    (path, enc)
}

fn sample(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + seed) % 251) as u8).collect()
}

#[test]
fn inbound_media_is_downloaded_stored_and_served_back_byte_identical() {
    use whatsapp_rust::download::MediaType;
    use whatsapp_rust::waproto::buffa::MessageField;
    use whatsapp_rust::waproto::whatsapp as wa;
    let server = FakeWhatsApp::start();
    let tmp = tempfile::tempdir().unwrap();
    let MediaGateway {
        gw,
        key,
        bundle,
        media_dir,
    } = media_gateway(&server, &tmp);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut contact = rt.block_on(fake_whatsapp::fake_peer::Peer::new());
    server.add_contact(PEER, contact.bundle().clone());
    rt.block_on(contact.start_session(&device_address(), &bundle));
    let hooks = receiver::Receiver::start();
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/shop/webhooks",
        Some(&key),
        Some(json!([{"url": hooks.url("hook")}])),
    );
    assert_eq!(s, 200, "set webhook: {v}");

    // An image with a caption, and a PDF document with its file name.
    let photo = sample(90_000, 1);
    let (photo_path, enc) = host_file(&server, &photo, MediaType::Image, "image");
    let image = wa::Message {
        image_message: MessageField::some(wa::message::ImageMessage {
            caption: Some("the photo".into()),
            width: Some(640),
            height: Some(480),
            ..image_fields(&photo_path, &enc, photo.len())
        }),
        ..Default::default()
    };
    deliver(&server, &rt, &mut contact, "3EB0IMAGE0001", &image, "image");
    let pdf = sample(30_000, 7);
    let (pdf_path, enc) = host_file(&server, &pdf, MediaType::Document, "document");
    let document = wa::Message {
        document_message: MessageField::some(document_fields(
            &pdf_path,
            &enc,
            pdf.len(),
            "invoice.pdf",
        )),
        ..Default::default()
    };
    deliver(
        &server,
        &rt,
        &mut contact,
        "3EB0DOC00001",
        &document,
        "document",
    );

    // Stored at once with their metadata; `stored` turns true once the bytes are in.
    let m = wait_message(&gw, &key, "3EB0IMAGE0001", "stored image", |m| {
        m["media"]["stored"] == true
    });
    assert_eq!(m["text"], "the photo", "{m}");
    assert_eq!(m["media"]["kind"], "image", "{m}");
    assert_eq!(m["media"]["mimetype"], "image/png", "{m}");
    assert_eq!(m["media"]["size"], photo.len(), "{m}");
    assert_eq!(m["media"]["width"], 640, "{m}");
    let m = wait_message(&gw, &key, "3EB0DOC00001", "stored document", |m| {
        m["media"]["stored"] == true
    });
    assert_eq!(m["media"]["kind"], "document", "{m}");
    assert_eq!(m["media"]["file_name"], "invoice.pdf", "{m}");

    // Served back byte-identical (decrypted, verified against the hashes), with the
    // type WhatsApp gave, from the media store.
    for (id, bytes, mime) in [
        ("3EB0IMAGE0001", &photo, "image/png"),
        ("3EB0DOC00001", &pdf, "application/pdf"),
    ] {
        let auth = format!("Bearer {key}");
        let resp = gw.raw(
            "GET",
            &format!("/core/instances/shop/messages/{id}/media"),
            &[("Authorization", auth.as_str())],
            b"",
        );
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        assert_eq!(&resp.body, bytes, "{id} byte-identical");
        assert_eq!(resp.header("content-type"), Some(mime));
        let stored = std::fs::read(media_dir.join(id)).expect("the stored file");
        assert_eq!(&stored, bytes, "{id} on disk");
        // Subscribers hear when the bytes are there.
        hooks.wait_until("a message_media event", |r| {
            r.body["payload"]["type"] == "message_media"
                && r.body["payload"]["data"]["id"] == id
                && r.body["payload"]["data"]["media"]["stored"] == true
        });
    }
    assert_eq!(server.media().downloads_of(&photo_path), 1);
    assert_eq!(server.media().downloads_of(&pdf_path), 1);

    // A reply with an image through the core API: encrypted and uploaded to the
    // media host, and the message carrying its key reaches the contact.
    use base64::Engine as _;
    let reply = sample(50_000, 9);
    let (s, v) = gw.call(
        "POST",
        "/core/instances/shop/messages/media",
        Some(&key),
        Some(json!({
            "to": PEER_JID,
            "kind": "image",
            "data": base64::engine::general_purpose::STANDARD.encode(&reply),
            "mimetype": "image/png",
            "caption": "back to you",
        })),
    );
    assert_eq!(s, 201, "send media: {v}");
    let id = v["id"].as_str().expect("message id").to_string();
    let stanza = server.wait_node("the reply", Duration::from_secs(10), |n| {
        n.tag == "message" && fake_whatsapp::attr(n, "id").as_deref() == Some(id.as_str())
    });
    let (kind, ciphertext) =
        fake_whatsapp::enc_for(&stanza, PEER).expect("a payload for the contact");
    let got = rt.block_on(contact.decrypt(&device_address(), &kind, &ciphertext));
    let image = got.image_message.as_option().expect("an image message");
    assert_eq!(image.caption.as_deref(), Some("back to you"));
    assert_eq!(image.mimetype.as_deref(), Some("image/png"));
    let upload = server
        .media()
        .uploads()
        .into_iter()
        .find(|u| Some(&u.direct_path) == image.direct_path.as_ref())
        .expect("the upload the message names");
    let plain = whatsapp_rust::download::DownloadUtils::verify_and_decrypt(
        &upload.body,
        image.media_key.as_deref().expect("media key"),
        MediaType::Image,
    )
    .expect("decrypts with the message's key");
    assert_eq!(plain, reply, "byte-identical at the contact");
}

/// A benchmark, not a timed test (run it on demand; it asserts only that every file
/// arrives byte-identical): `files` inbound 1 MiB images from the contact, downloaded
/// from the fake media host over HTTPS, decrypted, verified and stored by the real
/// link with its default concurrency (4 at once per instance); prints the rate from
/// the first message sent to the last file stored.
///
/// `cargo test -p wagate --test suite -- --ignored --nocapture inbound_media_download_throughput`
#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn inbound_media_download_throughput() {
    use whatsapp_rust::download::MediaType;
    use whatsapp_rust::waproto::buffa::MessageField;
    use whatsapp_rust::waproto::whatsapp as wa;
    let files: usize = std::env::var("WAGATE_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let server = FakeWhatsApp::start();
    let tmp = tempfile::tempdir().unwrap();
    let MediaGateway {
        gw,
        key: _,
        bundle,
        media_dir,
    } = media_gateway(&server, &tmp);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut contact = rt.block_on(fake_whatsapp::fake_peer::Peer::new());
    server.add_contact(PEER, contact.bundle().clone());
    rt.block_on(contact.start_session(&device_address(), &bundle));

    // Encrypted and hosted before the clock starts.
    let photos: Vec<(String, Vec<u8>, wa::Message)> = (0..files)
        .map(|i| {
            let photo = sample(1 << 20, i);
            let (path, enc) = host_file(&server, &photo, MediaType::Image, "image");
            let message = wa::Message {
                image_message: MessageField::some(image_fields(&path, &enc, photo.len())),
                ..Default::default()
            };
            (format!("3EB0BENCH{i:05}"), photo, message)
        })
        .collect();
    let started = std::time::Instant::now();
    for (id, _, message) in &photos {
        deliver(&server, &rt, &mut contact, id, message, "image");
    }
    let sent = started.elapsed();
    let deadline = started + Duration::from_secs(600);
    let mut left: Vec<&(String, Vec<u8>, wa::Message)> = photos.iter().collect();
    while !left.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} files never stored",
            left.len()
        );
        left.retain(|(id, photo, _)| {
            std::fs::read(media_dir.join(id)).map_or(true, |b| b.len() != photo.len())
        });
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = started.elapsed();
    for (id, photo, _) in &photos {
        assert!(
            &std::fs::read(media_dir.join(id)).unwrap() == photo,
            "{id} byte-identical"
        );
    }
    let mib = (files << 20) as f64 / (1 << 20) as f64;
    println!(
        "inbound media: {files} x 1 MiB images stored in {:.2} s ({:.1} files/s, {:.1} MiB/s); \
         sending them took {:.2} s of it",
        took.as_secs_f64(),
        files as f64 / took.as_secs_f64(),
        mib / took.as_secs_f64(),
        sent.as_secs_f64(),
    );
    drop(gw);
}

#[test]
fn a_media_download_failing_at_the_host_is_retried_then_given_up() {
    use whatsapp_rust::download::MediaType;
    use whatsapp_rust::waproto::buffa::MessageField;
    use whatsapp_rust::waproto::whatsapp as wa;
    let server = FakeWhatsApp::start();
    let tmp = tempfile::tempdir().unwrap();
    let MediaGateway {
        gw,
        key,
        bundle,
        media_dir,
    } = media_gateway(&server, &tmp);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut contact = rt.block_on(fake_whatsapp::fake_peer::Peer::new());
    server.add_contact(PEER, contact.bundle().clone());
    rt.block_on(contact.start_session(&device_address(), &bundle));

    let clip = sample(20_000, 3);
    let (path, enc) = host_file(&server, &clip, MediaType::Video, "video");
    server.media().fail(&path, 503);
    let video = wa::Message {
        video_message: MessageField::some(wa::message::VideoMessage {
            direct_path: Some(path.clone()),
            media_key: Some(enc.media_key.to_vec()),
            file_sha256: Some(enc.file_sha256.to_vec()),
            file_enc_sha256: Some(enc.file_enc_sha256.to_vec()),
            file_length: Some(clip.len() as u64),
            mimetype: Some("video/mp4".into()),
            seconds: Some(4),
            ..Default::default()
        }),
        ..Default::default()
    };
    deliver(&server, &rt, &mut contact, "3EB0VIDEO0001", &video, "video");

    // Kept with its metadata while the host fails...
    let m = wait_message(&gw, &key, "3EB0VIDEO0001", "the video message", |_| true);
    assert_eq!(m["media"]["kind"], "video", "{m}");
    assert_eq!(m["media"]["duration_secs"], 4, "{m}");
    // ...tried the configured 3 times (attempts = 3), then given up.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while server.media().downloads_of(&path) < 3 {
        assert!(std::time::Instant::now() < deadline, "not retried");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(
        server.media().downloads_of(&path),
        3,
        "no attempt after the last"
    );
    let m = wait_message(&gw, &key, "3EB0VIDEO0001", "the video message", |_| true);
    assert_eq!(m["media"]["stored"], false, "{m}");
    assert!(!media_dir.join("3EB0VIDEO0001").exists(), "no file stored");
    let auth = format!("Bearer {key}");
    let resp = gw.raw(
        "GET",
        "/core/instances/shop/messages/3EB0VIDEO0001/media",
        &[("Authorization", auth.as_str())],
        b"",
    );
    assert_eq!(resp.status, 404, "{}", String::from_utf8_lossy(&resp.body));
}

/// A media message's upsert waits for the link's download: an Evolution webhook with
/// `base64` gets the bytes of a slow file, the native one `stored: true`; a failed
/// download lets the upsert go at once without them, and a download slower than
/// `[events] media_wait_ms` lets it go at the bound, the bytes' `message_media` after.
#[test]
fn a_media_upsert_waits_for_its_download_and_carries_the_bytes() {
    use base64::Engine as _;
    use whatsapp_rust::download::MediaType;
    use whatsapp_rust::waproto::buffa::MessageField;
    use whatsapp_rust::waproto::whatsapp as wa;
    let server = FakeWhatsApp::start();
    let tmp = tempfile::tempdir().unwrap();
    let MediaGateway {
        gw, key, bundle, ..
    } = media_gateway_with(&server, &tmp, "[events]\nmedia_wait_ms = 5000\n");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut contact = rt.block_on(fake_whatsapp::fake_peer::Peer::new());
    server.add_contact(PEER, contact.bundle().clone());
    rt.block_on(contact.start_session(&device_address(), &bundle));
    let evolution = receiver::Receiver::start();
    let (s, v) = evo(
        &gw,
        "POST",
        "/webhook/set/shop",
        &key,
        Some(
            json!({"webhook": {"enabled": true, "url": evolution.url("evolution"),
                    "base64": true, "events": ["MESSAGES_UPSERT"]}}),
        ),
    );
    assert_eq!(s, 201, "evolution webhook: {v}");
    let native = receiver::Receiver::start();
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/shop/webhooks",
        Some(&key),
        Some(json!([{"url": native.url("native"), "events": ["message_upsert", "message_media"]}])),
    );
    assert_eq!(s, 200, "native webhook: {v}");
    let image =
        |path: &str, enc: &whatsapp_rust::wacore::upload::EncryptedMedia, len| wa::Message {
            image_message: MessageField::some(image_fields(path, enc, len)),
            ..Default::default()
        };
    let upsert = |rx: &receiver::Receiver, what: &str, id: &str| -> Value {
        let is_it = |r: &receiver::Received| {
            r.body["data"]["key"]["id"] == id
                || (r.body["payload"]["type"] == "message_upsert"
                    && r.body["payload"]["data"]["id"] == id)
        };
        rx.wait_until(what, is_it)
            .into_iter()
            .find(|r| is_it(r))
            .unwrap()
            .body
    };

    // A file the host serves a second late: the upsert waits and carries it.
    let photo = sample(60_000, 2);
    let (path, enc) = host_file(&server, &photo, MediaType::Image, "image");
    server.media().slow_down(&path, Duration::from_millis(1000));
    deliver(
        &server,
        &rt,
        &mut contact,
        "3EB0SLOW00001",
        &image(&path, &enc, photo.len()),
        "image",
    );
    let body = upsert(&evolution, "the photo's MESSAGES_UPSERT", "3EB0SLOW00001");
    let b64 = body["data"]["message"]["base64"]
        .as_str()
        .unwrap_or_else(|| panic!("no base64 in {body}"));
    assert!(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
            == photo,
        "the webhook carried other bytes"
    );
    let body = upsert(&native, "the photo's message_upsert", "3EB0SLOW00001");
    let media = &body["payload"]["data"]["media"];
    assert_eq!(media["stored"], true, "{body}");
    assert_eq!(media["size"], photo.len(), "{body}");

    // A file the host refuses (3 attempts 50 ms apart): the upsert goes once the
    // link gave up, without bytes.
    let lost = sample(10_000, 4);
    let (path, enc) = host_file(&server, &lost, MediaType::Image, "image");
    server.media().fail(&path, 503);
    deliver(
        &server,
        &rt,
        &mut contact,
        "3EB0LOST00001",
        &image(&path, &enc, lost.len()),
        "image",
    );
    let body = upsert(
        &evolution,
        "the lost photo's MESSAGES_UPSERT",
        "3EB0LOST00001",
    );
    assert!(body["data"]["message"].get("base64").is_none(), "{body}");
    let body = upsert(&native, "the lost photo's message_upsert", "3EB0LOST00001");
    assert_eq!(body["payload"]["data"]["media"]["stored"], false, "{body}");
    assert_eq!(server.media().downloads_of(&path), 3, "given up first");

    // A file slower than the bound: the upsert goes at the bound without the bytes,
    // and the bytes' own event follows on the native webhook.
    let late = sample(20_000, 6);
    let (path, enc) = host_file(&server, &late, MediaType::Image, "image");
    server.media().slow_down(&path, Duration::from_secs(10));
    deliver(
        &server,
        &rt,
        &mut contact,
        "3EB0LATE00001",
        &image(&path, &enc, late.len()),
        "image",
    );
    let body = upsert(&native, "the late photo's message_upsert", "3EB0LATE00001");
    assert_eq!(body["payload"]["data"]["media"]["stored"], false, "{body}");
    let body = upsert(
        &evolution,
        "the late photo's MESSAGES_UPSERT",
        "3EB0LATE00001",
    );
    assert!(body["data"]["message"].get("base64").is_none(), "{body}");
    let got = native.wait_until("the late photo's message_media", |r| {
        r.body["payload"]["type"] == "message_media"
            && r.body["payload"]["data"]["id"] == "3EB0LATE00001"
    });
    let media_event = got
        .iter()
        .position(|r| {
            r.body["payload"]["type"] == "message_media"
                && r.body["payload"]["data"]["id"] == "3EB0LATE00001"
        })
        .unwrap();
    let upsert_event = got
        .iter()
        .position(|r| {
            r.body["payload"]["type"] == "message_upsert"
                && r.body["payload"]["data"]["id"] == "3EB0LATE00001"
        })
        .unwrap();
    assert!(upsert_event < media_event, "in order");
}

/// `data` as a zlib stream of stored (uncompressed) deflate blocks: what a history
/// sync's inline payload is, without a compressor in the tests' dependencies.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len())); // BFINAL, BTYPE 00 (stored)
        let len = block.len() as u16;
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend(((b << 16) | a).to_be_bytes());
    out
}

/// A history sync chunk from the account's own phone carrying a contact's image (and
/// a text): both are stored from the chunk, the image `stored: false` at first; its
/// file is then downloaded in the background as live media is (same policy, same
/// downloader), and Evolution's `getBase64FromMediaMessage` serves it back
/// byte-identical.
#[test]
fn history_sync_media_is_downloaded_and_served_back_byte_identical() {
    use base64::Engine as _;
    use whatsapp_rust::download::MediaType;
    use whatsapp_rust::waproto::buffa::{Message as _, MessageField};
    use whatsapp_rust::waproto::whatsapp as wa;
    let server = FakeWhatsApp::start();
    let tmp = tempfile::tempdir().unwrap();
    let MediaGateway {
        gw,
        key,
        bundle,
        media_dir,
    } = media_gateway(&server, &tmp);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The account's own phone (device 0): history sync is honoured from it only.
    let mut phone = rt.block_on(fake_whatsapp::fake_peer::Peer::new());
    rt.block_on(phone.start_session(&device_address(), &bundle));

    let photo = sample(70_000, 5);
    let (photo_path, enc) = host_file(&server, &photo, MediaType::Image, "image");
    let old = |id: &str, message: wa::Message, ts: u64| wa::HistorySyncMsg {
        message: MessageField::some(wa::WebMessageInfo {
            key: MessageField::some(wa::MessageKey {
                remote_jid: Some(PEER_JID.into()),
                from_me: Some(false),
                id: Some(id.into()),
                participant: None,
            }),
            message: MessageField::some(message),
            message_timestamp: Some(ts),
            ..Default::default()
        }),
        ..Default::default()
    };
    let image = wa::Message {
        image_message: MessageField::some(wa::message::ImageMessage {
            caption: Some("from the archive".into()),
            ..image_fields(&photo_path, &enc, photo.len())
        }),
        ..Default::default()
    };
    let text = wa::Message {
        conversation: Some("an old hello".into()),
        ..Default::default()
    };
    let sync = wa::HistorySync {
        conversations: vec![wa::Conversation {
            id: PEER_JID.into(),
            messages: vec![
                old("3EB0HISTIMG01", image, 1_700_000_100),
                old("3EB0HISTTXT01", text, 1_700_000_000),
            ],
            ..Default::default()
        }],
        ..Default::default()
    };
    let payload = zlib_stored(&sync.encode_to_vec());
    let notification = wa::Message {
        protocol_message: MessageField::some(wa::message::ProtocolMessage {
            r#type: Some(wa::message::protocol_message::Type::HISTORY_SYNC_NOTIFICATION),
            history_sync_notification: MessageField::some(wa::message::HistorySyncNotification {
                sync_type: Some(wa::message::HistorySyncType::INITIAL_BOOTSTRAP),
                file_length: Some(payload.len() as u64),
                initial_hist_bootstrap_inline_payload: Some(payload),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let (kind, ciphertext) = rt.block_on(phone.encrypt(&device_address(), &notification));
    assert!(
        server.send(fake_whatsapp::message_node(
            &format!("{PHONE}@s.whatsapp.net"),
            "3EB0HISTSYNC1",
            kind,
            ciphertext,
            None,
        )),
        "no live connection"
    );

    let m = wait_message(&gw, &key, "3EB0HISTTXT01", "the history text", |_| true);
    assert_eq!(m["text"], "an old hello", "{m}");
    let m = wait_message(
        &gw,
        &key,
        "3EB0HISTIMG01",
        "the history image's bytes",
        |m| m["media"]["stored"] == true,
    );
    assert_eq!(m["text"], "from the archive", "{m}");
    assert_eq!(m["media"]["kind"], "image", "{m}");
    assert_eq!(m["media"]["size"], photo.len(), "{m}");
    assert_eq!(server.media().downloads_of(&photo_path), 1);
    let stored = std::fs::read(media_dir.join("3EB0HISTIMG01")).expect("the stored file");
    assert!(stored == photo, "stored bytes differ");

    // Served back through a dialect's media read.
    let (s, v) = evo(
        &gw,
        "POST",
        "/chat/getBase64FromMediaMessage/shop",
        &key,
        Some(json!({"message": {"key": {"id": "3EB0HISTIMG01"}}})),
    );
    assert_eq!(s, 201, "{v}");
    let got = base64::engine::general_purpose::STANDARD
        .decode(v["base64"].as_str().expect("base64"))
        .unwrap();
    assert!(got == photo, "served bytes differ");
}

#[test]
fn an_instances_media_choice_keeps_the_real_link_from_downloading() {
    use whatsapp_rust::download::MediaType;
    use whatsapp_rust::waproto::buffa::MessageField;
    use whatsapp_rust::waproto::whatsapp as wa;
    let server = FakeWhatsApp::start();
    let tmp = tempfile::tempdir().unwrap();
    let MediaGateway {
        gw, key, bundle, ..
    } = media_gateway(&server, &tmp);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut contact = rt.block_on(fake_whatsapp::fake_peer::Peer::new());
    server.add_contact(PEER, contact.bundle().clone());
    rt.block_on(contact.start_session(&device_address(), &bundle));
    // Documents only.
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/shop/media-download",
        Some(&key),
        Some(json!({"kinds": ["document"]})),
    );
    assert_eq!(s, 200, "{v}");

    let photo = sample(20_000, 3);
    let (photo_path, enc) = host_file(&server, &photo, MediaType::Image, "image");
    let image = wa::Message {
        image_message: MessageField::some(image_fields(&photo_path, &enc, photo.len())),
        ..Default::default()
    };
    deliver(&server, &rt, &mut contact, "3EB0SKIPPED01", &image, "image");
    let pdf = sample(10_000, 9);
    let (pdf_path, enc) = host_file(&server, &pdf, MediaType::Document, "document");
    let document = wa::Message {
        document_message: MessageField::some(document_fields(
            &pdf_path,
            &enc,
            pdf.len(),
            "kept.pdf",
        )),
        ..Default::default()
    };
    deliver(
        &server,
        &rt,
        &mut contact,
        "3EB0KEPT00001",
        &document,
        "document",
    );
    // The document arrives after the image on the same connection: once its bytes are
    // in, the image's download would have been queued long since.
    wait_message(&gw, &key, "3EB0KEPT00001", "stored document", |m| {
        m["media"]["stored"] == true
    });
    let m = wait_message(&gw, &key, "3EB0SKIPPED01", "the image", |_| true);
    assert_eq!(m["media"]["stored"], false, "{m}");
    assert_eq!(m["media"]["size"], photo.len(), "its metadata is kept: {m}");
    assert_eq!(server.media().downloads_of(&photo_path), 0, "never fetched");
    assert_eq!(server.media().downloads_of(&pdf_path), 1);
}

/// Issue 16: Evolution's group routes on the real link reach the server as `w:g2`
/// IQs, and the server's answers and refusals come back in Evolution's shapes:
/// create, read, promote, a remove refused in a group where the account is no admin,
/// an unknown group, leave. Then a number check goes out as a usync contact query.
#[test]
fn group_and_number_routes_reach_the_server_as_iqs() {
    let server = FakeWhatsApp::start();
    let me = format!("{PHONE}@s.whatsapp.net");
    server.set_account(&me);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let env = [("AUTHENTICATION_API_KEY", GLOBAL_KEY)];

    // An Evolution instance paired before (on the sim), then resumed on the real link.
    let gw = Gateway::start_on_with_env(&data, &[], &env);
    let (s, v) = evo(
        &gw,
        "POST",
        "/instance/create",
        GLOBAL_KEY,
        Some(json!({"instanceName": "shop", "integration": "WHATSAPP-BAILEYS"})),
    );
    assert_eq!(s, 201, "{v}");
    let id = v["instance"]["instanceId"].as_str().unwrap().to_string();
    let (s, _) = evo(&gw, "GET", "/instance/connect/shop", GLOBAL_KEY, None);
    assert_eq!(s, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while evo(
        &gw,
        "GET",
        "/instance/connectionState/shop",
        GLOBAL_KEY,
        None,
    )
    .1["instance"]["state"]
        != "open"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "never paired on the sim"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    gw.stop();
    seed_paired_device(&data, &id, None);
    let url = server.url();
    let gw =
        Gateway::start_on_with_env(&data, &["--link", "whatsapp", "--whatsapp-url", &url], &env);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while evo(
        &gw,
        "GET",
        "/instance/connectionState/shop",
        GLOBAL_KEY,
        None,
    )
    .1["instance"]["state"]
        != "open"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "never connected to the fake server"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let (s, g) = evo(
        &gw,
        "POST",
        "/group/create/shop",
        GLOBAL_KEY,
        Some(json!({"subject": "Team", "participants": [PEER]})),
    );
    assert_eq!(s, 201, "{g}");
    let gjid = g["id"].as_str().unwrap().to_string();
    assert_eq!(g["subject"], "Team");
    assert_eq!(g["owner"], me.as_str());
    let held = server.group(&gjid).expect("the server created the group");
    assert_eq!(held.subject, "Team");
    assert!(
        held.participants
            .contains(&(PEER_JID.to_string(), "member".to_string())),
        "{held:?}"
    );

    let (s, v) = evo(
        &gw,
        "POST",
        "/group/updateParticipant/shop",
        GLOBAL_KEY,
        Some(json!({"groupJid": gjid, "action": "promote", "participants": [PEER]})),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["updateParticipants"][0]["status"], "200", "{v}");
    assert!(
        server
            .group(&gjid)
            .unwrap()
            .participants
            .contains(&(PEER_JID.to_string(), "admin".to_string()))
    );
    let (s, info) = evo(
        &gw,
        "GET",
        &format!("/group/findGroupInfos/shop?groupJid={gjid}"),
        GLOBAL_KEY,
        None,
    );
    assert_eq!(s, 200, "{info}");
    assert_eq!(info["size"], 2);

    // The invite link: read, then reset to a new code, as the server hands them out.
    let code = format!("FAKE{}R", gjid.trim_end_matches("@g.us"));
    let (s, v) = evo(
        &gw,
        "GET",
        &format!("/group/inviteCode/shop?groupJid={gjid}"),
        GLOBAL_KEY,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["inviteCode"], format!("{code}0"), "{v}");
    assert_eq!(
        v["inviteUrl"],
        format!("https://chat.whatsapp.com/{code}0"),
        "{v}"
    );
    let (s, v) = evo(
        &gw,
        "POST",
        &format!("/group/revokeInviteCode/shop?groupJid={gjid}"),
        GLOBAL_KEY,
        None,
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["revoked"], true, "{v}");
    assert_eq!(v["inviteCode"], format!("{code}1"), "{v}");

    // A group where this account is a plain member: the server refuses the remove.
    let theirs = "120363000000000099@g.us";
    server.add_group(
        theirs,
        fake_whatsapp::FakeGroup {
            subject: "Theirs".into(),
            participants: vec![
                (PEER_JID.into(), "superadmin".into()),
                (me.clone(), "member".into()),
            ],
        },
    );
    let (s, v) = evo(
        &gw,
        "POST",
        "/group/updateParticipant/shop",
        GLOBAL_KEY,
        Some(json!({"groupJid": theirs, "action": "remove", "participants": [PEER]})),
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["response"]["message"][0], "Error updating participants");
    assert!(
        v["response"]["message"][1]
            .as_str()
            .unwrap()
            .contains("not an admin"),
        "{v}"
    );
    assert_eq!(
        server.group(theirs).unwrap().participants.len(),
        2,
        "nobody removed"
    );

    let (s, v) = evo(
        &gw,
        "GET",
        "/group/findGroupInfos/shop?groupJid=120363000000000077@g.us",
        GLOBAL_KEY,
        None,
    );
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["response"]["message"][0], "Error fetching group");

    let (s, v) = evo(
        &gw,
        "DELETE",
        &format!("/group/leaveGroup/shop?groupJid={gjid}"),
        GLOBAL_KEY,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert!(
        !server
            .group(&gjid)
            .unwrap()
            .participants
            .iter()
            .any(|(j, _)| *j == me),
        "the server saw the account leave"
    );

    // Number checks: usync's contact protocol, a registered contact `in`.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let contact = rt.block_on(fake_whatsapp::fake_peer::Peer::new());
    server.add_contact(PEER, contact.bundle().clone());
    let (s, v) = evo(
        &gw,
        "POST",
        "/chat/whatsappNumbers/shop",
        GLOBAL_KEY,
        Some(json!({"numbers": [PEER, "15550009999"]})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!([
            {"jid": PEER_JID, "exists": true, "number": PEER},
            {"jid": "15550009999@s.whatsapp.net", "exists": false, "number": "15550009999"},
        ])
    );
}

/// A gateway whose instance `shop` (org `acme`) was paired on the sim, set up by
/// `prepare` and given a native webhook to `rx` for `event`, then restarted on the real
/// link against `server` with a seeded device, and open there.
pub(crate) struct Resumed {
    pub(crate) gw: Gateway,
    pub(crate) key: String,
    /// The instance's id (sessions/v1's session id).
    pub(crate) id: String,
    _tmp: tempfile::TempDir,
}

pub(crate) fn resume_on_the_real_link(
    server: &FakeWhatsApp,
    rx: &receiver::Receiver,
    event: &str,
    prepare: impl FnOnce(&Gateway, &str),
) -> Resumed {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let gw = Gateway::start_on(&data, &[]);
    let key = gw.org_with_key("acme", None);
    let (instance, _) = gw.connected_instance(&key, "shop");
    let id = instance["id"].as_str().expect("instance id").to_string();
    prepare(&gw, &key);
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/shop/webhooks",
        Some(&key),
        Some(json!([{"url": rx.url("hook"), "events": [event]}])),
    );
    assert_eq!(s, 200, "{v}");
    gw.stop();
    seed_paired_device(&data, &id, None);
    let url = server.url();
    let gw = Gateway::start_on(&data, &["--link", "whatsapp", "--whatsapp-url", &url]);
    gw.wait_state(&key, "shop", "open");
    Resumed {
        gw,
        key,
        id,
        _tmp: tmp,
    }
}

/// Issue 17: a call that ends without this device taking it (the caller gave up, or
/// another of the account's devices answered) arrives as `<call><terminate reason=…>`
/// and becomes a `call_ended` event with the reason mapped.
#[test]
fn a_terminated_call_from_the_server_becomes_a_call_ended_event() {
    use whatsapp_rust::wacore_binary::builder::NodeBuilder;

    let server = FakeWhatsApp::start();
    let rx = receiver::Receiver::start();
    let resumed = resume_on_the_real_link(&server, &rx, "call_ended", |_, _| {});
    let terminate = |call_id: &str, reason: &str| {
        NodeBuilder::new("call")
            .attr("from", PEER_JID)
            .attr("id", format!("stanza-end-{call_id}"))
            .attr("t", "1767225700")
            .children([NodeBuilder::new("terminate")
                .attr("call-id", call_id)
                .attr("call-creator", PEER_JID)
                .attr("reason", reason)
                .build()])
            .build()
    };
    assert!(server.send(terminate("CALL0101", "timeout")));
    assert!(server.send(terminate("CALL0102", "accepted_elsewhere")));
    let got = rx.wait_until_all("two call_ended events", |all| {
        all.iter()
            .filter(|r| r.body["payload"]["type"] == "call_ended")
            .count()
            == 2
    });
    let ended = |id: &str| {
        got.iter()
            .find(|r| r.body["payload"]["data"]["id"] == id)
            .unwrap_or_else(|| panic!("no call_ended for {id}"))
            .body["payload"]["data"]
            .clone()
    };
    assert_eq!(ended("CALL0101")["from"], PEER_JID);
    assert_eq!(ended("CALL0101")["reason"], "missed");
    assert_eq!(ended("CALL0102")["reason"], "accepted_elsewhere");
    drop(resumed);
}

/// Issue 17: an instance that rejects calls declines an offered call on the wire (the
/// `<call><reject call-id=…>` stanza whatsapp-rust builds) and reports it, declined, as a
/// `call` event to its native webhook; with the setting off, the call is only reported.
#[test]
fn a_call_offered_by_the_server_is_rejected_by_the_instances_setting() {
    use whatsapp_rust::wacore_binary::builder::NodeBuilder;

    let server = FakeWhatsApp::start();
    let rx = receiver::Receiver::start();
    // Paired before, rejecting calls; then resumed on the real link.
    let resumed = resume_on_the_real_link(&server, &rx, "call", |gw, key| {
        let (s, v) = gw.call(
            "PUT",
            "/core/instances/shop/settings",
            Some(key),
            Some(json!({"reject_calls": true})),
        );
        assert_eq!(s, 200, "{v}");
    });
    let (gw, key) = (&resumed.gw, &resumed.key);

    let offer = |call_id: &str| {
        NodeBuilder::new("call")
            .attr("from", PEER_JID)
            .attr("id", format!("stanza-{call_id}"))
            .attr("t", "1767225600")
            .children([NodeBuilder::new("offer")
                .attr("call-id", call_id)
                .attr("call-creator", PEER_JID)
                .children([NodeBuilder::new("video").build()])
                .build()])
            .build()
    };
    assert!(server.send(offer("CALL0001")));
    let reject = server.wait_node("the call's reject", Duration::from_secs(10), |n| {
        n.tag == "call"
            && fake_whatsapp::child(n, "reject")
                .is_some_and(|r| fake_whatsapp::attr(r, "call-id").as_deref() == Some("CALL0001"))
    });
    assert_eq!(
        fake_whatsapp::attr(&reject, "to").as_deref(),
        Some(PEER_JID)
    );
    let got = rx.wait_until("the call event", |r| r.body["payload"]["type"] == "call");
    let event = &got[0].body["payload"];
    assert_eq!(event["data"]["id"], "CALL0001", "{event}");
    assert_eq!(event["data"]["from"], PEER_JID, "{event}");
    assert_eq!(event["data"]["video"], true, "{event}");
    assert_eq!(event["data"]["rejected"], true, "{event}");

    // Off: the next call is reported, not declined.
    let (s, _) = gw.call(
        "PUT",
        "/core/instances/shop/settings",
        Some(key),
        Some(json!({})),
    );
    assert_eq!(s, 200);
    assert!(server.send(offer("CALL0002")));
    let got = rx.wait_until("the second call event", |r| {
        r.body["payload"]["data"]["id"] == "CALL0002"
    });
    let second = got
        .iter()
        .find(|r| r.body["payload"]["data"]["id"] == "CALL0002")
        .unwrap();
    assert_eq!(second.body["payload"]["data"]["rejected"], false);
    assert!(
        server
            .find(|n| n.tag == "call"
                && fake_whatsapp::child(n, "reject").is_some_and(|r| {
                    fake_whatsapp::attr(r, "call-id").as_deref() == Some("CALL0002")
                }))
            .is_none(),
        "the second call was rejected"
    );
}

/// Issue 17: on the real link, subscribing to a contact's presence puts
/// `<presence type="subscribe">` on the wire, and the contact's presence and chat
/// states the server pushes come back as `presence_update` events.
#[test]
fn presence_subscriptions_and_updates_cross_the_real_link() {
    use whatsapp_rust::wacore_binary::builder::NodeBuilder;

    let server = FakeWhatsApp::start();
    let rx = receiver::Receiver::start();
    let resumed = resume_on_the_real_link(&server, &rx, "presence_update", |_, _| {});
    let (gw, key) = (&resumed.gw, &resumed.key);

    let (s, v) = gw.call(
        "POST",
        "/core/instances/shop/presence/subscribe",
        Some(key),
        Some(json!({"who": PEER})),
    );
    assert_eq!(s, 200, "{v}");
    let sub = server.wait_node("the presence subscription", Duration::from_secs(10), |n| {
        n.tag == "presence" && fake_whatsapp::attr(n, "type").as_deref() == Some("subscribe")
    });
    assert_eq!(fake_whatsapp::attr(&sub, "to").as_deref(), Some(PEER_JID));

    assert!(
        server.send(
            NodeBuilder::new("presence")
                .attr("from", PEER_JID)
                .attr("type", "unavailable")
                .attr("last", "1767225600")
                .build()
        )
    );
    assert!(
        server.send(
            NodeBuilder::new("chatstate")
                .attr("from", PEER_JID)
                .children([NodeBuilder::new("composing").build()])
                .build()
        )
    );
    let got = rx.wait_until_all("two presence events", |got| got.len() >= 2);
    // The library handles the two stanza kinds apart: their order is not kept.
    let data: Vec<&Value> = got.iter().map(|r| &r.body["payload"]["data"]).collect();
    assert!(
        data.contains(&&json!({"jid": PEER_JID, "chat": null, "presence": "unavailable", "last_seen": 1767225600000u64})),
        "{data:?}"
    );
    assert!(
        data.contains(
            &&json!({"jid": PEER_JID, "chat": PEER_JID, "presence": "composing", "last_seen": null})
        ),
        "{data:?}"
    );
}

/// Issue 16: on the real link, WhatsApp's group notifications (`w:gp2`) become
/// `group_participants` and `group_update` events: a member promoted by an admin, with
/// the member's phone number behind its LID, and a new subject.
#[test]
fn group_notifications_from_the_server_become_group_events() {
    use whatsapp_rust::wacore_binary::builder::NodeBuilder;

    const GROUP: &str = "120363000000000077@g.us";
    let server = FakeWhatsApp::start();
    let rx = receiver::Receiver::start();
    let resumed = resume_on_the_real_link(&server, &rx, "group_participants", |_, _| {});
    let (gw, key) = (&resumed.gw, &resumed.key);
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/shop/webhooks",
        Some(key),
        Some(json!([{"url": rx.url("hook"), "events": ["group_participants", "group_update"]}])),
    );
    assert_eq!(s, 200, "{v}");

    let notification = |id: &str, change: whatsapp_rust::wacore_binary::Node| {
        NodeBuilder::new("notification")
            .attr("type", "w:gp2")
            .attr("from", GROUP)
            .attr("participant", PEER_JID)
            .attr("id", id)
            .attr("t", "1767225600")
            .children([change])
            .build()
    };
    assert!(
        server.send(notification(
            "gp2-promote-1",
            NodeBuilder::new("promote")
                .children([NodeBuilder::new("participant")
                    .attr("jid", "98765432109876@lid")
                    .attr("phone_number", "5511977776666@s.whatsapp.net")
                    .build()])
                .build(),
        ))
    );
    assert!(
        server.send(notification(
            "gp2-subject-1",
            NodeBuilder::new("subject")
                .attr("subject", "Renamed on a phone")
                .attr("s_o", PEER_JID)
                .attr("s_t", "1767225600")
                .build(),
        ))
    );
    let got = rx.wait_until_all("both group events", |got| got.len() >= 2);
    let payloads: Vec<&Value> = got.iter().map(|r| &r.body["payload"]).collect();
    let promote = payloads
        .iter()
        .find(|p| p["type"] == "group_participants")
        .unwrap_or_else(|| panic!("{payloads:#?}"));
    assert_eq!(promote["data"]["group_jid"], GROUP, "{promote}");
    assert_eq!(promote["data"]["author"], PEER_JID, "{promote}");
    assert_eq!(promote["data"]["action"], "promote", "{promote}");
    assert_eq!(
        promote["data"]["members"],
        json!([{"jid": "98765432109876@lid", "phone": "5511977776666@s.whatsapp.net"}]),
        "{promote}"
    );
    assert_eq!(promote["data"]["timestamp"], 1_767_225_600_000u64);
    let subject = payloads
        .iter()
        .find(|p| p["type"] == "group_update")
        .unwrap_or_else(|| panic!("{payloads:#?}"));
    assert_eq!(
        subject["data"]["change"],
        json!({"subject": "Renamed on a phone"}),
        "{subject}"
    );
}

/// Issue 17, poll votes on the real link: a contact's poll arrives with its message
/// secret, then the contact's vote, encrypted with that secret as WhatsApp clients do;
/// the gateway keeps the secret, opens the vote and puts it on the stored poll.
#[test]
fn a_contacts_poll_vote_crosses_the_real_link_and_is_decrypted_with_the_kept_secret() {
    use whatsapp_rust::wacore::poll;
    use whatsapp_rust::waproto::buffa::MessageField;
    use whatsapp_rust::waproto::whatsapp as wa;
    let server = FakeWhatsApp::start();
    let tmp = tempfile::tempdir().unwrap();
    let MediaGateway {
        gw, key, bundle, ..
    } = media_gateway(&server, &tmp);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut contact = rt.block_on(fake_whatsapp::fake_peer::Peer::new());
    server.add_contact(PEER, contact.bundle().clone());
    rt.block_on(contact.start_session(&device_address(), &bundle));
    let mut send = |id: &str, message: &wa::Message| {
        let (kind, ciphertext) = rt.block_on(contact.encrypt(&device_address(), message));
        assert!(
            server.send(fake_whatsapp::message_node(
                PEER_JID, id, kind, ciphertext, None
            )),
            "no live connection"
        );
    };

    let secret = vec![0x5a; 32];
    let option = |name: &str| wa::message::poll_creation_message::Option {
        option_name: Some(name.into()),
        ..Default::default()
    };
    let poll_message = wa::Message {
        poll_creation_message_v3: MessageField::some(wa::message::PollCreationMessage {
            name: Some("Lunch?".into()),
            options: vec![option("pizza"), option("sushi")],
            selectable_options_count: Some(1),
            ..Default::default()
        }),
        message_context_info: MessageField::some(wa::MessageContextInfo {
            message_secret: Some(secret.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    send("3EB0POLL0001", &poll_message);
    let m = wait_message(&gw, &key, "3EB0POLL0001", "the stored poll", |m| {
        m["content"]["type"] == "poll"
    });
    assert_eq!(m["content"]["options"], json!(["pizza", "sushi"]), "{m}");
    assert!(
        !m.to_string().contains("secret"),
        "the secret stays out: {m}"
    );

    // The contact votes on their own poll (`fromMe` from the voter's side).
    let (enc_payload, iv) = poll::encrypt_poll_vote_with_secret(
        &[poll::compute_option_hash("sushi").to_vec()],
        &secret,
        "3EB0POLL0001",
        PEER_JID,
        PEER_JID,
    )
    .unwrap();
    let vote = wa::Message {
        poll_update_message: MessageField::some(wa::message::PollUpdateMessage {
            poll_creation_message_key: MessageField::some(wa::MessageKey {
                remote_jid: Some(PEER_JID.into()),
                from_me: Some(true),
                id: Some("3EB0POLL0001".into()),
                participant: None,
            }),
            vote: MessageField::some(wa::message::PollEncValue {
                enc_payload: Some(enc_payload),
                enc_iv: Some(iv.to_vec()),
            }),
            sender_timestamp_ms: Some(1_777_000_000_000),
            ..Default::default()
        }),
        ..Default::default()
    };
    send("3EB0VOTE0001", &vote);
    let m = wait_message(&gw, &key, "3EB0POLL0001", "the vote on the poll", |m| {
        m["poll_votes"].as_array().is_some_and(|v| !v.is_empty())
    });
    assert_eq!(
        m["poll_votes"],
        json!([{"id": "3EB0VOTE0001", "voter": PEER_JID, "options": ["sushi"], "timestamp": 1_777_000_000_000u64}]),
        "{m}"
    );
    // The vote is no message of its own.
    let (s, page) = gw.call(
        "GET",
        &format!("/core/instances/shop/chats/{PEER_JID}/messages"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200, "{page}");
    assert!(
        !page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "3EB0VOTE0001"),
        "{page}"
    );
}

/// Proxy per instance (issue 18): once `shop` has a proxy and restarts, both its
/// WhatsApp connection and the download of an inbound image go through the proxy
/// (the test's counting SOCKS5 proxy, tests/common/proxy.rs).
#[test]
fn a_proxied_instances_connection_and_media_download_pass_its_proxy() {
    use crate::common::proxy::{Kind, TestProxy};
    use whatsapp_rust::download::MediaType;
    use whatsapp_rust::waproto::buffa::MessageField;
    use whatsapp_rust::waproto::whatsapp as wa;
    let server = FakeWhatsApp::start();
    let tmp = tempfile::tempdir().unwrap();
    let MediaGateway {
        gw, key, bundle, ..
    } = media_gateway(&server, &tmp);
    let proxy = TestProxy::start_with(Kind::Socks5, Some(("shop", "pw")));
    assert_eq!(proxy.tunnels(), 0, "nothing goes through before it is set");

    let evolution = gw.credential("acme", "evolution-key");
    let (s, v) = evo(
        &gw,
        "POST",
        "/proxy/set/shop",
        &evolution,
        Some(
            json!({"enabled": true, "host": "127.0.0.1", "port": proxy.port().to_string(),
                    "protocol": "socks5", "username": "shop", "password": "pw"}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = evo(&gw, "POST", "/instance/restart/shop", &evolution, None);
    assert_eq!(s, 200, "{v}");
    gw.wait_state(&key, "shop", "open");
    let ws = server.url();
    let ws = ws.trim_start_matches("ws://").trim_end_matches("/ws/chat");
    assert!(
        proxy.targets().iter().any(|t| t == ws),
        "the WhatsApp connection did not pass the proxy: {:?}",
        proxy.targets()
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut contact = rt.block_on(fake_whatsapp::fake_peer::Peer::new());
    server.add_contact(PEER, contact.bundle().clone());
    rt.block_on(contact.start_session(&device_address(), &bundle));
    let photo = sample(40_000, 3);
    let (path, enc) = host_file(&server, &photo, MediaType::Image, "image");
    let image = wa::Message {
        image_message: MessageField::some(image_fields(&path, &enc, photo.len())),
        ..Default::default()
    };
    deliver(&server, &rt, &mut contact, "3EB0PROXIED01", &image, "image");
    wait_message(&gw, &key, "3EB0PROXIED01", "stored image", |m| {
        m["media"]["stored"] == true
    });
    let media_host = server.media().hostname();
    assert!(
        proxy.targets().contains(&media_host),
        "the media download did not pass the proxy ({media_host}): {:?}",
        proxy.targets()
    );
    assert_eq!(proxy.refused(), 0);
}
