//! Evolution v2's S3 routes (`src/api/integrations/storage/s3/*`):
//! `POST /s3/getMedia/{instanceName}` and `POST /s3/getMediaUrl/{instanceName}`.
//!
//! Evolution keeps a `Media` row per file it put in its bucket; wagate keeps the media
//! record on the message, so a media row here is a stored message's media and its `id`
//! is the message's id. Evolution's `messageId` (its integer message row id) has no
//! counterpart: a body giving only it finds nothing. With no bucket configured Evolution
//! has no media rows, so both routes answer its 400 "Media not found"; wagate answers
//! the same when its media store is the data folder (`core.get-media-url` says none).

use serde_json::{Value, json as j};
use wagate_plugin_sdk::prelude::*;

use crate::input::bad;
use crate::shape::Style;
use crate::{Cap, Reply, core_error, guard, run};

/// Most media rows `getMedia` without an `id` walks the chats for (Evolution returns
/// every row; a bounded answer keeps one request from reading a whole history).
const MAX_ROWS: usize = 500;
/// Messages per page while walking.
const PAGE: u32 = 200;

/// The S3 routes, added to the dialect's router.
pub(crate) fn routes(r: Router) -> Router {
    r.post("/s3/getMedia/{instanceName}", |r, p| run(r, p, get_media))
        .post("/s3/getMediaUrl/{instanceName}", |r, p| {
            run(r, p, get_media_url)
        })
}

fn not_found() -> HttpResponse {
    bad("Media not found")
}

/// `{id?, type?, messageId?}` -> 201 `[{id, fileName, type, mimetype, createdAt,
/// Message}]`, or 400 "Media not found".
fn get_media(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let body = crate::input::body(req)?;
    let id = crate::input::opt_str(&body, "id")?.filter(|s| !s.is_empty());
    let kind = crate::input::opt_str(&body, "type")?.filter(|s| !s.is_empty());
    let message_id = crate::input::opt_uint(&body, "messageId")?;
    let which = InstanceRef::Id(instance.id.clone());
    if message_id.is_some() {
        // Evolution's integer message row id: wagate has none, so nothing matches.
        return Err(not_found());
    }
    let messages = match &id {
        Some(id) => match core::get_message(&which, id) {
            Ok(m) => vec![m],
            Err(CoreError::NotFound(_)) => return Err(not_found()),
            Err(e) => return Err(core_error(&e)),
        },
        None => stored_media(&which)?,
    };
    let rows: Vec<&Message> = messages
        .iter()
        .filter(|m| m.media.as_ref().is_some_and(|i| i.stored))
        .filter(|m| {
            kind.as_deref().is_none_or(|k| {
                m.media
                    .as_ref()
                    .is_some_and(|i| crate::media::message_type(i.kind) == k)
            })
        })
        .collect();
    let Some(first) = rows.first() else {
        return Err(not_found());
    };
    // No bucket: Evolution has no media rows at all.
    if bucket_url(&which, &first.id, Some(1))?.is_none() {
        return Err(not_found());
    }
    let out: Vec<Value> = rows.iter().map(|m| row(m, &instance.id)).collect();
    Ok(json(201, &Value::Array(out)))
}

/// `{id, expiry?}` -> 200 `{mediaUrl, id, fileName, type, mimetype, createdAt,
/// Message}`; `expiry` in seconds (a numeric string, as Evolution's schema wants),
/// capped by the operator's `url_expiry_max_secs`.
fn get_media_url(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let body = crate::input::body(req)?;
    let id = crate::input::req_str(&body, "id")?;
    if id.is_empty() {
        return Err(bad("The \"id\" cannot be empty"));
    }
    let expiry = match crate::input::opt_uint(&body, "expiry")? {
        Some(0) => return Err(bad("expiry must be a positive number of seconds")),
        Some(s) => Some(u32::try_from(s).unwrap_or(u32::MAX)),
        None => None,
    };
    let which = InstanceRef::Id(instance.id.clone());
    let message = match core::get_message(&which, &id) {
        Ok(m) => m,
        Err(CoreError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(core_error(&e)),
    };
    if !message.media.as_ref().is_some_and(|i| i.stored) {
        return Err(not_found());
    }
    let Some(url) = bucket_url(&which, &id, expiry)? else {
        return Err(not_found());
    };
    let mut out = j!({ "mediaUrl": url.url });
    if let (Value::Object(o), Value::Object(r)) = (&mut out, row(&message, &instance.id)) {
        o.extend(r);
    }
    Ok(json(200, &out))
}

/// The presigned URL of a message's media; `None` without a bucket.
fn bucket_url(
    which: &InstanceRef,
    id: &str,
    expiry: Option<u32>,
) -> Result<Option<MediaUrl>, HttpResponse> {
    match core::get_media_url(which, id, expiry) {
        Ok(u) => Ok(u),
        Err(CoreError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(core_error(&e)),
    }
}

/// Every message with stored media, newest chats first, up to [`MAX_ROWS`].
fn stored_media(which: &InstanceRef) -> Result<Vec<Message>, HttpResponse> {
    let mut out = Vec::new();
    for chat in core::list_chats(which).map_err(|e| core_error(&e))? {
        let mut cursor: Option<String> = None;
        loop {
            let page = core::list_messages(which, &chat.jid, PAGE, cursor.as_deref())
                .map_err(|e| core_error(&e))?;
            out.extend(
                page.messages
                    .into_iter()
                    .filter(|m| m.media.as_ref().is_some_and(|i| i.stored)),
            );
            if out.len() >= MAX_ROWS {
                out.truncate(MAX_ROWS);
                return Ok(out);
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    Ok(out)
}

/// Evolution's media row: `fileName` is the file's name (Evolution's is its object
/// path in the bucket), `Message` the message row as `findMessages` shows it.
fn row(m: &Message, instance_id: &str) -> Value {
    let info = m.media.as_ref().expect("rows are media messages");
    let file_name = info
        .file_name
        .clone()
        .unwrap_or_else(|| format!("{}.{}", m.id, crate::media::extension(&info.mimetype)));
    j!({
        "id": m.id,
        "fileName": file_name,
        "type": crate::media::message_type(info.kind),
        "mimetype": info.mimetype,
        "createdAt": crate::util::iso(m.timestamp),
        "Message": crate::chat::record(m, instance_id),
    })
}
