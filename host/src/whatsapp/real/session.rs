//! One instance's WhatsApp session: the whatsapp-rust client, the gateway's supervisor
//! task that connects it and reconnects with backoff, and the bridge from the
//! library's events to [`LinkEvent`]s.
//!
//! Reconnecting is the supervisor's job, not the library's: the client's own loop is
//! turned off (`enable_auto_reconnect = false`), so each `Client::run` is exactly one
//! connection (or one failed attempt), after which the supervisor decides: reconnect
//! at once (the 515 restart WhatsApp asks for right after pairing), wait out a
//! temporary ban, stop for good (logged out, replaced by another client, pairing
//! codes exhausted, client outdated), or sleep [`Backoff::delay`] and try again.
//! Stopping a session ([`Session::stop`]) disconnects the client, which fires its
//! shutdown signal (every library task watches it), and waits for the supervisor to
//! end, so nothing of the instance keeps running.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc::UnboundedSender, watch};
use tokio::task::JoinHandle;
use whatsapp_rust::bot::{Bot, BotHandle};
use whatsapp_rust::pair_code::PairCodeOptions;
use whatsapp_rust::types::events::{Event, EventHandler};
use whatsapp_rust::{Client, Jid};

use super::backoff::Backoff;
use super::convert;
use super::http::MediaHttp;
use super::media::{DownloadConfig, Downloads, Job};
use super::proxy::InstanceTransportFactory;
use super::store::RedbBackend;
use super::tasks::{CountingRuntime, TaskCounter, spawn_counted};
use crate::core::model::ConnectionState;
use crate::store::Store;
use crate::util::now_ms;
use crate::whatsapp::{LinkError, LinkEvent};

/// A connection that stayed up this long resets the backoff (WhatsApp Web's
/// `resetDelay`); a shorter one counts as a failed attempt.
const STABLE: Duration = Duration::from_secs(30);
/// How long stopping a session waits for the library to wind down before the
/// supervisor is aborted.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long a stopped session lets its run loop unwind by itself before dropping it:
/// an attempt stuck in the transport connect (a black-holed network, up to the
/// library's 20 s timeout) is cancelled instead of holding up a delete.
const UNWIND_GRACE: Duration = Duration::from_secs(2);

/// How every session of a link reaches WhatsApp.
#[derive(Clone, Debug)]
pub struct Settings {
    /// WebSocket URL (WhatsApp's own, or a test server).
    pub url: String,
    /// The WhatsApp Web version announced; set explicitly so the client never
    /// fetches it from web.whatsapp.com (which, offline, would fail every attempt).
    pub version: (u32, u32, u32),
    /// Delays between reconnect attempts.
    pub backoff: Backoff,
    /// Which inbound media to download, and how.
    pub media: Arc<DownloadConfig>,
    /// The HTTPS client of media uploads and downloads.
    pub http: MediaHttp,
}

/// What all sessions of a link share.
pub struct Shared {
    /// The gateway's store, where session keys live.
    pub store: Store,
    /// Where sessions report to core.
    pub events: UnboundedSender<LinkEvent>,
    /// How sessions reach WhatsApp.
    pub settings: Settings,
    /// Live tasks of every session (library tasks and the supervisors).
    pub tasks: TaskCounter,
    /// The instances' own choices of inbound media, over `settings.media`.
    pub media_choices: Arc<crate::whatsapp::MediaDownloads>,
    /// The instances that ask WhatsApp for their full history when they pair.
    pub full_history: Mutex<std::collections::HashSet<String>>,
    /// The instances whose connection and media go through a proxy.
    pub proxies: super::proxy::ProxyTable,
}

/// Why a session ended on WhatsApp's word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The phone removed this device (or WhatsApp refused its keys): keys wiped.
    LoggedOut,
    /// Another client connected with the same keys.
    Replaced,
    /// No pairing code was scanned before WhatsApp stopped issuing them.
    PairingExpired,
    /// WhatsApp refused the announced client version.
    Outdated,
}

/// The live view of a session, published on a watch channel.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// The device completed pairing (now or before a restart).
    pub paired: bool,
    /// Connected and logged in.
    pub open: bool,
    /// The latest QR payload while pairing.
    pub qr: Option<String>,
    /// The latest phone pair code.
    pub pair_code: Option<String>,
    /// Connection attempts that ended before a session was up.
    pub failures: u64,
    /// The supervisor has ended (with the verdict when WhatsApp ended it).
    pub stopped: bool,
    /// Why WhatsApp ended the session, when it did.
    pub verdict: Option<Verdict>,
    /// Why the instance's proxy failed the latest attempt (cleared when it carries
    /// one again): the session shows as down, not as forever connecting.
    pub proxy_error: Option<String>,
}

impl Status {
    /// The connection state this status shows to API callers.
    pub fn state(&self) -> ConnectionState {
        match self {
            s if s.open => ConnectionState::Open,
            s if s.stopped => match s.verdict {
                Some(Verdict::Replaced) | Some(Verdict::Outdated) if s.paired => {
                    ConnectionState::Closed
                }
                _ => ConnectionState::Disconnected,
            },
            s if s.paired => ConnectionState::Closed,
            s if s.proxy_error.is_some() => ConnectionState::Disconnected,
            _ => ConnectionState::Connecting,
        }
    }
}

/// Set by the event handler (inline on the library's dispatch path), read by the
/// supervisor after each connection.
#[derive(Default)]
struct Flags {
    /// Pairing just succeeded: WhatsApp closes the stream (515) and expects an
    /// immediate reconnect.
    pair_success: AtomicBool,
    /// The current connection reached `Connected`.
    connected: AtomicBool,
    /// WhatsApp ended the session for good.
    verdict: Mutex<Option<Verdict>>,
    /// A temporary ban: reconnect only after it expires.
    banned_for: Mutex<Option<Duration>>,
    /// The operator asked for the logout (the library reports it like one from the
    /// phone; only the log line differs).
    leaving: AtomicBool,
}

/// One running session.
pub struct Session {
    /// whatsapp-rust's client, through which sends and revokes go.
    pub client: Arc<Client>,
    flags: Arc<Flags>,
    status: Arc<watch::Sender<Status>>,
    stop: watch::Sender<bool>,
    supervisor: Mutex<Option<JoinHandle<()>>>,
}

impl Session {
    /// Builds the client on the instance's stored keys and starts its supervisor.
    pub async fn start(shared: &Arc<Shared>, instance_id: &str) -> anyhow::Result<Arc<Session>> {
        let status = Arc::new(watch::Sender::new(Status::default()));
        let flags = Arc::new(Flags::default());
        let client_slot: Arc<OnceLock<Weak<Client>>> = Arc::default();
        let settings = &shared.settings;
        let (stop_tx, stop_rx) = watch::channel(false);
        let handler = Bridge {
            instance_id: instance_id.to_string(),
            events: shared.events.clone(),
            status: status.clone(),
            flags: flags.clone(),
            client: client_slot.clone(),
            tasks: shared.tasks.clone(),
            media_choices: shared.media_choices.clone(),
            downloads: Downloads::new(
                settings.media.clone(),
                shared.events.clone(),
                shared.tasks.clone(),
                stop_rx.clone(),
            ),
        };
        let full_history = shared
            .full_history
            .lock()
            .expect("full history lock")
            .contains(instance_id);
        let mut builder = Bot::builder();
        if full_history {
            builder = builder.with_device_props(full_history_props());
        }
        let builder = builder.with_backend(RedbBackend::new(shared.store.clone(), instance_id));
        // Every attempt looks the instance's proxy up: set, fixed or removed, it
        // applies at the next connection without a restart.
        let builder = builder.with_transport_factory(InstanceTransportFactory {
            url: settings.url.clone(),
            proxies: shared.proxies.clone(),
            instance_id: instance_id.to_string(),
            status: status.clone(),
        });
        let bot = builder
            .with_http_client(
                settings
                    .http
                    .for_instance(shared.proxies.clone(), instance_id),
            )
            .with_runtime(CountingRuntime::new(shared.tasks.clone()))
            .with_version(settings.version)
            .with_event_handler(handler)
            .build()
            .await
            .map_err(|e| anyhow::anyhow!("building the WhatsApp client: {e}"))?;
        let client = bot.client();
        let _ = client_slot.set(Arc::downgrade(&client));
        // The supervisor owns reconnecting (see the module doc).
        client.enable_auto_reconnect.store(false, Ordering::SeqCst);
        let paired = client.pn().is_some();
        status.send_modify(|s| s.paired = paired);

        let ctx = Supervisor {
            instance_id: instance_id.to_string(),
            client: client.clone(),
            status: status.clone(),
            flags,
            backoff: settings.backoff,
            store: shared.store.clone(),
            stop: stop_rx,
        };
        let flags = ctx.flags.clone();
        // Spawned before the first run starts, so a stop can never miss it.
        let handle = bot.spawn();
        let supervisor = spawn_counted(&shared.tasks, ctx.run(handle));
        Ok(Arc::new(Session {
            client,
            flags,
            status,
            stop: stop_tx,
            supervisor: Mutex::new(Some(supervisor)),
        }))
    }

    /// A snapshot of the session's status now.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// Follows status changes (pairing codes, open, stopped) as they happen.
    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    /// Tells the supervisor to stop (no wait): for shutdown, where nobody awaits.
    pub fn signal_stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Stops the session and waits until its supervisor, and with it the client's
    /// connection, has ended.
    pub async fn stop(&self) {
        self.signal_stop();
        let handle = self.supervisor.lock().expect("supervisor lock").take();
        if let Some(mut handle) = handle
            && tokio::time::timeout(STOP_GRACE, &mut handle).await.is_err()
        {
            tracing::warn!("WhatsApp session did not stop in time; aborting it");
            handle.abort();
            let _ = handle.await;
        }
    }

    /// Waits until a QR code or pair code is there, the session is open, an attempt
    /// failed (offline), or `wait` elapsed; returns the status then.
    pub async fn settle(&self, wait: Duration) -> Status {
        let mut rx = self.subscribe();
        let failures = rx.borrow().failures;
        let _ = tokio::time::timeout(
            wait,
            rx.wait_for(|s| {
                s.qr.is_some()
                    || s.pair_code.is_some()
                    || s.open
                    || s.stopped
                    || s.failures > failures
            }),
        )
        .await;
        self.status()
    }

    /// Asks WhatsApp for a phone pair code once the socket is up. `Ok(None)` when the
    /// socket does not come up (offline): the session keeps retrying meanwhile.
    pub async fn pair_code(
        &self,
        phone: &str,
        wait: Duration,
    ) -> Result<Option<String>, LinkError> {
        if let Some(code) = self.status().pair_code {
            return Ok(Some(code));
        }
        let mut rx = self.subscribe();
        let failures = rx.borrow().failures;
        tokio::select! {
            up = self.client.wait_for_socket(wait) => {
                if up.is_err() {
                    return Ok(None);
                }
            }
            _ = rx.wait_for(|s| s.stopped || s.failures > failures) => return Ok(None),
        }
        let options = PairCodeOptions {
            phone_number: phone.to_string(),
            ..Default::default()
        };
        let code = self
            .client
            .pair_with_code(options)
            .await
            .map_err(|e| LinkError::Failed(format!("requesting a pair code: {e}")))?;
        self.status
            .send_modify(|s| s.pair_code = Some(code.clone()));
        Ok(Some(code))
    }

    /// Unlinks the device (when connected; offline the IQ cannot be sent) and ends
    /// the run loop; the supervisor then ends with the LoggedOut verdict.
    pub async fn logout(&self) {
        self.flags.leaving.store(true, Ordering::SeqCst);
        self.client.logout().await;
    }

    /// The client, if the session is open (connected and logged in).
    pub fn open_client(&self) -> Result<&Arc<Client>, LinkError> {
        if self.status.borrow().open && self.client.is_logged_in() {
            Ok(&self.client)
        } else {
            Err(LinkError::NotConnected)
        }
    }
}

/// The supervisor task of one session.
struct Supervisor {
    instance_id: String,
    client: Arc<Client>,
    status: Arc<watch::Sender<Status>>,
    flags: Arc<Flags>,
    backoff: Backoff,
    store: Store,
    stop: watch::Receiver<bool>,
}

impl Supervisor {
    async fn run(mut self, first: BotHandle) {
        let mut first = Some(first);
        let mut attempt: u32 = 0;
        let verdict = loop {
            self.flags.connected.store(false, Ordering::SeqCst);
            let started = Instant::now();
            // The first connection runs in the bot's task (which also wired the
            // event handler); later ones run here.
            let client = self.client.clone();
            let first_run = first.take();
            let run = async move {
                match first_run {
                    Some(handle) => handle.await,
                    None => client.run().await,
                }
            };
            tokio::pin!(run);
            let stopped = tokio::select! {
                _ = &mut run => false,
                _ = self.stop.wait_for(|s| *s) => true,
            };
            if stopped {
                // Let the run loop see the shutdown and unwind on its own.
                self.client.disconnect().await;
                if tokio::time::timeout(UNWIND_GRACE, &mut run).await.is_err() {
                    tracing::debug!(instance = %self.instance_id, "cancelling a connection attempt in progress");
                }
                break None;
            }
            self.status.send_modify(|s| s.open = false);
            if let Some(v) = *self.flags.verdict.lock().expect("verdict lock") {
                break Some(v);
            }
            let ban = self.flags.banned_for.lock().expect("ban lock").take();
            if let Some(ban) = ban {
                // Never shorter than the backoff, and the backoff keeps growing: a ban
                // with no (or a past) expiry must not become a tight reconnect loop.
                let wait = ban.max(self.backoff.delay(attempt));
                attempt = attempt.saturating_add(1);
                tracing::warn!(instance = %self.instance_id, ?ban, ?wait, "WhatsApp banned the account for a while; reconnecting after it");
                if self.sleep(wait).await {
                    break None;
                }
                continue;
            }
            if self.flags.pair_success.swap(false, Ordering::SeqCst) {
                attempt = 0;
                continue; // the 515 restart after pairing: reconnect now
            }
            let was_up = self.flags.connected.load(Ordering::SeqCst);
            if !was_up {
                self.status.send_modify(|s| s.failures += 1);
            }
            if was_up && started.elapsed() >= STABLE {
                attempt = 0;
            }
            let delay = self.backoff.delay(attempt);
            attempt = attempt.saturating_add(1);
            tracing::debug!(instance = %self.instance_id, attempt, ?delay, "WhatsApp reconnect scheduled");
            if self.sleep(delay).await {
                break None;
            }
        };
        // Idempotent; after a verdict the library has not necessarily fired its
        // shutdown signal yet, and that signal is what its background tasks watch.
        self.client.disconnect().await;
        if verdict == Some(Verdict::LoggedOut)
            && let Err(e) = super::store::wipe(&self.store, &self.instance_id).await
        {
            tracing::warn!(instance = %self.instance_id, error = %format!("{e:#}"), "wiping the WhatsApp keys after logout");
        }
        self.status.send_modify(|s| {
            s.open = false;
            s.stopped = true;
            s.verdict = verdict;
            if verdict == Some(Verdict::LoggedOut) {
                s.paired = false;
            }
        });
    }

    /// Sleeps `d`; true when the session was told to stop meanwhile.
    async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => false,
            _ = self.stop.wait_for(|s| *s) => true,
        }
    }
}

/// The library's events -> the session status, the supervisor's flags and
/// [`LinkEvent`]s. Runs inline on the library's dispatch path, so it only updates
/// state and sends on an unbounded channel (history chunks are decoded on a task).
struct Bridge {
    instance_id: String,
    events: UnboundedSender<LinkEvent>,
    status: Arc<watch::Sender<Status>>,
    flags: Arc<Flags>,
    client: Arc<OnceLock<Weak<Client>>>,
    tasks: TaskCounter,
    /// The instances' own choices of inbound media.
    media_choices: Arc<crate::whatsapp::MediaDownloads>,
    /// Fetches inbound media off this (the library's dispatch) path.
    downloads: Downloads,
}

impl Bridge {
    fn send(&self, event: LinkEvent) {
        let _ = self.events.send(event);
    }

    fn id(&self) -> String {
        self.instance_id.clone()
    }

    fn own_jid(&self) -> Option<String> {
        let client = self.client.get()?.upgrade()?;
        client.pn().map(|jid| jid.to_non_ad_string())
    }

    fn end(&self, verdict: Verdict) {
        *self.flags.verdict.lock().expect("verdict lock") = Some(verdict);
        self.status.send_modify(|s| s.open = false);
    }
}

impl EventHandler for Bridge {
    fn handle_event(&self, event: Arc<Event>) {
        match &*event {
            Event::PairingQrCode(qr) => {
                self.status.send_modify(|s| s.qr = Some(qr.code.clone()));
                self.send(LinkEvent::Qr {
                    instance_id: self.id(),
                    code: qr.code.clone(),
                });
            }
            Event::PairingCode(pc) => {
                self.status
                    .send_modify(|s| s.pair_code = Some(pc.code.clone()));
            }
            Event::PairSuccess(_) => {
                self.flags.pair_success.store(true, Ordering::SeqCst);
                self.status.send_modify(|s| {
                    s.paired = true;
                    s.qr = None;
                    s.pair_code = None;
                });
            }
            Event::Connected(_) => {
                self.flags.connected.store(true, Ordering::SeqCst);
                self.status.send_modify(|s| {
                    s.open = true;
                    s.paired = true;
                    s.qr = None;
                    s.pair_code = None;
                });
                match self.own_jid() {
                    Some(owner_jid) => self.send(LinkEvent::Connected {
                        instance_id: self.id(),
                        owner_jid,
                    }),
                    None => {
                        tracing::warn!(instance = %self.instance_id, "connected without an own JID")
                    }
                }
            }
            Event::Disconnected(d) => {
                tracing::info!(instance = %self.instance_id, reason = %d.reason, "WhatsApp connection lost");
                // In place, under the channel's lock: a read-copy-replace could undo
                // a concurrent update (the supervisor marking the session stopped).
                let mut was_open = false;
                self.status.send_modify(|s| {
                    was_open = s.open;
                    s.open = false;
                });
                if was_open {
                    self.send(LinkEvent::Disconnected {
                        instance_id: self.id(),
                    });
                }
            }
            Event::LoggedOut(l) => {
                if self.flags.leaving.load(Ordering::SeqCst) {
                    tracing::info!(instance = %self.instance_id, "logged out");
                } else {
                    tracing::warn!(instance = %self.instance_id, reason = ?l.reason, "WhatsApp logged this device out");
                }
                self.end(Verdict::LoggedOut);
                self.send(LinkEvent::LoggedOut {
                    instance_id: self.id(),
                });
            }
            Event::StreamReplaced(_) => {
                tracing::warn!(instance = %self.instance_id, "another client connected with this device's keys; stopping");
                self.end(Verdict::Replaced);
                self.send(LinkEvent::Replaced {
                    instance_id: self.id(),
                });
            }
            Event::TemporaryBan(ban) => {
                let expire = ban.expire.to_std().unwrap_or_default();
                *self.flags.banned_for.lock().expect("ban lock") = Some(expire);
                self.status.send_modify(|s| s.open = false);
                self.send(LinkEvent::Banned {
                    instance_id: self.id(),
                    until_ms: now_ms().saturating_add(expire.as_millis() as u64),
                    reason: ban.code.to_string(),
                });
            }
            Event::ClientOutdated(_) => {
                tracing::error!(instance = %self.instance_id, "WhatsApp refused the client version; set [whatsapp] version in wagate.toml to a current WhatsApp Web version");
                self.end(Verdict::Outdated);
                self.send(LinkEvent::Disconnected {
                    instance_id: self.id(),
                });
            }
            Event::PairingQrCodesExhausted(_) => {
                self.end(Verdict::PairingExpired);
                self.status.send_modify(|s| s.qr = None);
                self.send(LinkEvent::PairingExpired {
                    instance_id: self.id(),
                });
            }
            Event::Messages(batch) => {
                // Reactions are not messages of their own: core puts them on the
                // message they name.
                for reaction in batch.iter().filter_map(convert::reaction) {
                    self.send(LinkEvent::Reaction {
                        instance_id: self.id(),
                        reaction,
                    });
                }
                // And poll votes: core decrypts each with the poll's secret it keeps
                // and puts it on the poll.
                for vote in batch.iter().filter_map(convert::poll_vote) {
                    self.send(LinkEvent::PollVote {
                        instance_id: self.id(),
                        vote,
                    });
                }
                // So are edits: core replaces the text of the message they name.
                for (message_id, text) in batch.iter().filter_map(convert::edit) {
                    self.send(LinkEvent::Edit {
                        instance_id: self.id(),
                        message_id,
                        text,
                    });
                }
                for (mut message, reference) in batch.iter().filter_map(convert::live) {
                    let job = media_job(
                        &self.downloads,
                        &self.media_choices,
                        &self.instance_id,
                        &message,
                        reference,
                    );
                    let client = self.client.get();
                    if let Some(media) = message.media.as_mut() {
                        // Core holds the message's event deliveries for the bytes.
                        media.downloading = job.is_some() && client.is_some();
                    }
                    // The message first: core stores it before its bytes arrive
                    // (same channel, so in this order).
                    self.send(LinkEvent::Message {
                        instance_id: self.id(),
                        message: Box::new(message),
                    });
                    if let (Some(job), Some(client)) = (job, client) {
                        self.downloads.start(client.clone(), job);
                    }
                }
            }
            Event::Receipt(r) => match convert::receipt_status(r.r#type.as_wire_str()) {
                Some(status) => self.send(LinkEvent::Receipt {
                    instance_id: self.id(),
                    chat_jid: r.source.chat.to_non_ad_string(),
                    message_ids: r.message_ids.iter().map(|id| id.to_string()).collect(),
                    status,
                    timestamp: r.timestamp.timestamp_millis().max(0) as u64,
                }),
                None => tracing::debug!(
                    instance = %self.id(),
                    kind = r.r#type.as_wire_str(),
                    "receipt without a delivery status"
                ),
            },
            Event::Presence(p) => self.send(LinkEvent::Presence {
                instance_id: self.id(),
                update: convert::presence(p),
            }),
            Event::ChatPresence(p) => self.send(LinkEvent::Presence {
                instance_id: self.id(),
                update: convert::chat_presence(p),
            }),
            Event::GroupUpdate(u) => match convert::group_change(u) {
                Some(change) => self.send(LinkEvent::Group {
                    instance_id: self.id(),
                    change,
                }),
                None => tracing::debug!(
                    instance = %self.id(),
                    group = %u.group_jid,
                    "group notification wagate does not track"
                ),
            },
            Event::ContactUpdate(u) => {
                let saved = convert::saved_contact(u);
                self.send(LinkEvent::ContactSaved {
                    instance_id: self.id(),
                    jid: saved.jid,
                    name: saved.name,
                    lid: saved.lid,
                    phone: saved.phone,
                });
            }
            Event::LabelEditUpdate(u) => self.send(LinkEvent::LabelEdit {
                instance_id: self.id(),
                edit: convert::label_edit(u),
            }),
            Event::LabelAssociationUpdate(u) => self.send(LinkEvent::LabelAssociation {
                instance_id: self.id(),
                association: convert::label_association(u),
            }),
            Event::IncomingCall(call) => {
                if let Some(offer) = convert::incoming_call(call) {
                    self.send(LinkEvent::Call {
                        instance_id: self.id(),
                        call: offer,
                    });
                } else if let Some(ended) = convert::call_ended(call) {
                    self.send(LinkEvent::CallEnded {
                        instance_id: self.id(),
                        call: ended,
                    });
                }
            }
            Event::HistorySync(_) => {
                // Decoding a chunk (zlib + protobuf, up to megabytes) is kept off the
                // library's dispatch path.
                let events = self.events.clone();
                let id = self.id();
                let own = self.own_jid().unwrap_or_default();
                let event = event.clone();
                let (downloads, choices) = (self.downloads.clone(), self.media_choices.clone());
                let client = self.client.clone();
                drop(spawn_counted(&self.tasks, async move {
                    let Event::HistorySync(lazy) = &*event else {
                        return;
                    };
                    let Some(sync) = lazy.get() else {
                        tracing::warn!(instance = %id, "undecodable history sync chunk");
                        return;
                    };
                    let mut messages = Vec::new();
                    let mut jobs = Vec::new();
                    for (message, reference) in convert::history(sync, &own) {
                        jobs.extend(media_job(&downloads, &choices, &id, &message, reference));
                        messages.push(message);
                    }
                    // The chunk first (core stores its messages, `stored: false`),
                    // then its media, downloaded as live media is: same policy, same
                    // concurrency cap (a large backlog queues behind it), same retries.
                    let _ = events.send(LinkEvent::History {
                        instance_id: id,
                        messages,
                    });
                    if let Some(client) = client.get() {
                        for job in jobs {
                            downloads.start(client.clone(), job);
                        }
                    }
                }));
            }
            _ => {}
        }
    }
}

/// The download of `message`'s media, when it has a reference to fetch it by and the
/// deployment's policy and the instance's own choice both want it.
fn media_job(
    downloads: &Downloads,
    choices: &crate::whatsapp::MediaDownloads,
    instance_id: &str,
    message: &crate::whatsapp::Inbound,
    reference: Option<super::media::MediaRef>,
) -> Option<Job> {
    let media = message.media.as_ref()?;
    let reference = reference?;
    let (kind, size) = (media.info.kind, media.info.size);
    if !downloads.config.wants(kind, size) || !choices.allows(instance_id, kind, size) {
        return None;
    }
    Some(Job {
        instance_id: instance_id.to_string(),
        chat_jid: message.chat_jid.clone(),
        message_id: message.id.clone(),
        sender: message.sender.clone(),
        from_me: message.from_me,
        reference,
    })
}

/// The device props that ask WhatsApp for the full history at pairing: the whole
/// `win_hybrid` row the library documents, since the flag alone is ignored on the
/// browser row. A session already paired keeps what it asked for then.
fn full_history_props() -> whatsapp_rust::wacore::store::DevicePropsOverride {
    use whatsapp_rust::wacore::store::device::default_history_sync_config;
    use whatsapp_rust::waproto::whatsapp::device_props::{HistorySyncConfig, PlatformType};
    whatsapp_rust::wacore::store::DevicePropsOverride::new()
        .with_platform_type(PlatformType::UWP)
        .with_require_full_sync(true)
        .with_history_sync_config(HistorySyncConfig {
            full_sync_days_limit: Some(365),
            on_demand_ready: Some(true),
            complete_on_demand_ready: Some(true),
            ..default_history_sync_config()
        })
}

/// Parses a chat id from core (already normalised) into a JID.
pub fn jid(chat: &str) -> Result<Jid, LinkError> {
    chat.parse::<Jid>()
        .map_err(|e| LinkError::Rejected(format!("invalid chat id `{chat}`: {e}")))
}
