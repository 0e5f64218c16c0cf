//! The account's profile, to Evolution's chat router (all 200, as it answers them):
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | POST | /chat/fetchProfile/{i} | `{number?}` | `{wuid, name, numberExists, picture, status, isBusiness, email, description, website}` |
//! | POST | /chat/updateProfileName/{i} | `{name}` | `{update: "success"}` |
//! | POST | /chat/updateProfileStatus/{i} | `{status}` | `{update: "success"}` |
//!
//! Without `number`, `fetchProfile` answers this account's profile as Evolution does
//! (its `status` is then the connection state, not the about text); with one, that
//! person's (their about text; `name` is the push name their messages carried). A
//! number not on WhatsApp is 400. A business account's `email`, `description` and
//! `website` (its first) come from its business profile; null for everyone else.
//! Reads need `read`, changes `manage`.

use serde_json::{Value, json as j};
use wagate_plugin_sdk::prelude::*;

use crate::input::{self, bad};
use crate::shape::{self, Style};
use crate::{Cap, Reply, core_error, guard, run, util};

/// Adds the profile routes to `r`.
pub(crate) fn routes(r: Router) -> Router {
    r.post("/chat/fetchProfile/{instanceName}", |q, p| run(q, p, fetch))
        .post("/chat/updateProfileName/{instanceName}", |q, p| {
            run(q, p, update_name)
        })
        .post("/chat/updateProfileStatus/{instanceName}", |q, p| {
            run(q, p, update_status)
        })
}

fn fetch(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let body = input::body(req)?;
    let number = input::opt_str(&body, "number")?.filter(|n| !n.trim().is_empty());
    let which = InstanceRef::Id(instance.id.clone());
    let who = number.as_deref().map(crate::chat::strip_device);
    let profile = core::get_profile(&which, who.as_deref()).map_err(|e| match e {
        // Evolution: a number not on WhatsApp is a 400 carrying the check's answer.
        CoreError::NotFound(_) => shape::evolution(
            400,
            [j!({ "exists": false, "jid": who.clone().unwrap_or_default(), "number": number.clone().unwrap_or_default() })],
        ),
        other => core_error(&other),
    })?;
    let status = match &number {
        Some(_) => j!(profile.status),
        None => j!(util::state(instance.state)),
    };
    // A business account's profile fills Evolution's business fields (its own call to
    // WhatsApp; without it they stay null, as for everyone else).
    let business = profile
        .is_business
        .then(|| {
            core::get_business_profile(&which, &profile.jid)
                .ok()
                .flatten()
        })
        .flatten();
    Ok(json(
        200,
        &j!({
            "wuid": profile.jid,
            "name": profile.name,
            "numberExists": true,
            "picture": profile.picture_url,
            "status": status,
            "isBusiness": profile.is_business,
            "email": business.as_ref().and_then(|b| b.email.clone()),
            "description": business.as_ref().map(|b| b.description.clone()),
            "website": business.as_ref().and_then(|b| b.websites.first().cloned()),
        }),
    ))
}

fn update_name(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let body = input::body(req)?;
    let new = input::req_str(&body, "name")?;
    if new.trim().is_empty() {
        return Err(bad("name cannot be empty"));
    }
    core::set_profile_name(&InstanceRef::Id(instance.id), &new)
        .map_err(|e| update_failed("name", &e))?;
    Ok(json(200, &j!({ "update": "success" })))
}

fn update_status(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let body = input::body(req)?;
    let new = input::req_str(&body, "status")?;
    if new.trim().is_empty() {
        return Err(bad("status cannot be empty"));
    }
    core::set_profile_status(&InstanceRef::Id(instance.id), &new)
        .map_err(|e| update_failed("status", &e))?;
    Ok(json(200, &j!({ "update": "success" })))
}

/// Evolution's "Error updating profile …" with the reason, at the status core's error
/// maps to (bad input stays 400, a closed session 400, the network 500).
pub(crate) fn update_failed(what: &str, e: &CoreError) -> HttpResponse {
    crate::titled_error(&format!("Error updating profile {what}"), e)
}

/// The profile routes' OpenAPI path items.
pub(crate) fn openapi_paths() -> Vec<(&'static str, Value)> {
    use crate::openapi::{body, ok, op};
    let with_id = |mut o: Value, id: &str| {
        o["operationId"] = j!(id);
        j!({ "post": o })
    };
    let updated = || j!({ "type": "object", "properties": { "update": { "const": "success" } } });
    vec![
        (
            "/chat/fetchProfile/{instanceName}",
            with_id(
                op(
                    "This account's profile, or a number's (its about text and picture)",
                    "Chat",
                    true,
                    Some(body(j!({ "type": "object", "properties": {
                        "number": { "type": "string", "description": "A number with country code, or a JID; absent: this account" }
                    } }))),
                    ok(
                        "200",
                        "The profile",
                        j!({ "type": "object", "required": ["wuid", "numberExists", "isBusiness"], "properties": {
                            "wuid": { "type": "string" }, "name": { "type": ["string", "null"] },
                            "numberExists": { "type": "boolean" }, "picture": { "type": ["string", "null"] },
                            "status": { "type": ["string", "null"] }, "isBusiness": { "type": "boolean" },
                            "email": { "type": ["string", "null"] }, "description": { "type": ["string", "null"] }, "website": { "type": ["string", "null"] }
                        } }),
                    ),
                ),
                "fetchProfile",
            ),
        ),
        (
            "/chat/updateProfileName/{instanceName}",
            with_id(
                op(
                    "Change this account's name (1-25 characters)",
                    "Chat",
                    true,
                    Some(body(
                        j!({ "type": "object", "required": ["name"], "properties": {
                        "name": { "type": "string", "minLength": 1, "maxLength": 25 }
                    } }),
                    )),
                    ok("200", "Changed", updated()),
                ),
                "updateProfileName",
            ),
        ),
        (
            "/chat/updateProfileStatus/{instanceName}",
            with_id(
                op(
                    "Change this account's about text (1-139 characters)",
                    "Chat",
                    true,
                    Some(body(
                        j!({ "type": "object", "required": ["status"], "properties": {
                        "status": { "type": "string", "minLength": 1, "maxLength": 139 }
                    } }),
                    )),
                    ok("200", "Changed", updated()),
                ),
                "updateProfileStatus",
            ),
        ),
    ]
}
