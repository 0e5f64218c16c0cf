//! Locations, contact cards and polls, as quick-whatsapp-gateway's API shapes them:
//! `POST /sessions/{sid}/messages` with `type` one of
//!
//! - `location`: `latitude`, `longitude`, optional `name` (the place) and `address`;
//! - `contact`: `contact: {name?, phone?, vcard?}` (a `vcard` is sent as given, else
//!   one is built from `name` and `phone`, both then required);
//! - `poll`: `name` (the question), `options` (2 to 12 distinct), optional
//!   `selectableCount` (1 = single choice, the default).
//!
//! Answered 201 with the message as text sends answer it (its `content` set).

use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{ContactCard, Location, MessageContent, Poll};

use crate::api::{Cap, Within, checked, core_failure, invalid_fields, session_ref};
use crate::render;

/// The message types this module sends.
pub(crate) const TYPES: [&str; 3] = ["location", "contact", "poll"];

/// A send of `kind` (one of [`TYPES`]); `obj` is the body.
pub(crate) fn send(req: &Request, sid: &str, obj: &Map<String, Value>, kind: &str) -> HttpResponse {
    let mut fields = Map::new();
    let allowed: &[&str] = match kind {
        "location" => &["type", "to", "latitude", "longitude", "name", "address"],
        "contact" => &["type", "to", "contact"],
        _ => &["type", "to", "name", "options", "selectableCount"],
    };
    for k in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
        fields.insert(k.clone(), json!("unknown field"));
    }
    let to = match obj.get("to") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => {
            fields.insert("to".into(), json!("required, a non-empty string"));
            None
        }
    };
    let content = match kind {
        "location" => location(obj, &mut fields),
        "contact" => contact(obj, &mut fields),
        _ => poll(obj, &mut fields),
    };
    let (Some(to), Some(content), true) = (to, content, fields.is_empty()) else {
        return checked(req, sid, Cap::Send, Within::Session, invalid_fields(fields));
    };
    match core::send_content(&session_ref(sid), &to, &content) {
        Ok(m) => json(201, &render::message(&m)),
        Err(e) => core_failure(req, e, sid, Cap::Send, Within::Session),
    }
}

fn text(obj: &Map<String, Value>, name: &str, fields: &mut Map<String, Value>) -> Option<String> {
    match obj.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()).filter(|s| !s.trim().is_empty()),
        Some(_) => {
            fields.insert(name.into(), json!("must be a string"));
            None
        }
    }
}

fn location(obj: &Map<String, Value>, fields: &mut Map<String, Value>) -> Option<MessageContent> {
    let mut degrees = |name: &str| match obj.get(name).and_then(Value::as_f64) {
        Some(d) => Some(d),
        None => {
            fields.insert(name.into(), json!("required, a number of degrees"));
            None
        }
    };
    let (latitude, longitude) = (degrees("latitude"), degrees("longitude"));
    let (name, address) = (text(obj, "name", fields), text(obj, "address", fields));
    Some(MessageContent::Location(Location {
        latitude: latitude?,
        longitude: longitude?,
        name,
        address,
    }))
}

fn contact(obj: &Map<String, Value>, fields: &mut Map<String, Value>) -> Option<MessageContent> {
    let Some(Value::Object(card)) = obj.get("contact") else {
        fields.insert(
            "contact".into(),
            json!("required, an object {name?, phone?, vcard?}"),
        );
        return None;
    };
    let mut inner = Map::new();
    let (name, phone, vcard) = (
        text(card, "name", &mut inner),
        text(card, "phone", &mut inner),
        text(card, "vcard", &mut inner),
    );
    let card = match (vcard, name, phone) {
        (Some(vcard), name, _) => Some(ContactCard {
            display_name: name.unwrap_or_else(|| vcard_name(&vcard)),
            vcard,
        }),
        (None, Some(name), Some(phone)) => Some(ContactCard {
            vcard: wagate_plugin_sdk::vcard::build(&wagate_plugin_sdk::vcard::Person {
                full_name: &name,
                phone: &phone,
                ..Default::default()
            }),
            display_name: name,
        }),
        _ => {
            inner.insert(
                "contact".into(),
                json!("give a vcard, or a name and a phone"),
            );
            None
        }
    };
    for (k, v) in inner {
        fields.insert(
            if k == "contact" {
                k
            } else {
                format!("contact.{k}")
            },
            v,
        );
    }
    Some(MessageContent::Contacts(vec![card?]))
}

/// The `FN` of a vCard, for a card sent without a name.
fn vcard_name(vcard: &str) -> String {
    vcard
        .lines()
        .find_map(|l| l.strip_prefix("FN:"))
        .map(|n| n.trim().to_string())
        .unwrap_or_else(|| "Contact".into())
}

fn poll(obj: &Map<String, Value>, fields: &mut Map<String, Value>) -> Option<MessageContent> {
    let question = text(obj, "name", fields);
    if question.is_none() && !fields.contains_key("name") {
        fields.insert("name".into(), json!("required, the poll's question"));
    }
    let options: Option<Vec<String>> = match obj.get("options") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => None,
    };
    if options.is_none() {
        fields.insert("options".into(), json!("required, a list of strings"));
    }
    let selectable = match obj.get("selectableCount") {
        None | Some(Value::Null) => Some(1),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n as u32),
            _ => {
                fields.insert(
                    "selectableCount".into(),
                    json!("must be a positive integer"),
                );
                None
            }
        },
    };
    Some(MessageContent::Poll(Poll {
        question: question?,
        options: options?,
        selectable: selectable?,
    }))
}
