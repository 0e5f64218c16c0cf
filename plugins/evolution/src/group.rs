//! Evolution's `/group/*` router (`group.router.ts`), with the requests of its DTOs
//! (`group.dto.ts`) and the answers of its Baileys service's group methods.
//!
//! | method | path | body / query | answer |
//! |---|---|---|---|
//! | POST | /group/create | `{subject, participants, description?, promoteParticipants?}` | 201 the group's metadata (Baileys' `GroupMetadata`) |
//! | POST | /group/updateGroupSubject | `{subject}` | 201 `{"update":"success"}` |
//! | POST | /group/updateGroupDescription | `{description}` | 201 `{"update":"success"}` |
//! | POST | /group/updateGroupPicture | `{image}`: a URL or base64 of a JPEG | 201 `{"update":"success"}` |
//! | GET | /group/findGroupInfos | `?groupJid=` | 200 the group (with `pictureUrl`, `size`, `participants`) |
//! | GET | /group/fetchAllGroups | `?getParticipants=true\|false` | 200 `[group, ...]` (`participants` only with `true`) |
//! | GET | /group/participants | `?groupJid=` | 200 `{"participants":[{id, admin}]}` |
//! | GET | /group/inviteCode | `?groupJid=` | 200 `{inviteUrl, inviteCode}` |
//! | GET | /group/inviteInfo | `?inviteCode=` | 200 the group's metadata |
//! | GET | /group/acceptInviteCode | `?inviteCode=` | 200 `{accepted: true, groupJid}` |
//! | POST | /group/sendInvite | `{groupJid, description, numbers}` | 200 `{send: true, inviteUrl}` |
//! | POST | /group/revokeInviteCode | `?groupJid=` | 201 `{revoked: true, inviteCode}` (the new code) |
//! | POST | /group/updateParticipant | `{action: add\|remove\|promote\|demote, participants}` | 201 `{"updateParticipants":[{status:"200", jid}]}` |
//! | POST | /group/updateSetting | `{action: announcement\|not_announcement\|locked\|unlocked}` | 201 `{}` (Baileys answers nothing, Evolution wraps `undefined`) |
//! | POST | /group/toggleEphemeral | `{expiration: 0\|86400\|604800\|7776000}` | 201 `{"success":true}` |
//! | DELETE | /group/leaveGroup | `?groupJid=` | 200 `{groupJid, leave: true}` |
//!
//! All are on `/{instanceName}`. The group is `groupJid` of the body or the query
//! (Evolution's `groupValidate`: missing is 400 `The group id needs to be informed in
//! the query`; a bare id gets `@g.us`). Reads need `read`; changes, invite links and
//! joins need `send`.
//!
//! Errors keep each method's exception: its status when Evolution's is a 4xx (404
//! `Error fetching group`, 400 `Error updating participants`, ...) with Evolution's
//! title and WhatsApp's reason as the two messages; where Evolution answers 500 for
//! anything (create, subject, description) the client's mistakes answer as core rates
//! them (404 unknown group, 403 not an admin, 400 bad input) instead.

use serde::Serialize;
use serde_json::{Value, json as j};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{
    Group, GroupCreate, GroupSetting, ParticipantAction, ParticipantRole,
};

use crate::input::{self, bad};
use crate::shape::{self, Style};
use crate::{Cap, Reply, core_error, guard, run};

/// Adds the group routes to `r`.
pub(crate) fn routes(r: Router) -> Router {
    r.post("/group/create/{instanceName}", |q, p| run(q, p, create))
        .post("/group/updateGroupSubject/{instanceName}", |q, p| {
            run(q, p, update_subject)
        })
        .post("/group/updateGroupDescription/{instanceName}", |q, p| {
            run(q, p, update_description)
        })
        .post("/group/updateGroupPicture/{instanceName}", |q, p| {
            run(q, p, update_picture)
        })
        .get("/group/findGroupInfos/{instanceName}", |q, p| {
            run(q, p, find_group_infos)
        })
        .get("/group/fetchAllGroups/{instanceName}", |q, p| {
            run(q, p, fetch_all_groups)
        })
        .get("/group/participants/{instanceName}", |q, p| {
            run(q, p, participants)
        })
        .get("/group/inviteCode/{instanceName}", |q, p| {
            run(q, p, invite_code)
        })
        .get("/group/inviteInfo/{instanceName}", |q, p| {
            run(q, p, invite_info)
        })
        .get("/group/acceptInviteCode/{instanceName}", |q, p| {
            run(q, p, accept_invite_code)
        })
        .post("/group/sendInvite/{instanceName}", |q, p| {
            run(q, p, send_invite)
        })
        .post("/group/revokeInviteCode/{instanceName}", |q, p| {
            run(q, p, revoke_invite_code)
        })
        .post("/group/updateParticipant/{instanceName}", |q, p| {
            run(q, p, update_participant)
        })
        .post("/group/updateSetting/{instanceName}", |q, p| {
            run(q, p, update_setting)
        })
        .post("/group/toggleEphemeral/{instanceName}", |q, p| {
            run(q, p, toggle_ephemeral)
        })
        .delete("/group/leaveGroup/{instanceName}", |q, p| {
            run(q, p, leave_group)
        })
}

// ---- shapes ---------------------------------------------------------------------

/// A participant as Baileys lists it: `admin` is `superadmin`, `admin` or null.
#[derive(Serialize)]
struct Participant {
    id: String,
    admin: Option<&'static str>,
}

fn participants_of(g: &Group) -> Vec<Participant> {
    g.participants
        .iter()
        .map(|p| Participant {
            id: p.jid.clone(),
            admin: match p.role {
                ParticipantRole::SuperAdmin => Some("superadmin"),
                ParticipantRole::Admin => Some("admin"),
                ParticipantRole::Member => None,
            },
        })
        .collect()
}

/// Baileys' `GroupMetadata` (what `groupMetadata`, `groupCreate` and
/// `groupGetInviteInfo` answer, and `groups.upsert` carries); times in seconds.
pub(crate) fn metadata(g: &Group) -> Value {
    let mut v = j!({
        "id": g.jid,
        "subject": g.subject,
        "subjectOwner": g.subject_owner,
        "subjectTime": g.subject_time.map(|t| t / 1000),
        "size": g.participants.len(),
        "creation": g.created_at / 1000,
        "owner": g.owner,
        "desc": g.description,
        "descId": g.description_id,
        "restrict": g.settings.locked,
        "announce": g.settings.announcement,
        "isCommunity": false,
        "isCommunityAnnounce": false,
        "joinApprovalMode": g.settings.approval,
        "memberAddMode": false,
        "participants": participants_of(g),
    });
    if g.settings.ephemeral_secs > 0 {
        v["ephemeralDuration"] = j!(g.settings.ephemeral_secs);
    }
    v
}

/// The service's `findGroup` / `fetchAllGroups` row: the metadata's fields in its
/// order, `pictureUrl` (not known: null) and, when asked, the participants.
fn row(g: &Group, with_participants: bool) -> Value {
    let mut v = j!({
        "id": g.jid,
        "subject": g.subject,
        "subjectOwner": g.subject_owner,
        "subjectTime": g.subject_time.map(|t| t / 1000),
        "pictureUrl": Value::Null,
        "size": g.participants.len(),
        "creation": g.created_at / 1000,
        "owner": g.owner,
        "desc": g.description,
        "descId": g.description_id,
        "restrict": g.settings.locked,
        "announce": g.settings.announcement,
        "isCommunity": false,
        "isCommunityAnnounce": false,
        "linkedParent": Value::Null,
    });
    if with_participants {
        v["participants"] = j!(participants_of(g));
    }
    v
}

fn invite_url(code: &str) -> String {
    format!("https://chat.whatsapp.com/{code}")
}

// ---- errors -----------------------------------------------------------------------

/// A group method's exception: `[title, WhatsApp's reason]` with the method's status
/// (`None`: core's rating of the error). The gateway's own failures and rate limits
/// keep core's answer.
fn failed(status: Option<u16>, title: &str, e: &CoreError) -> HttpResponse {
    if matches!(e, CoreError::Internal(_) | CoreError::RateLimited(_)) {
        return core_error(e);
    }
    let status = status.unwrap_or_else(|| core_error(e).status);
    let detail = wagate_plugin_sdk::http::core_error_message(e);
    shape::evolution(status, [title.to_string(), detail])
}

// ---- inputs -----------------------------------------------------------------------

/// `groupValidate`: `groupJid` of the body, else of the query; a bare id gets `@g.us`.
fn group_jid(req: &Request, body: &Value) -> Result<String, HttpResponse> {
    let given = match input::opt_str(body, "groupJid")?.filter(|s| !s.is_empty()) {
        Some(g) => g,
        None => match req.query("groupJid").filter(|s| !s.is_empty()) {
            Some(g) => g,
            None => {
                return Err(shape::evolution(
                    400,
                    [
                        "The group id needs to be informed in the query",
                        "ex: \"groupJid=120362@g.us\"",
                    ],
                ));
            }
        },
    };
    let given = given.trim().to_string();
    Ok(if given.ends_with("@g.us") {
        given
    } else {
        format!("{given}@g.us")
    })
}

/// `inviteCodeValidate`: `inviteCode` of the query.
fn invite_code_query(req: &Request) -> Result<String, HttpResponse> {
    req.query("inviteCode")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            shape::evolution(
                400,
                [
                    "The group invite code id needs to be informed in the query",
                    "ex: \"inviteCode=F1EX5QZxO181L3TMVP31gY\" (Obtained from group join link)",
                ],
            )
        })
}

/// A required array of strings (`participants`, `numbers`).
fn str_list(v: &Value, key: &str) -> Result<Vec<String>, HttpResponse> {
    match v.get(key) {
        None | Some(Value::Null) => Err(bad(&format!("instance requires property \"{key}\""))),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(crate::chat::strip_device(s)),
                _ => Err(bad(&format!("{key}[0] is not of a type(s) string"))),
            })
            .collect(),
        Some(_) => Err(bad(&format!("{key} is not of a type(s) array"))),
    }
}

fn me(instance: &Instance) -> InstanceRef {
    InstanceRef::Id(instance.id.clone())
}

// ---- handlers -----------------------------------------------------------------------

fn create(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let subject = input::req_str(&body, "subject")?;
    let participants = str_list(&body, "participants")?;
    let description = input::opt_str(&body, "description")?;
    let promote = input::opt_bool(&body, "promoteParticipants")?.unwrap_or(false);
    let title = "Error creating group";
    let spec = GroupCreate {
        subject,
        participants,
        description,
    };
    let mut group =
        core::create_group(&me(&instance), &spec).map_err(|e| failed(None, title, &e))?;
    if promote {
        let others: Vec<String> = group
            .participants
            .iter()
            .filter(|p| p.role == ParticipantRole::Member)
            .map(|p| p.jid.clone())
            .collect();
        if !others.is_empty() {
            core::update_group_participants(
                &me(&instance),
                &group.jid,
                ParticipantAction::Promote,
                &others,
            )
            .map_err(|e| failed(None, title, &e))?;
            group =
                core::get_group(&me(&instance), &group.jid).map_err(|e| failed(None, title, &e))?;
        }
    }
    Ok(json(201, &metadata(&group)))
}

fn update_subject(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let gjid = group_jid(req, &body)?;
    let subject = input::req_str(&body, "subject")?;
    core::set_group_subject(&me(&instance), &gjid, &subject)
        .map_err(|e| failed(None, "Error updating group subject", &e))?;
    Ok(json(201, &j!({ "update": "success" })))
}

fn update_picture(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let gjid = group_jid(req, &body)?;
    let source = crate::account::picture_source(&body, "image")?;
    core::set_group_picture(&me(&instance), &gjid, Some(&source))
        .map_err(|e| failed(None, "Error update group picture", &e))?;
    Ok(json(201, &j!({ "update": "success" })))
}

fn update_description(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let gjid = group_jid(req, &body)?;
    let description = match body.get("description") {
        None | Some(Value::Null) => {
            return Err(bad("instance requires property \"description\""));
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(bad("description is not of a type(s) string")),
    };
    core::set_group_description(&me(&instance), &gjid, Some(&description))
        .map_err(|e| failed(None, "Error updating group description", &e))?;
    Ok(json(201, &j!({ "update": "success" })))
}

fn find_group_infos(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let gjid = group_jid(req, &Value::Null)?;
    let group = core::get_group(&me(&instance), &gjid)
        .map_err(|e| failed(Some(404), "Error fetching group", &e))?;
    Ok(json(200, &row(&group, true)))
}

fn fetch_all_groups(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let Some(flag) = req.query("getParticipants").filter(|s| !s.is_empty()) else {
        return Err(bad("The getParticipants needs to be informed in the query"));
    };
    let groups = core::all_groups(&me(&instance)).map_err(|e| core_error(&e))?;
    let with = flag == "true";
    Ok(json(
        200,
        &groups.iter().map(|g| row(g, with)).collect::<Vec<_>>(),
    ))
}

fn participants(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let gjid = group_jid(req, &Value::Null)?;
    let group = core::get_group(&me(&instance), &gjid)
        .map_err(|e| failed(Some(404), "No participants", &e))?;
    Ok(json(200, &j!({ "participants": participants_of(&group) })))
}

fn invite_code(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let gjid = group_jid(req, &Value::Null)?;
    let code = core::group_invite_code(&me(&instance), &gjid, false)
        .map_err(|e| failed(Some(404), "No invite code", &e))?;
    Ok(json(
        200,
        &j!({ "inviteUrl": invite_url(&code), "inviteCode": code }),
    ))
}

fn invite_info(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let code = invite_code_query(req)?;
    let group = core::group_invite_info(&me(&instance), &code).map_err(|e| {
        shape::evolution(404, ["No invite info".to_string(), error_detail(&e, &code)])
    })?;
    Ok(json(200, &metadata(&group)))
}

/// `inviteInfo`'s second message is the code itself (Evolution's), unless the
/// failure was not the code's.
fn error_detail(e: &CoreError, code: &str) -> String {
    match e {
        CoreError::NotFound(_) => code.to_string(),
        e => wagate_plugin_sdk::http::core_error_message(e),
    }
}

fn accept_invite_code(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let code = invite_code_query(req)?;
    let gjid = core::join_group(&me(&instance), &code)
        .map_err(|e| failed(Some(404), "Accept invite error", &e))?;
    Ok(json(200, &j!({ "accepted": true, "groupJid": gjid })))
}

fn send_invite(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let gjid = input::req_str(&body, "groupJid")?;
    let numbers = str_list(&body, "numbers")?;
    let description = input::opt_str(&body, "description")?.unwrap_or_default();
    let title = "No send invite";
    let code = core::group_invite_code(&me(&instance), &gjid, false)
        .map_err(|e| failed(Some(404), title, &e))?;
    let url = invite_url(&code);
    let text = format!("{description}\n\n{url}");
    for number in &numbers {
        core::send_text(&me(&instance), number, &text).map_err(|e| failed(Some(404), title, &e))?;
    }
    Ok(json(200, &j!({ "send": true, "inviteUrl": url })))
}

fn revoke_invite_code(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let gjid = group_jid(req, &body)?;
    let code = core::group_invite_code(&me(&instance), &gjid, true)
        .map_err(|e| failed(Some(404), "Revoke error", &e))?;
    Ok(json(201, &j!({ "revoked": true, "inviteCode": code })))
}

fn update_participant(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let gjid = group_jid(req, &body)?;
    let action = match input::req_str(&body, "action")?.as_str() {
        "add" => ParticipantAction::Add,
        "remove" => ParticipantAction::Remove,
        "promote" => ParticipantAction::Promote,
        "demote" => ParticipantAction::Demote,
        _ => {
            return Err(bad(
                "action is not one of enum values: add,remove,promote,demote",
            ));
        }
    };
    let participants = str_list(&body, "participants")?;
    let results = core::update_group_participants(&me(&instance), &gjid, action, &participants)
        .map_err(|e| failed(Some(400), "Error updating participants", &e))?;
    // Baileys' `groupParticipantsUpdate`: the status as a string, the JID.
    let rows: Vec<Value> = results
        .iter()
        .map(|r| j!({ "status": r.status.to_string(), "jid": r.jid }))
        .collect();
    Ok(json(201, &j!({ "updateParticipants": rows })))
}

fn update_setting(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let gjid = group_jid(req, &body)?;
    let setting = match input::req_str(&body, "action")?.as_str() {
        "announcement" => GroupSetting::Announcement(true),
        "not_announcement" => GroupSetting::Announcement(false),
        "locked" => GroupSetting::Locked(true),
        "unlocked" => GroupSetting::Locked(false),
        _ => {
            return Err(bad(
                "action is not one of enum values: announcement,not_announcement,locked,unlocked",
            ));
        }
    };
    core::set_group_setting(&me(&instance), &gjid, setting)
        .map_err(|e| failed(Some(400), "Error updating setting", &e))?;
    // Evolution answers `{updateSetting: <Baileys' void>}`, which JSON writes as `{}`.
    Ok(json(201, &j!({})))
}

fn toggle_ephemeral(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let gjid = group_jid(req, &body)?;
    let expiration = match body.get("expiration").and_then(Value::as_u64) {
        Some(e @ (0 | 86_400 | 604_800 | 7_776_000)) => e as u32,
        None if body.get("expiration").is_none_or(Value::is_null) => {
            return Err(bad("instance requires property \"expiration\""));
        }
        _ => {
            return Err(bad(
                "expiration is not one of enum values: 0,86400,604800,7776000",
            ));
        }
    };
    core::set_group_setting(&me(&instance), &gjid, GroupSetting::Ephemeral(expiration))
        .map_err(|e| failed(Some(400), "Error updating setting", &e))?;
    Ok(json(201, &j!({ "success": true })))
}

fn leave_group(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let gjid = group_jid(req, &body)?;
    let left = core::leave_group(&me(&instance), &gjid)
        .map_err(|e| failed(Some(400), "Unable to leave the group", &e))?;
    Ok(json(200, &j!({ "groupJid": left, "leave": true })))
}

// ---- OpenAPI ------------------------------------------------------------------------

/// The group routes' OpenAPI path items (`openapi.rs` adds them to the document).
pub(crate) fn openapi_paths() -> Vec<(&'static str, Value)> {
    use crate::openapi::{body, ok, op};
    let query = |name: &str, description: &str| {
        j!({ "name": name, "in": "query", "required": true,
             "schema": { "type": "string", "minLength": 1 }, "description": description })
    };
    let group_q = query(
        "groupJid",
        "The group's JID (`120363...@g.us`; a bare id gets `@g.us`)",
    );
    let code_q = query(
        "inviteCode",
        "The code of an invite link (`https://chat.whatsapp.com/<code>`)",
    );
    let group_jid = j!({ "type": "string", "minLength": 1, "description": "The group's JID; or give it as the `groupJid` query parameter" });
    let numbers =
        j!({ "type": "array", "minItems": 1, "items": { "type": "string", "minLength": 1 } });
    let metadata = j!({
        "type": "object", "required": ["id", "subject", "participants"],
        "properties": {
            "id": { "type": "string" }, "subject": { "type": "string" },
            "subjectOwner": { "type": ["string", "null"] }, "subjectTime": { "type": ["integer", "null"] },
            "size": { "type": "integer" }, "creation": { "type": "integer" },
            "owner": { "type": ["string", "null"] }, "desc": { "type": ["string", "null"] },
            "descId": { "type": ["string", "null"] }, "restrict": { "type": "boolean" },
            "announce": { "type": "boolean" }, "joinApprovalMode": { "type": "boolean" },
            "ephemeralDuration": { "type": "integer" },
            "participants": { "type": "array", "items": { "type": "object", "required": ["id", "admin"], "properties": {
                "id": { "type": "string" }, "admin": { "enum": ["superadmin", "admin", null] }
            } } }
        }
    });
    let with_query = |mut o: Value, q: &Value| {
        o["parameters"]
            .as_array_mut()
            .expect("instance parameter")
            .push(q.clone());
        o
    };
    let post_group = |summary: &str, id: &str, props: Value, required: Value, answer: Value| {
        let mut schema = j!({ "type": "object", "required": required, "properties": props });
        schema["properties"]["groupJid"] = group_jid.clone();
        let mut o = op(
            summary,
            "Group",
            true,
            Some(body(schema)),
            ok("201", "Done", answer),
        );
        o["operationId"] = j!(id);
        j!({ "post": o })
    };
    let get_op = |summary: &str, id: &str, q: &Value, answer: Value| {
        let mut o = with_query(
            op(summary, "Group", true, None, ok("200", "Found", answer)),
            q,
        );
        o["operationId"] = j!(id);
        j!({ "get": o })
    };
    let update = j!({ "type": "object", "required": ["update"], "properties": { "update": { "const": "success" } } });
    let mut leave = with_query(
        op(
            "Leave the group",
            "Group",
            true,
            None,
            ok(
                "200",
                "Left",
                j!({
                    "type": "object", "required": ["groupJid", "leave"],
                    "properties": { "groupJid": { "type": "string" }, "leave": { "const": true } }
                }),
            ),
        ),
        &group_q,
    );
    leave["operationId"] = j!("leaveGroup");
    let mut create = op(
        "Create a group (this account is its creator and super admin)",
        "Group",
        true,
        Some(body(j!({
            "type": "object", "required": ["subject", "participants"],
            "properties": {
                "subject": { "type": "string", "minLength": 1, "maxLength": 100 },
                "participants": numbers,
                "description": { "type": "string" },
                "promoteParticipants": { "type": "boolean" }
            }
        }))),
        ok("201", "The group's metadata", metadata.clone()),
    );
    create["operationId"] = j!("createGroup");
    let mut all = with_query(
        op(
            "The groups the account is in",
            "Group",
            true,
            None,
            ok(
                "200",
                "Groups",
                j!({ "type": "array", "items": { "type": "object" } }),
            ),
        ),
        &query(
            "getParticipants",
            "`true` to list each group's participants",
        ),
    );
    all["operationId"] = j!("fetchAllGroups");
    let mut send_invite = op(
        "Send the group's invite link to numbers (as a text message)",
        "Group",
        true,
        Some(body(j!({
            "type": "object", "required": ["groupJid", "numbers"],
            "properties": { "groupJid": group_jid, "description": { "type": "string" }, "numbers": numbers }
        }))),
        ok(
            "200",
            "Sent",
            j!({ "type": "object", "required": ["send", "inviteUrl"], "properties": { "send": { "const": true }, "inviteUrl": { "type": "string" } } }),
        ),
    );
    send_invite["operationId"] = j!("sendGroupInvite");
    vec![
        ("/group/create/{instanceName}", j!({ "post": create })),
        (
            "/group/updateGroupSubject/{instanceName}",
            post_group(
                "Rename the group",
                "updateGroupSubject",
                j!({ "subject": { "type": "string", "minLength": 1, "maxLength": 100 } }),
                j!(["subject"]),
                update.clone(),
            ),
        ),
        (
            "/group/updateGroupDescription/{instanceName}",
            post_group(
                "Change the group's description",
                "updateGroupDescription",
                j!({ "description": { "type": "string" } }),
                j!(["description"]),
                update.clone(),
            ),
        ),
        (
            "/group/updateGroupPicture/{instanceName}",
            post_group(
                "Change the group's picture (a JPEG, by URL or base64)",
                "updateGroupPicture",
                j!({ "image": { "type": "string", "minLength": 1, "description": "An http(s) URL or base64 of a JPEG image (no conversion is done)" } }),
                j!(["image"]),
                update,
            ),
        ),
        (
            "/group/findGroupInfos/{instanceName}",
            get_op(
                "One group (from WhatsApp; the stored copy while disconnected)",
                "findGroupInfos",
                &group_q,
                j!({ "type": "object" }),
            ),
        ),
        ("/group/fetchAllGroups/{instanceName}", j!({ "get": all })),
        (
            "/group/participants/{instanceName}",
            get_op(
                "The group's participants",
                "findGroupParticipants",
                &group_q,
                j!({
                    "type": "object", "required": ["participants"],
                    "properties": { "participants": metadata["properties"]["participants"].clone() }
                }),
            ),
        ),
        (
            "/group/inviteCode/{instanceName}",
            get_op(
                "The group's invite link (admins)",
                "groupInviteCode",
                &group_q,
                j!({
                    "type": "object", "required": ["inviteUrl", "inviteCode"],
                    "properties": { "inviteUrl": { "type": "string" }, "inviteCode": { "type": "string" } }
                }),
            ),
        ),
        (
            "/group/inviteInfo/{instanceName}",
            get_op(
                "The group an invite code leads to",
                "groupInviteInfo",
                &code_q,
                metadata,
            ),
        ),
        (
            "/group/acceptInviteCode/{instanceName}",
            get_op(
                "Join by invite code",
                "acceptGroupInvite",
                &code_q,
                j!({
                    "type": "object", "required": ["accepted", "groupJid"],
                    "properties": { "accepted": { "const": true }, "groupJid": { "type": "string" } }
                }),
            ),
        ),
        (
            "/group/sendInvite/{instanceName}",
            j!({ "post": send_invite }),
        ),
        (
            "/group/revokeInviteCode/{instanceName}",
            post_group(
                "Replace the invite link (admins); answers the new code",
                "revokeGroupInvite",
                j!({}),
                j!([]),
                j!({
                    "type": "object", "required": ["revoked", "inviteCode"],
                    "properties": { "revoked": { "const": true }, "inviteCode": { "type": "string" } }
                }),
            ),
        ),
        (
            "/group/updateParticipant/{instanceName}",
            post_group(
                "Add, remove, promote or demote participants (admins)",
                "updateGroupParticipant",
                j!({ "action": { "enum": ["add", "remove", "promote", "demote"] }, "participants": numbers }),
                j!(["action", "participants"]),
                j!({ "type": "object", "required": ["updateParticipants"], "properties": { "updateParticipants": {
                    "type": "array", "items": { "type": "object", "required": ["status", "jid"], "properties": {
                        "status": { "type": "string", "description": "200, or WhatsApp's code: 403 refused, 404 not on WhatsApp / not a participant, 409 already a participant" },
                        "jid": { "type": "string" }
                    } }
                } } }),
            ),
        ),
        (
            "/group/updateSetting/{instanceName}",
            post_group(
                "Change a setting (admins)",
                "updateGroupSetting",
                j!({ "action": { "enum": ["announcement", "not_announcement", "locked", "unlocked"] } }),
                j!(["action"]),
                j!({ "type": "object" }),
            ),
        ),
        (
            "/group/toggleEphemeral/{instanceName}",
            post_group(
                "Disappearing messages timer (admins)",
                "toggleGroupEphemeral",
                j!({ "expiration": { "enum": [0, 86400, 604800, 7776000] } }),
                j!(["expiration"]),
                j!({ "type": "object", "required": ["success"], "properties": { "success": { "const": true } } }),
            ),
        ),
        ("/group/leaveGroup/{instanceName}", j!({ "delete": leave })),
    ]
}
