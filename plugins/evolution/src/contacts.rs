//! Evolution's contact routes under `/chat/*` (`chat.router.ts`, `chat.dto.ts`), with
//! the answers of its Baileys service:
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | POST | /chat/whatsappNumbers/{i} | `{numbers: [..]}` | 200 `[{jid, exists, number, name?, lid?}]` in the order given (`lid`: the LID behind the number, when WhatsApp gave it) |
//! | POST | /chat/findContacts/{i} | `{where?: {remoteJid?}, offset?, page?}` | 200 the stored contacts, Evolution's `Contact` rows |
//! | POST | /chat/fetchProfilePictureUrl/{i} | `{number}` | 200 `{wuid, profilePictureUrl}` (null when none) |
//! | POST | /chat/updateBlockStatus/{i} | `{number, status: block\|unblock}` | 201 `{"block":"success"}` |
//!
//! `whatsappNumbers` answers a malformed entry, or a group, with `exists: false` and
//! the entry as its `jid` (Evolution's `createJid` keeps what it cannot parse);
//! `name` is the push name of a stored contact. Contacts are the people the instance
//! has received messages from (`profilePicUrl` is not kept: null). Reads need `read`,
//! blocking `send`; blocking a number not on WhatsApp is 400 as in Evolution.

use serde_json::{Value, json as j};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::Contact;

use crate::input::{self, bad};
use crate::shape::Style;
use crate::util::iso;
use crate::{Cap, Reply, core_error, guard, run};

/// Adds the contact routes to `r`.
pub(crate) fn routes(r: Router) -> Router {
    r.post("/chat/whatsappNumbers/{instanceName}", |q, p| {
        run(q, p, whatsapp_numbers)
    })
    .post("/chat/findContacts/{instanceName}", |q, p| {
        run(q, p, find_contacts)
    })
    .post("/chat/fetchProfilePictureUrl/{instanceName}", |q, p| {
        run(q, p, profile_picture)
    })
    .post("/chat/updateBlockStatus/{instanceName}", |q, p| {
        run(q, p, update_block_status)
    })
}

fn me(instance: &Instance) -> InstanceRef {
    InstanceRef::Id(instance.id.clone())
}

fn whatsapp_numbers(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let body = input::body(req)?;
    let numbers: Vec<String> = match body.get("numbers") {
        None | Some(Value::Null) => return Err(bad("instance requires property \"numbers\"")),
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(bad("numbers does not meet minimum length of 1"));
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(bad("numbers[0] is not of a type(s) string")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("numbers is not of a type(s) array")),
    };
    let asked: Vec<String> = numbers
        .iter()
        .map(|n| crate::chat::strip_device(n))
        .collect();
    let checks = core::check_numbers(&me(&instance), &asked).map_err(|e| core_error(&e))?;
    let contacts = core::all_contacts(&me(&instance)).unwrap_or_default();
    let rows: Vec<Value> = checks
        .iter()
        .zip(&numbers)
        .map(|(c, given)| {
            let jid = c.jid.clone().unwrap_or_else(|| given.clone());
            let mut row = j!({ "jid": jid, "exists": c.exists, "number": given });
            // OnWhatsAppDto's `lid`: the LID behind the number, when WhatsApp gave it.
            if let Some(lid) = c.jid_alt.as_ref().filter(|a| a.ends_with("@lid")) {
                row["lid"] = j!(lid);
            }
            if let Some(name) = contacts
                .iter()
                .find(|k| {
                    c.exists
                        && c.jid.is_some()
                        && (Some(&k.jid) == c.jid.as_ref() || k.jid_alt.as_ref() == c.jid.as_ref())
                })
                .and_then(|k| k.saved_name.clone().or_else(|| k.push_name.clone()))
            {
                row["name"] = j!(name);
            }
            row
        })
        .collect();
    Ok(json(200, &rows))
}

fn find_contacts(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let body = input::body(req)?;
    let wanted = match input::opt_str(&body, "where.remoteJid")?.filter(|s| !s.is_empty()) {
        Some(j) if j.contains('@') => Some(j),
        Some(n) => {
            Some(core::normalize_jid(&crate::chat::strip_device(&n)).map_err(|e| core_error(&e))?)
        }
        None => None,
    };
    let offset = input::opt_uint(&body, "offset")?;
    let page = input::opt_uint(&body, "page")?.unwrap_or(1).max(1);
    let contacts = core::all_contacts(&me(&instance)).map_err(|e| core_error(&e))?;
    let matching = contacts
        .into_iter()
        // Either half of a LID <-> phone pair finds the contact.
        .filter(|c| {
            wanted
                .as_ref()
                .is_none_or(|w| *w == c.jid || Some(w) == c.jid_alt.as_ref())
        });
    let rows: Vec<Value> = match offset {
        Some(take) => matching
            .skip((take * (page - 1)) as usize)
            .take(take as usize)
            .map(|c| row(&c, &instance.id))
            .collect(),
        None => matching.map(|c| row(&c, &instance.id)).collect(),
    };
    Ok(json(200, &rows))
}

/// Evolution's `Contact` row with `fetchContacts`' `isGroup`, `isSaved` and `type`.
fn row(c: &Contact, instance_id: &str) -> Value {
    // Evolution names a contact by its address book name first (Baileys' `name`),
    // else the name its messages carried; it counts a contact with a name as saved.
    let name = c.saved_name.as_ref().or(c.push_name.as_ref());
    let saved = name.is_some();
    let mut row = j!({
        "id": c.jid,
        "remoteJid": c.jid,
        "pushName": name,
        "profilePicUrl": Value::Null,
        "createdAt": iso(c.created_at),
        "updatedAt": iso(c.updated_at),
        "instanceId": instance_id,
        "isGroup": false,
        "isSaved": saved,
        "type": if saved { "contact" } else { "group_member" },
    });
    // The other address, as Baileys 7 keys name it, when the instance knows it.
    if let Some(alt) = &c.jid_alt {
        row["remoteJidAlt"] = j!(alt);
    }
    row
}

fn profile_picture(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let body = input::body(req)?;
    let number = input::req_str(&body, "number")?;
    let jid =
        core::normalize_jid(&crate::chat::strip_device(&number)).map_err(|e| core_error(&e))?;
    let url = core::profile_picture_url(&me(&instance), &jid).map_err(|e| core_error(&e))?;
    Ok(json(200, &j!({ "wuid": jid, "profilePictureUrl": url })))
}

fn update_block_status(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let number = input::req_str(&body, "number")?;
    let blocked = match input::req_str(&body, "status")?.as_str() {
        "block" => true,
        "unblock" => false,
        _ => return Err(bad("status is not one of enum values: block,unblock")),
    };
    core::set_blocked(&me(&instance), &crate::chat::strip_device(&number), blocked).map_err(
        |e| {
            if matches!(e, CoreError::Internal(_) | CoreError::RateLimited(_)) {
                return core_error(&e);
            }
            crate::titled_error("Error blocking user", &e)
        },
    )?;
    Ok(json(201, &j!({ "block": "success" })))
}

// ---- OpenAPI ------------------------------------------------------------------------

/// The contact routes' OpenAPI path items.
pub(crate) fn openapi_paths() -> Vec<(&'static str, Value)> {
    use crate::openapi::{body, ok, op};
    let number = j!({ "type": "string", "minLength": 1, "description": "A number with country code, or a JID" });
    let with_id = |mut o: Value, id: &str| {
        o["operationId"] = j!(id);
        j!({ "post": o })
    };
    vec![
        (
            "/chat/whatsappNumbers/{instanceName}",
            with_id(
                op(
                    "Which numbers are on WhatsApp",
                    "Chat",
                    true,
                    Some(body(
                        j!({ "type": "object", "required": ["numbers"], "properties": {
                        "numbers": { "type": "array", "minItems": 1, "maxItems": 500, "items": { "type": "string" } }
                    } }),
                    )),
                    ok(
                        "200",
                        "One answer per number, in order",
                        j!({ "type": "array", "items": {
                        "type": "object", "required": ["jid", "exists", "number"], "properties": {
                            "jid": { "type": "string" }, "exists": { "type": "boolean" },
                            "number": { "type": "string" }, "name": { "type": "string" },
                            "lid": { "type": "string", "description": "The LID behind the number, when WhatsApp gave it" }
                        } } }),
                    ),
                ),
                "whatsappNumbers",
            ),
        ),
        (
            "/chat/findContacts/{instanceName}",
            with_id(
                op(
                    "Stored contacts (people the instance heard from)",
                    "Chat",
                    true,
                    Some(body(j!({ "type": "object", "properties": {
                        "where": { "type": "object", "properties": { "remoteJid": { "type": "string" } } },
                        "offset": { "type": "integer", "minimum": 1 }, "page": { "type": "integer", "minimum": 1 }
                    } }))),
                    ok(
                        "200",
                        "Contacts",
                        j!({ "type": "array", "items": {
                        "type": "object", "required": ["id", "remoteJid"], "properties": {
                            "id": { "type": "string" }, "remoteJid": { "type": "string" },
                            "remoteJidAlt": { "type": "string", "description": "The phone JID behind a LID contact, or the LID of a phone contact, when known" },
                            "pushName": { "type": ["string", "null"] }, "profilePicUrl": { "type": "null" },
                            "createdAt": { "type": "string" }, "updatedAt": { "type": "string" },
                            "instanceId": { "type": "string" }, "isGroup": { "type": "boolean" },
                            "isSaved": { "type": "boolean" }, "type": { "type": "string" }
                        } } }),
                    ),
                ),
                "findContacts",
            ),
        ),
        (
            "/chat/fetchProfilePictureUrl/{instanceName}",
            with_id(
                op(
                    "A profile picture URL",
                    "Chat",
                    true,
                    Some(body(
                        j!({ "type": "object", "required": ["number"], "properties": { "number": number } }),
                    )),
                    ok(
                        "200",
                        "The URL, or null",
                        j!({ "type": "object", "required": ["wuid", "profilePictureUrl"], "properties": {
                        "wuid": { "type": "string" }, "profilePictureUrl": { "type": ["string", "null"] }
                    } }),
                    ),
                ),
                "fetchProfilePictureUrl",
            ),
        ),
        (
            "/chat/updateBlockStatus/{instanceName}",
            with_id(
                op(
                    "Block or unblock a number",
                    "Chat",
                    true,
                    Some(body(
                        j!({ "type": "object", "required": ["number", "status"], "properties": {
                        "number": number, "status": { "enum": ["block", "unblock"] }
                    } }),
                    )),
                    ok(
                        "201",
                        "Done",
                        j!({ "type": "object", "required": ["block"], "properties": { "block": { "const": "success" } } }),
                    ),
                ),
                "updateBlockStatus",
            ),
        ),
    ]
}
