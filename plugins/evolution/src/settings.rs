//! The instance settings, to Evolution's `SettingsDto` and answers:
//!
//! - `POST /settings/set/{instanceName} {rejectCall, msgCall?, groupsIgnore,
//!   alwaysOnline, readMessages, readStatus, syncFullHistory, wavoipToken?}` (the six
//!   switches required, as its JSON schema says) -> 201 `{settings: {instanceName,
//!   settings: {...}}}`.
//! - `GET /settings/find/{instanceName}` -> the settings object.
//! - `instance/create` takes the same fields flat in its body (all optional there).
//!
//! The core acts on them (see `host/src/core/settings.rs`). `wavoipToken` (a
//! third-party calling service Evolution can attach) is not served: a non-empty one
//! is refused by name, never stored and ignored.

use serde::Serialize;
use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::InstanceSettings;

use crate::input::{self, bad};
use crate::shape::Style;
use crate::{Cap, Reply, core_error, guard};

/// The switches Evolution's `settingsSchema` requires on `/settings/set`.
const REQUIRED: [&str; 6] = [
    "rejectCall",
    "groupsIgnore",
    "alwaysOnline",
    "readMessages",
    "readStatus",
    "syncFullHistory",
];

/// Evolution's settings object (its `Setting` row without the row's own ids).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EvolutionSettings {
    reject_call: bool,
    msg_call: String,
    groups_ignore: bool,
    always_online: bool,
    read_messages: bool,
    read_status: bool,
    sync_full_history: bool,
    wavoip_token: String,
}

impl From<&InstanceSettings> for EvolutionSettings {
    fn from(s: &InstanceSettings) -> Self {
        EvolutionSettings {
            reject_call: s.reject_calls,
            msg_call: s.call_reply.clone().unwrap_or_default(),
            groups_ignore: s.ignore_groups,
            always_online: s.always_online,
            read_messages: s.read_messages,
            read_status: s.read_status,
            sync_full_history: s.sync_full_history,
            wavoip_token: String::new(),
        }
    }
}

/// The settings in `body`'s flat fields. On `/settings/set` the six switches are
/// required; on `instance/create` each defaults to off.
pub(crate) fn from_body(body: &Value, required: bool) -> Result<InstanceSettings, HttpResponse> {
    let flag = |k: &str| -> Result<bool, HttpResponse> {
        if required {
            input::req_bool(body, k)
        } else {
            input::opt_bool(body, k).map(|b| b.unwrap_or(false))
        }
    };
    let settings = InstanceSettings {
        reject_calls: flag("rejectCall")?,
        call_reply: input::opt_str(body, "msgCall")?.filter(|m| !m.trim().is_empty()),
        ignore_groups: flag("groupsIgnore")?,
        always_online: flag("alwaysOnline")?,
        read_messages: flag("readMessages")?,
        read_status: flag("readStatus")?,
        sync_full_history: flag("syncFullHistory")?,
    };
    if input::opt_str(body, "wavoipToken")?.is_some_and(|t| !t.is_empty()) {
        return Err(bad(
            "wavoipToken: calls through Wavoip are not supported by this gateway; leave it empty",
        ));
    }
    Ok(settings)
}

/// `POST /settings/set/{instanceName}`.
pub(crate) fn set(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let body = input::body(req)?;
    if !body.is_object() {
        return Err(bad("instance is not of a type(s) object"));
    }
    // Evolution's schema reports the first missing switch by name.
    if let Some(missing) = REQUIRED.iter().find(|k| body.get(**k).is_none()) {
        return Err(bad(&format!("instance requires property \"{missing}\"")));
    }
    let settings = from_body(&body, true)?;
    let saved =
        core::set_settings(&InstanceRef::Id(instance.id), &settings).map_err(|e| core_error(&e))?;
    Ok(json(
        201,
        &json!({
            "settings": {
                "instanceName": instance.name,
                "settings": EvolutionSettings::from(&saved),
            }
        }),
    ))
}

/// `GET /settings/find/{instanceName}`.
pub(crate) fn find(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Read)?;
    let settings = core::get_settings(&InstanceRef::Id(instance.id)).map_err(|e| core_error(&e))?;
    Ok(json(200, &EvolutionSettings::from(&settings)))
}
