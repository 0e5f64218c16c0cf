//! Chat labels (WhatsApp Business labels the phone syncs). RyzeAPI's catalog has the
//! `label.update` event; these routes follow its chat routes (`token` header,
//! `{"success":true,...}`) and are documented in the OpenAPI document:
//!
//! - `GET /label/list/{instance}` -> `{success, labels: [{id, name, color,
//!   predefinedId}]}` (`read`).
//! - `GET /label/chat/{instance}?number=` -> `{success, chat, labels}`: the labels on
//!   one chat (`read`).
//! - `POST /label/chat/{instance} {number, labelId, action: add|remove}` -> `{success,
//!   message, chat, labelId, labeled}` (`send`; 404 `Label not found` for a label the
//!   instance does not have; 503 when the session is not connected).
//!
//! `label.update` events (see events.rs) carry `{type: edit, label}` or `{type:
//! association, labelId, chat, labeled}`.

use serde::Deserialize;
use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{Label, LabelAssociation};

use crate::routes::{find_instance, require_connected, required, which};
use crate::util::{display_jid, iso8601};
use crate::{core_fail, fail, msg};

const LABEL_REQUIRED: &str = "labelId is required";
const BAD_ACTION: &str = "action must be add or remove";
const LABEL_NOT_FOUND: &str = "Label not found";

pub(crate) fn routes(r: Router) -> Router {
    r.get("/label/list/{instance}", list)
        .get("/label/chat/{instance}", chat_labels)
        .post("/label/chat/{instance}", label_chat)
}

/// A label as these routes and the events show it.
pub(crate) fn label_json(l: &Label) -> Value {
    json!({
        "id": l.id,
        "name": l.name,
        "color": l.color,
        "predefinedId": l.predefined_id,
    })
}

/// `data` of a `label.update` event for an edit (`deleted` when the phone deleted it).
pub(crate) fn edit_event(l: &Label, timestamp: u64) -> Value {
    let mut label = label_json(l);
    label["deleted"] = json!(l.deleted);
    json!({ "type": "edit", "label": label, "timestamp": iso8601(timestamp) })
}

/// `data` of a `label.update` event for a label put on a chat or taken off it.
pub(crate) fn association_event(a: &LabelAssociation) -> Value {
    json!({
        "type": "association",
        "labelId": a.label_id,
        "chat": display_jid(&a.chat_jid),
        "labeled": a.labeled,
        "timestamp": iso8601(a.timestamp),
    })
}

fn labels_fail(e: &CoreError) -> HttpResponse {
    match e {
        CoreError::NotFound(m) if m.kind == ResourceKind::Label => fail(404, LABEL_NOT_FOUND),
        e => core_fail(e),
    }
}

/// `GET /label/list/{instance}`.
fn list(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    find_instance(req, &which, Capabilities::READ)?;
    let labels = core::list_labels(&which).map_err(|e| core_fail(&e))?;
    Ok(crate::ok(
        200,
        json!({ "success": true, "labels": labels.iter().map(label_json).collect::<Vec<_>>() }),
    ))
}

/// `GET /label/chat/{instance}?number=`.
fn chat_labels(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    find_instance(req, &which, Capabilities::READ)?;
    let number = required(req.query("number"), msg::NUMBER_REQUIRED)?;
    let chat = core::normalize_jid(&number).map_err(|e| core_fail(&e))?;
    let labels = core::chat_labels(&which, &chat).map_err(|e| core_fail(&e))?;
    Ok(crate::ok(
        200,
        json!({
            "success": true,
            "chat": display_jid(&chat),
            "labels": labels.iter().map(label_json).collect::<Vec<_>>(),
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LabelChatBody {
    number: Option<String>,
    label_id: Option<String>,
    action: Option<String>,
}

/// `POST /label/chat/{instance}`.
fn label_chat(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let body: LabelChatBody = req.body()?;
    let number = required(body.number, msg::NUMBER_REQUIRED)?;
    let label_id = required(body.label_id, LABEL_REQUIRED)?;
    let labeled = match body.action.as_deref() {
        Some("add") => true,
        Some("remove") => false,
        _ => return Err(fail(400, BAD_ACTION)),
    };
    require_connected(&instance)?;
    let done =
        core::label_chat(&which, &number, &label_id, labeled).map_err(|e| labels_fail(&e))?;
    Ok(crate::ok(
        200,
        json!({
            "success": true,
            "message": if labeled { "Label added to chat" } else { "Label removed from chat" },
            "chat": display_jid(&done.chat_jid),
            "labelId": done.label_id,
            "labeled": done.labeled,
        }),
    ))
}

/// The three operations for the OpenAPI document: (path, method, operationId, op).
pub(crate) fn openapi_paths() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    use crate::openapi::{err, instance_param, okr, op};
    let label = json!({ "id": "5", "name": "Paid", "color": 3, "predefinedId": null });
    let number = json!({ "name": "number", "in": "query", "required": true, "schema": { "type": "string" } });
    vec![
        (
            "/label/list/{instance}",
            "get",
            "listLabels",
            op(
                "The account's chat labels (WhatsApp Business labels synced from the phone).",
                json!([instance_param()]),
                None,
                json!({
                    "200": okr("The labels.", json!({ "success": true, "labels": [label] })),
                    "404": err("Unknown instance.", "Instance not found"),
                }),
            ),
        ),
        (
            "/label/chat/{instance}",
            "get",
            "chatLabels",
            op(
                "The labels on one chat.",
                json!([instance_param(), number]),
                None,
                json!({
                    "200": okr("The chat's labels.", json!({ "success": true, "chat": "5511999999999", "labels": [label] })),
                    "400": err("No or a malformed number.", "Number is required"),
                    "404": err("Unknown instance.", "Instance not found"),
                }),
            ),
        ),
        (
            "/label/chat/{instance}",
            "post",
            "labelChat",
            op(
                "Put a label on a chat (action add) or take it off (remove), on the account's devices.",
                json!([instance_param()]),
                Some(json!({
                    "required": true,
                    "content": { "application/json": {
                        "schema": { "type": "object", "additionalProperties": false, "properties": {
                            "number": { "type": "string", "description": "Number or JID of the chat." },
                            "labelId": { "type": "string" },
                            "action": { "enum": ["add", "remove"] },
                        } },
                        "example": { "number": "5511999999999", "labelId": "5", "action": "add" },
                    }},
                })),
                json!({
                    "200": okr("Done.", json!({ "success": true, "message": "Label added to chat", "chat": "5511999999999", "labelId": "5", "labeled": true })),
                    "400": err("A missing or invalid field.", "action must be add or remove"),
                    "404": err("Unknown instance or label.", "Label not found"),
                    "503": err("The session is not connected.", "Instance is not connected to WhatsApp"),
                }),
            ),
        ),
    ]
}
