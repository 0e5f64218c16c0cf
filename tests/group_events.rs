//! Issue 16: group and contact events. WhatsApp announces every group change to the
//! members' devices (changes made through the API included); the gateway applies each
//! to its stored copy of the group and reports it in every dialect: Evolution's
//! `GROUPS_UPSERT`, `GROUP_UPDATE` and `GROUP_PARTICIPANTS_UPDATE`, RyzeAPI's
//! `group.flow`, sessions/v1's `group.joined`, `group.update` and
//! `group.participants`. A new contact is `CONTACTS_UPSERT` / `contact.upsert`, a new
//! name `CONTACTS_UPDATE` / `contact.update`. The sim takes a change another member
//! makes on their phone at `POST /admin/sim/{i}/group`.

use crate::common;

use common::Gateway;
use common::dialect_hooks::{bodies_of, hook_all_dialects};
use common::evolution::evo_json;
use common::receiver::Receiver;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-group-events";
const PEER_JID: &str = "5511955554444@s.whatsapp.net";
const OTHER_JID: &str = "5511955553333@s.whatsapp.net";

const EVOLUTION_GROUP_EVENTS: [&str; 3] =
    ["GROUPS_UPSERT", "GROUP_UPDATE", "GROUP_PARTICIPANTS_UPDATE"];

fn post(gw: &Gateway, path: &str, body: Value) -> (u16, Value) {
    evo_json(gw, "POST", path, Some(GLOBAL_KEY), Some(body))
}

fn events_named<'a>(bodies: &[&'a Value], event: &str) -> Vec<&'a Value> {
    bodies
        .iter()
        .filter(|b| b["event"] == event)
        .copied()
        .collect()
}

#[test]
fn group_changes_made_through_the_api_and_by_other_members_reach_every_dialect() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "groupevents";
    hook_all_dialects(
        &gw,
        &rx,
        GLOBAL_KEY,
        name,
        &EVOLUTION_GROUP_EVENTS,
        &[],
        &[],
    );

    // Created through the API: the account joined it.
    let (s, created) = post(
        &gw,
        &format!("/group/create/{name}"),
        json!({"subject": "Team", "participants": [PEER_JID]}),
    );
    assert_eq!(s, 201, "{created}");
    let gid = created["id"].as_str().unwrap().to_string();
    let got = rx.wait_until_all("the join in every dialect", |got| {
        bodies_of(got, "evolution")
            .iter()
            .any(|b| b["event"] == "GROUPS_UPSERT")
            && bodies_of(got, "v1")
                .iter()
                .any(|b| b["event"] == "group.joined")
            && bodies_of(got, "ryze")
                .iter()
                .any(|b| b["event"] == "group.flow")
    });
    let evo = bodies_of(&got, "evolution");
    let upsert = events_named(&evo, "GROUPS_UPSERT");
    assert_eq!(upsert.len(), 1, "{upsert:#?}");
    let meta = &upsert[0]["data"][0];
    assert_eq!(meta["id"], gid.as_str());
    assert_eq!(meta["subject"], "Team");
    assert_eq!(meta["size"], 2);
    assert!(
        meta["participants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == PEER_JID && p["admin"].is_null()),
        "{meta}"
    );
    let v1 = bodies_of(&got, "v1");
    let joined = events_named(&v1, "group.joined");
    assert_eq!(joined[0]["payload"]["id"], gid.as_str());
    assert_eq!(joined[0]["payload"]["subject"], "Team");
    let ryze = bodies_of(&got, "ryze");
    let flow = events_named(&ryze, "group.flow");
    assert_eq!(flow[0]["data"]["type"], "joined");
    assert_eq!(flow[0]["data"]["info"]["subject"], "Team");

    // A new subject through the API, then the peer made admin and adding a member.
    let (s, v) = post(
        &gw,
        &format!("/group/updateGroupSubject/{name}?groupJid={gid}"),
        json!({"subject": "Team 2"}),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(
        &gw,
        &format!("/group/updateParticipant/{name}?groupJid={gid}"),
        json!({"action": "promote", "participants": [PEER_JID]}),
    );
    assert_eq!(s, 201, "{v}");
    // The peer, now an admin, adds somebody on their phone.
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/group"),
        Some(
            json!({"group": gid, "author": PEER_JID, "action": "add", "participants": [OTHER_JID]}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["participants"][0]["status"], 200, "{v}");
    // ... and locks the group's info.
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/group"),
        Some(json!({"group": gid, "author": PEER_JID, "action": "locked", "value": true})),
    );
    assert_eq!(s, 201, "{v}");

    let got = rx.wait_until_all("four changes in every dialect", |got| {
        let evo = bodies_of(got, "evolution");
        events_named(&evo, "GROUP_UPDATE").len() == 2
            && events_named(&evo, "GROUP_PARTICIPANTS_UPDATE").len() == 2
            && events_named(&bodies_of(got, "v1"), "group.update").len() == 2
            && events_named(&bodies_of(got, "v1"), "group.participants").len() == 2
            && events_named(&bodies_of(got, "ryze"), "group.flow").len() == 5
    });
    let evo = bodies_of(&got, "evolution");
    let updates = events_named(&evo, "GROUP_UPDATE");
    assert_eq!(
        updates[0]["data"],
        json!([{"id": gid, "author": gw_owner(&gw, name), "subject": "Team 2"}])
    );
    assert_eq!(
        updates[1]["data"],
        json!([{"id": gid, "author": PEER_JID, "restrict": true}])
    );
    let parts = events_named(&evo, "GROUP_PARTICIPANTS_UPDATE");
    assert_eq!(parts[0]["data"]["action"], "promote");
    assert_eq!(
        parts[0]["data"]["participants"],
        json!([{"id": PEER_JID, "phoneNumber": null, "admin": "admin"}])
    );
    assert_eq!(
        parts[1]["data"],
        json!({
            "id": gid,
            "author": PEER_JID,
            "participants": [{"id": OTHER_JID, "phoneNumber": null, "admin": null}],
            "action": "add",
            "participantsData": [{"jid": OTHER_JID, "phoneNumber": "5511955553333"}],
        })
    );
    let v1 = bodies_of(&got, "v1");
    let v1_update = events_named(&v1, "group.update");
    assert_eq!(v1_update[1]["payload"]["change"], "locked");
    assert_eq!(v1_update[1]["payload"]["value"], true);
    assert_eq!(v1_update[1]["payload"]["group"]["settings"]["locked"], true);
    let v1_parts = events_named(&v1, "group.participants");
    assert_eq!(v1_parts[1]["payload"]["action"], "add");
    assert_eq!(v1_parts[1]["payload"]["participants"][0]["id"], OTHER_JID);
    // The stored copy followed: three members.
    assert_eq!(
        v1_parts[1]["payload"]["group"]["participants"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let ryze = bodies_of(&got, "ryze");
    let ryze_types: Vec<&Value> = events_named(&ryze, "group.flow")
        .iter()
        .map(|b| &b["data"]["type"])
        .collect();
    assert_eq!(
        ryze_types,
        ["joined", "info", "participants", "participants", "info"]
    );

    // With the link down the stored copy answers, with the other member's changes.
    let (s, _) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/link"),
        Some(json!({"up": false})),
    );
    assert_eq!(s, 200);
    let (s, group) = evo_json(
        &gw,
        "GET",
        &format!("/group/findGroupInfos/{name}?groupJid={gid}"),
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{group}");
    assert_eq!(group["subject"], "Team 2");
    assert_eq!(group["restrict"], true);
    assert_eq!(group["size"], 3, "{group}");
}

fn gw_owner(gw: &Gateway, name: &str) -> String {
    let (s, v) = evo_json(
        gw,
        "GET",
        &format!("/instance/fetchInstances?instanceName={name}"),
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{v}");
    v[0]["ownerJid"].as_str().unwrap().to_string()
}

#[test]
fn an_instance_added_to_a_group_reports_it_joined_and_the_adder_reports_the_member() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx_a = Receiver::start();
    let rx_b = Receiver::start();
    let (a, b) = ("adder", "added");
    for (name, rx) in [(a, &rx_a), (b, &rx_b)] {
        hook_all_dialects(&gw, rx, GLOBAL_KEY, name, &EVOLUTION_GROUP_EVENTS, &[], &[]);
    }
    let b_jid = gw_owner(&gw, b);
    let (s, created) = post(
        &gw,
        &format!("/group/create/{a}"),
        json!({"subject": "Club", "participants": [PEER_JID]}),
    );
    assert_eq!(s, 201, "{created}");
    let gid = created["id"].as_str().unwrap().to_string();
    let (s, v) = post(
        &gw,
        &format!("/group/updateParticipant/{a}?groupJid={gid}"),
        json!({"action": "add", "participants": [b_jid]}),
    );
    assert_eq!(s, 201, "{v}");

    // B: a participants event naming itself, then the group's metadata.
    let got = rx_b.wait_until("B's GROUPS_UPSERT", |r| {
        r.path == "/evolution" && r.body["event"] == "GROUPS_UPSERT"
    });
    let evo = bodies_of(&got, "evolution");
    let upsert = events_named(&evo, "GROUPS_UPSERT");
    assert_eq!(upsert.len(), 1);
    assert_eq!(upsert[0]["instance"], b);
    assert_eq!(upsert[0]["data"][0]["id"], gid.as_str());
    assert_eq!(upsert[0]["data"][0]["size"], 3);
    let parts = events_named(&evo, "GROUP_PARTICIPANTS_UPDATE");
    assert_eq!(parts[0]["data"]["participants"][0]["id"], b_jid.as_str());
    // B now lists the group from its stored copy, even with its link down.
    let (s, _) = gw.admin(
        "POST",
        &format!("/admin/sim/{b}/link"),
        Some(json!({"up": false})),
    );
    assert_eq!(s, 200);
    let (s, groups) = evo_json(
        &gw,
        "GET",
        &format!("/group/fetchAllGroups/{b}?getParticipants=false"),
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{groups}");
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == gid.as_str()),
        "{groups}"
    );

    // A: its own create, then B added, then (a sentinel: events of one instance
    // arrive in order) a rename; exactly those.
    let (s, v) = post(
        &gw,
        &format!("/group/updateGroupSubject/{a}?groupJid={gid}"),
        json!({"subject": "Club 2"}),
    );
    assert_eq!(s, 201, "{v}");
    let got = rx_a.wait_until("A's rename", |r| {
        r.path == "/evolution" && r.body["event"] == "GROUP_UPDATE"
    });
    let evo = bodies_of(&got, "evolution");
    let names: Vec<&Value> = evo.iter().map(|b| &b["event"]).collect();
    assert_eq!(
        names,
        [
            &json!("GROUPS_UPSERT"),
            &json!("GROUP_PARTICIPANTS_UPDATE"),
            &json!("GROUP_UPDATE")
        ]
    );
    let parts = events_named(&evo, "GROUP_PARTICIPANTS_UPDATE");
    assert_eq!(parts[0]["data"]["action"], "add");
    assert_eq!(parts[0]["data"]["participants"][0]["id"], b_jid.as_str());

    // B is removed: its stored copy goes (it is no longer a member).
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{b}/link"),
        Some(json!({"up": true})),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(
        &gw,
        &format!("/group/updateParticipant/{a}?groupJid={gid}"),
        json!({"action": "remove", "participants": [b_jid]}),
    );
    assert_eq!(s, 201, "{v}");
    rx_b.wait_until("B's removal", |r| {
        r.body["event"] == "GROUP_PARTICIPANTS_UPDATE" && r.body["data"]["action"] == "remove"
    });
    let (s, _) = gw.admin(
        "POST",
        &format!("/admin/sim/{b}/link"),
        Some(json!({"up": false})),
    );
    assert_eq!(s, 200);
    let (s, groups) = evo_json(
        &gw,
        "GET",
        &format!("/group/fetchAllGroups/{b}?getParticipants=false"),
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{groups}");
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["id"] != gid.as_str()),
        "{groups}"
    );
}

#[test]
fn a_member_change_on_the_phone_is_ruled_as_whatsapp_would() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "groupruling";
    hook_all_dialects(
        &gw,
        &rx,
        GLOBAL_KEY,
        name,
        &EVOLUTION_GROUP_EVENTS,
        &[],
        &[],
    );
    let (s, created) = post(
        &gw,
        &format!("/group/create/{name}"),
        json!({"subject": "Rules", "participants": [PEER_JID]}),
    );
    assert_eq!(s, 201, "{created}");
    let gid = created["id"].as_str().unwrap().to_string();
    let sim = format!("/admin/sim/{name}/group");
    // Not an admin: WhatsApp refuses settings and participants.
    let (s, v) = gw.admin(
        "POST",
        &sim,
        Some(json!({"group": gid, "author": PEER_JID, "action": "announcement", "value": true})),
    );
    assert_eq!(s, 403, "{v}");
    // Bad requests, each named.
    for (body, status) in [
        (
            json!({"group": gid, "author": PEER_JID, "action": "rename"}),
            400,
        ),
        (
            json!({"group": gid, "author": PEER_JID, "action": "locked", "value": "yes"}),
            400,
        ),
        (
            json!({"group": gid, "author": PEER_JID, "action": "add"}),
            400,
        ),
        (
            json!({"group": "120363000000000001@g.us", "author": PEER_JID, "action": "subject", "value": "x"}),
            404,
        ),
        (
            json!({"group": gid, "author": "not a jid", "action": "subject", "value": "x"}),
            400,
        ),
    ] {
        let (s, v) = gw.admin("POST", &sim, Some(body.clone()));
        assert_eq!(s, status, "{body} -> {v}");
    }
    // A member may rename an unlocked group; that is announced, the refusals were not.
    let (s, v) = gw.admin(
        "POST",
        &sim,
        Some(json!({"group": gid, "author": PEER_JID, "action": "subject", "value": "Renamed"})),
    );
    assert_eq!(s, 201, "{v}");
    let got = rx.wait_until("the rename", |r| {
        r.path == "/evolution" && r.body["event"] == "GROUP_UPDATE"
    });
    let evo = bodies_of(&got, "evolution");
    let updates = events_named(&evo, "GROUP_UPDATE");
    assert_eq!(updates.len(), 1, "{updates:#?}");
    assert_eq!(updates[0]["data"][0]["subject"], "Renamed");
    assert!(events_named(&evo, "GROUP_PARTICIPANTS_UPDATE").is_empty());
}

#[test]
fn a_new_contact_and_a_new_name_are_reported_once_each() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "contactevents";
    let hooked = hook_all_dialects(
        &gw,
        &rx,
        GLOBAL_KEY,
        name,
        &["CONTACTS_UPSERT", "CONTACTS_UPDATE"],
        &["contact.upsert", "contact.update"],
        &[],
    );
    let inbound = |text: &str, push_name: &str| {
        let (s, v) = gw.admin(
            "POST",
            &format!("/admin/sim/{name}/inbound"),
            Some(json!({"from": PEER_JID, "text": text, "pushName": push_name})),
        );
        assert_eq!(s, 201, "{v}");
    };
    inbound("hi", "Ana");
    inbound("again", "Ana");
    inbound("renamed", "Ana Maria");
    let got = rx.wait_until_all("the update in both dialects", |got| {
        bodies_of(got, "evolution")
            .iter()
            .any(|b| b["event"] == "CONTACTS_UPDATE")
            && bodies_of(got, "v1")
                .iter()
                .any(|b| b["event"] == "contact.update")
    });
    let evo = bodies_of(&got, "evolution");
    let names: Vec<(&Value, &Value)> = evo
        .iter()
        .map(|b| (&b["event"], &b["data"]["pushName"]))
        .collect();
    assert_eq!(
        names,
        [
            (&json!("CONTACTS_UPSERT"), &json!("Ana")),
            (&json!("CONTACTS_UPDATE"), &json!("Ana Maria")),
        ]
    );
    assert_eq!(evo[0]["data"]["remoteJid"], PEER_JID);
    assert_eq!(evo[0]["data"]["instanceId"], hooked.id.as_str());
    let v1 = bodies_of(&got, "v1");
    assert_eq!(v1[0]["event"], "contact.upsert");
    assert_eq!(
        v1[0]["payload"],
        json!({"name": "Ana", "source": "dm", "phoneNumber": "5511955554444", "isBusiness": false})
    );
    // RyzeAPI's catalog has no contact event: its webhook (all events) got the three
    // messages and nothing else, up to a sentinel (one instance's events arrive in
    // order).
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/inbound"),
        Some(json!({"from": OTHER_JID, "text": "sentinel"})),
    );
    assert_eq!(s, 201, "{v}");
    let got = rx.wait_until_all("Ryze's sentinel", |got| {
        bodies_of(got, "ryze")
            .iter()
            .any(|b| b["data"]["message"]["content"]["text"] == "sentinel")
    });
    let ryze: Vec<&Value> = bodies_of(&got, "ryze")
        .into_iter()
        .map(|b| &b["event"])
        .collect();
    assert_eq!(ryze, [&json!("message.exchange"); 4]);
}

#[test]
fn an_instance_that_ignores_groups_reports_no_group_changes() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "groupsignored";
    let mut events = EVOLUTION_GROUP_EVENTS.to_vec();
    events.push("MESSAGES_UPSERT");
    let hooked = hook_all_dialects(&gw, &rx, GLOBAL_KEY, name, &events, &[], &[]);
    let (s, v) = gw.call(
        "PUT",
        &format!("/core/instances/{name}/settings"),
        Some(&hooked.bearer),
        Some(json!({"ignore_groups": true})),
    );
    assert_eq!(s, 200, "{v}");
    let (s, created) = post(
        &gw,
        &format!("/group/create/{name}"),
        json!({"subject": "Quiet", "participants": [PEER_JID]}),
    );
    assert_eq!(s, 201, "{created}");
    let gid = created["id"].as_str().unwrap().to_string();
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/group"),
        Some(
            json!({"group": gid, "author": PEER_JID, "action": "subject", "value": "Still quiet"}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    // A direct message is the sentinel: the instance's events arrive in order.
    gw.inbound(name, PEER_JID, "after the group changes", false);
    let got = rx.wait_until("the sentinel", |r| {
        r.path == "/evolution" && r.body["event"] == "MESSAGES_UPSERT"
    });
    let evo = bodies_of(&got, "evolution");
    assert_eq!(evo.len(), 1, "{evo:#?}");
    // The stored copy still follows the group.
    let (s, _) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/link"),
        Some(json!({"up": false})),
    );
    assert_eq!(s, 200);
    let (s, group) = evo_json(
        &gw,
        "GET",
        &format!("/group/findGroupInfos/{name}?groupJid={gid}"),
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{group}");
    assert_eq!(group["subject"], "Still quiet");
}
