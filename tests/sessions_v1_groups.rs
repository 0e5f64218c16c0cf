//! sessions/v1 groups under a session, through the real binary on the sim link: the
//! lifecycle between two sessions, WhatsApp's refusals, and who may call what.

use crate::common;

use common::Gateway;
use common::v1::{paired_session, v1};
use serde_json::{Value, json};

const PEER_JID: &str = "5511999999999@s.whatsapp.net";

fn role(group: &Value, jid: &str) -> Option<String> {
    group["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == jid)
        .map(|p| p["role"].as_str().unwrap().to_string())
}

#[test]
fn groups_under_a_session() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    let a = paired_session(&gw, &key, "alpha");
    let b = paired_session(&gw, &key, "beta");

    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{a}/groups"),
        &key,
        Some(json!({"subject": ""})),
    );
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["details"]["fields"]["subject"].is_string(),
        "{v}"
    );
    assert!(
        v["error"]["details"]["fields"]["participants"].is_string(),
        "{v}"
    );
    let (s, g) = v1(
        &gw,
        "POST",
        &format!("/sessions/{a}/groups"),
        &key,
        Some(json!({"subject": "Team", "participants": [PEER_JID], "description": "Hi"})),
    );
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(g["description"], "Hi");
    assert_eq!(role(&g, PEER_JID).as_deref(), Some("member"));

    let (s, g) = v1(
        &gw,
        "PATCH",
        &format!("/sessions/{a}/groups/{gid}"),
        &key,
        Some(
            json!({"subject": "Team 2", "description": null, "announcement": true, "ephemeralSeconds": 86400}),
        ),
    );
    assert_eq!(s, 200, "{g}");
    assert_eq!(
        (g["subject"].as_str(), &g["description"]),
        (Some("Team 2"), &Value::Null)
    );
    assert_eq!(
        g["settings"],
        json!({"announcement": true, "locked": false, "approval": false, "ephemeralSeconds": 86400})
    );
    let (s, v) = v1(
        &gw,
        "PATCH",
        &format!("/sessions/{a}/groups/{gid}"),
        &key,
        Some(json!({"colour": "red"})),
    );
    assert_eq!(s, 422, "{v}");

    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{a}/groups/{gid}/participants"),
        &key,
        Some(json!({"action": "promote", "participants": [PEER_JID, "5511955550000"]})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["results"][0],
        json!({"id": PEER_JID, "status": 200, "error": null})
    );
    assert_eq!(v["results"][1]["status"], 404);

    // Beta joins by invite and is refused admin work.
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{a}/groups/{gid}/invite"),
        &key,
        None,
    );
    assert_eq!(s, 200, "{v}");
    let code = v["code"].as_str().unwrap().to_string();
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{b}/group-invites/{code}"),
        &key,
        None,
    );
    assert_eq!((s, v["id"].as_str()), (200, Some(gid.as_str())), "{v}");
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{b}/group-invites/{code}/join"),
        &key,
        None,
    );
    assert_eq!((s, v["id"].as_str()), (200, Some(gid.as_str())), "{v}");
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{b}/group-invites/{code}/join"),
        &key,
        None,
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{v}"
    );
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{b}/groups/{gid}/participants"),
        &key,
        Some(json!({"action": "remove", "participants": [PEER_JID]})),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not an admin"),
        "{v}"
    );
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{a}/groups/{gid}/invite/revoke"),
        &key,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_ne!(v["code"], code.as_str());
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{b}/group-invites/{code}"),
        &key,
        None,
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );

    // Unknown and malformed groups.
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{a}/groups/120363999999999999@g.us"),
        &key,
        None,
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{a}/groups/nonsense"),
        &key,
        None,
    );
    assert_eq!(s, 422, "{v}");

    // Beta leaves; lists follow.
    let (_, v) = v1(&gw, "GET", &format!("/sessions/{b}/groups"), &key, None);
    assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
    let (s, _) = v1(
        &gw,
        "DELETE",
        &format!("/sessions/{b}/groups/{gid}"),
        &key,
        None,
    );
    assert_eq!(s, 204);
    let (_, v) = v1(&gw, "GET", &format!("/sessions/{b}/groups"), &key, None);
    assert_eq!(v["data"], json!([]));
    let (_, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{a}/groups/{gid}"),
        &key,
        None,
    );
    assert_eq!(
        v["participants"].as_array().unwrap().len(),
        2,
        "alpha and peer: {v}"
    );

    // Authorization: read-only key, another org.
    let read_only = gw.key("acme", Some(&["read"]));
    let (s, _) = v1(
        &gw,
        "GET",
        &format!("/sessions/{a}/groups/{gid}"),
        &read_only,
        None,
    );
    assert_eq!(s, 200);
    for (method, path, body) in [
        (
            "POST",
            format!("/sessions/{a}/groups"),
            Some(json!({"subject": "x", "participants": [PEER_JID]})),
        ),
        (
            "PATCH",
            format!("/sessions/{a}/groups/{gid}"),
            Some(json!({"subject": "x"})),
        ),
        ("DELETE", format!("/sessions/{a}/groups/{gid}"), None),
        (
            "POST",
            format!("/sessions/{a}/groups/{gid}/participants"),
            Some(json!({"action": "remove", "participants": [PEER_JID]})),
        ),
        ("GET", format!("/sessions/{a}/groups/{gid}/invite"), None),
        (
            "POST",
            format!("/sessions/{a}/groups/{gid}/invite/revoke"),
            None,
        ),
        (
            "POST",
            format!("/sessions/{a}/group-invites/abc/join"),
            None,
        ),
    ] {
        let (s, v) = v1(&gw, method, &path, &read_only, body);
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{method} {path}: {v}"
        );
    }
    let (_, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{a}/groups/{gid}"),
        &key,
        None,
    );
    assert_eq!(v["subject"], "Team 2", "nothing changed");
    let other = gw.org_with_key("other", None);
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{a}/groups/{gid}"),
        &other,
        None,
    );
    assert_eq!(
        (s, v["error"]["message"].as_str()),
        (404, Some("session not found")),
        "{v}"
    );
    let (s, _) = v1(
        &gw,
        "DELETE",
        &format!("/sessions/{a}/groups/{gid}"),
        &other,
        None,
    );
    assert_eq!(s, 404);
}
