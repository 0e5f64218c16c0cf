//! Two lookups of Evolution's chat router over what wagate stores:
//!
//! - `GET /chat/findChatByRemoteJid/{i}?remoteJid=` -> the chat as Evolution's `Chat`
//!   row (`{id, remoteJid, name, labels, createdAt, updatedAt, instanceId,
//!   unreadMessages}`), or `null` when the instance has no such chat; without
//!   `remoteJid`, 400 `{error: "remoteJid is a required query parameter"}` (that
//!   route's own shape in Evolution).
//! - `POST /chat/findStatusMessage/{i} {where?: {remoteJid?, id?}, offset?, page?}` ->
//!   `MessageUpdate` rows (`{id, keyId, remoteJid, fromMe, participant, status,
//!   messageId, instanceId}`), `offset` (default 50) per page. Evolution keeps one row
//!   per receipt; wagate keeps each message's furthest status, so a message has one
//!   row, with that status. Messages without a receipt have none.
//!
//! Row ids Evolution's database assigns (`id`, `messageId`) are null: wagate has none
//! to give. Both need `read`.

use serde_json::{Value, json as j};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::Message;

use crate::chat::strip_device;
use crate::input::{self, bad};
use crate::shape::Style;
use crate::util::iso;
use crate::{Cap, Reply, core_error, guard, run};

/// The most rows one `findStatusMessage` page holds.
const MAX_OFFSET: u64 = 500;
/// The most status rows one call may page through (offset × page).
const MAX_WALK: u64 = 50_000;

pub(crate) fn routes(r: Router) -> Router {
    r.get("/chat/findChatByRemoteJid/{instanceName}", |q, p| {
        run(q, p, find_chat)
    })
    .post("/chat/findStatusMessage/{instanceName}", |q, p| {
        run(q, p, find_status)
    })
}

fn find_chat(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let Some(remote) = req.query("remoteJid").filter(|r| !r.trim().is_empty()) else {
        return Ok(json(
            400,
            &j!({ "error": "remoteJid is a required query parameter" }),
        ));
    };
    let which = InstanceRef::Id(instance.id.clone());
    let Ok(jid) = core::normalize_jid(&strip_device(&remote)) else {
        return Ok(json(200, &Value::Null));
    };
    match core::get_chat(&which, &jid) {
        Ok(c) => Ok(json(
            200,
            &j!({
                "id": null,
                "remoteJid": c.jid,
                "name": c.name,
                "labels": null,
                "createdAt": null,
                "updatedAt": iso(c.last_activity),
                "instanceId": instance.id,
                "unreadMessages": 0,
            }),
        )),
        Err(e) if e.is_not_found(ResourceKind::Chat) => Ok(json(200, &Value::Null)),
        Err(e) => Err(core_error(&e)),
    }
}

fn find_status(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let body = input::body(req)?;
    let remote = input::opt_str(&body, "where.remoteJid")?.filter(|s| !s.is_empty());
    let id = input::opt_str(&body, "where.id")?.filter(|s| !s.is_empty());
    let offset = input::opt_uint(&body, "offset")?.unwrap_or(50);
    let page = input::opt_uint(&body, "page")?.unwrap_or(1).max(1);
    if offset == 0 || offset > MAX_OFFSET {
        return Err(bad(&format!("offset must be from 1 to {MAX_OFFSET}")));
    }
    // Each page walks the messages before it: bounded, so one call cannot walk a
    // whole large instance.
    if offset.saturating_mul(page) > MAX_WALK {
        return Err(bad(&format!(
            "offset × page must be at most {MAX_WALK}; narrow with where.remoteJid"
        )));
    }
    let skip = usize::try_from(offset.saturating_mul(page - 1)).unwrap_or(usize::MAX);
    let take = offset as usize;
    let which = InstanceRef::Id(instance.id.clone());
    let row = |m: &Message| {
        j!({
            "id": null,
            "keyId": m.id,
            "remoteJid": m.chat_jid,
            "fromMe": m.from_me,
            "participant": m.chat_jid.ends_with("@g.us").then(|| m.sender.clone()),
            "status": m.status.map(crate::receipts::status_name),
            "messageId": null,
            "instanceId": instance.id,
        })
    };
    if let Some(id) = id {
        let rows: Vec<Value> = match core::get_message(&which, &id) {
            Ok(m) if m.status.is_some() && remote.as_deref().is_none_or(|r| same_chat(r, &m)) => {
                vec![row(&m)]
            }
            Ok(_) => Vec::new(),
            Err(e) if e.is_not_found(ResourceKind::Message) => Vec::new(),
            Err(e) => return Err(core_error(&e)),
        };
        return Ok(json(
            200,
            &rows.into_iter().skip(skip).take(take).collect::<Vec<_>>(),
        ));
    }
    let chats: Vec<String> = match &remote {
        Some(r) => match core::normalize_jid(&strip_device(r)) {
            Ok(j) => vec![j],
            Err(_) => Vec::new(),
        },
        None => core::list_chats(&which)
            .map_err(|e| core_error(&e))?
            .into_iter()
            .map(|c| c.jid)
            .collect(),
    };
    // Walk the chats' messages, newest first, until the page is full.
    let mut rows = Vec::with_capacity(take);
    let mut seen = 0usize;
    'chats: for chat in chats {
        let mut cursor: Option<String> = None;
        loop {
            let page = match core::list_messages(&which, &chat, 200, cursor.as_deref()) {
                Ok(p) => p,
                Err(e) if e.is_not_found(ResourceKind::Chat) => break,
                Err(e) => return Err(core_error(&e)),
            };
            for m in page.messages.iter().filter(|m| m.status.is_some()) {
                if seen >= skip {
                    rows.push(row(m));
                    if rows.len() == take {
                        break 'chats;
                    }
                }
                seen += 1;
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(json(200, &rows))
}

fn same_chat(remote: &str, m: &Message) -> bool {
    // Either address of a LID <-> phone pair names the chat.
    core::normalize_jid(&strip_device(remote))
        .is_ok_and(|j| j == m.chat_jid || m.chat_jid_alt.as_ref() == Some(&j))
}

/// The two routes' OpenAPI path items.
pub(crate) fn openapi_paths() -> Vec<(&'static str, Value)> {
    use crate::openapi::{body, ok, op};
    let nullable = |t: &str| j!({ "type": [t, "null"] });
    let mut chat = op(
        "A stored chat by its JID (null when there is none)",
        "Chat",
        true,
        None,
        ok(
            "200",
            "The chat, or null",
            j!({ "type": ["object", "null"], "properties": {
                "id": { "type": "null" }, "remoteJid": { "type": "string" }, "name": nullable("string"),
                "labels": { "type": "null" }, "createdAt": { "type": "null" }, "updatedAt": { "type": "string" },
                "instanceId": { "type": "string" }, "unreadMessages": { "type": "integer" }
            } }),
        ),
    );
    chat["parameters"]
        .as_array_mut()
        .expect("op() lists the instance parameter")
        .push(j!({ "name": "remoteJid", "in": "query", "required": true, "schema": { "type": "string", "minLength": 1 } }));
    chat["responses"]["400"] = j!({ "description": "No remoteJid", "content": { "application/json": { "schema": {
        "type": "object", "properties": { "error": { "type": "string" } } } } } });
    chat["operationId"] = j!("findChatByRemoteJid");
    let mut status = op(
        "Messages' delivery statuses (one row per message: its furthest receipt)",
        "Chat",
        true,
        Some(body(j!({ "type": "object", "properties": {
            "where": { "type": "object", "properties": { "remoteJid": { "type": "string" }, "id": { "type": "string" } } },
            "offset": { "type": "integer", "minimum": 1, "maximum": MAX_OFFSET, "default": 50 },
            "page": { "type": "integer", "minimum": 1, "default": 1 }
        } }))),
        ok(
            "200",
            "MessageUpdate rows",
            j!({ "type": "array", "items": { "type": "object", "required": ["keyId", "remoteJid", "fromMe", "status"], "properties": {
                "id": { "type": "null" }, "keyId": { "type": "string" }, "remoteJid": { "type": "string" },
                "fromMe": { "type": "boolean" }, "participant": nullable("string"),
                "status": { "enum": ["SERVER_ACK", "DELIVERY_ACK", "READ", "PLAYED"] },
                "messageId": { "type": "null" }, "instanceId": { "type": "string" }
            } } }),
        ),
    );
    status["operationId"] = j!("findStatusMessage");
    vec![
        (
            "/chat/findChatByRemoteJid/{instanceName}",
            j!({ "get": chat }),
        ),
        (
            "/chat/findStatusMessage/{instanceName}",
            j!({ "post": status }),
        ),
    ]
}
