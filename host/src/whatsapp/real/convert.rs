//! whatsapp-rust's message shapes -> the gateway's [`Inbound`].
//!
//! The library keeps no history: every live message and every message of a history
//! sync chunk is handed to core, which stores it (a message id already stored is a
//! no-op, so a history chunk repeating live traffic never duplicates anything).
//!
//! A media message becomes its caption (as `text`) plus its media metadata with
//! `bytes: None`, and the reference the session's background downloader fetches the
//! file by (see [`super::media`]), for live and history sync messages alike: both
//! go through the same per-instance download policy, concurrency cap and retries
//! (an old backlog's expired files end as `media_failed` after the re-upload request,
//! their messages keeping `stored: false`).

use whatsapp_rust::types::events::InboundMessage;
use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::waproto::whatsapp as wa;

use super::media::{MediaRef, inbound_media};
use crate::core::group_events::{GroupChange, GroupChangeKind, GroupInfoChange, GroupMember};
use crate::core::model::{ContactCard, Content, DeliveryStatus, Location, Poll, PollVote};
use crate::whatsapp::{
    CallEndReason, CallEnded, Inbound, InboundMedia, InboundPollVote, InboundReaction,
    IncomingCall, PresenceState, PresenceUpdate,
};

/// What the gateway keeps of a message's text: its text, or a media caption.
pub fn text_of(message: &wa::Message) -> Option<String> {
    let base = message.get_base_message();
    if let Some(text) = base.text_content() {
        return Some(text.to_string());
    }
    let caption = base
        .image_message
        .as_option()
        .and_then(|m| m.caption.clone())
        .or_else(|| {
            base.video_message
                .as_option()
                .and_then(|m| m.caption.clone())
        })
        .or_else(|| {
            base.document_message
                .as_option()
                .and_then(|m| m.caption.clone())
        });
    caption.filter(|c| !c.is_empty())
}

/// Whether a message carries something a chat shows: text, or anything that is not a
/// protocol message (revoke, edit), a bare sender-key distribution, a reaction or a
/// poll vote (the last two land on the message they name).
fn is_content(message: &wa::Message) -> bool {
    let base = message.get_base_message();
    text_of(message).is_some()
        || (base.protocol_message.as_option().is_none()
            && base.sender_key_distribution_message.as_option().is_none()
            && base.reaction_message.as_option().is_none()
            && base.poll_update_message.as_option().is_none())
}

/// A poll's message secret, which its votes are encrypted with: WhatsApp carries it
/// in the poll creation's `messageContextInfo`. `None` for anything but a poll.
pub fn poll_secret(message: &wa::Message) -> Option<Vec<u8>> {
    let base = message.get_base_message();
    let is_poll = base.poll_creation_message.as_option().is_some()
        || base.poll_creation_message_v2.as_option().is_some()
        || base.poll_creation_message_v3.as_option().is_some();
    if !is_poll {
        return None;
    }
    [message, base]
        .iter()
        .find_map(|m| m.message_context_info.as_option()?.message_secret.clone())
        .filter(|s| !s.is_empty())
}

/// A live poll vote, still encrypted; `None` for anything else. The poll's author is
/// read off the vote's key from the voter's side: the voter itself when `fromMe`,
/// else the group member it names, else the voter's chat (this account).
pub fn poll_vote(inbound: &InboundMessage) -> Option<InboundPollVote> {
    let base = inbound.message.get_base_message();
    let update = base.poll_update_message.as_option()?;
    let key = update.poll_creation_message_key.as_option()?;
    let vote = update.vote.as_option()?;
    let info = &inbound.info;
    let voter = info.source.sender.to_non_ad_string();
    let creator = if key.from_me.unwrap_or(false) {
        voter.clone()
    } else {
        key.participant
            .clone()
            .or_else(|| key.remote_jid.clone())
            .unwrap_or_else(|| info.source.chat.to_non_ad_string())
    };
    Some(InboundPollVote {
        id: info.id.to_string(),
        chat_jid: info.source.chat.to_non_ad_string(),
        poll_id: key.id.clone()?,
        poll_creator: non_ad(&creator),
        voter,
        from_me: info.source.is_from_me,
        enc_payload: vote.enc_payload.clone().unwrap_or_default(),
        enc_iv: vote.enc_iv.clone().unwrap_or_default(),
        alternate: None,
        timestamp: update
            .sender_timestamp_ms
            .and_then(|t| u64::try_from(t).ok())
            .unwrap_or_else(|| info.timestamp.timestamp_millis().max(0) as u64),
    })
}

/// A JID without its device part (`123:4@s.whatsapp.net` -> `123@s.whatsapp.net`), as
/// the vote's key derivation names accounts.
fn non_ad(jid: &str) -> String {
    jid.parse::<whatsapp_rust::Jid>()
        .map(|j| j.to_non_ad_string())
        .unwrap_or_else(|_| jid.to_string())
}

/// A location, contact cards or a poll the message carries; for a message with no
/// text, media or known content, its type as `unsupported` (so nothing arrives
/// silently dropped).
pub fn content_of(message: &wa::Message) -> Option<Content> {
    let base = message.get_base_message();
    if let Some(l) = base.location_message.as_option() {
        return Some(Content::Location(Location {
            latitude: l.degrees_latitude.unwrap_or(0.0),
            longitude: l.degrees_longitude.unwrap_or(0.0),
            name: l.name.clone(),
            address: l.address.clone(),
        }));
    }
    if let Some(l) = base.live_location_message.as_option() {
        return Some(Content::Location(Location {
            latitude: l.degrees_latitude.unwrap_or(0.0),
            longitude: l.degrees_longitude.unwrap_or(0.0),
            name: None,
            address: None,
        }));
    }
    let card = |c: &wa::message::ContactMessage| ContactCard {
        display_name: c.display_name.clone().unwrap_or_default(),
        vcard: c.vcard.clone().unwrap_or_default(),
    };
    if let Some(c) = base.contact_message.as_option() {
        return Some(Content::Contacts {
            contacts: vec![card(c)],
        });
    }
    if let Some(a) = base.contacts_array_message.as_option() {
        return Some(Content::Contacts {
            contacts: a.contacts.iter().map(card).collect(),
        });
    }
    let poll = base
        .poll_creation_message
        .as_option()
        .or(base.poll_creation_message_v2.as_option())
        .or(base.poll_creation_message_v3.as_option());
    if let Some(p) = poll {
        return Some(Content::Poll(Poll {
            question: p.name.clone().unwrap_or_default(),
            options: p
                .options
                .iter()
                .map(|o| o.option_name.clone().unwrap_or_default())
                .collect(),
            selectable: p.selectable_options_count.unwrap_or(0),
        }));
    }
    if text_of(message).is_some() || inbound_media(message).is_some() {
        return None;
    }
    // The kinds WhatsApp-Web clients commonly get that the gateway does not model.
    let kinds: [(&str, bool); 9] = [
        ("eventMessage", base.event_message.as_option().is_some()),
        (
            "pollUpdateMessage",
            base.poll_update_message.as_option().is_some(),
        ),
        (
            "groupInviteMessage",
            base.group_invite_message.as_option().is_some(),
        ),
        ("buttonsMessage", base.buttons_message.as_option().is_some()),
        ("listMessage", base.list_message.as_option().is_some()),
        (
            "templateMessage",
            base.template_message.as_option().is_some(),
        ),
        (
            "interactiveMessage",
            base.interactive_message.as_option().is_some(),
        ),
        (
            "pinInChatMessage",
            base.pin_in_chat_message.as_option().is_some(),
        ),
        ("editedMessage", base.edited_message.as_option().is_some()),
    ];
    let type_name = kinds
        .iter()
        .find(|(_, present)| *present)
        .map_or("unknown", |(name, _)| *name);
    Some(Content::Unsupported {
        type_name: type_name.to_string(),
    })
}

/// The media metadata core stores on the message (bytes to follow, or not).
fn media_of(message: &wa::Message) -> (Option<InboundMedia>, Option<MediaRef>) {
    match inbound_media(message) {
        Some((info, reference)) => (
            Some(InboundMedia {
                info,
                bytes: None,
                downloading: false,
            }),
            reference,
        ),
        None => (None, None),
    }
}

/// A live (or offline-drained) message, with the reference to download its media
/// by. `None` for protocol-only messages.
pub fn live(inbound: &InboundMessage) -> Option<(Inbound, Option<MediaRef>)> {
    if !is_content(&inbound.message) {
        return None;
    }
    let info = &inbound.info;
    let (media, reference) = media_of(&inbound.message);
    Some((
        Inbound {
            id: info.id.to_string(),
            chat_jid: info.source.chat.to_non_ad_string(),
            sender: info.source.sender.to_non_ad_string(),
            sender_alt: info
                .source
                .sender_alt
                .as_ref()
                .map(|j| j.to_non_ad_string()),
            chat_jid_alt: chat_alt(&info.source),
            from_me: info.source.is_from_me,
            timestamp: info.timestamp.timestamp_millis().max(0) as u64,
            text: text_of(&inbound.message),
            media,
            push_name: (!info.push_name.is_empty()).then(|| info.push_name.clone()),
            // Only a business account's messages carry a verified name.
            sender_is_business: !info.source.is_from_me && info.verified_name.is_some(),
            content: content_of(&inbound.message),
            poll_secret: poll_secret(&inbound.message),
            poll_votes: Vec::new(),
        },
        reference,
    ))
}

/// The other address of a one-to-one chat, as the message's source gives it: the
/// author's alternate on a contact's message, the recipient's on our own (a group has
/// none: its members' alternates are per sender).
fn chat_alt(source: &whatsapp_rust::wacore::types::message::MessageSource) -> Option<String> {
    if source.chat.to_non_ad_string().ends_with("@g.us") {
        return None;
    }
    let alt = if source.is_from_me {
        source.recipient_alt.as_ref()
    } else {
        source.sender_alt.as_ref()
    };
    alt.map(|j| j.to_non_ad_string())
}

/// An address book entry as the app-state sync reports it.
#[derive(Debug, PartialEq, Eq)]
pub struct SavedContact {
    /// The entry's key.
    pub jid: String,
    /// Full name, else first name; `None` for an empty entry.
    pub name: Option<String>,
    /// The entry's LID and phone JID, when given.
    pub lid: Option<String>,
    /// See `lid`.
    pub phone: Option<String>,
}

/// The saved name and addresses of an address book sync action.
pub fn saved_contact(u: &whatsapp_rust::types::events::ContactUpdate) -> SavedContact {
    let a = &u.action;
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    SavedContact {
        jid: u.jid.to_non_ad_string(),
        name: non_empty(&a.full_name).or_else(|| non_empty(&a.first_name)),
        lid: non_empty(&a.lid_jid),
        phone: non_empty(&a.pn_jid),
    }
}

/// A label edit as the app-state sync reports it (`deleted` when the phone deleted it).
pub fn label_edit(
    u: &whatsapp_rust::types::events::LabelEditUpdate,
) -> crate::core::labels::LabelEdit {
    let a = &u.action;
    crate::core::labels::LabelEdit {
        id: u.label_id.clone(),
        name: a.name.clone(),
        color: a.color,
        predefined_id: a.predefined_id.map(|p| p.to_string()),
        deleted: a.deleted.unwrap_or(false),
    }
}

/// A label put on a chat or taken off it, as the app-state sync reports it.
pub fn label_association(
    u: &whatsapp_rust::types::events::LabelAssociationUpdate,
) -> crate::core::labels::LabelAssociation {
    crate::core::labels::LabelAssociation {
        label_id: u.label_id.clone(),
        chat_jid: u.chat_jid.to_non_ad_string(),
        labeled: u.action.labeled.unwrap_or(false),
        timestamp: u64::try_from(u.timestamp.timestamp_millis()).unwrap_or(0),
    }
}

/// A live edit: the id of the message it edits and its new text; `None` for anything
/// else (an edit arrives as a protocol message carrying the new message).
pub fn edit(inbound: &InboundMessage) -> Option<(String, String)> {
    let base = inbound.message.get_base_message();
    let protocol = base.protocol_message.as_option()?;
    let edited = protocol.edited_message.as_option()?;
    let target = protocol.key.as_option()?.id.clone()?;
    Some((target, text_of(edited)?))
}

/// A live reaction message as the reaction it puts on (or, empty, takes off) the
/// message its key names; `None` for anything else.
pub fn reaction(inbound: &InboundMessage) -> Option<InboundReaction> {
    let base = inbound.message.get_base_message();
    let reaction = base.reaction_message.as_option()?;
    let target = reaction.key.as_option()?.id.clone()?;
    let info = &inbound.info;
    Some(InboundReaction {
        id: info.id.to_string(),
        chat_jid: info.source.chat.to_non_ad_string(),
        target_id: target,
        sender: info.source.sender.to_non_ad_string(),
        from_me: info.source.is_from_me,
        emoji: reaction.text.clone().unwrap_or_default(),
        timestamp: info.timestamp.timestamp_millis().max(0) as u64,
    })
}

/// The votes a history conversation carries on its poll (`pollUpdates`, opened by the
/// phone: plain option hashes), named by the poll's options; the latest per voter.
fn history_votes(
    info: &wa::WebMessageInfo,
    content: Option<&Content>,
    own: &str,
    chat: &str,
) -> Vec<PollVote> {
    let Some(Content::Poll(poll)) = content else {
        return Vec::new();
    };
    let mut votes: Vec<PollVote> = Vec::new();
    for update in &info.poll_updates {
        let Some(key) = update.poll_update_message_key.as_option() else {
            continue;
        };
        let voter = if key.from_me == Some(true) {
            own.to_string()
        } else {
            let j = key.participant.clone().unwrap_or_else(|| chat.to_string());
            crate::core::jid::normalize(&j).unwrap_or(j)
        };
        let hashes = update
            .vote
            .as_option()
            .map(|v| v.selected_options.clone())
            .unwrap_or_default();
        let (options, error) = match crate::core::polls::option_names(&hashes, poll) {
            Ok(options) => (options, None),
            Err(why) => (Vec::new(), Some(why)),
        };
        let vote = PollVote {
            id: key.id.clone().unwrap_or_default(),
            voter,
            options,
            timestamp: update.sender_timestamp_ms.unwrap_or(0).max(0) as u64,
            error,
        };
        match votes.iter_mut().find(|v| v.voter == vote.voter) {
            Some(held) if held.timestamp <= vote.timestamp => *held = vote,
            Some(_) => {}
            None => votes.push(vote),
        }
    }
    votes
}

/// The messages of one history sync chunk, oldest first per chat, each with the
/// reference to download its media by. `own` is this account's JID, the sender of
/// its own messages.
pub fn history(sync: &wa::HistorySync, own: &str) -> Vec<(Inbound, Option<MediaRef>)> {
    let mut out = Vec::new();
    for conversation in &sync.conversations {
        for entry in &conversation.messages {
            let Some(info) = entry.message.as_option() else {
                continue;
            };
            let Some(key) = info.key.as_option() else {
                continue;
            };
            let (Some(id), Some(message)) = (key.id.clone(), info.message.as_option()) else {
                continue;
            };
            if !is_content(message) {
                continue;
            }
            let chat = key
                .remote_jid
                .clone()
                .unwrap_or_else(|| conversation.id.clone());
            // The conversation's other address (its phone JID when it is a LID chat,
            // and back), when the chunk names it.
            let chat_alt = if chat.ends_with("@lid") {
                conversation.pn_jid.clone()
            } else {
                conversation.lid_jid.clone()
            };
            let from_me = key.from_me.unwrap_or(false);
            let sender = if from_me {
                own.to_string()
            } else {
                key.participant
                    .clone()
                    .or_else(|| info.participant.clone())
                    .unwrap_or_else(|| chat.clone())
            };
            let content = content_of(message);
            let poll_votes = history_votes(info, content.as_ref(), own, &chat);
            let (media, reference) = media_of(message);
            out.push((
                Inbound {
                    id,
                    chat_jid: chat,
                    sender,
                    sender_alt: None,
                    chat_jid_alt: chat_alt,
                    from_me,
                    // WebMessageInfo timestamps are seconds.
                    timestamp: info.message_timestamp.unwrap_or(0).saturating_mul(1000),
                    text: text_of(message),
                    media,
                    push_name: info.push_name.clone().filter(|n| !n.is_empty()),
                    sender_is_business: !from_me && info.verified_biz_name.is_some(),
                    content,
                    poll_secret: poll_secret(message),
                    poll_votes,
                },
                reference,
            ));
        }
    }
    out.sort_by_key(|(m, _)| m.timestamp);
    out
}

/// The delivery status a receipt stands for, by the receipt type's wire name
/// (`delivery`, `read`, ...); `None` for receipts that say nothing about delivery
/// (retry, sender, server-error, ...). `read-self`/`played-self` are this account's
/// other devices reading an incoming message. Wire names stop here: core sees the
/// typed status only.
pub fn receipt_status(wire: &str) -> Option<DeliveryStatus> {
    match wire {
        "sent" => Some(DeliveryStatus::Sent),
        "delivery" | "" => Some(DeliveryStatus::Delivered),
        "read" | "read-self" => Some(DeliveryStatus::Read),
        "played" | "played-self" => Some(DeliveryStatus::Played),
        _ => None,
    }
}

/// A contact's online state (from a presence they let this account see).
pub fn presence(p: &whatsapp_rust::types::events::PresenceUpdate) -> PresenceUpdate {
    PresenceUpdate {
        jid: p.from.to_non_ad_string(),
        chat: None,
        presence: if p.unavailable {
            PresenceState::Unavailable
        } else {
            PresenceState::Available
        },
        last_seen: p.last_seen.map(|t| t.timestamp_millis().max(0) as u64),
    }
}

/// A contact's chat state: typing, recording (typing with audio), or paused.
pub fn chat_presence(p: &whatsapp_rust::types::events::ChatPresenceUpdate) -> PresenceUpdate {
    use whatsapp_rust::types::presence::{ChatPresence, ChatPresenceMedia};
    PresenceUpdate {
        jid: p.source.sender.to_non_ad_string(),
        chat: Some(p.source.chat.to_non_ad_string()),
        presence: match (p.state, p.media) {
            (ChatPresence::Paused, _) => PresenceState::Paused,
            (ChatPresence::Composing, ChatPresenceMedia::Audio) => PresenceState::Recording,
            (ChatPresence::Composing, _) => PresenceState::Composing,
        },
        last_seen: None,
    }
}

/// An offered call as core sees it; the call's other signalling (accepts, relays,
/// terminations) is not reported.
pub fn incoming_call(call: &whatsapp_rust::types::call::IncomingCall) -> Option<IncomingCall> {
    use whatsapp_rust::types::call::CallAction;
    let CallAction::Offer {
        call_id,
        call_creator,
        caller_pn,
        is_video,
        group_jid,
        ..
    } = &call.action
    else {
        return None;
    };
    Some(IncomingCall {
        id: call_id.clone(),
        from: call.from.to_non_ad_string(),
        phone: caller_pn.as_ref().map(|j| j.to_non_ad_string()),
        creator: call_creator.to_string(),
        video: *is_video,
        group_jid: group_jid.as_ref().map(|j| j.to_non_ad_string()),
        timestamp: call.timestamp.timestamp_millis().max(0) as u64,
        offline: call.offline,
    })
}

/// A call's end (`terminate`) as core reports it; `None` for the call's other
/// signalling. WhatsApp's reasons `accepted_elsewhere`/`rejected_elsewhere` mean the
/// phone took or declined it; any other (timeout, none) is a missed call.
pub fn call_ended(call: &whatsapp_rust::types::call::IncomingCall) -> Option<CallEnded> {
    use whatsapp_rust::types::call::CallAction;
    let CallAction::Terminate {
        call_id, reason, ..
    } = &call.action
    else {
        return None;
    };
    Some(CallEnded {
        id: call_id.clone(),
        from: call.from.to_non_ad_string(),
        reason: match reason.as_deref() {
            Some("accepted_elsewhere") => CallEndReason::AcceptedElsewhere,
            Some("rejected_elsewhere") => CallEndReason::RejectedElsewhere,
            _ => CallEndReason::Missed,
        },
        timestamp: call.timestamp.timestamp_millis().max(0) as u64,
    })
}

/// A group notification as a change core applies and reports; `None` for the kinds
/// wagate does not track (communities, invites, moderation flags, join requests).
pub fn group_change(u: &whatsapp_rust::types::events::GroupUpdate) -> Option<GroupChange> {
    use crate::core::groups::{GroupSetting as S, ParticipantAction as P};
    use GroupInfoChange as I;
    use whatsapp_rust::wacore::stanza::groups::GroupNotificationAction as A;
    let members = |ps: &[whatsapp_rust::wacore::stanza::groups::GroupParticipantInfo]| {
        ps.iter()
            .map(|p| GroupMember {
                jid: p.jid.to_non_ad_string(),
                phone: p.phone_number.as_ref().map(|j| j.to_non_ad_string()),
            })
            .collect()
    };
    let participants = |action, ps| GroupChangeKind::Participants {
        action,
        members: members(ps),
    };
    let kind = match &u.action {
        A::Add {
            participants: ps, ..
        } => participants(P::Add, ps),
        A::Remove {
            participants: ps, ..
        } => participants(P::Remove, ps),
        A::Promote { participants: ps } => participants(P::Promote, ps),
        A::Demote { participants: ps } => participants(P::Demote, ps),
        A::Subject { subject, .. } => GroupChangeKind::Info(I::Subject(subject.clone())),
        A::Description { id, description } => GroupChangeKind::Info(I::Description {
            text: description.clone(),
            id: Some(id.clone()).filter(|id| !id.is_empty()),
        }),
        A::Locked { .. } => GroupChangeKind::Info(I::Setting(S::Locked(true))),
        A::Unlocked => GroupChangeKind::Info(I::Setting(S::Locked(false))),
        A::Announce => GroupChangeKind::Info(I::Setting(S::Announcement(true))),
        A::NotAnnounce => GroupChangeKind::Info(I::Setting(S::Announcement(false))),
        A::Ephemeral { expiration, .. } => {
            GroupChangeKind::Info(I::Setting(S::Ephemeral(*expiration)))
        }
        A::MembershipApprovalMode { enabled } => {
            GroupChangeKind::Info(I::Setting(S::Approval(*enabled)))
        }
        A::Create { .. } => GroupChangeKind::Joined,
        _ => return None,
    };
    Some(GroupChange {
        group_jid: u.group_jid.to_non_ad_string(),
        author: u
            .participant_pn
            .as_ref()
            .or(u.participant.as_ref())
            .map(|j| j.to_non_ad_string()),
        timestamp: u.timestamp.timestamp_millis().max(0) as u64,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use whatsapp_rust::waproto::buffa::MessageField;

    fn web_message(id: &str, from_me: bool, text: &str, ts: u64) -> wa::HistorySyncMsg {
        wa::HistorySyncMsg {
            message: MessageField::some(wa::WebMessageInfo {
                key: MessageField::some(wa::MessageKey {
                    remote_jid: Some("5511999999999@s.whatsapp.net".into()),
                    from_me: Some(from_me),
                    id: Some(id.into()),
                    participant: None,
                }),
                message: MessageField::some(wa::Message {
                    conversation: Some(text.into()),
                    ..Default::default()
                }),
                message_timestamp: Some(ts),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn group_notifications_become_changes_with_the_members_phone_numbers() {
        use whatsapp_rust::types::events::GroupUpdate;
        use whatsapp_rust::wacore::stanza::groups::{
            GroupNotificationAction as A, GroupParticipantInfo,
        };
        let jid = |s: &str| s.parse::<whatsapp_rust::Jid>().unwrap();
        let member = GroupParticipantInfo {
            jid: jid("12345678901234@lid"),
            phone_number: Some(jid("5511955554444@s.whatsapp.net")),
            display_name: None,
            r#type: None,
            lid: None,
            username: None,
            join_time: None,
            group_history_sent_state: None,
        };
        let update = |action| {
            GroupUpdate::builder()
                .group_jid(jid("120363000000000001@g.us"))
                .participant(jid("999@lid"))
                .participant_pn(jid("5511900000001@s.whatsapp.net"))
                .timestamp(
                    whatsapp_rust::wacore::chrono::DateTime::from_timestamp_millis(
                        1_700_000_000_000,
                    )
                    .unwrap(),
                )
                .is_lid_addressing_mode(true)
                .action(action)
                .build()
        };
        let change = group_change(&update(A::Promote {
            participants: vec![member],
        }))
        .unwrap();
        assert_eq!(change.group_jid, "120363000000000001@g.us");
        // The author by phone number when WhatsApp said it.
        assert_eq!(
            change.author.as_deref(),
            Some("5511900000001@s.whatsapp.net")
        );
        assert_eq!(change.timestamp, 1_700_000_000_000);
        assert_eq!(
            change.kind,
            GroupChangeKind::Participants {
                action: crate::core::groups::ParticipantAction::Promote,
                members: vec![GroupMember {
                    jid: "12345678901234@lid".into(),
                    phone: Some("5511955554444@s.whatsapp.net".into()),
                }],
            }
        );
        let change = group_change(&update(A::NotAnnounce)).unwrap();
        assert_eq!(
            change.kind,
            GroupChangeKind::Info(GroupInfoChange::Setting(
                crate::core::groups::GroupSetting::Announcement(false)
            ))
        );
        assert!(group_change(&update(A::RevokeInvite)).is_none());
    }

    #[test]
    fn history_messages_become_inbound_oldest_first() {
        let sync = wa::HistorySync {
            conversations: vec![wa::Conversation {
                id: "5511999999999@s.whatsapp.net".into(),
                messages: vec![
                    web_message("B", true, "reply", 200),
                    web_message("A", false, "hi", 100),
                ],
                ..Default::default()
            }],
            ..Default::default()
        };
        let got: Vec<Inbound> = history(&sync, "5500000000000@s.whatsapp.net")
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id, "A");
        assert_eq!(got[0].sender, "5511999999999@s.whatsapp.net");
        assert_eq!(got[0].timestamp, 100_000);
        assert_eq!(got[1].text.as_deref(), Some("reply"));
        assert_eq!(got[1].sender, "5500000000000@s.whatsapp.net");
        assert!(got[1].from_me);
    }

    #[test]
    fn a_history_poll_carries_its_votes_named_by_option_latest_per_voter() {
        use whatsapp_rust::wacore::poll::compute_option_hash;
        let option = |name: &str| wa::message::poll_creation_message::Option {
            option_name: Some(name.into()),
            ..Default::default()
        };
        let vote = |id: &str, voter: Option<&str>, from_me: bool, picks: &[&str], ts: i64| {
            wa::PollUpdate {
                poll_update_message_key: MessageField::some(wa::MessageKey {
                    remote_jid: Some("120363000000000001@g.us".into()),
                    from_me: Some(from_me),
                    id: Some(id.into()),
                    participant: voter.map(str::to_string),
                }),
                vote: MessageField::some(wa::message::PollVoteMessage {
                    selected_options: picks
                        .iter()
                        .map(|p| compute_option_hash(p).to_vec())
                        .collect(),
                }),
                sender_timestamp_ms: Some(ts),
                ..Default::default()
            }
        };
        let mut poll = web_message("P", false, "", 100);
        let info = poll.message.as_option_mut().unwrap();
        info.key.as_option_mut().unwrap().remote_jid = Some("120363000000000001@g.us".into());
        info.key.as_option_mut().unwrap().participant = Some("5511999999999@s.whatsapp.net".into());
        info.message = MessageField::some(wa::Message {
            poll_creation_message_v3: MessageField::some(wa::message::PollCreationMessage {
                name: Some("Lunch?".into()),
                options: vec![option("pizza"), option("sushi")],
                selectable_options_count: Some(0),
                ..Default::default()
            }),
            ..Default::default()
        });
        info.poll_updates = vec![
            vote(
                "V1",
                Some("5511922221111@s.whatsapp.net"),
                false,
                &["pizza"],
                1_000,
            ),
            vote(
                "V2",
                Some("5511922221111@s.whatsapp.net"),
                false,
                &["sushi", "pizza"],
                2_000,
            ),
            vote("V3", None, true, &["sushi"], 1_500),
            vote(
                "V4",
                Some("5511933332222@s.whatsapp.net"),
                false,
                &["paella"],
                1_200,
            ),
        ];
        let sync = wa::HistorySync {
            conversations: vec![wa::Conversation {
                id: "120363000000000001@g.us".into(),
                messages: vec![poll],
                ..Default::default()
            }],
            ..Default::default()
        };
        let got: Vec<Inbound> = history(&sync, "5500000000000@s.whatsapp.net")
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        let votes = &got[0].poll_votes;
        assert_eq!(votes.len(), 3, "{votes:?}");
        let of = |voter: &str| votes.iter().find(|v| v.voter == voter).unwrap();
        // The later vote wins; options in the poll's order.
        assert_eq!(
            of("5511922221111@s.whatsapp.net").options,
            ["pizza", "sushi"]
        );
        assert_eq!(of("5511922221111@s.whatsapp.net").id, "V2");
        assert_eq!(of("5500000000000@s.whatsapp.net").options, ["sushi"]);
        // An option the poll does not have is kept as an unreadable vote.
        let odd = of("5511933332222@s.whatsapp.net");
        assert!(odd.options.is_empty());
        assert!(odd.error.is_some());
    }

    #[test]
    fn captions_stand_in_for_media() {
        let m = wa::Message {
            image_message: MessageField::some(wa::message::ImageMessage {
                caption: Some("look".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(text_of(&m).as_deref(), Some("look"));
    }

    #[test]
    fn media_messages_carry_their_metadata_and_a_download_reference() {
        use crate::core::model::MediaKind;
        let m = wa::Message {
            audio_message: MessageField::some(wa::message::AudioMessage {
                direct_path: Some("/v/t62/abc".into()),
                media_key: Some(vec![1; 32]),
                file_sha256: Some(vec![0xab; 32]),
                file_enc_sha256: Some(vec![2; 32]),
                file_length: Some(1234),
                mimetype: Some("audio/ogg; codecs=opus".into()),
                seconds: Some(7),
                ptt: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (media, reference) = media_of(&m);
        let info = media.expect("media").info;
        assert_eq!(info.kind, MediaKind::Voice);
        assert_eq!(info.size, 1234);
        assert_eq!(info.duration_secs, Some(7));
        assert_eq!(info.sha256, "ab".repeat(32));
        assert!(!info.stored);
        assert_eq!(reference.expect("reference").direct_path, "/v/t62/abc");

        // A document wrapped for its caption: caption as text, the file name kept.
        let doc = wa::Message {
            document_with_caption_message: MessageField::some(wa::message::FutureProofMessage {
                message: MessageField::some(wa::Message {
                    document_message: MessageField::some(wa::message::DocumentMessage {
                        file_name: Some("report.pdf".into()),
                        caption: Some("the report".into()),
                        mimetype: Some("application/pdf".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        };
        assert_eq!(text_of(&doc).as_deref(), Some("the report"));
        let (media, reference) = media_of(&doc);
        let info = media.expect("media").info;
        assert_eq!(info.kind, MediaKind::Document);
        assert_eq!(info.file_name.as_deref(), Some("report.pdf"));
        assert!(reference.is_none(), "no CDN fields: nothing to download");
    }
}
