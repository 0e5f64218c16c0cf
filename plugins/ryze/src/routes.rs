//! The routes: RyzeAPI's paths, bodies and answers over wagate's core.
//!
//! Order of checks on instance routes, as RyzeAPI's token middleware and handlers do:
//! the instance must exist for the caller (404 `Instance not found`; another org's or,
//! for a TokenInstance, another instance is not found too), then the body (400), then
//! the WhatsApp session where the operation needs one (503), then the operation.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{ChatPatch, ConnectionState};

use crate::message_view::{HistoryPage, MessageView};
use crate::util::{display_jid, human_duration, iso8601, parse_duration, parse_iso8601};
use crate::{core_fail, fail, msg, ok};
use wagate_plugin_sdk::time::now_ms;

/// Chats muted further out than this (year 9999) are muted "permanently".
const PERMANENT_MUTE_AFTER: u64 = 253_402_300_799_000;

pub(crate) fn router() -> Router {
    let r = crate::groups::routes(crate::media::routes(Router::new()));
    let r = crate::account::routes(r);
    let r = crate::proxy::routes(r);
    let r = crate::labels::routes(r);
    crate::contacts::routes(crate::content::routes(crate::settings::routes(r)))
        .post("/instance/new", create_instance)
        .get("/instance/list", list_instances)
        .get("/instance/status/{instance}", instance_status)
        .get("/instance/connect/{instance}", connect)
        .delete("/instance/logout/{instance}", logout)
        .delete("/instance/delete/{instance}", delete_instance)
        .post("/message/text/{instance}", send_text)
        .post("/message/reaction/{instance}", crate::reactions::send)
        .post("/message/edit/{instance}", crate::edits::edit)
        .post("/chat/markRead/{instance}", crate::presence::mark_read)
        .post("/chat/markUnread/{instance}", crate::presence::mark_unread)
        .post("/chat/presence/{instance}", crate::presence::chat_presence)
        .post(
            "/instance/presence/{instance}",
            crate::presence::instance_presence,
        )
        .post("/chat/archive/{instance}", archive_chat)
        .post("/chat/pin/{instance}", pin_chat)
        .post("/chat/mute/{instance}", mute_chat)
        .get("/chat/contacts/{instance}", list_chats)
        .post("/chat/history/{instance}", history)
        .delete("/chat/delete/{instance}", delete_message)
        .delete("/chat/deleteChat/{instance}", delete_chat)
        .post("/events/webhook/{instance}", set_webhook)
        .get("/events/getWebhook/{instance}", get_webhook)
        // Served before auth in lib.rs; listed so other methods on it answer 405.
        .get("/openapi.json", |_, _| fail(404, "Route not found"))
        .method_not_allowed(|_, _| fail(405, "Method not allowed"))
        .fallback(|_, _| fail(404, "Route not found"))
        // A body that is not JSON of the route's shape is 400 `Invalid request body`.
        .body_errors(|_| fail(400, msg::INVALID_BODY))
}

// ---- shared pieces ------------------------------------------------------------------

fn caller(req: &Request) -> &Principal {
    req.caller
        .as_ref()
        .expect("lib.rs answers 401 before routing a request without a caller")
}

pub(crate) fn which(params: &Params) -> InstanceRef {
    InstanceRef::Name(params.get("instance").unwrap_or_default().to_string())
}

/// The instance as the caller sees it (404 `Instance not found` otherwise), for a route
/// needing `cap` (403 without it). The capability is checked here, before the route
/// validates the body or looks at the connection state, so a caller without the right
/// always gets 403, never a 400 or 503 that depends on what it may not do.
pub(crate) fn find_instance(
    req: &Request,
    which: &InstanceRef,
    cap: Capabilities,
) -> Result<Instance, HttpResponse> {
    let instance = core::get_instance(which).map_err(|e| match e {
        CoreError::NotFound(_) => fail(404, msg::INSTANCE_NOT_FOUND),
        other => core_fail(&other),
    })?;
    if !caller(req).capabilities.contains(cap) {
        return Err(fail(403, msg::FORBIDDEN));
    }
    Ok(instance)
}

/// 503 unless the instance has a live WhatsApp session.
pub(crate) fn require_connected(instance: &Instance) -> Result<(), HttpResponse> {
    if instance.state == ConnectionState::Open {
        Ok(())
    } else {
        Err(fail(503, msg::NOT_CONNECTED))
    }
}

/// A body as `T` like `Request::body`, with the parser's reason appended (`Invalid request body: ...`), as
/// RyzeAPI's chat-state and history endpoints answer.
fn body_detailed<T: DeserializeOwned>(req: &Request) -> Result<T, HttpResponse> {
    serde_json::from_slice(&req.raw.body)
        .map_err(|e| fail(400, &format!("{}: {e}", msg::INVALID_BODY)))
}

/// A required, non-blank string field.
/// A paged list's `?limit&cursor`: `limit` within 1..=`max` (absent: 0, core's
/// default) and the cursor when given; a bad limit is the route's 400.
pub(crate) fn page_query(req: &Request, max: u32) -> Result<(u32, Option<String>), HttpResponse> {
    let limit = match req.query("limit") {
        None => 0,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => return Err(fail(400, &format!("limit must be between 1 and {max}"))),
        },
    };
    Ok((limit, req.query("cursor").filter(|c| !c.is_empty())))
}

/// A paged read's core error: `invalid` can only be the cursor (core checked the
/// limit's range with the same bounds as [`page_query`]).
pub(crate) fn page_fail(
    e: CoreError,
    other: impl FnOnce(&CoreError) -> HttpResponse,
) -> HttpResponse {
    match e {
        CoreError::Invalid(_) => fail(400, "cursor must be the nextCursor of the previous page"),
        e => other(&e),
    }
}

pub(crate) fn required(v: Option<String>, message: &str) -> Result<String, HttpResponse> {
    match v.map(|s| s.trim().to_string()) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(fail(400, message)),
    }
}

/// A number or JID normalised the way core does (400 with core's reason otherwise).
fn normalize(number: &str) -> Result<String, HttpResponse> {
    core::normalize_jid(number).map_err(|e| core_fail(&e))
}

/// `m` with its first letter in upper case.
pub(crate) fn sentence(m: &str) -> String {
    let mut c = m.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// RyzeAPI's connection state names.
pub(crate) fn state_str(s: ConnectionState) -> &'static str {
    match s {
        ConnectionState::Open => "connected",
        ConnectionState::Connecting => "connecting",
        ConnectionState::Closed | ConnectionState::Disconnected => "disconnected",
    }
}

fn instance_json(i: &Instance) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "status": state_str(i.state),
        "connection": {
            "state": state_str(i.state),
            "numberJid": i.owner_jid,
        },
        "createdAt": iso8601(i.created_at),
    })
}

fn chat_json(c: &Chat, now: u64) -> Value {
    let muted = c.muted_until.is_some_and(|t| t > now);
    let muted_until = c
        .muted_until
        .filter(|t| muted && *t < PERMANENT_MUTE_AFTER)
        .map(iso8601);
    json!({
        "jid": c.jid,
        "number": display_jid(&c.jid),
        "name": c.name,
        "type": crate::util::chat_type(&c.jid),
        "archived": c.archived,
        "pinned": c.pinned,
        "muted": muted,
        "mutedUntil": muted_until,
        "lastActivity": iso8601(c.last_activity),
    })
}

// ---- instances ------------------------------------------------------------------------

#[derive(Deserialize)]
struct CreateBody {
    name: Option<String>,
    token: Option<String>,
}

/// `POST /instance/new {name}`: TokenAccount only; 201 with the TokenInstance.
fn create_instance(req: &Request, _: &Params) -> Result<HttpResponse, HttpResponse> {
    if caller(req).instance.is_some() {
        return Err(fail(401, msg::INVALID_TOKEN));
    }
    let b: CreateBody = req.body()?;
    let name = required(b.name, "Name is required")?;
    if b.token.is_some_and(|t| !t.trim().is_empty()) {
        return Err(fail(
            400,
            "Custom instance tokens are not supported; omit `token` to get a generated one",
        ));
    }
    let created = core::create_instance(&name).map_err(|e| match e {
        CoreError::Conflict(_) => fail(409, "Instance name already in use"),
        CoreError::Forbidden(_) => fail(401, msg::INVALID_TOKEN),
        other => core_fail(&other),
    })?;
    let mut instance = instance_json(&created.instance);
    instance["token"] = json!(created.token);
    Ok(ok(
        201,
        json!({
            "success": true,
            "message": "Instance created successfully",
            "instance": instance,
            "data": { "token": created.token },
        }),
    ))
}

/// `GET /instance/list[?instanceName=a,b]`: the instances the token sees. A
/// TokenInstance sees its own only and the filter is ignored; a single unknown name is
/// 404.
fn list_instances(req: &Request, _: &Params) -> HttpResponse {
    let mut all = match core::list_instances() {
        Ok(all) => all,
        Err(e) => return core_fail(&e),
    };
    if caller(req).instance.is_none()
        && let Some(filter) = req.query("instanceName")
    {
        let names: Vec<&str> = filter
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if !names.is_empty() {
            all.retain(|i| names.contains(&i.name.as_str()));
            if names.len() == 1 && all.is_empty() {
                return fail(404, msg::INSTANCE_NOT_FOUND);
            }
        }
    }
    let n = all.len();
    let message = if n == 1 {
        "1 Instance found".to_string()
    } else {
        format!("{n} Instances found")
    };
    ok(
        200,
        json!({
            "success": true,
            "message": message,
            "data": all.iter().map(instance_json).collect::<Vec<_>>(),
        }),
    )
}

/// `GET /instance/status/{instance}`.
fn instance_status(req: &Request, params: &Params) -> HttpResponse {
    match find_instance(req, &which(params), Capabilities::READ) {
        Ok(i) => ok(
            200,
            json!({
                "success": true,
                "message": "Instance status retrieved",
                "status": state_str(i.state),
                "instance": instance_json(&i),
            }),
        ),
        Err(r) => r,
    }
}

/// `GET /instance/connect/{instance}[?number=]`: a QR code, or a pairing code.
fn connect(req: &Request, params: &Params) -> HttpResponse {
    let number = req.query("number").filter(|n| !n.trim().is_empty());
    match core::connect(&which(params), number.as_deref()) {
        Ok(info) => {
            if let Some(code) = info.pair_code {
                ok(
                    200,
                    json!({
                        "success": true,
                        "message": "Pairing code generated",
                        // RyzeAPI's pairing code is the 8 characters, no separator.
                        "pairingCode": code.replace('-', ""),
                        "status": "pairing",
                    }),
                )
            } else if let Some(qr) = info.qr {
                ok(
                    200,
                    json!({
                        "success": true,
                        "message": "QR code generated",
                        "qrCode": qr,
                        "qrCodeBase64": crate::util::qr_data_url(&qr),
                        "status": "qr",
                    }),
                )
            } else if info.state == ConnectionState::Open {
                ok(
                    200,
                    json!({
                        "success": true,
                        "message": "Instance already connected",
                        "status": "connected",
                    }),
                )
            } else {
                ok(
                    200,
                    json!({
                        "success": true,
                        "message": "Connecting",
                        "status": state_str(info.state),
                    }),
                )
            }
        }
        Err(CoreError::NotFound(_)) => fail(404, msg::INSTANCE_NOT_FOUND),
        Err(e) => core_fail(&e),
    }
}

/// `DELETE /instance/logout/{instance}`.
fn logout(_req: &Request, params: &Params) -> HttpResponse {
    match core::logout(&which(params)) {
        Ok(_) => ok(
            200,
            json!({
                "success": true,
                "message": "Instance logged out",
                "instance": { "status": "loggedout" },
            }),
        ),
        Err(CoreError::NotFound(_)) => fail(404, msg::INSTANCE_NOT_FOUND),
        Err(CoreError::Internal(_)) => fail(500, "Failed to logout instance"),
        // The caller's side (no right, not connected, ...): the shared mapping.
        Err(e) => core_fail(&e),
    }
}

/// `DELETE /instance/delete/{instance}` (seed: ryze-delete-instance). A TokenInstance
/// is not accepted (401), whichever instance it names.
fn delete_instance(req: &Request, params: &Params) -> HttpResponse {
    if caller(req).instance.is_some() {
        return fail(401, msg::INVALID_TOKEN);
    }
    match core::delete_instance(&which(params)) {
        Ok(_) => ok(
            200,
            json!({
                "success": true,
                "message": "Instance deleted",
                "instance": { "status": "deleted" },
            }),
        ),
        Err(e) => delete_instance_error(&e),
    }
}

/// The seed's error rows: 401 for a credential that may not delete, 404, 429, and 500
/// `Failed to delete instance: <reason>` for the gateway's own failure. A delete
/// already running is the caller's conflict (409), not a failure; the rest follows the
/// shared mapping.
fn delete_instance_error(e: &CoreError) -> HttpResponse {
    match e {
        CoreError::NotFound(_) => fail(404, msg::INSTANCE_NOT_FOUND),
        CoreError::Forbidden(_) => fail(401, msg::INVALID_TOKEN),
        CoreError::Internal(m) => fail(500, &format!("Failed to delete instance: {m}")),
        other => core_fail(other),
    }
}

// ---- messages -------------------------------------------------------------------------

#[derive(Deserialize)]
struct SendTextBody {
    number: Option<String>,
    message: Option<String>,
}

/// `POST /message/text/{instance} {number, message}`.
fn send_text(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let b: SendTextBody = req.body()?;
    let number = required(b.number, msg::NUMBER_REQUIRED)?;
    let text = match b.message {
        Some(t) if !t.trim().is_empty() => t,
        _ => return Err(fail(400, "Message is required")),
    };
    require_connected(&instance)?;
    let m = core::send_text(&which, &number, &text).map_err(|e| core_fail(&e))?;
    Ok(sent(&m))
}

/// The answer to a send: the message as RyzeAPI shows a sent one; its `content`
/// carries `media`, `location`, `contacts` or `poll` only when the message has one.
pub(crate) fn sent(m: &Message) -> HttpResponse {
    let mut content = json!({ "text": m.text });
    if let Some(media) = &m.media {
        content["media"] = crate::media::media_json(media);
    }
    if let Some((kind, value)) = m.content.as_ref().map(wagate_plugin_sdk::content_json) {
        content[kind] = value;
    }
    ok(
        200,
        json!({
            "success": true,
            "message": "Message sent successfully",
            "status": "sent",
            "data": {
                "messageId": m.id,
                "direction": "outgoing",
                "timestamp": iso8601(m.timestamp),
                "chat": { "jid": display_jid(&m.chat_jid), "type": crate::util::chat_type(&m.chat_jid) },
                "sender": { "jid": display_jid(&m.sender) },
                "content": content,
            },
        }),
    )
}

#[derive(Deserialize)]
struct DeleteMessageBody {
    #[serde(rename = "messageId")]
    message_id: Option<String>,
    #[serde(rename = "deleteForEveryone", default)]
    delete_for_everyone: bool,
}

/// `DELETE /chat/delete/{instance} {messageId, deleteForEveryone}` (seed:
/// ryze-delete-message).
fn delete_message(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let b: DeleteMessageBody = req.body()?;
    let id = required(b.message_id, msg::MESSAGE_ID_REQUIRED)?;
    require_connected(&instance)?;
    let everyone = b.delete_for_everyone;
    let m = core::delete_message(&which, &id, everyone).map_err(|e| match e {
        // WhatsApp refuses the revoke (already revoked, or another person's
        // message in a 1:1 chat).
        CoreError::Conflict(m) => fail(409, &sentence(&m)),
        other => core_fail(&other),
    })?;
    let (message, kind) = if everyone {
        ("Message deleted for everyone successfully", "revoke")
    } else {
        ("Message deleted for me successfully", "delete_for_me")
    };
    Ok(ok(
        200,
        json!({
            "success": true,
            "message": message,
            "message_id": m.id,
            "chat_jid": m.chat_jid,
            "delete_type": kind,
            "deleted_for_everyone": everyone,
        }),
    ))
}

// ---- chats ----------------------------------------------------------------------------

#[derive(Deserialize)]
struct DeleteChatBody {
    number: Option<String>,
    #[serde(rename = "deleteMedia", default)]
    delete_media: bool,
}

/// `DELETE /chat/deleteChat/{instance} {number, deleteMedia}` (seed: ryze-delete-chat).
/// Idempotent: a chat the gateway does not hold (any more) is deleted already.
fn delete_chat(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let b: DeleteChatBody = req.body()?;
    let number = required(b.number, msg::NUMBER_REQUIRED)?;
    require_connected(&instance)?;
    let jid = match core::delete_chat(&which, &number, b.delete_media) {
        Ok(jid) => jid,
        Err(e) if e.is_not_found(ResourceKind::Chat) => normalize(&number)?,
        Err(e) => return Err(core_fail(&e)),
    };
    let message = if b.delete_media {
        "Chat deleted successfully (including media)"
    } else {
        "Chat deleted successfully"
    };
    Ok(ok(
        200,
        json!({
            "success": true,
            "message": message,
            "chat_jid": jid,
            "delete_media": b.delete_media,
        }),
    ))
}

#[derive(Deserialize)]
struct ArchiveBody {
    number: Option<String>,
    #[serde(default)]
    archive: bool,
}

#[derive(Deserialize)]
struct PinBody {
    number: Option<String>,
    #[serde(default)]
    pin: bool,
}

#[derive(Deserialize)]
struct MuteBody {
    number: Option<String>,
    #[serde(default)]
    mute: bool,
    #[serde(default)]
    duration: Option<String>,
}

/// The steps every chat-state route shares: instance, body, number, session, patch.
fn patch_chat<B: DeserializeOwned>(
    req: &Request,
    params: &Params,
    number_of: impl Fn(&B) -> Option<String>,
    patch_of: impl Fn(&B) -> Result<ChatPatch, HttpResponse>,
    answer: impl Fn(&B, &Chat) -> Value,
) -> HttpResponse {
    let run = || -> Result<HttpResponse, HttpResponse> {
        let which = which(params);
        let instance = find_instance(req, &which, Capabilities::SEND)?;
        let b: B = body_detailed(req)?;
        let number = required(number_of(&b), msg::NUMBER_REQUIRED)?;
        let patch = patch_of(&b)?;
        require_connected(&instance)?;
        let chat = core::update_chat(&which, &number, patch).map_err(|e| core_fail(&e))?;
        Ok(ok(200, answer(&b, &chat)))
    };
    run().unwrap_or_else(|e| e)
}

fn no_patch() -> ChatPatch {
    ChatPatch {
        archived: None,
        pinned: None,
        muted_until: None,
        unmute: false,
    }
}

/// `POST /chat/archive/{instance} {number, archive}`.
fn archive_chat(req: &Request, params: &Params) -> HttpResponse {
    patch_chat::<ArchiveBody>(
        req,
        params,
        |b| b.number.clone(),
        |b| {
            Ok(ChatPatch {
                archived: Some(b.archive),
                ..no_patch()
            })
        },
        |b, c| {
            json!({
                "success": true,
                "message": if b.archive { "Chat archived successfully" } else { "Chat unarchived successfully" },
                "chat_jid": c.jid,
                "archived": c.archived,
            })
        },
    )
}

/// `POST /chat/pin/{instance} {number, pin}`.
fn pin_chat(req: &Request, params: &Params) -> HttpResponse {
    patch_chat::<PinBody>(
        req,
        params,
        |b| b.number.clone(),
        |b| {
            Ok(ChatPatch {
                pinned: Some(b.pin),
                ..no_patch()
            })
        },
        |b, c| {
            json!({
                "success": true,
                "message": if b.pin { "Chat pinned successfully" } else { "Chat unpinned successfully" },
                "chat_jid": c.jid,
                "pinned": c.pinned,
            })
        },
    )
}

/// `POST /chat/mute/{instance} {number, mute, duration}`: `duration` seconds in the
/// answer (0 for permanent or unmuted).
fn mute_chat(req: &Request, params: &Params) -> HttpResponse {
    let secs_of = |b: &MuteBody| -> Result<Option<u64>, HttpResponse> {
        let d = b.duration.as_deref().unwrap_or("");
        parse_duration(d).map_err(|()| fail(400, &format!("Invalid duration: {d}")))
    };
    patch_chat::<MuteBody>(
        req,
        params,
        |b| b.number.clone(),
        |b| {
            if !b.mute {
                return Ok(ChatPatch {
                    unmute: true,
                    ..no_patch()
                });
            }
            let until = match secs_of(b)? {
                Some(secs) => now_ms().saturating_add(secs.saturating_mul(1000)),
                None => u64::MAX,
            };
            Ok(ChatPatch {
                muted_until: Some(until),
                ..no_patch()
            })
        },
        |b, c| {
            let secs = if b.mute {
                secs_of(b).ok().flatten()
            } else {
                None
            };
            let message = match (b.mute, secs) {
                (false, _) => "Chat notifications unmuted successfully".to_string(),
                (true, None) => "Chat muted permanently".to_string(),
                (true, Some(s)) => format!("Chat muted for {}", human_duration(s)),
            };
            json!({
                "success": true,
                "message": message,
                "chat_jid": c.jid,
                "muted": b.mute,
                "duration": secs.unwrap_or(0),
            })
        },
    )
}

/// `GET /chat/contacts/{instance}[?limit&offset&search]`: stored chats, pinned first,
/// then by last activity.
fn list_chats(req: &Request, params: &Params) -> HttpResponse {
    let which = which(params);
    if let Err(r) = find_instance(req, &which, Capabilities::READ) {
        return r;
    }
    let mut chats = match core::list_chats(&which) {
        Ok(c) => c,
        Err(e) => return core_fail(&e),
    };
    if let Some(search) = req.query("search").filter(|s| !s.trim().is_empty()) {
        let s = search.trim().to_ascii_lowercase();
        chats.retain(|c| {
            c.jid.contains(&s)
                || c.name
                    .as_deref()
                    .is_some_and(|n| n.to_ascii_lowercase().contains(&s))
        });
    }
    let total = chats.len();
    let offset: usize = req
        .query("offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let limit: usize = match req.query("limit") {
        None => 100,
        Some(v) => match v.parse::<usize>() {
            Ok(l) if (1..=1000).contains(&l) => l,
            _ => return fail(400, "limit must be between 1 and 1000"),
        },
    };
    let now = now_ms();
    let page: Vec<Value> = chats
        .iter()
        .skip(offset)
        .take(limit)
        .map(|c| chat_json(c, now))
        .collect();
    ok(
        200,
        json!({
            "success": true,
            "message": format!("{} chats found", page.len()),
            "count": page.len(),
            "total": total,
            "offset": offset,
            "hasMore": offset + page.len() < total,
            "contacts": page,
        }),
    )
}

#[derive(Deserialize)]
struct HistoryBody {
    number: Option<String>,
    count: Option<u32>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

/// The most bytes of message text one history answer gathers before it stops at the
/// end of the core page it is on (and hands out that page's cursor). The answer is built
/// in this plugin's capped memory, so it is bounded by size as well as by `count`.
const HISTORY_BYTES: usize = 1 << 20;

/// `POST /chat/history/{instance} {number, count, from, to, cursor}`: stored messages,
/// newest first. `from`/`to` (ISO 8601) bound the window as in RyzeAPI; `nextCursor`
/// (a wagate addition) continues exactly where a page stopped. A page holds `count`
/// messages or about [`HISTORY_BYTES`] of text, whichever comes first (`hasMore` and
/// `nextCursor` then say there is more).
fn history(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    find_instance(req, &which, Capabilities::READ)?;
    let b: HistoryBody = body_detailed(req)?;
    let number = required(b.number, msg::NUMBER_REQUIRED)?;
    let count = b.count.unwrap_or(50);
    if !(1..=1000).contains(&count) {
        return Err(fail(400, "count must be between 1 and 1000"));
    }
    let bound = |v: &Option<String>, name: &str| -> Result<Option<u64>, HttpResponse> {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => parse_iso8601(s).map(Some).ok_or_else(|| {
                fail(
                    400,
                    &format!("invalid '{name}' date format. Use ISO 8601 format (e.g., '2026-02-16T18:32:39Z')"),
                )
            }),
        }
    };
    let from = bound(&b.from, "from")?;
    let to = bound(&b.to, "to")?;
    let jid = normalize(&number)?;

    // The records are kept (pages are moved in whole) and rendered borrowed at the end.
    let mut kept: Vec<Message> = Vec::new();
    let mut cursor = b.cursor.filter(|c| !c.is_empty());
    let mut past_window = false;
    let mut bytes = 0;
    loop {
        let want = (count as usize - kept.len()).min(200) as u32;
        let page = match core::list_messages(&which, &jid, want, cursor.as_deref()) {
            Ok(p) => p,
            // A chat the gateway never stored has no history.
            Err(e) if e.is_not_found(ResourceKind::Chat) => {
                cursor = None;
                break;
            }
            Err(e) => return Err(core_fail(&e)),
        };
        for m in page.messages {
            if to.is_some_and(|to| m.timestamp > to) {
                continue;
            }
            if from.is_some_and(|from| m.timestamp < from) {
                past_window = true;
                break;
            }
            bytes += m.text.as_ref().map_or(0, String::len);
            kept.push(m);
        }
        cursor = page.next_cursor;
        // Core pages are taken whole, so the cursor is exact wherever this stops.
        if past_window || cursor.is_none() || kept.len() >= count as usize || bytes >= HISTORY_BYTES
        {
            break;
        }
    }
    let next = if past_window { None } else { cursor };
    Ok(json(
        200,
        &HistoryPage {
            chat_jid: &jid,
            count: kept.len(),
            has_more: next.is_some(),
            message: "History retrieved successfully",
            messages: kept.iter().map(MessageView::of).collect(),
            next_cursor: next,
            success: true,
        },
    ))
}

// ---- events -----------------------------------------------------------------------------

/// `POST /events/webhook/{instance}` (see `webhooks.rs`).
fn set_webhook(req: &Request, params: &Params) -> HttpResponse {
    let which = which(params);
    find_instance(req, &which, Capabilities::MANAGE)
        .and_then(|_| crate::webhooks::set(req, &which))
        .unwrap_or_else(|e| e)
}

/// `GET /events/getWebhook/{instance}[?label=]` (see `webhooks.rs`).
fn get_webhook(req: &Request, params: &Params) -> HttpResponse {
    let which = which(params);
    find_instance(req, &which, Capabilities::MANAGE)
        .and_then(|_| crate::webhooks::get(req, &which))
        .unwrap_or_else(|e| e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &HttpResponse) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn delete_instance_errors_follow_the_seed() {
        let r = delete_instance_error(&CoreError::Internal("disk full".into()));
        assert_eq!(r.status, 500);
        assert_eq!(
            body(&r),
            json!({"success": false, "error": {"message": "Failed to delete instance: disk full"}})
        );
        let r = delete_instance_error(&CoreError::Forbidden("instance token".into()));
        assert_eq!(r.status, 401);
        assert_eq!(body(&r)["error"]["message"], "Invalid token");
        let r = delete_instance_error(&CoreError::NotFound(Missing {
            kind: ResourceKind::Instance,
            message: "instance `x` not found".into(),
        }));
        assert_eq!(r.status, 404);
        assert_eq!(body(&r)["error"]["message"], "Instance not found");
        let r = delete_instance_error(&CoreError::Conflict("already running".into()));
        assert_eq!(
            r.status, 409,
            "a delete already running is not a gateway failure"
        );
    }
}
