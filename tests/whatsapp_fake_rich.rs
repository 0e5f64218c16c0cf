//! Issue 17 on the real link: what the real adapter sends for a reaction, an edit, a
//! location, a poll and a read receipt, checked where it lands. Each send goes through
//! sessions/v1 to whatsapp-rust, over the wire to the fake server, and is decrypted
//! by the contact's own Signal session, as their phone would.

use std::collections::HashSet;
use std::time::Duration;

use crate::common;
use crate::common::fake_whatsapp::{self, FakeWhatsApp, fake_peer};
use crate::common::receiver;
use crate::whatsapp_gateway_fake::{PEER, PEER_JID, device_address, resume_on_the_real_link};

use common::v1::v1;
use serde_json::{Value, json};
use whatsapp_rust::waproto::whatsapp as wa;

/// The contact's side: the messages the account sent them, decrypted in order.
struct Phone<'a> {
    server: &'a FakeWhatsApp,
    contact: fake_peer::Peer,
    rt: tokio::runtime::Runtime,
    seen: HashSet<String>,
}

impl Phone<'_> {
    /// The next message stanza to the contact, decrypted (the Signal session ratchets,
    /// so each is opened in the order it was sent).
    fn next(&mut self, what: &str) -> (String, wa::Message) {
        let seen = self.seen.clone();
        let stanza = self.server.wait_node(what, Duration::from_secs(15), |n| {
            n.tag == "message"
                && fake_whatsapp::enc_for(n, PEER).is_some()
                && fake_whatsapp::attr(n, "id").is_some_and(|id| !seen.contains(&id))
        });
        let id = fake_whatsapp::attr(&stanza, "id").unwrap();
        self.seen.insert(id.clone());
        let (kind, ciphertext) = fake_whatsapp::enc_for(&stanza, PEER).unwrap();
        let message = self
            .rt
            .block_on(self.contact.decrypt(&device_address(), &kind, &ciphertext));
        (id, message)
    }
}

fn send(gw: &common::Gateway, key: &str, sid: &str, body: Value) -> Value {
    let (s, v) = v1(
        gw,
        "POST",
        &format!("/sessions/{sid}/messages"),
        key,
        Some(body),
    );
    assert_eq!(s, 201, "{v}");
    v
}

#[test]
fn reactions_edits_locations_polls_and_read_receipts_reach_the_contact_as_whatsapp_sends_them() {
    let server = FakeWhatsApp::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let contact = rt.block_on(fake_peer::Peer::new());
    server.add_contact(PEER, contact.bundle().clone());
    let rx = receiver::Receiver::start();
    let r = resume_on_the_real_link(&server, &rx, "message_upsert", |_, _| {});
    let (gw, key, sid) = (&r.gw, r.key.as_str(), r.id.as_str());
    let mut phone = Phone {
        server: &server,
        contact,
        rt,
        seen: HashSet::new(),
    };

    let sent = send(gw, key, sid, json!({"to": PEER_JID, "text": "hello"}));
    let mid = sent["id"].as_str().unwrap().to_string();
    let (stanza_id, text) = phone.next("the text");
    assert_eq!(stanza_id, mid);
    let body = text.conversation.clone().or_else(|| {
        text.extended_text_message
            .as_option()
            .and_then(|e| e.text.clone())
    });
    assert_eq!(body.as_deref(), Some("hello"), "{text:?}");

    // A reaction names the message it is on.
    let (s, v) = v1(
        gw,
        "POST",
        &format!("/sessions/{sid}/messages/{mid}/reaction"),
        key,
        Some(json!({"emoji": "👍"})),
    );
    assert_eq!(s, 200, "{v}");
    let (_, got) = phone.next("the reaction");
    let reaction = got
        .reaction_message
        .as_option()
        .expect("a reaction message");
    assert_eq!(reaction.text.as_deref(), Some("👍"));
    let target = reaction.key.as_option().expect("the reacted message's key");
    assert_eq!(target.id.as_deref(), Some(mid.as_str()));
    assert_eq!(target.from_me, Some(true));

    // An edit: a protocol message of type MESSAGE_EDIT carrying the new text.
    let (s, v) = v1(
        gw,
        "PATCH",
        &format!("/sessions/{sid}/messages/{mid}"),
        key,
        Some(json!({"text": "hello, edited"})),
    );
    assert_eq!(s, 200, "{v}");
    let (_, got) = phone.next("the edit");
    let protocol = got
        .protocol_message
        .as_option()
        .expect("a protocol message");
    assert_eq!(
        protocol.r#type,
        Some(wa::message::protocol_message::Type::MessageEdit),
        "{protocol:?}"
    );
    assert_eq!(
        protocol.key.as_option().and_then(|k| k.id.as_deref()),
        Some(mid.as_str())
    );
    let edited = protocol
        .edited_message
        .as_option()
        .expect("the new content");
    let new_text = edited.conversation.clone().or_else(|| {
        edited
            .extended_text_message
            .as_option()
            .and_then(|e| e.text.clone())
    });
    assert_eq!(new_text.as_deref(), Some("hello, edited"));

    // A location, with the place's name and address.
    send(
        gw,
        key,
        sid,
        json!({"to": PEER_JID, "type": "location", "latitude": -23.5505, "longitude": -46.6333,
               "name": "Sé", "address": "Praça da Sé, São Paulo"}),
    );
    let (_, got) = phone.next("the location");
    let location = got
        .location_message
        .as_option()
        .expect("a location message");
    assert_eq!(location.degrees_latitude, Some(-23.5505));
    assert_eq!(location.degrees_longitude, Some(-46.6333));
    assert_eq!(location.name.as_deref(), Some("Sé"));
    assert_eq!(location.address.as_deref(), Some("Praça da Sé, São Paulo"));

    // A poll: its question, options and how many may be chosen, with the secret its
    // votes will be encrypted with.
    send(
        gw,
        key,
        sid,
        json!({"to": PEER_JID, "type": "poll", "name": "Lunch?", "options": ["pizza", "sushi"],
               "selectableCount": 1}),
    );
    let (_, got) = phone.next("the poll");
    let poll = [
        &got.poll_creation_message,
        &got.poll_creation_message_v2,
        &got.poll_creation_message_v3,
    ]
    .into_iter()
    .find_map(|p| p.as_option())
    .unwrap_or_else(|| panic!("a poll creation message: {got:?}"));
    assert_eq!(poll.name.as_deref(), Some("Lunch?"));
    let options: Vec<_> = poll
        .options
        .iter()
        .filter_map(|o| o.option_name.as_deref())
        .collect();
    assert_eq!(options, ["pizza", "sushi"]);
    assert_eq!(poll.selectable_options_count, Some(1));
    let secret = got
        .message_context_info
        .as_option()
        .and_then(|c| c.message_secret.as_ref())
        .expect("the poll's message secret");
    assert_eq!(secret.len(), 32);

    // The contact writes back; marking the chat read sends WhatsApp a read receipt
    // for that message, to the contact.
    let reply = wa::Message {
        conversation: Some("see you".into()),
        ..Default::default()
    };
    let (kind, ciphertext) = phone
        .rt
        .block_on(phone.contact.encrypt(&device_address(), &reply));
    assert!(server.send(fake_whatsapp::message_node(
        PEER_JID,
        "3EB0REPLY0001",
        kind,
        ciphertext,
        None
    )));
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (s, page) = v1(
            gw,
            "GET",
            &format!("/sessions/{sid}/chats/{PEER_JID}/messages"),
            key,
            None,
        );
        assert_eq!(s, 200, "{page}");
        if page["data"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["id"] == "3EB0REPLY0001"))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reply never stored: {page}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (s, v) = v1(
        gw,
        "POST",
        &format!("/sessions/{sid}/chats/{PEER_JID}/read"),
        key,
        Some(json!({"messageIds": ["3EB0REPLY0001"]})),
    );
    assert!(s == 200 || s == 204, "{s} {v}");
    let receipt = server.wait_node("the read receipt", Duration::from_secs(15), |n| {
        n.tag == "receipt"
            && fake_whatsapp::attr(n, "type").as_deref() == Some("read")
            && fake_whatsapp::attr(n, "id").as_deref() == Some("3EB0REPLY0001")
    });
    let to = fake_whatsapp::attr(&receipt, "to").unwrap_or_default();
    assert!(to.starts_with(PEER), "a receipt to the contact: {to}");
}
