//! The native `/core` and `/admin` APIs through the real binary over loopback HTTP.

use crate::common;

use common::Gateway;
use serde_json::{Value, json};

const PEER: &str = "5511999999999";
const PEER_JID: &str = "5511999999999@s.whatsapp.net";

#[test]
fn a_newcomer_walks_through_every_operation() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    let (inst, inst_token) = gw.connected_instance(&key, "shop");
    assert!(inst_token.starts_with("wai_"));
    assert_eq!(inst["name"], "shop");

    let inbound = gw.inbound("shop", PEER, "hello", false);
    let mine = gw.inbound("shop", PEER, "from my phone", true);
    let (s, sent) = gw.call(
        "POST",
        "/core/instances/shop/messages",
        Some(&key),
        Some(json!({"to": PEER, "text": "hi back"})),
    );
    assert_eq!(s, 201, "{sent}");
    assert_eq!(sent["chat_jid"], PEER_JID);
    assert_eq!(sent["from_me"], true);

    let (s, chats) = gw.call("GET", "/core/instances/shop/chats", Some(&key), None);
    assert_eq!(s, 200);
    assert_eq!(chats.as_array().unwrap().len(), 1);
    assert_eq!(chats[0]["jid"], PEER_JID);

    let (s, page) = gw.call(
        "GET",
        &format!("/core/instances/shop/chats/{PEER}/messages"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200);
    let ids: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            sent["id"].as_str().unwrap(),
            mine.as_str(),
            inbound.as_str()
        ],
        "newest first"
    );
    assert!(page["next_cursor"].is_null());

    // One message by id, in whichever chat it is; an unknown id is not found.
    let (s, one) = gw.call(
        "GET",
        &format!("/core/instances/shop/messages/{inbound}"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200, "{one}");
    assert_eq!(
        (one["id"].as_str(), one["text"].as_str()),
        (Some(inbound.as_str()), Some("hello"))
    );
    let (s, none) = gw.call(
        "GET",
        "/core/instances/shop/messages/NOPE",
        Some(&key),
        None,
    );
    assert_eq!(
        (s, none["error"]["code"].as_str()),
        (404, Some("not_found"))
    );

    // Revoke my own message for everyone; a second revoke is an error.
    let (s, revoked) = gw.call(
        "DELETE",
        &format!("/core/instances/shop/messages/{mine}?for_everyone=true"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200, "{revoked}");
    assert_eq!(revoked["revoked"], true);
    assert!(revoked["text"].is_null());
    let (s, again) = gw.call(
        "DELETE",
        &format!("/core/instances/shop/messages/{mine}?for_everyone=true"),
        Some(&key),
        None,
    );
    assert_eq!(
        (s, again["error"]["code"].as_str()),
        (409, Some("conflict"))
    );

    // Delete the inbound one for me: gone from the listing.
    let (s, deleted) = gw.call(
        "DELETE",
        &format!("/core/instances/shop/messages/{inbound}"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(deleted["deleted_for_me"], true);
    let (_, page) = gw.call(
        "GET",
        &format!("/core/instances/shop/chats/{PEER}/messages"),
        Some(&key),
        None,
    );
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
    let (s, _) = gw.call(
        "DELETE",
        &format!("/core/instances/shop/messages/{inbound}"),
        Some(&key),
        None,
    );
    assert_eq!(s, 404);

    // Archive, pin, mute; then unmute wins over mutedUntil.
    let (s, chat) = gw.call(
        "PATCH",
        &format!("/core/instances/shop/chats/{PEER}"),
        Some(&key),
        Some(json!({"archived": true, "pinned": true, "muted_until": 4102444800000u64})),
    );
    assert_eq!(s, 200, "{chat}");
    assert_eq!(
        (
            chat["archived"].as_bool(),
            chat["pinned"].as_bool(),
            chat["muted_until"].as_u64()
        ),
        (Some(true), Some(true), Some(4102444800000))
    );
    let (_, chat) = gw.call(
        "PATCH",
        &format!("/core/instances/shop/chats/{PEER_JID}"),
        Some(&key),
        Some(json!({"muted_until": 5, "unmute": true})),
    );
    assert!(chat["muted_until"].is_null());
    assert_eq!(chat["archived"], true, "omitted fields stay");

    // Delete the chat (local copy); it comes back on new activity.
    let (s, body) = gw.call(
        "DELETE",
        &format!("/core/instances/shop/chats/{PEER}"),
        Some(&key),
        None,
    );
    assert_eq!((s, body), (204, serde_json::Value::Null));
    let (s, _) = gw.call(
        "GET",
        &format!("/core/instances/shop/chats/{PEER}/messages"),
        Some(&key),
        None,
    );
    assert_eq!(s, 404);
    gw.inbound("shop", PEER, "again", false);
    let (_, page) = gw.call(
        "GET",
        &format!("/core/instances/shop/chats/{PEER}/messages"),
        Some(&key),
        None,
    );
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);

    // Logout keeps the data; connect again works.
    let (s, out) = gw.call("POST", "/core/instances/shop/logout", Some(&key), None);
    assert_eq!((s, out["state"].as_str()), (200, Some("disconnected")));
    let (s, _) = gw.call(
        "GET",
        &format!("/core/instances/shop/chats/{PEER}/messages"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200);
    let (s, info) = gw.call(
        "POST",
        "/core/instances/shop/connect",
        Some(&key),
        Some(json!({"phone": "5511988887777"})),
    );
    assert_eq!(s, 200);
    assert_eq!(info["pair_code"].as_str().map(str::len), Some(9), "{info}");
    gw.wait_state(&key, "shop", "open");

    // Delete the instance; the name is free again at once.
    let (s, gone) = gw.call("DELETE", "/core/instances/shop", Some(&key), None);
    assert_eq!(s, 200, "{gone}");
    assert_eq!(gone["name"], "shop");
    let (s, _) = gw.call("GET", "/core/instances/shop", Some(&key), None);
    assert_eq!(s, 404);
    let (s, _) = gw.call("GET", "/core/instances/shop", Some(&inst_token), None);
    assert_eq!(s, 401, "the instance token died with its instance");
    gw.instance(&key, "shop");
}

#[test]
fn errors_are_clear_and_in_the_native_shape() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    let (s, v) = gw.call("GET", "/core/instances", None, None);
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (s, _) = gw.call("GET", "/core/instances", Some("wa_nope"), None);
    assert_eq!(s, 401);

    let r = gw.raw(
        "POST",
        "/core/instances",
        &[("Authorization", &format!("Bearer {key}"))],
        b"{not json",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "invalid");
    for bad in [
        "",
        "has space",
        "a/b",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        &"x".repeat(65),
    ] {
        let (s, v) = gw.call(
            "POST",
            "/core/instances",
            Some(&key),
            Some(json!({"name": bad})),
        );
        assert_eq!(s, 400, "name {bad:?}: {v}");
    }
    gw.instance(&key, "one");
    let (s, v) = gw.call(
        "POST",
        "/core/instances",
        Some(&key),
        Some(json!({"name": "one"})),
    );
    assert_eq!((s, v["error"]["code"].as_str()), (409, Some("conflict")));
    let (s, v) = gw.call("GET", "/core/instances/nope", Some(&key), None);
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("not_found")));

    // Not connected: sending and deleting messages say so.
    let (s, v) = gw.call(
        "POST",
        "/core/instances/one/messages",
        Some(&key),
        Some(json!({"to": PEER, "text": "x"})),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (503, Some("not_connected"))
    );
    let (s, _) = gw.call(
        "POST",
        "/core/instances/one/connect",
        Some(&key),
        Some(json!({"phone": "12ab"})),
    );
    assert_eq!(s, 400);
    gw.call("POST", "/core/instances/one/connect", Some(&key), None);
    gw.wait_state(&key, "one", "open");
    let id = gw.inbound("one", PEER, "x", true);
    let (s, _) = gw.admin("POST", "/admin/sim/one/link", Some(json!({"up": false})));
    assert_eq!(s, 200);
    let (s, v) = gw.call(
        "DELETE",
        &format!("/core/instances/one/messages/{id}?for_everyone=true"),
        Some(&key),
        None,
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (503, Some("not_connected"))
    );
    let (s, _) = gw.call(
        "DELETE",
        &format!("/core/instances/one/messages/{id}"),
        Some(&key),
        None,
    );
    assert_eq!(s, 503);
    gw.admin("POST", "/admin/sim/one/link", Some(json!({"up": true})));
    gw.wait_state(&key, "one", "open");

    let (s, v) = gw.call(
        "DELETE",
        "/core/instances/one/messages/3EB0FFFFFFFFFFFFFFFF",
        Some(&key),
        None,
    );
    assert_eq!(
        (s, v["error"]["message"].as_str()),
        (404, Some("message not found"))
    );
    let (s, v) = gw.call(
        "DELETE",
        &format!("/core/instances/one/messages/{id}?for_everyone=maybe"),
        Some(&key),
        None,
    );
    assert_eq!(s, 400, "{v}");
    let other = gw.inbound("one", PEER, "not mine", false);
    let (s, _) = gw.call(
        "DELETE",
        &format!("/core/instances/one/messages/{other}?for_everyone=true"),
        Some(&key),
        None,
    );
    assert_eq!(
        s, 409,
        "a contact's message cannot be revoked in a direct chat"
    );

    let (s, v) = gw.call(
        "POST",
        "/core/instances/one/messages",
        Some(&key),
        Some(json!({"to": "not-a-number", "text": "x"})),
    );
    assert_eq!(s, 400);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("JID"),
        "{v}"
    );
    let (s, _) = gw.call(
        "POST",
        "/core/instances/one/messages",
        Some(&key),
        Some(json!({"to": PEER, "text": "  "})),
    );
    assert_eq!(s, 400);
    let (s, _) = gw.call(
        "GET",
        "/core/instances/one/chats/5511000000000/messages",
        Some(&key),
        None,
    );
    assert_eq!(s, 404, "unknown chat");
    let (s, _) = gw.call(
        "DELETE",
        "/core/instances/one/chats/5511000000000",
        Some(&key),
        None,
    );
    assert_eq!(s, 404);
    let (s, _) = gw.call(
        "PATCH",
        &format!("/core/instances/one/chats/{PEER}"),
        Some(&key),
        Some(json!({"archived": "yes"})),
    );
    assert_eq!(s, 400);
    for q in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "cursor=!!!",
        "cursor=AAAA",
    ] {
        let (s, v) = gw.call(
            "GET",
            &format!("/core/instances/one/chats/{PEER}/messages?{q}"),
            Some(&key),
            None,
        );
        assert_eq!(s, 400, "{q}: {v}");
    }
    let (s, _) = gw.call("PUT", "/core/instances/one", Some(&key), None);
    assert_eq!(s, 405);
    let (s, _) = gw.call("GET", "/core/nothing/here", Some(&key), None);
    assert_eq!(s, 404);

    // Oversized body: 413, and the server keeps serving.
    let big = vec![b'a'; 2 * 1024 * 1024];
    let r = gw.raw(
        "POST",
        "/core/instances",
        &[("Authorization", &format!("Bearer {key}"))],
        &big,
    );
    assert_eq!(r.status, 413);
    let (s, _) = gw.call("GET", "/core/instances", Some(&key), None);
    assert_eq!(s, 200);
}

#[test]
fn authorization_matrix() {
    let gw = Gateway::start();
    let acme = gw.org_with_key("acme", None);
    let other = gw.org_with_key("other", None);
    let (_, a_token) = gw.connected_instance(&acme, "a");
    gw.connected_instance(&acme, "b");
    gw.inbound("a", PEER, "x", false);
    let msg = gw.inbound("a", PEER, "mine", true);

    // Another org: every route says not found, never forbidden.
    let routes: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        ("GET", "/core/instances/a".into(), None),
        ("DELETE", "/core/instances/a".into(), None),
        ("POST", "/core/instances/a/connect".into(), None),
        ("GET", "/core/instances/a/state".into(), None),
        ("POST", "/core/instances/a/logout".into(), None),
        (
            "POST",
            "/core/instances/a/messages".into(),
            Some(json!({"to": PEER, "text": "x"})),
        ),
        ("DELETE", format!("/core/instances/a/messages/{msg}"), None),
        ("GET", "/core/instances/a/chats".into(), None),
        ("GET", format!("/core/instances/a/chats/{PEER}"), None),
        (
            "PATCH",
            format!("/core/instances/a/chats/{PEER}"),
            Some(json!({"archived": true})),
        ),
        ("DELETE", format!("/core/instances/a/chats/{PEER}"), None),
        (
            "GET",
            format!("/core/instances/a/chats/{PEER}/messages"),
            None,
        ),
    ];
    for (m, path, body) in &routes {
        let (s, v) = gw.call(m, path, Some(&other), body.clone());
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{m} {path}"
        );
    }
    let (_, list) = gw.call("GET", "/core/instances", Some(&other), None);
    assert_eq!(list, json!([]));

    // An instance-bound credential sees only its instance and cannot delete it.
    let (_, list) = gw.call("GET", "/core/instances", Some(&a_token), None);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "a");
    let (s, _) = gw.call("GET", "/core/instances/b", Some(&a_token), None);
    assert_eq!(s, 404);
    let (s, _) = gw.call("GET", "/core/instances/a/chats", Some(&a_token), None);
    assert_eq!(s, 200);
    let (s, v) = gw.call("DELETE", "/core/instances/a", Some(&a_token), None);
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("forbidden")));
    let (s, _) = gw.call(
        "POST",
        "/core/instances",
        Some(&a_token),
        Some(json!({"name": "c"})),
    );
    assert_eq!(s, 403);

    // Missing capability: forbidden on a visible instance.
    let reader = gw.key("acme", Some(&["read"]));
    let (s, _) = gw.call("GET", "/core/instances/a/chats", Some(&reader), None);
    assert_eq!(s, 200);
    for (m, path, body) in &routes[1..] {
        if *m == "GET" {
            continue;
        }
        let (s, v) = gw.call(m, path, Some(&reader), body.clone());
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{m} {path}"
        );
    }
    let sender = gw.key("acme", Some(&["send"]));
    let (s, _) = gw.call("GET", "/core/instances/a/chats", Some(&sender), None);
    assert_eq!(s, 403);
    let (s, _) = gw.call(
        "PATCH",
        &format!("/core/instances/a/chats/{PEER}"),
        Some(&sender),
        Some(json!({"pinned": true})),
    );
    assert_eq!(s, 200, "changing a chat needs send only");
    let (s, _) = gw.call(
        "POST",
        "/core/instances/a/messages",
        Some(&sender),
        Some(json!({"to": PEER, "text": "ok"})),
    );
    assert_eq!(s, 201);

    // The admin API wants the admin token.
    let (s, _) = gw.call("GET", "/admin/instances", Some(&acme), None);
    assert_eq!(s, 401);
    let (s, all) = gw.admin("GET", "/admin/instances", None);
    assert_eq!(s, 200);
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[test]
fn paging_boundaries() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "p");
    let mut sent = Vec::new();
    for i in 0..100 {
        sent.push(gw.inbound("p", PEER, &format!("m{i}"), false));
    }
    sent.reverse(); // newest first
    let path = format!("/core/instances/p/chats/{PEER}/messages");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("{path}?limit=50&cursor={c}"),
            None => format!("{path}?limit=50"),
        };
        let (s, page) = gw.call("GET", &q, Some(&key), None);
        assert_eq!(s, 200, "{page}");
        pages += 1;
        let msgs = page["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 50);
        seen.extend(msgs.iter().map(|m| m["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(
        pages, 2,
        "exactly two full pages, the last with a null cursor"
    );
    assert_eq!(seen, sent);

    let (_, page) = gw.call("GET", &format!("{path}?limit=200"), Some(&key), None);
    assert_eq!(page["messages"].as_array().unwrap().len(), 100);
    assert!(page["next_cursor"].is_null());
    let (_, page) = gw.call("GET", &path, Some(&key), None);
    assert_eq!(
        page["messages"].as_array().unwrap().len(),
        50,
        "default limit"
    );
    let (_, page) = gw.call("GET", &format!("{path}?limit=1"), Some(&key), None);
    assert_eq!(page["messages"][0]["id"].as_str(), Some(sent[0].as_str()));
    let c = page["next_cursor"].as_str().unwrap().to_string();
    let (_, page) = gw.call(
        "GET",
        &format!("{path}?limit=99&cursor={c}"),
        Some(&key),
        None,
    );
    assert_eq!(page["messages"].as_array().unwrap().len(), 99);
    assert!(page["next_cursor"].is_null());
}

#[test]
fn jids_are_normalised_one_way_over_http() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "j");
    for to in [
        "+55 (11) 99999-9999",
        "5511999999999@c.us",
        "5511999999999:3@s.whatsapp.net",
    ] {
        let (s, m) = gw.call(
            "POST",
            "/core/instances/j/messages",
            Some(&key),
            Some(json!({"to": to, "text": "x"})),
        );
        assert_eq!(s, 201);
        assert_eq!(m["chat_jid"], PEER_JID, "{to}");
    }
    let group = "120363025246125888@g.us";
    gw.inbound("j", group, "in a group", false);
    let (_, chats) = gw.call("GET", "/core/instances/j/chats", Some(&key), None);
    let jids: Vec<&str> = chats
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["jid"].as_str().unwrap())
        .collect();
    assert_eq!(jids.len(), 2);
    assert!(jids.contains(&group) && jids.contains(&PEER_JID));
    let (s, _) = gw.call(
        "GET",
        "/core/instances/j/chats/120363025246125888%40g.us",
        Some(&key),
        None,
    );
    assert_eq!(s, 200);
    let (s, _) = gw.call(
        "GET",
        "/core/instances/j/chats/1234567890123@lid",
        Some(&key),
        None,
    );
    assert_eq!(s, 404, "a valid but unknown lid chat");
    let (s, _) = gw.call(
        "GET",
        "/core/instances/j/chats/hello@example.com",
        Some(&key),
        None,
    );
    assert_eq!(s, 400);
}

#[test]
fn a_restart_finds_everything_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let gw = Gateway::start_on(&data, &[]);
    let key = gw.org_with_key("acme", None);
    let (_, token) = gw.connected_instance(&key, "keep");
    let first = gw.inbound("keep", PEER, "one", false);
    gw.call(
        "PATCH",
        &format!("/core/instances/keep/chats/{PEER}"),
        Some(&key),
        Some(json!({"pinned": true})),
    );
    let (_, before) = gw.call(
        "GET",
        &format!("/core/instances/keep/chats/{PEER}/messages"),
        Some(&key),
        None,
    );
    let status = gw.stop();
    assert!(status.success(), "graceful stop: {status:?}");

    let gw = Gateway::start_on(&data, &[]);
    let (s, after) = gw.call(
        "GET",
        &format!("/core/instances/keep/chats/{PEER}/messages"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(before, after);
    let (_, chat) = gw.call(
        "GET",
        &format!("/core/instances/keep/chats/{PEER}"),
        Some(&key),
        None,
    );
    assert_eq!(chat["pinned"], true);
    let (s, _) = gw.call("GET", "/core/instances/keep", Some(&token), None);
    assert_eq!(s, 200, "the instance token survives");
    gw.wait_state(&key, "keep", "open");
    let (s, _) = gw.call(
        "DELETE",
        &format!("/core/instances/keep/messages/{first}"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200, "the paired session is resumed after restart");
}

#[test]
fn health_and_metrics() {
    let gw = Gateway::start();
    let r = gw.raw("GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200);
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "m");
    gw.call("GET", "/core/instances/zzz", Some(&key), None);
    let r = gw.raw("GET", "/metrics", &[], b"");
    let text = String::from_utf8(r.body).unwrap();
    assert!(
        text.contains("wagate_http_requests_total{route=\"core:instance\",status=\"404\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("wagate_instances{state=\"open\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("wagate_http_request_duration_seconds_count"),
        "{text}"
    );
}

#[test]
fn operator_cli_works_on_the_folder_and_against_the_server() {
    if crate::common::redb_only("operator_cli_works_on_the_folder_and_against_the_server") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wagate"))
            .args(args)
            .env("WAGATE_ADMIN_TOKEN", common::ADMIN)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let d = data.to_str().unwrap();
    cli(&["org", "create", "acme", "--data", d]);
    let tok = cli(&[
        "token",
        "create",
        "--org",
        "acme",
        "--cap",
        "read,send,manage",
        "--data",
        d,
    ]);
    let key = tok["token"].as_str().unwrap().to_string();
    assert!(key.starts_with("wa_"));
    // Kinds a bundled plugin declares are minted offline too, with their prefix and
    // default capabilities; an unknown kind is refused with the known ones listed.
    let ryze = cli(&[
        "token",
        "create",
        "--org",
        "acme",
        "--kind",
        "ryze-account",
        "--data",
        d,
    ]);
    assert!(
        ryze["token"].as_str().unwrap().starts_with("ryze_"),
        "{ryze}"
    );
    assert_eq!(
        ryze["capabilities"],
        json!(["read", "send", "manage", "admin"])
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args([
            "token", "create", "--org", "acme", "--kind", "nope", "--data", d,
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("unknown credential kind `nope`") && err.contains("evolution-key"),
        "{err}"
    );

    let gw = Gateway::start_on(&data, &[]);
    gw.instance(&key, "cli-made");
    let list = cli(&["instance", "list", "--server", &gw.base]);
    assert_eq!(list[0]["name"], "cli-made");
    let gone = cli(&["instance", "delete", "cli-made", "--server", &gw.base]);
    assert_eq!(gone["name"], "cli-made");
    // The folder is locked while the server runs: a clear error, not corruption.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args(["instance", "list", "--data", d])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    gw.stop();
    assert_eq!(cli(&["instance", "list", "--data", d]), json!([]));
}

fn wagate_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args(args)
        .env("WAGATE_ADMIN_TOKEN", common::ADMIN)
        .output()
        .unwrap()
}

/// Issue 14, defect 5: names are unique per org. Two orgs both create `shop` through
/// every dialect, each sees and deletes only its own; the operator disambiguates by
/// org or id and an ambiguous name is refused with the orgs to choose from.
#[test]
fn instance_names_are_each_orgs_own() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let gw = Gateway::start_on(&data, &[]);
    let a = gw.org_with_key("acme", None);
    let b = gw.org_with_key("beta", None);

    // Native API.
    let (a_shop, _) = gw.instance(&a, "shop");
    let (b_shop, _) = gw.instance(&b, "shop");
    assert_ne!(a_shop["id"], b_shop["id"]);
    let (s, v) = gw.call(
        "POST",
        "/core/instances",
        Some(&a),
        Some(json!({"name": "shop"})),
    );
    assert_eq!(s, 409, "the same name twice in one org: {v}");
    for (key, mine) in [(&a, &a_shop), (&b, &b_shop)] {
        let (s, v) = gw.call("GET", "/core/instances/shop", Some(key), None);
        assert_eq!((s, &v["id"]), (200, &mine["id"]), "{v}");
        let (_, list) = gw.call("GET", "/core/instances", Some(key), None);
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    }

    // Evolution (`apikey`) and Ryze (`token`).
    let (ea, eb) = (
        gw.credential("acme", "evolution-key"),
        gw.credential("beta", "evolution-key"),
    );
    for key in [&ea, &eb] {
        let r = gw.raw(
            "POST",
            "/instance/create",
            &[("content-type", "application/json"), ("apikey", key)],
            json!({"instanceName": "evo"}).to_string().as_bytes(),
        );
        assert_eq!(r.status, 201, "{:?}", r.json());
    }
    let (ra, rb) = (
        gw.credential("acme", "ryze-account"),
        gw.credential("beta", "ryze-account"),
    );
    for token in [&ra, &rb] {
        let r = gw.raw(
            "POST",
            "/api/instance/new",
            &[("content-type", "application/json"), ("token", token)],
            json!({"name": "ry"}).to_string().as_bytes(),
        );
        assert_eq!(r.status, 201, "{:?}", r.json());
    }

    // Each deletes its own; the other's stays.
    let (s, v) = gw.call("DELETE", "/core/instances/shop", Some(&a), None);
    assert_eq!((s, &v["id"]), (200, &a_shop["id"]), "{v}");
    let (s, v) = gw.call("GET", "/core/instances/shop", Some(&b), None);
    assert_eq!((s, &v["id"]), (200, &b_shop["id"]), "{v}");
    let (s, _) = gw.call("GET", "/core/instances/shop", Some(&a), None);
    assert_eq!(s, 404);
    let r = gw.raw("DELETE", "/instance/delete/evo", &[("apikey", &eb)], b"");
    assert_eq!(r.status, 200, "{:?}", r.json());
    let r = gw.raw(
        "GET",
        "/instance/connectionState/evo",
        &[("apikey", &ea)],
        b"",
    );
    assert_eq!(r.status, 200, "acme's evo is still there: {:?}", r.json());
    let r = gw.raw(
        "GET",
        "/instance/connectionState/evo",
        &[("apikey", &eb)],
        b"",
    );
    assert_eq!(r.status, 404, "{:?}", r.json());

    // The operator: an ambiguous name is refused and names both orgs; `?org=` picks.
    let (s, v) = gw.admin("DELETE", "/admin/instances/ry", None);
    assert_eq!(s, 400, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("acme") && msg.contains("beta") && msg.contains("org"),
        "{msg}"
    );
    let (s, v) = gw.admin("DELETE", "/admin/instances/ry?org=beta", None);
    assert_eq!(s, 200, "{v}");
    let (s, _) = gw.admin("DELETE", "/admin/instances/ry?org=beta", None);
    assert_eq!(s, 404);
    let (s, v) = gw.admin("DELETE", "/admin/instances/ry?org=nope", None);
    assert_eq!(s, 404, "{v}");
    let r = gw.raw("GET", "/api/instance/status/ry", &[("token", &ra)], b"");
    assert_eq!(r.status, 200, "acme's ry is still there: {:?}", r.json());

    // The CLI on the data folder: the same choice as `--org`.
    if crate::common::redb_only("instance_names_are_each_orgs_own (its CLI part)") {
        return;
    }
    let (a_shop2, _) = gw.instance(&a, "shop");
    gw.stop();
    let d = data.to_str().unwrap();
    let out = wagate_cli(&["instance", "delete", "shop", "--data", d]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--org") && err.contains("acme") && err.contains("beta"),
        "{err}"
    );
    let out = wagate_cli(&["instance", "delete", "shop", "--org", "acme", "--data", d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gone: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(gone["id"], a_shop2["id"]);
    // Now only beta uses `shop`: the bare name is unambiguous again.
    let out = wagate_cli(&["instance", "delete", "shop", "--data", d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gone: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(gone["id"], b_shop["id"]);
}

/// Issue 14, defect 5: a data file whose name index is the old global one (schema 2:
/// `name -> id`) is migrated at start-up: each instance keeps its name in its org, and
/// another org can now use the name.
#[test]
fn a_global_name_index_is_migrated_per_org() {
    if crate::common::redb_only("a_global_name_index_is_migrated_per_org") {
        return;
    }
    use redb::{ReadableTable, TableDefinition};
    const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
    const NAMES: TableDefinition<&str, &str> = TableDefinition::new("instance_names");
    const INSTANCES: TableDefinition<&str, &[u8]> = TableDefinition::new("instances");

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let gw = Gateway::start_on(&data, &[]);
    let a = gw.org_with_key("acme", None);
    let b = gw.org_with_key("beta", None);
    let (one, _) = gw.instance(&a, "one");
    let (two, _) = gw.instance(&b, "two");
    assert!(gw.stop().success());

    // Rewrite the index the way schema 2 kept it.
    let path = data.join("wagate.redb");
    {
        let db = redb::Database::open(&path).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let ids: Vec<(String, String)> = tx
                .open_table(INSTANCES)
                .unwrap()
                .iter()
                .unwrap()
                .map(|r| {
                    let (k, v) = r.unwrap();
                    let rec: serde_json::Value = serde_json::from_slice(v.value()).unwrap();
                    (
                        rec["name"].as_str().unwrap().to_string(),
                        k.value().to_string(),
                    )
                })
                .collect();
            assert_eq!(ids.len(), 2);
            let mut names = tx.open_table(NAMES).unwrap();
            names.retain(|_, _| false).unwrap();
            for (name, id) in &ids {
                names.insert(name.as_str(), id.as_str()).unwrap();
            }
            tx.open_table(META)
                .unwrap()
                .insert("schema_version", 2)
                .unwrap();
        }
        tx.commit().unwrap();
    }

    let gw = Gateway::start_on(&data, &[]);
    let (s, v) = gw.call("GET", "/core/instances/one", Some(&a), None);
    assert_eq!((s, &v["id"]), (200, &one["id"]), "{v}");
    let (s, v) = gw.call("GET", "/core/instances/two", Some(&b), None);
    assert_eq!((s, &v["id"]), (200, &two["id"]), "{v}");
    let (s, _) = gw.call("GET", "/core/instances/one", Some(&b), None);
    assert_eq!(s, 404, "another org's name stays invisible");
    let (beta_one, _) = gw.instance(&b, "one");
    assert_ne!(beta_one["id"], one["id"]);
    let (s, v) = gw.call("GET", "/core/instances/one", Some(&a), None);
    assert_eq!((s, &v["id"]), (200, &one["id"]), "{v}");
    assert!(gw.stop().success());
    assert_eq!(
        common::stored_schema_version(&data),
        wagate::store::SCHEMA_VERSION
    );
}

/// Issue 14, defect 1: a chat of large inbound messages (40 of 1,000,000 characters,
/// 60 of 65,536 emoji) reads page by page through `/core` and every dialect: every page
/// 200, and walking each dialect's cursor (or pages) reaches every message exactly once.
/// Texts longer than the gateway keeps are stored cut, with `truncated`.
#[test]
fn large_inbound_messages_page_through_every_dialect() {
    use std::collections::HashSet;
    // What is checked is paging, not speed: a ~1 MiB page costs the dialects tens of
    // milliseconds of guest time, but on a starved machine (the suite's gateways plus
    // the builds) a 200 ms deadline ran out now and then and the page was a 500. The
    // deadline's own behaviour is tested in plugin_runtime.
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("wagate.toml");
    std::fs::write(
        &cfg,
        "[plugins.settings.ryze]\ndeadline_ms = 10000\n\
         [plugins.settings.evolution]\ndeadline_ms = 10000\n\
         [plugins.settings.sessions-v1]\ndeadline_ms = 10000\n",
    )
    .unwrap();
    let gw = Gateway::start_on_with_env(
        &tmp.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
        &[("AUTHENTICATION_API_KEY", "evo-global-for-big")],
    );
    let key = gw.org_with_key("default", None);
    gw.connected_instance(&key, "big");
    let huge = "x".repeat(1_000_000);
    let emoji = "😀".repeat(65_536);
    let mut ids = HashSet::new();
    for i in 0..100 {
        let text = if i % 5 < 2 { &huge } else { &emoji };
        ids.insert(gw.inbound("big", PEER, text, false));
    }
    assert_eq!(ids.len(), 100);

    // /core: what was stored, page by page.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/core/instances/big/chats/{PEER}/messages?limit=200&cursor={c}"),
            None => format!("/core/instances/big/chats/{PEER}/messages?limit=200"),
        };
        let (s, v) = gw.call("GET", &path, Some(&key), None);
        assert_eq!(s, 200, "/core page {pages}");
        pages += 1;
        for m in v["messages"].as_array().unwrap() {
            let text = m["text"].as_str().unwrap();
            assert_eq!(text.chars().count(), 65_536, "stored at the cap");
            let cut = text.starts_with('x');
            assert_eq!(
                m["truncated"].as_bool().unwrap_or(false),
                cut,
                "{}",
                m["id"]
            );
            seen.push(m["id"].as_str().unwrap().to_string());
        }
        cursor = v["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    assert!(
        pages > 1,
        "a 200-message page of this chat is split by size"
    );
    let once = |seen: &[String], what: &str| {
        let set: HashSet<String> = seen.iter().cloned().collect();
        assert_eq!(seen.len(), 100, "{what}: every message once");
        assert_eq!(set, ids, "{what}");
    };
    once(&seen, "/core");

    // sessions/v1.
    let (s, v) = gw.call("GET", "/api/v1/sessions", Some(&key), None);
    assert_eq!(s, 200, "{v}");
    let sid = v["data"][0]["id"].as_str().unwrap().to_string();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/sessions/{sid}/chats/{PEER}/messages?limit=100");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (s, v) = gw.call("GET", &path, Some(&key), None);
        assert_eq!(
            s,
            200,
            "sessions/v1: {}",
            v.to_string().chars().take(300).collect::<String>()
        );
        seen.extend(
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string()),
        );
        cursor = v["nextCursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    once(&seen, "sessions/v1");

    // Ryze: `count` up to 1000, `nextCursor` continues.
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "default", "kind": "ryze-account"})),
    );
    assert_eq!(s, 201, "{v}");
    let ryze = v["token"].as_str().unwrap().to_string();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let body = json!({"number": PEER, "count": 1000, "cursor": cursor});
        let r = gw.raw(
            "POST",
            "/api/chat/history/big",
            &[("content-type", "application/json"), ("token", &ryze)],
            body.to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "Ryze");
        let v = r.json();
        seen.extend(
            v["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string()),
        );
        cursor = v["nextCursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    once(&seen, "Ryze");

    // Evolution: `page` from 1 to `pages`.
    let mut seen = Vec::new();
    let mut page = 1;
    loop {
        let r = gw.raw(
            "POST",
            "/chat/findMessages/big",
            &[
                ("content-type", "application/json"),
                ("apikey", "evo-global-for-big"),
            ],
            json!({"where": {"key": {"remoteJid": PEER}}, "page": page, "offset": 100})
                .to_string()
                .as_bytes(),
        );
        assert_eq!(r.status, 200, "Evolution page {page}");
        let v = r.json();
        assert_eq!(v["messages"]["total"], 100);
        seen.extend(
            v["messages"]["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["key"]["id"].as_str().unwrap().to_string()),
        );
        if page >= v["messages"]["pages"].as_u64().unwrap() {
            break;
        }
        page += 1;
    }
    assert!(page > 1, "Evolution's page of 100 is split by size");
    once(&seen, "Evolution");
}

#[test]
fn restart_and_integrations_on_the_native_api() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    let reader = gw.key("acme", Some(&["read"]));
    gw.instance(&key, "idle");
    let (s, v) = gw.call("POST", "/core/instances/idle/restart", Some(&key), None);
    assert_eq!(
        s, 503,
        "an unpaired instance cannot restart (not_connected): {v}"
    );
    assert_eq!(v["error"]["code"], "not_connected");
    gw.connected_instance(&key, "shop");
    let (s, v) = gw.call("POST", "/core/instances/shop/restart", Some(&key), None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "shop");
    gw.wait_state(&key, "shop", "open");
    let (s, _) = gw.call("POST", "/core/instances/shop/restart", Some(&reader), None);
    assert_eq!(s, 403, "restart needs manage");

    let (s, v) = gw.call("GET", "/core/instances/shop/integrations", Some(&key), None);
    assert_eq!((s, v), (200, json!([])));
    let (s, _) = gw.call(
        "GET",
        "/core/instances/shop/integrations",
        Some(&reader),
        None,
    );
    assert_eq!(s, 403, "integrations need manage");
    let other = gw.org_with_key("rival", None);
    let (s, _) = gw.call(
        "GET",
        "/core/instances/shop/integrations",
        Some(&other),
        None,
    );
    assert_eq!(s, 404);

    // Set, read, edit and remove one (the console's integrations panel uses these).
    let path = "/core/instances/shop/integrations/chatwoot";
    let spec = json!({
        "url": "https://chatwoot.example.com",
        "settings": {"accountId": "7", "nameInbox": "shop"},
        "secret_headers": {"api_access_token": "tok-1"},
    });
    let (s, v) = gw.call("PUT", path, Some(&key), Some(spec.clone()));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["sink"], "chatwoot");
    assert_eq!(v["enabled"], true, "enabled unless said otherwise");
    assert_eq!(v["secret_header_names"], json!(["api_access_token"]));
    assert!(
        !v.to_string().contains("tok-1"),
        "a secret value is never shown: {v}"
    );
    let settings: Value = serde_json::from_str(v["settings"].as_str().unwrap()).unwrap();
    assert_eq!(settings["accountId"], "7");
    // An edit without secret_headers keeps the held ones.
    let (s, v) = gw.call(
        "PUT",
        path,
        Some(&key),
        Some(json!({"url": "https://chatwoot.example.com", "settings": {"accountId": "8"}, "enabled": false})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["enabled"], &v["secret_header_names"]),
        (&json!(false), &json!(["api_access_token"]))
    );
    let (_, list) = gw.call("GET", "/core/instances/shop/integrations", Some(&key), None);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    // Refusals: an unknown sink, a body that is not the shape, a read-only key, another org.
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/shop/integrations/nope",
        Some(&key),
        Some(spec.clone()),
    );
    assert_eq!((s, &v["error"]["code"]), (400, &json!("invalid")), "{v}");
    let (s, _) = gw.call(
        "PUT",
        path,
        Some(&key),
        Some(json!({"url": "https://x.test", "settings": "a string"})),
    );
    assert_eq!(s, 400);
    let (s, _) = gw.call("PUT", path, Some(&reader), Some(spec.clone()));
    assert_eq!(s, 403);
    let (s, _) = gw.call("DELETE", path, Some(&other), None);
    assert_eq!(s, 404);
    let (s, _) = gw.call("DELETE", path, Some(&key), None);
    assert_eq!(s, 204);
    let (s, v) = gw.call("DELETE", path, Some(&key), None);
    assert_eq!((s, &v["error"]["code"]), (404, &json!("not_found")), "{v}");
    let (_, list) = gw.call("GET", "/core/instances/shop/integrations", Some(&key), None);
    assert_eq!(list, json!([]));
}
