//! Media, as quick-whatsapp-gateway's API shapes it: `POST /sessions/{sid}/messages`
//! with `type` one of `image`, `video`, `audio`, `voice`, `document`, `sticker` and
//! `media: {data | url, mimetype?, filename?, caption?}` (exactly one of `data`, base64,
//! and `url`, which the gateway fetches), plus `caption`, `replyTo` and `mentions`; and
//! `GET /sessions/{sid}/messages/{mid}/media`, the stored bytes with their type
//! (quick-whatsapp-gateway keeps metadata only; wagate stores and serves the bytes).

use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;

use crate::api::{Cap, Within, checked, core_failure, session_ref, sid};

/// The message types that carry media, and their kinds.
pub(crate) fn kind_of(t: &str) -> Option<MediaKind> {
    Some(match t {
        "image" => MediaKind::Image,
        "video" => MediaKind::Video,
        "audio" => MediaKind::Audio,
        "voice" => MediaKind::Voice,
        "document" => MediaKind::Document,
        "sticker" => MediaKind::Sticker,
        "video_note" => MediaKind::VideoNote,
        _ => return None,
    })
}

/// A media send; `obj` is the body, whose `type` names a media kind.
pub(crate) fn send(
    req: &Request,
    sid: &str,
    obj: &Map<String, Value>,
    kind: MediaKind,
) -> HttpResponse {
    let mut fields = Map::new();
    for k in obj.keys() {
        if !["to", "type", "media", "caption", "replyTo", "mentions"].contains(&k.as_str()) {
            fields.insert(k.clone(), json!("unknown field"));
        }
    }
    let to = match obj.get("to") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => {
            fields.insert("to".into(), json!("required, a non-empty string"));
            None
        }
    };
    let text = |v: Option<&Value>, name: &str, fields: &mut Map<String, Value>| match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            fields.insert(name.into(), json!("must be a string"));
            None
        }
    };
    let reply_to = text(obj.get("replyTo"), "replyTo", &mut fields);
    let mut caption = text(obj.get("caption"), "caption", &mut fields);
    let mentions: Vec<String> = match obj.get("mentions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            fields.insert("mentions".into(), json!("must be an array of strings"));
            Vec::new()
        }
    };
    let mut media = None;
    match obj.get("media") {
        Some(Value::Object(m)) => {
            for k in m.keys() {
                if !["data", "url", "mimetype", "filename", "caption"].contains(&k.as_str()) {
                    fields.insert(format!("media.{k}"), json!("unknown field"));
                }
            }
            let mimetype = text(m.get("mimetype"), "media.mimetype", &mut fields);
            let file_name = text(m.get("filename"), "media.filename", &mut fields);
            if let Some(c) = text(m.get("caption"), "media.caption", &mut fields) {
                caption = caption.or(Some(c));
            }
            let data = text(m.get("data"), "media.data", &mut fields);
            let url = text(m.get("url"), "media.url", &mut fields);
            let source = match (data, url) {
                (Some(d), None) if wagate_plugin_sdk::uploads::source(&d).is_some() => {
                    wagate_plugin_sdk::uploads::source(&d)
                }
                (Some(d), None) => {
                    let compact: String = d.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                    match wagate_plugin_sdk::base64::decode(&compact) {
                        Some(b) if !b.is_empty() => Some(MediaSource::Bytes(b)),
                        _ => {
                            fields.insert("media.data".into(), json!("must be non-empty base64"));
                            None
                        }
                    }
                }
                (None, Some(u)) => Some(MediaSource::Url(u)),
                _ => {
                    fields.insert("media".into(), json!("provide exactly one of data or url"));
                    None
                }
            };
            media = source.map(|source| (source, mimetype, file_name));
        }
        _ => {
            fields.insert("media".into(), json!("required for media types, an object"));
        }
    }
    let (Some(to), Some((source, mimetype, file_name)), true) = (to, media, fields.is_empty())
    else {
        return checked(
            req,
            sid,
            Cap::Send,
            Within::Session,
            crate::api::invalid_fields(fields),
        );
    };
    let send = MediaSend {
        kind,
        source,
        mimetype,
        file_name,
        caption,
        duration_secs: None,
        quoted: reply_to,
        mentions,
    };
    match core::send_media(&session_ref(sid), &to, &send) {
        Ok(m) => json(201, &crate::render::message(&m)),
        Err(e) => core_failure(req, e, sid, Cap::Send, Within::Session),
    }
}

/// `GET /sessions/{sid}/messages/{mid}/media`.
pub(crate) fn download(req: &Request, p: &Params) -> HttpResponse {
    let (sid, mid) = (sid(p), p.get("mid").unwrap_or_default());
    match wagate_plugin_sdk::media::download(&session_ref(&sid), mid) {
        Ok(resp) => resp,
        Err(e) => core_failure(req, e, &sid, Cap::Read, Within::Message),
    }
}

/// A kind's name in this dialect (the `type` a send names it by).
pub(crate) fn kind_name(k: MediaKind) -> &'static str {
    match k {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
        MediaKind::Voice => "voice",
        MediaKind::Document => "document",
        MediaKind::Sticker => "sticker",
        MediaKind::VideoNote => "video_note",
    }
}
