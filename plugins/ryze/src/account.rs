//! The account's pictures, privacy and business profiles, in RyzeAPI's conventions
//! (no RyzeAPI document shows them; the `/{area}/{action}/{instance}` style, `token`
//! header and `{"success": ...}` bodies of its documented routes):
//!
//! | method | path | body / query | answer |
//! |---|---|---|---|
//! | POST | /profile/picture/{i} | `{picture}`: an http(s) URL or base64 of a JPEG | `{success, message}` (TokenAccount or the instance's token) |
//! | DELETE | /profile/picture/{i} | | `{success, message}` |
//! | POST | /group/picture/{i} | `{group, picture}` | `{success, message}` |
//! | GET | /instance/privacy/{i} | | `{success, data: {lastSeen, online, profilePicture, about, groupAdd, readReceipts, callAdd, messages}}` |
//! | POST | /instance/privacy/{i} | any of those fields | `{success, data}`: every setting afterwards |
//! | GET | /contact/business/{i} | `?number=` | `{success, data}`: the profile, or `null` for a non-business account |
//!
//! Values: `all`, `contacts`, `contact_blacklist`, `none`, `match_last_seen`
//! (`online` only), `known` (`callAdd` only). A picture must be a JPEG (no conversion).

use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{OpeningHours, PrivacySetting};

use crate::routes::{find_instance, require_connected, required, which};
use crate::{core_fail, fail, ok};

use wagate_plugin_sdk::{PRIVACY_FIELDS as FIELDS, privacy_json, privacy_value_of};

pub(crate) fn routes(r: Router) -> Router {
    r.post("/profile/picture/{instance}", set_picture)
        .delete("/profile/picture/{instance}", remove_picture)
        .post("/group/picture/{instance}", set_group_picture)
        .get("/instance/privacy/{instance}", get_privacy)
        .post("/instance/privacy/{instance}", set_privacy)
        .get("/contact/business/{instance}", business)
}

/// A body field as the media source it names.
fn picture_of(body: &Value) -> Result<MediaSource, HttpResponse> {
    let text = required(
        body.get("picture")
            .and_then(Value::as_str)
            .map(str::to_string),
        "Picture is required",
    )?;
    wagate_plugin_sdk::uploads::text_source(&text)
        .ok_or_else(|| fail(400, "Picture must be an http(s) URL or base64"))
}

fn body_of(req: &Request) -> Result<Value, HttpResponse> {
    let body: Value = req.body()?;
    if body.is_object() {
        Ok(body)
    } else {
        Err(fail(400, "Body must be a JSON object"))
    }
}

fn set_picture(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::MANAGE)?;
    let source = picture_of(&body_of(req)?)?;
    require_connected(&instance)?;
    core::set_profile_picture(&which, Some(&source)).map_err(|e| core_fail(&e))?;
    Ok(ok(
        200,
        json!({ "success": true, "message": "Profile picture updated" }),
    ))
}

fn remove_picture(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::MANAGE)?;
    require_connected(&instance)?;
    core::set_profile_picture(&which, None).map_err(|e| core_fail(&e))?;
    Ok(ok(
        200,
        json!({ "success": true, "message": "Profile picture removed" }),
    ))
}

fn set_group_picture(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let body = body_of(req)?;
    let group = required(
        body.get("group")
            .and_then(Value::as_str)
            .map(str::to_string),
        "Group is required",
    )?;
    let source = picture_of(&body)?;
    require_connected(&instance)?;
    core::set_group_picture(&which, &group, Some(&source))
        .map_err(|e| crate::groups::group_fail(&e))?;
    Ok(ok(
        200,
        json!({ "success": true, "message": "Group picture updated" }),
    ))
}

fn get_privacy(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::READ)?;
    require_connected(&instance)?;
    let settings = core::get_privacy(&which).map_err(|e| core_fail(&e))?;
    Ok(ok(
        200,
        json!({ "success": true, "data": privacy_json(&FIELDS, &settings) }),
    ))
}

fn set_privacy(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::MANAGE)?;
    let body = body_of(req)?;
    let mut settings = Vec::new();
    for (k, v) in body.as_object().into_iter().flatten() {
        let Some((_, category)) = FIELDS.iter().find(|(f, _)| f == k) else {
            return Err(fail(400, &format!("Unknown privacy setting `{k}`")));
        };
        let value = v
            .as_str()
            .and_then(privacy_value_of)
            .ok_or_else(|| fail(400, &format!("`{k}` is not a privacy value")))?;
        settings.push(PrivacySetting {
            category: *category,
            value,
        });
    }
    if settings.is_empty() {
        return Err(fail(400, "Give at least one privacy setting"));
    }
    require_connected(&instance)?;
    let settings = core::set_privacy(&which, &settings).map_err(|e| core_fail(&e))?;
    Ok(ok(
        200,
        json!({ "success": true, "data": privacy_json(&FIELDS, &settings) }),
    ))
}

fn business(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::READ)?;
    let number = required(req.query("number"), "Number is required")?;
    require_connected(&instance)?;
    let profile = core::get_business_profile(&which, &number).map_err(|e| match e {
        CoreError::NotFound(_) => fail(404, "Number is not on WhatsApp"),
        other => core_fail(&other),
    })?;
    Ok(ok(
        200,
        json!({ "success": true, "data": profile.map(|b| json!({
            "jid": b.jid,
            "description": b.description,
            "email": b.email,
            "websites": b.websites,
            "categories": b.categories,
            "address": b.address,
            "timezone": b.timezone,
            "hours": b.hours.iter().map(hours_json).collect::<Vec<_>>(),
        })) }),
    ))
}

/// One day of opening hours: `opens`/`closes` as `HH:MM` (for `specific_hours`).
fn hours_json(h: &OpeningHours) -> Value {
    json!({
        "day": h.day,
        "mode": h.mode,
        "opens": h.open_minute.map(clock),
        "closes": h.close_minute.map(clock),
    })
}

/// Minutes after midnight as `HH:MM`.
fn clock(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The routes for the OpenAPI document: (path, method, operationId, op).
pub(crate) fn openapi_paths() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    use crate::openapi::{body, err, instance_param, okr, op};
    let picture = json!({ "type": "string", "minLength": 1, "description": "An http(s) URL or base64 of a JPEG image (no conversion is done)" });
    let not_connected = || {
        err(
            "The instance is not connected.",
            "Instance is not connected to WhatsApp",
        )
    };
    let unknown = || err("Unknown instance.", "Instance not found");
    let mut props = Map::new();
    for (field, _) in FIELDS {
        props.insert(field.into(), json!({ "type": "string", "enum": ["all", "contacts", "contact_blacklist", "none", "match_last_seen", "known"] }));
    }
    let privacy_example = json!({ "lastSeen": "contacts", "online": "all", "profilePicture": "all", "about": "all",
        "groupAdd": "contacts", "readReceipts": "all", "callAdd": "all", "messages": "all" });
    vec![
        (
            "/profile/picture/{instance}",
            "post",
            "setProfilePicture",
            op(
                "Set this account's profile picture (a JPEG).",
                json!([instance_param()]),
                Some(body(
                    json!({ "picture": picture }),
                    &["picture"],
                    json!({ "picture": "https://example.com/me.jpg" }),
                )),
                json!({
                    "200": okr("Changed.", json!({ "success": true, "message": "Profile picture updated" })),
                    "400": err("No picture, not a JPEG, or a URL that cannot be fetched.", "Picture is required"),
                    "404": unknown(), "503": not_connected(),
                }),
            ),
        ),
        (
            "/profile/picture/{instance}",
            "delete",
            "removeProfilePicture",
            op(
                "Remove this account's profile picture.",
                json!([instance_param()]),
                None,
                json!({
                    "200": okr("Removed.", json!({ "success": true, "message": "Profile picture removed" })),
                    "404": unknown(), "503": not_connected(),
                }),
            ),
        ),
        (
            "/group/picture/{instance}",
            "post",
            "setGroupPicture",
            op(
                "Set a group's picture (a JPEG); WhatsApp decides who may.",
                json!([instance_param()]),
                Some(body(
                    json!({ "group": { "type": "string", "minLength": 1 }, "picture": picture }),
                    &["group", "picture"],
                    json!({ "group": "120363000000000001@g.us", "picture": "https://example.com/g.jpg" }),
                )),
                json!({
                    "200": okr("Changed.", json!({ "success": true, "message": "Group picture updated" })),
                    "400": err("No group or picture, or not a JPEG.", "Group is required"),
                    "403": err("WhatsApp refused: not an admin of a locked group.", "Not allowed"),
                    "404": err("Unknown instance or group.", "Group not found"), "503": not_connected(),
                }),
            ),
        ),
        (
            "/instance/privacy/{instance}",
            "get",
            "getPrivacy",
            op(
                "This account's privacy settings.",
                json!([instance_param()]),
                None,
                json!({
                    "200": okr("The settings.", json!({ "success": true, "data": privacy_example })),
                    "404": unknown(), "503": not_connected(),
                }),
            ),
        ),
        (
            "/instance/privacy/{instance}",
            "post",
            "setPrivacy",
            op(
                "Change privacy settings (the fields given); answers every setting afterwards.",
                json!([instance_param()]),
                Some(body(
                    Value::Object(props),
                    &[],
                    json!({ "lastSeen": "contacts" }),
                )),
                json!({
                    "200": okr("Changed.", json!({ "success": true, "data": privacy_example })),
                    "400": err("An unknown setting or value, or one the setting does not take.", "`lastSeen` is not a privacy value"),
                    "404": unknown(), "503": not_connected(),
                }),
            ),
        ),
        (
            "/contact/business/{instance}",
            "get",
            "getBusinessProfile",
            op(
                "A business account's profile (`data` null when the number is not a business). `hours` lists the days it set: `mode` is `specific_hours` (from `opens` to `closes`, local `HH:MM` in `timezone`), `open_24h` or `appointment_only`.",
                json!([instance_param(), { "name": "number", "in": "query", "required": true, "schema": { "type": "string", "minLength": 1 } }]),
                None,
                json!({
                    "200": okr("The profile.", json!({ "success": true, "data": {
                        "jid": "5511900004242@s.whatsapp.net", "description": "Fresh bread", "email": null,
                        "websites": [], "categories": ["Bakery"], "address": null, "timezone": "America/Sao_Paulo",
                        "hours": [{ "day": "mon", "mode": "specific_hours", "opens": "07:00", "closes": "19:00" }] } })),
                    "400": err("No number, or a malformed one.", "Number is required"),
                    "404": err("Unknown instance, or a number WhatsApp does not know.", "Number is not on WhatsApp"),
                    "503": not_connected(),
                }),
            ),
        ),
    ]
}
