//! `POST /websocket/set/{instanceName}` and `GET /websocket/find/{instanceName}`:
//! which of the instance's events the gateway's Socket.IO server emits on the
//! instance's namespace `/{instanceName}` (Evolution's websocket integration; the
//! server itself is the host's, see the README's "Socket.IO").
//!
//! Stored by core (`core.set-socketio`), not in this plugin's `storage`: the host
//! filters every live event on them, in core's event kinds, as it does for webhooks.
//! Evolution's names map onto kinds as for the webhook (see webhook.rs); names wagate
//! never emits are accepted and not answered back, as there.
//!
//! As in Evolution: `enabled` is required; `enabled: false` stores no events; an empty
//! or absent `events` with `enabled: true` means every event. The answer is Evolution's
//! row `{id, enabled, events, createdAt, updatedAt, instanceId}`; `find` answers `null`
//! for an instance never set.

use serde::Serialize;
use serde_json::Value;
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::SocketioSettings;

use crate::input::{self, bad};
use crate::shape::Style;
use crate::util::iso;
use crate::webhook::{kinds_of, names_of};
use crate::{Cap, Reply, core_error, guard};

/// Evolution's stored `Websocket` row.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    id: String,
    enabled: bool,
    events: Vec<&'static str>,
    created_at: String,
    updated_at: String,
    instance_id: String,
}

fn row(s: &SocketioSettings, instance_id: &str) -> Row {
    Row {
        // One row per instance: the instance's id names it.
        id: format!("ws_{instance_id}"),
        enabled: s.enabled,
        events: names_of(s.enabled, &s.events),
        created_at: iso(s.created_at),
        updated_at: iso(s.updated_at),
        instance_id: instance_id.to_string(),
    }
}

/// Reads Evolution's `websocket` object (`{enabled, events?}`) at `prefix`;
/// `default_enabled` stands in for a missing `enabled` (create's inline block).
pub(crate) fn settings(
    v: &Value,
    prefix: &str,
    default_enabled: Option<bool>,
) -> Result<SocketioSettings, HttpResponse> {
    let path = |k: &str| format!("{prefix}.{k}");
    let enabled = match default_enabled {
        Some(d) => input::opt_bool(v, &path("enabled"))?.unwrap_or(d),
        None => input::req_bool(v, &path("enabled"))?,
    };
    let events = v
        .get(prefix)
        .and_then(|b| b.get("events"))
        .filter(|e| !e.is_null());
    let kinds = kinds_of(events, &path("events"))?;
    Ok(SocketioSettings {
        enabled,
        // Evolution stores no events for a disabled websocket.
        events: if enabled { kinds } else { Vec::new() },
        created_at: 0,
        updated_at: 0,
    })
}

/// The instance's settings as Evolution's `Websocket` row (fetchInstances), if set.
pub(crate) fn row_of(which: &InstanceRef, instance_id: &str) -> Option<Value> {
    let stored = core::get_socketio(which).ok()??;
    serde_json::to_value(row(&stored, instance_id)).ok()
}

/// Stores the instance's settings; the answer in Evolution's row shape.
pub(crate) fn apply(
    instance: &Instance,
    settings: &SocketioSettings,
) -> Result<Value, HttpResponse> {
    let stored = core::set_socketio(&InstanceRef::Id(instance.id.clone()), settings)
        .map_err(|e| core_error(&e))?;
    serde_json::to_value(row(&stored, &instance.id))
        .map_err(|e| crate::shape::evolution_msg(500, &e.to_string()))
}

// ---- POST /websocket/set/{instanceName} -------------------------------------------

pub(crate) fn set(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let body = input::body(req)?;
    match body.get("websocket") {
        None | Some(Value::Null) => {
            return Err(bad("instance requires property \"websocket\""));
        }
        Some(Value::Object(_)) => {}
        Some(_) => return Err(bad("websocket is not of a type(s) object")),
    }
    let settings = settings(&body, "websocket", None)?;
    Ok(json(201, &apply(&instance, &settings)?))
}

// ---- GET /websocket/find/{instanceName} -------------------------------------------

pub(crate) fn find(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let stored =
        core::get_socketio(&InstanceRef::Id(instance.id.clone())).map_err(|e| core_error(&e))?;
    Ok(match stored {
        Some(s) => json(200, &row(&s, &instance.id)),
        None => json(200, &Value::Null),
    })
}
