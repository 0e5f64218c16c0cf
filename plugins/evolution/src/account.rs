//! The account's picture, privacy and business profiles, to Evolution's chat router:
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | POST | /chat/updateProfilePicture/{i} | `{picture}`: a URL or base64 of a JPEG | 200 `{update: "success"}` |
//! | DELETE | /chat/removeProfilePicture/{i} | | 200 `{update: "success"}` |
//! | GET | /chat/fetchPrivacySettings/{i} | | 200 `{readreceipts, profile, status, online, last, groupadd}` |
//! | POST | /chat/updatePrivacySettings/{i} | the same six, all required | 201 `{update: "success", data: {...}}` |
//! | POST | /chat/fetchBusinessProfile/{i} | `{number?}` (absent: this account) | 200 `{isBusiness: true, wid, description, email, website, category, address, business_hours}`, or `{isBusiness: false, message: "Not is business profile", exists, jid, number}` (`exists` false for a number not on WhatsApp) |
//!
//! Where Evolution answers 500 for everything that goes wrong (its Baileys service
//! wraps each failure), wagate answers the caller's mistakes as 400 (no picture, not a
//! JPEG: WhatsApp takes JPEG and wagate does not convert images, an unreachable URL)
//! with Evolution's title ("Error updating profile picture") and the reason. The
//! privacy values are Evolution's schema's enums (its `groupadd: none`, which
//! WhatsApp does not take, is refused before anything changes). Reads need `read`; the picture and
//! privacy changes need `manage`, as the account's name does.

use serde_json::{Value, json as j};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{PrivacyCategory, PrivacySetting};

use crate::input::{self, bad};
use crate::shape::Style;
use crate::{Cap, Reply, core_error, guard, run};

/// Evolution's six privacy fields: (field, category, the values its schema takes).
const PRIVACY_FIELDS: [(&str, PrivacyCategory, &[&str]); 6] = [
    (
        "readreceipts",
        PrivacyCategory::ReadReceipts,
        &["all", "none"],
    ),
    (
        "profile",
        PrivacyCategory::ProfilePicture,
        &["all", "contacts", "contact_blacklist", "none"],
    ),
    (
        "status",
        PrivacyCategory::About,
        &["all", "contacts", "contact_blacklist", "none"],
    ),
    (
        "online",
        PrivacyCategory::Online,
        &["all", "match_last_seen"],
    ),
    (
        "last",
        PrivacyCategory::LastSeen,
        &["all", "contacts", "contact_blacklist", "none"],
    ),
    (
        "groupadd",
        PrivacyCategory::GroupAdd,
        &["all", "contacts", "contact_blacklist", "none"],
    ),
];

/// Adds the routes to `r`.
pub(crate) fn routes(r: Router) -> Router {
    r.post("/chat/updateProfilePicture/{instanceName}", |q, p| {
        run(q, p, update_picture)
    })
    .delete("/chat/removeProfilePicture/{instanceName}", |q, p| {
        run(q, p, remove_picture)
    })
    .get("/chat/fetchPrivacySettings/{instanceName}", |q, p| {
        run(q, p, fetch_privacy)
    })
    .post("/chat/updatePrivacySettings/{instanceName}", |q, p| {
        run(q, p, update_privacy)
    })
    .post("/chat/fetchBusinessProfile/{instanceName}", |q, p| {
        run(q, p, fetch_business)
    })
}

/// A picture field (`field` names it in messages): a URL or base64.
pub(crate) fn picture_source(body: &Value, field: &str) -> Result<MediaSource, HttpResponse> {
    let text = input::req_str(body, field)?;
    wagate_plugin_sdk::uploads::text_source(&text)
        .ok_or_else(|| bad(&format!("\"{field}\" must be a url or a base64")))
}

fn update_picture(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let body = input::body(req)?;
    let source = picture_source(&body, "picture")?;
    core::set_profile_picture(&InstanceRef::Id(instance.id), Some(&source))
        .map_err(|e| crate::profile::update_failed("picture", &e))?;
    Ok(json(200, &j!({ "update": "success" })))
}

fn remove_picture(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    core::set_profile_picture(&InstanceRef::Id(instance.id), None)
        .map_err(|e| crate::titled_error("Error removing profile picture", &e))?;
    Ok(json(200, &j!({ "update": "success" })))
}

/// Evolution's six fields from the account's settings (a category WhatsApp did not
/// report is null).
fn privacy_json(settings: &[PrivacySetting]) -> Value {
    let fields: Vec<(&str, PrivacyCategory)> =
        PRIVACY_FIELDS.iter().map(|(f, c, _)| (*f, *c)).collect();
    wagate_plugin_sdk::privacy_json(&fields, settings)
}

fn fetch_privacy(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let settings = core::get_privacy(&InstanceRef::Id(instance.id)).map_err(|e| core_error(&e))?;
    Ok(json(200, &privacy_json(&settings)))
}

fn update_privacy(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let body = input::body(req)?;
    let mut settings = Vec::with_capacity(PRIVACY_FIELDS.len());
    for (field, category, allowed) in PRIVACY_FIELDS {
        let given = input::req_str(&body, field)?;
        let value = wagate_plugin_sdk::privacy_value_of(&given)
            .filter(|_| allowed.contains(&given.as_str()))
            .ok_or_else(|| {
                bad(&format!(
                    "{field} is not one of enum values: {}",
                    allowed.join(",")
                ))
            })?;
        settings.push(PrivacySetting { category, value });
    }
    core::set_privacy(&InstanceRef::Id(instance.id), &settings)
        .map_err(|e| crate::titled_error("Error updating privacy settings", &e))?;
    Ok(json(
        201,
        &j!({ "update": "success", "data": privacy_json(&settings) }),
    ))
}

fn fetch_business(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let body = input::body(req)?;
    let number = input::opt_str(&body, "number")?.filter(|n| !n.trim().is_empty());
    let who = match &number {
        Some(n) => crate::chat::strip_device(n),
        None => instance.owner_jid.clone().ok_or_else(|| {
            core_error(&CoreError::NotConnected(
                "instance is not paired yet".into(),
            ))
        })?,
    };
    let which = InstanceRef::Id(instance.id.clone());
    let jid = if who.contains('@') {
        who.clone()
    } else {
        format!("{who}@s.whatsapp.net")
    };
    let not_business = |exists: bool| {
        j!({
            "isBusiness": false,
            "message": "Not is business profile",
            "exists": exists,
            "jid": jid,
            "number": number.clone().unwrap_or_else(|| jid.split('@').next().unwrap_or_default().to_string()),
        })
    };
    let profile = match core::get_business_profile(&which, &who) {
        Ok(p) => p,
        // Evolution answers a number not on WhatsApp as its number check does.
        Err(CoreError::NotFound(_)) => return Ok(json(200, &not_business(false))),
        Err(e) => return Err(core_error(&e)),
    };
    let answer = match profile {
        Some(p) => j!({
            "isBusiness": true,
            "wid": p.jid,
            "description": p.description,
            "email": p.email,
            "website": p.websites,
            "category": p.categories.first(),
            "address": p.address,
            // Baileys' shape: `business_config` per day, times in minutes after midnight.
            "business_hours": {
                "timezone": p.timezone,
                "business_config": p.hours.iter().map(|h| j!({
                    "day_of_week": h.day,
                    "mode": h.mode,
                    "open_time": h.open_minute,
                    "close_time": h.close_minute,
                })).collect::<Vec<_>>(),
            },
        }),
        None => not_business(true),
    };
    Ok(json(200, &answer))
}

/// The routes' OpenAPI path items.
pub(crate) fn openapi_paths() -> Vec<(&'static str, Value)> {
    use crate::openapi::{body, ok, op};
    let named = |mut o: Value, id: &str| {
        o["operationId"] = j!(id);
        o
    };
    let updated = || j!({ "type": "object", "required": ["update"], "properties": { "update": { "const": "success" } } });
    let mut privacy_props = serde_json::Map::new();
    for (field, _, allowed) in PRIVACY_FIELDS {
        privacy_props.insert(field.into(), j!({ "type": "string", "enum": allowed }));
    }
    let privacy = j!({ "type": "object", "properties": privacy_props.clone() });
    let required: Vec<&str> = PRIVACY_FIELDS.iter().map(|(f, _, _)| *f).collect();
    let privacy_body = j!({
        "type": "object", "required": required, "properties": privacy_props,
    });
    vec![
        (
            "/chat/updateProfilePicture/{instanceName}",
            j!({ "post": named(op(
                "Set this account's profile picture (a JPEG, by URL or base64)",
                "Chat",
                true,
                Some(body(j!({ "type": "object", "required": ["picture"], "properties": {
                    "picture": { "type": "string", "minLength": 1, "description": "An http(s) URL or base64 of a JPEG image (no conversion is done)" }
                } }))),
                ok("200", "Changed", updated()),
            ), "updateProfilePicture") }),
        ),
        (
            "/chat/removeProfilePicture/{instanceName}",
            j!({ "delete": named(op(
                "Remove this account's profile picture",
                "Chat",
                true,
                None,
                ok("200", "Removed", updated()),
            ), "removeProfilePicture") }),
        ),
        (
            "/chat/fetchPrivacySettings/{instanceName}",
            j!({ "get": named(op(
                "This account's privacy settings",
                "Chat",
                true,
                None,
                ok("200", "The settings", privacy),
            ), "fetchPrivacySettings") }),
        ),
        (
            "/chat/updatePrivacySettings/{instanceName}",
            j!({ "post": named(op(
                "Change this account's privacy settings (all six)",
                "Chat",
                true,
                Some(body(privacy_body.clone())),
                ok("201", "Changed", j!({ "type": "object", "required": ["update", "data"], "properties": {
                    "update": { "const": "success" }, "data": privacy_body
                } })),
            ), "updatePrivacySettings") }),
        ),
        (
            "/chat/fetchBusinessProfile/{instanceName}",
            j!({ "post": named(op(
                "A number's business profile (absent: this account's)",
                "Chat",
                true,
                Some(body(j!({ "type": "object", "properties": {
                    "number": { "type": "string", "description": "A number with country code, or a JID" }
                } }))),
                ok("200", "The profile, or `isBusiness: false`", j!({ "type": "object", "required": ["isBusiness"], "properties": {
                    "isBusiness": { "type": "boolean" }
                } })),
            ), "fetchBusinessProfile") }),
        ),
    ]
}
