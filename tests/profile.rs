//! The account's profile (issues 16 and 20): this account's name, about text and
//! picture, kept with the instance once paired and shown by Evolution's
//! `fetchProfile` and `fetchInstances`; changed by `updateProfileName` /
//! `updateProfileStatus` (and the native `PUT /core/instances/{i}/profile`), which
//! reach the link (the sim records them); a contact's profile read from WhatsApp.

use crate::common;

use common::Gateway;
use common::evolution::{evo_json, open_instance};
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-profile";
const PEER: &str = "5511955554444";
const PEER_JID: &str = "5511955554444@s.whatsapp.net";

fn post(gw: &Gateway, path: &str, key: &str, body: Value) -> (u16, Value) {
    evo_json(gw, "POST", path, Some(key), Some(body))
}

fn actions(gw: &Gateway, name: &str) -> Vec<String> {
    let (s, v) = gw.admin("GET", &format!("/admin/sim/{name}/actions"), None);
    assert_eq!(s, 200, "{v}");
    serde_json::from_value(v).unwrap()
}

#[test]
fn evolution_reads_and_changes_the_accounts_profile() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let name = "profiled";
    let hash = open_instance(&gw, GLOBAL_KEY, name);

    // This account: its push name and picture as the session saw them when it opened.
    let (s, own) = post(&gw, &format!("/chat/fetchProfile/{name}"), &hash, json!({}));
    assert_eq!(s, 200, "{own}");
    let owner = own["wuid"].as_str().unwrap().to_string();
    assert!(owner.ends_with("@s.whatsapp.net"), "{own}");
    assert_eq!(own["name"], "wagate sim");
    assert_eq!(own["numberExists"], true);
    assert_eq!(
        own["status"], "open",
        "Evolution answers the connection state"
    );
    assert!(
        own["picture"].as_str().unwrap().starts_with("https://"),
        "{own}"
    );
    assert_eq!(own["isBusiness"], false);

    // Changing the name and the about text reaches the link and the kept profile.
    let (s, v) = post(
        &gw,
        &format!("/chat/updateProfileName/{name}"),
        &hash,
        json!({"name": "Loja Centro"}),
    );
    assert_eq!((s, v), (200, json!({"update": "success"})));
    let (s, v) = post(
        &gw,
        &format!("/chat/updateProfileStatus/{name}"),
        &hash,
        json!({"status": "Open 9-18"}),
    );
    assert_eq!((s, v), (200, json!({"update": "success"})));
    let wire = actions(&gw, name);
    assert!(
        wire.contains(&"profile-name Loja Centro".to_string()),
        "{wire:?}"
    );
    assert!(
        wire.contains(&"profile-status Open 9-18".to_string()),
        "{wire:?}"
    );
    let (_, own) = post(&gw, &format!("/chat/fetchProfile/{name}"), &hash, json!({}));
    assert_eq!(own["name"], "Loja Centro");
    let (s, list) = evo_json(
        &gw,
        "GET",
        &format!("/instance/fetchInstances?instanceName={name}"),
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{list}");
    assert_eq!(list[0]["profileName"], "Loja Centro");
    assert_eq!(list[0]["profilePicUrl"], own["picture"]);
    let (s, native) = gw.call(
        "GET",
        &format!("/core/instances/{name}/profile"),
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{native}");
    assert_eq!(native["jid"], owner);
    assert_eq!(native["status"], "Open 9-18");

    // Refused changes: Evolution's error shape, nothing sent, nothing kept.
    for (path, body, says) in [
        ("updateProfileName", json!({"name": "x".repeat(26)}), "25"),
        (
            "updateProfileName",
            json!({"name": "  "}),
            "name cannot be empty",
        ),
        ("updateProfileName", json!({}), "name"),
        (
            "updateProfileStatus",
            json!({"status": "y".repeat(140)}),
            "139",
        ),
    ] {
        let (s, v) = post(&gw, &format!("/chat/{path}/{name}"), &hash, body.clone());
        assert_eq!(s, 400, "{path} {body}: {v}");
        assert!(v.to_string().contains(says), "{path}: {v}");
    }
    assert!(!actions(&gw, name).iter().any(|a| a.contains("xxxx")));
    let (_, own) = post(&gw, &format!("/chat/fetchProfile/{name}"), &hash, json!({}));
    assert_eq!(own["name"], "Loja Centro");

    // A contact: their about text and picture from WhatsApp, their push name from the
    // message they sent.
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/inbound"),
        Some(json!({"from": PEER, "text": "oi", "pushName": "Ana"})),
    );
    assert_eq!(s, 201, "{v}");
    let (s, them) = post(
        &gw,
        &format!("/chat/fetchProfile/{name}"),
        &hash,
        json!({"number": PEER}),
    );
    assert_eq!(s, 200, "{them}");
    assert_eq!(them["wuid"], PEER_JID);
    assert_eq!(them["name"], "Ana");
    assert_eq!(them["status"], "Hey there! I am using WhatsApp.");
    assert!(them["picture"].is_string(), "{them}");
    // Not on WhatsApp (the sim's numbers ending in 0000): 400 with the check's answer.
    let (s, v) = post(
        &gw,
        &format!("/chat/fetchProfile/{name}"),
        &hash,
        json!({"number": "5511900000000"}),
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["response"]["message"][0]["exists"], false, "{v}");
}

#[test]
fn the_profile_is_the_owners_and_unknown_before_pairing() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let key = gw.key("default", None);
    let (_, token) = gw.instance(&key, "fresh");
    // Never paired: no profile to show, and fetchInstances says null.
    let (s, v) = gw.call("GET", "/core/instances/fresh/profile", Some(&token), None);
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["error"]["code"], "not_connected");
    let (_, list) = evo_json(
        &gw,
        "GET",
        "/instance/fetchInstances?instanceName=fresh",
        Some(GLOBAL_KEY),
        None,
    );
    assert!(list[0]["profileName"].is_null(), "{list}");

    gw.connected_instance(&key, "paired");
    let reader = gw.key("default", Some(&["read"]));
    let (s, v) = gw.call("GET", "/core/instances/paired/profile", Some(&reader), None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "wagate sim");
    // A read-only key cannot change it; another org cannot see it.
    let (s, _) = gw.call(
        "PUT",
        "/core/instances/paired/profile",
        Some(&reader),
        Some(json!({"name": "Hijack"})),
    );
    assert_eq!(s, 403);
    let other = gw.org_with_key("elsewhere", None);
    let (s, _) = gw.call("GET", "/core/instances/paired/profile", Some(&other), None);
    assert_eq!(s, 404);
    // Another instance's token: Evolution's 401.
    let (s, _) = post(&gw, "/chat/fetchProfile/paired", &token, json!({}));
    assert_eq!(s, 401);
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/paired/profile",
        Some(&key),
        Some(json!({})),
    );
    assert_eq!(s, 400, "{v}");
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/paired/profile",
        Some(&key),
        Some(json!({"name": "Shop"})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "Shop");
    assert!(
        !actions(&gw, "paired").iter().any(|a| a.contains("Hijack")),
        "{:?}",
        actions(&gw, "paired")
    );
}
