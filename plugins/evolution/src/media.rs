//! Media routes, as Evolution API v2 serves them (`sendMessage.router.ts`,
//! `chat.router.ts`): `sendMedia` (JSON, or multipart with a `file` field),
//! `sendWhatsAppAudio` (a voice note), `sendSticker`, `sendPtv` (a round video note),
//! and `getBase64FromMediaMessage`; and a media message's content as Baileys writes it
//! (`imageMessage`, `documentMessage`, ...).
//!
//! A `media`/`audio`/`sticker`/`video` value is a URL (the host fetches it, never this
//! plugin) or base64; anything else is Evolution's 400 "Owned media must be a url or
//! base64". As Evolution does, the host makes a PNG or JPEG sticker a 512x512 WebP and
//! a voice note Opus in Ogg (with ffmpeg, when the host has it): see the README.

use serde_json::{Map, Value, json as j};
use wagate_plugin_sdk::multipart;
use wagate_plugin_sdk::prelude::*;

use crate::chat::raw;
use crate::input::bad;
use crate::shape::Style;
use crate::{Cap, Reply, core_error, guard, run};

/// The media routes, added to the dialect's router.
pub(crate) fn routes(r: Router) -> Router {
    r.post("/message/sendMedia/{instanceName}", |r, p| {
        run(r, p, send_media)
    })
    .post("/message/sendWhatsAppAudio/{instanceName}", |r, p| {
        run(r, p, send_audio)
    })
    .post("/message/sendSticker/{instanceName}", |r, p| {
        run(r, p, send_sticker)
    })
    .post("/message/sendPtv/{instanceName}", |r, p| {
        run(r, p, send_ptv)
    })
    .post("/chat/getBase64FromMediaMessage/{instanceName}", |r, p| {
        run(r, p, get_base64)
    })
}

/// A send's body: the JSON object, or a multipart form's text fields with its `file`.
pub(crate) struct Form {
    pub(crate) fields: Value,
    pub(crate) file: Option<Upload>,
}

pub(crate) struct Upload {
    /// The bytes, or the host's reference to them (a large part, see plugin.toml).
    source: Option<MediaSource>,
    file_name: Option<String>,
    content_type: Option<String>,
}

pub(crate) fn form(req: &Request) -> Result<Form, HttpResponse> {
    let Some(boundary) = req.header("content-type").and_then(multipart::boundary) else {
        return Ok(Form {
            fields: crate::input::body(req)?,
            file: None,
        });
    };
    let parts = multipart::parse(&req.raw.body, &boundary).map_err(|e| bad(&e.to_string()))?;
    let mut fields = Map::new();
    let mut file = None;
    for part in parts {
        if part.name == "file" {
            file = Some(Upload {
                source: Some(wagate_plugin_sdk::uploads::part_source(part.data)),
                file_name: part.file_name.clone(),
                content_type: part.content_type.clone(),
            });
        } else if let Some(text) = part.text() {
            // Form fields are text; the few structured ones arrive as JSON text.
            let value = match part.name.as_str() {
                "mentioned" | "quoted" | "delay" => {
                    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into()))
                }
                _ => Value::String(text.into()),
            };
            fields.insert(part.name.clone(), value);
        }
    }
    Ok(Form {
        fields: Value::Object(fields),
        file,
    })
}

/// Where the bytes come from: the upload, else the field as a URL or base64.
pub(crate) fn source(form: &mut Form, field: &str) -> Result<(MediaSource, bool), HttpResponse> {
    if let Some(source) = form.file.as_mut().and_then(|up| up.source.take()) {
        return Ok((source, false));
    }
    let owned = || bad("Owned media must be a url or base64");
    let value = match form.fields.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => return Err(owned()),
    };
    match wagate_plugin_sdk::uploads::text_source(&value) {
        Some(MediaSource::Url(url)) => Ok((MediaSource::Url(url), false)),
        Some(inline) => Ok((inline, true)),
        None => Err(owned()),
    }
}

/// The options every send shares: `quoted.key.id` and `mentioned`.
fn options(body: &Value) -> Result<(Option<String>, Vec<String>), HttpResponse> {
    let quoted = match body.pointer("/quoted/key/id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
        Some(_) => return Err(bad("quoted.key.id is not of a type(s) string")),
    };
    let mentioned = match body.get("mentioned") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) if s.starts_with(|c: char| c.is_ascii_digit()) => Ok(s.clone()),
                _ => Err(bad("\"mentioned\" must be an array of numeric strings")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("mentioned is not of a type(s) array")),
    };
    Ok((quoted, mentioned))
}

fn opt_string(body: &Value, key: &str) -> Result<Option<String>, HttpResponse> {
    crate::input::opt_str(body, key).map(|s| s.filter(|s| !s.is_empty()))
}

/// Sends and answers the stored message as `sendText` does (201, `PENDING`).
fn send(instance: &Instance, field: &str, kind: MediaKind, mut form: Form) -> Reply {
    let number = crate::input::req_str(&form.fields, "number")?;
    let (quoted, mentions) = options(&form.fields)?;
    let caption = opt_string(&form.fields, "caption")?;
    let mut file_name = opt_string(&form.fields, "fileName")?;
    let mut mimetype = opt_string(&form.fields, "mimetype")?;
    if let Some(up) = &form.file {
        file_name = file_name.or_else(|| up.file_name.clone());
        mimetype = mimetype.or_else(|| up.content_type.clone());
    }
    let (source, was_base64) = source(&mut form, field)?;
    if was_base64 && file_name.is_none() && kind == MediaKind::Document {
        return Err(bad("For base64 the file name must be informed."));
    }
    let media = MediaSend {
        kind,
        source,
        mimetype,
        file_name,
        caption,
        duration_secs: None,
        quoted,
        mentions,
    };
    let to = crate::chat::strip_device(&number);
    let sent = core::send_media(&InstanceRef::Id(instance.id.clone()), &to, &media)
        .map_err(|e| core_error(&e))?;
    let mut out = raw(&sent, &instance.id);
    out.status = Some("PENDING");
    Ok(json(201, &out))
}

/// `POST /message/sendMedia/{instanceName}`: `{number, mediatype, mimetype?, caption?,
/// fileName?, media}` or the same as a form with `file`.
fn send_media(req: &Request, name: &str) -> Reply {
    // Evolution's guards run before its body validation.
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let form = form(req)?;
    let kind = match form.fields.get("mediatype") {
        None | Some(Value::Null) => return Err(bad("instance requires property \"mediatype\"")),
        Some(Value::String(t)) => match t.as_str() {
            "image" => MediaKind::Image,
            "video" => MediaKind::Video,
            "audio" => MediaKind::Audio,
            "document" => MediaKind::Document,
            // `MediaType` has it; the schema's enum does not, the service sends a ptv.
            "ptv" => MediaKind::VideoNote,
            _ => {
                return Err(bad(
                    "mediatype is not one of enum values: image,document,video,audio",
                ));
            }
        },
        Some(_) => return Err(bad("mediatype is not of a type(s) string")),
    };
    send(&instance, "media", kind, form)
}

/// `POST /message/sendWhatsAppAudio/{instanceName}`: `{number, audio}`, sent as a
/// push-to-talk voice note.
fn send_audio(req: &Request, name: &str) -> Reply {
    // Evolution's guards run before its body validation.
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let form = form(req)?;
    send(&instance, "audio", MediaKind::Voice, form)
}

/// `POST /message/sendSticker/{instanceName}`: `{number, sticker}` (WebP).
fn send_sticker(req: &Request, name: &str) -> Reply {
    // Evolution's guards run before its body validation.
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let form = form(req)?;
    send(&instance, "sticker", MediaKind::Sticker, form)
}

/// `POST /message/sendPtv/{instanceName}`: `{number, video}`, a round video note.
fn send_ptv(req: &Request, name: &str) -> Reply {
    // Evolution's guards run before its body validation.
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let form = form(req)?;
    send(&instance, "video", MediaKind::VideoNote, form)
}

/// `POST /chat/getBase64FromMediaMessage/{instanceName}`: `{message: {key: {id}},
/// convertToMp4?}` -> 201 `{mediaType, fileName, caption, size, mimetype, base64,
/// buffer: null}`. Evolution answers every failure here with 400 and the reason.
/// `convertToMp4` is accepted; the audio comes back as stored (no transcoding).
fn get_base64(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let body = crate::input::body(req)?;
    let id = crate::input::req_str(&body, "message.key.id")?;
    let which = InstanceRef::Id(instance.id.clone());
    let message = match core::get_message(&which, &id) {
        Ok(m) => m,
        Err(CoreError::NotFound(_)) => return Err(bad("Message not found")),
        Err(e) => return Err(core_error(&e)),
    };
    let Some(info) = &message.media else {
        return Err(bad("The message is not of the media type"));
    };
    // The bytes are attached by the host (`core.attach-media`), never copied in here,
    // so a file of any stored size is answered.
    let attached = match core::attach_media(&which, &id, MediaEncoding::Base64) {
        Ok(a) => a,
        Err(CoreError::NotFound(m)) => return Err(bad(&m.message)),
        Err(e) => return Err(core_error(&e)),
    };
    let file_name = info
        .file_name
        .clone()
        .unwrap_or_else(|| format!("{}.{}", message.id, extension(&info.mimetype)));
    Ok(json(
        201,
        &j!({
            "mediaType": message_type(info.kind),
            "fileName": file_name,
            "caption": message.text,
            "size": {
                "fileLength": info.size.to_string(),
                "height": info.height,
                "width": info.width,
            },
            "mimetype": info.mimetype,
            "base64": attached.reference,
            "buffer": null,
        }),
    ))
}

/// Baileys' message type of a kind.
pub(crate) fn message_type(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "imageMessage",
        MediaKind::Video => "videoMessage",
        MediaKind::Audio | MediaKind::Voice => "audioMessage",
        MediaKind::Document => "documentMessage",
        MediaKind::Sticker => "stickerMessage",
        MediaKind::VideoNote => "ptvMessage",
    }
}

/// A media message's type and `message` content as Baileys writes it (the fields
/// wagate knows; `url`, `mediaKey` and `directPath` are WhatsApp's CDN details, which
/// clients fetch through `getBase64FromMediaMessage` instead).
pub(crate) fn content(info: &MediaInfo, caption: Option<&str>) -> (&'static str, Value) {
    let kind = message_type(info.kind);
    let mut inner = Map::new();
    inner.insert("mimetype".into(), j!(info.mimetype));
    if !info.sha256.is_empty() {
        inner.insert("fileSha256".into(), j!(hex_to_base64(&info.sha256)));
    }
    inner.insert("fileLength".into(), j!(info.size.to_string()));
    if let Some(c) = caption {
        inner.insert("caption".into(), j!(c));
    }
    if let Some(n) = &info.file_name {
        inner.insert("fileName".into(), j!(n));
        if info.kind == MediaKind::Document {
            inner.insert("title".into(), j!(n));
        }
    }
    if let Some(s) = info.duration_secs {
        inner.insert("seconds".into(), j!(s));
    }
    if let Some(w) = info.width {
        inner.insert("width".into(), j!(w));
    }
    if let Some(h) = info.height {
        inner.insert("height".into(), j!(h));
    }
    match info.kind {
        MediaKind::Audio => {
            inner.insert("ptt".into(), j!(false));
        }
        MediaKind::Voice => {
            inner.insert("ptt".into(), j!(true));
        }
        MediaKind::Sticker => {
            inner.insert("isAnimated".into(), j!(false));
        }
        _ => {}
    }
    let mut outer = Map::new();
    outer.insert(kind.into(), Value::Object(inner));
    (kind, Value::Object(outer))
}

/// Baileys writes hashes as base64 of the raw bytes; core keeps them as hex.
fn hex_to_base64(hex: &str) -> String {
    let bytes: Option<Vec<u8>> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    bytes.map_or_else(String::new, |b| wagate_plugin_sdk::base64::encode(&b))
}

/// The extension Evolution's `mime-types` would give (the common ones).
pub(crate) fn extension(mimetype: &str) -> &'static str {
    match mimetype.split(';').next().unwrap_or("").trim() {
        "image/jpeg" => "jpeg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "video/mp4" => "mp4",
        "audio/ogg" => "oga",
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}
