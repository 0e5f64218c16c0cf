//! Evolution's `/group/*` routes through the real binary on the sim link: the whole
//! lifecycle of a group between two instances (one joins the other's group by invite
//! link), WhatsApp's refusals (a non-admin's remove, a locked group's subject, an
//! unknown group, a revoked code) in Evolution's error shape, and who may call what.

use crate::common;

use common::Gateway;
use common::evolution::{evo_json, open_instance};
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-groups";
const PEER: &str = "5511999999999";
const PEER_JID: &str = "5511999999999@s.whatsapp.net";
const PEER2_JID: &str = "5511977777777@s.whatsapp.net";
/// The sim has no account for numbers ending in 0000.
const UNREGISTERED: &str = "5511988880000";

fn start() -> Gateway {
    Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)])
}

fn owner_jid(gw: &Gateway, name: &str) -> String {
    let (s, v) = evo_json(
        gw,
        "GET",
        &format!("/instance/fetchInstances?instanceName={name}"),
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{v}");
    v[0]["ownerJid"].as_str().expect("ownerJid").to_string()
}

fn get(gw: &Gateway, key: &str, path: &str) -> (u16, Value) {
    evo_json(gw, "GET", path, Some(key), None)
}

fn post(gw: &Gateway, key: &str, path: &str, body: Value) -> (u16, Value) {
    evo_json(gw, "POST", path, Some(key), Some(body))
}

/// The role a participant has in a `findGroupInfos` answer (`None`: not in it).
fn role(group: &Value, jid: &str) -> Option<Value> {
    group["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == jid)
        .map(|p| p["admin"].clone())
}

/// Asserts Evolution's exception shape with `status` and `title` as the first message.
fn assert_exception(status: u16, v: &Value, want_status: u16, title: &str) {
    assert_eq!(status, want_status, "{v}");
    assert_eq!(v["status"], want_status, "{v}");
    assert_eq!(v["response"]["message"][0], title, "{v}");
}

#[test]
fn a_group_lives_and_dies_through_evolution_routes() {
    let gw = start();
    let alpha_token = open_instance(&gw, GLOBAL_KEY, "alpha");
    open_instance(&gw, GLOBAL_KEY, "beta");
    let alpha = owner_jid(&gw, "alpha");
    let beta = owner_jid(&gw, "beta");
    let k = GLOBAL_KEY;

    // Bad input answers 400 before anything is created.
    let (s, v) = post(&gw, k, "/group/create/alpha", json!({"subject": "Team"}));
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["response"]["message"][0],
        "instance requires property \"participants\""
    );
    let (s, v) = post(
        &gw,
        k,
        "/group/create/alpha",
        json!({"subject": "Team", "participants": ["not a number"]}),
    );
    assert_exception(s, &v, 400, "Error creating group");

    // Create: the creator is super admin, the unregistered number is left out.
    let (s, created) = post(
        &gw,
        k,
        "/group/create/alpha",
        json!({"subject": "Team", "participants": [PEER, UNREGISTERED], "description": "Hello"}),
    );
    assert_eq!(s, 201, "{created}");
    let gjid = created["id"].as_str().unwrap().to_string();
    assert!(
        gjid.starts_with("120363") && gjid.ends_with("@g.us"),
        "{gjid}"
    );
    assert_eq!(created["subject"], "Team");
    assert_eq!(created["desc"], "Hello");
    assert_eq!(created["owner"], alpha.as_str());
    assert_eq!(created["size"], 2);
    assert_eq!(role(&created, &alpha), Some(json!("superadmin")));
    assert_eq!(role(&created, PEER_JID), Some(Value::Null));
    assert!(created["creation"].as_u64().unwrap() > 1_600_000_000);

    // Read it back; a bare id gets `@g.us` as Evolution's groupValidate adds it.
    let bare = gjid.trim_end_matches("@g.us");
    let (s, info) = get(
        &gw,
        k,
        &format!("/group/findGroupInfos/alpha?groupJid={bare}"),
    );
    assert_eq!(s, 200, "{info}");
    assert_eq!(info["id"], gjid.as_str());
    assert_eq!(info["pictureUrl"], Value::Null);
    let (s, v) = get(&gw, k, "/group/findGroupInfos/alpha");
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["response"]["message"][0],
        "The group id needs to be informed in the query"
    );

    // Rename and describe.
    let (s, v) = post(
        &gw,
        k,
        "/group/updateGroupSubject/alpha",
        json!({"groupJid": gjid, "subject": "Team 2"}),
    );
    assert_eq!((s, v.clone()), (201, json!({"update": "success"})), "{v}");
    let (s, v) = post(
        &gw,
        k,
        &format!("/group/updateGroupDescription/alpha?groupJid={gjid}"),
        json!({"description": "New rules"}),
    );
    assert_eq!((s, v.clone()), (201, json!({"update": "success"})), "{v}");
    let (_, info) = get(
        &gw,
        k,
        &format!("/group/findGroupInfos/alpha?groupJid={gjid}"),
    );
    assert_eq!(info["subject"], "Team 2");
    assert_eq!(info["desc"], "New rules");
    assert_eq!(info["subjectOwner"], alpha.as_str());

    // Participants: WhatsApp's result per participant.
    let (s, v) = post(
        &gw,
        k,
        "/group/updateParticipant/alpha",
        json!({"groupJid": gjid, "action": "add", "participants": [PEER2_JID, PEER, UNREGISTERED]}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        v,
        json!({"updateParticipants": [
            {"status": "200", "jid": PEER2_JID},
            {"status": "409", "jid": PEER_JID},
            {"status": "404", "jid": format!("{UNREGISTERED}@s.whatsapp.net")},
        ]})
    );
    let (s, v) = post(
        &gw,
        k,
        "/group/updateParticipant/alpha",
        json!({"groupJid": gjid, "action": "promote", "participants": [PEER]}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["updateParticipants"][0]["status"], "200");
    let (_, v) = get(
        &gw,
        k,
        &format!("/group/participants/alpha?groupJid={gjid}"),
    );
    assert_eq!(role(&v, PEER_JID), Some(json!("admin")), "{v}");
    assert_eq!(role(&v, PEER2_JID), Some(Value::Null), "{v}");
    let (s, v) = post(
        &gw,
        k,
        "/group/updateParticipant/alpha",
        json!({"groupJid": gjid, "action": "demote", "participants": [PEER, alpha]}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["updateParticipants"][0]["status"], "200");
    assert_eq!(
        v["updateParticipants"][1]["status"], "403",
        "the creator stays admin"
    );
    let (s, v) = post(
        &gw,
        k,
        "/group/updateParticipant/alpha",
        json!({"groupJid": gjid, "action": "kick", "participants": [PEER]}),
    );
    assert_eq!(s, 400, "{v}");

    // Invite link: beta looks at it and joins.
    let (s, inv) = get(&gw, k, &format!("/group/inviteCode/alpha?groupJid={gjid}"));
    assert_eq!(s, 200, "{inv}");
    let code = inv["inviteCode"].as_str().unwrap().to_string();
    assert_eq!(
        inv["inviteUrl"],
        format!("https://chat.whatsapp.com/{code}")
    );
    let (s, v) = get(&gw, k, &format!("/group/inviteInfo/beta?inviteCode={code}"));
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["id"].as_str(), v["subject"].as_str()),
        (Some(gjid.as_str()), Some("Team 2"))
    );
    let (s, v) = get(
        &gw,
        k,
        &format!("/group/acceptInviteCode/beta?inviteCode={code}"),
    );
    assert_eq!(
        (s, v.clone()),
        (200, json!({"accepted": true, "groupJid": gjid})),
        "{v}"
    );
    let (_, info) = get(
        &gw,
        k,
        &format!("/group/findGroupInfos/beta?groupJid={gjid}"),
    );
    assert_eq!(
        role(&info, &beta),
        Some(Value::Null),
        "beta joined as a member: {info}"
    );

    // Beta is no admin: WhatsApp refuses its remove, settings and invite link.
    let (s, v) = post(
        &gw,
        k,
        "/group/updateParticipant/beta",
        json!({"groupJid": gjid, "action": "remove", "participants": [PEER]}),
    );
    assert_exception(s, &v, 400, "Error updating participants");
    assert!(
        v["response"]["message"][1]
            .as_str()
            .unwrap()
            .contains("not an admin"),
        "{v}"
    );
    let (_, info) = get(
        &gw,
        k,
        &format!("/group/findGroupInfos/alpha?groupJid={gjid}"),
    );
    assert!(
        role(&info, PEER_JID).is_some(),
        "the refused remove removed nobody"
    );
    let (s, v) = post(
        &gw,
        k,
        "/group/updateSetting/beta",
        json!({"groupJid": gjid, "action": "locked"}),
    );
    assert_exception(s, &v, 400, "Error updating setting");
    let (s, v) = get(&gw, k, &format!("/group/inviteCode/beta?groupJid={gjid}"));
    assert_exception(s, &v, 404, "No invite code");

    // Alpha locks the group: beta may no longer rename it.
    let (s, v) = post(
        &gw,
        k,
        "/group/updateSetting/alpha",
        json!({"groupJid": gjid, "action": "locked"}),
    );
    assert_eq!((s, v.clone()), (201, json!({})), "{v}");
    let (s, v) = post(
        &gw,
        k,
        "/group/updateGroupSubject/beta",
        json!({"groupJid": gjid, "subject": "Mine now"}),
    );
    assert_exception(s, &v, 403, "Error updating group subject");
    let (s, v) = post(
        &gw,
        k,
        "/group/toggleEphemeral/alpha",
        json!({"groupJid": gjid, "expiration": 86400}),
    );
    assert_eq!((s, v.clone()), (201, json!({"success": true})), "{v}");
    let (s, v) = post(
        &gw,
        k,
        "/group/toggleEphemeral/alpha",
        json!({"groupJid": gjid, "expiration": 5}),
    );
    assert_eq!(s, 400, "{v}");
    let (_, info) = get(
        &gw,
        k,
        &format!("/group/findGroupInfos/alpha?groupJid={gjid}"),
    );
    assert_eq!(
        (info["restrict"].as_bool(), info["announce"].as_bool()),
        (Some(true), Some(false))
    );

    // Revoke: a new code; the old one leads nowhere.
    let (s, v) = post(
        &gw,
        k,
        &format!("/group/revokeInviteCode/alpha?groupJid={gjid}"),
        json!({}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["revoked"], true);
    assert_ne!(v["inviteCode"], code.as_str());
    let (s, v) = get(
        &gw,
        k,
        &format!("/group/inviteInfo/alpha?inviteCode={code}"),
    );
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["response"]["message"], json!(["No invite info", code]));
    let (s, v) = get(&gw, k, "/group/inviteInfo/alpha");
    assert_eq!(s, 400, "{v}");

    // Both list the group; participants only when asked.
    let (s, v) = get(&gw, k, "/group/fetchAllGroups/alpha");
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["response"]["message"][0],
        "The getParticipants needs to be informed in the query"
    );
    let (s, v) = get(&gw, k, "/group/fetchAllGroups/beta?getParticipants=false");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["id"], gjid.as_str());
    assert!(v[0].get("participants").is_none(), "{v}");
    let (_, v) = get(&gw, k, "/group/fetchAllGroups/alpha?getParticipants=true");
    assert_eq!(v[0]["size"], 4, "alpha, peer, peer2, beta: {v}");
    assert_eq!(v[0]["participants"].as_array().unwrap().len(), 4);

    // The stored copy answers while the link is down.
    let (s, _) = gw.admin("POST", "/admin/sim/alpha/link", Some(json!({"up": false})));
    assert_eq!(s, 200);
    let (s, v) = get(
        &gw,
        &alpha_token,
        &format!("/group/findGroupInfos/alpha?groupJid={gjid}"),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["subject"], "Team 2");
    let (s, v) = post(
        &gw,
        k,
        "/group/updateGroupSubject/alpha",
        json!({"groupJid": gjid, "subject": "offline"}),
    );
    assert_eq!(s, 400, "a change needs the session: {v}");
    let (s, _) = gw.admin("POST", "/admin/sim/alpha/link", Some(json!({"up": true})));
    assert_eq!(s, 200);

    // Alpha removes beta: beta no longer sees the group.
    let (s, v) = post(
        &gw,
        k,
        "/group/updateParticipant/alpha",
        json!({"groupJid": gjid, "action": "remove", "participants": [beta]}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["updateParticipants"][0]["status"], "200");
    let (s, v) = get(
        &gw,
        k,
        &format!("/group/findGroupInfos/beta?groupJid={gjid}"),
    );
    assert_exception(s, &v, 404, "Error fetching group");
    let (_, v) = get(&gw, k, "/group/fetchAllGroups/beta?getParticipants=false");
    assert_eq!(v, json!([]));

    // Unknown group.
    let unknown = "120363999999999999@g.us";
    let (s, v) = get(
        &gw,
        k,
        &format!("/group/findGroupInfos/alpha?groupJid={unknown}"),
    );
    assert_exception(s, &v, 404, "Error fetching group");
    assert!(
        v["response"]["message"][1]
            .as_str()
            .unwrap()
            .contains("not found"),
        "{v}"
    );
    let (s, v) = post(
        &gw,
        k,
        "/group/updateGroupSubject/alpha",
        json!({"groupJid": unknown, "subject": "x"}),
    );
    assert_exception(s, &v, 404, "Error updating group subject");

    // Leave: gone from the list.
    let (s, v) = evo_json(
        &gw,
        "DELETE",
        &format!("/group/leaveGroup/alpha?groupJid={gjid}"),
        Some(k),
        None,
    );
    assert_eq!(
        (s, v.clone()),
        (200, json!({"groupJid": gjid, "leave": true})),
        "{v}"
    );
    let (_, v) = get(&gw, k, "/group/fetchAllGroups/alpha?getParticipants=false");
    assert_eq!(v, json!([]));
    let (s, v) = evo_json(
        &gw,
        "DELETE",
        &format!("/group/leaveGroup/alpha?groupJid={gjid}"),
        Some(k),
        None,
    );
    assert_exception(s, &v, 400, "Unable to leave the group");
}

#[test]
fn group_routes_refuse_whom_evolution_refuses() {
    let gw = start();
    let alpha_token = open_instance(&gw, GLOBAL_KEY, "alpha");
    open_instance(&gw, GLOBAL_KEY, "beta");
    let (s, created) = post(
        &gw,
        GLOBAL_KEY,
        "/group/create/alpha",
        json!({"subject": "Team", "participants": [PEER]}),
    );
    assert_eq!(s, 201, "{created}");
    let gjid = created["id"].as_str().unwrap().to_string();

    // A read-only key reads, and every changing route is refused before it acts.
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "default", "kind": "evolution-key", "capabilities": ["read"]})),
    );
    assert_eq!(s, 201, "{v}");
    let read_only = v["token"].as_str().unwrap().to_string();
    let (s, v) = get(
        &gw,
        &read_only,
        &format!("/group/findGroupInfos/alpha?groupJid={gjid}"),
    );
    assert_eq!(s, 200, "{v}");
    let (s, _) = get(
        &gw,
        &read_only,
        "/group/fetchAllGroups/alpha?getParticipants=true",
    );
    assert_eq!(s, 200);
    let g = json!({"groupJid": gjid, "subject": "x", "description": "x", "action": "remove",
        "participants": [PEER], "expiration": 0, "numbers": [PEER]});
    let changing = [
        ("POST", "/group/create/alpha".to_string()),
        ("POST", "/group/updateGroupSubject/alpha".into()),
        ("POST", "/group/updateGroupDescription/alpha".into()),
        ("POST", "/group/updateParticipant/alpha".into()),
        ("POST", "/group/updateSetting/alpha".into()),
        ("POST", "/group/toggleEphemeral/alpha".into()),
        ("POST", "/group/revokeInviteCode/alpha".into()),
        ("POST", "/group/sendInvite/alpha".into()),
        ("GET", format!("/group/inviteCode/alpha?groupJid={gjid}")),
        ("GET", "/group/acceptInviteCode/alpha?inviteCode=abc".into()),
        ("DELETE", format!("/group/leaveGroup/alpha?groupJid={gjid}")),
    ];
    for (method, path) in &changing {
        let (s, v) = evo_json(&gw, method, path, Some(&read_only), Some(g.clone()));
        assert_eq!(s, 403, "{method} {path}: {v}");
        assert_eq!(v["error"], "Forbidden", "{v}");
    }
    let (_, info) = get(
        &gw,
        GLOBAL_KEY,
        &format!("/group/findGroupInfos/alpha?groupJid={gjid}"),
    );
    assert_eq!(info["subject"], "Team", "nothing changed");
    assert!(role(&info, PEER_JID).is_some(), "nothing changed");

    // Alpha's own token reaches alpha only (Evolution's auth guard: 401 elsewhere).
    let (s, _) = get(
        &gw,
        &alpha_token,
        &format!("/group/findGroupInfos/alpha?groupJid={gjid}"),
    );
    assert_eq!(s, 200);
    let (s, v) = get(
        &gw,
        &alpha_token,
        "/group/fetchAllGroups/beta?getParticipants=true",
    );
    assert_eq!(s, 401, "{v}");

    // Another organisation's key does not see the instance at all.
    let (s, _) = gw.admin("POST", "/admin/orgs", Some(json!({"name": "other"})));
    assert_eq!(s, 201);
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "other", "kind": "evolution-key"})),
    );
    assert_eq!(s, 201, "{v}");
    let other = v["token"].as_str().unwrap().to_string();
    let (s, v) = get(
        &gw,
        &other,
        &format!("/group/findGroupInfos/alpha?groupJid={gjid}"),
    );
    assert_eq!(s, 404, "{v}");
    assert_eq!(
        v["response"]["message"][0],
        "The \"alpha\" instance does not exist"
    );
    let (s, v) = post(
        &gw,
        &other,
        "/group/updateParticipant/alpha",
        json!({"groupJid": gjid, "action": "remove", "participants": [PEER]}),
    );
    assert_eq!(s, 404, "{v}");
    let (s, v) = get(
        &gw,
        "no-such-key",
        "/group/fetchAllGroups/alpha?getParticipants=true",
    );
    assert_eq!(s, 401, "{v}");
}
