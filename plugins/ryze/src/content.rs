//! Locations, contact cards and polls. RyzeAPI's catalog names no such routes; they
//! follow its `/message/text` route (`token` header, the same answer with `content`
//! carrying what was sent) and are documented in the OpenAPI document:
//!
//! - `POST /message/location/{instance} {number, latitude, longitude, name?, address?}`
//! - `POST /message/contact/{instance} {number, contacts: [{name, phone, vcard?}]}`
//!   (1 to 20 cards; a card without `vcard` gets one built from name and phone)
//! - `POST /message/poll/{instance} {number, question, options, selectableCount?}`
//!   (2 to 12 distinct options; `selectableCount` 1 to the number of options, default
//!   1)
//!
//! Core checks the ranges (coordinates, counts); its refusals are 400 with its reason.

use serde::Deserialize;
use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{ContactCard, Location, MessageContent, Poll};

use crate::routes::{find_instance, require_connected, required, sent, which};
use crate::{core_fail, fail, msg};

pub(crate) fn routes(r: Router) -> Router {
    r.post("/message/location/{instance}", location)
        .post("/message/contact/{instance}", contact)
        .post("/message/poll/{instance}", poll)
}

/// Sends `content` once the caller, the body and the session have been checked.
fn send(
    req: &Request,
    params: &Params,
    number: Option<String>,
    content: impl FnOnce() -> Result<MessageContent, HttpResponse>,
) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let number = required(number, msg::NUMBER_REQUIRED)?;
    let content = content()?;
    require_connected(&instance)?;
    let m = core::send_content(&which, &number, &content).map_err(|e| core_fail(&e))?;
    Ok(sent(&m))
}

#[derive(Deserialize)]
struct LocationBody {
    number: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    name: Option<String>,
    address: Option<String>,
}

/// `POST /message/location/{instance}`.
fn location(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let b: LocationBody = req.body()?;
    send(req, params, b.number, || {
        let (Some(latitude), Some(longitude)) = (b.latitude, b.longitude) else {
            return Err(fail(400, "latitude and longitude are required"));
        };
        let text = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        Ok(MessageContent::Location(Location {
            latitude,
            longitude,
            name: text(b.name),
            address: text(b.address),
        }))
    })
}

#[derive(Deserialize)]
struct Card {
    name: Option<String>,
    phone: Option<String>,
    vcard: Option<String>,
}

#[derive(Deserialize)]
struct ContactBody {
    number: Option<String>,
    contacts: Option<Vec<Card>>,
}

/// `POST /message/contact/{instance}`.
fn contact(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let b: ContactBody = req.body()?;
    send(req, params, b.number, || {
        let cards = match b.contacts {
            Some(c) if !c.is_empty() => c,
            _ => return Err(fail(400, "contacts is required")),
        };
        let mut out = Vec::with_capacity(cards.len());
        for (i, c) in cards.into_iter().enumerate() {
            let name = required(c.name, &format!("contacts[{i}].name is required"))?;
            let vcard = match c.vcard.filter(|v| !v.trim().is_empty()) {
                Some(v) => v,
                None => {
                    let phone = required(c.phone, &format!("contacts[{i}].phone is required"))?;
                    wagate_plugin_sdk::vcard::build(&wagate_plugin_sdk::vcard::Person {
                        full_name: &name,
                        phone: &phone,
                        ..Default::default()
                    })
                }
            };
            out.push(ContactCard {
                display_name: name,
                vcard,
            });
        }
        Ok(MessageContent::Contacts(out))
    })
}

#[derive(Deserialize)]
struct PollBody {
    number: Option<String>,
    question: Option<String>,
    options: Option<Vec<String>>,
    #[serde(rename = "selectableCount")]
    selectable_count: Option<u32>,
}

/// `POST /message/poll/{instance}`.
fn poll(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let b: PollBody = req.body()?;
    send(req, params, b.number, || {
        let question = required(b.question, "question is required")?;
        let options = b.options.unwrap_or_default();
        Ok(MessageContent::Poll(Poll {
            question,
            options,
            selectable: b.selectable_count.unwrap_or(1),
        }))
    })
}

/// The three routes for the OpenAPI document: (path, method, operationId, op).
pub(crate) fn openapi_paths() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    use crate::openapi::{body, err, instance_param, okr, op};
    let number =
        json!({ "type": "string", "minLength": 1, "pattern": crate::openapi::NUMBER_PATTERN });
    let answer = |content: Value| {
        okr(
            "Sent.",
            json!({ "success": true, "message": "Message sent successfully", "status": "sent",
                "data": { "messageId": "3EB0...", "direction": "outgoing", "timestamp": "2026-04-28T10:30:00Z",
                          "chat": { "jid": "5511999999999", "type": "private" }, "sender": { "jid": "5511888888888" },
                          "content": content } }),
        )
    };
    let responses = |ok: Value, bad: &str| {
        json!({
            "200": ok,
            "400": err("A missing or malformed field, or a value out of range.", bad),
            "404": err("Unknown instance.", "Instance not found"),
            "503": err("The instance is not connected.", "Instance is not connected to WhatsApp"),
        })
    };
    vec![
        (
            "/message/location/{instance}",
            "post",
            "sendLocation",
            op(
                "Send a location pin.",
                json!([instance_param()]),
                Some(body(
                    json!({ "number": number, "latitude": { "type": "number", "minimum": -90, "maximum": 90 },
                            "longitude": { "type": "number", "minimum": -180, "maximum": 180 },
                            "name": { "type": "string" }, "address": { "type": "string" } }),
                    &["number", "latitude", "longitude"],
                    json!({ "number": "5511999999999", "latitude": -23.5505, "longitude": -46.6333, "name": "Shop", "address": "Av. Paulista, 1000" }),
                )),
                responses(
                    answer(
                        json!({ "text": null, "location": { "latitude": -23.5505, "longitude": -46.6333, "name": "Shop", "address": "Av. Paulista, 1000" } }),
                    ),
                    "latitude and longitude are required",
                ),
            ),
        ),
        (
            "/message/contact/{instance}",
            "post",
            "sendContact",
            op(
                "Send one or more contact cards (a vCard is built from name and phone when none is given).",
                json!([instance_param()]),
                Some(body(
                    json!({ "number": number, "contacts": { "type": "array", "minItems": 1, "maxItems": 20, "items": {
                        "type": "object", "required": ["name"], "properties": {
                            "name": { "type": "string", "minLength": 1 }, "phone": { "type": "string" }, "vcard": { "type": "string" } } } } }),
                    &["number", "contacts"],
                    json!({ "number": "5511999999999", "contacts": [{ "name": "Ana", "phone": "5511977776666" }] }),
                )),
                responses(
                    answer(
                        json!({ "text": null, "contacts": [{ "displayName": "Ana", "vcard": "BEGIN:VCARD\n..." }] }),
                    ),
                    "contacts is required",
                ),
            ),
        ),
        (
            "/message/poll/{instance}",
            "post",
            "sendPoll",
            op(
                "Send a poll (2 to 12 distinct options).",
                json!([instance_param()]),
                Some(body(
                    json!({ "number": number, "question": { "type": "string", "minLength": 1 },
                            "options": { "type": "array", "minItems": 2, "maxItems": 12, "uniqueItems": true, "items": { "type": "string", "minLength": 1 } },
                            "selectableCount": { "type": "integer", "minimum": 1, "default": 1 } }),
                    &["number", "question", "options"],
                    json!({ "number": "5511999999999", "question": "Lunch?", "options": ["Yes", "No"], "selectableCount": 1 }),
                )),
                responses(
                    answer(
                        json!({ "text": null, "poll": { "question": "Lunch?", "options": ["Yes", "No"], "selectable": 1 } }),
                    ),
                    "question is required",
                ),
            ),
        ),
    ]
}
