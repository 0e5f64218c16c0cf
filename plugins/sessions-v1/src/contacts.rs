//! Contacts, as quick-whatsapp-gateway's API shapes them:
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | /sessions/{sid}/contacts | `{data: [{phoneNumber?, lid?, name?, isBusiness, source}]}`: the people the session heard from (`source` `dm`) |
//! | GET | /sessions/{sid}/contacts/check?phone= | `{query, jid, isOnWhatsApp, isBusiness?, lid?, phoneNumber?}` (a live lookup; the other address when WhatsApp gave it) |
//! | GET | /sessions/{sid}/contacts/{jid}/about | `{about}` (null when hidden) |
//! | GET | /sessions/{sid}/contacts/{jid}/picture | `{url}` (null when none) |
//! | GET | /sessions/{sid}/contacts/blocked | `{data: [jid]}`: whom this account blocked, as WhatsApp lists them |
//! | POST | /sessions/{sid}/contacts/{jid}/block, .../unblock | 204 |
//!
//! Reads need `read`; blocking `send`. Live lookups need a connected session (409
//! `not_connected`); a number WhatsApp does not know is 404 on its about text and
//! picture, 422 on block (naming it).

use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::Contact;

use crate::api::{
    Cap, Within, authed, bad_cursor, checked, core_failure, limit_param, session_ref, sid,
};
use crate::render::{self, validation};

pub(crate) fn routes(r: Router) -> Router {
    r.get("/sessions/{sid}/contacts", authed(list))
        .get("/sessions/{sid}/contacts/check", authed(check))
        .get("/sessions/{sid}/contacts/{jid}/about", authed(about))
        .get("/sessions/{sid}/contacts/{jid}/picture", authed(picture))
        .get("/sessions/{sid}/contacts/blocked", authed(blocked))
        .post("/sessions/{sid}/contacts/{jid}/block", authed(block))
        .post("/sessions/{sid}/contacts/{jid}/unblock", authed(unblock))
}

/// One contact as the list and the `contact.*` events show it.
pub(crate) fn contact(c: &Contact) -> Value {
    // Both addresses when the session knows the pair: the LID and the phone behind it.
    // The address book name first, else the name their messages carried.
    let name = c.saved_name.as_ref().or(c.push_name.as_ref());
    let mut v = json!({ "name": name, "source": "dm", "isBusiness": c.business });
    for jid in std::iter::once(&c.jid).chain(c.jid_alt.as_ref()) {
        let (user, server) = jid.split_once('@').unwrap_or((jid, ""));
        if server == "lid" {
            v["lid"] = json!(jid);
        } else {
            v["phoneNumber"] = json!(user);
        }
    }
    v
}

/// The most contacts one page holds, and the default.
const MAX_LIMIT: u32 = 1000;
const DEFAULT_LIMIT: u32 = 100;

fn list(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let limit = match limit_param(req, &sid, Within::Session, DEFAULT_LIMIT, MAX_LIMIT) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let cursor = req.query("cursor").filter(|c| !c.is_empty());
    match core::list_contacts(&session_ref(&sid), limit, cursor.as_deref()) {
        Ok(page) => json(
            200,
            &render::page(
                page.contacts.iter().map(contact).collect(),
                page.next_cursor,
            ),
        ),
        // The cursor is the only input core validates here.
        Err(CoreError::Invalid(_)) => bad_cursor(req, &sid, Within::Session),
        Err(e) => core_failure(req, e, &sid, Cap::Read, Within::Session),
    }
}

fn check(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let Some(phone) = req.query("phone").filter(|s| !s.trim().is_empty()) else {
        return checked(
            req,
            &sid,
            Cap::Read,
            Within::Session,
            validation("request is invalid", json!({ "phone": "required" })),
        );
    };
    match core::check_numbers(&session_ref(&sid), std::slice::from_ref(&phone)) {
        Ok(mut checks) => {
            let Some(c) = checks.pop() else {
                return json(
                    200,
                    &json!({ "query": phone, "jid": null, "isOnWhatsApp": false }),
                );
            };
            let mut v = json!({ "query": phone, "jid": c.jid, "isOnWhatsApp": c.exists });
            if c.exists {
                v["isBusiness"] = json!(c.business);
            }
            // The LID behind the number (or the number behind a LID), as contacts show it.
            if let Some(alt) = &c.jid_alt {
                match alt.split_once('@') {
                    Some((_, "lid")) => v["lid"] = json!(alt),
                    Some((user, _)) => v["phoneNumber"] = json!(user),
                    None => {}
                }
            }
            json(200, &v)
        }
        Err(e) => core_failure(req, e, &sid, Cap::Read, Within::Session),
    }
}

fn about(req: &Request, p: &Params) -> HttpResponse {
    let (sid, jid) = (sid(p), p.get("jid").unwrap_or_default());
    match core::get_profile(&session_ref(&sid), Some(jid)) {
        Ok(profile) => json(200, &json!({ "about": profile.status })),
        Err(e) => contact_failure(req, e, &sid, Cap::Read),
    }
}

fn picture(req: &Request, p: &Params) -> HttpResponse {
    let (sid, jid) = (sid(p), p.get("jid").unwrap_or_default());
    match core::profile_picture_url(&session_ref(&sid), jid) {
        Ok(url) => json(200, &json!({ "url": url })),
        Err(e) => contact_failure(req, e, &sid, Cap::Read),
    }
}

fn blocked(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    match core::list_blocked(&session_ref(&sid)) {
        Ok(jids) => json(200, &json!({ "data": jids })),
        Err(e) => core_failure(req, e, &sid, Cap::Read, Within::Session),
    }
}

fn block(req: &Request, p: &Params) -> HttpResponse {
    set_blocked(req, p, true)
}

fn unblock(req: &Request, p: &Params) -> HttpResponse {
    set_blocked(req, p, false)
}

fn set_blocked(req: &Request, p: &Params, blocked: bool) -> HttpResponse {
    let (sid, jid) = (sid(p), p.get("jid").unwrap_or_default());
    match core::set_blocked(&session_ref(&sid), jid, blocked) {
        Ok(_) => render::no_content(),
        Err(e) => contact_failure(req, e, &sid, Cap::Send),
    }
}

/// A contact route's failure: an unknown number is `not_found` (after the session
/// and capability checks), the rest as every route answers them.
pub(crate) fn contact_failure(req: &Request, e: CoreError, sid: &str, cap: Cap) -> HttpResponse {
    match e {
        CoreError::NotFound(_) => checked(
            req,
            sid,
            cap,
            Within::Session,
            render::not_found("contact not found"),
        ),
        other => core_failure(req, other, sid, cap, Within::Session),
    }
}

/// The contact routes' OpenAPI paths.
pub(crate) fn add_openapi(doc: &mut Value) {
    use crate::openapi::{error_response, ok, op, sid};
    let jid = json!({ "name": "jid", "in": "path", "required": true, "description": "A number with country code, or a JID.", "schema": { "type": "string" } });
    let phone = json!({ "name": "phone", "in": "query", "required": true, "schema": { "type": "string", "minLength": 1 } });
    let missing =
        || error_response("`not_found`: no such session, or a number WhatsApp does not know");
    let offline = || error_response("`not_connected`: the session is not connected");
    let forbidden = |cap: &str| error_response(&format!("`forbidden`: the caller lacks `{cap}`"));
    let invalid = || error_response("`validation_error`: a missing or malformed number");
    let nullable = |t: &str| json!({ "type": [t, "null"] });
    let blocking = |id: &str, summary: &str| {
        json!({ "post": op(id, summary, "Requires `send` and a connected session.", vec![sid(), jid.clone()], json!({
            "204": { "description": "Done" }, "403": forbidden("send"), "404": missing(), "409": offline(),
            "422": error_response("`validation_error`: a malformed number, or one WhatsApp does not know")
        })) })
    };
    let paths = json!({
        "/sessions/{sid}/contacts": { "get": op("listContacts", "Contacts the session heard from",
            "The people whose messages the session received, with the name their messages carried, a page at a time (pass `nextCursor` back as `cursor`). A contact known by both addresses has both `phoneNumber` and `lid`. Requires `read`.",
            vec![sid(),
                 json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } }),
                 json!({ "name": "cursor", "in": "query", "schema": { "type": "string" } })],
            json!({
                "200": ok("Contacts", json!({ "type": "object", "required": ["data", "nextCursor"], "properties": { "data": { "type": "array", "items": {
                    "type": "object", "required": ["source"], "properties": {
                        "phoneNumber": { "type": "string" }, "lid": { "type": "string" },
                        "name": nullable("string"), "isBusiness": { "type": "boolean" },
                        "source": { "enum": ["dm", "group"] } } } },
                    "nextCursor": nullable("string") } })),
                "403": forbidden("read"), "404": missing(),
                "422": error_response("`validation_error`: a limit out of 1-1000, or a cursor that is not one this route gave")
            })) },
        "/sessions/{sid}/contacts/check": { "get": op("checkContact", "Is a number on WhatsApp",
            "A live lookup. A number on WhatsApp says whether it is a business (`isBusiness`) and, when WhatsApp gave it, its other address: the `lid` behind a phone number, or the `phoneNumber` of a LID. Requires `read` and a connected session.", vec![sid(), phone], json!({
                "200": ok("The answer", json!({ "type": "object", "required": ["query", "isOnWhatsApp"], "properties": {
                    "query": { "type": "string" }, "jid": nullable("string"), "isOnWhatsApp": { "type": "boolean" },
                    "isBusiness": { "type": "boolean" }, "lid": { "type": "string" }, "phoneNumber": { "type": "string" } } })),
                "403": forbidden("read"), "404": missing(), "409": offline(), "422": invalid()
            })) },
        "/sessions/{sid}/contacts/{jid}/about": { "get": op("getContactAbout", "A contact's about text",
            "Null when they hide it. Requires `read` and a connected session.", vec![sid(), jid.clone()], json!({
                "200": ok("The about text", json!({ "type": "object", "required": ["about"], "properties": { "about": nullable("string") } })),
                "403": forbidden("read"), "404": missing(), "409": offline(), "422": invalid()
            })) },
        "/sessions/{sid}/contacts/{jid}/picture": { "get": op("getContactPicture", "A contact's profile picture URL",
            "Null when there is none to see. Requires `read` and a connected session.", vec![sid(), jid.clone()], json!({
                "200": ok("The picture", json!({ "type": "object", "required": ["url"], "properties": { "url": nullable("string") } })),
                "403": forbidden("read"), "404": missing(), "409": offline(), "422": invalid()
            })) },
        "/sessions/{sid}/contacts/blocked": { "get": op("listBlocked", "The contacts this account blocked",
            "As WhatsApp lists them. Requires `read` and a connected session.", vec![sid()], json!({
                "200": ok("Blocked JIDs", json!({ "type": "object", "required": ["data"], "properties": { "data": { "type": "array", "items": { "type": "string" } } } })),
                "403": forbidden("read"), "404": missing(), "409": offline()
            })) },
        "/sessions/{sid}/contacts/{jid}/block": blocking("blockContact", "Block a contact"),
        "/sessions/{sid}/contacts/{jid}/unblock": blocking("unblockContact", "Unblock a contact"),
    });
    if let (Some(all), Some(new)) = (doc["paths"].as_object_mut(), paths.as_object()) {
        all.extend(new.clone());
    }
}
