//! Media sends and download. No seed shows RyzeAPI's media routes, so they follow the
//! seeds' style (`/api/{area}/{action}/{instance}`, the `token` header, `{"success":...}`
//! envelopes) and are documented in this dialect's OpenAPI document:
//!
//! - `POST /message/{image|video|audio|document|sticker}/{instance}`: `{number, media,
//!   caption?, fileName?, mimetype?, ptt?, replyTo?, mentions?}`; `media` is an
//!   `http(s)` URL (the gateway fetches it) or base64 (a `data:` URL too). `ptt: true`
//!   sends audio as a voice note. Answers as `/message/text` does, with `content.media`.
//! - `GET /message/download/{instance}?messageId=`: the stored bytes with their
//!   `Content-Type`; `&format=base64` answers `{"success":true,"data":{...,"base64"}}`.

use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;

use crate::routes::{find_instance, require_connected, required, which};
use crate::{core_fail, fail, msg, ok};

/// The media routes, added to the dialect's router.
pub(crate) fn routes(r: Router) -> Router {
    r.post("/message/image/{instance}", |q, p| {
        send(q, p, MediaKind::Image)
    })
    .post("/message/video/{instance}", |q, p| {
        send(q, p, MediaKind::Video)
    })
    .post("/message/audio/{instance}", |q, p| {
        send(q, p, MediaKind::Audio)
    })
    .post("/message/document/{instance}", |q, p| {
        send(q, p, MediaKind::Document)
    })
    .post("/message/sticker/{instance}", |q, p| {
        send(q, p, MediaKind::Sticker)
    })
    .get("/message/download/{instance}", download)
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendBody {
    number: Option<String>,
    media: Option<String>,
    caption: Option<String>,
    file_name: Option<String>,
    mimetype: Option<String>,
    #[serde(default)]
    ptt: bool,
    reply_to: Option<String>,
    #[serde(default)]
    mentions: Vec<String>,
}

fn send(req: &Request, params: &Params, kind: MediaKind) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let b: SendBody = req.body()?;
    let number = required(b.number, msg::NUMBER_REQUIRED)?;
    let media = required(b.media, "Media is required")?;
    let kind = if kind == MediaKind::Audio && b.ptt {
        MediaKind::Voice
    } else {
        kind
    };
    let source = source(&media)?;
    require_connected(&instance)?;
    let send = MediaSend {
        kind,
        source,
        mimetype: b.mimetype.filter(|m| !m.trim().is_empty()),
        file_name: b.file_name.filter(|n| !n.trim().is_empty()),
        caption: b.caption,
        duration_secs: None,
        quoted: b.reply_to.filter(|r| !r.is_empty()),
        mentions: b.mentions,
    };
    let m = core::send_media(&which, &number, &send).map_err(|e| core_fail(&e))?;
    Ok(crate::routes::sent(&m))
}

/// A URL, base64, a `data:<type>;base64,` URL, or the host's reference to a large one
/// it decoded itself (`[uploads]` in plugin.toml).
fn source(media: &str) -> Result<MediaSource, HttpResponse> {
    wagate_plugin_sdk::uploads::text_source(media)
        .ok_or_else(|| fail(400, "Media must be an http(s) URL or base64"))
}

/// A message's media as the dialect's message shapes carry it (see
/// [`MediaView`](crate::message_view::MediaView)), for the shapes built as JSON trees.
pub(crate) fn media_json(i: &MediaInfo) -> Value {
    serde_json::to_value(crate::message_view::MediaView::of(i)).unwrap_or_default()
}

pub(crate) fn kind_name(k: MediaKind) -> &'static str {
    match k {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
        MediaKind::Voice => "ptt",
        MediaKind::Document => "document",
        MediaKind::Sticker => "sticker",
        MediaKind::VideoNote => "ptv",
    }
}

/// `GET /message/download/{instance}?messageId=[&format=base64]`.
fn download(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    find_instance(req, &which, Capabilities::READ)?;
    let id = required(req.query("messageId"), msg::MESSAGE_ID_REQUIRED)?;
    // Core words the cases of a stored message (no media, bytes not stored); an unknown
    // id is RyzeAPI's usual "message not found".
    let failed = |e: CoreError| match e {
        CoreError::NotFound(m)
            if m.kind == ResourceKind::Message && m.message != msg::MESSAGE_NOT_FOUND =>
        {
            fail(404, &crate::routes::sentence(&m.message))
        }
        other => core_fail(&other),
    };
    // The bytes are attached by the host (`core.attach-media`), never copied in here,
    // so a file of any stored size is served.
    match req.query("format").as_deref() {
        None | Some("") | Some("binary") => {
            wagate_plugin_sdk::media::download(&which, &id).map_err(failed)
        }
        Some("base64") => {
            let attached =
                core::attach_media(&which, &id, MediaEncoding::Base64).map_err(failed)?;
            Ok(ok(
                200,
                json!({
                    "success": true,
                    "data": {
                        "messageId": id,
                        "media": media_json(&attached.info),
                        "base64": attached.reference,
                    },
                }),
            ))
        }
        Some(_) => Err(fail(400, "format must be binary or base64")),
    }
}
