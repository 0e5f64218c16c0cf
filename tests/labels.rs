//! Issue 18, labels: the chat labels the phone syncs (WhatsApp Business) are stored and
//! reported in every dialect (Evolution `LABELS_EDIT` / `LABELS_ASSOCIATION`, RyzeAPI
//! `label.update`, sessions/v1 `label.edit` / `label.association`), listed by
//! Evolution's `/label/findLabels`, Ryze's `/api/label/list` and v1's `/labels`, and put
//! on or taken off a chat by Evolution's `/label/handleLabel`, Ryze's
//! `/api/label/chat` and v1's `PUT`/`DELETE .../chats/{cid}/labels/{labelId}`. The sim
//! plays the phone at `/admin/sim/{i}/label` and `/admin/sim/{i}/label-chat`.

use crate::common;

use common::Gateway;
use common::dialect_hooks::{bodies_of, hook_all_dialects};
use common::evolution::evo_json;
use common::receiver::Receiver;
use common::ryze::ryze_json;
use common::v1::v1;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-labels";
const PEER: &str = "5511977776666";
const PEER_JID: &str = "5511977776666@s.whatsapp.net";
const CLIENT: &str = "5511944443333";
const CLIENT_JID: &str = "5511944443333@s.whatsapp.net";
/// The sim network has no account for numbers ending in 0000.
const NOBODY: &str = "5511911110000";

fn phone_label(gw: &Gateway, name: &str, label: Value) {
    let (s, v) = gw.admin("POST", &format!("/admin/sim/{name}/label"), Some(label));
    assert_eq!(s, 204, "the phone's label edit: {v}");
}

fn phone_labels_chat(gw: &Gateway, name: &str, label_id: &str, chat: &str, labeled: bool) {
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/label-chat"),
        Some(json!({"labelId": label_id, "chat": chat, "labeled": labeled})),
    );
    assert_eq!(s, 204, "the phone's label association: {v}");
}

fn handle_label(gw: &Gateway, key: &str, name: &str, body: Value) -> (u16, Value) {
    evo_json(
        gw,
        "POST",
        &format!("/label/handleLabel/{name}"),
        Some(key),
        Some(body),
    )
}

fn events_named<'a>(bodies: &[&'a Value], event: &str) -> Vec<&'a Value> {
    bodies
        .iter()
        .filter(|b| b["event"] == event)
        .copied()
        .collect()
}

fn evolution_error(status: u16, messages: &[&str]) -> Value {
    let error = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        _ => unreachable!(),
    };
    json!({"status": status, "error": error, "response": {"message": messages}})
}

#[test]
fn the_phones_labels_reach_every_dialect_and_handle_label_round_trips() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "tagged";
    let hooked = hook_all_dialects(
        &gw,
        &rx,
        GLOBAL_KEY,
        name,
        &["LABELS_EDIT", "LABELS_ASSOCIATION"],
        &["label.edit", "label.association"],
        &["label.update"],
    );

    // Nothing yet.
    let (s, v) = evo_json(
        &gw,
        "GET",
        &format!("/label/findLabels/{name}"),
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, v), (200, json!([])));

    // The phone creates two labels and puts one on a chat.
    phone_label(&gw, name, json!({"id": "5", "name": "Paid", "color": 3}));
    phone_label(
        &gw,
        name,
        json!({"id": "6", "name": "New customer", "color": 1, "predefinedId": "2"}),
    );
    phone_labels_chat(&gw, name, "5", PEER, true);

    let (s, v) = evo_json(
        &gw,
        "GET",
        &format!("/label/findLabels/{name}"),
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!([
            {"color": "3", "name": "Paid", "id": "5", "predefinedId": null},
            {"color": "1", "name": "New customer", "id": "6", "predefinedId": "2"},
        ])
    );

    let got = rx.wait_until_all("the labels in every dialect", |got| {
        bodies_of(got, "evolution").len() >= 3
            && bodies_of(got, "ryze").len() >= 3
            && bodies_of(got, "v1").len() >= 3
    });
    let evolution = bodies_of(&got, "evolution");
    let edits = events_named(&evolution, "LABELS_EDIT");
    assert_eq!(edits.len(), 2, "{evolution:#?}");
    assert_eq!(
        edits[0]["data"],
        json!({"id": "5", "name": "Paid", "color": 3, "deleted": false, "instance": name})
    );
    assert_eq!(edits[1]["data"]["predefinedId"], "2");
    let associations = events_named(&evolution, "LABELS_ASSOCIATION");
    assert_eq!(
        associations[0]["data"],
        json!({"instance": name, "type": "add", "chatId": PEER_JID, "labelId": "5"})
    );
    let ryze = bodies_of(&got, "ryze");
    assert!(
        ryze.iter().all(|b| b["event"] == "label.update"),
        "{ryze:#?}"
    );
    assert_eq!(ryze[0]["data"]["type"], "edit");
    assert_eq!(
        ryze[0]["data"]["label"],
        json!({"id": "5", "name": "Paid", "color": 3, "predefinedId": null, "deleted": false})
    );
    assert_eq!(ryze[2]["data"]["type"], "association");
    assert_eq!(
        (
            &ryze[2]["data"]["chat"],
            &ryze[2]["data"]["labelId"],
            &ryze[2]["data"]["labeled"]
        ),
        (&json!(PEER), &json!("5"), &json!(true))
    );
    let v1_events = bodies_of(&got, "v1");
    assert_eq!(v1_events[0]["event"], "label.edit");
    assert_eq!(v1_events[0]["payload"]["name"], "Paid");
    assert_eq!(v1_events[2]["event"], "label.association");
    assert_eq!(
        (
            &v1_events[2]["payload"]["chatJid"],
            &v1_events[2]["payload"]["labeled"]
        ),
        (&json!(PEER_JID), &json!(true))
    );

    // handleLabel puts label 5 on another chat, on the account's devices.
    let (s, v) = handle_label(
        &gw,
        GLOBAL_KEY,
        name,
        json!({"number": CLIENT, "labelId": "5", "action": "add"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"numberJid": CLIENT_JID, "labelId": "5", "add": true})
    );
    let (s, actions) = gw.admin("GET", &format!("/admin/sim/{name}/actions"), None);
    assert_eq!(s, 200);
    assert!(
        actions
            .as_array()
            .unwrap()
            .contains(&json!(format!("label-add 5 {CLIENT_JID}"))),
        "{actions}"
    );
    let (s, v) = ryze_json(
        &gw,
        "GET",
        &format!("/api/label/chat/{name}?number={CLIENT}"),
        Some(&hooked.account),
        json!({}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["labels"][0]["id"], "5");
    assert_eq!(v["chat"], CLIENT);
    // ... and takes it off again.
    let (s, v) = handle_label(
        &gw,
        GLOBAL_KEY,
        name,
        json!({"number": CLIENT, "labelId": "5", "action": "remove"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"numberJid": CLIENT_JID, "labelId": "5", "remove": true})
    );
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{}/chats/{CLIENT_JID}/labels", hooked.id),
        &hooked.bearer,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"], json!([]));
    // The first chat keeps its label.
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{}/chats/{PEER_JID}/labels", hooked.id),
        &hooked.bearer,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"][0]["id"], "5");

    // The phone repeats an edit (nothing new: no event), then deletes label 6.
    phone_label(&gw, name, json!({"id": "5", "name": "Paid", "color": 3}));
    phone_label(&gw, name, json!({"id": "6", "deleted": true}));
    let got = rx.wait_until_all("the deletion", |got| {
        events_named(&bodies_of(got, "evolution"), "LABELS_EDIT")
            .iter()
            .any(|b| b["data"]["deleted"] == true)
    });
    let evolution = bodies_of(&got, "evolution");
    let edits = events_named(&evolution, "LABELS_EDIT");
    assert_eq!(edits.len(), 3, "a repeated edit is no event: {edits:#?}");
    assert_eq!(
        edits[2]["data"],
        json!({"id": "6", "name": "New customer", "color": 1, "deleted": true,
               "predefinedId": "2", "instance": name})
    );
    // handleLabel's add and remove were reported too.
    let types: Vec<&Value> = events_named(&evolution, "LABELS_ASSOCIATION")
        .iter()
        .map(|b| &b["data"]["type"])
        .collect();
    assert_eq!(types, ["add", "add", "remove"]);
    let (_, v) = ryze_json(
        &gw,
        "GET",
        &format!("/api/label/list/{name}"),
        Some(&hooked.account),
        json!({}),
    );
    assert_eq!(
        v,
        json!({"success": true, "labels": [{"id": "5", "name": "Paid", "color": 3, "predefinedId": null}]})
    );
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{}/labels", hooked.id),
        &hooked.bearer,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1), "{v}");

    // The phone labels a chat by its LID; the gateway knows the phone number behind
    // it (a message carried both), so the chat's labels are found by either address.
    let lid = "190000000000077@lid";
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/inbound"),
        Some(json!({"from": lid, "fromAlt": CLIENT, "text": "it's me"})),
    );
    assert_eq!(s, 201, "{v}");
    phone_labels_chat(&gw, name, "5", lid, true);
    // (CLIENT_JID's own label came off above: only the LID's is left to find.)
    for address in [lid, CLIENT_JID] {
        let (s, v) = v1(
            &gw,
            "GET",
            &format!("/sessions/{}/chats/{address}/labels", hooked.id),
            &hooked.bearer,
            None,
        );
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["data"][0]["id"], "5", "{address}: {v}");
    }

    // sessions/v1 puts it on and takes it off too.
    let path = format!("/sessions/{}/chats/{CLIENT_JID}/labels/5", hooked.id);
    let (s, v) = v1(&gw, "PUT", &path, &hooked.bearer, None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["labelId"], &v["chatJid"], &v["labeled"]),
        (&json!("5"), &json!(CLIENT_JID), &json!(true))
    );
    let (s, _) = v1(&gw, "DELETE", &path, &hooked.bearer, None);
    assert_eq!(s, 204);
}

#[test]
fn label_routes_refuse_bad_input_and_other_tenants_in_each_dialects_shape() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "guarded";
    let hooked = hook_all_dialects(&gw, &rx, GLOBAL_KEY, name, &["LABELS_EDIT"], &[], &[]);
    phone_label(&gw, name, json!({"id": "1", "name": "Lead", "color": 0}));
    // The phone cannot put on a chat a label it does not have.
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/label-chat"),
        Some(json!({"labelId": "77", "chat": PEER, "labeled": true})),
    );
    assert_eq!(s, 404, "{v}");

    // Evolution: its schema's messages, then its service's answers.
    for (body, status, messages) in [
        (
            json!({"labelId": "1", "action": "add"}),
            400,
            vec!["instance requires property \"number\""],
        ),
        (
            json!({"number": PEER, "action": "add"}),
            400,
            vec!["instance requires property \"labelId\""],
        ),
        (
            json!({"number": PEER, "labelId": "1", "action": "tag"}),
            400,
            vec!["action is not one of enum values: add,remove"],
        ),
        (
            json!({"number": "", "labelId": "1", "action": "add"}),
            400,
            vec!["The \"number\" cannot be empty"],
        ),
        (
            json!({"number": PEER, "labelId": "99", "action": "add"}),
            400,
            vec!["Unable to add label to chat", "label 99 not found"],
        ),
        (
            json!({"number": NOBODY, "labelId": "1", "action": "add"}),
            404,
            vec!["Number is not on WhatsApp"],
        ),
    ] {
        let (s, v) = handle_label(&gw, GLOBAL_KEY, name, body.clone());
        assert_eq!(
            (s, v),
            (status, evolution_error(status, &messages)),
            "{body}"
        );
    }
    // Nothing of that reached the sim's wire.
    let (_, actions) = gw.admin("GET", &format!("/admin/sim/{name}/actions"), None);
    assert!(
        !actions.to_string().contains("label-"),
        "a refused label went out: {actions}"
    );

    // A read-only key lists but cannot label; another org's key sees no instance.
    let (s, ro) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "default", "kind": "evolution-key", "capabilities": ["read"]})),
    );
    assert_eq!(s, 201, "{ro}");
    let ro = ro["token"].as_str().unwrap();
    let (s, v) = evo_json(
        &gw,
        "GET",
        &format!("/label/findLabels/{name}"),
        Some(ro),
        None,
    );
    assert_eq!((s, v[0]["id"].clone()), (200, json!("1")));
    let add = json!({"number": PEER, "labelId": "1", "action": "add"});
    let (s, v) = handle_label(&gw, ro, name, add.clone());
    assert_eq!(s, 403, "{v}");
    let (s, _) = gw.admin("POST", "/admin/orgs", Some(json!({"name": "other"})));
    assert_eq!(s, 201);
    let (s, other) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "other", "kind": "evolution-key"})),
    );
    assert_eq!(s, 201, "{other}");
    let other = other["token"].as_str().unwrap();
    let (s, v) = evo_json(
        &gw,
        "GET",
        &format!("/label/findLabels/{name}"),
        Some(other),
        None,
    );
    assert_eq!(s, 404, "{v}");
    let (s, v) = handle_label(&gw, other, name, add.clone());
    assert_eq!(s, 404, "{v}");

    // RyzeAPI.
    let ryze_path = format!("/api/label/chat/{name}");
    for (body, status, message) in [
        (
            json!({"labelId": "1", "action": "add"}),
            400,
            "Number is required",
        ),
        (
            json!({"number": PEER, "action": "add"}),
            400,
            "labelId is required",
        ),
        (
            json!({"number": PEER, "labelId": "1", "action": "x"}),
            400,
            "action must be add or remove",
        ),
        (
            json!({"number": PEER, "labelId": "99", "action": "add"}),
            404,
            "Label not found",
        ),
    ] {
        let (s, v) = ryze_json(&gw, "POST", &ryze_path, Some(&hooked.account), body.clone());
        assert_eq!((s, v), (status, common::ryze::error(message)), "{body}");
    }
    let other_account = common::ryze::account(&gw, "other");
    let (s, v) = ryze_json(&gw, "POST", &ryze_path, Some(&other_account), add.clone());
    assert_eq!((s, v), (404, common::ryze::error("Instance not found")));

    // sessions/v1.
    let sid = &hooked.id;
    let (s, v) = v1(
        &gw,
        "PUT",
        &format!("/sessions/{sid}/chats/{PEER_JID}/labels/99"),
        &hooked.bearer,
        None,
    );
    assert_eq!(
        (s, v),
        (
            404,
            common::v1::err("not_found", "label not found", json!({}))
        )
    );
    let (s, v) = v1(
        &gw,
        "PUT",
        &format!("/sessions/{sid}/chats/not-a-jid/labels/1"),
        &hooked.bearer,
        None,
    );
    assert_eq!(
        (s, v),
        (
            404,
            common::v1::err("not_found", "chat not found", json!({}))
        )
    );
    let read_only = gw.key("default", Some(&["read"]));
    let (s, v) = v1(
        &gw,
        "PUT",
        &format!("/sessions/{sid}/chats/{PEER_JID}/labels/1"),
        &read_only,
        None,
    );
    assert_eq!(s, 403, "{v}");
    let other_key = gw.key("other", None);
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{sid}/labels"),
        &other_key,
        None,
    );
    assert_eq!(
        (s, v),
        (
            404,
            common::v1::err("not_found", "session not found", json!({}))
        )
    );

    // None of it labelled anything.
    let (_, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{sid}/chats/{PEER_JID}/labels"),
        &hooked.bearer,
        None,
    );
    assert_eq!(v["data"], json!([]));
}
