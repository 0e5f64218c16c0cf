//! The session's behaviour switches:
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | GET | /sessions/{sid}/settings | none | the settings (`read`) |
//! | PUT | /sessions/{sid}/settings | `{rejectCalls?, callReply?, ignoreGroups?, alwaysOnline?, readMessages?, readStatus?, syncFullHistory?}` | the settings as saved (`manage`) |
//!
//! A PUT replaces them all: a switch left out is off, as on a new session. Calls
//! reach webhooks as `call.received`.

use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::InstanceSettings;

use crate::api::{
    Cap, Within, body_object, checked, core_failure, invalid_fields, session_ref, sid,
};

/// The switches, by their v1 names.
const FLAGS: [&str; 6] = [
    "rejectCalls",
    "ignoreGroups",
    "alwaysOnline",
    "readMessages",
    "readStatus",
    "syncFullHistory",
];

fn shown(s: &InstanceSettings) -> Value {
    json!({
        "rejectCalls": s.reject_calls,
        "callReply": s.call_reply,
        "ignoreGroups": s.ignore_groups,
        "alwaysOnline": s.always_online,
        "readMessages": s.read_messages,
        "readStatus": s.read_status,
        "syncFullHistory": s.sync_full_history,
    })
}

/// `GET /sessions/{sid}/settings`.
pub(crate) fn get(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    match core::get_settings(&session_ref(&sid)) {
        Ok(s) => json(200, &shown(&s)),
        Err(e) => core_failure(req, e, &sid, Cap::Read, Within::Session),
    }
}

/// `PUT /sessions/{sid}/settings`.
pub(crate) fn put(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let invalid = |r: HttpResponse| checked(req, &sid, Cap::Manage, Within::Session, r);
    let body = match body_object(req, true) {
        Ok(o) => o,
        Err(r) => return invalid(r),
    };
    let mut fields = Map::new();
    for k in body.keys() {
        if k != "callReply" && !FLAGS.contains(&k.as_str()) {
            fields.insert(k.clone(), json!("unknown field"));
        }
    }
    let mut flag = |k: &str| match body.get(k) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            fields.insert(k.into(), json!("must be a boolean"));
            false
        }
    };
    let mut settings = InstanceSettings {
        reject_calls: flag("rejectCalls"),
        call_reply: None,
        ignore_groups: flag("ignoreGroups"),
        always_online: flag("alwaysOnline"),
        read_messages: flag("readMessages"),
        read_status: flag("readStatus"),
        sync_full_history: flag("syncFullHistory"),
    };
    match body.get("callReply") {
        None | Some(Value::Null) => {}
        Some(Value::String(r)) if r.chars().count() <= 4096 => {
            settings.call_reply = Some(r.clone()).filter(|r| !r.trim().is_empty());
        }
        Some(_) => {
            fields.insert(
                "callReply".into(),
                json!("must be a string of at most 4096 characters, or null"),
            );
        }
    }
    if !fields.is_empty() {
        return invalid(invalid_fields(fields));
    }
    match core::set_settings(&session_ref(&sid), &settings) {
        Ok(s) => json(200, &shown(&s)),
        Err(e) => core_failure(req, e, &sid, Cap::Manage, Within::Session),
    }
}
