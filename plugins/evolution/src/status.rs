//! `POST /message/sendStatus/{instanceName}`: a status update ("story"), to Evolution's
//! `SendStatusDto` `{type, content, caption?, backgroundColor?, font?, statusJidList?,
//! allContacts?}` (JSON, or a form with a `file` standing for `content`), checked as
//! its `statusMessageSchema` and `formatStatusMessage` check it, in that order:
//! `type` one of text, image, video, audio; `font` an integer 0-5; `statusJidList` a
//! non-empty array of numeric strings; then `content` required; with `allContacts`,
//! the instance's contacts that have a push name ("Contacts not found" when none),
//! else `statusJidList` required; a text needs `backgroundColor` (`#RRGGBB` or
//! `#AARRGGBB`) and a non-zero `font` (Evolution's own check). Answered 201 with the
//! stored message as `sendText` answers (`key.remoteJid` `status@broadcast`). An
//! image, video or audio `content` is a URL or base64, as `sendMedia`'s `media`.
//!
//! Fonts: Evolution's 0-5 are Baileys' old font numbers; WhatsApp's current enum keeps
//! 0-2 (sans-serif, serif, script) and shows the retired 3-5 in its default font.

use serde_json::Value;
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{StatusContent, StatusPost, StatusText};

use crate::chat::raw;
use crate::input::bad;
use crate::shape::Style;
use crate::{Cap, Reply, core_error, guard};

/// `POST /message/sendStatus/{instanceName}`.
pub(crate) fn send_status(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let mut form = crate::media::form(req)?;
    let body = form.fields.clone();
    // statusMessageSchema
    let kind = match body.get("type") {
        None | Some(Value::Null) => return Err(bad("instance requires property \"type\"")),
        Some(Value::String(t)) if ["text", "image", "audio", "video"].contains(&t.as_str()) => {
            t.clone()
        }
        Some(_) => {
            return Err(bad(
                "type is not one of enum values: text,image,audio,video",
            ));
        }
    };
    let font = match body.get("font") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(f) if f <= 5 => Some(f as u32),
            Some(_) => return Err(bad("font must be less than or equal to 5")),
            None => return Err(bad("font is not of a type(s) integer")),
        },
        Some(_) => return Err(bad("font is not of a type(s) integer")),
    };
    let jid_list = match body.get("statusJidList") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if !items.is_empty() => Some(
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) if s.starts_with(|c: char| c.is_ascii_digit()) => {
                        Ok(s.clone())
                    }
                    _ => Err(bad("\"statusJidList\" must be an array of numeric strings")),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(Value::Array(_)) => {
            return Err(bad("statusJidList does not meet minimum length of 1"));
        }
        Some(_) => return Err(bad("statusJidList is not of a type(s) array")),
    };
    let all_contacts = crate::input::opt_bool(&body, "allContacts")?.unwrap_or(false);
    // formatStatusMessage
    let content = crate::input::opt_str(&body, "content")?.filter(|c| !c.is_empty());
    if content.is_none() && form.file.is_none() {
        return Err(bad("Content is required"));
    }
    let which = InstanceRef::Id(instance.id.clone());
    let recipients = if all_contacts {
        let contacts: Vec<String> = core::all_contacts(&which)
            .map_err(|e| core_error(&e))?
            .into_iter()
            .filter(|c| c.push_name.is_some() || c.saved_name.is_some())
            .map(|c| c.jid)
            .collect();
        if contacts.is_empty() {
            return Err(bad("Contacts not found"));
        }
        contacts
    } else {
        jid_list.ok_or_else(|| bad("StatusJidList is required"))?
    };
    let content = if kind == "text" {
        let background = crate::input::opt_str(&body, "backgroundColor")?
            .filter(|c| !c.is_empty())
            .ok_or_else(|| bad("Background color is required"))?;
        let background_argb = argb(&background)
            .ok_or_else(|| bad("backgroundColor must be a hex colour, #RRGGBB or #AARRGGBB"))?;
        let font = font
            .filter(|f| *f != 0)
            .ok_or_else(|| bad("Font is required"))?;
        StatusContent::Text(StatusText {
            text: content.unwrap_or_default(),
            background_argb,
            font,
        })
    } else {
        let (source, _) = crate::media::source(&mut form, "content")?;
        StatusContent::Media(MediaSend {
            kind: match kind.as_str() {
                "image" => MediaKind::Image,
                "video" => MediaKind::Video,
                // Evolution posts audio as a voice note (`ptt: true`).
                _ => MediaKind::Voice,
            },
            source,
            mimetype: None,
            file_name: None,
            caption: crate::input::opt_str(&body, "caption")?.filter(|c| !c.is_empty()),
            duration_secs: None,
            quoted: None,
            mentions: Vec::new(),
        })
    };
    let sent = core::send_status(
        &which,
        &StatusPost {
            content,
            recipients,
        },
    )
    .map_err(|e| core_error(&e))?;
    let mut out = raw(&sent, &instance.id);
    out.status = Some("PENDING");
    Ok(json(201, &out))
}

/// `#RRGGBB` (opaque) or `#AARRGGBB` as `0xAARRGGBB`.
fn argb(colour: &str) -> Option<u32> {
    let hex = colour.trim().strip_prefix('#').unwrap_or(colour.trim());
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        6 => u32::from_str_radix(hex, 16)
            .ok()
            .map(|rgb| 0xFF00_0000 | rgb),
        8 => u32::from_str_radix(hex, 16).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::argb;

    #[test]
    fn colours_read_as_argb() {
        assert_eq!(argb("#008000"), Some(0xFF00_8000));
        assert_eq!(argb("80FF0000"), Some(0x80FF_0000));
        assert_eq!(argb("#12345"), None);
        assert_eq!(argb("green"), None);
    }
}
