//! Issue 17, structured messages: Evolution's `sendLocation`, `sendContact` and
//! `sendPoll` to their DTOs (and their mistakes as Evolution's 400s), and inbound
//! locations, contact cards, polls and kinds the gateway does not understand, stored
//! as typed messages and shown in each dialect.

use crate::common;

use common::Gateway;
use common::evolution::{evo_json, open_instance};
use common::receiver::Receiver;
use common::ryze::ryze_json;
use common::v1::v1;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-content";
const PEER: &str = "5511955554444";
const PEER_JID: &str = "5511955554444@s.whatsapp.net";

fn send(gw: &Gateway, route: &str, name: &str, key: &str, body: Value) -> (u16, Value) {
    evo_json(
        gw,
        "POST",
        &format!("/message/{route}/{name}"),
        Some(key),
        Some(body),
    )
}

fn stored(gw: &Gateway, name: &str, id: &str) -> Value {
    let key = gw.key("default", None);
    let (s, v) = gw.call(
        "GET",
        &format!("/core/instances/{name}/messages/{id}"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200, "{v}");
    v
}

#[test]
fn evolution_sends_locations_contacts_and_polls_and_refuses_what_whatsapp_would_not_carry() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let name = "content";
    let hash = open_instance(&gw, GLOBAL_KEY, name);

    let (s, v) = send(
        &gw,
        "sendLocation",
        name,
        &hash,
        json!({"number": PEER, "latitude": -23.5505, "longitude": -46.6333, "name": "Sé", "address": "Praça da Sé"}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["messageType"], "locationMessage");
    assert_eq!(v["status"], "PENDING");
    assert_eq!(v["key"]["remoteJid"], PEER_JID);
    assert_eq!(v["message"]["locationMessage"]["degreesLatitude"], -23.5505);
    assert_eq!(v["message"]["locationMessage"]["name"], "Sé");
    let m = stored(&gw, name, v["key"]["id"].as_str().unwrap());
    assert_eq!(
        m["content"],
        json!({"type": "location", "latitude": -23.5505, "longitude": -46.6333, "name": "Sé", "address": "Praça da Sé"})
    );

    let (s, v) = send(
        &gw,
        "sendContact",
        name,
        &hash,
        json!({"number": PEER, "contact": [{"fullName": "Ana Souza", "phoneNumber": "5511911112222", "organization": "Acme"}]}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["messageType"], "contactMessage");
    let card = v["message"]["contactMessage"]["vcard"].as_str().unwrap();
    assert!(
        card.starts_with("BEGIN:VCARD\nVERSION:3.0\nN:Ana Souza\nFN:Ana Souza\nORG:Acme;\n"),
        "{card}"
    );
    assert!(
        card.ends_with(
            "item1.TEL;waid=5511911112222:5511911112222\nitem1.X-ABLabel:Celular\nEND:VCARD"
        ),
        "{card}"
    );
    let (s, v) = send(
        &gw,
        "sendContact",
        name,
        &hash,
        json!({"number": PEER, "contact": [
            {"fullName": "Ana", "phoneNumber": "5511911112222"},
            {"fullName": "Bia", "phoneNumber": "5511933334444"}
        ]}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["messageType"], "contactsArrayMessage");
    assert_eq!(
        v["message"]["contactsArrayMessage"]["displayName"],
        "2 contacts"
    );
    assert_eq!(
        v["message"]["contactsArrayMessage"]["contacts"][1]["displayName"],
        "Bia"
    );

    let (s, v) = send(
        &gw,
        "sendPoll",
        name,
        &hash,
        json!({"number": PEER, "name": "Lunch?", "selectableCount": 1, "values": ["pizza", "sushi", "salad"]}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["messageType"], "pollCreationMessage");
    assert_eq!(
        v["message"]["pollCreationMessage"],
        json!({"name": "Lunch?", "options": [{"optionName": "pizza"}, {"optionName": "sushi"}, {"optionName": "salad"}], "selectableOptionsCount": 1})
    );
    // selectableCount 0: any number of the options.
    let (s, v) = send(
        &gw,
        "sendPoll",
        name,
        &hash,
        json!({"number": PEER, "name": "Toppings", "selectableCount": 0, "values": ["a", "b"]}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        v["message"]["pollCreationMessage"]["selectableOptionsCount"],
        2
    );

    // Mistakes: each a 400 in Evolution's shape saying what is wrong.
    let eleven: Vec<String> = (0..11).map(|i| format!("o{i}")).collect();
    for (route, body, says) in [
        (
            "sendLocation",
            json!({"number": PEER, "latitude": 91, "longitude": 0, "name": "", "address": ""}),
            "latitude must be between -90 and 90",
        ),
        (
            "sendLocation",
            json!({"number": PEER, "latitude": 0, "longitude": -180.5, "name": "", "address": ""}),
            "longitude must be between -180 and 180",
        ),
        (
            "sendLocation",
            json!({"number": PEER, "latitude": 0, "longitude": 0}),
            "name",
        ),
        (
            "sendPoll",
            json!({"number": PEER, "name": "Q", "selectableCount": 1, "values": ["only"]}),
            "minimum length of 2",
        ),
        (
            "sendPoll",
            json!({"number": PEER, "name": "Q", "selectableCount": 1, "values": eleven}),
            "maximum length of 10",
        ),
        (
            "sendPoll",
            json!({"number": PEER, "name": "Q", "selectableCount": 1, "values": ["a", "a"]}),
            "given twice",
        ),
        (
            "sendPoll",
            json!({"number": PEER, "name": "Q", "selectableCount": 3, "values": ["a", "b"]}),
            "selectable must be between 1 and the number of options",
        ),
        (
            "sendContact",
            json!({"number": PEER, "contact": []}),
            "minimum length of 1",
        ),
        (
            "sendContact",
            json!({"number": PEER, "contact": [{"fullName": "Ana", "phoneNumber": "123"}]}),
            "phoneNumber",
        ),
    ] {
        let (s, v) = send(&gw, route, name, &hash, body);
        assert_eq!(s, 400, "{route}: {v}");
        assert_eq!(v["status"], 400, "{v}");
        assert!(
            v["response"]["message"].to_string().contains(says),
            "{route}: want {says:?} in {v}"
        );
    }

    // Another instance's token: Evolution's guard, nothing sent.
    let other = open_instance(&gw, GLOBAL_KEY, "other");
    let (s, v) = send(
        &gw,
        "sendPoll",
        name,
        &other,
        json!({"number": PEER, "name": "Q", "selectableCount": 1, "values": ["a", "b"]}),
    );
    assert_eq!(s, 401, "{v}");
}

#[test]
fn inbound_locations_contacts_polls_and_unknown_kinds_are_stored_typed_and_shown() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "inbox";
    open_instance(&gw, GLOBAL_KEY, name);
    let key = gw.key("default", None);
    let (_, inst) = gw.call("GET", &format!("/core/instances/{name}"), Some(&key), None);
    let sid = inst["id"].as_str().unwrap().to_string();
    let account = gw.credential("default", "ryze-account");
    common::evolution::set_webhook(
        &gw,
        GLOBAL_KEY,
        name,
        &rx.url("evolution"),
        &["MESSAGES_UPSERT"],
    );

    let inject = |content: Value| {
        let (s, v) = gw.admin(
            "POST",
            &format!("/admin/sim/{name}/inbound"),
            Some(json!({"from": PEER, "content": content})),
        );
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_string()
    };
    let location = inject(
        json!({"type": "location", "latitude": 48.8584, "longitude": 2.2945, "name": "Tour Eiffel"}),
    );
    let poll = inject(
        json!({"type": "poll", "question": "When?", "options": ["now", "later"], "selectable": 1}),
    );
    let contacts = inject(
        json!({"type": "contacts", "contacts": [{"display_name": "Ana", "vcard": "BEGIN:VCARD\nFN:Ana\nEND:VCARD"}]}),
    );
    let unknown = inject(json!({"type": "unsupported", "type_name": "eventMessage"}));

    assert_eq!(
        stored(&gw, name, &unknown)["content"],
        json!({"type": "unsupported", "type_name": "eventMessage"})
    );

    // Evolution: Baileys' message types, in findMessages and MESSAGES_UPSERT.
    let (s, v) = evo_json(
        &gw,
        "POST",
        &format!("/chat/findMessages/{name}"),
        Some(GLOBAL_KEY),
        Some(json!({"where": {"key": {"remoteJid": PEER_JID}}})),
    );
    assert_eq!(s, 200, "{v}");
    let records = v["messages"]["records"].as_array().unwrap();
    let record = |id: &str| {
        records
            .iter()
            .find(|r| r["key"]["id"] == id)
            .unwrap_or_else(|| panic!("{id}: {v}"))
            .clone()
    };
    assert_eq!(record(&location)["messageType"], "locationMessage");
    assert_eq!(
        record(&location)["message"]["locationMessage"]["degreesLongitude"],
        2.2945
    );
    assert_eq!(record(&poll)["messageType"], "pollCreationMessage");
    assert_eq!(record(&contacts)["messageType"], "contactMessage");
    assert_eq!(record(&unknown)["messageType"], "eventMessage");
    let got = rx.wait_until_all("four upserts", |got| got.len() >= 4);
    let types: Vec<&Value> = got.iter().map(|r| &r.body["data"]["messageType"]).collect();
    assert_eq!(
        types,
        [
            "locationMessage",
            "pollCreationMessage",
            "contactMessage",
            "eventMessage"
        ]
    );

    // RyzeAPI's history and sessions/v1's listing: the kind as `type`, its `content`.
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/chat/history/{name}"),
        Some(&account),
        json!({"number": PEER}),
    );
    assert_eq!(s, 200, "{v}");
    let by_id = |list: &Value, id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("{id}: {list}"))
            .clone()
    };
    let m = by_id(&v["messages"], &location);
    assert_eq!(m["type"], "location");
    assert_eq!(m["content"]["name"], "Tour Eiffel");
    assert_eq!(
        by_id(&v["messages"], &unknown)["content"],
        json!({"typeName": "eventMessage"})
    );
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{sid}/chats/{PEER_JID}/messages"),
        &key,
        None,
    );
    assert_eq!(s, 200, "{v}");
    let m = by_id(&v["data"], &poll);
    assert_eq!(m["type"], "poll");
    assert_eq!(
        m["content"],
        json!({"question": "When?", "options": ["now", "later"], "selectable": 1})
    );
    assert_eq!(by_id(&v["data"], &unknown)["type"], "unsupported");
}

#[test]
fn ryze_and_sessions_v1_send_locations_contacts_and_polls() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let account = gw.credential("default", "ryze-account");
    let bearer = gw.credential("default", "api-key");
    let name = "typed";
    let (instance, _) = gw.connected_instance(&bearer, name);
    let sid = instance["id"].as_str().unwrap().to_string();
    let ryze = |route: &str, body: Value| {
        ryze_json(
            &gw,
            "POST",
            &format!("/api/message/{route}/{name}"),
            Some(&account),
            body,
        )
    };

    // RyzeAPI: each kind, answered as a text send is, with what was sent in `content`.
    let (s, v) = ryze(
        "location",
        json!({"number": PEER, "latitude": -23.5505, "longitude": -46.6333, "name": "Shop"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["data"]["content"]["location"]["latitude"], -23.5505);
    let loc = v["data"]["messageId"].as_str().unwrap().to_string();
    assert_eq!(stored(&gw, name, &loc)["content"]["type"], "location");
    let (s, v) = ryze(
        "contact",
        json!({"number": PEER, "contacts": [{"name": "Ana", "phone": "+55 11 97777-6666"}]}),
    );
    assert_eq!(s, 200, "{v}");
    let card = v["data"]["content"]["contacts"][0]["vcard"]
        .as_str()
        .unwrap();
    assert!(
        card.contains("FN:Ana") && card.contains("waid=5511977776666"),
        "{card}"
    );
    let (s, v) = ryze(
        "poll",
        json!({"number": PEER, "question": "Lunch?", "options": ["Yes", "No"]}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["content"]["poll"]["selectable"], 1);
    // Refusals: Ryze's error shape, with the reason.
    for (route, body) in [
        (
            "location",
            json!({"number": PEER, "latitude": 91.0, "longitude": 0.0}),
        ),
        ("location", json!({"number": PEER, "latitude": 1.0})),
        ("contact", json!({"number": PEER, "contacts": []})),
        (
            "contact",
            json!({"number": PEER, "contacts": [{"name": "No phone"}]}),
        ),
        (
            "poll",
            json!({"number": PEER, "question": "One?", "options": ["only"]}),
        ),
        (
            "poll",
            json!({"number": PEER, "question": "Dup?", "options": ["a", "a"]}),
        ),
        ("poll", json!({"question": "Who?", "options": ["a", "b"]})),
    ] {
        let (s, v) = ryze(route, body.clone());
        assert_eq!(s, 400, "{route} {body}: {v}");
        assert_eq!(v["success"], false, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }

    // sessions/v1: quick-whatsapp-gateway's `type`s on the one send route.
    let v1_send = |body: Value| {
        v1(
            &gw,
            "POST",
            &format!("/sessions/{sid}/messages"),
            &bearer,
            Some(body),
        )
    };
    let (s, v) = v1_send(
        json!({"type": "location", "to": PEER, "latitude": 38.7223, "longitude": -9.1393, "address": "Lisboa"}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["content"]["address"], "Lisboa", "{v}");
    let (s, v) = v1_send(
        json!({"type": "contact", "to": PEER, "contact": {"vcard": "BEGIN:VCARD\nVERSION:3.0\nFN:Bia\nEND:VCARD"}}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["content"][0]["displayName"], "Bia", "{v}");
    let (s, v) = v1_send(
        json!({"type": "poll", "to": PEER, "name": "Which day?", "options": ["Mon", "Tue", "Wed"], "selectableCount": 2}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["content"]["selectable"], 2, "{v}");
    let poll = v["id"].as_str().unwrap().to_string();
    assert_eq!(
        stored(&gw, name, &poll)["content"]["options"],
        json!(["Mon", "Tue", "Wed"])
    );
    // Each mistake named in the v1 422.
    let (s, v) = v1_send(json!({"type": "location", "to": PEER, "latitude": "north", "extra": 1}));
    assert_eq!(s, 422, "{v}");
    let f = &v["error"]["details"]["fields"];
    assert!(
        f["latitude"].is_string() && f["longitude"].is_string() && f["extra"].is_string(),
        "{v}"
    );
    let (s, v) = v1_send(json!({"type": "contact", "to": PEER, "contact": {"name": "No phone"}}));
    assert_eq!(s, 422, "{v}");
    let (s, v) = v1_send(json!({"type": "poll", "to": PEER, "name": "Hm?", "options": ["a"]}));
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "validation_error");
}
