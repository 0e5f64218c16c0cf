//! Contacts and profiles. RyzeAPI's catalog names no such routes; they follow its
//! routes' style (`token` header, `{"success":true,...}`, errors
//! `{"success":false,"error":{"message"}}`) and are documented in the OpenAPI
//! document:
//!
//! | method | path | body / query | answer `data` |
//! |---|---|---|---|
//! | POST | /contact/check/{instance} | `{numbers: [...]}` (1-500) | `[{number, jid, exists, jidAlt, business, error}]` in the order given |
//! | GET | /contact/list/{instance} | `?limit&cursor` | `{data: [{jid, jidAlt, pushName, savedName, business, firstSeen, lastSeen}], hasMore, nextCursor}`: the people the instance heard from, a page at a time |
//! | GET | /contact/blocklist/{instance} | | `{success, data: [jid]}`: whom this account blocked |
//! | GET | /contact/profile/{instance} | `?number=` (absent: this account) | `{jid, name, status, picture, business}` |
//! | POST | /contact/block/{instance} | `{number}` | `{jid, blocked: true}` |
//! | POST | /contact/unblock/{instance} | `{number}` | `{jid, blocked: false}` |
//!
//! Reads need the token to read the instance; blocking needs `send`. A number WhatsApp
//! does not know is 404 on profile, 400 on block (naming it).

use serde::Deserialize;
use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::Contact;

use crate::routes::{find_instance, page_fail, page_query, require_connected, required, which};
use crate::util::iso8601;
use crate::{core_fail, fail, msg, ok};

/// The most numbers one check takes (core's cap).
const MAX_NUMBERS: usize = 500;

pub(crate) fn routes(r: Router) -> Router {
    r.post("/contact/check/{instance}", check)
        .get("/contact/list/{instance}", list)
        .get("/contact/profile/{instance}", profile)
        .get("/contact/blocklist/{instance}", blocklist)
        .post("/contact/block/{instance}", |q, p| block(q, p, true))
        .post("/contact/unblock/{instance}", |q, p| block(q, p, false))
}

#[derive(Deserialize)]
struct CheckBody {
    numbers: Option<Vec<String>>,
}

fn check(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::READ)?;
    let b: CheckBody = req.body()?;
    let numbers = match b.numbers {
        Some(n) if !n.is_empty() && n.len() <= MAX_NUMBERS => n,
        _ => return Err(fail(400, "numbers must list 1 to 500 numbers")),
    };
    require_connected(&instance)?;
    let checks = core::check_numbers(&which, &numbers).map_err(|e| core_fail(&e))?;
    let data: Vec<Value> = checks
        .into_iter()
        .map(|c| {
            json!({ "number": c.input, "jid": c.jid, "exists": c.exists, "jidAlt": c.jid_alt,
                    "business": c.business, "error": c.error })
        })
        .collect();
    Ok(ok(200, json!({ "success": true, "data": data })))
}

/// One contact as `/contact/list` lists it.
fn contact_json(c: &Contact) -> Value {
    json!({
        "jid": c.jid,
        "jidAlt": c.jid_alt,
        "pushName": c.push_name,
        "savedName": c.saved_name,
        "business": c.business,
        "firstSeen": iso8601(c.created_at),
        "lastSeen": iso8601(c.updated_at),
    })
}

/// The most contacts one page holds.
const MAX_LIMIT: u32 = 1000;

fn list(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    find_instance(req, &which, Capabilities::READ)?;
    let (limit, cursor) = page_query(req, MAX_LIMIT)?;
    let page = core::list_contacts(&which, limit, cursor.as_deref())
        .map_err(|e| page_fail(e, core_fail))?;
    let data: Vec<Value> = page.contacts.iter().map(contact_json).collect();
    Ok(ok(
        200,
        json!({ "success": true, "data": data, "hasMore": page.next_cursor.is_some(), "nextCursor": page.next_cursor }),
    ))
}

fn profile(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::READ)?;
    let number = req.query("number").filter(|n| !n.trim().is_empty());
    if number.is_some() {
        require_connected(&instance)?;
    }
    let p = core::get_profile(&which, number.as_deref()).map_err(|e| match e {
        CoreError::NotFound(_) => fail(404, "Number is not on WhatsApp"),
        other => core_fail(&other),
    })?;
    Ok(ok(
        200,
        json!({ "success": true, "data": {
            "jid": p.jid, "name": p.name, "status": p.status,
            "picture": p.picture_url, "business": p.is_business,
        } }),
    ))
}

fn blocklist(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::READ)?;
    require_connected(&instance)?;
    let jids = core::list_blocked(&which).map_err(|e| core_fail(&e))?;
    Ok(ok(200, json!({ "success": true, "data": jids })))
}

#[derive(Deserialize)]
struct NumberBody {
    number: Option<String>,
}

fn block(req: &Request, params: &Params, blocked: bool) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let b: NumberBody = req.body()?;
    let number = required(b.number, msg::NUMBER_REQUIRED)?;
    require_connected(&instance)?;
    let jid = core::set_blocked(&which, &number, blocked).map_err(|e| match e {
        CoreError::NotFound(_) => fail(404, "Number is not on WhatsApp"),
        other => core_fail(&other),
    })?;
    Ok(ok(
        200,
        json!({ "success": true, "data": { "jid": jid, "blocked": blocked } }),
    ))
}

/// The routes for the OpenAPI document: (path, method, operationId, op).
pub(crate) fn openapi_paths() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    use crate::openapi::{body, err, instance_param, okr, op};
    let number =
        json!({ "type": "string", "minLength": 1, "pattern": crate::openapi::NUMBER_PATTERN });
    let not_connected = || {
        err(
            "The instance is not connected.",
            "Instance is not connected to WhatsApp",
        )
    };
    let unknown = || {
        err(
            "Unknown instance, or a number WhatsApp does not know.",
            "Number is not on WhatsApp",
        )
    };
    let block_op = |summary: &str, blocked: bool| {
        op(
            summary,
            json!([instance_param()]),
            Some(body(
                json!({ "number": number }),
                &["number"],
                json!({ "number": "5511999999999" }),
            )),
            json!({
                "200": okr("Done.", json!({ "success": true, "data": { "jid": "5511999999999@s.whatsapp.net", "blocked": blocked } })),
                "400": err("A missing or malformed number, or one WhatsApp does not know.", "Number is required"),
                "404": err("Unknown instance.", "Instance not found"), "503": not_connected(),
            }),
        )
    };
    vec![
        (
            "/contact/blocklist/{instance}",
            "get",
            "listBlocked",
            op(
                "The numbers this account blocked, as WhatsApp lists them.",
                json!([instance_param()]),
                None,
                json!({
                    "200": okr("Blocked JIDs.", json!({ "success": true, "data": ["5511999999999@s.whatsapp.net"] })),
                    "404": err("Unknown instance.", "Instance not found"),
                    "503": not_connected(),
                }),
            ),
        ),
        (
            "/contact/check/{instance}",
            "post",
            "checkNumbers",
            op(
                "Which numbers are on WhatsApp (answers in the order given). jidAlt is the number's other address when WhatsApp gave it (the LID behind a phone number); business says it is a WhatsApp Business account.",
                json!([instance_param()]),
                Some(body(
                    json!({ "numbers": { "type": "array", "minItems": 1, "maxItems": 500, "items": { "type": "string" } } }),
                    &["numbers"],
                    json!({ "numbers": ["5511999999999", "5511900000000"] }),
                )),
                json!({
                    "200": okr("Checked.", json!({ "success": true, "data": [
                        { "number": "5511999999999", "jid": "5511999999999@s.whatsapp.net", "exists": true,
                          "jidAlt": "190000000000001@lid", "business": false, "error": null }] })),
                    "400": err("No numbers, or more than 500.", "numbers must list 1 to 500 numbers"),
                    "404": err("Unknown instance.", "Instance not found"),
                    "503": not_connected(),
                }),
            ),
        ),
        (
            "/contact/list/{instance}",
            "get",
            "listContacts",
            op(
                "The people the instance has heard from, with the name their messages carried and whether they are a WhatsApp Business account (as WhatsApp last said), a page at a time in JID order (limit, default 100; pass nextCursor back as cursor). jidAlt is the other address when known: the phone JID behind a LID, or the LID of a phone JID.",
                json!([instance_param(),
                       { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } },
                       { "name": "cursor", "in": "query", "schema": { "type": "string" } }]),
                None,
                json!({
                    "200": okr("Contacts.", json!({ "success": true, "hasMore": false, "nextCursor": null, "data": [
                        { "jid": "190000000000001@lid", "jidAlt": "5511999999999@s.whatsapp.net", "pushName": "Ana", "savedName": "Ana Souza",
                          "business": false, "firstSeen": "2026-04-28T10:30:00Z", "lastSeen": "2026-04-28T10:31:00Z" }] })),
                    "400": err("limit out of 1-1000, or a cursor this route did not give.", "limit must be between 1 and 1000"),
                    "404": err("Unknown instance.", "Instance not found"),
                }),
            ),
        ),
        (
            "/contact/profile/{instance}",
            "get",
            "getProfile",
            op(
                "A number's profile (about text, picture), or without number this account's.",
                json!([instance_param(), { "name": "number", "in": "query", "required": false, "schema": { "type": "string" } }]),
                None,
                json!({
                    "200": okr("The profile.", json!({ "success": true, "data": {
                        "jid": "5511999999999@s.whatsapp.net", "name": "Ana", "status": "Hey there!", "picture": null, "business": false } })),
                    "400": err("A malformed number.", "`x` is not a valid number or JID"),
                    "404": unknown(), "503": not_connected(),
                }),
            ),
        ),
        (
            "/contact/block/{instance}",
            "post",
            "blockContact",
            block_op("Block a number.", true),
        ),
        (
            "/contact/unblock/{instance}",
            "post",
            "unblockContact",
            block_op("Unblock a number.", false),
        ),
    ]
}
