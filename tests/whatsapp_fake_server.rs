//! The real whatsapp-rust client (Bot/Client, the same crate and features the
//! gateway links) against the in-process fake server in
//! `tests/common/fake_whatsapp.rs`, over a real loopback WebSocket with the real
//! Noise handshake and binary nodes. No gateway involved: these pin down what the
//! `--link whatsapp` adapter builds on.
//!
//! - an unpaired device is offered pairing and emits QR codes;
//! - a pre-seeded (paired) device logs in and reaches `Connected`;
//! - a 401 stream error logs the device out and stops the client;
//! - archive / delete chat send a `w:sync:app:state` IQ whose patch decrypts, with
//!   the app-state key the test seeded, to the expected mutation;
//! - media: an upload asks for the media connection, lands encrypted on the fake
//!   media host (HTTPS, through the gateway's own media HTTP client) and decrypts
//!   there with the media key of the message the client sends a contact (which the
//!   contact's Signal session decrypts); a contact's end-to-end encrypted image is
//!   received and its file downloaded and decrypted byte-identical.

use crate::common::fake_whatsapp;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use fake_whatsapp::{
    FakeWhatsApp, Login, Script, attr, decode_app_state_patch, is_app_state_patch, is_iq,
};
use tokio::sync::mpsc;
use whatsapp_rust::bot::{Bot, BotHandle};
use whatsapp_rust::store::persistence_manager::PersistenceManager;
use whatsapp_rust::transport::TokioWebSocketTransportFactory;
use whatsapp_rust::types::events::Event;
use whatsapp_rust::wacore::store::traits::AppStateSyncKey;
use whatsapp_rust::wacore::store::{DeviceCommand, InMemoryBackend};
use whatsapp_rust::wacore_binary::Jid;

/// Generous for a loaded CI machine; the happy paths take well under a second.
const WAIT: Duration = Duration::from_secs(20);

/// The phone number and device of the pre-seeded (paired) device.
const PHONE: &str = "15550001111";
const DEVICE: u16 = 7;

type Backend = Arc<dyn whatsapp_rust::store::traits::Backend>;

/// Builds and spawns a bot on `backend` that talks to `server`, forwarding every
/// event to the returned channel.
async fn spawn_bot(
    backend: Backend,
    server: &FakeWhatsApp,
) -> (BotHandle, mpsc::UnboundedReceiver<Arc<Event>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    // The gateway's media client, trusting the fake media host's certificate.
    let tls = server.media().client_tls();
    let bot = Bot::builder()
        .with_backend_arc(backend)
        .with_transport_factory(TokioWebSocketTransportFactory::new().with_url(server.url()))
        .with_http_client(wagate::whatsapp::real::http::MediaHttp::new(tls, 64 << 20))
        // A fixed version: otherwise connect() first fetches the current WhatsApp
        // Web version over HTTPS, which a test must not depend on.
        .with_version((2, 3000, 1_000_000_000))
        .skip_history_sync()
        .on_event(move |event, _client| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event);
            }
        })
        .build()
        .await
        .expect("bot builds");
    (bot.spawn(), rx)
}

/// The next event matching `pred`, skipping others; panics after [`WAIT`].
async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<Arc<Event>>,
    what: &str,
    pred: impl Fn(&Event) -> bool,
) -> Arc<Event> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(event)) if pred(&event) => return event,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("event channel closed before {what}"),
            Err(_) => panic!("no {what} within {WAIT:?}"),
        }
    }
}

/// A backend holding a device as pairing would have left it: fresh keys (made by
/// the store), the phone-number JID with a device number, the LID, a push name.
async fn paired_backend() -> Backend {
    let backend: Backend = Arc::new(InMemoryBackend::new());
    let pm = PersistenceManager::new(backend.clone())
        .await
        .expect("persistence manager");
    let pn: Jid = format!("{PHONE}:{DEVICE}@s.whatsapp.net")
        .parse()
        .expect("pn jid");
    let lid: Jid = format!("100000000000001:{DEVICE}@lid")
        .parse()
        .expect("lid jid");
    pm.process_command(DeviceCommand::SetId(Some(pn))).await;
    pm.process_command(DeviceCommand::SetLid(Some(lid))).await;
    // A known push name: without one the client treats the login as a fresh
    // pairing and runs the initial app-state bootstrap before `Connected`.
    pm.process_command(DeviceCommand::SetPushName("Fake Tester".into()))
        .await;
    pm.flush().await.expect("device saved");
    backend
}

async fn connected_bot(
    server: &FakeWhatsApp,
    backend: Backend,
) -> (BotHandle, mpsc::UnboundedReceiver<Arc<Event>>) {
    let (bot, mut events) = spawn_bot(backend, server).await;
    next_event(&mut events, "Connected", |e| {
        matches!(e, Event::Connected(_))
    })
    .await;
    (bot, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaired_device_emits_qr_codes_from_the_servers_refs() {
    let server = FakeWhatsApp::start_with(Script {
        pair_refs: vec!["2@first-ref".into(), "2@second-ref".into()],
        ..Script::default()
    });
    let backend: Backend = Arc::new(InMemoryBackend::new());
    let (bot, mut events) = spawn_bot(backend.clone(), &server).await;

    let event = next_event(&mut events, "a QR code", |e| {
        matches!(e, Event::PairingQrCode(_))
    })
    .await;
    let Event::PairingQrCode(qr) = &*event else {
        unreachable!()
    };

    // The client introduced itself as a device to be paired...
    let sessions = server.sessions();
    assert_eq!(sessions.len(), 1, "one handshake: {sessions:?}");
    assert_eq!(sessions[0].login, Login::Registration);
    assert_eq!(sessions[0].pattern, "XX", "a cold start uses Noise XX");

    // ...and the QR code is `ref,noise key,identity key,adv secret[,…]` for the first
    // ref, with this device's keys (what the phone scans to pair it).
    let parts: Vec<&str> = qr.code.split(',').collect();
    assert!(parts.len() >= 4, "QR payload shape: {}", qr.code);
    assert_eq!(parts[0], "2@first-ref");
    let device = PersistenceManager::new(backend)
        .await
        .expect("reload")
        .get_device_snapshot();
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(
        parts[1],
        b64.encode(device.noise_key.public_key.public_key_bytes())
    );
    assert_eq!(
        parts[2],
        b64.encode(device.identity_key.public_key.public_key_bytes())
    );
    assert!(
        qr.timeout > Duration::from_secs(50),
        "the first ref lives 60 s: {:?}",
        qr.timeout
    );

    // The client acknowledged the pair-device IQ, as the server expects.
    server
        .wait_node_async("the pair-device ack", WAIT, |n| {
            n.tag == "iq"
                && attr(n, "type").as_deref() == Some("result")
                && attr(n, "id").as_deref() == Some("pair-1")
        })
        .await;
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paired_device_logs_in_and_reaches_connected() {
    let server = FakeWhatsApp::start();
    let (bot, _events) = connected_bot(&server, paired_backend().await).await;

    let sessions = server.sessions();
    assert_eq!(sessions.len(), 1, "one handshake: {sessions:?}");
    assert_eq!(
        sessions[0].login,
        Login::Device {
            username: PHONE.parse().unwrap(),
            device: DEVICE as u32
        },
        "the login payload names the seeded account and device"
    );
    // On the way to Connected the client left passive mode (the server answered
    // with the end of the offline queue) and announced itself available.
    assert!(
        server.find(|n| is_iq(n, "passive", "set")).is_some(),
        "no passive IQ:\n{}",
        server.dump()
    );
    let client = bot.client();
    assert!(client.is_connected() && client.is_logged_in());
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_of_a_paired_device_uses_the_cached_chain() {
    // After a full XX login the client keeps the server's certificate chain and
    // the next connection resumes with the one-round-trip IK pattern.
    let server = FakeWhatsApp::start();
    let backend = paired_backend().await;
    let (bot, _events) = connected_bot(&server, backend.clone()).await;
    bot.shutdown().await;

    let (bot, _events) = connected_bot(&server, backend).await;
    let patterns: Vec<&str> = server.sessions().iter().map(|s| s.pattern).collect();
    assert_eq!(patterns, ["XX", "IK"]);
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_error_401_logs_the_device_out() {
    let server = FakeWhatsApp::start();
    let (bot, mut events) = connected_bot(&server, paired_backend().await).await;

    assert!(server.stream_error("401"), "no live connection to end");
    let event = next_event(&mut events, "LoggedOut", |e| {
        matches!(e, Event::LoggedOut(_))
    })
    .await;
    let Event::LoggedOut(out) = &*event else {
        unreachable!()
    };
    assert!(!out.on_connect, "logged out mid-session, not at login");
    assert_eq!(
        out.raw.as_ref().map(|n| n.tag.to_string()).as_deref(),
        Some("stream:error")
    );

    // A logged-out client does not reconnect: the run loop ends on its own.
    tokio::time::timeout(WAIT, bot)
        .await
        .expect("the client stops after a 401");
    assert_eq!(server.connections(), 1, "no reconnect after a 401");
}

/// Seeds an app-state sync key (normally shared by the phone after pairing) so
/// the client can encrypt patches; returns (key id, key data).
async fn seed_app_state_key(backend: &Backend) -> (Vec<u8>, Vec<u8>) {
    let key_id = b"fake-key-1".to_vec();
    let key_data = vec![0x5a; 32];
    backend
        .set_sync_key(
            &key_id,
            AppStateSyncKey {
                key_data: key_data.clone(),
                fingerprint: Vec::new(),
                timestamp: 1_700_000_000_000,
            },
        )
        .await
        .expect("sync key stored");
    (key_id, key_data)
}

/// Waits for the `w:sync:app:state` set IQ carrying a patch for `collection` and
/// decrypts its single mutation with the seeded key.
async fn sent_mutation(
    server: &FakeWhatsApp,
    collection: &str,
    key_id: &[u8],
    key_data: &[u8],
) -> whatsapp_rust::wacore::appstate::decode::Mutation {
    let iq = server
        .wait_node_async(&format!("an app-state patch for {collection}"), WAIT, |n| {
            is_app_state_patch(n, collection)
        })
        .await;
    decode_app_state_patch(&iq, key_id, key_data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_and_delete_chat_send_app_state_patches() {
    let server = FakeWhatsApp::start();
    let backend = paired_backend().await;
    let (key_id, key_data) = seed_app_state_key(&backend).await;
    let (bot, _events) = connected_bot(&server, backend).await;
    let client = bot.client();
    let chat: Jid = "15557654321@s.whatsapp.net".parse().unwrap();

    client
        .chat_actions()
        .archive_chat(&chat, None)
        .await
        .expect("archive accepted");
    let archive = sent_mutation(&server, "regular_low", &key_id, &key_data).await;
    assert_eq!(archive.index, ["archive", "15557654321@s.whatsapp.net"]);
    let value = archive.action_value.expect("action value");
    assert_eq!(
        value
            .archive_chat_action
            .as_option()
            .and_then(|a| a.archived),
        Some(true)
    );

    client
        .chat_actions()
        .delete_chat(&chat, true, None)
        .await
        .expect("delete accepted");
    let delete = sent_mutation(&server, "regular_high", &key_id, &key_data).await;
    assert_eq!(
        delete.index,
        ["deleteChat", "15557654321@s.whatsapp.net", "1"]
    );
    assert!(
        delete
            .action_value
            .expect("action value")
            .delete_chat_action
            .is_set(),
        "a deleteChatAction value"
    );
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_action_without_an_app_state_key_is_refused_locally() {
    // Before the phone shares an app-state key there is nothing to seal a patch
    // with: the call fails and nothing reaches the server.
    let server = FakeWhatsApp::start();
    let (bot, _events) = connected_bot(&server, paired_backend().await).await;
    let chat: Jid = "15557654321@s.whatsapp.net".parse().unwrap();
    let err = bot
        .client()
        .chat_actions()
        .archive_chat(&chat, None)
        .await
        .expect_err("no key, no patch");
    assert!(err.to_string().contains("no app state sync key"), "{err}");
    assert!(
        server
            .find(|n| is_app_state_patch(n, "regular_low"))
            .is_none(),
        "a patch was sent:\n{}",
        server.dump()
    );
    bot.shutdown().await;
}

/// The peer's phone number (a contact registered with the fake server).
const CONTACT: &str = "15550009999";

/// The device's published keys, as the fake server would hand them to a contact.
async fn device_bundle(backend: &Backend) -> fake_whatsapp::fake_peer::Bundle {
    use whatsapp_rust::wacore::libsignal::protocol::IdentityKey;
    let device = PersistenceManager::new(backend.clone())
        .await
        .expect("reload")
        .get_device_snapshot();
    fake_whatsapp::fake_peer::Bundle {
        registration_id: device.registration_id,
        device_id: DEVICE as u32,
        identity: IdentityKey::new(device.identity_key.public_key),
        signed_pre_key_id: device.signed_pre_key_id,
        signed_pre_key: device.signed_pre_key.public_key,
        signature: device.signed_pre_key_signature.to_vec(),
        pre_key: None,
    }
}

/// The Signal address of the seeded device (how the contact names its session).
fn device_address() -> whatsapp_rust::wacore::libsignal::protocol::ProtocolAddress {
    use whatsapp_rust::wacore::types::jid::JidExt as _;
    let jid: Jid = format!("{PHONE}:{DEVICE}@s.whatsapp.net").parse().unwrap();
    jid.to_protocol_address()
}

/// Bytes that are not all alike, so a wrong key or offset cannot pass.
fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_upload_is_encrypted_with_the_key_the_contact_receives() {
    use whatsapp_rust::download::{DownloadUtils, MediaType};
    let server = FakeWhatsApp::start();
    let backend = paired_backend().await;
    // The device has its account identity, as pairing leaves it: a first message
    // to a contact (a pre-key message) must carry it.
    let pm = PersistenceManager::new(backend.clone()).await.expect("pm");
    pm.process_command(DeviceCommand::SetAccount(Some(
        whatsapp_rust::waproto::whatsapp::ADVSignedDeviceIdentity {
            details: Some(vec![1, 2, 3]),
            account_signature_key: Some(vec![7; 32]),
            account_signature: Some(vec![8; 64]),
            device_signature: Some(vec![9; 64]),
        },
    )))
    .await;
    pm.flush().await.expect("saved");
    drop(pm);
    let mut contact = fake_whatsapp::fake_peer::Peer::new().await;
    server.add_contact(CONTACT, contact.bundle().clone());
    let (bot, _events) = connected_bot(&server, backend).await;
    let client = bot.client();

    let photo = sample(100_000);
    let upload = client
        .upload(photo.clone(), MediaType::Image, Default::default())
        .await
        .expect("upload");
    // The client asked the chat server where to upload, then uploaded there.
    assert!(
        server.find(|n| is_iq(n, "w:m", "set")).is_some(),
        "no media connection query:\n{}",
        server.dump()
    );
    let uploads = server.media().uploads();
    assert_eq!(uploads.len(), 1, "one upload");
    assert_eq!(uploads[0].kind, "image");
    assert_eq!(uploads[0].direct_path, upload.direct_path);
    assert_ne!(uploads[0].body[..64], photo[..64], "uploaded encrypted");

    // The message to the contact carries the key; the contact decrypts the message
    // with its Signal session, then the file with the key in it.
    let message = whatsapp_rust::media::image_message(
        upload,
        whatsapp_rust::media::ImageOptions {
            caption: Some("a photo".into()),
            mimetype: Some("image/png".into()),
            ..Default::default()
        },
    );
    let to: Jid = format!("{CONTACT}@s.whatsapp.net").parse().unwrap();
    let sent = client.send_message(to, message).await.expect("sent");
    let stanza = server
        .wait_node_async("the message to the contact", WAIT, |n| {
            n.tag == "message" && attr(n, "id").as_deref() == Some(sent.message_id.as_str())
        })
        .await;
    let (kind, ciphertext) =
        fake_whatsapp::enc_for(&stanza, CONTACT).expect("a payload for the contact");
    let received = contact.decrypt(&device_address(), &kind, &ciphertext).await;
    let image = received
        .image_message
        .as_option()
        .expect("an image message");
    assert_eq!(image.caption.as_deref(), Some("a photo"));
    assert_eq!(image.mimetype.as_deref(), Some("image/png"));
    assert_eq!(image.file_length, Some(photo.len() as u64));
    let key = image.media_key.clone().expect("media key");
    let plain = DownloadUtils::verify_and_decrypt(&uploads[0].body, &key, MediaType::Image)
        .expect("the upload decrypts with the message's key");
    assert_eq!(plain, photo, "byte-identical");
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contacts_encrypted_image_is_received_and_downloaded() {
    use whatsapp_rust::download::MediaType;
    use whatsapp_rust::waproto::buffa::MessageField;
    use whatsapp_rust::waproto::whatsapp as wa;
    let server = FakeWhatsApp::start();
    let backend = paired_backend().await;
    let mut contact = fake_whatsapp::fake_peer::Peer::new().await;
    server.add_contact(CONTACT, contact.bundle().clone());
    contact
        .start_session(&device_address(), &device_bundle(&backend).await)
        .await;
    let (bot, mut events) = connected_bot(&server, backend).await;

    // The contact's phone encrypts the file and uploads it...
    let photo = sample(70_000);
    let enc =
        whatsapp_rust::wacore::upload::encrypt_media(&photo, MediaType::Image).expect("encrypt");
    let direct_path = server.media().put("image", enc.data_to_upload);
    // ...then sends the message naming it, end-to-end encrypted to this device.
    let message = wa::Message {
        image_message: MessageField::some(wa::message::ImageMessage {
            direct_path: Some(direct_path.clone()),
            media_key: Some(enc.media_key.to_vec()),
            file_sha256: Some(enc.file_sha256.to_vec()),
            file_enc_sha256: Some(enc.file_enc_sha256.to_vec()),
            file_length: Some(photo.len() as u64),
            mimetype: Some("image/png".into()),
            caption: Some("from my phone".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let (kind, ciphertext) = contact.encrypt(&device_address(), &message).await;
    assert_eq!(kind, "pkmsg", "the first message sets the session up");
    let from = format!("{CONTACT}@s.whatsapp.net");
    assert!(server.send(fake_whatsapp::message_node(
        &from,
        "3EB0FAKEIMAGE1",
        kind,
        ciphertext,
        Some("image"),
    )));

    let event = next_event(&mut events, "the contact's message", |e| {
        matches!(e, Event::Messages(batch) if batch.iter().any(|m| m.info.id.as_str() == "3EB0FAKEIMAGE1"))
    })
    .await;
    let Event::Messages(batch) = &*event else {
        unreachable!()
    };
    let inbound = batch
        .iter()
        .find(|m| m.info.id.as_str() == "3EB0FAKEIMAGE1")
        .unwrap();
    let image = inbound
        .message
        .image_message
        .as_option()
        .expect("decrypted to the image message");
    assert_eq!(image.caption.as_deref(), Some("from my phone"));
    let bytes = bot.client().download(image).await.expect("downloaded");
    assert_eq!(bytes, photo, "byte-identical");
    assert_eq!(server.media().downloads_of(&direct_path), 1);
    bot.shutdown().await;
}
