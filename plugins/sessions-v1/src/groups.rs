//! Groups under a session:
//!
//! | method | path | needs | |
//! |---|---|---|---|
//! | GET | /sessions/{sid}/groups | read | the groups the account is in (`{data, nextCursor}`) |
//! | POST | /sessions/{sid}/groups | send | create `{subject, participants, description?}` -> 201 the group |
//! | GET | /sessions/{sid}/groups/{gid} | read | one group |
//! | PATCH | /sessions/{sid}/groups/{gid} | send | `{subject?, description?, announcement?, locked?, approval?, ephemeralSeconds?}` |
//! | DELETE | /sessions/{sid}/groups/{gid} | send | leave the group (204) |
//! | POST | /sessions/{sid}/groups/{gid}/participants | send | `{action: add\|remove\|promote\|demote, participants}` -> `{results}` |
//! | GET | /sessions/{sid}/groups/{gid}/invite | send | `{code, link}` |
//! | POST | /sessions/{sid}/groups/{gid}/invite/revoke | send | a new `{code, link}` |
//! | GET | /sessions/{sid}/group-invites/{code} | read | the group a code leads to |
//! | POST | /sessions/{sid}/group-invites/{code}/join | send | join -> `{jid}` |
//!
//! Errors: `not_found` for an unknown session, group or code; `forbidden` (403) for a
//! missing capability or WhatsApp's refusal (not an admin, not a participant; the
//! message says which); `validation_error` (422); `conflict` and `not_connected` (409).

use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{
    Group, GroupCreate, GroupSetting, ParticipantAction, ParticipantRole,
};

use crate::api::{
    Cap, Within, authed, bad_cursor, body_object, core_failure, invalid_fields, limit_param,
    session_ref, sid,
};
use crate::render::{error, forbidden, no_content, not_found, page};

/// Adds the group routes to `r` (each behind the dialect's no-caller check).
pub(crate) fn routes(r: Router) -> Router {
    r.get("/sessions/{sid}/groups", authed(list))
        .post("/sessions/{sid}/groups", authed(create))
        .get("/sessions/{sid}/groups/{gid}", authed(get))
        .patch("/sessions/{sid}/groups/{gid}", authed(patch))
        .delete("/sessions/{sid}/groups/{gid}", authed(leave))
        .post(
            "/sessions/{sid}/groups/{gid}/participants",
            authed(participants),
        )
        .get("/sessions/{sid}/groups/{gid}/invite", authed(invite))
        .post("/sessions/{sid}/groups/{gid}/invite/revoke", authed(revoke))
        .get("/sessions/{sid}/group-invites/{code}", authed(invite_info))
        .post("/sessions/{sid}/group-invites/{code}/join", authed(join))
}

pub(crate) fn group(g: &Group) -> Value {
    json!({
        "id": g.jid,
        "subject": g.subject,
        "description": g.description,
        "owner": g.owner,
        "createdAt": g.created_at,
        "participants": g.participants.iter().map(|p| json!({
            "id": p.jid,
            "role": match p.role {
                ParticipantRole::SuperAdmin => "superadmin",
                ParticipantRole::Admin => "admin",
                ParticipantRole::Member => "member",
            },
        })).collect::<Vec<_>>(),
        "settings": {
            "announcement": g.settings.announcement,
            "locked": g.settings.locked,
            "approval": g.settings.approval,
            "ephemeralSeconds": g.settings.ephemeral_secs,
        },
        "inviteCode": g.invite_code,
    })
}

fn invite_json(code: &str) -> Value {
    json!({ "code": code, "link": format!("https://chat.whatsapp.com/{code}") })
}

/// A core error of a group operation: an unknown group or code is `not_found`;
/// WhatsApp's refusal is `forbidden` with its reason (the capability is checked
/// first); the rest as the dialect answers everywhere.
pub(crate) fn failure(req: &Request, e: CoreError, sid: &str, cap: Cap) -> HttpResponse {
    let capable = req.caller.as_ref().is_some_and(|c| {
        c.capabilities.contains(match cap {
            Cap::Read => Capabilities::READ,
            Cap::Send => Capabilities::SEND,
            Cap::Manage => Capabilities::MANAGE,
        })
    });
    match e {
        CoreError::NotFound(m) if m.kind == ResourceKind::Group => not_found(&m.message),
        CoreError::Forbidden(m) if capable => error(403, "forbidden", &m, json!({})),
        CoreError::Forbidden(_) => forbidden(match cap {
            Cap::Read => "read",
            Cap::Send => "send",
            Cap::Manage => "manage",
        }),
        e => core_failure(req, e, sid, cap, Within::Session),
    }
}

/// Whether the caller may see the session and holds `cap`; the answer otherwise.
fn precheck(req: &Request, sid: &str, cap: Cap) -> Result<(), HttpResponse> {
    match core::get_instance(&session_ref(sid)) {
        Err(e) => Err(core_failure(req, e, sid, cap, Within::Session)),
        Ok(_) => {
            let held = req.caller.as_ref().is_some_and(|c| {
                c.capabilities.contains(match cap {
                    Cap::Read => Capabilities::READ,
                    Cap::Send => Capabilities::SEND,
                    Cap::Manage => Capabilities::MANAGE,
                })
            });
            if held {
                Ok(())
            } else {
                Err(failure(req, CoreError::Forbidden(String::new()), sid, cap))
            }
        }
    }
}

fn strings(obj: &Map<String, Value>, name: &str, fields: &mut Map<String, Value>) -> Vec<String> {
    match obj.get(name) {
        Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_string) => {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        }
        _ => {
            fields.insert(name.into(), json!("must be a non-empty array of strings"));
            Vec::new()
        }
    }
}

/// The most groups one page holds (each carries its participants), and the default.
const MAX_LIMIT: u32 = 200;
const DEFAULT_LIMIT: u32 = 50;

fn list(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let limit = match limit_param(req, &sid, Within::Session, DEFAULT_LIMIT, MAX_LIMIT) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let cursor = req.query("cursor").filter(|c| !c.is_empty());
    match core::list_groups(&session_ref(&sid), limit, cursor.as_deref()) {
        Ok(groups) => json(
            200,
            &page(
                groups.groups.iter().map(group).collect(),
                groups.next_cursor,
            ),
        ),
        // The cursor is the only input core validates here.
        Err(CoreError::Invalid(_)) => bad_cursor(req, &sid, Within::Session),
        Err(e) => failure(req, e, &sid, Cap::Read),
    }
}

fn create(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    if let Err(r) = precheck(req, &sid, Cap::Send) {
        return r;
    }
    let obj = match body_object(req, false) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut fields = Map::new();
    let subject = match obj.get("subject") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            fields.insert("subject".into(), json!("must be a non-empty string"));
            String::new()
        }
    };
    let participants = strings(&obj, "participants", &mut fields);
    let description = match obj.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            fields.insert("description".into(), json!("must be a string"));
            None
        }
    };
    if !fields.is_empty() {
        return invalid_fields(fields);
    }
    let spec = GroupCreate {
        subject,
        participants,
        description,
    };
    match core::create_group(&session_ref(&sid), &spec) {
        Ok(g) => json(201, &group(&g)),
        Err(e) => failure(req, e, &sid, Cap::Send),
    }
}

fn get(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let gid = p.get("gid").unwrap_or_default();
    match core::get_group(&session_ref(&sid), gid) {
        Ok(g) => json(200, &group(&g)),
        Err(e) => failure(req, e, &sid, Cap::Read),
    }
}

fn patch(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let gid = p.get("gid").unwrap_or_default();
    if let Err(r) = precheck(req, &sid, Cap::Send) {
        return r;
    }
    let obj = match body_object(req, false) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut fields = Map::new();
    for k in obj.keys() {
        if ![
            "subject",
            "description",
            "announcement",
            "locked",
            "approval",
            "ephemeralSeconds",
        ]
        .contains(&k.as_str())
        {
            fields.insert(k.clone(), json!("unknown field"));
        }
    }
    let subject = match obj.get("subject") {
        None => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(_) => {
            fields.insert("subject".into(), json!("must be a non-empty string"));
            None
        }
    };
    // `null` or "" clears the description.
    let description = match obj.get("description") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some((!s.is_empty()).then(|| s.clone())),
        Some(_) => {
            fields.insert("description".into(), json!("must be a string or null"));
            None
        }
    };
    let mut settings = Vec::new();
    for (name, make) in [
        (
            "announcement",
            GroupSetting::Announcement as fn(bool) -> GroupSetting,
        ),
        ("locked", GroupSetting::Locked),
        ("approval", GroupSetting::Approval),
    ] {
        match obj.get(name) {
            None => {}
            Some(Value::Bool(b)) => settings.push(make(*b)),
            Some(_) => {
                fields.insert(name.into(), json!("must be a boolean"));
            }
        }
    }
    match obj.get("ephemeralSeconds").map(Value::as_u64) {
        None => {}
        Some(Some(s @ (0 | 86_400 | 604_800 | 7_776_000))) => {
            settings.push(GroupSetting::Ephemeral(s as u32));
        }
        Some(_) => {
            fields.insert(
                "ephemeralSeconds".into(),
                json!("must be 0, 86400, 604800 or 7776000"),
            );
        }
    }
    if !fields.is_empty() {
        return invalid_fields(fields);
    }
    if subject.is_none() && description.is_none() && settings.is_empty() {
        return crate::render::validation("nothing to change", json!({}));
    }
    let which = session_ref(&sid);
    let mut last = None;
    if let Some(s) = subject {
        match core::set_group_subject(&which, gid, &s) {
            Ok(g) => last = Some(g),
            Err(e) => return failure(req, e, &sid, Cap::Send),
        }
    }
    if let Some(d) = description {
        match core::set_group_description(&which, gid, d.as_deref()) {
            Ok(g) => last = Some(g),
            Err(e) => return failure(req, e, &sid, Cap::Send),
        }
    }
    for s in settings {
        match core::set_group_setting(&which, gid, s) {
            Ok(g) => last = Some(g),
            Err(e) => return failure(req, e, &sid, Cap::Send),
        }
    }
    match last {
        Some(g) => json(200, &group(&g)),
        None => crate::render::validation("nothing to change", json!({})),
    }
}

fn leave(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let gid = p.get("gid").unwrap_or_default();
    match core::leave_group(&session_ref(&sid), gid) {
        Ok(_) => no_content(),
        Err(e) => failure(req, e, &sid, Cap::Send),
    }
}

fn participants(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let gid = p.get("gid").unwrap_or_default();
    if let Err(r) = precheck(req, &sid, Cap::Send) {
        return r;
    }
    let obj = match body_object(req, false) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut fields = Map::new();
    let action = match obj.get("action").and_then(Value::as_str) {
        Some("add") => Some(ParticipantAction::Add),
        Some("remove") => Some(ParticipantAction::Remove),
        Some("promote") => Some(ParticipantAction::Promote),
        Some("demote") => Some(ParticipantAction::Demote),
        _ => {
            fields.insert(
                "action".into(),
                json!("must be add, remove, promote or demote"),
            );
            None
        }
    };
    let list = strings(&obj, "participants", &mut fields);
    let Some(action) = action.filter(|_| fields.is_empty()) else {
        return invalid_fields(fields);
    };
    match core::update_group_participants(&session_ref(&sid), gid, action, &list) {
        Ok(results) => json(
            200,
            &json!({ "results": results.iter().map(|r| json!({
                "id": r.jid, "status": r.status, "error": r.error,
            })).collect::<Vec<_>>() }),
        ),
        Err(e) => failure(req, e, &sid, Cap::Send),
    }
}

fn invite(req: &Request, p: &Params) -> HttpResponse {
    invite_code(req, p, false)
}

fn revoke(req: &Request, p: &Params) -> HttpResponse {
    invite_code(req, p, true)
}

fn invite_code(req: &Request, p: &Params, revoke: bool) -> HttpResponse {
    let sid = sid(p);
    let gid = p.get("gid").unwrap_or_default();
    match core::group_invite_code(&session_ref(&sid), gid, revoke) {
        Ok(code) => json(200, &invite_json(&code)),
        Err(e) => failure(req, e, &sid, Cap::Send),
    }
}

fn invite_info(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let code = p.get("code").unwrap_or_default();
    match core::group_invite_info(&session_ref(&sid), code) {
        Ok(g) => json(200, &group(&g)),
        Err(e) => failure(req, e, &sid, Cap::Read),
    }
}

fn join(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let code = p.get("code").unwrap_or_default();
    match core::join_group(&session_ref(&sid), code) {
        Ok(jid) => json(200, &json!({ "id": jid })),
        Err(e) => failure(req, e, &sid, Cap::Send),
    }
}

// ---- OpenAPI ------------------------------------------------------------------------

/// Adds the group routes and the `Group` schema to the document.
pub(crate) fn add_openapi(doc: &mut Value) {
    use crate::openapi::{body, error_response, ok, op, page_of, r, sid};
    doc["components"]["schemas"]["Group"] = json!({
        "type": "object", "required": ["id", "subject", "participants", "settings"],
        "properties": {
            "id": { "type": "string", "description": "The group's JID (...@g.us)." },
            "subject": { "type": "string" }, "description": { "type": ["string", "null"] },
            "owner": { "type": ["string", "null"] }, "createdAt": { "type": "integer", "description": "Unix epoch milliseconds." },
            "participants": { "type": "array", "items": { "type": "object", "required": ["id", "role"], "properties": {
                "id": { "type": "string" }, "role": { "enum": ["superadmin", "admin", "member"] } } } },
            "settings": { "type": "object", "properties": {
                "announcement": { "type": "boolean" }, "locked": { "type": "boolean" },
                "approval": { "type": "boolean" }, "ephemeralSeconds": { "type": "integer" } } },
            "inviteCode": { "type": ["string", "null"] }
        }
    });
    let gid = json!({ "name": "gid", "in": "path", "required": true, "description": "The group's JID (...@g.us).", "schema": { "type": "string" } });
    let code = json!({ "name": "code", "in": "path", "required": true, "description": "An invite code (the part after https://chat.whatsapp.com/).", "schema": { "type": "string" } });
    let missing = || {
        error_response(
            "`not_found`: the session is not visible to the caller, or the group or invite code is unknown to this account",
        )
    };
    let refused = |cap: &str| {
        error_response(&format!(
            "`forbidden`: the caller lacks the `{cap}` capability, or WhatsApp refused (this account is not an admin or not a participant)"
        ))
    };
    let conflict = || {
        error_response(
            "`conflict` (already a participant, approval needed) or `not_connected` (a change needs the WhatsApp session)",
        )
    };
    let invalid = || error_response("`validation_error`: the request is malformed");
    let invite = json!({ "type": "object", "required": ["code", "link"], "properties": { "code": { "type": "string" }, "link": { "type": "string" } } });
    let with_body = |mut o: Value, schema: Value| {
        o["requestBody"] = body(schema);
        o
    };
    let paths = json!({
        "/sessions/{sid}/groups": {
            "get": op("listGroups", "List groups", "The groups the account is in, a page at a time in JID order (pass `nextCursor` back as `cursor`): the first page asks WhatsApp when connected and stores its answer; every page reads the stored copies. Requires `read`.",
                vec![sid(),
                     json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 200, "default": 50 } }),
                     json!({ "name": "cursor", "in": "query", "schema": { "type": "string" } })],
                json!({ "200": ok("Groups", page_of("Group")), "403": refused("read"), "404": missing(), "422": invalid() })),
            "post": with_body(op("createGroup", "Create a group", "This account becomes its creator (superadmin). Requires `send`.", vec![sid()], json!({
                "201": ok("The group", r("Group")), "403": refused("send"), "404": missing(), "409": conflict(), "422": invalid() })),
                json!({ "type": "object", "required": ["subject", "participants"], "properties": {
                    "subject": { "type": "string", "minLength": 1, "maxLength": 100 },
                    "participants": { "type": "array", "minItems": 1, "items": { "type": "string" } },
                    "description": { "type": "string" } } }))
        },
        "/sessions/{sid}/groups/{gid}": {
            "get": op("getGroup", "Get a group", "Requires `read`.", vec![sid(), gid.clone()], json!({
                "200": ok("The group", r("Group")), "403": refused("read"), "404": missing(), "422": invalid() })),
            "patch": with_body(op("updateGroup", "Change a group", "Subject, description (null clears), settings. Requires `send`; WhatsApp's admin rules apply.", vec![sid(), gid.clone()], json!({
                "200": ok("The group after the change", r("Group")), "403": refused("send"), "404": missing(), "409": conflict(), "422": invalid() })),
                json!({ "type": "object", "properties": {
                    "subject": { "type": "string", "minLength": 1, "maxLength": 100 }, "description": { "type": ["string", "null"] },
                    "announcement": { "type": "boolean" }, "locked": { "type": "boolean" }, "approval": { "type": "boolean" },
                    "ephemeralSeconds": { "enum": [0, 86400, 604800, 7776000] } } })),
            "delete": op("leaveGroup", "Leave a group", "Requires `send`. 204 on success.", vec![sid(), gid.clone()], json!({
                "204": { "description": "Left; no body" }, "403": refused("send"), "404": missing(), "409": conflict(), "422": invalid() }))
        },
        "/sessions/{sid}/groups/{gid}/participants": {
            "post": with_body(op("updateGroupParticipants", "Add, remove, promote or demote participants", "WhatsApp's status per participant (200, or 403/404/409). Requires `send`; admins only.", vec![sid(), gid.clone()], json!({
                "200": ok("Results", json!({ "type": "object", "required": ["results"], "properties": { "results": { "type": "array", "items": {
                    "type": "object", "required": ["id", "status"], "properties": { "id": { "type": "string" }, "status": { "type": "integer" }, "error": { "type": ["string", "null"] } } } } } })),
                "403": refused("send"), "404": missing(), "409": conflict(), "422": invalid() })),
                json!({ "type": "object", "required": ["action", "participants"], "properties": {
                    "action": { "enum": ["add", "remove", "promote", "demote"] },
                    "participants": { "type": "array", "minItems": 1, "items": { "type": "string" } } } }))
        },
        "/sessions/{sid}/groups/{gid}/invite": {
            "get": op("getGroupInvite", "The group's invite link", "Admins only. Requires `send`.", vec![sid(), gid.clone()], json!({
                "200": ok("The link", invite.clone()), "403": refused("send"), "404": missing(), "409": conflict(), "422": invalid() }))
        },
        "/sessions/{sid}/groups/{gid}/invite/revoke": {
            "post": op("revokeGroupInvite", "Replace the invite link", "The old link stops working. Admins only. Requires `send`.", vec![sid(), gid], json!({
                "200": ok("The new link", invite), "403": refused("send"), "404": missing(), "409": conflict(), "422": invalid() }))
        },
        "/sessions/{sid}/group-invites/{code}": {
            "get": op("getGroupInviteInfo", "The group an invite code leads to", "Requires `read`.", vec![sid(), code.clone()], json!({
                "200": ok("The group", r("Group")), "403": refused("read"), "404": missing(), "409": conflict(), "422": invalid() }))
        },
        "/sessions/{sid}/group-invites/{code}/join": {
            "post": op("joinGroup", "Join by invite code", "Requires `send`.", vec![sid(), code], json!({
                "200": ok("The group joined", json!({ "type": "object", "required": ["id"], "properties": { "id": { "type": "string" } } })),
                "403": refused("send"), "404": missing(), "409": conflict(), "422": invalid() }))
        }
    });
    for (path, item) in paths.as_object().expect("paths").clone() {
        doc["paths"][path] = item;
    }
}
