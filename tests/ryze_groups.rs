//! Ryze's group routes (`/api/group/{action}/{instance}`) through the real binary on
//! the sim link: a group's lifecycle between two instances, WhatsApp's refusals in
//! Ryze's error envelope, and who may call what.

use crate::common;

use common::Gateway;
use common::ryze::{account, connected, ryze_json};
use serde_json::{Value, json};

const PEER_JID: &str = "5511999999999@s.whatsapp.net";
const PEER2_JID: &str = "5511977777777@s.whatsapp.net";

fn role(group: &Value, jid: &str) -> Option<String> {
    group["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["jid"] == jid)
        .map(|p| p["role"].as_str().unwrap().to_string())
}

#[test]
fn a_group_lives_and_dies_through_ryze_routes() {
    let gw = Gateway::start();
    let acct = account(&gw, "acme");
    let alpha = connected(&gw, &acct, "alpha");
    let beta = connected(&gw, &acct, "beta");
    let call = |method: &str, path: &str, token: &str, body: Value| {
        ryze_json(&gw, method, path, Some(token), body)
    };

    let (s, v) = call(
        "POST",
        "/api/group/create/alpha",
        &alpha,
        json!({"subject": "Team"}),
    );
    assert_eq!(
        (s, v["error"]["message"].as_str()),
        (400, Some("participants is required")),
        "{v}"
    );
    let (s, v) = call(
        "POST",
        "/api/group/create/alpha",
        &alpha,
        json!({"subject": "Team", "participants": ["5511999999999"]}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["success"], true);
    let g = v["group"].clone();
    let gjid = g["jid"].as_str().unwrap().to_string();
    let owner = g["owner"].as_str().unwrap().to_string();
    assert_eq!(role(&g, &owner).as_deref(), Some("superadmin"));
    assert_eq!(role(&g, PEER_JID).as_deref(), Some("member"));

    let (s, v) = call(
        "POST",
        "/api/group/subject/alpha",
        &alpha,
        json!({"groupJid": gjid, "subject": "Team 2"}),
    );
    assert_eq!(
        (s, v["group"]["subject"].as_str()),
        (200, Some("Team 2")),
        "{v}"
    );
    let (s, v) = call(
        "POST",
        "/api/group/participants/alpha",
        &alpha,
        json!({"groupJid": gjid, "action": "add", "participants": [PEER2_JID, PEER_JID]}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["results"],
        json!([
            {"jid": PEER2_JID, "status": 200, "error": null},
            {"jid": PEER_JID, "status": 409, "error": "already a participant"},
        ])
    );
    let (s, _) = call(
        "POST",
        "/api/group/participants/alpha",
        &alpha,
        json!({"groupJid": gjid, "action": "promote", "participants": [PEER_JID]}),
    );
    assert_eq!(s, 200);
    let (s, v) = call(
        "POST",
        "/api/group/settings/alpha",
        &alpha,
        json!({"groupJid": gjid, "locked": true, "ephemeral": 604800}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["group"]["settings"],
        json!({"announcement": false, "locked": true, "approval": false, "ephemeral": 604800})
    );
    let (s, v) = call(
        "GET",
        &format!("/api/group/info/alpha?groupJid={gjid}"),
        &alpha,
        Value::Null,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(role(&v["group"], PEER_JID).as_deref(), Some("admin"));

    // Beta joins by the invite link, and may not remove anybody.
    let (s, v) = call(
        "GET",
        &format!("/api/group/invite/alpha?groupJid={gjid}"),
        &alpha,
        Value::Null,
    );
    assert_eq!(s, 200, "{v}");
    let code = v["code"].as_str().unwrap().to_string();
    assert_eq!(v["link"], format!("https://chat.whatsapp.com/{code}"));
    let (s, v) = call(
        "GET",
        &format!("/api/group/inviteInfo/beta?code={code}"),
        &beta,
        Value::Null,
    );
    assert_eq!(
        (s, v["group"]["jid"].as_str()),
        (200, Some(gjid.as_str())),
        "{v}"
    );
    let (s, v) = call("POST", "/api/group/join/beta", &beta, json!({"code": code}));
    assert_eq!(
        (s, v["group_jid"].as_str()),
        (200, Some(gjid.as_str())),
        "{v}"
    );
    let (s, v) = call("POST", "/api/group/join/beta", &beta, json!({"code": code}));
    assert_eq!(s, 409, "joining twice: {v}");
    let (s, v) = call(
        "POST",
        "/api/group/participants/beta",
        &beta,
        json!({"groupJid": gjid, "action": "remove", "participants": [PEER_JID]}),
    );
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["success"], false);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not an admin"),
        "{v}"
    );
    let (s, v) = call(
        "POST",
        "/api/group/subject/beta",
        &beta,
        json!({"groupJid": gjid, "subject": "x"}),
    );
    assert_eq!(s, 403, "locked group: {v}");
    let (_, v) = call(
        "GET",
        &format!("/api/group/info/alpha?groupJid={gjid}"),
        &alpha,
        Value::Null,
    );
    assert!(role(&v["group"], PEER_JID).is_some(), "nobody was removed");
    assert_eq!(v["group"]["subject"], "Team 2");

    // Revoke: the old code leads nowhere.
    let (s, v) = call(
        "POST",
        "/api/group/revokeInvite/alpha",
        &alpha,
        json!({"groupJid": gjid}),
    );
    assert_eq!(s, 200, "{v}");
    assert_ne!(v["code"], code.as_str());
    let (s, v) = call(
        "GET",
        &format!("/api/group/inviteInfo/alpha?code={code}"),
        &alpha,
        Value::Null,
    );
    assert_eq!(s, 404, "{v}");

    // Unknown group; missing group.
    let (s, v) = call(
        "GET",
        "/api/group/info/alpha?groupJid=120363999999999999@g.us",
        &alpha,
        Value::Null,
    );
    assert_eq!(s, 404, "{v}");
    assert_eq!(
        v["error"]["message"],
        "Group 120363999999999999@g.us not found"
    );
    let (s, v) = call("GET", "/api/group/info/alpha", &alpha, Value::Null);
    assert_eq!(
        (s, v["error"]["message"].as_str()),
        (400, Some("groupJid is required")),
        "{v}"
    );

    // Both list it; beta leaves (the seed's DELETE /api/group/leave) and no longer does.
    let (_, v) = call("GET", "/api/group/list/beta", &beta, Value::Null);
    assert_eq!(v["groups"].as_array().unwrap().len(), 1, "{v}");
    let (s, v) = call(
        "DELETE",
        "/api/group/leave/beta",
        &beta,
        json!({"groupJid": gjid}),
    );
    assert_eq!(
        (s, v["group_jid"].as_str()),
        (200, Some(gjid.as_str())),
        "{v}"
    );
    let (_, v) = call("GET", "/api/group/list/beta", &beta, Value::Null);
    assert_eq!(v["groups"], json!([]));
    let (_, v) = call("GET", "/api/group/list/alpha", &alpha, Value::Null);
    assert_eq!(v["groups"][0]["size"], 3, "alpha, peer, peer2: {v}");
}

#[test]
fn ryze_group_routes_refuse_whom_they_must() {
    let gw = Gateway::start();
    let acct = account(&gw, "acme");
    let alpha = connected(&gw, &acct, "alpha");
    let beta = connected(&gw, &acct, "beta");
    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/group/create/alpha",
        Some(&alpha),
        json!({"subject": "Team", "participants": [PEER_JID]}),
    );
    assert_eq!(s, 201, "{v}");
    let gjid = v["group"]["jid"].as_str().unwrap().to_string();

    // A read-only account token reads and may change nothing.
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "acme", "kind": "ryze-account", "capabilities": ["read"]})),
    );
    assert_eq!(s, 201, "{v}");
    let read_only = v["token"].as_str().unwrap().to_string();
    let (s, _) = ryze_json(
        &gw,
        "GET",
        &format!("/api/group/info/alpha?groupJid={gjid}"),
        Some(&read_only),
        Value::Null,
    );
    assert_eq!(s, 200);
    let body = json!({"groupJid": gjid, "subject": "x", "description": "x", "locked": true,
        "action": "remove", "participants": [PEER_JID], "code": "abc"});
    for (method, path) in [
        ("POST", "/api/group/create/alpha".to_string()),
        ("POST", "/api/group/subject/alpha".into()),
        ("POST", "/api/group/description/alpha".into()),
        ("POST", "/api/group/settings/alpha".into()),
        ("POST", "/api/group/participants/alpha".into()),
        ("GET", format!("/api/group/invite/alpha?groupJid={gjid}")),
        ("POST", "/api/group/revokeInvite/alpha".into()),
        ("POST", "/api/group/join/alpha".into()),
        ("DELETE", "/api/group/leave/alpha".into()),
    ] {
        let (s, v) = ryze_json(&gw, method, &path, Some(&read_only), body.clone());
        assert_eq!(s, 403, "{method} {path}: {v}");
        assert_eq!(
            v["error"]["message"],
            "Token does not have permission for this operation"
        );
    }
    let (_, v) = ryze_json(
        &gw,
        "GET",
        &format!("/api/group/info/alpha?groupJid={gjid}"),
        Some(&alpha),
        Value::Null,
    );
    assert_eq!(v["group"]["subject"], "Team", "nothing changed");
    assert!(role(&v["group"], PEER_JID).is_some(), "nothing changed");

    // Beta's instance token does not reach alpha; another account sees no instance.
    let (s, v) = ryze_json(
        &gw,
        "GET",
        &format!("/api/group/info/alpha?groupJid={gjid}"),
        Some(&beta),
        Value::Null,
    );
    assert_eq!(
        (s, v["error"]["message"].as_str()),
        (404, Some("Instance not found")),
        "{v}"
    );
    let other = account(&gw, "other");
    let (s, v) = ryze_json(
        &gw,
        "DELETE",
        "/api/group/leave/alpha",
        Some(&other),
        json!({"groupJid": gjid}),
    );
    assert_eq!(
        (s, v["error"]["message"].as_str()),
        (404, Some("Instance not found")),
        "{v}"
    );
    let (s, _) = ryze_json(&gw, "GET", "/api/group/list/alpha", None, Value::Null);
    assert_eq!(s, 401);
}
