//! The routes and their handlers.
//!
//! Error precedence follows core's: an invisible session (unknown, another
//! organisation's) is `not_found`; then a missing capability is `forbidden`; then an
//! unknown chat or message is `not_found`; only then is a malformed body or query a
//! `validation_error`. Core checks the first two itself; when the dialect rejects
//! input before calling core, [`checked`] re-establishes the same order.

use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::ChatPatch;

use crate::render::{self, error, forbidden, no_content, not_found, validation};

/// Default and largest page size of `GET .../messages`.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

#[derive(Clone, Copy)]
pub(crate) enum Cap {
    Read,
    Send,
    Manage,
}

impl Cap {
    fn name(self) -> &'static str {
        match self {
            Cap::Read => "read",
            Cap::Send => "send",
            Cap::Manage => "manage",
        }
    }

    fn held_by(self, p: &Principal) -> bool {
        let flag = match self {
            Cap::Read => Capabilities::READ,
            Cap::Send => Capabilities::SEND,
            Cap::Manage => Capabilities::MANAGE,
        };
        p.capabilities.contains(flag)
    }
}

/// A sub-resource of a session whose absence is `not_found` too.
#[derive(Clone, Copy)]
pub(crate) enum Within<'a> {
    Session,
    Chat(&'a str),
    Message,
}

/// Wrap a handler: no caller is 401. Generic so that wrapping a function item stays
/// zero-sized (the router then boxes it without allocating; it is built per request).
pub(crate) fn authed(
    h: impl Fn(&Request, &Params) -> HttpResponse,
) -> impl Fn(&Request, &Params) -> HttpResponse {
    move |req, params| {
        if req.caller.is_none() {
            return render::unauthorized();
        }
        h(req, params)
    }
}

pub(crate) fn router() -> Router {
    crate::account::routes(crate::contacts::routes(
        crate::groups::routes(Router::new()),
    ))
    .get("/openapi.json", |_, _| {
        json(200, &crate::openapi::document())
    })
    .get("/sessions", authed(list_sessions))
    .post("/sessions", authed(create_session))
    .get("/sessions/{sid}", authed(get_session))
    .delete("/sessions/{sid}", authed(delete_session))
    .post("/sessions/{sid}/connect", authed(connect))
    .post("/sessions/{sid}/logout", authed(logout))
    .get("/sessions/{sid}/chats", authed(list_chats))
    .get("/sessions/{sid}/chats/{cid}", authed(get_chat))
    .patch("/sessions/{sid}/chats/{cid}", authed(patch_chat))
    .delete("/sessions/{sid}/chats/{cid}", authed(delete_chat))
    .get(
        "/sessions/{sid}/chats/{cid}/messages",
        authed(list_messages),
    )
    .post("/sessions/{sid}/messages", authed(send_text))
    .delete("/sessions/{sid}/messages/{mid}", authed(delete_message))
    .patch(
        "/sessions/{sid}/messages/{mid}",
        authed(crate::reactions::edit),
    )
    .get(
        "/sessions/{sid}/messages/{mid}/media",
        authed(crate::media::download),
    )
    .post(
        "/sessions/{sid}/messages/{mid}/revoke",
        authed(revoke_message),
    )
    .post(
        "/sessions/{sid}/messages/{mid}/reaction",
        authed(crate::reactions::send),
    )
    .post(
        "/sessions/{sid}/chats/{cid}/read",
        authed(crate::presence::read),
    )
    .post(
        "/sessions/{sid}/chats/{cid}/unread",
        authed(crate::presence::unread),
    )
    .post(
        "/sessions/{sid}/chats/{cid}/presence",
        authed(crate::presence::chat_presence),
    )
    .put(
        "/sessions/{sid}/presence",
        authed(crate::presence::set_presence),
    )
    .get("/sessions/{sid}/labels", authed(crate::labels::list))
    .get(
        "/sessions/{sid}/chats/{cid}/labels",
        authed(crate::labels::of_chat),
    )
    .put(
        "/sessions/{sid}/chats/{cid}/labels/{labelId}",
        authed(crate::labels::put),
    )
    .delete(
        "/sessions/{sid}/chats/{cid}/labels/{labelId}",
        authed(crate::labels::delete),
    )
    .get("/sessions/{sid}/proxy", authed(crate::proxy::get))
    .put("/sessions/{sid}/proxy", authed(crate::proxy::put))
    .delete("/sessions/{sid}/proxy", authed(crate::proxy::delete))
    .get("/sessions/{sid}/settings", authed(crate::settings::get))
    .put("/sessions/{sid}/settings", authed(crate::settings::put))
    .get(
        "/sessions/{sid}/webhooks",
        authed(crate::webhooks::get_webhooks),
    )
    .put(
        "/sessions/{sid}/webhooks",
        authed(crate::webhooks::put_webhooks),
    )
    .get(
        "/sessions/{sid}/integrations/chatwoot",
        authed(crate::integrations::get_chatwoot),
    )
    .put(
        "/sessions/{sid}/integrations/chatwoot",
        authed(crate::integrations::put_chatwoot),
    )
    .delete(
        "/sessions/{sid}/integrations/chatwoot",
        authed(crate::integrations::delete_chatwoot),
    )
    .method_not_allowed(|_, _| {
        error(
            405,
            "method_not_allowed",
            "method not allowed on this path",
            json!({}),
        )
    })
    .fallback(|_, _| not_found("no such route"))
}

fn caller(req: &Request) -> &Principal {
    req.caller.as_ref().expect("routes are wrapped in `authed`")
}

pub(crate) fn sid(params: &Params) -> String {
    params.get("sid").unwrap_or_default().to_string()
}

pub(crate) fn session_ref(sid: &str) -> InstanceRef {
    InstanceRef::Id(sid.to_string())
}

/// Answer the first failing check, in core's order: the session is visible, the caller
/// holds `cap`, the sub-resource exists (chats only, when the caller may read);
/// `None` when all pass.
fn precheck(req: &Request, sid: &str, cap: Cap, within: Within) -> Option<HttpResponse> {
    if let Err(CoreError::NotFound(_)) = core::get_instance(&session_ref(sid)) {
        return Some(not_found("session not found"));
    }
    if !cap.held_by(caller(req)) {
        return Some(forbidden(cap.name()));
    }
    match within {
        Within::Session => None,
        Within::Chat(cid) => {
            if core::normalize_jid(cid).is_err() {
                return Some(not_found("chat not found"));
            }
            if Cap::Read.held_by(caller(req))
                && let Err(CoreError::NotFound(_)) = core::get_chat(&session_ref(sid), cid)
            {
                return Some(not_found("chat not found"));
            }
            None
        }
        Within::Message => None,
    }
}

/// `invalid` (a 422) once the checks that come before validation have passed.
pub(crate) fn checked(
    req: &Request,
    sid: &str,
    cap: Cap,
    within: Within,
    invalid: HttpResponse,
) -> HttpResponse {
    precheck(req, sid, cap, within).unwrap_or(invalid)
}

/// A core error of an operation on session `sid` needing `cap`, in sessions/v1 words.
pub(crate) fn core_failure(
    req: &Request,
    e: CoreError,
    sid: &str,
    cap: Cap,
    within: Within,
) -> HttpResponse {
    match e {
        CoreError::NotFound(_) => match within {
            Within::Session => not_found("session not found"),
            Within::Chat(_) | Within::Message => {
                let what = if matches!(within, Within::Message) {
                    "message"
                } else {
                    "chat"
                };
                precheck(req, sid, cap, Within::Session)
                    .unwrap_or_else(|| not_found(&format!("{what} not found")))
            }
        },
        CoreError::Forbidden(_) => forbidden(cap.name()),
        CoreError::Invalid(m) => match within {
            // A malformed chat id names no stored chat.
            Within::Chat(cid) if core::normalize_jid(cid).is_err() => {
                precheck(req, sid, cap, within).unwrap_or_else(|| not_found("chat not found"))
            }
            _ => checked(req, sid, cap, within, validation(&m, json!({}))),
        },
        CoreError::Conflict(m) => error(409, "conflict", &m, json!({})),
        CoreError::TooLarge(m) => error(413, "too_large", &m, json!({})),
        CoreError::NotConnected(m) => error(409, "not_connected", &m, json!({})),
        CoreError::RateLimited(ms) => {
            let mut r = error(
                429,
                "rate_limited",
                "too many requests",
                json!({ "retryAfterMs": ms }),
            );
            r.headers
                .push(header("retry-after", &ms.div_ceil(1000).max(1).to_string()));
            r
        }
        CoreError::Internal(m) => error(500, "internal", &m, json!({})),
    }
}

/// The body as a JSON object; an empty body is `{}` when `empty_ok`.
pub(crate) fn body_object(
    req: &Request,
    empty_ok: bool,
) -> Result<Map<String, Value>, HttpResponse> {
    let body = &req.raw.body;
    if empty_ok && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(validation("request body must be a JSON object", json!({}))),
    }
}

/// Reject fields outside `allowed`.
fn unknown_fields(obj: &Map<String, Value>, allowed: &[&str], fields: &mut Map<String, Value>) {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            fields.insert(k.clone(), json!("unknown field"));
        }
    }
}

pub(crate) fn invalid_fields(fields: Map<String, Value>) -> HttpResponse {
    validation("request body is invalid", Value::Object(fields))
}

// ---- sessions -------------------------------------------------------------------

fn list_sessions(req: &Request, _: &Params) -> HttpResponse {
    match core::list_instances() {
        Ok(list) => json(
            200,
            &render::page(list.iter().map(render::session).collect(), None),
        ),
        Err(e) => core_failure(req, e, "", Cap::Read, Within::Session),
    }
}

fn create_session(req: &Request, _: &Params) -> HttpResponse {
    if !Cap::Manage.held_by(caller(req)) {
        return forbidden("manage");
    }
    let obj = match body_object(req, false) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut fields = Map::new();
    unknown_fields(&obj, &["name"], &mut fields);
    let name = match obj.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => {
            fields.insert("name".into(), json!("required, a non-empty string"));
            None
        }
    };
    let (Some(name), true) = (name, fields.is_empty()) else {
        return invalid_fields(fields);
    };
    match core::create_instance(&name) {
        Ok(created) => json(201, &render::session(&created.instance)),
        Err(CoreError::Invalid(m)) => validation(&m, json!({ "name": m })),
        Err(CoreError::Forbidden(_)) => forbidden("manage"),
        Err(CoreError::Conflict(m)) => error(409, "conflict", &m, json!({})),
        Err(e) => core_failure(req, e, "", Cap::Manage, Within::Session),
    }
}

fn get_session(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    match core::get_instance(&session_ref(&sid)) {
        Ok(i) => json(200, &render::session(&i)),
        Err(e) => core_failure(req, e, &sid, Cap::Read, Within::Session),
    }
}

fn delete_session(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    match core::delete_instance(&session_ref(&sid)) {
        Ok(_) => no_content(),
        Err(e) => core_failure(req, e, &sid, Cap::Manage, Within::Session),
    }
}

fn connect(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let obj = match body_object(req, true) {
        Ok(o) => o,
        Err(r) => return checked(req, &sid, Cap::Manage, Within::Session, r),
    };
    let mut fields = Map::new();
    unknown_fields(&obj, &["phoneNumber"], &mut fields);
    let phone = match obj.get("phoneNumber") {
        None | Some(Value::Null) => None,
        Some(Value::String(s))
            if !s.is_empty()
                && s.trim_start_matches('+')
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
        {
            Some(s.trim_start_matches('+').to_string())
        }
        Some(_) => {
            fields.insert(
                "phoneNumber".into(),
                json!("digits with country code, e.g. 6281234567890"),
            );
            None
        }
    };
    if !fields.is_empty() {
        return checked(
            req,
            &sid,
            Cap::Manage,
            Within::Session,
            invalid_fields(fields),
        );
    }
    match core::connect(&session_ref(&sid), phone.as_deref()) {
        Ok(info) => json(200, &render::connect_info(&info)),
        Err(e) => core_failure(req, e, &sid, Cap::Manage, Within::Session),
    }
}

fn logout(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    match core::logout(&session_ref(&sid)) {
        Ok(i) => json(200, &render::session(&i)),
        Err(e) => core_failure(req, e, &sid, Cap::Manage, Within::Session),
    }
}

// ---- chats ----------------------------------------------------------------------

fn list_chats(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    match core::list_chats(&session_ref(&sid)) {
        Ok(chats) => json(
            200,
            &render::page(chats.iter().map(render::chat).collect(), None),
        ),
        Err(e) => core_failure(req, e, &sid, Cap::Read, Within::Session),
    }
}

fn get_chat(req: &Request, p: &Params) -> HttpResponse {
    let (sid, cid) = (sid(p), p.get("cid").unwrap_or_default());
    match core::get_chat(&session_ref(&sid), cid) {
        Ok(c) => json(200, &render::chat(&c)),
        Err(e) => core_failure(req, e, &sid, Cap::Read, Within::Chat(cid)),
    }
}

/// Parse a PATCH body: `archived`, `pinned` (booleans), `mutedUntil` (epoch ms, or
/// `null` to clear), `unmute` (boolean, wins over `mutedUntil`).
fn parse_patch(req: &Request) -> Result<ChatPatch, HttpResponse> {
    let obj = body_object(req, false)?;
    let mut fields = Map::new();
    unknown_fields(
        &obj,
        &["archived", "pinned", "mutedUntil", "unmute"],
        &mut fields,
    );
    let mut flag = |name: &str| match obj.get(name) {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            fields.insert(name.into(), json!("must be a boolean"));
            None
        }
    };
    let archived = flag("archived");
    let pinned = flag("pinned");
    let unmute = flag("unmute").unwrap_or(false);
    let muted_until = match obj.get("mutedUntil") {
        None => None,
        // `null` clears the mute, as `unmute` does.
        Some(Value::Null) => Some(0),
        Some(v) => match v.as_u64() {
            Some(ms) => Some(ms),
            None => {
                fields.insert(
                    "mutedUntil".into(),
                    json!("must be a non-negative integer (Unix epoch milliseconds) or null"),
                );
                None
            }
        },
    };
    if !fields.is_empty() {
        return Err(invalid_fields(fields));
    }
    Ok(ChatPatch {
        archived,
        pinned,
        muted_until,
        unmute,
    })
}

fn patch_chat(req: &Request, p: &Params) -> HttpResponse {
    let (sid, cid) = (sid(p), p.get("cid").unwrap_or_default());
    let patch = match parse_patch(req) {
        Ok(patch) => patch,
        Err(r) => return checked(req, &sid, Cap::Send, Within::Chat(cid), r),
    };
    match core::update_chat(&session_ref(&sid), cid, patch) {
        Ok(c) => json(200, &render::chat(&c)),
        Err(e) => core_failure(req, e, &sid, Cap::Send, Within::Chat(cid)),
    }
}

fn delete_chat(req: &Request, p: &Params) -> HttpResponse {
    let (sid, cid) = (sid(p), p.get("cid").unwrap_or_default());
    match core::delete_chat(&session_ref(&sid), cid, false) {
        Ok(_) => no_content(),
        Err(e) => core_failure(req, e, &sid, Cap::Send, Within::Chat(cid)),
    }
}

/// A paged read's `?limit`: within 1..=`max`, `default` when absent; a bad one is the
/// 422 `validation_error` (after the session and capability checks).
pub(crate) fn limit_param(
    req: &Request,
    sid: &str,
    within: Within<'_>,
    default: u32,
    max: u32,
) -> Result<u32, HttpResponse> {
    match req.query("limit") {
        None => Ok(default),
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => {
                let r = validation(
                    "invalid query parameter",
                    json!({ "limit": format!("must be an integer from 1 to {max}") }),
                );
                Err(checked(req, sid, Cap::Read, within, r))
            }
        },
    }
}

/// A paged read's core `invalid`: the cursor is the only input core checks there.
pub(crate) fn bad_cursor(req: &Request, sid: &str, within: Within<'_>) -> HttpResponse {
    let r = validation(
        "invalid query parameter",
        json!({ "cursor": "pass back the nextCursor of the previous page" }),
    );
    checked(req, sid, Cap::Read, within, r)
}

fn list_messages(req: &Request, p: &Params) -> HttpResponse {
    let (sid, cid) = (sid(p), p.get("cid").unwrap_or_default());
    let limit = match limit_param(req, &sid, Within::Chat(cid), DEFAULT_LIMIT, MAX_LIMIT) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let cursor = req.query("cursor").filter(|c| !c.is_empty());
    match core::list_messages(&session_ref(&sid), cid, limit, cursor.as_deref()) {
        Ok(page) => json(
            200,
            &render::page(
                page.messages.iter().map(render::message).collect(),
                page.next_cursor,
            ),
        ),
        // The cursor is the only other input core validates.
        Err(CoreError::Invalid(_)) if core::normalize_jid(cid).is_ok() => {
            bad_cursor(req, &sid, Within::Chat(cid))
        }
        Err(e) => core_failure(req, e, &sid, Cap::Read, Within::Chat(cid)),
    }
}

// ---- messages -------------------------------------------------------------------

fn send_text(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let obj = match body_object(req, false) {
        Ok(o) => o,
        Err(r) => return checked(req, &sid, Cap::Send, Within::Session, r),
    };
    if let Some(kind) = obj
        .get("type")
        .and_then(Value::as_str)
        .and_then(crate::media::kind_of)
    {
        return crate::media::send(req, &sid, &obj, kind);
    }
    if let Some(kind) = obj
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| crate::content::TYPES.contains(t))
    {
        return crate::content::send(req, &sid, &obj, kind);
    }
    let mut fields = Map::new();
    unknown_fields(&obj, &["to", "text", "type"], &mut fields);
    match obj.get("type") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t == "text" => {}
        Some(_) => {
            fields.insert(
                "type".into(),
                json!("one of text, image, video, audio, voice, document, sticker, video_note, location, contact, poll"),
            );
        }
    }
    let mut string = |name: &str| match obj.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => {
            fields.insert(name.into(), json!("required, a non-empty string"));
            None
        }
    };
    let (to, text) = (string("to"), string("text"));
    let (Some(to), Some(text), true) = (to, text, fields.is_empty()) else {
        return checked(
            req,
            &sid,
            Cap::Send,
            Within::Session,
            invalid_fields(fields),
        );
    };
    match core::send_text(&session_ref(&sid), &to, &text) {
        Ok(m) => json(201, &render::message(&m)),
        Err(e) => core_failure(req, e, &sid, Cap::Send, Within::Session),
    }
}

fn delete_message(req: &Request, p: &Params) -> HttpResponse {
    let (sid, mid) = (sid(p), p.get("mid").unwrap_or_default());
    match core::delete_message(&session_ref(&sid), mid, false) {
        Ok(_) => no_content(),
        Err(e) => core_failure(req, e, &sid, Cap::Send, Within::Message),
    }
}

fn revoke_message(req: &Request, p: &Params) -> HttpResponse {
    let (sid, mid) = (sid(p), p.get("mid").unwrap_or_default());
    match core::delete_message(&session_ref(&sid), mid, true) {
        Ok(m) => json(200, &render::message(&m)),
        Err(e) => core_failure(req, e, &sid, Cap::Send, Within::Message),
    }
}
