//! `POST /chatwoot/set/{instanceName}` and `GET /chatwoot/find/{instanceName}`, in
//! Evolution API v2's shapes, on core's integrations: the config becomes the instance's
//! integration with the bundled `chatwoot` sink (which mirrors its chats into a
//! Chatwoot inbox and serves Chatwoot's webhook at `/chatwoot/webhook/{instanceName}`).
//!
//! - The body is Evolution's `ChatwootDto`, validated as its JSON schema does
//!   (`enabled`, `accountId`, `token`, `url`, `signMsg`, `reopenConversation`,
//!   `conversationPending` required) and, when `enabled`, as its controller does (`url is
//!   not valid`, `accountId is required`, ...). wagate also needs `accountId` numeric.
//! - `token` becomes the integration's secret header `api_access_token`: the host keeps
//!   it and adds it to the sink's Chatwoot calls; answers show it masked (`********`).
//! - `enabled: false` keeps the config but stops the sync.
//! - The answer adds Evolution's `webhook_url`, here with the integration's inbound
//!   secret as `?token=` (Chatwoot does not sign its webhooks): set it as the inbox's
//!   webhook unless `autoCreate` creates the inbox with it. Its base is the `server_url`
//!   config, else the request's own `Host`.
//! - Accepted, stored and echoed but not acted on: `number`, `organization`, `logo`,
//!   `mergeBrazilContacts`, `daysLimitImportMessages`. `importContacts` and
//!   `importMessages` set to true are refused: wagate syncs from the next event on.
//! - The inbox is looked up (or auto-created) at the first delivery, not during this
//!   call: the sink alone may reach Chatwoot.

use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{Integration, IntegrationSpec};
use wagate_plugin_sdk::url::{self, encode};

use crate::input::{self, bad};
use crate::shape::Style;
use crate::util::setting;
use crate::{Cap, Reply, core_error, guard};

/// The sink plugin that runs the sync.
const SINK: &str = "chatwoot";
/// The secret header Chatwoot's API takes.
const TOKEN_HEADER: &str = "api_access_token";
/// What answers show instead of the token.
const MASK: &str = "********";

// ---- POST /chatwoot/set/{instanceName} --------------------------------------------

pub(crate) fn set(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let body = input::body(req)?;
    Ok(json(201, &configure(req, &instance, &body)?))
}

/// Validates a `ChatwootDto` and makes it the instance's integration; returns what
/// `set` answers (also used by `instance/create`'s inline `chatwoot*` fields).
pub(crate) fn configure(
    req: &Request,
    instance: &Instance,
    body: &Value,
) -> Result<Value, HttpResponse> {
    let body = body.clone();
    // Evolution's chatwootSchema: required, typed, not empty.
    let enabled = input::req_bool(&body, "enabled")?;
    let account_id = account(&body)?;
    let token = input::req_str(&body, "token")?;
    let url = input::req_str(&body, "url")?;
    let sign_msg = input::req_bool(&body, "signMsg")?;
    let reopen = input::req_bool(&body, "reopenConversation")?;
    let pending = input::req_bool(&body, "conversationPending")?;
    let mut sign_delimiter = nullable_str(&body, "signDelimiter")?;
    let name_inbox = nullable_str(&body, "nameInbox")?;
    let auto_create = input::opt_bool(&body, "autoCreate")?;
    let merge = input::opt_bool(&body, "mergeBrazilContacts")?;
    let import_contacts = input::opt_bool(&body, "importContacts")?;
    let import_messages = input::opt_bool(&body, "importMessages")?;
    let days = match body.get("daysLimitImportMessages") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.clone()),
        Some(_) => {
            return Err(bad("daysLimitImportMessages is not of a type(s) number"));
        }
    };
    let ignore_jids = string_list(&body, "ignoreJids")?;
    let number = input::opt_str(&body, "number")?;
    let organization = input::opt_str(&body, "organization")?;
    let logo = input::opt_str(&body, "logo")?;

    // Evolution's controller, when enabled.
    if enabled {
        // class-validator's `isURL(url, { require_tld: false })`, as far as wagate can
        // use the URL: `http://` or `https://` with a host.
        if !url::is_http(&url) {
            return Err(bad("url is not valid"));
        }
        if !account_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad("accountId must be Chatwoot's numeric account id"));
        }
    }
    if !sign_msg {
        sign_delimiter = None;
    }
    for (flag, field) in [
        (import_contacts, "importContacts"),
        (import_messages, "importMessages"),
    ] {
        if flag == Some(true) {
            return Err(bad(&format!(
                "{field} is not supported: wagate syncs from the next event on"
            )));
        }
    }
    let name_inbox = name_inbox
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| instance.name.clone());

    let server_url = server_url(req);
    let mut settings = Map::new();
    let mut put = |k: &str, v: Value| {
        settings.insert(k.to_string(), v);
    };
    put("accountId", json!(account_id));
    put("nameInbox", json!(name_inbox));
    put("signMsg", json!(sign_msg));
    put("signDelimiter", json!(sign_delimiter));
    put("reopenConversation", json!(reopen));
    put("conversationPending", json!(pending));
    put("autoCreate", json!(auto_create.unwrap_or(false)));
    put("ignoreJids", json!(ignore_jids.clone().unwrap_or_default()));
    put("mergeBrazilContacts", json!(merge.unwrap_or(false)));
    put("importContacts", json!(false));
    put("importMessages", json!(false));
    put(
        "daysLimitImportMessages",
        json!(days.clone().unwrap_or(0.into())),
    );
    put("number", json!(number));
    put("organization", json!(organization));
    put("logo", json!(logo));
    put("serverUrl", json!(server_url));

    let spec = IntegrationSpec {
        sink: SINK.into(),
        url: url.clone(),
        settings: Value::Object(settings).to_string(),
        secret_headers: Some(vec![header(TOKEN_HEADER, &token)]),
        enabled,
    };
    let stored = core::set_integration(&InstanceRef::Id(instance.id.clone()), &spec)
        .map_err(|e| core_error(&e))?;

    // Evolution answers the DTO it was given (with its defaults applied) and the
    // webhook URL; the token masked.
    let mut answer = Map::new();
    if let Value::Object(given) = &body {
        for key in DTO_KEYS {
            if let Some(v) = given.get(*key) {
                answer.insert(key.to_string(), v.clone());
            }
        }
    }
    answer.insert("token".into(), json!(MASK));
    answer.insert("nameInbox".into(), json!(name_inbox));
    answer.insert("accountId".into(), json!(account_id));
    if !sign_msg {
        answer.insert("signDelimiter".into(), Value::Null);
    }
    answer.insert(
        "webhook_url".into(),
        json!(webhook_url(&server_url, &instance.name, &stored)),
    );
    Ok(Value::Object(answer))
}

/// The fields of Evolution's `ChatwootDto` (what `set` echoes back).
const DTO_KEYS: &[&str] = &[
    "enabled",
    "accountId",
    "token",
    "url",
    "nameInbox",
    "signMsg",
    "signDelimiter",
    "number",
    "reopenConversation",
    "conversationPending",
    "mergeBrazilContacts",
    "importContacts",
    "importMessages",
    "daysLimitImportMessages",
    "autoCreate",
    "organization",
    "logo",
    "ignoreJids",
];

// ---- GET /chatwoot/find/{instanceName} --------------------------------------------

pub(crate) fn find(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let found = core::get_integration(&InstanceRef::Id(instance.id.clone()), SINK)
        .map_err(|e| core_error(&e))?;
    let Some(integration) = found else {
        // Evolution's answer when nothing is configured.
        return Ok(json(
            200,
            &json!({
                "enabled": false, "url": "", "accountId": "", "token": "",
                "signMsg": false, "nameInbox": "", "webhook_url": ""
            }),
        ));
    };
    let s: Value = serde_json::from_str(&integration.settings).unwrap_or(Value::Null);
    let get = |k: &str, default: Value| s.get(k).cloned().unwrap_or(default);
    let has_token = integration
        .secret_header_names
        .iter()
        .any(|n| n.eq_ignore_ascii_case(TOKEN_HEADER));
    let server = s
        .get("serverUrl")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| server_url(req));
    Ok(json(
        200,
        &json!({
            "enabled": integration.enabled,
            "accountId": get("accountId", json!("")),
            "token": if has_token { MASK } else { "" },
            "url": integration.url,
            "nameInbox": get("nameInbox", json!(instance.name)),
            "signMsg": get("signMsg", json!(false)),
            "signDelimiter": get("signDelimiter", Value::Null),
            "reopenConversation": get("reopenConversation", json!(false)),
            "conversationPending": get("conversationPending", json!(false)),
            "mergeBrazilContacts": get("mergeBrazilContacts", json!(false)),
            "importContacts": get("importContacts", json!(false)),
            "importMessages": get("importMessages", json!(false)),
            "daysLimitImportMessages": get("daysLimitImportMessages", json!(0)),
            "organization": get("organization", Value::Null),
            "logo": get("logo", Value::Null),
            "ignoreJids": get("ignoreJids", json!([])),
            "webhook_url": webhook_url(&server, &instance.name, &integration),
        }),
    ))
}

// ---- helpers ----------------------------------------------------------------------

/// `accountId`: required and not empty; a number is taken as its text (Chatwoot's
/// own UI shows it as a number).
fn account(body: &Value) -> Result<String, HttpResponse> {
    match body.get("accountId") {
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.to_string()),
        _ => input::req_str(body, "accountId"),
    }
}

/// A `["string", "null"]` field.
fn nullable_str(body: &Value, key: &str) -> Result<Option<String>, HttpResponse> {
    input::opt_str(body, key)
}

/// An optional array of strings.
fn string_list(body: &Value, key: &str) -> Result<Option<Vec<String>>, HttpResponse> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(&format!("{key}[{i}] is not of a type(s) string")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(bad(&format!("{key} is not of a type(s) array"))),
    }
}

/// This gateway's base URL as Chatwoot should call it: the `server_url` config, else
/// the scheme and `Host` of the request.
fn server_url(req: &Request) -> String {
    if let Some(s) = setting("server_url") {
        return s.trim_end_matches('/').to_string();
    }
    req.base_url()
}

/// Evolution's `webhook_url`, with the inbound secret Chatwoot must present.
fn webhook_url(server: &str, instance: &str, integration: &Integration) -> String {
    format!(
        "{}/chatwoot/webhook/{}?token={}",
        server.trim_end_matches('/'),
        encode(instance),
        encode(&integration.inbound_secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_accounts() {
        let v = json!({"ignoreJids": ["a", 1], "accountId": 7});
        assert!(string_list(&v, "ignoreJids").is_err());
        assert_eq!(account(&v).unwrap(), "7");
        assert!(account(&json!({"accountId": ""})).is_err());
        assert!(account(&json!({})).is_err());
    }
}
