//! Media bytes inlined in event bodies (Evolution's `webhookBase64`, RyzeAPI's
//! `mediaBase64`): one rule for every dialect that offers it.
//!
//! Call [`inline_base64`] from `render-event`: a render acts as a read-only caller
//! bound to the event's instance, so its `core.get-media` reads that instance's
//! stored media and nothing else.

use crate::types::{InstanceRef, Message};

/// Largest media whose bytes an event body carries. Larger files (and files not
/// stored) leave the body without bytes: every dialect also serves media by id, in
/// any size, and a webhook body of tens of megabytes would stall its queue.
pub const MAX_INLINE_BYTES: u64 = 5 * 1024 * 1024;

/// The base64 of `m`'s stored media when it has some of at most [`MAX_INLINE_BYTES`];
/// `None` otherwise (no media, not stored yet, too large, or gone meanwhile).
pub fn inline_base64(instance_id: &str, m: &Message) -> Option<String> {
    let info = m.media.as_ref()?;
    if !info.stored || info.size > MAX_INLINE_BYTES {
        return None;
    }
    let file = crate::core::get_media(&InstanceRef::Id(instance_id.to_string()), &m.id).ok()?;
    Some(crate::base64::encode(&file.bytes))
}
