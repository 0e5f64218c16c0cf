//! `/instance/*`: create, connect, connectionState, fetchInstances, restart, logout,
//! delete.

use serde::Serialize;
use serde_json::Value;
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{CreateOptions, ProxySettings};

use crate::input::{self, bad};
use crate::shape::{self, Style};
use crate::util::{self, iso};
use crate::{Cap, EVOLUTION_VERSION, Reply, core_error, guard, qr};
use wagate_plugin_sdk::time::now_ms;

/// Baileys is the only integration wagate speaks.
const INTEGRATION: &str = "WHATSAPP-BAILEYS";

/// Deletions allowed per key: (limit, window ms, what the error says).
const DELETE_LIMITS: [(u32, u64, &str); 2] = [
    (10, 60_000, "at most 10 deletions per minute"),
    (100, 3_600_000, "at most 100 deletions per hour"),
];

// ---- response bodies (field order as Evolution writes them) -------------------------

#[derive(Serialize)]
struct Status<'a> {
    status: &'a str,
    error: bool,
    response: Message<'a>,
}

#[derive(Serialize)]
struct Message<'a> {
    message: &'a str,
}

fn success(message: &str) -> HttpResponse {
    json(
        200,
        &Status {
            status: "SUCCESS",
            error: false,
            response: Message { message },
        },
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StateBody<'a> {
    instance: StateInner<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StateInner<'a> {
    instance_name: &'a str,
    state: &'a str,
}

fn state_body(name: &str, state: ConnectionState) -> HttpResponse {
    json(
        200,
        &StateBody {
            instance: StateInner {
                instance_name: name,
                state: util::state(state),
            },
        },
    )
}

/// Evolution's `wa.QrCode`: `pairingCode` is null when pairing by QR.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QrCodeBody {
    pairing_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base64: Option<String>,
    count: u32,
}

impl QrCodeBody {
    /// From core's answer; `None` when there is nothing to scan or type (connected).
    fn from_info(info: &wagate_plugin_sdk::types::ConnectInfo) -> Option<QrCodeBody> {
        if info.qr.is_none() && info.pair_code.is_none() {
            return None;
        }
        Some(QrCodeBody {
            // Baileys hands out the 8 characters without WhatsApp's display dash.
            pairing_code: info.pair_code.as_ref().map(|c| c.replace('-', "")),
            base64: info.qr.as_deref().and_then(qr::data_url),
            code: info.qr.clone(),
            count: 1,
        })
    }
}

// ---- GET / ----------------------------------------------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Welcome<'a> {
    status: u16,
    message: &'a str,
    version: &'a str,
    client_name: String,
    documentation: &'a str,
}

pub(crate) fn welcome() -> HttpResponse {
    json(
        200,
        &Welcome {
            status: 200,
            message: "Welcome to the Evolution API, it is working!",
            version: EVOLUTION_VERSION,
            client_name: client_name(),
            documentation: "/openapi.json",
        },
    )
}

fn client_name() -> String {
    util::setting("client_name").unwrap_or_else(|| "wagate".into())
}

// ---- POST /instance/create --------------------------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    instance: CreatedInstance,
    hash: String,
    webhook: WebhookEcho,
    websocket: Enabled,
    rabbitmq: Enabled,
    nats: Enabled,
    sqs: Enabled,
    settings: crate::settings::EvolutionSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    qrcode: Option<QrCodeBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chatwoot: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreatedInstance {
    instance_name: String,
    instance_id: String,
    integration: &'static str,
    webhook_wa_business: Option<String>,
    access_token_wa_business: &'static str,
    status: &'static str,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct WebhookEcho {
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_url: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_headers: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_by_events: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_base64: Option<Value>,
}

#[derive(Serialize, Default)]
struct Enabled {
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<Value>,
}

pub(crate) fn create(req: &Request) -> Reply {
    let Some(caller) = &req.caller else {
        return Err(shape::unauthorized(Style::Evolution));
    };
    // Only an org-wide key may create (Evolution's auth guard answers 401 to any
    // other); an org-wide key without `manage` lacks the right (403), whatever the body.
    if caller.instance.is_some() {
        return Err(shape::unauthorized(Style::Evolution));
    }
    if !caller.capabilities.contains(Capabilities::MANAGE) {
        return Err(crate::forbidden(Style::Evolution, Cap::Manage));
    }
    let body = input::body(req)?;
    let name = input::req_str(&body, "instanceName")?;
    // A caller-chosen token becomes the instance token (stored hashed, as a minted one).
    let token = input::opt_str(&body, "token")?.filter(|t| !t.is_empty());
    let integration = input::opt_str(&body, "integration")?;
    if integration.as_deref().is_some_and(|i| i != INTEGRATION) {
        return Err(bad("Invalid integration"));
    }
    let want_qr = input::opt_bool(&body, "qrcode")?.unwrap_or(false);
    let number = input::opt_str(&body, "number")?.filter(|n| !n.is_empty());
    let settings = crate::settings::from_body(&body, false)?;
    let brokers = crate::brokers::inline(&body)?;
    let proxy = inline_proxy(&body)?;

    // Evolution's create also configures the webhook (enabled unless it says not).
    let hook_spec = match body.get("webhook") {
        Some(v) if !v.is_null() => Some(crate::webhook::spec(&body, "webhook", Some(true))?),
        _ => None,
    };
    let chatwoot = inline_chatwoot(&body)?;
    // Evolution's create enables the websocket when the block is there (it ignores the
    // block's `enabled`); an explicit `enabled: false` is honoured here.
    let websocket = match body.get("websocket") {
        Some(v) if !v.is_null() => {
            Some(crate::websocket::settings(&body, "websocket", Some(true))?)
        }
        _ => None,
    };

    // Evolution's instanceLoggedGuard: a name in use is 403 before anything is made.
    if core::get_instance(&InstanceRef::Name(name.clone())).is_ok() {
        return Err(name_in_use(&name));
    }
    let options = CreateOptions {
        token: token.clone(),
        settings: Some(settings.clone()),
    };
    let created = match core::create_instance_with(&name, &options) {
        Ok(c) => c,
        Err(CoreError::Conflict(_)) if token.is_some() => {
            // The name was free a moment ago: the chosen token is what is taken.
            return Err(bad("This token is already in use"));
        }
        Err(CoreError::Conflict(_)) => return Err(name_in_use(&name)),
        Err(e) => return Err(core_error(&e)),
    };
    let instance = created.instance;
    // As Evolution does when any part of create fails: the instance goes again.
    let undo = |e: HttpResponse| {
        let _ = core::delete_instance(&InstanceRef::Id(instance.id.clone()));
        e
    };
    if let Some(spec) = hook_spec {
        crate::webhook::apply(&instance, spec).map_err(undo)?;
    }
    if let Some(settings) = &websocket {
        crate::websocket::apply(&instance, settings).map_err(undo)?;
    }
    for spec in &brokers {
        crate::brokers::apply(&instance.id, spec).map_err(undo)?;
    }
    // Before a `qrcode` connect below: the first connection already goes through it.
    if let Some(proxy) = &proxy {
        core::set_proxy(&InstanceRef::Id(instance.id.clone()), Some(proxy))
            .map_err(|e| match e {
                CoreError::Invalid(_) => crate::titled_error("Invalid proxy", &e),
                e => core_error(&e),
            })
            .map_err(undo)?;
    }
    let chatwoot = match chatwoot {
        Some(dto) => Some(chatwoot_answer(
            crate::chatwoot::configure(req, &instance, &dto).map_err(undo)?,
        )),
        None => None,
    };

    let mut status = util::state(instance.state);
    let mut qrcode = None;
    if want_qr {
        let which = InstanceRef::Id(instance.id.clone());
        match core::connect(&which, number.as_deref()) {
            Ok(info) => {
                status = util::state(info.state);
                qrcode = QrCodeBody::from_info(&info);
            }
            Err(e) => return Err(core_error(&e)),
        }
    }

    let hook = body.get("webhook");
    let pick = |k: &str| {
        hook.and_then(|h| h.get(k))
            .filter(|v| !v.is_null())
            .cloned()
    };
    let enabled = |k: &str| Enabled {
        enabled: body
            .get(k)
            .and_then(|v| v.get("enabled"))
            .filter(|v| !v.is_null())
            .cloned(),
    };
    Ok(json(
        201,
        &Created {
            instance: CreatedInstance {
                instance_name: instance.name,
                instance_id: instance.id,
                integration: INTEGRATION,
                webhook_wa_business: None,
                access_token_wa_business: "",
                status,
            },
            hash: created.token,
            webhook: WebhookEcho {
                webhook_url: pick("url"),
                webhook_headers: pick("headers"),
                webhook_by_events: pick("byEvents"),
                webhook_base64: pick("base64"),
            },
            websocket: enabled("websocket"),
            rabbitmq: enabled("rabbitmq"),
            nats: enabled("nats"),
            sqs: enabled("sqs"),
            settings: crate::settings::EvolutionSettings::from(&settings),
            qrcode,
            chatwoot,
        },
    ))
}

fn name_in_use(name: &str) -> HttpResponse {
    shape::evolution_msg(403, &format!("This name \"{name}\" is already in use."))
}

/// Create's flat proxy fields (`proxyHost`, `proxyPort`, `proxyProtocol`,
/// `proxyUsername`, `proxyPassword`); an empty `proxyHost` asks for none.
fn inline_proxy(body: &Value) -> Result<Option<ProxySettings>, HttpResponse> {
    let Some(host) = input::opt_str(body, "proxyHost")?.filter(|h| !h.trim().is_empty()) else {
        return Ok(None);
    };
    let protocol = crate::proxy::parse_protocol(&input::req_str(body, "proxyProtocol")?)?;
    Ok(Some(ProxySettings {
        enabled: true,
        protocol,
        host: host.trim().to_string(),
        port: crate::proxy::parse_port(body, "proxyPort")?,
        username: input::opt_str(body, "proxyUsername")?.filter(|u| !u.is_empty()),
        password: input::opt_str(body, "proxyPassword")?.filter(|p| !p.is_empty()),
    }))
}

/// Create's flat `chatwoot*` fields as a `ChatwootDto` for `chatwoot::configure`, when
/// the three Evolution needs (`chatwootAccountId`, `chatwootToken`, `chatwootUrl`)
/// are there; `None` otherwise (as Evolution, which then skips Chatwoot).
fn inline_chatwoot(body: &Value) -> Result<Option<Value>, HttpResponse> {
    let present = |k: &str| {
        body.get(k)
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
    };
    if !(present("chatwootAccountId") && present("chatwootToken") && present("chatwootUrl")) {
        return Ok(None);
    }
    let mut dto = serde_json::Map::new();
    dto.insert("enabled".into(), Value::Bool(true));
    for (flat, key) in [
        ("chatwootAccountId", "accountId"),
        ("chatwootToken", "token"),
        ("chatwootUrl", "url"),
        ("chatwootSignMsg", "signMsg"),
        ("chatwootReopenConversation", "reopenConversation"),
        ("chatwootConversationPending", "conversationPending"),
        ("chatwootNameInbox", "nameInbox"),
        ("chatwootMergeBrazilContacts", "mergeBrazilContacts"),
        ("chatwootImportContacts", "importContacts"),
        ("chatwootImportMessages", "importMessages"),
        ("chatwootDaysLimitImportMessages", "daysLimitImportMessages"),
        ("chatwootOrganization", "organization"),
        ("chatwootLogo", "logo"),
        ("chatwootAutoCreate", "autoCreate"),
        ("number", "number"),
    ] {
        if let Some(v) = body.get(flat).filter(|v| !v.is_null()) {
            dto.insert(key.into(), v.clone());
        }
    }
    // Evolution's create: these three must be booleans ("signMsg is required").
    for key in ["signMsg", "reopenConversation", "conversationPending"] {
        if !dto.get(key).is_some_and(Value::is_boolean) {
            return Err(bad(&format!("{key} is required")));
        }
    }
    Ok(Some(Value::Object(dto)))
}

/// Create's `chatwoot` block from what `chatwoot::configure` answers: Evolution's field
/// names there (`webhookUrl`), the token masked.
fn chatwoot_answer(mut configured: Value) -> Value {
    if let Some(obj) = configured.as_object_mut()
        && let Some(url) = obj.remove("webhook_url")
    {
        obj.insert("webhookUrl".into(), url);
    }
    configured
}

// ---- GET /instance/connect/{instanceName} ----------------------------------------

pub(crate) fn connect(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let which = InstanceRef::Id(instance.id);
    let state = core::connection_state(&which).map_err(|e| core_error(&e))?;
    if state == ConnectionState::Open {
        return Ok(state_body(name, state));
    }
    let number = req.query("number").filter(|n| !n.trim().is_empty());
    let info = core::connect(&which, number.as_deref()).map_err(|e| core_error(&e))?;
    Ok(match QrCodeBody::from_info(&info) {
        Some(qr) => json(200, &qr),
        None => state_body(name, info.state),
    })
}

// ---- GET /instance/connectionState/{instanceName} -------------------------------

pub(crate) fn connection_state(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let state =
        core::connection_state(&InstanceRef::Id(instance.id)).map_err(|e| core_error(&e))?;
    Ok(state_body(name, state))
}

// ---- POST /instance/restart/{instanceName} --------------------------------------

/// Evolution closes the socket and connects again, then answers as connect does. Here
/// core restarts the session (the link drops its connection and logs in again with
/// the stored keys): a paired instance answers its state (`connecting` while it logs
/// in again), one still pairing answers its new QR code. An instance that was never
/// paired or was logged out is "not connected", as in Evolution.
pub(crate) fn restart(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let which = InstanceRef::Id(instance.id);
    let restarted = match core::restart_instance(&which) {
        Ok(i) => i,
        Err(CoreError::NotConnected(_)) => {
            return Err(bad(&format!("The \"{name}\" instance is not connected")));
        }
        Err(e) => return Err(core_error(&e)),
    };
    if restarted.owner_jid.is_some() {
        return Ok(state_body(name, restarted.state));
    }
    let info = core::connect(&which, None).map_err(|e| core_error(&e))?;
    Ok(match QrCodeBody::from_info(&info) {
        Some(qr) => json(200, &qr),
        None => state_body(name, info.state),
    })
}

// ---- DELETE /instance/logout/{instanceName} ------------------------------------

pub(crate) fn logout(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let which = InstanceRef::Id(instance.id);
    let state = core::connection_state(&which).map_err(|e| core_error(&e))?;
    if state == ConnectionState::Disconnected {
        return Err(bad(&format!("The \"{name}\" instance is not connected")));
    }
    core::logout(&which).map_err(|e| core_error(&e))?;
    Ok(success("Instance logged out"))
}

// ---- DELETE /instance/delete/{instanceName} ------------------------------------

/// The spec's deletion process. Core's `delete-instance` does steps 2-8 as one
/// operation (log out if connected or connecting, commit the INSTANCE_DELETE event, then
/// remove the registry entry, every record and the files), so the event is out before
/// the data goes and a failure leaves the instance whole.
pub(crate) fn delete(req: &Request, name: &str) -> Reply {
    let style = Style::Delete;
    // 1. Validate: the key, the instance, the caller's right to it.
    // An instance's own token may delete it, as Evolution's guard allows: core decides,
    // from the principal `evolution-apikey` resolved (`instance_tokens_may_delete`).
    let instance = guard(req, name, style, Cap::Manage)?;
    // Rate limit per key, counted on validated requests only.
    for (limit, window, what) in DELETE_LIMITS {
        let d = core::rate_limit(&format!("instance-delete:{window}"), limit, window);
        if !d.allowed {
            return Err(too_many(what, d.reset_at));
        }
    }
    // 2-8.
    match core::delete_instance(&InstanceRef::Id(instance.id)) {
        Ok(_) => Ok(success("Instance deleted")),
        Err(CoreError::NotFound(_)) => Err(shape::instance_missing(style, name)),
        Err(CoreError::Forbidden(_)) => Err(shape::unauthorized(style)),
        Err(CoreError::Conflict(_)) => Err(shape::delete_error(
            400,
            &format!("The \"{name}\" instance is already being deleted"),
        )),
        Err(CoreError::RateLimited(ms)) => Err(too_many("slow down", ms)),
        Err(CoreError::Internal(m)) => Err(shape::delete_error(500, &m)),
        Err(e) => Err(shape::delete_error(
            400,
            &wagate_plugin_sdk::http::core_error_message(&e),
        )),
    }
}

/// 429 in the delete route's shape, with `retry-after`.
fn too_many(what: &str, reset_at_or_ms: u64) -> HttpResponse {
    let mut resp = shape::delete_error(429, &format!("Too many deletions: {what}"));
    let retry = retry_after_secs(reset_at_or_ms);
    resp.headers.push(header("retry-after", &retry.to_string()));
    resp
}

/// Seconds until `t`: `t` is an epoch-millisecond reset time, or (when it is small) a
/// duration in milliseconds.
fn retry_after_secs(t: u64) -> u64 {
    const EPOCH_2001_MS: u64 = 978_307_200_000;
    let ms = if t > EPOCH_2001_MS {
        t.saturating_sub(now_ms())
    } else {
        t
    };
    ms.div_ceil(1000).max(1)
}

// ---- GET /instance/fetchInstances ------------------------------------------------

/// One instance as Evolution's `fetchInstances` answers it (its Prisma `Instance` row
/// with the relations it includes), field order as Evolution writes it. Values wagate
/// does not have are null, never made up: `profileName` and `profilePicUrl` before
/// the first pairing, `businessId`, the disconnection fields,
/// `Rabbitmq`/`Nats`/`Sqs` (not built), `_count.Contact` (no contact store).
/// `Proxy` is the proxy as `/proxy/find` shows it (password masked), if one is set;
/// `Chatwoot` is the instance's Chatwoot integration, if any; `Websocket` its
/// websocket settings (as `/websocket/find`), if ever set.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fetched {
    id: String,
    name: String,
    connection_status: &'static str,
    owner_jid: Option<String>,
    profile_name: Option<String>,
    profile_pic_url: Option<String>,
    integration: &'static str,
    number: Option<String>,
    business_id: Option<String>,
    token: Option<String>,
    client_name: String,
    disconnection_reason_code: Option<u16>,
    disconnection_object: Option<Value>,
    disconnection_at: Option<String>,
    created_at: String,
    updated_at: String,
    #[serde(rename = "Chatwoot")]
    chatwoot: Option<Value>,
    #[serde(rename = "Proxy")]
    proxy: Option<Value>,
    #[serde(rename = "Rabbitmq")]
    rabbitmq: Option<Value>,
    #[serde(rename = "Nats")]
    nats: Option<Value>,
    #[serde(rename = "Sqs")]
    sqs: Option<Value>,
    #[serde(rename = "Websocket")]
    websocket: Option<Value>,
    #[serde(rename = "Setting")]
    setting: Option<Value>,
    #[serde(rename = "_count")]
    count: Counts,
}

#[derive(Serialize)]
struct Counts {
    #[serde(rename = "Message")]
    message: u64,
    #[serde(rename = "Contact")]
    contact: Option<u64>,
    #[serde(rename = "Chat")]
    chat: u64,
}

pub(crate) fn fetch(req: &Request) -> Reply {
    let Some(caller) = &req.caller else {
        return Err(shape::unauthorized(Style::Evolution));
    };
    let bound = caller.instance.is_some();
    let by_name = req.query("instanceName").filter(|s| !s.is_empty());
    let by_id = req.query("instanceId").filter(|s| !s.is_empty());
    let list = core::list_instances().map_err(|e| core_error(&e))?;
    let list: Vec<Instance> = list
        .into_iter()
        .filter(|i| by_name.as_deref().is_none_or(|n| i.name == n))
        .filter(|i| by_id.as_deref().is_none_or(|id| i.id == id))
        .collect();
    if list.is_empty() && (by_name.is_some() || by_id.is_some()) {
        // Evolution: a non-global key that matches nothing is unauthorized; the global
        // key gets "not found".
        if bound {
            return Err(shape::unauthorized(Style::Evolution));
        }
        let what = by_name.or(by_id).unwrap_or_default();
        return Err(shape::evolution_msg(
            404,
            &format!("Instance \"{what}\" not found"),
        ));
    }
    // Evolution answers each instance's stored token, and its clients call the
    // instance's routes with it. wagate keeps only hashes, so it answers the key this
    // request came with: it works for every instance listed (the global key reaches
    // them all; an instance token lists only its own instance). No secret is told
    // that the caller does not already hold.
    let token = req
        .header("apikey")
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    let client = client_name();
    let mut out = Vec::with_capacity(list.len());
    for i in list {
        let which = InstanceRef::Id(i.id.clone());
        let stats = core::get_instance_stats(&which).map_err(|e| core_error(&e))?;
        // This account's profile as last seen (no round trip to WhatsApp); none
        // before the first pairing.
        let profile = core::get_profile(&which, None).ok();
        out.push(Fetched {
            number: i
                .owner_jid
                .as_deref()
                .map(|j| j.split('@').next().unwrap_or(j).to_string()),
            chatwoot: chatwoot_row(&which, caller),
            setting: setting_row(&which, &i.id),
            websocket: crate::websocket::row_of(&which, &i.id),
            id: i.id,
            name: i.name,
            connection_status: util::state(i.state),
            owner_jid: i.owner_jid,
            profile_name: profile.as_ref().and_then(|p| p.name.clone()),
            profile_pic_url: profile.and_then(|p| p.picture_url),
            integration: INTEGRATION,
            business_id: None,
            token: token.clone(),
            client_name: client.clone(),
            disconnection_reason_code: None,
            disconnection_object: None,
            disconnection_at: None,
            created_at: iso(i.created_at),
            updated_at: iso(i.created_at),
            proxy: core::get_proxy(&which)
                .ok()
                .flatten()
                .map(|p| crate::proxy::row(&p)),
            rabbitmq: None,
            nats: None,
            sqs: None,
            count: Counts {
                message: stats.messages,
                contact: None,
                chat: stats.chats,
            },
        });
    }
    Ok(json(200, &out))
}

/// The instance's settings as Evolution's `Setting` row (the row's own id and
/// timestamps, which wagate does not keep, left out).
fn setting_row(which: &InstanceRef, instance_id: &str) -> Option<Value> {
    let settings = core::get_settings(which).ok()?;
    let mut row = serde_json::to_value(crate::settings::EvolutionSettings::from(&settings)).ok()?;
    row["instanceId"] = instance_id.into();
    Some(row)
}

/// The instance's Chatwoot integration as Evolution's `Chatwoot` row (token never
/// shown), for a caller who may read integrations (`manage`); else null.
fn chatwoot_row(which: &InstanceRef, caller: &Principal) -> Option<Value> {
    if !caller.capabilities.contains(Capabilities::MANAGE) {
        return None;
    }
    let integration = core::get_integration(which, "chatwoot").ok()??;
    let s: Value = serde_json::from_str(&integration.settings).unwrap_or(Value::Null);
    let get = |k: &str| s.get(k).cloned().unwrap_or(Value::Null);
    Some(serde_json::json!({
        "enabled": integration.enabled,
        "accountId": get("accountId"),
        "url": integration.url,
        "nameInbox": get("nameInbox"),
        "signMsg": get("signMsg"),
        "signDelimiter": get("signDelimiter"),
        "number": get("number"),
        "reopenConversation": get("reopenConversation"),
        "conversationPending": get("conversationPending"),
        "mergeBrazilContacts": get("mergeBrazilContacts"),
        "importContacts": get("importContacts"),
        "importMessages": get("importMessages"),
        "daysLimitImportMessages": get("daysLimitImportMessages"),
        "organization": get("organization"),
        "logo": get("logo"),
        "ignoreJids": get("ignoreJids"),
    }))
}
