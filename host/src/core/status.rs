//! Status updates ("stories"): a text on a coloured background, or an image, a video
//! or a voice note, posted to the account's status for the contacts named. WhatsApp
//! delivers a status to each recipient's devices, so the recipients are given, not
//! inferred (a dialect may expand "all contacts" from the contacts the gateway knows).
//! A posted status is stored as the account's own message in the `status@broadcast`
//! chat, where WhatsApp keeps them.

use super::Core;
use super::jid;
use super::media::SendMedia;
use super::messages::MAX_TEXT_CHARS;
use super::model::{Capability, CoreError, CoreResult, InstanceRef, MediaKind, Message, Principal};
use crate::whatsapp::OutboundStatus;

/// The chat WhatsApp keeps status updates in.
pub const STATUS_CHAT: &str = "status@broadcast";

/// The most recipients one status names (a status goes to each of their devices).
pub const MAX_STATUS_RECIPIENTS: usize = 5_000;

/// WhatsApp's status fonts (`ExtendedTextMessage.FontType`): 0-2 and 6-10.
const FONTS: [u32; 8] = [0, 1, 2, 6, 7, 8, 9, 10];

/// What a status shows.
#[derive(Clone, Debug)]
pub enum StatusContent {
    /// A text on a background.
    Text {
        /// The text.
        text: String,
        /// The background, `0xAARRGGBB`.
        background_argb: u32,
        /// One of WhatsApp's status fonts (0-2, 6-10).
        font: u32,
    },
    /// An image, a video or a voice note (with a caption for the first two).
    Media(SendMedia),
}

/// A status to post.
#[derive(Clone, Debug)]
pub struct StatusPost {
    /// What it shows.
    pub content: StatusContent,
    /// Who sees it: numbers or JIDs of contacts.
    pub recipients: Vec<String>,
}

impl Core {
    /// Posts a status for `recipients` and stores it as the account's own message in
    /// the `status@broadcast` chat, stamped with `origin`. Needs `send`; `invalid` for
    /// no recipients (or too many), an empty or long text, a font WhatsApp has not, or
    /// media that is not an image, a video or audio.
    pub async fn send_status(
        &self,
        p: &Principal,
        which: &InstanceRef,
        post: StatusPost,
        origin: Option<&str>,
    ) -> CoreResult<Message> {
        let record = self.authorize(p, which, Capability::Send)?;
        let instance = record.instance;
        let recipients = recipients(&post.recipients)?;
        let (outbound, text, media) = match post.content {
            StatusContent::Text {
                text,
                background_argb,
                font,
            } => {
                if text.trim().is_empty() {
                    return Err(CoreError::Invalid("a status text must not be empty".into()));
                }
                if text.chars().count() > MAX_TEXT_CHARS {
                    return Err(CoreError::Invalid(format!(
                        "a status text is longer than {MAX_TEXT_CHARS} characters"
                    )));
                }
                if !FONTS.contains(&font) {
                    return Err(CoreError::Invalid(
                        "font must be one of WhatsApp's status fonts: 0, 1, 2 or 6 to 10".into(),
                    ));
                }
                let outbound = OutboundStatus::Text {
                    text: text.clone(),
                    background_argb,
                    font,
                };
                (outbound, Some(text), None)
            }
            StatusContent::Media(req) => {
                if !matches!(
                    req.kind,
                    MediaKind::Image | MediaKind::Video | MediaKind::Audio | MediaKind::Voice
                ) {
                    return Err(CoreError::Invalid(
                        "a status shows an image, a video or audio".into(),
                    ));
                }
                let (outbound, info) = self.outbound_media(&instance.id, req).await?;
                let caption = outbound.caption.clone();
                (OutboundStatus::Media(outbound), caption, Some(info))
            }
        };
        let sent = self
            .link
            .send_status(&instance.id, &outbound, &recipients)
            .await?;
        let message = Message {
            text,
            media,
            ..super::messages::sent_message(&instance, sent, STATUS_CHAT.to_string(), origin)
        };
        let bytes = match outbound {
            OutboundStatus::Media(m) => Some(m.bytes),
            OutboundStatus::Text { .. } => None,
        };
        self.commit_with_media(&instance, message, bytes, true)
            .await
    }
}

/// The recipients as JIDs of accounts (no groups, no duplicates), or why not.
fn recipients(given: &[String]) -> CoreResult<Vec<String>> {
    if given.is_empty() {
        return Err(CoreError::Invalid(
            "a status needs at least one recipient".into(),
        ));
    }
    if given.len() > MAX_STATUS_RECIPIENTS {
        return Err(CoreError::Invalid(format!(
            "a status goes to at most {MAX_STATUS_RECIPIENTS} recipients"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(given.len());
    for r in given {
        let jid = jid::normalize(r)?;
        if jid.ends_with("@g.us") {
            return Err(CoreError::Invalid(
                "a status goes to contacts, not to groups".into(),
            ));
        }
        if !out.contains(&jid) {
            out.push(jid);
        }
    }
    Ok(out)
}
