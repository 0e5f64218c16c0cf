//! The instance's behaviour switches. RyzeAPI's catalog names no such route; these
//! follow its instance routes (`token` header, `{"success":true,...}`) and are
//! documented in the OpenAPI document:
//!
//! - `GET /instance/settings/{instance}` -> `{success, settings}`.
//! - `POST /instance/settings/{instance} {rejectCalls?, callReply?, ignoreGroups?,
//!   alwaysOnline?, readMessages?, readStatus?, syncFullHistory?}`: the fields given
//!   change, the others keep their value -> `{success, message, settings}`.
//!
//! `settings` carries every switch, `callReply` null when none is set.

use serde::Deserialize;
use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::InstanceSettings;

use crate::core_fail;
use crate::routes::{find_instance, which};

pub(crate) fn routes(r: Router) -> Router {
    r.get("/instance/settings/{instance}", get)
        .post("/instance/settings/{instance}", set)
}

fn shown(s: &InstanceSettings) -> Value {
    json!({
        "rejectCalls": s.reject_calls,
        "callReply": s.call_reply,
        "ignoreGroups": s.ignore_groups,
        "alwaysOnline": s.always_online,
        "readMessages": s.read_messages,
        "readStatus": s.read_status,
        "syncFullHistory": s.sync_full_history,
    })
}

/// `GET /instance/settings/{instance}`.
fn get(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    find_instance(req, &which, Capabilities::READ)?;
    let settings = core::get_settings(&which).map_err(|e| core_fail(&e))?;
    Ok(crate::ok(
        200,
        json!({ "success": true, "settings": shown(&settings) }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Patch {
    reject_calls: Option<bool>,
    /// `null` or `""` clears the reply.
    #[serde(default, deserialize_with = "present")]
    call_reply: Option<Option<String>>,
    ignore_groups: Option<bool>,
    always_online: Option<bool>,
    read_messages: Option<bool>,
    read_status: Option<bool>,
    sync_full_history: Option<bool>,
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `POST /instance/settings/{instance}`.
fn set(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    find_instance(req, &which, Capabilities::MANAGE)?;
    let patch: Patch = req.body()?;
    let mut s = core::get_settings(&which).map_err(|e| core_fail(&e))?;
    let keep = |new: Option<bool>, old: bool| new.unwrap_or(old);
    s.reject_calls = keep(patch.reject_calls, s.reject_calls);
    if let Some(reply) = patch.call_reply {
        s.call_reply = reply.filter(|r| !r.trim().is_empty());
    }
    s.ignore_groups = keep(patch.ignore_groups, s.ignore_groups);
    s.always_online = keep(patch.always_online, s.always_online);
    s.read_messages = keep(patch.read_messages, s.read_messages);
    s.read_status = keep(patch.read_status, s.read_status);
    s.sync_full_history = keep(patch.sync_full_history, s.sync_full_history);
    let saved = core::set_settings(&which, &s).map_err(|e| core_fail(&e))?;
    Ok(crate::ok(
        200,
        json!({ "success": true, "message": "Settings updated", "settings": shown(&saved) }),
    ))
}

/// The two operations for the OpenAPI document: (path, method, operationId, op).
pub(crate) fn openapi_paths() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    use crate::openapi::{err, instance_param, okr, op};
    let example = json!({ "rejectCalls": true, "callReply": "I cannot take calls here, please write.",
        "ignoreGroups": false, "alwaysOnline": false, "readMessages": true, "readStatus": false,
        "syncFullHistory": false });
    let flag = |d: &str| json!({ "type": "boolean", "description": d });
    let props = json!({
        "rejectCalls": flag("Decline every incoming call."),
        "callReply": { "type": ["string", "null"], "maxLength": 4096, "description": "Texted to whoever calls, declined or not; null or empty: nothing." },
        "ignoreGroups": flag("Group messages are neither stored nor sent to webhooks."),
        "alwaysOnline": flag("Show the account online whenever its session opens."),
        "readMessages": flag("Send read receipts for every incoming message."),
        "readStatus": flag("Send read receipts for contacts' status updates."),
        "syncFullHistory": flag("Ask WhatsApp for the full history (not the recent messages only) at the next pairing."),
    });
    vec![
        (
            "/instance/settings/{instance}",
            "get",
            "getInstanceSettings",
            op(
                "The instance's behaviour switches.",
                json!([instance_param()]),
                None,
                json!({
                    "200": okr("The settings.", json!({ "success": true, "settings": example })),
                    "404": err("Unknown instance.", "Instance not found"),
                }),
            ),
        ),
        (
            "/instance/settings/{instance}",
            "post",
            "setInstanceSettings",
            op(
                "Change the instance's behaviour switches: the fields given change, the others keep their value. Calls reach webhooks as call.update.",
                json!([instance_param()]),
                Some(json!({
                    "required": true,
                    "content": { "application/json": {
                        "schema": { "type": "object", "properties": props, "additionalProperties": false },
                        "example": example,
                    }},
                })),
                json!({
                    "200": okr("Saved.", json!({ "success": true, "message": "Settings updated", "settings": example })),
                    "400": err("A field of the wrong type, an unknown field, or a call reply over 4096 characters.", "Invalid request body"),
                    "404": err("Unknown instance.", "Instance not found"),
                }),
            ),
        ),
    ]
}
