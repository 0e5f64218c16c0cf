//! `/instance/*`: create, connect, connectionState, fetchInstances, restart, logout,
//! delete.

use serde::Serialize;
use serde_json::Value;
use wagate_plugin_sdk::prelude::*;

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

pub fn welcome() -> HttpResponse {
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
    settings: Settings,
    #[serde(skip_serializing_if = "Option::is_none")]
    qrcode: Option<QrCodeBody>,
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    reject_call: bool,
    msg_call: String,
    groups_ignore: bool,
    always_online: bool,
    read_messages: bool,
    read_status: bool,
    sync_full_history: bool,
    wavoip_token: String,
}

pub fn create(req: &Request) -> Reply {
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
    if let Some(token) = input::opt_str(&body, "token")?
        && !token.is_empty()
    {
        return Err(bad(
            "a custom \"token\" is not supported: wagate mints the instance token and returns it as \"hash\"",
        ));
    }
    let integration = input::opt_str(&body, "integration")?;
    if integration.as_deref().is_some_and(|i| i != INTEGRATION) {
        return Err(bad("Invalid integration"));
    }
    let want_qr = input::opt_bool(&body, "qrcode")?.unwrap_or(false);
    let number = input::opt_str(&body, "number")?.filter(|n| !n.is_empty());
    let flag = |k: &str| input::opt_bool(&body, k).map(|b| b.unwrap_or(false));
    let settings = Settings {
        reject_call: flag("rejectCall")?,
        msg_call: input::opt_str(&body, "msgCall")?.unwrap_or_default(),
        groups_ignore: flag("groupsIgnore")?,
        always_online: flag("alwaysOnline")?,
        read_messages: flag("readMessages")?,
        read_status: flag("readStatus")?,
        sync_full_history: flag("syncFullHistory")?,
        wavoip_token: input::opt_str(&body, "wavoipToken")?.unwrap_or_default(),
    };

    // Evolution's create also configures the webhook (enabled unless it says not).
    let hook_spec = match body.get("webhook") {
        Some(v) if !v.is_null() => Some(crate::webhook::spec(&body, "webhook", Some(true))?),
        _ => None,
    };

    let created = match core::create_instance(&name) {
        Ok(c) => c,
        // Evolution's instanceLoggedGuard.
        Err(CoreError::Conflict(_)) => {
            return Err(shape::evolution_msg(
                403,
                &format!("This name \"{name}\" is already in use."),
            ));
        }
        // Only an org-wide key may create: Evolution's auth guard answers 401.
        Err(e) => return Err(core_error(&e)),
    };
    let instance = created.instance;
    if let Some(spec) = hook_spec
        && let Err(e) = crate::webhook::apply(&instance, spec)
    {
        // As Evolution does when any part of create fails: the instance goes again.
        let _ = core::delete_instance(&InstanceRef::Id(instance.id.clone()));
        return Err(e);
    }

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
            settings,
            qrcode,
        },
    ))
}

// ---- GET /instance/connect/{instanceName} ----------------------------------------

pub fn connect(req: &Request, name: &str) -> Reply {
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

pub fn connection_state(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let state =
        core::connection_state(&InstanceRef::Id(instance.id)).map_err(|e| core_error(&e))?;
    Ok(state_body(name, state))
}

// ---- POST /instance/restart/{instanceName} --------------------------------------

/// Evolution closes the socket and connects again. Core has no restart: a session that
/// is up (or reconnecting by itself) is left as it is and answered as a connect would
/// be; a session that was never paired or was logged out is "not connected", as in
/// Evolution.
pub fn restart(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let which = InstanceRef::Id(instance.id);
    let state = core::connection_state(&which).map_err(|e| core_error(&e))?;
    if state == ConnectionState::Disconnected {
        return Err(bad(&format!("The \"{name}\" instance is not connected")));
    }
    if state == ConnectionState::Open {
        return Ok(state_body(name, state));
    }
    let info = core::connect(&which, None).map_err(|e| core_error(&e))?;
    Ok(match QrCodeBody::from_info(&info) {
        Some(qr) => json(200, &qr),
        None => state_body(name, info.state),
    })
}

// ---- DELETE /instance/logout/{instanceName} ------------------------------------

pub fn logout(req: &Request, name: &str) -> Reply {
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
pub fn delete(req: &Request, name: &str) -> Reply {
    let style = Style::Delete;
    // 1. Validate: the key, the instance, the caller's right to it.
    let instance = guard(req, name, style, Cap::Manage)?;
    if req.caller.as_ref().is_some_and(|c| c.instance.is_some()) {
        // An instance token never deletes (core refuses it too): "no permission".
        return Err(shape::unauthorized(style));
    }
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
    client_name: String,
    created_at: String,
    updated_at: String,
}

pub fn fetch(req: &Request) -> Reply {
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
    let client = client_name();
    let out: Vec<Fetched> = list
        .into_iter()
        .map(|i| Fetched {
            number: i
                .owner_jid
                .as_deref()
                .map(|j| j.split('@').next().unwrap_or(j).to_string()),
            id: i.id,
            name: i.name,
            connection_status: util::state(i.state),
            owner_jid: i.owner_jid,
            profile_name: None,
            profile_pic_url: None,
            integration: INTEGRATION,
            business_id: None,
            client_name: client.clone(),
            created_at: iso(i.created_at),
            updated_at: iso(i.created_at),
        })
        .collect();
    Ok(json(200, &out))
}
