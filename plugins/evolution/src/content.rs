//! `sendLocation`, `sendContact` and `sendPoll` (Evolution's `SendLocationDto`,
//! `SendContactDto`, `SendPollDto`, checked as its JSON schemas check them), answered
//! with the message as `sendText` answers (201, `status: PENDING`), and how a stored
//! location, contact card, poll or unsupported message reads in Baileys' terms
//! (`locationMessage`, `contactMessage`/`contactsArrayMessage`,
//! `pollCreationMessage`; an unsupported one keeps its WhatsApp type name as
//! `messageType` with an empty `message`).

use serde_json::{Value, json as j};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{ContactCard, Location, MessageContent, Poll};

use crate::chat::{raw, strip_device};
use crate::input::{self, bad};
use crate::shape::Style;
use crate::{Cap, Reply, core_error, guard};

/// The message's type and `message` object in Baileys' terms.
pub(crate) fn message_of(content: &MessageContent) -> (String, Value) {
    match content {
        MessageContent::Location(l) => (
            "locationMessage".into(),
            j!({ "locationMessage": {
                "degreesLatitude": l.latitude, "degreesLongitude": l.longitude,
                "name": l.name, "address": l.address,
            } }),
        ),
        MessageContent::Contacts(cards) if cards.len() == 1 => (
            "contactMessage".into(),
            j!({ "contactMessage": { "displayName": cards[0].display_name, "vcard": cards[0].vcard } }),
        ),
        MessageContent::Contacts(cards) => (
            "contactsArrayMessage".into(),
            j!({ "contactsArrayMessage": {
                "displayName": format!("{} contacts", cards.len()),
                "contacts": cards.iter().map(|c| j!({ "displayName": c.display_name, "vcard": c.vcard })).collect::<Vec<_>>(),
            } }),
        ),
        MessageContent::Poll(p) => (
            "pollCreationMessage".into(),
            j!({ "pollCreationMessage": {
                "name": p.question,
                "options": p.options.iter().map(|o| j!({ "optionName": o })).collect::<Vec<_>>(),
                "selectableOptionsCount": p.selectable,
            } }),
        ),
        MessageContent::Unsupported(type_name) => (type_name.clone(), j!({})),
    }
}

/// Sends `content` and answers as `sendText` does.
fn send(instance_id: String, number: &str, content: MessageContent) -> Reply {
    let sent = core::send_content(
        &InstanceRef::Id(instance_id.clone()),
        &strip_device(number),
        &content,
    )
    .map_err(|e| core_error(&e))?;
    let mut out = raw(&sent, &instance_id);
    out.status = Some("PENDING");
    Ok(json(201, &out))
}

/// A required number (`latitude`, `longitude`).
fn req_number(body: &Value, field: &str) -> Result<f64, HttpResponse> {
    match body.get(field) {
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| bad(&format!("{field} is not of a type(s) number"))),
        None | Some(Value::Null) => Err(bad(&format!("instance requires property \"{field}\""))),
        Some(_) => Err(bad(&format!("{field} is not of a type(s) number"))),
    }
}

/// `POST /message/sendLocation/{instanceName} {number, latitude, longitude, name, address}`.
pub(crate) fn send_location(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let number = input::req_str(&body, "number")?;
    let latitude = req_number(&body, "latitude")?;
    let longitude = req_number(&body, "longitude")?;
    // Evolution's schema requires both; an empty one is sent as none.
    let place = |field: &str| -> Result<Option<String>, HttpResponse> {
        match body.get(field) {
            None | Some(Value::Null) => {
                Err(bad(&format!("instance requires property \"{field}\"")))
            }
            Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.trim().is_empty())),
            Some(_) => Err(bad(&format!("{field} is not of a type(s) string"))),
        }
    };
    let location = Location {
        latitude,
        longitude,
        name: place("name")?,
        address: place("address")?,
    };
    send(instance.id, &number, MessageContent::Location(location))
}

/// `POST /message/sendContact/{instanceName} {number, contact: [{fullName, phoneNumber,
/// wuid?, organization?, email?, url?}]}`.
pub(crate) fn send_contact(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let number = input::req_str(&body, "number")?;
    let items = match body.get("contact") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => return Err(bad("contact does not meet minimum length of 1")),
        None | Some(Value::Null) => return Err(bad("instance requires property \"contact\"")),
        Some(_) => return Err(bad("contact is not of a type(s) array")),
    };
    let mut cards = Vec::with_capacity(items.len());
    for (i, c) in items.iter().enumerate() {
        let field = |f: &str| input::opt_str(c, f);
        let full_name = field("fullName")?
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad(&format!("contact[{i}] requires property \"fullName\"")))?;
        let phone = field("phoneNumber")?
            .filter(|p| p.len() >= 10)
            .ok_or_else(|| {
                bad(&format!(
                    "contact[{i}].phoneNumber must be at least 10 characters"
                ))
            })?;
        let (wuid, organization) = (field("wuid")?, field("organization")?);
        let (email, url) = (field("email")?, field("url")?);
        // As Evolution writes it (`contactMessage` in whatsapp.baileys.service.ts).
        let vcard = wagate_plugin_sdk::vcard::build(&wagate_plugin_sdk::vcard::Person {
            full_name: &full_name,
            phone: &phone,
            wuid: wuid.as_deref(),
            organization: organization.as_deref(),
            email: email.as_deref(),
            url: url.as_deref(),
            phone_label: Some("Celular"),
        });
        cards.push(ContactCard {
            vcard,
            display_name: full_name,
        });
    }
    send(instance.id, &number, MessageContent::Contacts(cards))
}

/// `POST /message/sendPoll/{instanceName} {number, name, selectableCount, values}`.
/// As in Evolution's schema: 2 to 10 distinct `values`, `selectableCount` 0 to 10 (0:
/// any number of them, as Baileys reads it).
pub(crate) fn send_poll(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let number = input::req_str(&body, "number")?;
    let question = input::req_str(&body, "name")?;
    let values = match body.get("values") {
        Some(Value::Array(v)) => v,
        None | Some(Value::Null) => return Err(bad("instance requires property \"values\"")),
        Some(_) => return Err(bad("values is not of a type(s) array")),
    };
    if values.len() < 2 {
        return Err(bad("values does not meet minimum length of 2"));
    }
    if values.len() > 10 {
        return Err(bad("values does not meet maximum length of 10"));
    }
    let options = values
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<Vec<String>>>()
        .ok_or_else(|| bad("values[] is not of a type(s) string"))?;
    let selectable = match body.get("selectableCount") {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(c) if c <= 10 => c as u32,
            _ => return Err(bad("selectableCount must be an integer from 0 to 10")),
        },
        None | Some(Value::Null) => {
            return Err(bad("instance requires property \"selectableCount\""));
        }
        Some(_) => return Err(bad("selectableCount is not of a type(s) integer")),
    };
    let selectable = if selectable == 0 {
        options.len() as u32
    } else {
        selectable
    };
    send(
        instance.id,
        &number,
        MessageContent::Poll(Poll {
            question,
            options,
            selectable,
        }),
    )
}
