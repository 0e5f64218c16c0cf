//! Poll votes. WhatsApp encrypts each vote with its poll's message secret (32 random
//! bytes the poll's author puts in the poll's `messageContextInfo`), keyed by the
//! poll's id, its author and the voter. So the gateway keeps each poll's secret, its
//! own polls' (the link hands it back on send) and inbound ones', in
//! [`tables::POLL_SECRETS`], apart from the message, so no dialect renders it; and on a
//! vote, opens it and puts the voter's selection on the poll.
//!
//! A poll keeps the latest vote of each voter (an older vote arriving late does not
//! replace a newer one); a vote taken back is a vote for no option. A vote that cannot
//! be opened (no secret: a poll stored before the gateway kept them, or never seen;
//! the decryption failed; an option the poll has not) is kept with `error` saying why,
//! with no options, and reported like any other: nothing is dropped silently. A vote
//! on a message the gateway never stored is dropped (logged), as reactions are.
//!
//! The link reports the vote as WhatsApp sent it (still encrypted); the sim link
//! encrypts its injected votes the way a WhatsApp client does, so both go through
//! [`open_vote`].

use crate::store::kv::{ReadableTable, WriteTx};
use whatsapp_rust::wacore::poll;

use super::Core;
use super::messages::load_message;
use super::model::{Content, CoreResult, EventPayload, Poll, PollVote, PollVoteUpdate};
use crate::core::outbox;
use crate::store::{encode, internal, tables};
use crate::whatsapp::InboundPollVote;

impl Core {
    /// Keeps a poll's message secret for the votes to come, unless the instance was
    /// deleted meanwhile.
    pub(crate) async fn keep_poll_secret(
        &self,
        instance_id: &str,
        poll_id: &str,
        secret: Vec<u8>,
    ) -> CoreResult<()> {
        let (instance_id, poll_id) = (instance_id.to_string(), poll_id.to_string());
        self.store
            .write(move |tx| {
                if super::records::live_record(tx, &instance_id)?.is_some() {
                    put_poll_secret(tx, &instance_id, &poll_id, &secret)?;
                }
                Ok(())
            })
            .await
    }

    /// Opens a vote the link reported and puts it on its poll, with a `poll-vote`
    /// event, in one commit. `None` when the poll is not stored (or is not a poll), or
    /// when the voter already has a newer vote on it.
    pub async fn ingest_poll_vote(
        &self,
        instance_id: &str,
        vote: InboundPollVote,
    ) -> CoreResult<Option<PollVoteUpdate>> {
        let Some(instance) = self.instance_of(instance_id)? else {
            return Ok(None);
        };
        let (chat, poll_id) = (vote.chat_jid.clone(), vote.poll_id.clone());
        let update = self
            .store
            .write(move |tx| -> CoreResult<Option<PollVoteUpdate>> {
                let Some((key, mut message)) = load_message(tx, &instance.id, &vote.poll_id)?
                else {
                    return Ok(None);
                };
                let Some(Content::Poll(poll)) = &message.content else {
                    return Ok(None);
                };
                let secret = poll_secret(tx, &instance.id, &vote.poll_id)?;
                let opened = match secret {
                    Some(secret) => open_vote(&vote, &secret, poll),
                    None => Err("the poll's secret is not known to the gateway (a poll \
                                 stored before it kept them), so its votes cannot be read"
                        .to_string()),
                };
                let (options, error) = match opened {
                    Ok(options) => (options, None),
                    Err(why) => (Vec::new(), Some(why)),
                };
                let voted = PollVote {
                    id: vote.id.clone(),
                    voter: vote.voter.clone(),
                    options,
                    timestamp: vote.timestamp,
                    error,
                };
                if message
                    .poll_votes
                    .iter()
                    .any(|v| v.voter == voted.voter && v.timestamp > voted.timestamp)
                {
                    return Ok(None); // a newer vote of the same voter is on it already
                }
                message.poll_votes.retain(|v| v.voter != voted.voter);
                message.poll_votes.push(voted.clone());
                tx.open_table(tables::MESSAGES)
                    .map_err(internal)?
                    .insert(key.as_slice(), encode(&message).as_slice())
                    .map_err(internal)?;
                let update = PollVoteUpdate {
                    message,
                    vote: voted,
                };
                outbox::append(
                    tx,
                    &outbox::event_for(&instance, EventPayload::PollVote(update.clone())),
                )?;
                Ok(Some(update))
            })
            .await?;
        if update.is_none() {
            tracing::debug!(instance = %instance_id, %chat, poll = %poll_id, "poll vote on a poll not stored, or superseded");
        }
        Ok(update)
    }
}

/// Stores a poll's secret (in the caller's commit).
pub(crate) fn put_poll_secret(
    tx: &WriteTx,
    instance_id: &str,
    poll_id: &str,
    secret: &[u8],
) -> CoreResult<()> {
    tx.open_table(tables::POLL_SECRETS)
        .map_err(internal)?
        .insert(
            tables::message_id_key(instance_id, poll_id).as_slice(),
            secret,
        )
        .map_err(internal)?;
    Ok(())
}

fn poll_secret(tx: &WriteTx, instance_id: &str, poll_id: &str) -> CoreResult<Option<Vec<u8>>> {
    let table = tx.open_table(tables::POLL_SECRETS).map_err(internal)?;
    let got = table
        .get(tables::message_id_key(instance_id, poll_id).as_slice())
        .map_err(internal)?;
    Ok(got.map(|v| v.value().to_vec()))
}

/// The options a vote selects, by name in the poll's order; or why it cannot be read.
/// Tries the addressing the vote came with, then its other namespace (LID <-> phone)
/// when the link knows it.
pub fn open_vote(
    vote: &InboundPollVote,
    secret: &[u8],
    poll: &Poll,
) -> Result<Vec<String>, String> {
    let alternate = vote
        .alternate
        .as_ref()
        .map(|(creator, voter)| poll::PollVoteAddressing {
            poll_creator_jid: creator,
            voter_jid: voter,
        });
    let hashes = poll::decrypt_poll_vote_with_fallback(
        poll::PollVoteCiphertext {
            enc_payload: &vote.enc_payload,
            enc_iv: &vote.enc_iv,
        },
        secret,
        &vote.poll_id,
        poll::PollVoteAddressing {
            poll_creator_jid: &vote.poll_creator,
            voter_jid: &vote.voter,
        },
        alternate,
    )
    .map_err(|e| format!("the vote could not be decrypted: {e}"))?;
    option_names(&hashes, poll)
}

/// The options a vote selects, named: votes name options by the SHA-256 of their
/// text. In the poll's order; an unknown hash is an error.
pub fn option_names<H: AsRef<[u8]>>(hashes: &[H], poll: &Poll) -> Result<Vec<String>, String> {
    let by_hash: Vec<([u8; 32], &String)> = poll
        .options
        .iter()
        .map(|o| (poll::compute_option_hash(o), o))
        .collect();
    let mut selected = Vec::with_capacity(hashes.len());
    for hash in hashes {
        match by_hash.iter().find(|(h, _)| h.as_slice() == hash.as_ref()) {
            Some((_, name)) => selected.push((*name).clone()),
            None => return Err("the vote selects an option the poll does not have".into()),
        }
    }
    selected.sort_by_key(|name| poll.options.iter().position(|o| o == name));
    selected.dedup();
    Ok(selected)
}
