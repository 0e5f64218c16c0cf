//! `POST /chat/updateMessage/{instanceName} {number, key: {id, remoteJid, fromMe},
//! text}`: edit a text message this account sent, within WhatsApp's 15 minutes.
//! Answered 201 with the MESSAGE_EDIT protocol message Baileys sends (its `key` is the
//! edited message's); edits reach webhooks as `MESSAGES_EDITED` with the message as
//! edited (`status: "EDITED"`).

use serde::Serialize;
use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;

use crate::chat::{Key, key_of, raw, strip_device};
use crate::input::{self, bad};
use crate::shape::Style;
use crate::{Cap, Reply, core_error, guard};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EditSent {
    key: Key,
    message: Value,
    message_type: &'static str,
    message_timestamp: u64,
    status: &'static str,
}

/// `POST /chat/updateMessage/{instanceName}`.
pub(crate) fn update(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let number = input::req_str(&body, "number")?;
    let text = input::req_str(&body, "text")?;
    let id = input::req_str(&body, "key.id")?;
    input::req_str(&body, "key.remoteJid")?;
    input::req_bool(&body, "key.fromMe")?;
    let jid = core::normalize_jid(&strip_device(&number)).map_err(|e| core_error(&e))?;
    let which = InstanceRef::Id(instance.id.clone());
    let target = core::get_message(&which, &id).map_err(|e| core_error(&e))?;
    // Either address of a LID <-> phone pair names the chat.
    if target.chat_jid != jid && target.chat_jid_alt.as_ref() != Some(&jid) {
        return Err(bad("RemoteJid does not match"));
    }
    let edited = core::edit_message(&which, &id, &text).map_err(|e| core_error(&e))?;
    Ok(json(
        201,
        &EditSent {
            key: key_of(&edited),
            message: json!({ "protocolMessage": {
                "key": key_of(&edited),
                "type": "MESSAGE_EDIT",
                "editedMessage": { "conversation": text },
            } }),
            message_type: "protocolMessage",
            message_timestamp: wagate_plugin_sdk::time::now_secs(),
            status: "PENDING",
        },
    ))
}

/// `MESSAGES_EDITED`'s data: the message as edited.
pub(crate) fn edited(m: &Message, instance_id: &str) -> crate::chat::MessageBody {
    let mut body = raw(m, instance_id);
    body.status = Some("EDITED");
    body
}
