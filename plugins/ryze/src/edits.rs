//! `POST /message/edit/{instance} {messageId, message}`: edit a text message this
//! account sent, within WhatsApp's 15 minutes (RyzeAPI's catalog names no edit route;
//! this one follows its send routes and is in the OpenAPI document). Edits reach
//! webhooks as `message.exchange` with `data.type` `"message_edit"` and the message as
//! edited.

use serde::Deserialize;
use serde_json::json;
use wagate_plugin_sdk::prelude::*;

use crate::routes::{find_instance, require_connected, required, sentence, which};
use crate::util::{display_jid, iso8601};
use crate::{core_fail, fail, msg, ok};

#[derive(Deserialize)]
pub(crate) struct EditBody {
    #[serde(rename = "messageId")]
    message_id: Option<String>,
    message: Option<String>,
}

/// `POST /message/edit/{instance}`.
pub(crate) fn edit(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let b: EditBody = req.body()?;
    let id = required(b.message_id, msg::MESSAGE_ID_REQUIRED)?;
    let text = match b.message {
        Some(t) if !t.trim().is_empty() => t,
        _ => return Err(fail(400, "Message is required")),
    };
    require_connected(&instance)?;
    let m = core::edit_message(&which, &id, &text).map_err(|e| match e {
        CoreError::Conflict(m) => fail(409, &sentence(&m)),
        other => core_fail(&other),
    })?;
    Ok(ok(
        200,
        json!({
            "success": true,
            "message": "Message edited successfully",
            "data": {
                "messageId": m.id,
                "timestamp": iso8601(m.timestamp),
                "chat": { "jid": display_jid(&m.chat_jid), "type": crate::util::chat_type(&m.chat_jid) },
                "content": { "text": m.text },
            },
        }),
    ))
}
