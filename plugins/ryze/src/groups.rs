//! Group routes, `/group/{action}/{instance}` in RyzeAPI's conventions (no RyzeAPI
//! document shows them beyond `DELETE /api/group/leave`, which its delete-chat page
//! links to): `token` header, camelCase bodies, `{"success":true,...}` answers with
//! snake_case fields, errors `{"success":false,"error":{"message"}}`.
//!
//! | method | path | body / query | answer |
//! |---|---|---|---|
//! | POST | /group/create/{i} | `{subject, participants, description?}` | 201 `{success, message, group}` |
//! | GET | /group/list/{i} | `?limit&cursor` | `{success, groups, hasMore, nextCursor}` (a page, JID order) |
//! | GET | /group/info/{i} | `?groupJid=` | `{success, group}` |
//! | POST | /group/subject/{i} | `{groupJid, subject}` | `{success, message, group}` |
//! | POST | /group/description/{i} | `{groupJid, description}` (empty clears) | `{success, message, group}` |
//! | POST | /group/settings/{i} | `{groupJid, announcement?, locked?, approval?, ephemeral?}` | `{success, message, group}` |
//! | POST | /group/participants/{i} | `{groupJid, action: add\|remove\|promote\|demote, participants}` | `{success, message, results: [{jid, status, error}]}` |
//! | GET | /group/invite/{i} | `?groupJid=` | `{success, code, link}` |
//! | POST | /group/revokeInvite/{i} | `{groupJid}` | `{success, message, code, link}` (the new one) |
//! | GET | /group/inviteInfo/{i} | `?code=` | `{success, group}` |
//! | POST | /group/join/{i} | `{code}` | `{success, message, group_jid}` |
//! | DELETE | /group/leave/{i} | `{groupJid}` | `{success, message, group_jid}` |
//!
//! Reads need `read`; everything else `send`. WhatsApp's refusals: 403 with its reason
//! (not an admin, not a participant), 404 for an unknown group or invite code, 409
//! for a conflict (already a member), 503 when a change needs the session.

use serde::Deserialize;
use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{
    Group, GroupCreate, GroupSetting, ParticipantAction, ParticipantRole,
};

use crate::routes::{find_instance, page_fail, page_query, required, sentence, which};
use crate::util::iso8601;
use crate::{core_fail, fail, ok};

const GROUP_REQUIRED: &str = "groupJid is required";

/// Adds the group routes to `r`.
pub(crate) fn routes(r: Router) -> Router {
    r.post("/group/create/{instance}", create)
        .get("/group/list/{instance}", list)
        .get("/group/info/{instance}", info)
        .post("/group/subject/{instance}", subject)
        .post("/group/description/{instance}", description)
        .post("/group/settings/{instance}", settings)
        .post("/group/participants/{instance}", participants)
        .get("/group/invite/{instance}", invite)
        .post("/group/revokeInvite/{instance}", revoke_invite)
        .get("/group/inviteInfo/{instance}", invite_info)
        .post("/group/join/{instance}", join)
        .delete("/group/leave/{instance}", leave)
}

/// A group in Ryze's answers.
pub(crate) fn group_json(g: &Group) -> Value {
    json!({
        "jid": g.jid,
        "subject": g.subject,
        "description": g.description,
        "owner": g.owner,
        "created_at": iso8601(g.created_at),
        "size": g.participants.len(),
        "participants": g.participants.iter().map(|p| json!({
            "jid": p.jid,
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
            "ephemeral": g.settings.ephemeral_secs,
        },
        "invite_link": g.invite_code.as_ref().map(|c| invite_link(c)),
    })
}

fn invite_link(code: &str) -> String {
    format!("https://chat.whatsapp.com/{code}")
}

/// A group operation's error: WhatsApp's refusal (`forbidden`) keeps its reason, as
/// the capability was checked before (by `find_instance`); the rest as everywhere.
pub(crate) fn group_fail(e: &CoreError) -> HttpResponse {
    match e {
        CoreError::Forbidden(m) => fail(403, &sentence(m)),
        CoreError::NotFound(m) => fail(404, &sentence(&m.message)),
        e => core_fail(e),
    }
}

/// The instance for a route needing `cap`, or its refusal.
fn instance_for(
    req: &Request,
    params: &Params,
    cap: Capabilities,
) -> Result<InstanceRef, HttpResponse> {
    let instance = find_instance(req, &which(params), cap)?;
    Ok(InstanceRef::Id(instance.id))
}

/// The body as `T`, 400 `Invalid request body` otherwise.
fn parse<T: for<'de> Deserialize<'de>>(req: &Request) -> Result<T, HttpResponse> {
    serde_json::from_slice(&req.raw.body).map_err(|_| fail(400, crate::msg::INVALID_BODY))
}

fn answer(r: Result<HttpResponse, HttpResponse>) -> HttpResponse {
    r.unwrap_or_else(|e| e)
}

#[derive(Deserialize)]
struct CreateBody {
    subject: Option<String>,
    participants: Option<Vec<String>>,
    description: Option<String>,
}

fn create(req: &Request, params: &Params) -> HttpResponse {
    answer((|| {
        let which = instance_for(req, params, Capabilities::SEND)?;
        let b: CreateBody = parse(req)?;
        let subject = required(b.subject, "subject is required")?;
        let participants = b.participants.unwrap_or_default();
        if participants.is_empty() {
            return Err(fail(400, "participants is required"));
        }
        let spec = GroupCreate {
            subject,
            participants,
            description: b.description,
        };
        let g = core::create_group(&which, &spec).map_err(|e| group_fail(&e))?;
        Ok(ok(
            201,
            json!({ "success": true, "message": "Group created successfully", "group": group_json(&g) }),
        ))
    })())
}

/// The most groups one page holds (each carries its participants).
const MAX_LIMIT: u32 = 200;

fn list(req: &Request, params: &Params) -> HttpResponse {
    answer((|| {
        let which = instance_for(req, params, Capabilities::READ)?;
        let (limit, cursor) = page_query(req, MAX_LIMIT)?;
        let page = core::list_groups(&which, limit, cursor.as_deref())
            .map_err(|e| page_fail(e, group_fail))?;
        Ok(ok(
            200,
            json!({ "success": true, "groups": page.groups.iter().map(group_json).collect::<Vec<_>>(),
                    "hasMore": page.next_cursor.is_some(), "nextCursor": page.next_cursor }),
        ))
    })())
}

fn info(req: &Request, params: &Params) -> HttpResponse {
    answer((|| {
        let which = instance_for(req, params, Capabilities::READ)?;
        let gjid = required(req.query("groupJid"), GROUP_REQUIRED)?;
        let g = core::get_group(&which, &gjid).map_err(|e| group_fail(&e))?;
        Ok(ok(200, json!({ "success": true, "group": group_json(&g) })))
    })())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubjectBody {
    group_jid: Option<String>,
    subject: Option<String>,
}

fn subject(req: &Request, params: &Params) -> HttpResponse {
    answer((|| {
        let which = instance_for(req, params, Capabilities::SEND)?;
        let b: SubjectBody = parse(req)?;
        let gjid = required(b.group_jid, GROUP_REQUIRED)?;
        let subject = required(b.subject, "subject is required")?;
        let g = core::set_group_subject(&which, &gjid, &subject).map_err(|e| group_fail(&e))?;
        Ok(ok(
            200,
            json!({ "success": true, "message": "Group subject updated", "group": group_json(&g) }),
        ))
    })())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescriptionBody {
    group_jid: Option<String>,
    description: Option<String>,
}

fn description(req: &Request, params: &Params) -> HttpResponse {
    answer((|| {
        let which = instance_for(req, params, Capabilities::SEND)?;
        let b: DescriptionBody = parse(req)?;
        let gjid = required(b.group_jid, GROUP_REQUIRED)?;
        let Some(d) = b.description else {
            return Err(fail(400, "description is required"));
        };
        let d = (!d.trim().is_empty()).then_some(d);
        let g =
            core::set_group_description(&which, &gjid, d.as_deref()).map_err(|e| group_fail(&e))?;
        Ok(ok(
            200,
            json!({ "success": true, "message": "Group description updated", "group": group_json(&g) }),
        ))
    })())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingsBody {
    group_jid: Option<String>,
    announcement: Option<bool>,
    locked: Option<bool>,
    approval: Option<bool>,
    ephemeral: Option<u32>,
}

fn settings(req: &Request, params: &Params) -> HttpResponse {
    answer((|| {
        let which = instance_for(req, params, Capabilities::SEND)?;
        let b: SettingsBody = parse(req)?;
        let gjid = required(b.group_jid, GROUP_REQUIRED)?;
        let changes: Vec<GroupSetting> = [
            b.announcement.map(GroupSetting::Announcement),
            b.locked.map(GroupSetting::Locked),
            b.approval.map(GroupSetting::Approval),
            b.ephemeral.map(GroupSetting::Ephemeral),
        ]
        .into_iter()
        .flatten()
        .collect();
        if changes.is_empty() {
            return Err(fail(
                400,
                "give at least one of announcement, locked, approval, ephemeral",
            ));
        }
        let mut group = None;
        for s in changes {
            group = Some(core::set_group_setting(&which, &gjid, s).map_err(|e| group_fail(&e))?);
        }
        let g = group.expect("at least one change was applied");
        Ok(ok(
            200,
            json!({ "success": true, "message": "Group settings updated", "group": group_json(&g) }),
        ))
    })())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParticipantsBody {
    group_jid: Option<String>,
    action: Option<String>,
    participants: Option<Vec<String>>,
}

fn participants(req: &Request, params: &Params) -> HttpResponse {
    answer((|| {
        let which = instance_for(req, params, Capabilities::SEND)?;
        let b: ParticipantsBody = parse(req)?;
        let gjid = required(b.group_jid, GROUP_REQUIRED)?;
        let action = match b.action.as_deref() {
            Some("add") => ParticipantAction::Add,
            Some("remove") => ParticipantAction::Remove,
            Some("promote") => ParticipantAction::Promote,
            Some("demote") => ParticipantAction::Demote,
            _ => return Err(fail(400, "action must be add, remove, promote or demote")),
        };
        let list = b.participants.unwrap_or_default();
        if list.is_empty() {
            return Err(fail(400, "participants is required"));
        }
        let results = core::update_group_participants(&which, &gjid, action, &list)
            .map_err(|e| group_fail(&e))?;
        Ok(ok(
            200,
            json!({
                "success": true,
                "message": "Participants updated",
                "results": results.iter().map(|r| json!({ "jid": r.jid, "status": r.status, "error": r.error })).collect::<Vec<_>>(),
            }),
        ))
    })())
}

fn invite(req: &Request, params: &Params) -> HttpResponse {
    answer((|| {
        let which = instance_for(req, params, Capabilities::SEND)?;
        let gjid = required(req.query("groupJid"), GROUP_REQUIRED)?;
        let code = core::group_invite_code(&which, &gjid, false).map_err(|e| group_fail(&e))?;
        Ok(ok(
            200,
            json!({ "success": true, "code": code, "link": invite_link(&code) }),
        ))
    })())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupBody {
    group_jid: Option<String>,
}

fn revoke_invite(req: &Request, params: &Params) -> HttpResponse {
    answer((|| {
        let which = instance_for(req, params, Capabilities::SEND)?;
        let b: GroupBody = parse(req)?;
        let gjid = required(b.group_jid, GROUP_REQUIRED)?;
        let code = core::group_invite_code(&which, &gjid, true).map_err(|e| group_fail(&e))?;
        Ok(ok(
            200,
            json!({ "success": true, "message": "Invite link revoked", "code": code, "link": invite_link(&code) }),
        ))
    })())
}

fn invite_info(req: &Request, params: &Params) -> HttpResponse {
    answer((|| {
        let which = instance_for(req, params, Capabilities::READ)?;
        let code = required(req.query("code"), "code is required")?;
        let g = core::group_invite_info(&which, &code).map_err(|e| group_fail(&e))?;
        Ok(ok(200, json!({ "success": true, "group": group_json(&g) })))
    })())
}

#[derive(Deserialize)]
struct JoinBody {
    code: Option<String>,
}

fn join(req: &Request, params: &Params) -> HttpResponse {
    answer((|| {
        let which = instance_for(req, params, Capabilities::SEND)?;
        let b: JoinBody = parse(req)?;
        let code = required(b.code, "code is required")?;
        let gjid = core::join_group(&which, &code).map_err(|e| group_fail(&e))?;
        Ok(ok(
            200,
            json!({ "success": true, "message": "Joined the group", "group_jid": gjid }),
        ))
    })())
}

fn leave(req: &Request, params: &Params) -> HttpResponse {
    answer((|| {
        let which = instance_for(req, params, Capabilities::SEND)?;
        let b: GroupBody = parse(req)?;
        let gjid = required(b.group_jid, GROUP_REQUIRED)?;
        let left = core::leave_group(&which, &gjid).map_err(|e| group_fail(&e))?;
        Ok(ok(
            200,
            json!({ "success": true, "message": "Left the group", "group_jid": left }),
        ))
    })())
}

// ---- OpenAPI ------------------------------------------------------------------------

/// The group routes' OpenAPI path items, with their operation ids.
pub(crate) fn openapi_paths() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    use crate::openapi::{body, err, instance_param, okr, op};
    let group_jid = json!({ "type": "string", "minLength": 1, "description": "The group's JID (120363...@g.us)." });
    let query = |name: &str, d: &str| json!({ "name": name, "in": "query", "required": true, "description": d, "schema": { "type": "string", "minLength": 1 } });
    let params = json!([instance_param()]);
    let with_q = |q: Value| json!([instance_param(), q]);
    let group = json!({ "jid": "120363000000000001@g.us", "subject": "Team", "description": null,
        "owner": "5511888888888@s.whatsapp.net", "created_at": "2026-04-28T10:30:00Z", "size": 2,
        "participants": [{ "jid": "5511888888888@s.whatsapp.net", "role": "superadmin" }, { "jid": "5511999999999@s.whatsapp.net", "role": "member" }],
        "settings": { "announcement": false, "locked": false, "approval": false, "ephemeral": 0 }, "invite_link": null });
    let bad = |m: &str| err("A missing or malformed field.", m);
    let refused = err(
        "The token lacks the capability, or WhatsApp refused: this account is not an admin or not a participant.",
        "This account is not an admin of the group",
    );
    let missing = err(
        "Unknown instance, group or invite code.",
        "Group 120363000000000001@g.us not found",
    );
    let not_connected = err(
        "The instance has no WhatsApp session (changes need one).",
        "Instance is not connected to WhatsApp",
    );
    let conflict = err(
        "WhatsApp refused: already a participant, or joining needs approval.",
        "This account is already a participant of the group",
    );
    let changing = |summary: &str,
                    props: Value,
                    required: &[&str],
                    example: Value,
                    status: &str,
                    answer: Value| {
        let mut responses = json!({ "400": bad("groupJid is required"), "403": refused.clone(), "404": missing.clone(),
            "409": conflict.clone(), "503": not_connected.clone() });
        responses[status] = okr("Done.", answer);
        op(
            summary,
            params.clone(),
            Some(body(props, required, example)),
            responses,
        )
    };
    let reading = |summary: &str, p: Value, answer: Value| {
        op(
            summary,
            p,
            None,
            json!({ "200": okr("Found.", answer), "400": bad("groupJid is required"),
            "403": refused.clone(), "404": missing.clone(), "503": not_connected.clone() }),
        )
    };
    let gj = || json!({ "groupJid": group_jid.clone() });
    let with = |mut base: Value, extra: Value| {
        for (k, v) in extra.as_object().expect("object").clone() {
            base[k] = v;
        }
        base
    };
    vec![
        (
            "/group/create/{instance}",
            "post",
            "createGroup",
            changing(
                "Create a group; this account is its creator (superadmin).",
                json!({ "subject": { "type": "string", "minLength": 1, "maxLength": 100 },
                    "participants": { "type": "array", "minItems": 1, "items": { "type": "string" } },
                    "description": { "type": "string" } }),
                &["subject", "participants"],
                json!({ "subject": "Team", "participants": ["5511999999999"] }),
                "201",
                json!({ "success": true, "message": "Group created successfully", "group": group }),
            ),
        ),
        (
            "/group/list/{instance}",
            "get",
            "listGroups",
            reading(
                "The groups the account is in, a page at a time in JID order (limit 1-200, default 50; pass nextCursor back as cursor; 400 for a bad limit or cursor). The first page asks WhatsApp when connected; pages read the stored copies.",
                {
                    let mut p = params.clone();
                    if let Some(list) = p.as_array_mut() {
                        list.push(json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 200, "default": 50 } }));
                        list.push(json!({ "name": "cursor", "in": "query", "schema": { "type": "string" } }));
                    }
                    p
                },
                json!({ "success": true, "groups": [group], "hasMore": false, "nextCursor": null }),
            ),
        ),
        (
            "/group/info/{instance}",
            "get",
            "groupInfo",
            reading(
                "One group.",
                with_q(query("groupJid", "The group's JID.")),
                json!({ "success": true, "group": group }),
            ),
        ),
        (
            "/group/subject/{instance}",
            "post",
            "setGroupSubject",
            changing(
                "Rename the group (admins only when the group is locked).",
                with(
                    gj(),
                    json!({ "subject": { "type": "string", "minLength": 1, "maxLength": 100 } }),
                ),
                &["groupJid", "subject"],
                json!({ "groupJid": "120363000000000001@g.us", "subject": "Team 2" }),
                "200",
                json!({ "success": true, "message": "Group subject updated", "group": group }),
            ),
        ),
        (
            "/group/description/{instance}",
            "post",
            "setGroupDescription",
            changing(
                "Change the description (empty clears it).",
                with(gj(), json!({ "description": { "type": "string" } })),
                &["groupJid", "description"],
                json!({ "groupJid": "120363000000000001@g.us", "description": "Rules" }),
                "200",
                json!({ "success": true, "message": "Group description updated", "group": group }),
            ),
        ),
        (
            "/group/settings/{instance}",
            "post",
            "setGroupSettings",
            changing(
                "Change settings (admins).",
                with(
                    gj(),
                    json!({ "announcement": { "type": "boolean" }, "locked": { "type": "boolean" },
                "approval": { "type": "boolean" }, "ephemeral": { "enum": [0, 86400, 604800, 7776000] } }),
                ),
                &["groupJid"],
                json!({ "groupJid": "120363000000000001@g.us", "locked": true }),
                "200",
                json!({ "success": true, "message": "Group settings updated", "group": group }),
            ),
        ),
        (
            "/group/participants/{instance}",
            "post",
            "updateGroupParticipants",
            changing(
                "Add, remove, promote or demote participants (admins); WhatsApp's status per participant.",
                with(
                    gj(),
                    json!({ "action": { "enum": ["add", "remove", "promote", "demote"] },
                "participants": { "type": "array", "minItems": 1, "items": { "type": "string" } } }),
                ),
                &["groupJid", "action", "participants"],
                json!({ "groupJid": "120363000000000001@g.us", "action": "add", "participants": ["5511977777777"] }),
                "200",
                json!({ "success": true, "message": "Participants updated",
                "results": [{ "jid": "5511977777777@s.whatsapp.net", "status": 200, "error": null }] }),
            ),
        ),
        (
            "/group/invite/{instance}",
            "get",
            "groupInvite",
            reading(
                "The group's invite link (admins).",
                with_q(query("groupJid", "The group's JID.")),
                json!({ "success": true, "code": "AbCdEf123", "link": "https://chat.whatsapp.com/AbCdEf123" }),
            ),
        ),
        (
            "/group/revokeInvite/{instance}",
            "post",
            "revokeGroupInvite",
            changing(
                "Replace the invite link (admins); the old one stops working.",
                gj(),
                &["groupJid"],
                json!({ "groupJid": "120363000000000001@g.us" }),
                "200",
                json!({ "success": true, "message": "Invite link revoked", "code": "XyZ987", "link": "https://chat.whatsapp.com/XyZ987" }),
            ),
        ),
        (
            "/group/inviteInfo/{instance}",
            "get",
            "groupInviteInfo",
            reading(
                "The group an invite code leads to.",
                with_q(query("code", "An invite code or link.")),
                json!({ "success": true, "group": group }),
            ),
        ),
        (
            "/group/join/{instance}",
            "post",
            "joinGroup",
            changing(
                "Join by invite code.",
                json!({ "code": { "type": "string", "minLength": 1 } }),
                &["code"],
                json!({ "code": "AbCdEf123" }),
                "200",
                json!({ "success": true, "message": "Joined the group", "group_jid": "120363000000000001@g.us" }),
            ),
        ),
        (
            "/group/leave/{instance}",
            "delete",
            "leaveGroup",
            changing(
                "Leave the group (the stored chat stays).",
                gj(),
                &["groupJid"],
                json!({ "groupJid": "120363000000000001@g.us" }),
                "200",
                json!({ "success": true, "message": "Left the group", "group_jid": "120363000000000001@g.us" }),
            ),
        ),
    ]
}
