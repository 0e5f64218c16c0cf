//! Issue 16: the account's profile picture, a group's picture, privacy settings and
//! business profiles, through Evolution's routes (`/chat/updateProfilePicture`,
//! `/chat/removeProfilePicture`, `/chat/fetchPrivacySettings`,
//! `/chat/updatePrivacySettings`, `/chat/fetchBusinessProfile`,
//! `/group/updateGroupPicture`) and the native API, on the sim link (numbers ending in
//! 4242 are business accounts there).

use crate::common;

use common::Gateway;
use common::evolution::{evo, evo_json, open_instance};
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-account";
const PEER_JID: &str = "5511933332222@s.whatsapp.net";
const SHOP: &str = "5511900004242";

/// The smallest bytes the gateway takes as a JPEG (its signature, then padding).
fn jpeg(seed: u8) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    b.extend(std::iter::repeat_n(seed, 64));
    b.extend([0xFF, 0xD9]);
    b
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn post(gw: &Gateway, path: &str, body: Value) -> (u16, Value) {
    evo_json(gw, "POST", path, Some(GLOBAL_KEY), Some(body))
}

fn own_picture(gw: &Gateway, name: &str) -> Value {
    let (s, v) = post(gw, &format!("/chat/fetchProfile/{name}"), json!({}));
    assert_eq!(s, 200, "{v}");
    v["picture"].clone()
}

fn actions(gw: &Gateway, name: &str) -> Vec<String> {
    let (s, v) = gw.admin("GET", &format!("/admin/sim/{name}/actions"), None);
    assert_eq!(s, 200, "{v}");
    serde_json::from_value(v).unwrap()
}

#[test]
fn the_profile_picture_is_set_from_a_jpeg_and_removed_as_evolution_answers() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let name = "pictures";
    open_instance(&gw, GLOBAL_KEY, name);
    let before = own_picture(&gw, name);
    assert!(before.is_string(), "{before}");

    let (s, v) = post(
        &gw,
        &format!("/chat/updateProfilePicture/{name}"),
        json!({"picture": b64(&jpeg(1))}),
    );
    assert_eq!((s, &v), (200, &json!({"update": "success"})));
    let first = own_picture(&gw, name);
    assert_ne!(first, before, "a new picture has a new URL");
    let (s, _) = post(
        &gw,
        &format!("/chat/updateProfilePicture/{name}"),
        json!({"picture": b64(&jpeg(2))}),
    );
    assert_eq!(s, 200);
    assert_ne!(own_picture(&gw, name), first);

    // Not a JPEG, no picture, not base64, an unreachable URL: 400 with the reason,
    // and the picture stays.
    let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];
    let current = own_picture(&gw, name);
    for (body, says) in [
        (json!({"picture": b64(&png)}), "JPEG"),
        (json!({}), "picture"),
        (json!({"picture": "not base64 at all!"}), "url or a base64"),
        (
            json!({"picture": "http://127.0.0.1:9/gone.jpg"}),
            "unreachable",
        ),
    ] {
        let (s, v) = post(
            &gw,
            &format!("/chat/updateProfilePicture/{name}"),
            body.clone(),
        );
        assert_eq!(s, 400, "{body} -> {v}");
        assert_eq!(v["status"], 400, "{v}");
        assert!(v.to_string().contains(says), "{body} -> {v}");
    }
    assert_eq!(own_picture(&gw, name), current);

    let (s, text, _) = evo(
        &gw,
        "DELETE",
        &format!("/chat/removeProfilePicture/{name}"),
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, text.as_str()), (200, r#"{"update":"success"}"#));
    assert!(own_picture(&gw, name).is_null());
    let owner = evo_json(
        &gw,
        "GET",
        &format!("/instance/fetchInstances?instanceName={name}"),
        Some(GLOBAL_KEY),
        None,
    )
    .1[0]["ownerJid"]
        .as_str()
        .unwrap()
        .to_string();
    let done: Vec<String> = actions(&gw, name)
        .into_iter()
        .filter(|a| a.starts_with("picture"))
        .collect();
    assert_eq!(
        done,
        [
            format!("picture set {owner}"),
            format!("picture set {owner}"),
            format!("picture remove {owner}")
        ]
    );
}

#[test]
fn a_group_picture_is_for_admins_or_anyone_while_unlocked() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let name = "grouppics";
    open_instance(&gw, GLOBAL_KEY, name);
    let (s, g) = post(
        &gw,
        &format!("/group/create/{name}"),
        json!({"subject": "Pics", "participants": [PEER_JID]}),
    );
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    let (s, v) = post(
        &gw,
        &format!("/group/updateGroupPicture/{name}?groupJid={gid}"),
        json!({"image": b64(&jpeg(3))}),
    );
    assert_eq!((s, &v), (201, &json!({"update": "success"})));
    let (s, pic) = evo_json(
        &gw,
        "POST",
        &format!("/chat/fetchProfilePictureUrl/{name}"),
        Some(GLOBAL_KEY),
        Some(json!({"number": gid})),
    );
    assert_eq!(s, 200, "{pic}");
    assert!(
        pic["profilePictureUrl"].as_str().unwrap().contains('-'),
        "the changed picture: {pic}"
    );

    // An unknown group, no group, no image.
    let (s, v) = post(
        &gw,
        &format!("/group/updateGroupPicture/{name}?groupJid=120363000000000009@g.us"),
        json!({"image": b64(&jpeg(4))}),
    );
    assert_eq!(s, 404, "{v}");
    let (s, v) = post(
        &gw,
        &format!("/group/updateGroupPicture/{name}"),
        json!({"image": b64(&jpeg(4))}),
    );
    assert_eq!(s, 400, "{v}");
    let (s, v) = post(
        &gw,
        &format!("/group/updateGroupPicture/{name}?groupJid={gid}"),
        json!({}),
    );
    assert_eq!(s, 400, "{v}");

    // A member who is not an admin of a locked group is refused by WhatsApp.
    let second = "grouppics2";
    open_instance(&gw, GLOBAL_KEY, second);
    let second_jid = evo_json(
        &gw,
        "GET",
        &format!("/instance/fetchInstances?instanceName={second}"),
        Some(GLOBAL_KEY),
        None,
    )
    .1[0]["ownerJid"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, v) = post(
        &gw,
        &format!("/group/updateParticipant/{name}?groupJid={gid}"),
        json!({"action": "add", "participants": [second_jid]}),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(
        &gw,
        &format!("/group/updateSetting/{name}?groupJid={gid}"),
        json!({"action": "locked"}),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(
        &gw,
        &format!("/group/updateGroupPicture/{second}?groupJid={gid}"),
        json!({"image": b64(&jpeg(5))}),
    );
    assert_eq!(s, 403, "{v}");
}

#[test]
fn privacy_settings_are_read_and_changed_whole_as_evolution_validates() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let name = "privacy";
    open_instance(&gw, GLOBAL_KEY, name);
    let fetch = || {
        let (s, v) = evo_json(
            &gw,
            "GET",
            &format!("/chat/fetchPrivacySettings/{name}"),
            Some(GLOBAL_KEY),
            None,
        );
        assert_eq!(s, 200, "{v}");
        v
    };
    let defaults = json!({"readreceipts": "all", "profile": "all", "status": "all",
        "online": "all", "last": "all", "groupadd": "all"});
    assert_eq!(fetch(), defaults);

    let wanted = json!({"readreceipts": "none", "profile": "contacts", "status": "contact_blacklist",
        "online": "match_last_seen", "last": "none", "groupadd": "contacts"});
    let (s, v) = post(
        &gw,
        &format!("/chat/updatePrivacySettings/{name}"),
        wanted.clone(),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v, json!({"update": "success", "data": wanted}));
    assert_eq!(fetch(), wanted);

    // A value its field does not take, or a field left out: 400, nothing changed.
    let mut bad = wanted.clone();
    bad["online"] = json!("contacts");
    bad["readreceipts"] = json!("all");
    let (s, v) = post(&gw, &format!("/chat/updatePrivacySettings/{name}"), bad);
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("online"), "{v}");
    let mut missing = wanted.clone();
    missing.as_object_mut().unwrap().remove("groupadd");
    let (s, v) = post(&gw, &format!("/chat/updatePrivacySettings/{name}"), missing);
    assert_eq!(s, 400, "{v}");
    assert_eq!(fetch(), wanted);

    // The native API: categories by name, a combination WhatsApp refuses is invalid,
    // a read-only key reads but cannot change.
    let key = gw.key("default", None);
    let reader = gw.key("default", Some(&["read"]));
    let path = format!("/core/instances/{name}/privacy");
    let (s, v) = gw.call("GET", &path, Some(&reader), None);
    assert_eq!(s, 200, "{v}");
    assert!(
        v.as_array()
            .unwrap()
            .contains(&json!({"category": "call_add", "value": "all"})),
        "{v}"
    );
    let (s, v) = gw.call(
        "PUT",
        &path,
        Some(&key),
        Some(json!([{"category": "call_add", "value": "known"}, {"category": "online", "value": "none"}])),
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error"]["code"], "invalid");
    let (s, _) = gw.call(
        "PUT",
        &path,
        Some(&reader),
        Some(json!([{"category": "call_add", "value": "known"}])),
    );
    assert_eq!(s, 403);
    let (s, v) = gw.call(
        "PUT",
        &path,
        Some(&key),
        Some(json!([{"category": "call_add", "value": "known"}])),
    );
    assert_eq!(s, 200, "{v}");
    assert!(
        v.as_array()
            .unwrap()
            .contains(&json!({"category": "call_add", "value": "known"})),
        "{v}"
    );
    let other = gw.org_with_key("elsewhere", None);
    let (s, _) = gw.call("GET", &path, Some(&other), None);
    assert_eq!(s, 404);
}

#[test]
fn a_business_profile_is_answered_for_business_accounts_only() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let name = "business";
    open_instance(&gw, GLOBAL_KEY, name);
    let (s, v) = post(
        &gw,
        &format!("/chat/fetchBusinessProfile/{name}"),
        json!({"number": SHOP}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["isBusiness"], true);
    assert_eq!(v["wid"], format!("{SHOP}@s.whatsapp.net"));
    assert_eq!(v["description"], "Fresh bread every morning");
    assert_eq!(v["website"], json!(["https://bakery.example"]));
    assert_eq!(v["category"], "Bakery");

    let (s, v) = post(
        &gw,
        &format!("/chat/fetchBusinessProfile/{name}"),
        json!({"number": "5511933332222"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"isBusiness": false, "message": "Not is business profile", "exists": true,
            "jid": PEER_JID, "number": "5511933332222"})
    );
    // Not on WhatsApp (the sim has no account for numbers ending in 0000): as
    // Evolution's number check answers it.
    let (s, v) = post(
        &gw,
        &format!("/chat/fetchBusinessProfile/{name}"),
        json!({"number": "5511933330000"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"isBusiness": false, "message": "Not is business profile", "exists": false,
            "jid": "5511933330000@s.whatsapp.net", "number": "5511933330000"})
    );

    // fetchProfile fills Evolution's business fields for a business.
    let (s, v) = post(
        &gw,
        &format!("/chat/fetchProfile/{name}"),
        json!({"number": SHOP}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["isBusiness"], true);
    assert_eq!(v["email"], "hello@bakery.example");
    assert_eq!(v["website"], "https://bakery.example");

    // Native: the profile, or null.
    let key = gw.key("default", None);
    let (s, v) = gw.call(
        "GET",
        &format!("/core/instances/{name}/contacts/{SHOP}/business"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["categories"], json!(["Bakery"]));
    let (s, v) = gw.call(
        "GET",
        &format!("/core/instances/{name}/contacts/5511933332222/business"),
        Some(&key),
        None,
    );
    assert_eq!((s, v), (200, Value::Null));
}

#[test]
fn sessions_v1_serves_pictures_privacy_and_business_profiles() {
    use common::v1::{paired_session, v1};
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    let reader = gw.key("acme", Some(&["read"]));
    let sid = paired_session(&gw, &key, "v1account");
    let path = |p: &str| format!("/sessions/{sid}/{p}");

    let (s, v) = v1(&gw, "GET", &path("privacy"), &reader, None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["lastSeen"], "all");
    assert_eq!(v["callAdd"], "all");
    let (s, v) = v1(
        &gw,
        "PATCH",
        &path("privacy"),
        &key,
        Some(json!({"lastSeen": "contacts", "callAdd": "known"})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["lastSeen"], &v["callAdd"], &v["online"]),
        (&json!("contacts"), &json!("known"), &json!("all"))
    );
    // Unknown fields and values are named; a value its setting does not take is
    // core's `invalid`; a read-only key cannot change anything.
    let (s, v) = v1(
        &gw,
        "PATCH",
        &path("privacy"),
        &key,
        Some(json!({"lastSeen": "friends", "color": "red"})),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        v["error"]["details"]["fields"]["lastSeen"], "not a privacy value",
        "{v}"
    );
    assert_eq!(
        v["error"]["details"]["fields"]["color"], "unknown field",
        "{v}"
    );
    let (s, v) = v1(
        &gw,
        "PATCH",
        &path("privacy"),
        &key,
        Some(json!({"online": "contacts"})),
    );
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("online"),
        "{v}"
    );
    let (s, _) = v1(
        &gw,
        "PATCH",
        &path("privacy"),
        &reader,
        Some(json!({"online": "all"})),
    );
    assert_eq!(s, 403);
    let (_, v) = v1(&gw, "GET", &path("privacy"), &reader, None);
    assert_eq!(v["online"], "all");

    let (s, v) = v1(
        &gw,
        "PUT",
        &path("profile/picture"),
        &key,
        Some(json!({"data": b64(&jpeg(9))})),
    );
    assert_eq!(s, 204, "{v}");
    let (s, v) = v1(
        &gw,
        "PUT",
        &path("profile/picture"),
        &key,
        Some(json!({"data": "????"})),
    );
    assert_eq!(s, 422, "{v}");
    let (s, _) = v1(
        &gw,
        "PUT",
        &path("profile/picture"),
        &reader,
        Some(json!({"data": b64(&jpeg(9))})),
    );
    assert_eq!(s, 403);
    let (s, v) = v1(&gw, "DELETE", &path("profile/picture"), &key, None);
    assert_eq!(s, 204, "{v}");
    let (s, v) = v1(
        &gw,
        "PUT",
        &path("groups/120363000000000009@g.us/picture"),
        &key,
        Some(json!({"data": b64(&jpeg(9))})),
    );
    assert_eq!(s, 404, "{v}");

    let (s, v) = v1(
        &gw,
        "GET",
        &path(&format!("contacts/{SHOP}/business")),
        &reader,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["business"]["categories"], json!(["Bakery"]));
    let (s, v) = v1(
        &gw,
        "GET",
        &path("contacts/5511933332222/business"),
        &reader,
        None,
    );
    assert_eq!((s, v), (200, json!({"business": null})));
}

#[test]
fn ryze_serves_pictures_privacy_and_business_profiles() {
    use common::ryze::{account, connected, error, ryze, ryze_json};
    let gw = Gateway::start();
    let acct = account(&gw, "acme");
    let name = "ryzeaccount";
    let token = connected(&gw, &acct, name);

    let (s, v) = ryze_json(
        &gw,
        "GET",
        &format!("/api/instance/privacy/{name}"),
        Some(&token),
        json!(null),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["readReceipts"], "all");
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/instance/privacy/{name}"),
        Some(&acct),
        json!({"readReceipts": "none", "groupAdd": "contacts"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["data"]["readReceipts"], &v["data"]["groupAdd"]),
        (&json!("none"), &json!("contacts"))
    );
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/instance/privacy/{name}"),
        Some(&acct),
        json!({"readReceipts": "sometimes"}),
    );
    assert_eq!(
        (s, v),
        (400, error("`readReceipts` is not a privacy value"))
    );

    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/profile/picture/{name}"),
        Some(&acct),
        json!({"picture": b64(&jpeg(7))}),
    );
    assert_eq!(
        (s, v),
        (
            200,
            json!({"success": true, "message": "Profile picture updated"})
        )
    );
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/profile/picture/{name}"),
        Some(&acct),
        json!({}),
    );
    assert_eq!((s, v), (400, error("Picture is required")));
    let r = ryze(
        &gw,
        "DELETE",
        &format!("/api/profile/picture/{name}"),
        Some(&acct),
        "",
    );
    assert_eq!(r.status, 200, "{}", r.json());
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/group/picture/{name}"),
        Some(&acct),
        json!({"group": "120363000000000009@g.us", "picture": b64(&jpeg(7))}),
    );
    assert_eq!(s, 404, "{v}");

    let (s, v) = ryze_json(
        &gw,
        "GET",
        &format!("/api/contact/business/{name}?number={SHOP}"),
        Some(&token),
        json!(null),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["description"], "Fresh bread every morning");
    let (s, v) = ryze_json(
        &gw,
        "GET",
        &format!("/api/contact/business/{name}?number=5511933332222"),
        Some(&token),
        json!(null),
    );
    assert_eq!((s, v), (200, json!({"success": true, "data": null})));
}
