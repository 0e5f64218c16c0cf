//! The account's pictures, privacy and business profiles:
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | PUT | /sessions/{sid}/profile/picture | `{data}` (base64 of a JPEG) or `{url}` | 204 (`manage`) |
//! | DELETE | /sessions/{sid}/profile/picture | none | 204 (`manage`) |
//! | PUT | /sessions/{sid}/groups/{gid}/picture | as above | 204 (`send`; WhatsApp decides who may) |
//! | DELETE | /sessions/{sid}/groups/{gid}/picture | none | 204 (`send`) |
//! | GET | /sessions/{sid}/privacy | none | `{lastSeen, online, profilePicture, about, groupAdd, readReceipts, callAdd, messages}` (`read`) |
//! | PATCH | /sessions/{sid}/privacy | any of those fields | every setting afterwards (`manage`) |
//! | GET | /sessions/{sid}/contacts/{jid}/business | none | `{business: {description, email, websites, categories, address, timezone, hours: [{day, mode, openMinute, closeMinute}]} \| null}` (`read`) |
//!
//! Values: `all`, `contacts`, `contact_blacklist`, `none`, `match_last_seen`
//! (`online` only), `known` (`callAdd` only); an unknown value is a
//! `validation_error` naming the field, a value its setting does not take is core's
//! `invalid` naming both. A picture must be a JPEG (no conversion).

use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::PrivacySetting;

use crate::api::{
    Cap, Within, authed, body_object, checked, core_failure, invalid_fields, session_ref, sid,
};
use crate::render;

use wagate_plugin_sdk::{PRIVACY_FIELDS as FIELDS, privacy_json, privacy_value_of};

/// Adds the routes to `r`.
pub(crate) fn routes(r: Router) -> Router {
    r.put("/sessions/{sid}/profile/picture", authed(set_own_picture))
        .delete(
            "/sessions/{sid}/profile/picture",
            authed(remove_own_picture),
        )
        .put(
            "/sessions/{sid}/groups/{gid}/picture",
            authed(set_group_picture),
        )
        .delete(
            "/sessions/{sid}/groups/{gid}/picture",
            authed(remove_group_picture),
        )
        .get("/sessions/{sid}/privacy", authed(get_privacy))
        .patch("/sessions/{sid}/privacy", authed(patch_privacy))
        .get("/sessions/{sid}/contacts/{jid}/business", authed(business))
}

/// The picture of a PUT: `data` (base64, or the host's staged upload) or `url`.
fn picture(req: &Request) -> Result<MediaSource, HttpResponse> {
    let body = body_object(req, false)?;
    let mut fields = Map::new();
    for k in body
        .keys()
        .filter(|k| !matches!(k.as_str(), "data" | "url"))
    {
        fields.insert(k.clone(), json!("unknown field"));
    }
    // `data` is base64 (or the host's staged upload), `url` an http(s) URL: each
    // parsed by the SDK's one URL-or-base64 reader, and held to its own kind.
    let source =
        match (body.get("data"), body.get("url")) {
            (Some(Value::String(d)), None) => wagate_plugin_sdk::uploads::text_source(d)
                .filter(|s| !matches!(s, MediaSource::Url(_))),
            (None, Some(Value::String(u))) => wagate_plugin_sdk::uploads::text_source(u)
                .filter(|s| matches!(s, MediaSource::Url(_))),
            _ => None,
        };
    if source.is_none() {
        fields.insert(
            "data".into(),
            json!("give exactly one of `data` (base64 of a JPEG) and `url` (http or https)"),
        );
    }
    match source {
        Some(s) if fields.is_empty() => Ok(s),
        _ => Err(invalid_fields(fields)),
    }
}

fn set_own_picture(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let source = match picture(req) {
        Ok(s) => s,
        Err(r) => return checked(req, &sid, Cap::Manage, Within::Session, r),
    };
    match core::set_profile_picture(&session_ref(&sid), Some(&source)) {
        Ok(()) => render::no_content(),
        Err(e) => core_failure(req, e, &sid, Cap::Manage, Within::Session),
    }
}

fn remove_own_picture(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    match core::set_profile_picture(&session_ref(&sid), None) {
        Ok(()) => render::no_content(),
        Err(e) => core_failure(req, e, &sid, Cap::Manage, Within::Session),
    }
}

fn set_group_picture(req: &Request, p: &Params) -> HttpResponse {
    let (sid, gid) = (sid(p), p.get("gid").unwrap_or_default().to_string());
    let source = match picture(req) {
        Ok(s) => s,
        Err(r) => return checked(req, &sid, Cap::Send, Within::Session, r),
    };
    match core::set_group_picture(&session_ref(&sid), &gid, Some(&source)) {
        Ok(()) => render::no_content(),
        Err(e) => crate::groups::failure(req, e, &sid, Cap::Send),
    }
}

fn remove_group_picture(req: &Request, p: &Params) -> HttpResponse {
    let (sid, gid) = (sid(p), p.get("gid").unwrap_or_default().to_string());
    match core::set_group_picture(&session_ref(&sid), &gid, None) {
        Ok(()) => render::no_content(),
        Err(e) => crate::groups::failure(req, e, &sid, Cap::Send),
    }
}

fn get_privacy(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    match core::get_privacy(&session_ref(&sid)) {
        Ok(s) => json(200, &privacy_json(&FIELDS, &s)),
        Err(e) => core_failure(req, e, &sid, Cap::Read, Within::Session),
    }
}

fn patch_privacy(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let invalid = |r: HttpResponse| checked(req, &sid, Cap::Manage, Within::Session, r);
    let body = match body_object(req, false) {
        Ok(o) => o,
        Err(r) => return invalid(r),
    };
    let mut fields = Map::new();
    let mut settings = Vec::new();
    for (k, v) in &body {
        let Some((_, category)) = FIELDS.iter().find(|(f, _)| f == k) else {
            fields.insert(k.clone(), json!("unknown field"));
            continue;
        };
        let value = v.as_str().and_then(privacy_value_of);
        match value {
            Some(value) => settings.push(PrivacySetting {
                category: *category,
                value,
            }),
            None => {
                fields.insert(k.clone(), json!("not a privacy value"));
            }
        }
    }
    if settings.is_empty() && fields.is_empty() {
        fields.insert("body".into(), json!("give at least one setting"));
    }
    if !fields.is_empty() {
        return invalid(invalid_fields(fields));
    }
    match core::set_privacy(&session_ref(&sid), &settings) {
        Ok(s) => json(200, &privacy_json(&FIELDS, &s)),
        Err(e) => core_failure(req, e, &sid, Cap::Manage, Within::Session),
    }
}

fn business(req: &Request, p: &Params) -> HttpResponse {
    let (sid, jid) = (sid(p), p.get("jid").unwrap_or_default());
    match core::get_business_profile(&session_ref(&sid), jid) {
        Ok(b) => json(
            200,
            &json!({ "business": b.map(|b| json!({
                "description": b.description,
                "email": b.email,
                "websites": b.websites,
                "categories": b.categories,
                "address": b.address,
                "timezone": b.timezone,
                "hours": b.hours.iter().map(|h| json!({
                    "day": h.day,
                    "mode": h.mode,
                    "openMinute": h.open_minute,
                    "closeMinute": h.close_minute,
                })).collect::<Vec<_>>(),
            })) }),
        ),
        Err(e) => crate::contacts::contact_failure(req, e, &sid, Cap::Read),
    }
}

/// The routes' OpenAPI paths.
pub(crate) fn add_openapi(doc: &mut Value) {
    use crate::openapi::{error_response, ok, op, sid};
    let gid =
        json!({ "name": "gid", "in": "path", "required": true, "schema": { "type": "string" } });
    let jid = json!({ "name": "jid", "in": "path", "required": true, "description": "A number with country code, or a JID.", "schema": { "type": "string" } });
    let missing = || error_response("`not_found`: no such session (or group)");
    let offline = || error_response("`not_connected`: the session is not connected");
    let forbidden = |cap: &str| {
        error_response(&format!(
            "`forbidden`: the caller lacks `{cap}`, or WhatsApp refused"
        ))
    };
    let invalid = || error_response("`validation_error`: the body names what is wrong");
    let picture_body = json!({ "required": true, "content": { "application/json": { "schema": {
        "type": "object", "additionalProperties": false, "properties": {
            "data": { "type": "string", "description": "Base64 of a JPEG image" },
            "url": { "type": "string", "format": "uri", "description": "An http(s) URL of a JPEG the gateway fetches" }
        } } } } });
    let mut props = Map::new();
    for (field, _) in FIELDS {
        props.insert(field.into(), json!({ "type": ["string", "null"], "enum": ["all", "contacts", "contact_blacklist", "none", "match_last_seen", "known", null] }));
    }
    let privacy = json!({ "type": "object", "properties": props.clone() });
    let patch_body = json!({ "required": true, "content": { "application/json": { "schema": {
        "type": "object", "additionalProperties": false, "minProperties": 1, "properties": props } } } });
    let set_picture = |id: &str, summary: &str, cap: &str, params: Vec<Value>| {
        let mut o = op(
            id,
            summary,
            &format!("A JPEG (no conversion is done). Requires `{cap}` and a connected session."),
            params,
            json!({
                "204": { "description": "Done" }, "403": forbidden(cap), "404": missing(), "409": offline(), "422": invalid()
            }),
        );
        o["requestBody"] = picture_body.clone();
        o
    };
    let remove_picture = |id: &str, summary: &str, cap: &str, params: Vec<Value>| {
        op(
            id,
            summary,
            &format!("Requires `{cap}` and a connected session."),
            params,
            json!({
                "204": { "description": "Done" }, "403": forbidden(cap), "404": missing(), "409": offline()
            }),
        )
    };
    let mut patch = op(
        "updatePrivacy",
        "Change privacy settings",
        "The fields given change, in order; the answer is every setting afterwards. Requires `manage` and a connected session.",
        vec![sid()],
        json!({
            "200": ok("The settings", privacy.clone()), "403": forbidden("manage"), "404": missing(), "409": offline(), "422": invalid()
        }),
    );
    patch["requestBody"] = patch_body;
    let paths = json!({
        "/sessions/{sid}/profile/picture": {
            "put": set_picture("setProfilePicture", "Set the account's profile picture", "manage", vec![sid()]),
            "delete": remove_picture("removeProfilePicture", "Remove the account's profile picture", "manage", vec![sid()]),
        },
        "/sessions/{sid}/groups/{gid}/picture": {
            "put": set_picture("setGroupPicture", "Set a group's picture", "send", vec![sid(), gid.clone()]),
            "delete": remove_picture("removeGroupPicture", "Remove a group's picture", "send", vec![sid(), gid]),
        },
        "/sessions/{sid}/privacy": {
            "get": op("getPrivacy", "The account's privacy settings", "Requires `read` and a connected session.", vec![sid()], json!({
                "200": ok("The settings", privacy), "403": forbidden("read"), "404": missing(), "409": offline()
            })),
            "patch": patch,
        },
        "/sessions/{sid}/contacts/{jid}/business": { "get": op("getBusinessProfile", "A business account's profile",
            "`business` is null when the account is not a business. Requires `read` and a connected session.", vec![sid(), jid], json!({
                "200": ok("The profile", json!({ "type": "object", "required": ["business"], "properties": { "business": { "type": ["object", "null"] } } })),
                "403": forbidden("read"), "404": missing(), "409": offline(), "422": invalid()
            })) },
    });
    if let (Some(all), Some(new)) = (doc["paths"].as_object_mut(), paths.as_object()) {
        all.extend(new.clone());
    }
}
