//! Issue 17, per-instance settings: stored with the instance, read and written through
//! every dialect, and acted on. A call is declined and its caller texted; a group
//! message is dropped; a contact's message is read as it arrives; the account shows
//! online when asked; the full history is asked for at pairing. Calls reach webhooks
//! in each dialect's envelope (Evolution `CALL`, RyzeAPI `call.update`, sessions/v1
//! `call.received`). What the session put on the wire is what the sim recorded
//! (`GET /admin/sim/{i}/actions`).

use std::time::{Duration, Instant};

use crate::common;

use common::Gateway;
use common::evolution::{evo_json, open_instance};
use common::receiver::{Received, Receiver};
use common::ryze::ryze_json;
use common::v1::v1;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-settings";
const CALLER: &str = "5511977776666";
const CALLER_JID: &str = "5511977776666@s.whatsapp.net";

fn actions(gw: &Gateway, name: &str) -> Vec<String> {
    let (s, v) = gw.admin("GET", &format!("/admin/sim/{name}/actions"), None);
    assert_eq!(s, 200, "{v}");
    serde_json::from_value(v).unwrap()
}

fn wait_action(gw: &Gateway, name: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !actions(gw, name).iter().any(|a| a == want) {
        assert!(
            Instant::now() < deadline,
            "no `{want}` in {:?}",
            actions(gw, name)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn call(gw: &Gateway, name: &str, from: &str) -> Value {
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/call"),
        Some(json!({"from": from, "video": true})),
    );
    assert_eq!(s, 201, "{v}");
    v
}

fn evo(gw: &Gateway, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    evo_json(gw, method, path, Some(key), body)
}

/// Every switch on, through Evolution's `/settings/set`.
fn all_on() -> Value {
    json!({
        "rejectCall": true, "msgCall": "I cannot take calls here, please write.",
        "groupsIgnore": true, "alwaysOnline": true, "readMessages": true,
        "readStatus": true, "syncFullHistory": false, "wavoipToken": ""
    })
}

#[test]
fn evolution_settings_round_trip_and_act_on_calls_groups_reads_and_presence() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "settings";
    let hash = open_instance(&gw, GLOBAL_KEY, name);
    common::evolution::set_webhook(
        &gw,
        GLOBAL_KEY,
        name,
        &rx.url("evolution"),
        &["CALL", "MESSAGES_UPSERT"],
    );

    // A new instance has every switch off.
    let (s, v) = evo(&gw, "GET", &format!("/settings/find/{name}"), &hash, None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"rejectCall": false, "msgCall": "", "groupsIgnore": false, "alwaysOnline": false,
               "readMessages": false, "readStatus": false, "syncFullHistory": false, "wavoipToken": ""})
    );
    // Off: a call is only reported, a group message stored, nothing read.
    let before = call(&gw, name, CALLER);
    assert_eq!(before["rejected"], false);
    let group_msg = gw.inbound(name, "120363000000000042@g.us", "hi group", false);
    assert!(!group_msg.is_empty());
    assert!(
        !actions(&gw, name)
            .iter()
            .any(|a| a.starts_with("reject-call") || a.starts_with("read ")),
        "{:?}",
        actions(&gw, name)
    );

    // Set them: 201 in Evolution's shape.
    let (s, v) = evo(
        &gw,
        "POST",
        &format!("/settings/set/{name}"),
        &hash,
        Some(all_on()),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["settings"]["instanceName"], name);
    assert_eq!(v["settings"]["settings"]["rejectCall"], true);
    assert_eq!(
        v["settings"]["settings"]["msgCall"],
        "I cannot take calls here, please write."
    );
    let (s, found) = evo(&gw, "GET", &format!("/settings/find/{name}"), &hash, None);
    assert_eq!(s, 200);
    assert_eq!(found, all_on());
    // The session is open: always online shows at once.
    wait_action(&gw, name, "available");
    // fetchInstances carries them as its `Setting` row.
    let (s, list) = evo(
        &gw,
        "GET",
        &format!("/instance/fetchInstances?instanceName={name}"),
        GLOBAL_KEY,
        None,
    );
    assert_eq!(s, 200, "{list}");
    assert_eq!(list[0]["Setting"]["rejectCall"], true);
    assert_eq!(list[0]["Setting"]["groupsIgnore"], true);
    assert_eq!(list[0]["Setting"]["instanceId"], list[0]["id"]);

    // A call: declined on the wire, reported as CALL, and the caller texted.
    let offered = call(&gw, name, CALLER);
    assert_eq!(offered["rejected"], true, "{offered}");
    let id = offered["id"].as_str().unwrap().to_string();
    assert!(
        actions(&gw, name).contains(&format!("reject-call {id} {CALLER_JID}")),
        "{:?}",
        actions(&gw, name)
    );
    let got = rx.wait_until("the CALL event and the reply", |r| {
        r.body["event"] == "MESSAGES_UPSERT"
            && r.body["data"]["message"]["conversation"]
                == "I cannot take calls here, please write."
    });
    let calls: Vec<&Received> = got.iter().filter(|r| r.body["event"] == "CALL").collect();
    assert_eq!(calls.len(), 2, "one CALL per call: {calls:?}");
    let data = &calls[1].body["data"];
    assert_eq!(data["id"], id);
    assert_eq!(data["from"], CALLER_JID);
    assert_eq!(data["chatId"], CALLER_JID);
    assert_eq!(data["status"], "offer");
    assert_eq!(data["isVideo"], true);
    assert_eq!(data["isGroup"], false);
    assert_eq!(calls[1].body["instance"], name);
    // The reply is a stored message of the caller's chat.
    let (s, page) = evo(
        &gw,
        "POST",
        &format!("/chat/findMessages/{name}"),
        &hash,
        Some(json!({"where": {"key": {"remoteJid": CALLER_JID}}})),
    );
    assert_eq!(s, 200, "{page}");
    assert!(
        page.to_string().contains("I cannot take calls here"),
        "{page}"
    );

    // A group message is neither stored nor reported; a contact's is read at once.
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/inbound"),
        Some(json!({"from": "120363000000000042@g.us", "text": "ignored"})),
    );
    assert_eq!((s, v["ignored"].clone()), (202, json!(true)), "{v}");
    let (_, page) = evo(
        &gw,
        "POST",
        &format!("/chat/findMessages/{name}"),
        &hash,
        Some(json!({"where": {"key": {"remoteJid": "120363000000000042@g.us"}}})),
    );
    assert!(!page.to_string().contains("\"ignored\""), "{page}");
    let read = gw.inbound(name, CALLER, "are you there?", false);
    assert!(
        actions(&gw, name).contains(&format!("read {CALLER_JID} {read}")),
        "{:?}",
        actions(&gw, name)
    );
    // The account's own messages (from the phone) are not "read".
    let own = gw.inbound(name, CALLER, "from my phone", true);
    assert!(!actions(&gw, name).iter().any(|a| a.contains(&own)));

    // Bad input, in Evolution's shape; nothing changes.
    for (body, says) in [
        (
            json!({"rejectCall": true, "groupsIgnore": true, "alwaysOnline": true, "readMessages": true, "syncFullHistory": false}),
            "instance requires property \"readStatus\"",
        ),
        (
            json!({"rejectCall": "yes", "groupsIgnore": true, "alwaysOnline": true, "readMessages": true, "readStatus": true, "syncFullHistory": false}),
            "rejectCall",
        ),
        (
            json!({"rejectCall": false, "groupsIgnore": false, "alwaysOnline": false, "readMessages": false, "readStatus": false, "syncFullHistory": false, "wavoipToken": "wv"}),
            "wavoipToken",
        ),
        (
            json!({"rejectCall": true, "msgCall": "x".repeat(5000), "groupsIgnore": true, "alwaysOnline": true, "readMessages": true, "readStatus": true, "syncFullHistory": false}),
            "4096",
        ),
    ] {
        let (s, v) = evo(
            &gw,
            "POST",
            &format!("/settings/set/{name}"),
            &hash,
            Some(body.clone()),
        );
        assert_eq!(s, 400, "{body}: {v}");
        assert_eq!(v["status"], 400, "{v}");
        assert!(
            v["response"]["message"][0].as_str().unwrap().contains(says),
            "{v}"
        );
    }
    let (_, still) = evo(&gw, "GET", &format!("/settings/find/{name}"), &hash, None);
    assert_eq!(still, all_on());

    // Turning a switch off stops its effect.
    let mut off = all_on();
    off["rejectCall"] = json!(false);
    off["msgCall"] = json!("");
    let (s, _) = evo(
        &gw,
        "POST",
        &format!("/settings/set/{name}"),
        &hash,
        Some(off),
    );
    assert_eq!(s, 201);
    let later = call(&gw, name, CALLER);
    assert_eq!(later["rejected"], false);
    let later_id = later["id"].as_str().unwrap();
    assert!(!actions(&gw, name).iter().any(|a| a.contains(later_id)));
}

#[test]
fn settings_are_the_owners_alone() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let mine = open_instance(&gw, GLOBAL_KEY, "mine");
    let _theirs = open_instance(&gw, GLOBAL_KEY, "theirs");
    // Another instance's token: Evolution's 401, and nothing is changed.
    let (s, v) = evo(&gw, "POST", "/settings/set/theirs", &mine, Some(all_on()));
    assert_eq!(s, 401, "{v}");
    let (s, _) = evo(&gw, "GET", "/settings/find/theirs", &mine, None);
    assert_eq!(s, 401);
    let (_, v) = evo(&gw, "GET", "/settings/find/theirs", GLOBAL_KEY, None);
    assert_eq!(v["rejectCall"], false);

    // Another org's key cannot reach them natively; a read-only key cannot change them.
    let other = gw.org_with_key("other-org", None);
    let (s, _) = gw.call("GET", "/core/instances/mine/settings", Some(&other), None);
    assert_eq!(s, 404);
    let reader = gw.key("default", Some(&["read"]));
    let (s, v) = gw.call("GET", "/core/instances/mine/settings", Some(&reader), None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["reject_calls"], false);
    let (s, _) = gw.call(
        "PUT",
        "/core/instances/mine/settings",
        Some(&reader),
        Some(json!({"reject_calls": true})),
    );
    assert_eq!(s, 403);
    let (_, v) = gw.call("GET", "/core/instances/mine/settings", Some(&reader), None);
    assert_eq!(v["reject_calls"], false);
}

#[test]
fn create_takes_the_settings_inline_and_full_history_is_asked_at_pairing() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let (s, v) = evo(
        &gw,
        "POST",
        "/instance/create",
        GLOBAL_KEY,
        Some(
            json!({"instanceName": "full", "integration": "WHATSAPP-BAILEYS",
                    "syncFullHistory": true, "rejectCall": true, "msgCall": "busy"}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["settings"]["syncFullHistory"], true);
    assert_eq!(v["settings"]["msgCall"], "busy");
    let hash = v["hash"].as_str().unwrap().to_string();
    let (_, found) = evo(&gw, "GET", "/settings/find/full", &hash, None);
    assert_eq!(found["syncFullHistory"], true);
    assert_eq!(found["rejectCall"], true);
    common::evolution::connect_and_wait(&gw, GLOBAL_KEY, "full");
    assert!(
        actions(&gw, "full").contains(&"pair history=full".to_string()),
        "{:?}",
        actions(&gw, "full")
    );
    common::evolution::create(&gw, GLOBAL_KEY, "recent");
    common::evolution::connect_and_wait(&gw, GLOBAL_KEY, "recent");
    assert!(
        !actions(&gw, "recent").contains(&"pair history=full".to_string()),
        "{:?}",
        actions(&gw, "recent")
    );
}

#[test]
fn ryze_and_sessions_v1_read_and_write_the_settings_and_report_calls() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let account = gw.credential("default", "ryze-account");
    let bearer = gw.credential("default", "api-key");
    let name = "both";
    let (instance, _) = gw.connected_instance(&bearer, name);
    let sid = instance["id"].as_str().unwrap().to_string();
    common::ryze::set_webhook(&gw, &account, name, &rx.url("ryze"), &["call.update"]);
    common::v1::set_webhook(&gw, &bearer, &sid, &rx.url("v1"), &["call.received"]);

    // Ryze: a partial update keeps what it does not name.
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/instance/settings/{name}"),
        Some(&account),
        json!({"rejectCalls": true, "callReply": "busy"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["settings"]["rejectCalls"], true);
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/instance/settings/{name}"),
        Some(&account),
        json!({"readMessages": true}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["settings"]["rejectCalls"], true);
    assert_eq!(v["settings"]["callReply"], "busy");
    assert_eq!(v["settings"]["readMessages"], true);
    for bad in [json!({"rejectCalls": "yes"}), json!({"rejectCall": true})] {
        let (s, v) = ryze_json(
            &gw,
            "POST",
            &format!("/api/instance/settings/{name}"),
            Some(&account),
            bad.clone(),
        );
        assert_eq!(s, 400, "{bad}: {v}");
        assert_eq!(v["success"], false);
        assert!(v["error"]["message"].is_string(), "{v}");
    }
    let (s, v) = ryze_json(
        &gw,
        "GET",
        &format!("/api/instance/settings/{name}"),
        Some(&account),
        Value::Null,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["settings"]["readMessages"], true);
    let (s, v) = ryze_json(
        &gw,
        "GET",
        "/api/instance/settings/nobody",
        Some(&account),
        Value::Null,
    );
    assert_eq!(s, 404, "{v}");

    // sessions/v1 sees the same settings; a PUT replaces them all.
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{sid}/settings"),
        &bearer,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rejectCalls"], true);
    assert_eq!(v["readMessages"], true);
    let (s, v) = v1(
        &gw,
        "PUT",
        &format!("/sessions/{sid}/settings"),
        &bearer,
        Some(json!({"rejectCalls": true})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"rejectCalls": true, "callReply": null, "ignoreGroups": false, "alwaysOnline": false,
               "readMessages": false, "readStatus": false, "syncFullHistory": false})
    );
    let (s, v) = v1(
        &gw,
        "PUT",
        &format!("/sessions/{sid}/settings"),
        &bearer,
        Some(json!({"rejectCalls": 1, "typo": true})),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        v["error"]["details"]["fields"]["rejectCalls"],
        "must be a boolean"
    );
    assert_eq!(v["error"]["details"]["fields"]["typo"], "unknown field");

    // A call reaches both webhooks in their envelopes, declined.
    let offered = call(&gw, name, CALLER);
    let id = offered["id"].as_str().unwrap();
    let got = rx.wait_until_all("the call in both dialects", |got| {
        got.iter().any(|r| r.path == "/ryze") && got.iter().any(|r| r.path == "/v1")
    });
    let ryze = got.iter().find(|r| r.path == "/ryze").unwrap();
    assert_eq!(ryze.body["event"], "call.update");
    assert_eq!(ryze.body["data"]["id"], id);
    assert_eq!(ryze.body["data"]["from"], CALLER);
    assert_eq!(ryze.body["data"]["rejected"], true);
    assert_eq!(ryze.body["data"]["video"], true);
    let v1_call = got.iter().find(|r| r.path == "/v1").unwrap();
    assert_eq!(v1_call.body["event"], "call.received");
    assert_eq!(v1_call.body["payload"]["id"], id);
    assert_eq!(v1_call.body["payload"]["from"], CALLER_JID);
    assert_eq!(v1_call.body["payload"]["rejected"], true);
}
