//! Issue 16: phone numbers behind LIDs. WhatsApp addresses more and more contacts by a
//! LID (`<digits>@lid`) that hides the phone number, and tells the phone behind it
//! only sometimes (beside a later message, a group notice). The gateway keeps the
//! pair per instance: every read carries the other address beside the JID (also on
//! messages stored before the pair was known), either address names the chat, one
//! person's conversation stays one chat, and each dialect shows the pair in its own
//! names (Evolution `remoteJidAlt` / `addressingMode`, RyzeAPI `jidAlt`, sessions/v1
//! `chatIdAlt`). The sim takes WhatsApp's alternate address as `fromAlt`.

use crate::common;

use common::Gateway;
use common::dialect_hooks::{bodies_of, hook_all_dialects};
use common::evolution::evo_json;
use common::receiver::Receiver;
use common::v1::v1;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-lid-mapping";
const LID: &str = "190000000000001@lid";
const PHONE: &str = "5511977776666@s.whatsapp.net";

fn inbound(gw: &Gateway, name: &str, body: Value) -> Value {
    let (s, v) = gw.admin("POST", &format!("/admin/sim/{name}/inbound"), Some(body));
    assert_eq!(s, 201, "inbound: {v}");
    v
}

/// The native page of a chat's messages, named by `chat`, newest first.
fn messages(gw: &Gateway, key: &str, name: &str, chat: &str) -> (u16, Value) {
    gw.call(
        "GET",
        &format!("/core/instances/{name}/chats/{chat}/messages"),
        Some(key),
        None,
    )
}

#[test]
fn a_lid_message_picks_up_its_phone_number_when_whatsapp_tells_it_later() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "lids";
    let hooked = hook_all_dialects(
        &gw,
        &rx,
        GLOBAL_KEY,
        name,
        &["MESSAGES_UPSERT"],
        &["message", "message.edited"],
        &[],
    );
    let key = hooked.bearer.as_str();

    // A contact writes from their LID; WhatsApp does not say who is behind it.
    let first = inbound(&gw, name, json!({"from": LID, "text": "who am I?"}));
    let first_id = first["id"].as_str().unwrap().to_string();
    let (s, page) = messages(&gw, key, name, LID);
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["messages"][0]["chat_jid"], LID, "{page}");
    assert!(page["messages"][0].get("chat_jid_alt").is_none(), "{page}");
    // The phone number names no chat yet.
    let (s, v) = messages(&gw, key, name, PHONE);
    assert_eq!(s, 404, "{v}");

    // Their next message comes with the phone number beside the LID.
    inbound(
        &gw,
        name,
        json!({"from": LID, "fromAlt": "+55 11 97777-6666", "text": "it's me", "pushName": "Ana"}),
    );

    // One conversation, named by either address; the first message picked up the phone.
    for chat in [LID, PHONE] {
        let (s, page) = messages(&gw, key, name, chat);
        assert_eq!(s, 200, "by {chat}: {page}");
        let listed = page["messages"].as_array().unwrap();
        assert_eq!(listed.len(), 2, "by {chat}: {page}");
        for m in listed {
            assert_eq!(m["chat_jid"], LID, "{m}");
            assert_eq!(m["chat_jid_alt"], PHONE, "{m}");
            assert_eq!(m["sender_alt"], PHONE, "{m}");
        }
    }
    let (s, one) = gw.call(
        "GET",
        &format!("/core/instances/{name}/messages/{first_id}"),
        Some(key),
        None,
    );
    assert_eq!(s, 200, "{one}");
    assert_eq!(one["sender_alt"], PHONE, "{one}");
    let (_, chats) = gw.call(
        "GET",
        &format!("/core/instances/{name}/chats"),
        Some(key),
        None,
    );
    let chats = chats.as_array().cloned().unwrap_or_default();
    assert_eq!(chats.len(), 1, "{chats:?}");
    assert_eq!(chats[0]["jid"], LID);
    assert_eq!(chats[0]["jid_alt"], PHONE);
    let (s, chat) = gw.call(
        "GET",
        &format!("/core/instances/{name}/chats/{PHONE}"),
        Some(key),
        None,
    );
    assert_eq!((s, &chat["jid"]), (200, &json!(LID)), "{chat}");

    // The account answers the phone number: the reply joins the same conversation.
    let (s, sent) = gw.call(
        "POST",
        &format!("/core/instances/{name}/messages"),
        Some(key),
        Some(json!({"to": "5511977776666", "text": "hi Ana"})),
    );
    assert_eq!(s, 201, "{sent}");
    assert_eq!(sent["chat_jid"], LID, "{sent}");
    assert_eq!(sent["chat_jid_alt"], PHONE, "{sent}");
    let (_, page) = messages(&gw, key, name, LID);
    assert_eq!(page["messages"].as_array().unwrap().len(), 3, "{page}");

    // The contact is one person with both addresses.
    let (s, contacts) = gw.call(
        "GET",
        &format!("/core/instances/{name}/contacts"),
        Some(key),
        None,
    );
    assert_eq!(s, 200, "{contacts}");
    let contacts = contacts["contacts"].as_array().cloned().unwrap_or_default();
    let ana: Vec<&Value> = contacts.iter().filter(|c| c["jid"] == LID).collect();
    assert_eq!(ana.len(), 1, "{contacts:?}");
    assert_eq!(ana[0]["jid_alt"], PHONE);
    assert_eq!(ana[0]["push_name"], "Ana");

    // Evolution: findMessages by the phone finds the LID chat; keys carry Baileys 7's
    // alternate address and addressing mode; findContacts by the phone finds Ana.
    let (s, found) = evo_json(
        &gw,
        "POST",
        &format!("/chat/findMessages/{name}"),
        Some(GLOBAL_KEY),
        Some(json!({"where": {"key": {"remoteJid": PHONE}}})),
    );
    assert_eq!(s, 200, "{found}");
    let records = found["messages"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 3, "{found}");
    for r in records {
        assert_eq!(r["key"]["remoteJid"], LID, "{r}");
        assert_eq!(r["key"]["remoteJidAlt"], PHONE, "{r}");
        assert_eq!(r["key"]["addressingMode"], "lid", "{r}");
    }
    let (s, found) = evo_json(
        &gw,
        "POST",
        &format!("/chat/findContacts/{name}"),
        Some(GLOBAL_KEY),
        Some(json!({"where": {"remoteJid": PHONE}})),
    );
    assert_eq!(s, 200, "{found}");
    assert_eq!(found[0]["remoteJid"], LID, "{found}");
    assert_eq!(found[0]["remoteJidAlt"], PHONE, "{found}");

    // sessions/v1: the chat by its phone number, each message with both addresses.
    let (s, page) = v1(
        &gw,
        "GET",
        &format!("/sessions/{}/chats/{PHONE}/messages", hooked.id),
        key,
        None,
    );
    assert_eq!(s, 200, "{page}");
    let first_v1 = page["data"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["id"] == first_id.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("first message missing: {page}"));
    assert_eq!(first_v1["chatIdAlt"], PHONE, "{first_v1}");
    assert_eq!(first_v1["senderAlt"], PHONE, "{first_v1}");

    // Webhooks: the second message was reported with the pair in every dialect; the
    // first, sent before WhatsApp told, without.
    let got = rx.wait_until_all("the second message in every dialect", |got| {
        ["evolution", "ryze", "v1"].iter().all(|d| {
            bodies_of(got, d)
                .iter()
                .filter(|b| b.to_string().contains("it's me"))
                .count()
                == 1
        })
    });
    let second = |dialect: &str| -> Value {
        bodies_of(&got, dialect)
            .into_iter()
            .find(|b| b.to_string().contains("it's me"))
            .cloned()
            .unwrap()
    };
    let evo = second("evolution");
    assert_eq!(evo["data"]["key"]["remoteJid"], LID, "{evo}");
    assert_eq!(evo["data"]["key"]["remoteJidAlt"], PHONE, "{evo}");
    assert_eq!(evo["data"]["key"]["addressingMode"], "lid", "{evo}");
    let ryze = second("ryze");
    assert_eq!(
        ryze["data"]["message"]["chat"]["jidAlt"], "5511977776666",
        "{ryze}"
    );
    assert_eq!(
        ryze["data"]["message"]["sender"]["jidAlt"], "5511977776666",
        "{ryze}"
    );
    let v1_event = second("v1");
    assert_eq!(v1_event["payload"]["chatJidAlt"], PHONE, "{v1_event}");
    assert_eq!(v1_event["payload"]["senderJidAlt"], PHONE, "{v1_event}");
    // A later event about the first message (its author's edit) reports the pair
    // learned since it was stored.
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/edit"),
        Some(json!({"messageId": first_id, "text": "who am I, really?"})),
    );
    assert_eq!(s, 200, "{v}");
    let edited = rx.wait_until("the edit in sessions/v1", |r| {
        r.path == "/v1" && r.body["event"] == "message.edited"
    });
    let edited = edited
        .iter()
        .find(|r| r.path == "/v1" && r.body["event"] == "message.edited")
        .unwrap();
    assert_eq!(
        edited.body["payload"]["chatJidAlt"], PHONE,
        "{}",
        edited.body
    );
    let evo_first = bodies_of(&got, "evolution")
        .into_iter()
        .find(|b| b.to_string().contains("who am I?"))
        .cloned()
        .unwrap();
    assert!(
        evo_first["data"]["key"].get("remoteJidAlt").is_none(),
        "{evo_first}"
    );
}

#[test]
fn a_conversation_stays_one_chat_when_whatsapp_switches_addresses() {
    let gw = Gateway::start();
    let key = gw.org_with_key("switching", None);
    let name = "switch";
    gw.connected_instance(&key, name);
    let lid = "190000000000002@lid";
    let phone = "5511966665555@s.whatsapp.net";

    // The pair is known from the first message: the chat is filed under the phone.
    inbound(
        &gw,
        name,
        json!({"from": phone, "fromAlt": lid, "text": "from my number"}),
    );
    // Later messages from the LID alone, and one from the paired phone itself
    // (`fromMe`) to the LID, join it.
    inbound(&gw, name, json!({"from": lid, "text": "from my lid"}));
    inbound(
        &gw,
        name,
        json!({"from": lid, "text": "typed on the phone", "fromMe": true}),
    );
    let (_, chats) = gw.call(
        "GET",
        &format!("/core/instances/{name}/chats"),
        Some(&key),
        None,
    );
    let chats = chats.as_array().cloned().unwrap_or_default();
    assert_eq!(chats.len(), 1, "{chats:?}");
    assert_eq!(chats[0]["jid"], phone);
    assert_eq!(chats[0]["jid_alt"], lid);
    let (s, page) = messages(&gw, &key, name, lid);
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["messages"].as_array().unwrap().len(), 3, "{page}");

    // Deleting the chat by its LID deletes the one conversation.
    let (s, v) = gw.call(
        "DELETE",
        &format!("/core/instances/{name}/chats/{lid}"),
        Some(&key),
        None,
    );
    assert_eq!(s, 204, "{v}");
    let (s, v) = messages(&gw, &key, name, phone);
    assert_eq!(s, 404, "{v}");

    // A malformed alternate is not a pair: the message is stored, nothing is learned.
    let other = "190000000000003@lid";
    inbound(
        &gw,
        name,
        json!({"from": other, "fromAlt": "not a number", "text": "odd"}),
    );
    let (_, page) = messages(&gw, &key, name, other);
    assert!(page["messages"][0].get("chat_jid_alt").is_none(), "{page}");

    // Another org's key cannot read the pair through either address.
    let stranger = gw.org_with_key("lid-stranger", None);
    for chat in [lid, phone] {
        let (s, v) = messages(&gw, &stranger, name, chat);
        assert_eq!(s, 404, "{v}");
    }
}

/// The phone's address book reaches linked devices as contact sync actions: the saved
/// name (and the LID <-> phone pair the entry is filed under) goes on the contact and
/// is reported, and a cleared entry clears it.
#[test]
fn saved_contact_names_from_the_address_book_are_kept_and_reported() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "book";
    let hooked = hook_all_dialects(
        &gw,
        &rx,
        GLOBAL_KEY,
        name,
        &["CONTACTS_UPSERT", "CONTACTS_UPDATE"],
        &["contact.upsert", "contact.update"],
        &[],
    );
    let lid = "190000000000004@lid";
    let phone = "5511944443333@s.whatsapp.net";
    inbound(
        &gw,
        name,
        json!({"from": lid, "text": "hi", "pushName": "Bia"}),
    );
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/contact"),
        Some(json!({"jid": phone, "name": "Beatriz Lima", "lid": lid, "phone": phone})),
    );
    assert_eq!(s, 204, "{v}");

    // One contact (the LID one, by the pair), with both names.
    let (_, page) = gw.call(
        "GET",
        &format!("/core/instances/{name}/contacts"),
        Some(&hooked.bearer),
        None,
    );
    let contacts = page["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 1, "{page}");
    assert_eq!(contacts[0]["jid"], lid);
    assert_eq!(contacts[0]["jid_alt"], phone);
    assert_eq!(contacts[0]["push_name"], "Bia");
    assert_eq!(contacts[0]["saved_name"], "Beatriz Lima");
    let (_, found) = evo_json(
        &gw,
        "POST",
        &format!("/chat/findContacts/{name}"),
        Some(GLOBAL_KEY),
        Some(json!({"where": {"remoteJid": phone}})),
    );
    assert_eq!(found[0]["pushName"], "Beatriz Lima", "{found}");
    assert_eq!(found[0]["isSaved"], true, "{found}");
    let (_, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{}/contacts", hooked.id),
        &hooked.bearer,
        None,
    );
    assert_eq!(
        v["data"][0],
        json!({"name": "Beatriz Lima", "lid": lid, "phoneNumber": "5511944443333", "source": "dm",
               "isBusiness": false}),
        "{v}"
    );

    // Reported as an update in each dialect's name (RyzeAPI's catalog has no contact
    // event).
    let got = rx.wait_until_all("the saved name in every dialect", |got| {
        ["evolution", "v1"].iter().all(|d| {
            bodies_of(got, d)
                .iter()
                .any(|b| b.to_string().contains("Beatriz"))
        })
    });
    let evo: Vec<&Value> = bodies_of(&got, "evolution")
        .into_iter()
        .filter(|b| b.to_string().contains("Beatriz"))
        .collect();
    assert_eq!(evo[0]["event"], "CONTACTS_UPDATE", "{evo:?}");

    // A cleared entry clears the saved name; a cleared entry of a stranger makes no
    // contact.
    for (jid, who) in [
        (phone, "cleared"),
        ("5511900001111@s.whatsapp.net", "stranger"),
    ] {
        let (s, v) = gw.admin(
            "POST",
            &format!("/admin/sim/{name}/contact"),
            Some(json!({"jid": jid})),
        );
        assert_eq!(s, 204, "{who}: {v}");
    }
    let (_, page) = gw.call(
        "GET",
        &format!("/core/instances/{name}/contacts"),
        Some(&hooked.bearer),
        None,
    );
    let contacts = page["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 1, "{page}");
    assert!(contacts[0].get("saved_name").is_none(), "{page}");
    assert_eq!(contacts[0]["push_name"], "Bia");
}

/// A number check answers the LID behind a number (where WhatsApp gives it) and the
/// instance keeps the pair: a conversation begun from the LID is then named by the
/// phone number too. A business's message marks its contact a business, which the
/// contact lists and the checks show.
#[test]
fn a_number_check_teaches_the_lid_behind_a_number_and_contacts_carry_the_business_flag() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let hooked = hook_all_dialects(&gw, &rx, GLOBAL_KEY, "checker", &[], &[], &[]);
    let key = hooked.bearer.as_str();
    // Another instance on the network learns the pair from a message: WhatsApp (the
    // sim network) now knows it, the checking instance does not.
    gw.connected_instance(key, "other");
    inbound(
        &gw,
        "other",
        json!({"from": LID, "fromAlt": PHONE, "text": "hi other"}),
    );
    inbound(&gw, "checker", json!({"from": LID, "text": "hi checker"}));
    let (s, v) = messages(&gw, key, "checker", PHONE);
    assert_eq!(s, 404, "the phone names no chat of the checker yet: {v}");

    // sessions/v1: the LID beside the answer.
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{}/contacts/check?phone=5511977776666", hooked.id),
        key,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["isOnWhatsApp"], true, "{v}");
    assert_eq!(v["lid"], LID, "{v}");
    assert_eq!(v["isBusiness"], false, "{v}");
    // Kept: the LID's conversation is now named by the phone too, and carries it.
    let (s, page) = messages(&gw, key, "checker", PHONE);
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["messages"][0]["chat_jid"], LID, "{page}");
    assert_eq!(page["messages"][0]["chat_jid_alt"], PHONE, "{page}");

    // Evolution's OnWhatsAppDto `lid`, and none for a number whose LID is unknown.
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/chat/whatsappNumbers/checker",
        Some(GLOBAL_KEY),
        Some(json!({"numbers": ["5511977776666", "5511955554444"]})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v[0]["lid"], LID, "{v}");
    assert_eq!(v[1]["exists"], true, "{v}");
    assert!(v[1].get("lid").is_none(), "{v}");

    // A business writes (the sim network's businesses end in 4242): its contact is
    // marked, and RyzeAPI's check says so too.
    let bakery = "5511900004242@s.whatsapp.net";
    inbound(
        &gw,
        "checker",
        json!({"from": bakery, "text": "fresh bread today"}),
    );
    let (s, v) = common::ryze::ryze_json(
        &gw,
        "GET",
        "/api/contact/list/checker",
        Some(&hooked.account),
        Value::Null,
    );
    assert_eq!(s, 200, "{v}");
    let listed = v["data"].as_array().unwrap();
    let flag = |jid: &str| {
        listed
            .iter()
            .find(|c| c["jid"] == jid)
            .unwrap_or_else(|| panic!("{jid} listed: {v}"))["business"]
            .clone()
    };
    assert_eq!(flag(bakery), true);
    assert_eq!(flag(LID), false);
    let (s, v) = common::ryze::ryze_json(
        &gw,
        "POST",
        "/api/contact/check/checker",
        Some(&hooked.account),
        json!({"numbers": ["5511900004242", "5511977776666"]}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"][0]["business"], true, "{v}");
    assert_eq!(v["data"][1]["business"], false, "{v}");
    assert_eq!(v["data"][1]["jidAlt"], LID, "{v}");
}
