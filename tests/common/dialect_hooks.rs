//! One connected instance in the default org with a webhook of each dialect pointing
//! at one receiver (`<rx>/evolution`, `<rx>/ryze`, `<rx>/v1`): the setup of every test
//! that checks how the three dialects report the same event.

use super::Gateway;
use super::receiver::{Received, Receiver};

/// What [`hook_all_dialects`] set up.
pub struct Hooked {
    /// The instance's id (sessions/v1's session id).
    pub id: String,
    /// A native/sessions-v1 api key of the default org.
    pub bearer: String,
    /// A RyzeAPI account token of the default org.
    pub account: String,
}

/// Creates and connects instance `name` in the default org (the gateway must run with
/// Evolution's global key `global_key`) and hooks each dialect's webhook to `rx`:
/// Evolution's to `evolution_events`, sessions/v1's and RyzeAPI's to `v1_events` and
/// `ryze_events` (empty: every event).
pub fn hook_all_dialects(
    gw: &Gateway,
    rx: &Receiver,
    global_key: &str,
    name: &str,
    evolution_events: &[&str],
    v1_events: &[&str],
    ryze_events: &[&str],
) -> Hooked {
    let bearer = gw.credential("default", "api-key");
    let account = gw.credential("default", "ryze-account");
    let (instance, _) = gw.connected_instance(&bearer, name);
    let id = instance["id"].as_str().expect("instance id").to_string();
    super::evolution::set_webhook(gw, global_key, name, &rx.url("evolution"), evolution_events);
    super::v1::set_webhook(gw, &bearer, &id, &rx.url("v1"), v1_events);
    super::ryze::set_webhook(gw, &account, name, &rx.url("ryze"), ryze_events);
    Hooked {
        id,
        bearer,
        account,
    }
}

/// The bodies one dialect's webhook got (`dialect`: `evolution`, `ryze` or `v1`).
pub fn bodies_of<'a>(got: &'a [Received], dialect: &str) -> Vec<&'a serde_json::Value> {
    let path = format!("/{dialect}");
    got.iter()
        .filter(|r| r.path == path)
        .map(|r| &r.body)
        .collect()
}
