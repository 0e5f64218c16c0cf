//! Issue 16 on the real link: a number check's LID and business flag, a contact's
//! picture, about text and business profile (with opening hours), the block list and
//! the privacy settings, each through sessions/v1 to whatsapp-rust and over the wire
//! to the fake server, which answers from its directory and keeps what changed.

use crate::common;
use crate::common::fake_whatsapp::fake_directory::{BusinessCard, Person};
use crate::common::fake_whatsapp::{FakeWhatsApp, fake_peer};
use crate::common::receiver;
use crate::whatsapp_gateway_fake::{PEER, resume_on_the_real_link};

use common::v1::v1;
use serde_json::json;

const PEER_LID: &str = "190000000000077@lid";
const STRANGER: &str = "5511977776666";

#[test]
fn contact_profile_block_and_privacy_queries_cross_the_real_link() {
    let server = FakeWhatsApp::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let peer = rt.block_on(fake_peer::Peer::new());
    server.add_contact(PEER, peer.bundle().clone());
    server.set_person(
        PEER,
        Person {
            lid: Some(PEER_LID.into()),
            business: Some(BusinessCard {
                description: "Fresh bread".into(),
                email: Some("hello@bakery.example".into()),
                timezone: Some("America/Sao_Paulo".into()),
                hours: vec![
                    ("mon".into(), "specific_hours".into(), Some(420), Some(1140)),
                    ("sun".into(), "appointment_only".into(), None, None),
                ],
            }),
            picture_url: Some("https://pps.whatsapp.net/v/peer.jpg".into()),
            about: Some("At the bakery".into()),
        },
    );
    server.set_privacy("last", "contacts");
    server.set_privacy("readreceipts", "all");
    let rx = receiver::Receiver::start();
    let r = resume_on_the_real_link(&server, &rx, "message_upsert", |_, _| {});
    let (gw, key, sid) = (&r.gw, r.key.as_str(), r.id.as_str());

    // usync's contact, lid and business protocols in one answer.
    let (s, v) = v1(
        gw,
        "GET",
        &format!("/sessions/{sid}/contacts/check?phone={PEER}"),
        key,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["isOnWhatsApp"], true, "{v}");
    assert_eq!(v["isBusiness"], true, "{v}");
    assert_eq!(v["lid"], PEER_LID, "{v}");
    let (s, v) = v1(
        gw,
        "GET",
        &format!("/sessions/{sid}/contacts/check?phone={STRANGER}"),
        key,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["isOnWhatsApp"], false, "{v}");
    assert!(v.get("lid").is_none(), "{v}");

    // The picture IQ, and "none" for someone without one.
    let (s, v) = v1(
        gw,
        "GET",
        &format!("/sessions/{sid}/contacts/{PEER}/picture"),
        key,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["url"], "https://pps.whatsapp.net/v/peer.jpg");
    let (s, v) = v1(
        gw,
        "GET",
        &format!("/sessions/{sid}/contacts/{STRANGER}/picture"),
        key,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["url"], serde_json::Value::Null);

    // usync's status protocol.
    let (s, v) = v1(
        gw,
        "GET",
        &format!("/sessions/{sid}/contacts/{PEER}/about"),
        key,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["about"], "At the bakery");

    // `w:biz`, opening hours included.
    let (s, v) = v1(
        gw,
        "GET",
        &format!("/sessions/{sid}/contacts/{PEER}/business"),
        key,
        None,
    );
    assert_eq!(s, 200, "{v}");
    let b = &v["business"];
    assert_eq!(b["description"], "Fresh bread", "{v}");
    assert_eq!(b["email"], "hello@bakery.example");
    assert_eq!(b["timezone"], "America/Sao_Paulo");
    assert_eq!(
        b["hours"],
        json!([
            {"day": "mon", "mode": "specific_hours", "openMinute": 420, "closeMinute": 1140},
            {"day": "sun", "mode": "appointment_only", "openMinute": null, "closeMinute": null},
        ])
    );

    // Blocking by phone number: whatsapp-rust sends LID and phone together, so the
    // adapter first learns the pair (the check above already did on this session).
    let (s, v) = v1(
        gw,
        "POST",
        &format!("/sessions/{sid}/contacts/{PEER}/block"),
        key,
        None,
    );
    assert_eq!(s, 204, "{v}");
    assert_eq!(server.blocked(), vec![PEER_LID.to_string()]);
    let (s, v) = v1(
        gw,
        "GET",
        &format!("/sessions/{sid}/contacts/blocked"),
        key,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"], json!([PEER_LID]));
    let (s, v) = v1(
        gw,
        "POST",
        &format!("/sessions/{sid}/contacts/{PEER}/unblock"),
        key,
        None,
    );
    assert_eq!(s, 204, "{v}");
    assert!(server.blocked().is_empty());

    // The `privacy` IQs: read what the server holds, change one, see it kept there.
    let (s, v) = v1(gw, "GET", &format!("/sessions/{sid}/privacy"), key, None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["lastSeen"], "contacts", "{v}");
    assert_eq!(v["readReceipts"], "all", "{v}");
    let (s, v) = v1(
        gw,
        "PATCH",
        &format!("/sessions/{sid}/privacy"),
        key,
        Some(json!({"lastSeen": "none"})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["lastSeen"], "none", "{v}");
    assert_eq!(
        server.privacy().get("last").map(String::as_str),
        Some("none")
    );
}

/// A number nobody paired with before: blocking it makes the adapter ask WhatsApp for
/// its LID (a usync check) and then block by both addresses.
#[test]
fn blocking_a_number_never_met_asks_whatsapp_for_its_lid_first() {
    let server = FakeWhatsApp::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let peer = rt.block_on(fake_peer::Peer::new());
    server.add_contact(PEER, peer.bundle().clone());
    server.set_person(
        PEER,
        Person {
            lid: Some(PEER_LID.into()),
            ..Person::default()
        },
    );
    let rx = receiver::Receiver::start();
    let r = resume_on_the_real_link(&server, &rx, "message_upsert", |_, _| {});
    let sid = r.id.as_str();
    let (s, v) = v1(
        &r.gw,
        "POST",
        &format!("/sessions/{sid}/contacts/{PEER}/block"),
        &r.key,
        None,
    );
    assert_eq!(s, 204, "{v}");
    assert_eq!(server.blocked(), vec![PEER_LID.to_string()]);
    // Someone WhatsApp does not know cannot be blocked: the caller's error, named.
    let (s, v) = v1(
        &r.gw,
        "POST",
        &format!("/sessions/{sid}/contacts/{STRANGER}/block"),
        &r.key,
        None,
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(server.blocked(), vec![PEER_LID.to_string()]);
}
