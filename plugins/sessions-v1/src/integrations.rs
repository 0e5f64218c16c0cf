//! `PUT`, `GET` and `DELETE /sessions/{sid}/integrations/chatwoot`: the session's
//! Chatwoot sync, on core's integrations with the bundled `chatwoot` sink. All three
//! need `manage`; another organisation's session is `not_found`.
//!
//! `PUT` creates or replaces it:
//!
//! ```json
//! {"url": "https://chatwoot.example", "accountId": 1, "token": "<api_access_token>",
//!  "enabled": true, "inboxId": null, "inboxName": "WhatsApp", "autoCreateInbox": true,
//!  "signMessages": true, "signDelimiter": "\n", "reopenConversation": false,
//!  "conversationPending": false, "ignoreJids": ["@g.us"],
//!  "serverUrl": "https://gateway.example"}
//! ```
//!
//! `url` and `accountId` are required; `token` too when the session has no Chatwoot
//! integration yet (later `PUT`s without it keep the stored one). The token is kept by
//! the gateway, added to the sink's Chatwoot calls as `api_access_token`, and never
//! shown again: answers say `tokenSet`. Answers (`PUT`, `GET`) are the integration plus
//! `webhookUrl`, the URL (with its token) Chatwoot's inbox must call; its base is
//! `serverUrl`, else the request's own scheme and `Host`. `DELETE` removes the
//! integration, its queued deliveries, its inbound token and the sync's mapping (204).

use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{Integration, IntegrationSpec};
use wagate_plugin_sdk::url::{self, encode};

use crate::api::{Cap, Within, body_object, checked, core_failure, session_ref, sid};
use crate::render::{no_content, not_found, validation};

const SINK: &str = "chatwoot";
const TOKEN_HEADER: &str = "api_access_token";

const FIELDS: [&str; 13] = [
    "url",
    "accountId",
    "token",
    "enabled",
    "inboxId",
    "inboxName",
    "autoCreateInbox",
    "signMessages",
    "signDelimiter",
    "reopenConversation",
    "conversationPending",
    "ignoreJids",
    "serverUrl",
];

/// Reads the `PUT` body; `fields` collects what is wrong, keyed by field.
fn parse(
    body: &Map<String, Value>,
    have_token: bool,
    fallback_server: &str,
) -> Result<IntegrationSpec, Map<String, Value>> {
    let mut fields = Map::new();
    for k in body.keys() {
        if !FIELDS.contains(&k.as_str()) {
            fields.insert(k.clone(), json!("unknown field"));
        }
    }
    let mut bad = |k: &str, why: &str| {
        fields.insert(k.to_string(), json!(why));
    };
    let url = match body.get("url") {
        Some(Value::String(u)) if url::is_http(u) => u.trim_end_matches('/').to_string(),
        _ => {
            bad("url", "required, an http:// or https:// URL");
            String::new()
        }
    };
    let account = match body.get("accountId") {
        Some(Value::Number(n)) if n.as_u64().is_some() => n.to_string(),
        Some(Value::String(s)) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => {
            s.clone()
        }
        _ => {
            bad("accountId", "required, Chatwoot's numeric account id");
            String::new()
        }
    };
    let token = match body.get("token") {
        Some(Value::String(t)) if !t.trim().is_empty() && !t.chars().any(char::is_control) => {
            Some(t.clone())
        }
        None | Some(Value::Null) if have_token => None,
        _ => {
            bad(
                "token",
                "required, the Chatwoot user's or bot's api_access_token",
            );
            None
        }
    };
    let mut flag = |k: &str, default: bool| match body.get(k) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            fields.insert(k.to_string(), json!("must be a boolean"));
            default
        }
    };
    let enabled = flag("enabled", true);
    let auto_create = flag("autoCreateInbox", false);
    let sign = flag("signMessages", false);
    let reopen = flag("reopenConversation", false);
    let pending = flag("conversationPending", false);
    let mut text = |k: &str| match body.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            fields.insert(k.to_string(), json!("must be a string"));
            None
        }
    };
    let inbox_name = text("inboxName");
    let delimiter = text("signDelimiter");
    let server = text("serverUrl");
    if server.as_deref().is_some_and(|s| !url::is_http(s)) {
        fields.insert("serverUrl".into(), json!("an http:// or https:// URL"));
    }
    let inbox_id = match body.get("inboxId") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
        Some(_) => {
            fields.insert("inboxId".into(), json!("must be a positive integer"));
            None
        }
    };
    let ignore: Vec<String> = match body.get("ignoreJids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            fields.insert("ignoreJids".into(), json!("must be an array of strings"));
            Vec::new()
        }
    };
    if !fields.is_empty() {
        return Err(fields);
    }
    let settings = json!({
        "accountId": account,
        "inboxId": inbox_id,
        "nameInbox": inbox_name.unwrap_or_default(),
        "autoCreate": auto_create,
        "signMsg": sign,
        "signDelimiter": delimiter,
        "reopenConversation": reopen,
        "conversationPending": pending,
        "ignoreJids": ignore,
        "serverUrl": server.unwrap_or_else(|| fallback_server.to_string()),
    });
    Ok(IntegrationSpec {
        sink: SINK.into(),
        url,
        settings: settings.to_string(),
        secret_headers: token.map(|t| vec![header(TOKEN_HEADER, &t)]),
        enabled,
    })
}

/// The integration in the v1 shape.
fn render(i: &Integration, instance_name: &str, fallback_server: &str) -> Value {
    let s: Value = serde_json::from_str(&i.settings).unwrap_or(Value::Null);
    let get = |k: &str| s.get(k).cloned().unwrap_or(Value::Null);
    let server = s
        .get("serverUrl")
        .and_then(Value::as_str)
        .unwrap_or(fallback_server)
        .trim_end_matches('/')
        .to_string();
    json!({
        "sink": i.sink,
        "url": i.url,
        "enabled": i.enabled,
        "accountId": get("accountId"),
        "inboxId": get("inboxId"),
        "inboxName": get("nameInbox"),
        "autoCreateInbox": get("autoCreate"),
        "signMessages": get("signMsg"),
        "signDelimiter": get("signDelimiter"),
        "reopenConversation": get("reopenConversation"),
        "conversationPending": get("conversationPending"),
        "ignoreJids": get("ignoreJids"),
        "serverUrl": server,
        "tokenSet": i.secret_header_names.iter().any(|n| n.eq_ignore_ascii_case(TOKEN_HEADER)),
        "webhookUrl": format!(
            "{server}/chatwoot/webhook/{}?token={}",
            encode(instance_name),
            encode(&i.inbound_secret)
        ),
        "createdAt": i.created_at,
    })
}

/// The session's name (the webhook path names the instance).
fn session_name(sid: &str) -> Result<String, CoreError> {
    core::get_instance(&session_ref(sid)).map(|i| i.name)
}

pub(crate) fn get_chatwoot(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let fail = |e| core_failure(req, e, &sid, Cap::Manage, Within::Session);
    let found = match core::get_integration(&session_ref(&sid), SINK) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let Some(i) = found else {
        return not_found("the session has no chatwoot integration");
    };
    match session_name(&sid) {
        Ok(name) => json(200, &render(&i, &name, &req.base_url())),
        Err(e) => fail(e),
    }
}

pub(crate) fn put_chatwoot(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let fail = |e| core_failure(req, e, &sid, Cap::Manage, Within::Session);
    let invalid = |r| checked(req, &sid, Cap::Manage, Within::Session, r);
    let body = match body_object(req, false) {
        Ok(o) => o,
        Err(r) => return invalid(r),
    };
    let current = match core::get_integration(&session_ref(&sid), SINK) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let have_token = current.as_ref().is_some_and(|c| {
        c.secret_header_names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(TOKEN_HEADER))
    });
    let base = req.base_url();
    let spec = match parse(&body, have_token, &base) {
        Ok(w) => w,
        Err(fields) => {
            return invalid(validation("request body is invalid", Value::Object(fields)));
        }
    };
    let stored = match core::set_integration(&session_ref(&sid), &spec) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    match session_name(&sid) {
        Ok(name) => json(200, &render(&stored, &name, &base)),
        Err(e) => fail(e),
    }
}

pub(crate) fn delete_chatwoot(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    match core::delete_integration(&session_ref(&sid), SINK) {
        Ok(true) => no_content(),
        Ok(false) => not_found("the session has no chatwoot integration"),
        Err(e) => core_failure(req, e, &sid, Cap::Manage, Within::Session),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn maps_v1_names_onto_the_sink_settings() {
        let w = parse(
            &obj(
                json!({"url": "http://cw:3000/", "accountId": 3, "token": "t",
                        "inboxName": "WA", "signMessages": true, "ignoreJids": ["@g.us"]}),
            ),
            false,
            "http://gw",
        )
        .unwrap();
        assert_eq!(w.url, "http://cw:3000");
        assert_eq!(w.secret_headers.as_ref().unwrap()[0].name, TOKEN_HEADER);
        let s: Value = serde_json::from_str(&w.settings).unwrap();
        assert_eq!(s["accountId"], "3");
        assert_eq!(s["nameInbox"], "WA");
        assert_eq!(s["signMsg"], true);
        assert_eq!(s["serverUrl"], "http://gw");
        assert!(w.enabled);
    }

    #[test]
    fn token_is_needed_only_the_first_time() {
        let body = obj(json!({"url": "http://cw", "accountId": "1"}));
        assert!(
            parse(&body, false, "http://gw")
                .unwrap_err()
                .contains_key("token")
        );
        assert!(
            parse(&body, true, "http://gw")
                .unwrap()
                .secret_headers
                .is_none()
        );
    }

    #[test]
    fn collects_every_problem() {
        let fields = parse(
            &obj(
                json!({"url": "ftp://x", "accountId": "a1", "enabled": "yes",
                        "ignoreJids": [1], "inboxId": -1, "extra": 1}),
            ),
            false,
            "http://gw",
        )
        .unwrap_err();
        for k in [
            "url",
            "accountId",
            "token",
            "enabled",
            "ignoreJids",
            "inboxId",
            "extra",
        ] {
            assert!(fields.contains_key(k), "{k}: {fields:?}");
        }
    }
}
