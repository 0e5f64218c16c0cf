//! Media in answers and event bodies, one rule for every dialect.
//!
//! - [`download`]: a stored message's media as a binary answer (RyzeAPI's and
//!   sessions/v1's downloads), the bytes attached by the host (`core.attach-media`),
//!   so a file of any stored size is served whatever the plugin's memory cap.
//! - [`inline_base64`]: the bytes inlined in event bodies (Evolution's
//!   `webhookBase64`, RyzeAPI's `mediaBase64`). Call it from `render-event`: a render
//!   acts as a read-only caller bound to the event's instance, so its `core.get-media`
//!   reads that instance's stored media and nothing else.

use crate::types::{CoreError, HttpResponse, InstanceRef, MediaEncoding, Message};

/// A stored message's media as a binary answer: 200 with its bytes, its
/// `content-type` and, when it has a file name, `content-disposition: attachment`.
/// The errors are `core.attach-media`'s, for the dialect to word.
pub fn download(which: &InstanceRef, message_id: &str) -> Result<HttpResponse, CoreError> {
    let attached = crate::core::attach_media(which, message_id, MediaEncoding::Raw)?;
    let mut headers = vec![crate::http::header("content-type", &attached.info.mimetype)];
    if let Some(name) = &attached.info.file_name {
        headers.push(crate::http::header(
            "content-disposition",
            &attachment_disposition(name),
        ));
    }
    Ok(HttpResponse {
        status: 200,
        headers,
        body: attached.reference.into_bytes(),
    })
}

/// `attachment; filename="<name>"`, every character a quoted string cannot carry
/// plainly (quotes, backslashes, controls, non-ASCII) made `_`.
pub fn attachment_disposition(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attachment; filename=\"{safe}\"")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_is_made_safe_for_its_quoted_string() {
        assert_eq!(
            attachment_disposition("report \"Q3\"\\é.pdf"),
            "attachment; filename=\"report _Q3___.pdf\""
        );
    }
}
