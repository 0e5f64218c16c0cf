//! `sim`: an in-process simulated WhatsApp network.
//!
//! Pairing completes by itself after `pair_delay`; sends get WhatsApp-like ids; revoke
//! and delete-for-me succeed or fail as WhatsApp would (revoking a message twice, or a
//! message of somebody else in a direct chat, is refused); the link of an instance can
//! be taken down and up to exercise not-connected paths. Inbound messages are injected
//! through [`SimLink::inject`] (the admin API), and a contact's delivery receipts by
//! the admin API's `/admin/sim/{i}/receipt`, which the sim only gates on an open
//! session.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use tokio::sync::mpsc::UnboundedSender;

mod account;
mod group_notices;
mod groups;
mod labels;

pub use account::is_business;
pub use groups::on_whatsapp;

use super::{
    ChatPresence, Inbound, InboundMedia, InboundReaction, Link, LinkError, LinkEvent, MessageRef,
    OutboundMedia, Pairing, Sent,
};
use crate::core::group_events::{GroupChangeKind, GroupInfoChange};
use crate::core::groups::{Group, GroupSetting, ParticipantAction, ParticipantResult};
use crate::core::model::{ChatPatch, ConnectionState, Content};
use crate::util::now_ms;

/// Per-instance simulated session. Kept small: idle instances cost a few hundred bytes.
#[derive(Default)]
struct Session {
    state: Option<ConnectionState>,
    owner_jid: Option<String>,
    /// The link was taken down by the operator: stays closed until taken up again.
    held_down: bool,
    revoked: HashSet<String>,
    /// JIDs this account blocked.
    blocked: HashSet<String>,
    /// What the session put on the wire besides messages (see [`SimLink::actions`]).
    actions: Vec<String>,
    /// The account's name and "about" text, once changed through the gateway.
    profile_name: Option<String>,
    profile_status: Option<String>,
    /// The polls this session saw sent or arrive, by id: their message secret and
    /// author, which a contact's vote is encrypted with (see [`SimLink::inject_poll_vote`]).
    polls: HashMap<String, SimPoll>,
    /// The account's labels and the chats carrying them, as its phone keeps them.
    labels: labels::SimLabels,
}

/// What the network's voters know of a poll: its secret and who wrote it.
struct SimPoll {
    secret: Vec<u8>,
    creator: String,
}

/// The name a simulated account has until it is changed.
const SIM_PROFILE_NAME: &str = "wagate sim";

/// How many wire actions a simulated session remembers.
const MAX_ACTIONS: usize = 64;

/// The simulated network as a [`Link`](super::Link): one session per instance.
pub struct SimLink {
    sessions: Arc<Mutex<HashMap<String, Session>>>,
    /// The network's groups, shared by every instance (two instances can meet in one
    /// group, one joining by the other's invite link).
    groups: Mutex<groups::SimGroups>,
    events: UnboundedSender<LinkEvent>,
    pair_delay: Duration,
    /// The instances' choices of inbound media (the sim's default: everything).
    media_choices: super::MediaDownloads,
    /// The instances that ask for their full history when they pair.
    full_history: Mutex<HashSet<String>>,
    /// Pictures changed through the network (the rest keep their starting one).
    pictures: Mutex<account::SimPictures>,
    /// Each instance's privacy settings, once changed.
    privacy: Mutex<HashMap<String, Vec<crate::core::privacy::PrivacySetting>>>,
    /// The network's LID <-> phone pairs, both ways, as tests reveal them (a message's
    /// `fromAlt`, an address-book entry): what a number check answers beside a JID.
    lids: Mutex<HashMap<String, String>>,
}

impl SimLink {
    /// A network that reports to `events` and completes a pairing after `pair_delay`.
    pub fn new(events: UnboundedSender<LinkEvent>, pair_delay: Duration) -> Self {
        SimLink {
            sessions: Arc::default(),
            groups: Mutex::default(),
            events,
            pair_delay,
            media_choices: super::MediaDownloads::default(),
            full_history: Mutex::default(),
            pictures: Mutex::default(),
            privacy: Mutex::default(),
            lids: Mutex::default(),
        }
    }

    /// Makes the network know that `a` and `b` are one person's two addresses (a LID
    /// and a phone JID, in either order).
    pub fn know_alt(&self, a: &str, b: &str) {
        let mut lids = self.lids.lock().expect("sim lids lock");
        lids.insert(a.to_string(), b.to_string());
        lids.insert(b.to_string(), a.to_string());
    }

    fn with_session<T>(&self, instance_id: &str, f: impl FnOnce(&mut Session) -> T) -> T {
        let mut sessions = self.sessions.lock().expect("sim sessions lock");
        f(sessions.entry(instance_id.to_string()).or_default())
    }

    /// The account's own JID, for an open session.
    fn me(&self, instance_id: &str) -> Result<String, LinkError> {
        self.require_open(instance_id)?;
        self.with_session(instance_id, |s| s.owner_jid.clone())
            .ok_or(LinkError::NotConnected)
    }

    /// `NotConnected` unless the instance's session is open (what the network would
    /// let reach it, receipts included).
    pub fn require_open(&self, instance_id: &str) -> Result<(), LinkError> {
        match self.state(instance_id) {
            ConnectionState::Open => Ok(()),
            _ => Err(LinkError::NotConnected),
        }
    }

    /// Simulates a message arriving for an open instance. With `from_me`, a message sent
    /// from the paired phone itself (WhatsApp syncs it to the gateway as its own).
    pub fn inject(
        &self,
        instance_id: &str,
        chat_jid: &str,
        text: Option<String>,
        from_me: bool,
        media: Option<InboundMedia>,
        content: Option<Content>,
    ) -> Result<Inbound, LinkError> {
        self.require_open(instance_id)?;
        let owner = self
            .with_session(instance_id, |s| s.owner_jid.clone())
            .unwrap_or_default();
        let sender = if from_me { owner } else { chat_jid.to_string() };
        // As the real link: media the instance chose not to download keeps its
        // metadata and comes without its bytes.
        let media = media.map(|mut m| {
            if !self
                .media_choices
                .allows(instance_id, m.info.kind, m.info.size)
            {
                m.bytes = None;
            }
            m
        });
        let id = new_message_id();
        // A poll carries its secret, as WhatsApp's `messageContextInfo` does.
        let poll_secret = matches!(content, Some(Content::Poll(_)))
            .then(|| self.remember_poll(instance_id, &id, &sender));
        let sender_is_business = !from_me && is_business(&sender);
        let message = Inbound {
            id,
            chat_jid: chat_jid.to_string(),
            sender,
            sender_alt: None,
            chat_jid_alt: None,
            from_me,
            timestamp: now_ms(),
            text,
            media,
            push_name: None,
            sender_is_business,
            content,
            poll_secret,
            poll_votes: Vec::new(),
        };
        Ok(message)
    }

    /// A contact's reaction (empty `emoji`: taken off) to the stored message `target`,
    /// as the network would hand it over.
    pub fn inject_reaction(
        &self,
        instance_id: &str,
        target: &MessageRef<'_>,
        from: &str,
        emoji: &str,
    ) -> Result<InboundReaction, LinkError> {
        self.require_open(instance_id)?;
        Ok(InboundReaction {
            id: new_message_id(),
            chat_jid: target.chat.to_string(),
            target_id: target.id.to_string(),
            sender: from.to_string(),
            from_me: false,
            emoji: emoji.to_string(),
            timestamp: now_ms(),
        })
    }

    /// Makes a poll's message secret and remembers it with the poll, as the poll's
    /// voters would.
    fn remember_poll(&self, instance_id: &str, poll_id: &str, creator: &str) -> Vec<u8> {
        let mut secret = vec![0u8; 32];
        rand::rng().fill(&mut secret[..]);
        self.with_session(instance_id, |s| {
            s.polls.insert(
                poll_id.to_string(),
                SimPoll {
                    secret: secret.clone(),
                    creator: creator.to_string(),
                },
            )
        });
        secret
    }

    /// `voter`'s vote for `options` (by name; none takes the vote back) on the poll
    /// `poll_id` in `chat`, encrypted as a WhatsApp client encrypts it: with the poll's
    /// secret, keyed by the poll's author and the voter. With `garbled`, encrypted
    /// with another secret, as a vote core cannot read. `NotFound` for a poll the
    /// session never saw.
    pub fn inject_poll_vote(
        &self,
        instance_id: &str,
        chat: &str,
        poll_id: &str,
        voter: &str,
        options: &[String],
        garbled: bool,
    ) -> Result<super::InboundPollVote, LinkError> {
        use whatsapp_rust::wacore::poll;
        self.require_open(instance_id)?;
        let (mut secret, creator) = self
            .with_session(instance_id, |s| {
                s.polls
                    .get(poll_id)
                    .map(|p| (p.secret.clone(), p.creator.clone()))
            })
            .ok_or_else(|| LinkError::NotFound("the network knows no such poll".into()))?;
        if garbled {
            secret.iter_mut().for_each(|b| *b ^= 0xff);
        }
        let hashes: Vec<Vec<u8>> = options
            .iter()
            .map(|o| poll::compute_option_hash(o).to_vec())
            .collect();
        let (enc_payload, iv) =
            poll::encrypt_poll_vote_with_secret(&hashes, &secret, poll_id, &creator, voter)
                .map_err(|e| LinkError::Failed(format!("encrypting the vote: {e}")))?;
        let owner = self.with_session(instance_id, |s| s.owner_jid.clone());
        Ok(super::InboundPollVote {
            id: new_message_id(),
            chat_jid: chat.to_string(),
            poll_id: poll_id.to_string(),
            poll_creator: creator,
            voter: voter.to_string(),
            from_me: owner.as_deref() == Some(voter),
            enc_payload,
            enc_iv: iv.to_vec(),
            alternate: None,
            timestamp: now_ms(),
        })
    }

    /// A contact calling the account, as the network would offer it.
    pub fn inject_call(
        &self,
        instance_id: &str,
        from: &str,
        video: bool,
    ) -> Result<super::IncomingCall, LinkError> {
        self.require_open(instance_id)?;
        Ok(super::IncomingCall {
            id: new_message_id(),
            from: from.to_string(),
            phone: None,
            creator: from.to_string(),
            video,
            group_jid: None,
            timestamp: now_ms(),
            offline: false,
        })
    }

    /// Notes what the instance's session put on the wire besides messages (read
    /// receipts, chat states, presence), oldest first, for tests to check.
    fn record(&self, instance_id: &str, action: String) {
        self.with_session(instance_id, |s| {
            if s.actions.len() == MAX_ACTIONS {
                s.actions.remove(0);
            }
            s.actions.push(action);
        });
    }

    /// The last [`MAX_ACTIONS`] wire actions of the instance (`read <chat> <ids>`,
    /// `unread <chat>`, `composing <chat>`, `available`, ...), oldest first.
    pub fn actions(&self, instance_id: &str) -> Vec<String> {
        self.with_session(instance_id, |s| s.actions.clone())
    }

    /// Takes the instance's link down (`up = false`) or brings it back.
    pub fn set_link_up(&self, instance_id: &str, up: bool) {
        let event = self.with_session(instance_id, |s| {
            s.held_down = !up;
            match (up, s.state) {
                (false, Some(ConnectionState::Open)) => {
                    s.state = Some(ConnectionState::Closed);
                    Some(LinkEvent::Disconnected {
                        instance_id: instance_id.to_string(),
                    })
                }
                (true, Some(ConnectionState::Closed)) => {
                    s.state = Some(ConnectionState::Open);
                    s.owner_jid.clone().map(|owner_jid| LinkEvent::Connected {
                        instance_id: instance_id.to_string(),
                        owner_jid,
                    })
                }
                _ => None,
            }
        });
        if let Some(ev) = event {
            let _ = self.events.send(ev);
        }
    }

    fn sim_groups(&self) -> std::sync::MutexGuard<'_, groups::SimGroups> {
        self.groups.lock().expect("sim groups lock")
    }

    /// Number of sessions the sim holds (memory benchmarks).
    pub fn session_count(&self) -> usize {
        self.sessions.lock().expect("sim sessions lock").len()
    }
}

#[async_trait]
impl Link for SimLink {
    fn name(&self) -> &'static str {
        "sim"
    }

    async fn connect(&self, instance_id: &str, phone: Option<&str>) -> Result<Pairing, LinkError> {
        let already = self.with_session(instance_id, |s| match s.state {
            Some(ConnectionState::Open) | Some(ConnectionState::Closed) => true,
            _ => {
                s.state = Some(ConnectionState::Connecting);
                false
            }
        });
        if already {
            return Ok(Pairing::default());
        }
        // A pairing that asks WhatsApp for the full history (the real link's device
        // props); the default (recent messages) is not noted.
        if self
            .full_history
            .lock()
            .expect("sim history lock")
            .contains(instance_id)
        {
            self.record(instance_id, "pair history=full".to_string());
        }
        let pairing = match phone {
            Some(_) => Pairing {
                qr: None,
                pair_code: Some(pair_code()),
            },
            None => Pairing {
                qr: Some(qr_payload()),
                pair_code: None,
            },
        };
        if let Some(qr) = &pairing.qr {
            let _ = self.events.send(LinkEvent::Qr {
                instance_id: instance_id.to_string(),
                code: qr.clone(),
            });
        }
        // The simulated phone "scans" after the delay.
        let owner_jid = format!(
            "{}@s.whatsapp.net",
            phone.map(str::to_string).unwrap_or_else(|| format!(
                "5500{:09}",
                rand::rng().random_range(0..1_000_000_000u64)
            ))
        );
        let delay = self.pair_delay;
        let events = self.events.clone();
        let id = instance_id.to_string();
        let sessions = self.sessions.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let paired = {
                let mut map = sessions.lock().expect("sim sessions lock");
                match map.get_mut(&id) {
                    Some(s) if s.state == Some(ConnectionState::Connecting) => {
                        s.state = Some(if s.held_down {
                            ConnectionState::Closed
                        } else {
                            ConnectionState::Open
                        });
                        s.owner_jid = Some(owner_jid.clone());
                        !s.held_down
                    }
                    _ => false, // logged out or forgotten meanwhile
                }
            };
            if paired {
                let _ = events.send(LinkEvent::Connected {
                    instance_id: id,
                    owner_jid,
                });
            }
        });
        Ok(pairing)
    }

    async fn resume(&self, instance_id: &str, owner_jid: &str) -> Result<(), LinkError> {
        self.with_session(instance_id, |s| {
            s.state = Some(ConnectionState::Open);
            s.owner_jid = Some(owner_jid.to_string());
        });
        Ok(())
    }

    fn state(&self, instance_id: &str) -> ConnectionState {
        let sessions = self.sessions.lock().expect("sim sessions lock");
        sessions
            .get(instance_id)
            .and_then(|s| s.state)
            .unwrap_or(ConnectionState::Disconnected)
    }

    async fn send_text(
        &self,
        instance_id: &str,
        _to: &str,
        _text: &str,
    ) -> Result<Sent, LinkError> {
        self.require_open(instance_id)?;
        Ok(Sent::now(new_message_id()))
    }

    async fn send_media(
        &self,
        instance_id: &str,
        _to: &str,
        media: &OutboundMedia,
    ) -> Result<Sent, LinkError> {
        self.require_open(instance_id)?;
        // WhatsApp refuses an empty upload; core never hands one, the check keeps the
        // sim as strict as the network.
        if media.bytes.is_empty() {
            return Err(LinkError::Rejected("media has no bytes".into()));
        }
        Ok(Sent::now(new_message_id()))
    }

    async fn edit_message(
        &self,
        instance_id: &str,
        _chat: &str,
        message_id: &str,
        _text: &str,
    ) -> Result<(), LinkError> {
        self.require_open(instance_id)?;
        if self.with_session(instance_id, |s| s.revoked.contains(message_id)) {
            return Err(LinkError::Rejected(
                "a revoked message cannot be edited".into(),
            ));
        }
        Ok(())
    }

    async fn send_content(
        &self,
        instance_id: &str,
        _to: &str,
        content: &Content,
    ) -> Result<Sent, LinkError> {
        self.require_open(instance_id)?;
        if matches!(content, Content::Unsupported { .. }) {
            return Err(LinkError::Rejected(
                "cannot send an unsupported message".into(),
            ));
        }
        let sent = Sent::now(new_message_id());
        if matches!(content, Content::Poll(_)) {
            let me = self.me(instance_id)?;
            let secret = self.remember_poll(instance_id, &sent.id, &me);
            return Ok(Sent {
                poll_secret: Some(secret),
                ..sent
            });
        }
        Ok(sent)
    }

    async fn send_status(
        &self,
        instance_id: &str,
        status: &super::OutboundStatus,
        recipients: &[String],
    ) -> Result<Sent, LinkError> {
        self.require_open(instance_id)?;
        let what = match status {
            super::OutboundStatus::Text {
                background_argb,
                font,
                ..
            } => format!("text #{background_argb:08x} font={font}"),
            super::OutboundStatus::Media(m) => {
                if m.bytes.is_empty() {
                    return Err(LinkError::Rejected("media has no bytes".into()));
                }
                format!("media {}", m.mimetype)
            }
        };
        self.record(
            instance_id,
            format!("status {what} to {}", recipients.join(",")),
        );
        Ok(Sent::now(new_message_id()))
    }

    async fn send_reaction(
        &self,
        instance_id: &str,
        target: &MessageRef<'_>,
        _emoji: &str,
    ) -> Result<Sent, LinkError> {
        self.require_open(instance_id)?;
        // WhatsApp drops reactions to a revoked message; the sim refuses them.
        if self.with_session(instance_id, |s| s.revoked.contains(target.id)) {
            return Err(LinkError::Rejected(
                "a revoked message cannot be reacted to".into(),
            ));
        }
        Ok(Sent::now(new_message_id()))
    }

    async fn mark_read(
        &self,
        instance_id: &str,
        chat: &str,
        _sender: &str,
        message_ids: &[String],
    ) -> Result<(), LinkError> {
        self.require_open(instance_id)?;
        self.record(
            instance_id,
            format!("read {chat} {}", message_ids.join(",")),
        );
        Ok(())
    }

    async fn mark_chat_unread(&self, instance_id: &str, chat: &str) -> Result<(), LinkError> {
        self.require_open(instance_id)?;
        self.record(instance_id, format!("unread {chat}"));
        Ok(())
    }

    async fn send_chat_presence(
        &self,
        instance_id: &str,
        chat: &str,
        presence: ChatPresence,
    ) -> Result<(), LinkError> {
        self.require_open(instance_id)?;
        self.record(instance_id, format!("{} {chat}", presence.as_str()));
        Ok(())
    }

    async fn set_presence(&self, instance_id: &str, available: bool) -> Result<(), LinkError> {
        self.require_open(instance_id)?;
        let what = if available {
            "available"
        } else {
            "unavailable"
        };
        self.record(instance_id, what.to_string());
        Ok(())
    }

    async fn revoke(
        &self,
        instance_id: &str,
        chat: &str,
        message_id: &str,
        from_me: bool,
    ) -> Result<(), LinkError> {
        self.require_open(instance_id)?;
        if !from_me && !chat.ends_with("@g.us") {
            return Err(LinkError::Rejected(
                "only messages sent by this account can be revoked".into(),
            ));
        }
        let fresh = self.with_session(instance_id, |s| s.revoked.insert(message_id.to_string()));
        if !fresh {
            return Err(LinkError::Rejected("message was already revoked".into()));
        }
        Ok(())
    }

    async fn delete_for_me(
        &self,
        instance_id: &str,
        _chat: &str,
        _id: &str,
        _from_me: bool,
    ) -> Result<(), LinkError> {
        self.require_open(instance_id)
    }

    async fn delete_chat(&self, instance_id: &str, _chat: &str) -> Result<(), LinkError> {
        self.require_open(instance_id)
    }

    async fn update_chat(
        &self,
        instance_id: &str,
        _chat: &str,
        _patch: &ChatPatch,
    ) -> Result<(), LinkError> {
        self.require_open(instance_id)
    }

    async fn restart(&self, instance_id: &str) -> Result<(), LinkError> {
        // A paired session goes down (reported as a drop) and comes back after the pair
        // delay, as a reconnect with stored keys does; one still pairing starts over.
        let (was, owner) = self.with_session(instance_id, |s| {
            let was = s.state;
            if was.is_some() {
                s.state = Some(ConnectionState::Connecting);
            }
            (was, s.owner_jid.clone())
        });
        match (was, owner) {
            (None | Some(ConnectionState::Disconnected), _) => Err(LinkError::NotConnected),
            (_, Some(owner_jid)) => {
                let _ = self.events.send(LinkEvent::Disconnected {
                    instance_id: instance_id.to_string(),
                });
                let (delay, events, sessions) =
                    (self.pair_delay, self.events.clone(), self.sessions.clone());
                let id = instance_id.to_string();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let back = {
                        let mut map = sessions.lock().expect("sim sessions lock");
                        match map.get_mut(&id) {
                            Some(s) if s.state == Some(ConnectionState::Connecting) => {
                                s.state = Some(if s.held_down {
                                    ConnectionState::Closed
                                } else {
                                    ConnectionState::Open
                                });
                                !s.held_down
                            }
                            _ => false,
                        }
                    };
                    if back {
                        let _ = events.send(LinkEvent::Connected {
                            instance_id: id,
                            owner_jid,
                        });
                    }
                });
                Ok(())
            }
            (_, None) => {
                self.with_session(instance_id, |s| s.state = None);
                self.connect(instance_id, None).await.map(|_| ())
            }
        }
    }

    async fn logout(&self, instance_id: &str) -> Result<(), LinkError> {
        self.with_session(instance_id, |s| *s = Session::default());
        Ok(())
    }

    async fn forget(&self, instance_id: &str) {
        self.sessions
            .lock()
            .expect("sim sessions lock")
            .remove(instance_id);
        self.media_choices.set(instance_id, None);
        self.set_full_history(instance_id, false);
        self.privacy
            .lock()
            .expect("sim privacy lock")
            .remove(instance_id);
    }

    async fn release(&self, instance_id: &str) {
        // The simulated network keeps no keys: the session simply stops here.
        self.sessions
            .lock()
            .expect("sim sessions lock")
            .remove(instance_id);
    }

    fn set_media_download(&self, instance_id: &str, choice: Option<super::MediaDownload>) {
        self.media_choices.set(instance_id, choice);
    }

    fn set_full_history(&self, instance_id: &str, full: bool) {
        let mut set = self.full_history.lock().expect("sim history lock");
        if full {
            set.insert(instance_id.to_string());
        } else {
            set.remove(instance_id);
        }
    }

    async fn reject_call(
        &self,
        instance_id: &str,
        call: &super::IncomingCall,
    ) -> Result<(), LinkError> {
        self.require_open(instance_id)?;
        self.record(
            instance_id,
            format!("reject-call {} {}", call.id, call.from),
        );
        Ok(())
    }

    async fn create_group(
        &self,
        instance_id: &str,
        subject: &str,
        participants: &[String],
    ) -> Result<Group, LinkError> {
        let me = self.me(instance_id)?;
        let group = self.sim_groups().create(&me, subject, participants);
        let members: Vec<String> = group.participants.iter().map(|p| p.jid.clone()).collect();
        self.announce_group(&group.jid, &me, GroupChangeKind::Joined, &members);
        Ok(group)
    }

    async fn list_groups(&self, instance_id: &str) -> Result<Vec<Group>, LinkError> {
        let me = self.me(instance_id)?;
        Ok(self.sim_groups().of(&me))
    }

    async fn group_info(&self, instance_id: &str, group: &str) -> Result<Group, LinkError> {
        let me = self.me(instance_id)?;
        self.sim_groups().info(&me, group)
    }

    async fn set_group_subject(
        &self,
        instance_id: &str,
        group: &str,
        subject: &str,
    ) -> Result<(), LinkError> {
        let me = self.me(instance_id)?;
        self.sim_groups().set_subject(&me, group, subject)?;
        let change = GroupInfoChange::Subject(subject.to_string());
        self.announce_info(group, &me, change);
        Ok(())
    }

    async fn set_group_description(
        &self,
        instance_id: &str,
        group: &str,
        description: Option<&str>,
    ) -> Result<(), LinkError> {
        let me = self.me(instance_id)?;
        let id = self.sim_groups().set_description(&me, group, description)?;
        let change = GroupInfoChange::Description {
            text: description.map(str::to_string),
            id,
        };
        self.announce_info(group, &me, change);
        Ok(())
    }

    async fn set_group_setting(
        &self,
        instance_id: &str,
        group: &str,
        setting: GroupSetting,
    ) -> Result<(), LinkError> {
        let me = self.me(instance_id)?;
        self.sim_groups().set_setting(&me, group, setting)?;
        self.announce_info(group, &me, GroupInfoChange::Setting(setting));
        Ok(())
    }

    async fn update_group_participants(
        &self,
        instance_id: &str,
        group: &str,
        action: ParticipantAction,
        participants: &[String],
    ) -> Result<Vec<ParticipantResult>, LinkError> {
        let me = self.me(instance_id)?;
        self.change_participants(&me, group, action, participants)
    }

    async fn group_invite_code(
        &self,
        instance_id: &str,
        group: &str,
        revoke: bool,
    ) -> Result<String, LinkError> {
        let me = self.me(instance_id)?;
        self.sim_groups().invite_code(&me, group, revoke)
    }

    async fn group_invite_info(&self, instance_id: &str, code: &str) -> Result<Group, LinkError> {
        self.require_open(instance_id)?;
        self.sim_groups().invite_info(code)
    }

    async fn join_group(&self, instance_id: &str, code: &str) -> Result<String, LinkError> {
        let me = self.me(instance_id)?;
        let group = self.sim_groups().join(&me, code)?;
        let joiner = std::slice::from_ref(&me);
        self.announce_participants(&group, &me, ParticipantAction::Add, joiner, &[]);
        Ok(group)
    }

    async fn leave_group(&self, instance_id: &str, group: &str) -> Result<(), LinkError> {
        let me = self.me(instance_id)?;
        self.sim_groups().leave(&me, group)?;
        let me_too = [me.clone()];
        self.announce_participants(group, &me, ParticipantAction::Remove, &me_too, &me_too);
        Ok(())
    }

    async fn label_chat(
        &self,
        instance_id: &str,
        chat: &str,
        label_id: &str,
        labeled: bool,
    ) -> Result<(), LinkError> {
        self.sim_label_chat(instance_id, chat, label_id, labeled)
    }

    async fn check_numbers(
        &self,
        instance_id: &str,
        jids: &[String],
    ) -> Result<Vec<super::FoundNumber>, LinkError> {
        self.require_open(instance_id)?;
        let lids = self.lids.lock().expect("sim lids lock");
        Ok(jids
            .iter()
            .filter(|j| on_whatsapp(j))
            .map(|j| super::FoundNumber {
                jid: j.clone(),
                alt: lids.get(j).cloned(),
                is_business: is_business(j),
            })
            .collect())
    }

    /// Everybody on the sim network has a picture, at a URL made from their JID; the
    /// unregistered have none.
    async fn profile_picture_url(
        &self,
        instance_id: &str,
        jid: &str,
    ) -> Result<Option<String>, LinkError> {
        self.require_open(instance_id)?;
        if !(on_whatsapp(jid) || jid.ends_with("@g.us")) {
            return Ok(None);
        }
        Ok(self.pictures.lock().expect("sim pictures lock").url_of(jid))
    }

    async fn set_picture(
        &self,
        instance_id: &str,
        target: &str,
        jpeg: Option<bytes::Bytes>,
    ) -> Result<(), LinkError> {
        self.sim_set_picture(instance_id, target, jpeg.as_deref())
    }

    async fn privacy_settings(
        &self,
        instance_id: &str,
    ) -> Result<Vec<crate::core::privacy::PrivacySetting>, LinkError> {
        self.sim_privacy(instance_id)
    }

    async fn set_privacy(
        &self,
        instance_id: &str,
        setting: crate::core::privacy::PrivacySetting,
    ) -> Result<(), LinkError> {
        self.sim_set_privacy(instance_id, setting)
    }

    async fn business_profile(
        &self,
        instance_id: &str,
        jid: &str,
    ) -> Result<Option<crate::core::business::BusinessProfile>, LinkError> {
        self.sim_business_profile(instance_id, jid)
    }

    async fn fetch_profile(
        &self,
        instance_id: &str,
        jid: &str,
    ) -> Result<super::LinkProfile, LinkError> {
        let me = self.me(instance_id)?;
        if jid == me {
            let (name, status) = self.with_session(instance_id, |s| {
                (s.profile_name.clone(), s.profile_status.clone())
            });
            return Ok(super::LinkProfile {
                name: Some(name.unwrap_or_else(|| SIM_PROFILE_NAME.to_string())),
                status,
                picture_url: self.profile_picture_url(instance_id, jid).await?,
                is_business: false,
            });
        }
        if !on_whatsapp(jid) {
            return Err(LinkError::NotFound(format!("{jid} is not on WhatsApp")));
        }
        Ok(super::LinkProfile {
            name: None,
            status: Some("Hey there! I am using WhatsApp.".to_string()),
            picture_url: self.profile_picture_url(instance_id, jid).await?,
            is_business: is_business(jid),
        })
    }

    async fn subscribe_presence(&self, instance_id: &str, jid: &str) -> Result<(), LinkError> {
        self.require_open(instance_id)?;
        self.record(instance_id, format!("subscribe {jid}"));
        Ok(())
    }

    async fn set_profile_name(&self, instance_id: &str, name: &str) -> Result<(), LinkError> {
        self.require_open(instance_id)?;
        self.with_session(instance_id, |s| s.profile_name = Some(name.to_string()));
        self.record(instance_id, format!("profile-name {name}"));
        Ok(())
    }

    async fn set_profile_status(&self, instance_id: &str, status: &str) -> Result<(), LinkError> {
        self.require_open(instance_id)?;
        self.with_session(instance_id, |s| s.profile_status = Some(status.to_string()));
        self.record(instance_id, format!("profile-status {status}"));
        Ok(())
    }

    async fn blocklist(&self, instance_id: &str) -> Result<Vec<String>, LinkError> {
        self.require_open(instance_id)?;
        Ok(self.with_session(instance_id, |s| s.blocked.iter().cloned().collect()))
    }

    async fn set_blocked(
        &self,
        instance_id: &str,
        jid: &str,
        blocked: bool,
    ) -> Result<(), LinkError> {
        self.require_open(instance_id)?;
        if !on_whatsapp(jid) {
            return Err(LinkError::NotFound(format!("{jid} is not on WhatsApp")));
        }
        self.with_session(instance_id, |s| {
            if blocked {
                s.blocked.insert(jid.to_string());
            } else {
                s.blocked.remove(jid);
            }
        });
        Ok(())
    }
}

/// A WhatsApp-web-like message id: `3EB0` + 16 upper-case hex digits.
pub fn new_message_id() -> String {
    format!("3EB0{:016X}", rand::rng().random::<u64>())
}

fn qr_payload() -> String {
    use base64::Engine;
    let mut rng = rand::rng();
    let part = |n: usize, rng: &mut rand::rngs::ThreadRng| {
        let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    format!(
        "2@{},{},{},{}",
        part(24, &mut rng),
        part(32, &mut rng),
        part(32, &mut rng),
        part(32, &mut rng)
    )
}

fn pair_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTVWXYZ123456789";
    let mut rng = rand::rng();
    let mut code: String = (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    code.insert(4, '-');
    code
}
