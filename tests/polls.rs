//! Issue 17, poll votes: a vote arrives encrypted with its poll's message secret (the
//! sim encrypts its votes as a WhatsApp client does, `/admin/sim/{i}/poll-vote`), and
//! the gateway opens it with the secret it kept, for its own polls (sent through a
//! dialect) and for inbound ones; the poll keeps each voter's latest vote, a vote it
//! cannot read is kept with why, and each vote is an event in every dialect's shape
//! (Evolution `MESSAGES_UPDATE` with `pollUpdates`, RyzeAPI `message.exchange` type
//! `poll_vote`, sessions/v1 `message.poll_vote`), and each dialect's reads show the
//! tally. Errors: a vote on a message that is not stored, or is not a poll.

use crate::common;

use common::Gateway;
use common::evolution::evo_json;
use common::receiver::{Received, Receiver};
use common::ryze::ryze_json;
use common::v1::v1;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-polls";
const PEER: &str = "5511966665555";
const PEER_JID: &str = "5511966665555@s.whatsapp.net";
const OTHER_JID: &str = "5511944443333@s.whatsapp.net";
const THIRD_JID: &str = "5511922221111@s.whatsapp.net";

fn at<'a>(got: &'a [Received], path: &str) -> Vec<&'a Value> {
    got.iter()
        .filter(|r| r.path == path)
        .map(|r| &r.body)
        .collect()
}

fn vote(gw: &Gateway, name: &str, body: Value) -> (u16, Value) {
    gw.admin("POST", &format!("/admin/sim/{name}/poll-vote"), Some(body))
}

#[test]
fn votes_on_own_and_inbound_polls_are_decrypted_tallied_and_reported_in_every_dialect() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let account = gw.credential("default", "ryze-account");
    let bearer = gw.credential("default", "api-key");
    let name = "voting";
    let (instance, _) = gw.connected_instance(&bearer, name);
    let sid = instance["id"].as_str().unwrap().to_string();
    common::evolution::set_webhook(
        &gw,
        GLOBAL_KEY,
        name,
        &rx.url("evolution"),
        &["MESSAGES_UPDATE"],
    );
    common::ryze::set_webhook(&gw, &account, name, &rx.url("ryze"), &["message.exchange"]);
    common::v1::set_webhook(&gw, &bearer, &sid, &rx.url("v1"), &["message.poll_vote"]);

    // This account's poll, sent through Evolution.
    let (s, v) = evo_json(
        &gw,
        "POST",
        &format!("/message/sendPoll/{name}"),
        Some(GLOBAL_KEY),
        Some(
            json!({"number": PEER, "name": "Colour?", "selectableCount": 2, "values": ["red", "blue", "green"]}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    let poll = v["key"]["id"].as_str().unwrap().to_string();

    // The contact votes red, another member red and blue, then the contact changes
    // to blue: the latest vote of each voter counts.
    let (s, v) = vote(&gw, name, json!({"pollId": poll, "options": ["red"]}));
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["vote"]["voter"], PEER_JID);
    assert_eq!(v["vote"]["options"], json!(["red"]));
    assert!(v["vote"].get("error").is_none(), "{v}");
    let (s, v) = vote(
        &gw,
        name,
        json!({"pollId": poll, "options": ["blue", "red"], "from": OTHER_JID}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["vote"]["options"], json!(["red", "blue"]), "poll order");
    let (s, v) = vote(&gw, name, json!({"pollId": poll, "options": ["blue"]}));
    assert_eq!(s, 201, "{v}");
    // A vote the gateway cannot open (encrypted with another secret): kept, with why.
    let (s, v) = vote(
        &gw,
        name,
        json!({"pollId": poll, "options": ["green"], "from": THIRD_JID, "garbled": true}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["vote"]["options"], json!([]));
    let why = v["vote"]["error"].as_str().expect("an error");
    assert!(why.contains("could not be decrypted"), "{why}");

    // Stored: three voters, the contact's latest vote, the unreadable one kept; the
    // poll's secret is nowhere in the message.
    let key = gw.key("default", None);
    let (s, m) = gw.call(
        "GET",
        &format!("/core/instances/{name}/messages/{poll}"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200, "{m}");
    let votes = m["poll_votes"].as_array().expect("poll_votes");
    assert_eq!(votes.len(), 3, "{m}");
    let of = |jid: &str| votes.iter().find(|v| v["voter"] == jid).unwrap().clone();
    assert_eq!(of(PEER_JID)["options"], json!(["blue"]));
    assert_eq!(of(OTHER_JID)["options"], json!(["red", "blue"]));
    assert!(of(THIRD_JID)["error"].is_string());
    assert!(!m.to_string().contains("secret\":"), "{m}");

    // Evolution's findMessages: the poll's MessageUpdate carries the tally.
    let (s, v) = evo_json(
        &gw,
        "POST",
        &format!("/chat/findMessages/{name}"),
        Some(GLOBAL_KEY),
        Some(json!({"where": {"key": {"id": poll}}})),
    );
    assert_eq!(s, 200, "{v}");
    let record = &v["messages"]["records"][0];
    assert_eq!(record["messageType"], "pollCreationMessage", "{v}");
    assert_eq!(
        record["MessageUpdate"][0]["pollUpdates"],
        json!([
            {"name": "red", "voters": [OTHER_JID]},
            {"name": "blue", "voters": [OTHER_JID, PEER_JID]},
            {"name": "green", "voters": []},
        ]),
        "{record}"
    );

    // RyzeAPI's history and sessions/v1's listing show the results.
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/chat/history/{name}"),
        Some(&account),
        json!({"number": PEER}),
    );
    assert_eq!(s, 200, "{v}");
    let listed = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == poll.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        listed["pollResults"],
        json!([
            {"option": "red", "votes": 1, "voters": [OTHER_JID]},
            {"option": "blue", "votes": 2, "voters": [OTHER_JID, PEER_JID]},
            {"option": "green", "votes": 0, "voters": []},
        ])
    );
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{sid}/chats/{PEER_JID}/messages"),
        &key,
        None,
    );
    assert_eq!(s, 200, "{v}");
    let listed = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == poll.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["pollResults"][1]["votes"], 2, "{listed}");

    // An inbound poll: its secret came with it, so its votes open too.
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/inbound"),
        Some(json!({"from": PEER, "content": {"type": "poll", "question": "Lunch?", "options": ["pizza", "sushi"], "selectable": 1}})),
    );
    assert_eq!(s, 201, "{v}");
    let inbound_poll = v["id"].as_str().unwrap().to_string();
    let (s, v) = vote(
        &gw,
        name,
        json!({"pollId": inbound_poll, "options": ["sushi"], "from": OTHER_JID}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["vote"]["options"], json!(["sushi"]), "{v}");
    assert_eq!(v["message"]["poll_votes"].as_array().unwrap().len(), 1);

    // Each of the five votes is an event in each dialect, in order.
    let got = rx.wait_until_all("five votes per dialect", |got| {
        let ryze = at(got, "/ryze")
            .into_iter()
            .filter(|b| b["data"]["type"] == "poll_vote")
            .count();
        at(got, "/evolution").len() >= 5 && ryze >= 5 && at(got, "/v1").len() >= 5
    });
    let evolution = at(&got, "/evolution");
    assert!(evolution.iter().all(|b| b["event"] == "MESSAGES_UPDATE"));
    assert_eq!(evolution[0]["data"]["keyId"], poll.as_str());
    assert_eq!(
        evolution[0]["data"]["pollUpdates"][0],
        json!({"name": "red", "voters": [PEER_JID]})
    );
    assert_eq!(
        evolution[2]["data"]["pollUpdates"][1],
        json!({"name": "blue", "voters": [OTHER_JID, PEER_JID]})
    );
    assert_eq!(evolution[4]["data"]["keyId"], inbound_poll.as_str());
    assert_eq!(evolution[4]["data"]["remoteJid"], PEER_JID);
    let ryze: Vec<&Value> = at(&got, "/ryze")
        .into_iter()
        .filter(|b| b["data"]["type"] == "poll_vote")
        .collect();
    assert_eq!(ryze[0]["event"], "message.exchange");
    assert_eq!(
        ryze[0]["data"]["message"]["content"]["pollVote"]["targetId"],
        poll.as_str()
    );
    assert_eq!(
        ryze[3]["data"]["message"]["content"]["pollVote"]["options"],
        json!([])
    );
    assert!(ryze[3]["data"]["message"]["content"]["pollVote"]["error"].is_string());
    let v1_events = at(&got, "/v1");
    assert_eq!(v1_events[1]["event"], "message.poll_vote");
    assert_eq!(v1_events[1]["payload"]["voterJid"], OTHER_JID);
    assert_eq!(v1_events[1]["payload"]["options"], json!(["red", "blue"]));
    assert_eq!(v1_events[2]["payload"]["results"][1]["votes"], 2);
}

#[test]
fn a_vote_on_a_message_that_is_not_a_stored_poll_is_refused() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let bearer = gw.credential("default", "api-key");
    let name = "novote";
    gw.connected_instance(&bearer, name);
    let text = gw.inbound(name, PEER, "not a poll", false);
    let (s, v) = vote(&gw, name, json!({"pollId": "NOSUCHPOLL", "options": ["a"]}));
    assert_eq!(s, 404, "{v}");
    // A text message is no poll.
    let (s, v) = vote(&gw, name, json!({"pollId": text, "options": ["a"]}));
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("not a poll"), "{v}");
    let (s, v) = vote(&gw, name, json!({"pollId": text, "choices": ["a"]}));
    assert_eq!(s, 400, "{v}");
}
