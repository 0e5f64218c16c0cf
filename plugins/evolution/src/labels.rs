//! Chat labels, to Evolution's label router, `LabelDto`/`HandleLabelDto` and its
//! Baileys service (`fetchLabels`, `handleLabel`):
//!
//! - `GET /label/findLabels/{instanceName}` -> 200 `[{color, name, id, predefinedId}]`
//!   (`color` a string, as Evolution's `Label` row keeps it; `predefinedId` null when
//!   the label is not one of WhatsApp Business's predefined ones). Needs `read`.
//! - `POST /label/handleLabel/{instanceName}` `{number, labelId, action: add|remove}`
//!   -> 200 `{numberJid, labelId, add: true}` or `{numberJid, labelId, remove: true}`.
//!   Needs `send`. As Evolution: a number not on WhatsApp is 404 `Number is not on
//!   WhatsApp`; a failure is 400 `["Unable to <action> label to chat", reason]`. Unlike
//!   Evolution (whose Baileys call sends any id), a label the instance does not have
//!   is such a failure: WhatsApp would keep a label nobody can see.
//!
//! The labels are the ones the phone syncs (WhatsApp Business); events `LABELS_EDIT`
//! and `LABELS_ASSOCIATION` are rendered in events.rs.

use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::Label;

use crate::input::{self, bad};
use crate::shape::{self, Style};
use crate::{Cap, Reply, core_error, guard, run};

/// `handleLabelSchema`'s required fields, in its order.
const REQUIRED: [&str; 3] = ["number", "labelId", "action"];

/// Adds the label routes to `r`.
pub(crate) fn routes(r: Router) -> Router {
    r.get("/label/findLabels/{instanceName}", |q, p| {
        run(q, p, find_labels)
    })
    .post("/label/handleLabel/{instanceName}", |q, p| {
        run(q, p, handle_label)
    })
}

/// Evolution's `LabelDto` of a label.
pub(crate) fn row(l: &Label) -> Value {
    json!({
        "color": l.color.to_string(),
        "name": l.name,
        "id": l.id,
        "predefinedId": l.predefined_id,
    })
}

/// Baileys' `Label` as `labels.edit` carries it (Evolution adds `instance`).
pub(crate) fn edit_event(l: &Label, instance: &str) -> Value {
    let mut v = json!({
        "id": l.id,
        "name": l.name,
        "color": l.color,
        "deleted": l.deleted,
    });
    if let Some(p) = &l.predefined_id {
        v["predefinedId"] = json!(p);
    }
    v["instance"] = json!(instance);
    v
}

/// Evolution's `LABELS_ASSOCIATION` data.
pub(crate) fn association_event(
    a: &wagate_plugin_sdk::types::LabelAssociation,
    instance: &str,
) -> Value {
    json!({
        "instance": instance,
        "type": if a.labeled { "add" } else { "remove" },
        "chatId": a.chat_jid,
        "labelId": a.label_id,
    })
}

fn find_labels(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let labels = core::list_labels(&InstanceRef::Id(instance.id)).map_err(|e| core_error(&e))?;
    Ok(json(200, &labels.iter().map(row).collect::<Vec<_>>()))
}

fn handle_label(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    if let Some(missing) = REQUIRED.iter().find(|k| body.get(**k).is_none()) {
        return Err(bad(&format!("instance requires property \"{missing}\"")));
    }
    let number = input::req_str(&body, "number")?;
    let label_id = input::req_str(&body, "labelId")?;
    let action = input::req_str(&body, "action")?;
    let labeled = match action.as_str() {
        "add" => true,
        "remove" => false,
        _ => return Err(bad("action is not one of enum values: add,remove")),
    };
    let which = InstanceRef::Id(instance.id);
    // Evolution's `whatsappNumber` first: the chat must be someone on WhatsApp (a
    // group is named by its JID and not looked up).
    let number = crate::chat::strip_device(&number);
    let chat = if number.ends_with("@g.us") {
        core::normalize_jid(&number).map_err(|e| core_error(&e))?
    } else {
        let check = core::check_numbers(&which, std::slice::from_ref(&number))
            .map_err(|e| core_error(&e))?;
        match check.into_iter().next() {
            Some(c) if c.exists => c.jid.unwrap_or(number),
            Some(_) => return Err(shape::evolution_msg(404, "Number is not on WhatsApp")),
            None => return Err(shape::evolution_msg(404, "Number not found")),
        }
    };
    let done = core::label_chat(&which, &chat, &label_id, labeled).map_err(|e| {
        if matches!(e, CoreError::Internal(_) | CoreError::RateLimited(_)) {
            return core_error(&e);
        }
        shape::evolution(
            400,
            [
                format!("Unable to {action} label to chat"),
                wagate_plugin_sdk::http::core_error_message(&e),
            ],
        )
    })?;
    Ok(json(
        200,
        &json!({ "numberJid": done.chat_jid, "labelId": done.label_id, action: true }),
    ))
}

// ---- OpenAPI ------------------------------------------------------------------------

/// The label routes' OpenAPI path items.
pub(crate) fn openapi_paths() -> Vec<(&'static str, Value)> {
    use crate::openapi::{body, ok, op};
    let mut find = op(
        "The instance's chat labels (WhatsApp Business labels synced from the phone)",
        "Label",
        true,
        None,
        ok(
            "200",
            "The labels",
            json!({ "type": "array", "items": { "$ref": "#/components/schemas/Label" } }),
        ),
    );
    find["operationId"] = json!("findLabels");
    let mut handle = op(
        "Put a label on a chat, or take it off. A number not on WhatsApp is 404; a label the instance does not have is 400 Unable to add label to chat",
        "Label",
        true,
        Some(body(json!({
            "type": "object", "required": REQUIRED,
            "properties": {
                "number": { "type": "string", "minLength": 1, "description": "A number with country code, or a JID" },
                "labelId": { "type": "string", "minLength": 1 },
                "action": { "type": "string", "enum": ["add", "remove"] }
            }
        }))),
        ok(
            "200",
            "Done: `add` or `remove` is true",
            json!({
                "type": "object", "required": ["numberJid", "labelId"],
                "properties": {
                    "numberJid": { "type": "string" }, "labelId": { "type": "string" },
                    "add": { "type": "boolean" }, "remove": { "type": "boolean" }
                }
            }),
        ),
    );
    handle["operationId"] = json!("handleLabel");
    handle["responses"]["403"] = json!({ "$ref": "#/components/responses/Forbidden" });
    vec![
        ("/label/findLabels/{instanceName}", json!({ "get": find })),
        (
            "/label/handleLabel/{instanceName}",
            json!({ "post": handle }),
        ),
    ]
}

/// The `Label` schema.
pub(crate) fn openapi_schema() -> Value {
    json!({
        "type": "object", "required": ["color", "name", "id", "predefinedId"],
        "properties": {
            "color": { "type": "string", "description": "WhatsApp's colour index (0-19)" },
            "name": { "type": "string" },
            "id": { "type": "string" },
            "predefinedId": { "type": ["string", "null"] }
        }
    })
}
