//! An in-process fake WhatsApp chat server for tests.
//!
//! It speaks the real wire protocol that whatsapp-rust's client speaks to
//! `wss://web.whatsapp.com/ws/chat`, built from the crate's own pieces:
//! - a WebSocket on loopback (`ws://127.0.0.1:PORT/ws/chat`, plain, no TLS);
//! - the `WA` connection header and 3-byte length-prefixed frames (`wacore::framing`);
//! - the Noise XX responder (cold start), IK responder (a paired client that cached
//!   our certificate chain) and XXfallback (IK against a key we do not hold), from
//!   `wacore::handshake::NoiseHandshake`, with a certificate chain whose signatures are
//!   zero: the client accepts it only when built with whatsapp-rust's test-only
//!   `danger-skip-cert-chain-verify` feature (a dev-dependency of the gateway);
//! - after the handshake, AES-GCM frames carrying binary XMPP nodes
//!   (`wacore_binary` marshal/unmarshal).
//!
//! Behaviour, kept to what the client needs to settle:
//! - an unregistered client (its login payload has no username) gets a
//!   `pair-device` IQ carrying the configured refs, from which it renders QR codes;
//! - a registered client gets `<success>`;
//! - every IQ is answered (see [`answer`]) so nothing waits for a timeout;
//! - the media-connection query names the media host this server runs
//!   ([`fake_media`], loopback HTTPS), where uploads land and downloads come from;
//! - contacts registered with [`FakeWhatsApp::add_contact`] (a [`fake_peer::Peer`]
//!   each, one device) are listed by the device query (usync) and their keys
//!   handed out by the pre-key fetch, so the client can encrypt messages to them;
//!   other users have no devices;
//! - tests push stanzas on demand ([`FakeWhatsApp::send`], [`FakeWhatsApp::stream_error`]).
//!
//! Every node the client sends is recorded ([`FakeWhatsApp::received`]).
//!
//! The server owns a small tokio runtime, so it serves both `#[tokio::test]`s and
//! blocking tests that drive the real gateway binary.
#![allow(dead_code)]
// A test binary has no library API: `pub` here only means "usable from the test
// files", so the workspace's `unreachable_pub` lint is noise for this harness.
#![allow(unreachable_pub)]

#[path = "fake_directory.rs"]
pub mod fake_directory;
#[path = "fake_media.rs"]
pub mod fake_media;
#[path = "fake_peer.rs"]
pub mod fake_peer;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::wacore::framing::{FrameDecoder, encode_frame};
use whatsapp_rust::wacore::handshake::NoiseHandshake;
use whatsapp_rust::wacore::libsignal::protocol::{KeyPair, PrivateKey};
use whatsapp_rust::wacore::noise::NoiseCipher;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::consts::{
    NOISE_PATTERN_IK, NOISE_PATTERN_XX, NOISE_PATTERN_XXFALLBACK, WA_CONN_HEADER,
};
use whatsapp_rust::wacore_binary::{Node, NodeContent, marshal, marshal::unmarshal_ref, util};
use whatsapp_rust::waproto::whatsapp as wa;

/// The server's JID as it appears in `from`/`to` attributes.
pub const SERVER: &str = "s.whatsapp.net";

/// What the server does beyond answering IQs.
#[derive(Clone, Debug)]
pub struct Script {
    /// Pairing refs sent to an unregistered client in `<pair-device>`; the client
    /// turns each into one QR code (the first lives 60 s, later ones 20 s).
    pub pair_refs: Vec<String>,
    /// The account's LID announced in `<success lid=…>`.
    pub lid: String,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            pair_refs: vec!["2@fake-ref-one".into(), "2@fake-ref-two".into()],
            lid: "100000000000001@lid".into(),
        }
    }
}

/// How a client identified itself in the handshake's login payload.
#[derive(Clone, Debug, PartialEq)]
pub enum Login {
    /// No username: a device asking to be paired.
    Registration,
    /// A paired device logging in as `username` (the phone number) device `device`.
    Device { username: u64, device: u32 },
}

/// One completed handshake.
#[derive(Clone, Debug)]
pub struct Session {
    pub conn: usize,
    pub login: Login,
    /// `"XX"`, `"IK"` or `"XXfallback"`.
    pub pattern: &'static str,
}

/// One node the client sent, with the connection it came on.
#[derive(Clone, Debug)]
pub struct Received {
    pub conn: usize,
    pub node: Node,
}

struct Shared {
    script: Script,
    identity: KeyPair,
    cert_chain: Vec<u8>,
    sessions: Mutex<Vec<Session>>,
    received: Mutex<Vec<Received>>,
    /// Push channels of live (post-handshake) connections, by connection number.
    pushers: Mutex<Vec<(usize, mpsc::UnboundedSender<Node>)>>,
    /// Connection attempts (WebSocket upgrades) so far.
    connections: Mutex<usize>,
    /// The media host's name, announced in answers to the media-connection query.
    media_host: String,
    /// Contacts' published keys, by user (phone number).
    contacts: Mutex<std::collections::HashMap<String, fake_peer::Bundle>>,
    /// Groups (`w:g2`), by JID: their subject and (jid, role) participants.
    groups: Mutex<std::collections::BTreeMap<String, FakeGroup>>,
    /// The paired account's JID, as groups name their creator and check admins.
    account: Mutex<String>,
    /// How often each group's invite link was reset (its code changes each time).
    invite_resets: Mutex<std::collections::HashMap<String, u32>>,
    /// People's LIDs, pictures, business profiles; the account's block list and
    /// privacy settings.
    directory: Mutex<fake_directory::Directory>,
}

/// A group the fake server keeps.
#[derive(Clone, Debug, Default)]
pub struct FakeGroup {
    pub subject: String,
    /// (jid, `member` / `admin` / `superadmin`).
    pub participants: Vec<(String, String)>,
}

/// A running fake server. Stops when dropped.
pub struct FakeWhatsApp {
    addr: SocketAddr,
    shared: Arc<Shared>,
    media: fake_media::MediaHost,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FakeWhatsApp {
    /// Starts a server on a free loopback port with the default [`Script`].
    pub fn start() -> FakeWhatsApp {
        FakeWhatsApp::start_with(Script::default())
    }

    pub fn start_with(script: Script) -> FakeWhatsApp {
        let identity = random_key_pair();
        let cert_chain = test_cert_chain(&public_bytes(&identity));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fake-whatsapp")
            .enable_all()
            .build()
            .expect("fake server runtime");
        let media = fake_media::MediaHost::start(&runtime);
        let shared = Arc::new(Shared {
            script,
            identity,
            cert_chain,
            sessions: Mutex::new(Vec::new()),
            received: Mutex::new(Vec::new()),
            pushers: Mutex::new(Vec::new()),
            connections: Mutex::new(0),
            media_host: media.hostname(),
            contacts: Mutex::default(),
            groups: Mutex::default(),
            account: Mutex::default(),
            invite_resets: Mutex::default(),
            directory: Mutex::default(),
        });
        // Bound synchronously so the port is known before anything connects.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake server");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("fake server address");
        let accept_shared = shared.clone();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            while let Ok((stream, _)) = listener.accept().await {
                let conn = {
                    let mut n = accept_shared.connections.lock().unwrap();
                    *n += 1;
                    *n
                };
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(shared, conn, stream).await {
                        eprintln!("fake whatsapp: connection {conn} ended: {e:#}");
                    }
                });
            }
        });
        FakeWhatsApp {
            addr,
            shared,
            media,
            runtime: Some(runtime),
        }
    }

    /// The URL to hand to the client's transport (`with_url`).
    pub fn url(&self) -> String {
        format!("ws://{}/ws/chat", self.addr)
    }

    /// The media host (uploads, downloads, its certificate).
    pub fn media(&self) -> &fake_media::MediaHost {
        &self.media
    }

    /// Registers a contact (`user` is its phone number) with one device (0) whose
    /// keys are `bundle`.
    pub fn add_contact(&self, user: &str, bundle: fake_peer::Bundle) {
        self.shared
            .contacts
            .lock()
            .unwrap()
            .insert(user.to_string(), bundle);
    }

    /// Says which account the client is (its JID, as the pairing gave it): group
    /// answers name it as creator and check its role.
    pub fn set_account(&self, jid: &str) {
        *self.shared.account.lock().unwrap() = jid.to_string();
    }

    /// Adds (or replaces) a group the server knows.
    /// What the network knows about the person with phone number `user` (a contact
    /// is registered only by [`FakeWhatsApp::add_contact`]).
    pub fn set_person(&self, user: &str, person: fake_directory::Person) {
        let mut dir = self.shared.directory.lock().unwrap();
        dir.people.insert(user.to_string(), person);
    }

    /// The account's block list as the server holds it.
    pub fn blocked(&self) -> Vec<String> {
        let dir = self.shared.directory.lock().unwrap();
        dir.blocked.iter().cloned().collect()
    }

    /// The account's privacy settings as the server holds them (category -> value).
    pub fn privacy(&self) -> std::collections::BTreeMap<String, String> {
        self.shared.directory.lock().unwrap().privacy.clone()
    }

    /// Sets one privacy setting on the server's side.
    pub fn set_privacy(&self, category: &str, value: &str) {
        let mut dir = self.shared.directory.lock().unwrap();
        dir.privacy.insert(category.to_string(), value.to_string());
    }

    pub fn add_group(&self, jid: &str, group: FakeGroup) {
        self.shared
            .groups
            .lock()
            .unwrap()
            .insert(jid.to_string(), group);
    }

    /// A group as the server now holds it.
    pub fn group(&self, jid: &str) -> Option<FakeGroup> {
        self.shared.groups.lock().unwrap().get(jid).cloned()
    }

    /// WebSocket connections accepted so far.
    pub fn connections(&self) -> usize {
        *self.shared.connections.lock().unwrap()
    }

    /// Handshakes completed so far, in order.
    pub fn sessions(&self) -> Vec<Session> {
        self.shared.sessions.lock().unwrap().clone()
    }

    /// Every node received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Sends `node` to the most recent live connection. False when none is live.
    pub fn send(&self, node: Node) -> bool {
        let pushers = self.shared.pushers.lock().unwrap();
        match pushers.last() {
            Some((_, tx)) => tx.send(node).is_ok(),
            None => false,
        }
    }

    /// Sends `<stream:error code=…/>` to the most recent live connection: what the
    /// real server sends when it ends a session (401: the device was logged out).
    pub fn stream_error(&self, code: &str) -> bool {
        self.send(
            NodeBuilder::new("stream:error")
                .attr("code", code.to_string())
                .build(),
        )
    }

    /// Whether a connection finished its handshake and has not closed yet.
    pub fn has_live_connection(&self) -> bool {
        !self.shared.pushers.lock().unwrap().is_empty()
    }

    /// The first received node matching `pred`, if any.
    pub fn find(&self, pred: impl Fn(&Node) -> bool) -> Option<Node> {
        self.received()
            .into_iter()
            .map(|r| r.node)
            .find(|n| pred(n))
    }

    /// Waits (blocking) until a received node matches `pred`.
    pub fn wait_node(&self, what: &str, timeout: Duration, pred: impl Fn(&Node) -> bool) -> Node {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(node) = self.find(&pred) {
                return node;
            }
            if Instant::now() > deadline {
                panic!(
                    "fake whatsapp: no {what} within {timeout:?}; received:\n{}",
                    self.dump()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// [`FakeWhatsApp::wait_node`] for async tests (does not block the runtime).
    pub async fn wait_node_async(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Node) -> bool,
    ) -> Node {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(node) = self.find(&pred) {
                return node;
            }
            if Instant::now() > deadline {
                panic!(
                    "fake whatsapp: no {what} within {timeout:?}; received:\n{}",
                    self.dump()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every received node as XML-ish text, for failure messages.
    pub fn dump(&self) -> String {
        self.received()
            .iter()
            .map(|r| format!("[conn {}] {}", r.conn, display(&r.node)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for FakeWhatsApp {
    fn drop(&mut self) {
        // Allowed from inside another runtime, unlike a plain drop.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A node as text (`<iq id="…" …>`), binary content elided.
pub fn display(node: &Node) -> String {
    whatsapp_rust::wacore::xml::DisplayableNode(node).to_string()
}

/// Attribute `key` of `node` as text.
pub fn attr(node: &Node, key: &str) -> Option<String> {
    node.attrs.get(key).map(|v| v.as_str().into_owned())
}

/// The first child of `node` tagged `tag`.
pub fn child<'a>(node: &'a Node, tag: &str) -> Option<&'a Node> {
    node.get_optional_child(tag)
}

/// A one-to-one message from `from` (a contact's JID) carrying one encrypted
/// payload (`kind` `pkmsg` or `msg`), as the server delivers it to the client;
/// `mediatype` is set for media messages (the real server's hint).
pub fn message_node(
    from: &str,
    id: &str,
    kind: &str,
    ciphertext: Vec<u8>,
    mediatype: Option<&str>,
) -> Node {
    let mut enc = NodeBuilder::new("enc")
        .attr("v", "2")
        .attr("type", kind.to_string());
    if let Some(m) = mediatype {
        enc = enc.attr("mediatype", m.to_string());
    }
    NodeBuilder::new("message")
        .attr("from", from.to_string())
        .attr("id", id.to_string())
        .attr("type", if mediatype.is_some() { "media" } else { "text" })
        .attr("t", unix_now().to_string())
        .attr("notify", "Fake Contact")
        .children([enc.bytes(ciphertext).build()])
        .build()
}

/// The encrypted payload a client's `<message>` carries for `user` (a phone
/// number): its `enc` type and bytes, whether the payload sits in the stanza or in
/// `participants/to[jid]`.
pub fn enc_for(message: &Node, user: &str) -> Option<(String, Vec<u8>)> {
    let for_user =
        |jid: Option<String>| jid.is_some_and(|j| j.split(['@', ':']).next() == Some(user));
    let enc = if for_user(attr(message, "to")) && child(message, "enc").is_some() {
        child(message, "enc")
    } else {
        child(message, "participants")?
            .children()?
            .iter()
            .find(|to| to.tag == "to" && for_user(attr(to, "jid")))
            .and_then(|to| child(to, "enc"))
    }?;
    Some((attr(enc, "type")?, content_bytes(enc)?.to_vec()))
}

/// Whether `node` is an `<iq>` of namespace `xmlns` and type `ty`.
pub fn is_iq(node: &Node, xmlns: &str, ty: &str) -> bool {
    node.tag == "iq"
        && attr(node, "xmlns").as_deref() == Some(xmlns)
        && attr(node, "type").as_deref() == Some(ty)
}

fn random_key_pair() -> KeyPair {
    let mut secret = [0u8; 32];
    rand::fill(&mut secret);
    let private = PrivateKey::deserialize(&secret).expect("32-byte private key");
    let public = private
        .public_key()
        .expect("public key of a Curve25519 key");
    KeyPair::new(public, private)
}

fn public_bytes(kp: &KeyPair) -> [u8; 32] {
    kp.public_key
        .public_key_bytes()
        .try_into()
        .expect("X25519 public keys are 32 bytes")
}

/// A Noise certificate chain (intermediate + leaf) whose leaf is our static key.
/// The signatures are zeros: WhatsApp's root key signs the real one, which no test
/// can reproduce, so the client must skip the check (see the module docs). Same
/// shape as `wacore_noise::test_util::build_cert_chain_bytes`.
fn test_cert_chain(server_static: &[u8; 32]) -> Vec<u8> {
    use wa::cert_chain::noise_certificate::Details;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let cert = |serial, issuer_serial, key: Vec<u8>| wa::cert_chain::NoiseCertificate {
        details: Some(
            Details {
                serial: Some(serial),
                issuer_serial: Some(issuer_serial),
                key: Some(key),
                // Valid for a day around now: the client checks the window before
                // it reuses the cached chain for IK.
                not_before: Some(now.saturating_sub(3_600)),
                not_after: Some(now + 86_400),
            }
            .encode_to_vec(),
        ),
        signature: Some(vec![0u8; 64]),
    };
    wa::CertChain {
        intermediate: whatsapp_rust::buffa::MessageField::some(cert(1, 0, vec![0xCC; 32])),
        leaf: whatsapp_rust::buffa::MessageField::some(cert(2, 1, server_static.to_vec())),
    }
    .encode_to_vec()
}

/// Reads WebSocket messages and cuts them into frames. The first message starts
/// with the optional edge-routing pre-intro (`ED\0\1` + 3-byte length + data) and
/// the 4-byte `WA` connection header, which are not framed.
struct FrameReader {
    ws: futures_util::stream::SplitStream<Ws>,
    decoder: FrameDecoder,
    header_seen: bool,
}

impl FrameReader {
    /// The next frame, or `None` when the client closed the socket.
    async fn next(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        loop {
            if let Some(frame) = self.decoder.decode_frame() {
                return Ok(Some(frame.to_vec()));
            }
            let data = match self.ws.next().await {
                Some(Ok(Message::Binary(data))) => data,
                Some(Ok(Message::Close(_))) | None => return Ok(None),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(anyhow::anyhow!("websocket read: {e}")),
            };
            let mut data: &[u8] = &data;
            if !self.header_seen {
                self.header_seen = true;
                if data.starts_with(b"ED\0\x01") && data.len() >= 7 {
                    let len = u32::from_be_bytes([0, data[4], data[5], data[6]]) as usize;
                    data = data.get(7 + len..).unwrap_or_default();
                }
                data = data
                    .strip_prefix(&WA_CONN_HEADER[..])
                    .ok_or_else(|| anyhow::anyhow!("first message lacks the WA header"))?;
            }
            self.decoder.feed(data);
        }
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;
type WsSink = futures_util::stream::SplitSink<Ws, Message>;

/// The transport state after the handshake: one cipher and counter per direction.
struct Transport {
    sink: WsSink,
    write: NoiseCipher,
    write_counter: u32,
    read: NoiseCipher,
    read_counter: u32,
}

impl Transport {
    async fn send(&mut self, node: &Node) -> anyhow::Result<()> {
        // `marshal` already prefixes the flags byte (0: not compressed).
        let plain = marshal(node).map_err(|e| anyhow::anyhow!("marshal: {e}"))?;
        let sealed = self
            .write
            .encrypt_with_counter(self.write_counter, &plain)
            .map_err(|e| anyhow::anyhow!("encrypt: {e}"))?;
        self.write_counter += 1;
        let framed = encode_frame(&sealed, None)?;
        self.sink.send(Message::Binary(framed.into())).await?;
        Ok(())
    }

    fn open(&mut self, mut frame: Vec<u8>) -> anyhow::Result<Node> {
        self.read
            .decrypt_in_place_with_counter(self.read_counter, &mut frame)
            .map_err(|e| anyhow::anyhow!("decrypt frame {}: {e}", self.read_counter))?;
        self.read_counter += 1;
        let plain = util::unpack(&frame).map_err(|e| anyhow::anyhow!("unpack: {e}"))?;
        let node = unmarshal_ref(&plain).map_err(|e| anyhow::anyhow!("unmarshal: {e}"))?;
        Ok(node.to_owned())
    }
}

async fn serve(
    shared: Arc<Shared>,
    conn: usize,
    stream: tokio::net::TcpStream,
) -> anyhow::Result<()> {
    let ws = tokio_tungstenite::accept_async(stream).await?;
    let (mut sink, stream) = ws.split();
    let mut reader = FrameReader {
        ws: stream,
        decoder: FrameDecoder::new(),
        header_seen: false,
    };
    let Some((read, write, payload, pattern)) = handshake(&shared, &mut reader, &mut sink).await?
    else {
        return Ok(());
    };
    let payload = wa::ClientPayload::decode_from_slice(&payload)?;
    let login = match payload.username {
        Some(username) => Login::Device {
            username,
            device: payload.device.unwrap_or(0),
        },
        None => Login::Registration,
    };
    shared.sessions.lock().unwrap().push(Session {
        conn,
        login: login.clone(),
        pattern,
    });
    let mut transport = Transport {
        sink,
        write,
        write_counter: 0,
        read,
        read_counter: 0,
    };
    let (push_tx, mut push_rx) = mpsc::unbounded_channel();
    shared.pushers.lock().unwrap().push((conn, push_tx));
    let result = session(
        &shared,
        conn,
        &login,
        &mut reader,
        &mut transport,
        &mut push_rx,
    )
    .await;
    shared.pushers.lock().unwrap().retain(|(c, _)| *c != conn);
    result
}

/// What the server sends right after the handshake, then the read/answer loop.
async fn session(
    shared: &Shared,
    conn: usize,
    login: &Login,
    reader: &mut FrameReader,
    transport: &mut Transport,
    push_rx: &mut mpsc::UnboundedReceiver<Node>,
) -> anyhow::Result<()> {
    match login {
        // The server starts pairing: the client acks this IQ and shows one QR
        // code per ref.
        Login::Registration => {
            let refs = shared
                .script
                .pair_refs
                .iter()
                .map(|r| NodeBuilder::new("ref").bytes(r.as_bytes()).build());
            let pair_device = NodeBuilder::new("iq")
                .attr("from", SERVER)
                .attr("type", "set")
                .attr("id", format!("pair-{conn}"))
                .attr("xmlns", "md")
                .children([NodeBuilder::new("pair-device").children(refs).build()])
                .build();
            transport.send(&pair_device).await?;
        }
        // A known device is logged in; `t` lets the client compute its clock
        // offset and `lid` is the account's LID.
        Login::Device { .. } => {
            let success = NodeBuilder::new("success")
                .attr("t", unix_now().to_string())
                .attr("lid", shared.script.lid.clone())
                .attr("props", "1")
                .build();
            transport.send(&success).await?;
        }
    }
    loop {
        tokio::select! {
            frame = reader.next() => {
                let Some(frame) = frame? else { return Ok(()) };
                let node = transport.open(frame)?;
                shared.received.lock().unwrap().push(Received { conn, node: node.clone() });
                for reply in answer(shared, &node) {
                    transport.send(&reply).await?;
                }
            }
            pushed = push_rx.recv() => {
                let Some(node) = pushed else { return Ok(()) };
                transport.send(&node).await?;
            }
        }
    }
}

/// The replies to one client stanza. Every `get`/`set` IQ is answered so no client
/// call waits out its timeout; an empty `result` is enough for most (the client
/// logs what it cannot parse and carries on).
fn answer(shared: &Shared, node: &Node) -> Vec<Node> {
    if node.tag != "iq" {
        return Vec::new();
    }
    let ty = attr(node, "type").unwrap_or_default();
    if ty != "get" && ty != "set" {
        return Vec::new();
    }
    let id = attr(node, "id").unwrap_or_default();
    let result = |children: Vec<Node>| {
        let b = NodeBuilder::new("iq")
            .attr("from", SERVER)
            .attr("type", "result")
            .attr("id", id.clone());
        if children.is_empty() {
            b.build()
        } else {
            b.children(children).build()
        }
    };
    let error = |code: &str, text: &str| {
        NodeBuilder::new("iq")
            .attr("from", SERVER)
            .attr("type", "error")
            .attr("id", id.clone())
            .children([NodeBuilder::new("error")
                .attr("code", code)
                .attr("text", text)
                .build()])
            .build()
    };
    if let Some(answer) = shared.directory.lock().unwrap().answer(node) {
        return vec![match answer {
            Ok(children) => result(children),
            Err((code, text)) => error(code, text),
        }];
    }
    match attr(node, "xmlns").as_deref() {
        // Leaving passive mode is when the real server flushes the offline queue
        // and then says it is done; the client waits for that before `Connected`.
        Some("passive") => vec![
            result(Vec::new()),
            NodeBuilder::new("ib")
                .attr("from", SERVER)
                .children([NodeBuilder::new("offline").attr("count", "0").build()])
                .build(),
        ],
        // The device list query: a registered contact has its phone (device 0),
        // anyone else no device at all.
        // The contact protocol (is this number on WhatsApp?): a registered contact
        // is `in`, any other number `out`.
        Some("usync")
            if child(node, "usync")
                .and_then(|u| child(u, "query"))
                .and_then(|q| child(q, "contact"))
                .is_some() =>
        {
            let contacts = shared.contacts.lock().unwrap();
            let dir = shared.directory.lock().unwrap();
            let query = child(node, "usync").and_then(|u| child(u, "query"));
            let users = child(node, "usync")
                .and_then(|u| child(u, "list"))
                .and_then(|l| l.children())
                .unwrap_or_default()
                .iter()
                .filter(|u| u.tag == "user")
                .filter_map(|u| {
                    let phone = child(u, "contact").and_then(|c| match &c.content {
                        Some(NodeContent::String(s)) => Some(s.to_string()),
                        Some(NodeContent::Bytes(b)) => String::from_utf8(b.clone()).ok(),
                        _ => None,
                    });
                    let phone = phone.or_else(|| {
                        attr(u, "jid")
                            .map(|j| j.split(['@', ':']).next().unwrap_or_default().to_string())
                    })?;
                    let phone = phone.trim_start_matches('+').to_string();
                    let kind = if contacts.contains_key(&phone) {
                        "in"
                    } else {
                        "out"
                    };
                    let mut children = vec![NodeBuilder::new("contact").attr("type", kind).build()];
                    if kind == "in" {
                        children.extend(
                            query
                                .map(|q| dir.usync_children(&phone, q))
                                .unwrap_or_default(),
                        );
                    }
                    Some(
                        NodeBuilder::new("user")
                            .attr("jid", format!("{phone}@s.whatsapp.net"))
                            .children(children)
                            .build(),
                    )
                })
                .collect::<Vec<_>>();
            vec![result(vec![
                NodeBuilder::new("usync")
                    .children([NodeBuilder::new("list").children(users).build()])
                    .build(),
            ])]
        }
        Some("usync") => {
            let contacts = shared.contacts.lock().unwrap();
            let dir = shared.directory.lock().unwrap();
            let query = child(node, "usync").and_then(|u| child(u, "query"));
            let users = child(node, "usync")
                .and_then(|u| child(u, "list"))
                .and_then(|l| l.children())
                .unwrap_or_default()
                .iter()
                .filter(|u| u.tag == "user")
                .filter_map(|u| attr(u, "jid"))
                .map(|jid| {
                    let user = jid.split(['@', ':']).next().unwrap_or_default().to_string();
                    let devices: Vec<Node> = if contacts.contains_key(&user) {
                        vec![NodeBuilder::new("device").attr("id", "0").build()]
                    } else {
                        Vec::new()
                    };
                    let mut children = vec![
                        NodeBuilder::new("devices")
                            .children([NodeBuilder::new("device-list").children(devices).build()])
                            .build(),
                    ];
                    children.extend(
                        query
                            .map(|q| dir.usync_children(&user, q))
                            .unwrap_or_default(),
                    );
                    NodeBuilder::new("user")
                        .attr("jid", jid)
                        .children(children)
                        .build()
                })
                .collect::<Vec<_>>();
            vec![result(vec![
                NodeBuilder::new("usync")
                    .children([NodeBuilder::new("list").children(users).build()])
                    .build(),
            ])]
        }
        // The pre-key fetch: each registered contact's published keys.
        Some("encrypt") if ty == "get" && child(node, "key").is_some() => {
            let contacts = shared.contacts.lock().unwrap();
            let users = child(node, "key")
                .and_then(|k| k.children())
                .unwrap_or_default()
                .iter()
                .filter_map(|u| attr(u, "jid"))
                .filter_map(|jid| {
                    let user = jid.split(['@', ':']).next().unwrap_or_default();
                    contacts.get(user).map(|b| bundle_node(&jid, b))
                })
                .collect::<Vec<_>>();
            vec![result(vec![
                NodeBuilder::new("list").children(users).build(),
            ])]
        }
        // The media connection: our media host, and the auth token it checks.
        Some("w:m") => vec![result(vec![
            NodeBuilder::new("media_conn")
                .attr("auth", fake_media::AUTH)
                .attr("ttl", "3600")
                .attr("auth_ttl", "3600")
                .children([NodeBuilder::new("host")
                    .attr("hostname", shared.media_host.clone())
                    .attr("type", "primary")
                    .build()])
                .build(),
        ])],
        // App-state: accept a patch (or answer a fetch) for each collection with
        // no further patches, at the version that follows the client's.
        Some("w:sync:app:state") => {
            let collections = child(node, "sync")
                .and_then(|s| s.children())
                .unwrap_or_default()
                .iter()
                .filter(|c| c.tag == "collection")
                .map(|c| {
                    let version: u64 = attr(c, "version").and_then(|v| v.parse().ok()).unwrap_or(0);
                    let next = if child(c, "patch").is_some() {
                        version + 1
                    } else {
                        version
                    };
                    NodeBuilder::new("collection")
                        .attr("name", attr(c, "name").unwrap_or_default())
                        .attr("version", next.to_string())
                        .build()
                })
                .collect::<Vec<_>>();
            vec![result(vec![
                NodeBuilder::new("sync").children(collections).build(),
            ])]
        }
        Some("w:g2") => {
            vec![match groups_answer(shared, node) {
                Ok(children) => result(children),
                Err((code, text)) => error(code, text),
            }]
        }
        _ => vec![result(Vec::new())],
    }
}

/// A `w:g2` IQ: create, query, leave and participant changes, with WhatsApp's
/// refusals (404 unknown group, 403 not a participant / not an admin).
fn groups_answer(shared: &Shared, node: &Node) -> Result<Vec<Node>, (&'static str, &'static str)> {
    let me = shared.account.lock().unwrap().clone();
    let mut groups = shared.groups.lock().unwrap();
    let first = node
        .children()
        .and_then(|c| c.first())
        .ok_or(("400", "bad-request"))?;
    let to = attr(node, "to").unwrap_or_default();
    let role = |g: &FakeGroup| {
        g.participants
            .iter()
            .find(|(j, _)| *j == me)
            .map(|(_, r)| r.clone())
    };
    match first.tag.as_ref() {
        "create" => {
            let jid = format!("1203630000000{:05}@g.us", groups.len() + 1);
            let mut participants = vec![(me.clone(), "superadmin".to_string())];
            for p in first.children().unwrap_or_default() {
                if let Some(j) = attr(p, "jid") {
                    participants.push((j, "member".into()));
                }
            }
            let g = FakeGroup {
                subject: attr(first, "subject").unwrap_or_default(),
                participants,
            };
            let out = group_node(&jid, &g, &me);
            groups.insert(jid, g);
            Ok(vec![out])
        }
        "query" => {
            let g = groups.get(&to).ok_or(("404", "item-not-found"))?;
            role(g).ok_or(("403", "forbidden"))?;
            Ok(vec![group_node(&to, g, &me)])
        }
        "leave" => {
            let gid = first
                .children()
                .and_then(|c| c.first())
                .and_then(|g| attr(g, "id"))
                .unwrap_or_default();
            let g = groups.get_mut(&gid).ok_or(("404", "item-not-found"))?;
            role(g).ok_or(("403", "forbidden"))?;
            g.participants.retain(|(j, _)| *j != me);
            Ok(Vec::new())
        }
        // A group's invite link: read (`get`), or reset to a new code (`set`); admins only.
        "invite" if to.ends_with("@g.us") => {
            let g = groups.get(&to).ok_or(("404", "item-not-found"))?;
            match role(g).as_deref() {
                None => return Err(("403", "forbidden")),
                Some("member") => return Err(("401", "not-authorized")),
                _ => {}
            }
            let mut resets = shared.invite_resets.lock().unwrap();
            let n = resets.entry(to.clone()).or_default();
            if attr(node, "type").as_deref() == Some("set") {
                *n += 1;
            }
            let code = format!("FAKE{}R{n}", to.trim_end_matches("@g.us"));
            Ok(vec![NodeBuilder::new("invite").attr("code", code).build()])
        }
        action @ ("add" | "remove" | "promote" | "demote") => {
            let g = groups.get_mut(&to).ok_or(("404", "item-not-found"))?;
            match role(g).as_deref() {
                None => return Err(("403", "forbidden")),
                Some("member") => return Err(("403", "not-authorized")),
                _ => {}
            }
            let mut answers = Vec::new();
            for p in first.children().unwrap_or_default() {
                let Some(j) = attr(p, "jid") else { continue };
                let at = g.participants.iter().position(|(x, _)| *x == j);
                let error = match (action, at) {
                    ("add", Some(_)) => Some("409"),
                    ("add", None) => {
                        g.participants.push((j.clone(), "member".into()));
                        None
                    }
                    (_, None) => Some("404"),
                    ("remove", Some(i)) => {
                        g.participants.remove(i);
                        None
                    }
                    (_, Some(i)) => {
                        g.participants[i].1 = if action == "promote" {
                            "admin"
                        } else {
                            "member"
                        }
                        .into();
                        None
                    }
                };
                let mut b = NodeBuilder::new("participant").attr("jid", j);
                if let Some(e) = error {
                    b = b.attr("error", e);
                }
                answers.push(b.build());
            }
            let tag: &'static str = match action {
                "add" => "add",
                "remove" => "remove",
                "promote" => "promote",
                _ => "demote",
            };
            Ok(vec![NodeBuilder::new(tag).children(answers).build()])
        }
        _ => Ok(Vec::new()),
    }
}

/// A `<group>` node as the server describes a group.
fn group_node(jid: &str, g: &FakeGroup, creator: &str) -> Node {
    let participants = g
        .participants
        .iter()
        .map(|(j, r)| {
            let b = NodeBuilder::new("participant").attr("jid", j.clone());
            if r == "member" {
                b.build()
            } else {
                b.attr("type", r.clone()).build()
            }
        })
        .collect::<Vec<_>>();
    NodeBuilder::new("group")
        .attr("id", jid.trim_end_matches("@g.us"))
        .attr("subject", g.subject.clone())
        .attr("creation", "1700000000")
        .attr("creator", creator)
        .attr("s_t", "1700000000")
        .children(participants)
        .build()
}

/// A device's keys as the pre-key fetch answers them.
fn bundle_node(jid: &str, b: &fake_peer::Bundle) -> Node {
    let id3 = |id: u32| id.to_be_bytes()[1..].to_vec();
    let djb =
        |k: &whatsapp_rust::wacore::libsignal::protocol::PublicKey| k.public_key_bytes().to_vec();
    let mut children = vec![
        NodeBuilder::new("registration")
            .bytes(b.registration_id.to_be_bytes().to_vec())
            .build(),
        NodeBuilder::new("type").bytes(vec![5u8]).build(),
        NodeBuilder::new("identity")
            .bytes(djb(b.identity.public_key()))
            .build(),
        NodeBuilder::new("skey")
            .children([
                NodeBuilder::new("id")
                    .bytes(id3(b.signed_pre_key_id))
                    .build(),
                NodeBuilder::new("value")
                    .bytes(djb(&b.signed_pre_key))
                    .build(),
                NodeBuilder::new("signature")
                    .bytes(b.signature.clone())
                    .build(),
            ])
            .build(),
    ];
    if let Some((id, key)) = &b.pre_key {
        children.push(
            NodeBuilder::new("key")
                .children([
                    NodeBuilder::new("id").bytes(id3(*id)).build(),
                    NodeBuilder::new("value").bytes(djb(key)).build(),
                ])
                .build(),
        );
    }
    NodeBuilder::new("user")
        .attr("jid", jid.to_string())
        .children(children)
        .build()
}

type Ciphers = (NoiseCipher, NoiseCipher, Vec<u8>, &'static str);

/// The Noise responder. Returns (read cipher, write cipher, client login payload,
/// pattern name), or `None` if the client left mid-handshake.
async fn handshake(
    shared: &Shared,
    reader: &mut FrameReader,
    sink: &mut WsSink,
) -> anyhow::Result<Option<Ciphers>> {
    let Some(hello) = reader.next().await? else {
        return Ok(None);
    };
    let hello = wa::HandshakeMessage::decode_from_slice(&hello)?
        .client_hello
        .into_option()
        .ok_or_else(|| anyhow::anyhow!("first frame is not a ClientHello"))?;
    let client_eph: [u8; 32] = hello
        .ephemeral
        .clone()
        .and_then(|e| e.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("ClientHello without a 32-byte ephemeral"))?;
    let server_static = public_bytes(&shared.identity);
    let server_priv = shared.identity.private_key.serialize();

    // IK: the client cached our chain and already sent its static key and login
    // payload (-> e, es, s, ss). Accept it if it was meant for our key.
    if let (Some(enc_static), Some(enc_payload)) = (&hello.r#static, &hello.payload) {
        let mut noise = NoiseHandshake::new(NOISE_PATTERN_IK, &WA_CONN_HEADER)?;
        noise.authenticate(&server_static);
        noise.authenticate(&client_eph);
        noise.mix_shared_secret(server_priv, &client_eph)?;
        let accepted = noise.decrypt(enc_static).ok().and_then(|client_static| {
            let client_static: [u8; 32] = client_static.try_into().ok()?;
            noise.mix_shared_secret(server_priv, &client_static).ok()?;
            let payload = noise.decrypt(enc_payload).ok()?;
            Some((client_static, payload))
        });
        if let Some((client_static, payload)) = accepted {
            // <- e, ee, se, payload (our certificate chain); no static: IK accepted.
            let eph = random_key_pair();
            let eph_pub = public_bytes(&eph);
            noise.authenticate(&eph_pub);
            noise.mix_shared_secret(eph.private_key.serialize(), &client_eph)?;
            noise.mix_shared_secret(eph.private_key.serialize(), &client_static)?;
            let cert = noise.encrypt(&shared.cert_chain)?;
            send_server_hello(sink, eph_pub, None, cert).await?;
            // Both sides split the same transcript: the client writes with the
            // first key, so the server reads with it.
            let (client_write, client_read) = noise.finish()?;
            return Ok(Some((client_write, client_read, payload, "IK")));
        }
        // Not for our key (the client cached another server's chain): answer as
        // XXfallback, which reuses the ephemeral it already sent.
        return xx(
            shared,
            reader,
            sink,
            client_eph,
            NOISE_PATTERN_XXFALLBACK,
            "XXfallback",
        )
        .await;
    }
    xx(shared, reader, sink, client_eph, NOISE_PATTERN_XX, "XX").await
}

/// XX (or XXfallback) responder from the ServerHello on:
/// <- e, ee, s, es, payload(cert chain); -> s, se, payload(login).
async fn xx(
    shared: &Shared,
    reader: &mut FrameReader,
    sink: &mut WsSink,
    client_eph: [u8; 32],
    pattern: &str,
    name: &'static str,
) -> anyhow::Result<Option<Ciphers>> {
    let mut noise = NoiseHandshake::new(pattern, &WA_CONN_HEADER)?;
    noise.authenticate(&client_eph);
    let eph = random_key_pair();
    let eph_pub = public_bytes(&eph);
    noise.authenticate(&eph_pub);
    noise.mix_shared_secret(eph.private_key.serialize(), &client_eph)?;
    let enc_static = noise.encrypt(&public_bytes(&shared.identity))?;
    noise.mix_shared_secret(shared.identity.private_key.serialize(), &client_eph)?;
    let cert = noise.encrypt(&shared.cert_chain)?;
    send_server_hello(sink, eph_pub, Some(enc_static), cert).await?;

    let Some(finish) = reader.next().await? else {
        return Ok(None);
    };
    let finish = wa::HandshakeMessage::decode_from_slice(&finish)?
        .client_finish
        .into_option()
        .ok_or_else(|| anyhow::anyhow!("second frame is not a ClientFinish"))?;
    let client_static: [u8; 32] = noise
        .decrypt(finish.r#static.as_deref().unwrap_or_default())?
        .try_into()
        .map_err(|_| anyhow::anyhow!("client static is not 32 bytes"))?;
    noise.mix_shared_secret(eph.private_key.serialize(), &client_static)?;
    let payload = noise.decrypt(finish.payload.as_deref().unwrap_or_default())?;
    let (client_write, client_read) = noise.finish()?;
    Ok(Some((client_write, client_read, payload, name)))
}

async fn send_server_hello(
    sink: &mut WsSink,
    ephemeral: [u8; 32],
    enc_static: Option<Vec<u8>>,
    payload: Vec<u8>,
) -> anyhow::Result<()> {
    let hello = wa::HandshakeMessage {
        server_hello: whatsapp_rust::buffa::MessageField::some(
            wa::handshake_message::ServerHello {
                ephemeral: Some(ephemeral.to_vec()),
                r#static: enc_static,
                payload: Some(payload),
                ..Default::default()
            },
        ),
        ..Default::default()
    };
    let framed = encode_frame(&hello.encode_to_vec(), None)?;
    sink.send(Message::Binary(framed.into())).await?;
    Ok(())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Convenience for tests: the bytes of a node's content, if it has bytes.
pub fn content_bytes(node: &Node) -> Option<&[u8]> {
    match &node.content {
        Some(NodeContent::Bytes(b)) => Some(b),
        _ => None,
    }
}

/// Whether `node` is a `w:sync:app:state` set IQ carrying a patch for `collection`
/// (what the client sends for a chat action such as archive or delete chat).
pub fn is_app_state_patch(node: &Node, collection: &str) -> bool {
    is_iq(node, "w:sync:app:state", "set")
        && child(node, "sync")
            .and_then(|s| child(s, "collection"))
            .is_some_and(|c| {
                attr(c, "name").as_deref() == Some(collection) && child(c, "patch").is_some()
            })
}

/// Checks the shape of an app-state patch IQ (addressed to the server, a base
/// version, one SET mutation) and decrypts that mutation with the app-state key
/// (`key_id`, `key_data`), validating its MACs: what the phone will do with it.
pub fn decode_app_state_patch(
    iq: &Node,
    key_id: &[u8],
    key_data: &[u8],
) -> whatsapp_rust::wacore::appstate::decode::Mutation {
    use whatsapp_rust::wacore::appstate::{decode_record, expand_app_state_keys};
    assert_eq!(attr(iq, "to").as_deref(), Some(SERVER), "{}", display(iq));
    let coll = child(iq, "sync")
        .and_then(|s| child(s, "collection"))
        .expect("sync/collection");
    assert!(attr(coll, "version").is_some(), "base version attribute");
    let patch_bytes = child(coll, "patch")
        .and_then(content_bytes)
        .expect("patch bytes");
    let patch =
        whatsapp_rust::waproto::codec::syncd_patch_decode(patch_bytes).expect("a SyncdPatch");
    assert_eq!(patch.mutations.len(), 1, "one mutation per chat action");
    let mutation = &patch.mutations[0];
    assert_eq!(
        mutation.operation,
        Some(wa::syncd_mutation::SyncdOperation::SET.into())
    );
    let record = mutation.record.as_option().expect("mutation record");
    let (decoded, _) = decode_record(
        wa::syncd_mutation::SyncdOperation::SET,
        record,
        &expand_app_state_keys(key_data),
        key_id,
        true,
    )
    .expect("the patch decrypts and its MACs hold");
    decoded
}
