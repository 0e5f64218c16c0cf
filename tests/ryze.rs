//! The RyzeAPI dialect (`plugins/ryze`) and its token auth (`plugins/ryze-token`), end to
//! end through the real binary with the bundled plugins: every example and error row
//! of the three delete seeds (whole JSON bodies), the lifecycle around them,
//! TokenAccount vs TokenInstance, tenancy, rate limits, OpenAPI, and event rendering.

use crate::common;

use std::time::Duration;

use common::ryze::{account, connected, create, error, ryze, ryze_json, state, wait_connected};
use common::{ADMIN, Gateway};
use serde_json::{Value, json};

// ---- auth and OpenAPI -------------------------------------------------------------------

#[test]
fn openapi_is_served_without_a_token() {
    let gw = Gateway::start();
    let r = ryze(&gw, "GET", "/api/openapi.json", None, "");
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["openapi"], "3.1.0");
    for p in [
        "/chat/deleteChat/{instance}",
        "/chat/delete/{instance}",
        "/instance/delete/{instance}",
    ] {
        assert!(v["paths"][p]["delete"].is_object(), "{p} missing");
    }
    assert!(v["paths"]["/instance/new"]["post"].is_object());
    assert_eq!(v["components"]["securitySchemes"]["token"]["name"], "token");
}

#[test]
fn missing_or_invalid_token_is_401_invalid_token_on_every_seed_route() {
    let gw = Gateway::start();
    let acc = account(&gw, "acme");
    create(&gw, &acc, "inst");
    let routes = [
        (
            "/api/chat/deleteChat/inst",
            json!({"number": "5511999999999"}),
        ),
        (
            "/api/chat/delete/inst",
            json!({"messageId": "3EB08FCF27E532F1B0F5"}),
        ),
        ("/api/instance/delete/inst", Value::Null),
    ];
    for (path, body) in &routes {
        for token in [None, Some("nope"), Some("")] {
            let r = ryze(&gw, "DELETE", path, token, &body.to_string());
            assert_eq!(r.status, 401, "{path} {token:?}");
            assert_eq!(r.json(), error("Invalid token"), "{path} {token:?}");
        }
    }
    // `Authorization: Bearer` is accepted too (RyzeAPI's compatibility form).
    let auth = format!("Bearer {acc}");
    let r = gw.raw(
        "GET",
        "/api/instance/list",
        &[("Authorization", auth.as_str())],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.json());
    // The instance was not touched by any of the refused calls.
    assert_eq!(state(&gw, &acc, "inst"), "disconnected");
}

// ---- lifecycle ---------------------------------------------------------------------------

#[test]
fn create_connect_status_logout_and_pair_code() {
    let gw = Gateway::start();
    let acc = account(&gw, "acme");

    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/instance/new",
        Some(&acc),
        json!({"name": "sales"}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["message"], "Instance created successfully");
    assert_eq!(v["instance"]["name"], "sales");
    assert_eq!(v["instance"]["status"], "disconnected");
    assert_eq!(
        v["instance"]["connection"],
        json!({"state": "disconnected", "numberJid": null})
    );
    let token = v["instance"]["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("wai_"), "{token}");
    assert_eq!(v["data"]["token"], token.as_str());
    assert!(v["instance"]["createdAt"].as_str().unwrap().ends_with('Z'));

    // Name taken, name missing, malformed body.
    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/instance/new",
        Some(&acc),
        json!({"name": "sales"}),
    );
    assert_eq!((s, v), (409, error("Instance name already in use")));
    let (s, v) = ryze_json(&gw, "POST", "/api/instance/new", Some(&acc), json!({}));
    assert_eq!((s, v), (400, error("Name is required")));
    let r = ryze(&gw, "POST", "/api/instance/new", Some(&acc), "{nope");
    assert_eq!((r.status, r.json()), (400, error("Invalid request body")));
    // A TokenInstance cannot create instances.
    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/instance/new",
        Some(&token),
        json!({"name": "x"}),
    );
    assert_eq!((s, v), (401, error("Invalid token")));

    // List: all for the account, one by filter, 404 for a single unknown name.
    create(&gw, &acc, "support");
    let (s, v) = ryze_json(&gw, "GET", "/api/instance/list", Some(&acc), Value::Null);
    assert_eq!(s, 200);
    assert_eq!(v["message"], "2 Instances found");
    let (_, v) = ryze_json(
        &gw,
        "GET",
        "/api/instance/list?instanceName=sales",
        Some(&acc),
        Value::Null,
    );
    assert_eq!(v["message"], "1 Instance found");
    assert_eq!(v["data"][0]["name"], "sales");
    let (s, v) = ryze_json(
        &gw,
        "GET",
        "/api/instance/list?instanceName=ghost",
        Some(&acc),
        Value::Null,
    );
    assert_eq!((s, v), (404, error("Instance not found")));
    // A TokenInstance sees only its own, whatever the filter.
    let (_, v) = ryze_json(
        &gw,
        "GET",
        "/api/instance/list?instanceName=support",
        Some(&token),
        Value::Null,
    );
    assert_eq!(v["message"], "1 Instance found");
    assert_eq!(v["data"][0]["name"], "sales");

    // Connect by QR (a TokenInstance may), then the state becomes connected.
    let r = ryze(&gw, "GET", "/api/instance/connect/sales", Some(&token), "");
    let v = r.json();
    assert_eq!(r.status, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["message"], "QR code generated");
    assert_eq!(v["status"], "qr");
    assert!(!v["qrCode"].as_str().unwrap().is_empty());
    assert!(
        v["qrCodeBase64"]
            .as_str()
            .unwrap()
            .starts_with("data:image/svg+xml;base64,"),
        "{v}"
    );
    wait_connected(&gw, &token, "sales");
    let (s, v) = ryze_json(
        &gw,
        "GET",
        "/api/instance/status/sales",
        Some(&token),
        Value::Null,
    );
    assert_eq!(s, 200);
    assert_eq!(v["status"], "connected");
    assert!(
        v["instance"]["connection"]["numberJid"]
            .as_str()
            .unwrap()
            .ends_with("@s.whatsapp.net")
    );
    let r = ryze(&gw, "GET", "/api/instance/connect/sales", Some(&token), "");
    assert_eq!(
        r.json(),
        json!({"success": true, "message": "Instance already connected", "status": "connected"})
    );

    // Logout keeps the instance and its token.
    let r = ryze(
        &gw,
        "DELETE",
        "/api/instance/logout/sales",
        Some(&token),
        "",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"success": true, "message": "Instance logged out", "instance": {"status": "loggedout"}})
    );
    assert_eq!(state(&gw, &token, "sales"), "disconnected");
    let r = ryze(&gw, "DELETE", "/api/instance/logout/ghost", Some(&acc), "");
    assert_eq!((r.status, r.json()), (404, error("Instance not found")));

    // Pair code with ?number=.
    let r = ryze(
        &gw,
        "GET",
        "/api/instance/connect/sales?number=5511999999999",
        Some(&token),
        "",
    );
    let v = r.json();
    assert_eq!(r.status, 200, "{v}");
    assert_eq!(v["message"], "Pairing code generated");
    assert_eq!(v["status"], "pairing");
    assert_eq!(v["pairingCode"].as_str().unwrap().len(), 8, "{v}");
    let r = ryze(&gw, "GET", "/api/instance/connect/ghost", Some(&acc), "");
    assert_eq!((r.status, r.json()), (404, error("Instance not found")));
}

// ---- seed: delete chat ---------------------------------------------------------------------

#[test]
fn seed_delete_chat_examples_and_errors() {
    let gw = Gateway::start();
    let acc = account(&gw, "acme");
    let tok = connected(&gw, &acc, "inst");

    // Example "Keep media local": {"number": "5511999999999"}.
    gw.inbound("inst", "5511999999999", "hello", false);
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/deleteChat/inst",
        Some(&tok),
        r#"{"number": "5511999999999"}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({
            "success": true,
            "message": "Chat deleted successfully",
            "chat_jid": "5511999999999@s.whatsapp.net",
            "delete_media": false
        })
    );
    let (_, v) = ryze_json(
        &gw,
        "GET",
        "/api/chat/contacts/inst",
        Some(&tok),
        Value::Null,
    );
    assert_eq!(v["count"], 0, "{v}");

    // Example "Delete media too": the stored media file goes as well.
    let (s, v) = gw.admin(
        "POST",
        "/admin/sim/inst/inbound",
        Some(json!({"from": "5511999999999", "text": "pic", "media": {"data": "aGVsbG8=", "ext": "jpg"}})),
    );
    assert_eq!(s, 201, "{v}");
    let media = gw.data.join(v["mediaPath"].as_str().expect("media path"));
    assert!(media.exists(), "{}", media.display());
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/deleteChat/inst",
        Some(&tok),
        r#"{"number": "5511999999999", "deleteMedia": true}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({
            "success": true,
            "message": "Chat deleted successfully (including media)",
            "chat_jid": "5511999999999@s.whatsapp.net",
            "delete_media": true
        })
    );
    for _ in 0..100 {
        if !media.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!media.exists(), "media survived deleteMedia");

    // Idempotent: again, and a chat never seen.
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/deleteChat/inst",
        Some(&tok),
        r#"{"number": "5511999999999"}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["chat_jid"], "5511999999999@s.whatsapp.net");

    // JIDs: @s.whatsapp.net, @lid, @g.us.
    for (number, jid) in [
        (
            "5511999999999@s.whatsapp.net",
            "5511999999999@s.whatsapp.net",
        ),
        ("123456789012345@lid", "123456789012345@lid"),
        ("120363025246125486@g.us", "120363025246125486@g.us"),
    ] {
        gw.inbound("inst", number, "x", false);
        let (s, v) = ryze_json(
            &gw,
            "DELETE",
            "/api/chat/deleteChat/inst",
            Some(&tok),
            json!({"number": number}),
        );
        assert_eq!(s, 200, "{number}: {v}");
        assert_eq!(
            v,
            json!({"success": true, "message": "Chat deleted successfully", "chat_jid": jid, "delete_media": false})
        );
    }

    // Error rows: 400 malformed, 400 missing, 401, 404, 503.
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/deleteChat/inst",
        Some(&tok),
        r#"{"number": "5511"#,
    );
    assert_eq!((r.status, r.json()), (400, error("Invalid request body")));
    let r = ryze(&gw, "DELETE", "/api/chat/deleteChat/inst", Some(&tok), "");
    assert_eq!((r.status, r.json()), (400, error("Invalid request body")));
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/deleteChat/inst",
        Some(&tok),
        r#"{"deleteMedia": true}"#,
    );
    assert_eq!((r.status, r.json()), (400, error("Number is required")));
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/deleteChat/inst",
        Some(&tok),
        r#"{"number": ""}"#,
    );
    assert_eq!((r.status, r.json()), (400, error("Number is required")));
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/deleteChat/inst",
        Some("bad"),
        r#"{"number": "5511999999999"}"#,
    );
    assert_eq!((r.status, r.json()), (401, error("Invalid token")));
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/deleteChat/ghost",
        Some(&acc),
        r#"{"number": "5511999999999"}"#,
    );
    assert_eq!((r.status, r.json()), (404, error("Instance not found")));
    create(&gw, &acc, "offline");
    gw.inbound("inst", "5511999999999", "still here", false);
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/deleteChat/offline",
        Some(&acc),
        r#"{"number": "5511999999999"}"#,
    );
    assert_eq!(
        (r.status, r.json()),
        (503, error("Instance is not connected to WhatsApp"))
    );
}

// ---- seed: delete message ------------------------------------------------------------------

#[test]
fn seed_delete_message_examples_and_errors() {
    let gw = Gateway::start();
    let acc = account(&gw, "acme");
    let tok = connected(&gw, &acc, "inst");

    // Example "For everyone (revoke)": a message this account sent (from its phone).
    let id = gw.inbound("inst", "5511999999999", "oops", true);
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/delete/inst",
        Some(&tok),
        &json!({"messageId": id, "deleteForEveryone": true}).to_string(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({
            "success": true,
            "message": "Message deleted for everyone successfully",
            "message_id": id,
            "chat_jid": "5511999999999@s.whatsapp.net",
            "delete_type": "revoke",
            "deleted_for_everyone": true
        })
    );
    // Repeating a revoke is an error (WhatsApp refuses it).
    let (s, v) = ryze_json(
        &gw,
        "DELETE",
        "/api/chat/delete/inst",
        Some(&tok),
        json!({"messageId": id, "deleteForEveryone": true}),
    );
    assert_eq!((s, v), (409, error("Message was already revoked")));
    // Nor can someone else's message in a 1:1 chat be revoked.
    let theirs = gw.inbound("inst", "5511999999999", "theirs", false);
    let (s, v) = ryze_json(
        &gw,
        "DELETE",
        "/api/chat/delete/inst",
        Some(&tok),
        json!({"messageId": theirs, "deleteForEveryone": true}),
    );
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["success"], false);

    // Example "Only for me" (explicit false, then the default).
    for body in [json!({"deleteForEveryone": false}), json!({})] {
        let id = gw.inbound("inst", "5511999999999", "mine", false);
        let mut body = body;
        body["messageId"] = json!(id);
        let (s, v) = ryze_json(&gw, "DELETE", "/api/chat/delete/inst", Some(&tok), body);
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v,
            json!({
                "success": true,
                "message": "Message deleted for me successfully",
                "message_id": id,
                "chat_jid": "5511999999999@s.whatsapp.net",
                "delete_type": "delete_for_me",
                "deleted_for_everyone": false
            })
        );
    }

    // Error rows.
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/delete/inst",
        Some(&tok),
        "{messageId:",
    );
    assert_eq!((r.status, r.json()), (400, error("Invalid request body")));
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/delete/inst",
        Some(&tok),
        r#"{"deleteForEveryone": true}"#,
    );
    assert_eq!((r.status, r.json()), (400, error("MessageID is required")));
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/delete/inst",
        None,
        r#"{"messageId": "x"}"#,
    );
    assert_eq!((r.status, r.json()), (401, error("Invalid token")));
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/delete/ghost",
        Some(&acc),
        r#"{"messageId": "x"}"#,
    );
    assert_eq!((r.status, r.json()), (404, error("Instance not found")));
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/delete/inst",
        Some(&tok),
        r#"{"messageId": "3EB08FCF27E532F1B0F5"}"#,
    );
    assert_eq!((r.status, r.json()), (404, error("message not found")));
    create(&gw, &acc, "offline");
    let r = ryze(
        &gw,
        "DELETE",
        "/api/chat/delete/offline",
        Some(&acc),
        r#"{"messageId": "3EB08FCF27E532F1B0F5"}"#,
    );
    assert_eq!(
        (r.status, r.json()),
        (503, error("Instance is not connected to WhatsApp"))
    );
}

// ---- seed: delete instance -----------------------------------------------------------------

#[test]
fn seed_delete_instance_example_and_errors() {
    let gw = Gateway::start();
    let acc = account(&gw, "acme");
    let tok = connected(&gw, &acc, "my-instance");
    gw.inbound("my-instance", "5511999999999", "hello", false);
    let other_tok = create(&gw, &acc, "other");

    // 401: missing, invalid, a TokenInstance (its own instance or another).
    for token in [
        None,
        Some("nope"),
        Some(tok.as_str()),
        Some(other_tok.as_str()),
    ] {
        let r = ryze(&gw, "DELETE", "/api/instance/delete/my-instance", token, "");
        assert_eq!(
            (r.status, r.json()),
            (401, error("Invalid token")),
            "{token:?}"
        );
    }
    assert_eq!(state(&gw, &acc, "my-instance"), "connected");

    // The example.
    let r = ryze(
        &gw,
        "DELETE",
        "/api/instance/delete/my-instance",
        Some(&acc),
        "",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"success": true, "message": "Instance deleted", "instance": {"status": "deleted"}})
    );

    // 404 afterwards and for a name that never existed.
    for name in ["my-instance", "ghost"] {
        let r = ryze(
            &gw,
            "DELETE",
            &format!("/api/instance/delete/{name}"),
            Some(&acc),
            "",
        );
        assert_eq!(
            (r.status, r.json()),
            (404, error("Instance not found")),
            "{name}"
        );
    }
    // Nothing of it is left: its token is dead, the admin sees no such instance, and
    // the name is free again at once.
    let r = ryze(&gw, "GET", "/api/instance/list", Some(&tok), "");
    assert_eq!((r.status, r.json()), (401, error("Invalid token")));
    let (_, all) = gw.admin("GET", "/admin/instances", None);
    assert!(
        !all.to_string().contains("my-instance"),
        "instance still listed: {all}"
    );
    let new_tok = create(&gw, &acc, "my-instance");
    let (_, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/history/my-instance",
        Some(&new_tok),
        json!({"number": "5511999999999"}),
    );
    assert_eq!(v["count"], 0, "old messages came back: {v}");

    // 500 `Failed to delete instance: <reason>`: a delete racing another one can hit
    // core's "already in progress"; whichever way the race goes, every answer is one
    // of the seed's rows.
    let paths: Vec<String> = (0..4)
        .map(|_| "/api/instance/delete/other".to_string())
        .collect();
    let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .iter()
            .map(|p| {
                s.spawn(|| {
                    let r = ryze(&gw, "DELETE", p, Some(&acc), "");
                    (r.status, r.json())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{answers:?}"
    );
    for (s, v) in &answers {
        match s {
            200 => assert_eq!(v["instance"]["status"], "deleted"),
            404 => assert_eq!(v, &error("Instance not found")),
            // A delete already running is the caller's conflict, not a failure of the
            // gateway (issue 14: 5xx only for the gateway's own failures).
            409 => assert_eq!(
                v,
                &error("a delete of this instance is already in progress")
            ),
            _ => panic!("unexpected {s} {v}"),
        }
    }
}

// ---- tokens and tenancy --------------------------------------------------------------------

#[test]
fn token_instance_is_bound_to_its_instance() {
    let gw = Gateway::start();
    let acc = account(&gw, "acme");
    let tok_a = connected(&gw, &acc, "a");
    connected(&gw, &acc, "b");
    gw.inbound("b", "5511999999999", "for b", false);
    let id_b = gw.inbound("b", "5511999999999", "for b too", false);

    // On another instance of the same account: not found, nothing touched.
    let (s, v) = ryze_json(
        &gw,
        "DELETE",
        "/api/chat/deleteChat/b",
        Some(&tok_a),
        json!({"number": "5511999999999"}),
    );
    assert_eq!((s, v), (404, error("Instance not found")));
    let (s, v) = ryze_json(
        &gw,
        "DELETE",
        "/api/chat/delete/b",
        Some(&tok_a),
        json!({"messageId": id_b}),
    );
    assert_eq!((s, v), (404, error("Instance not found")));
    let (s, v) = ryze_json(
        &gw,
        "GET",
        "/api/chat/contacts/b",
        Some(&tok_a),
        Value::Null,
    );
    assert_eq!((s, v), (404, error("Instance not found")));
    let (_, v) = ryze_json(&gw, "GET", "/api/chat/contacts/b", Some(&acc), Value::Null);
    assert_eq!(v["count"], 1);
    // Its own instance: fine, but it cannot delete it.
    let (s, _) = ryze_json(
        &gw,
        "GET",
        "/api/chat/contacts/a",
        Some(&tok_a),
        Value::Null,
    );
    assert_eq!(s, 200);
    let r = ryze(&gw, "DELETE", "/api/instance/delete/a", Some(&tok_a), "");
    assert_eq!((r.status, r.json()), (401, error("Invalid token")));
}

#[test]
fn ryze_instances_are_core_instances_of_the_same_org_only() {
    let gw = Gateway::start();
    let acc = account(&gw, "acme");
    let evil = account(&gw, "evil");
    create(&gw, &acc, "shop");
    let acme_key = gw.key("acme", None);
    let evil_key = gw.org_with_key("evil", None);

    // Visible through the core API with a credential of the same org...
    let (s, v) = gw.call("GET", "/core/instances/shop", Some(&acme_key), None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "shop");
    // ...invisible to another org, through both APIs.
    let (s, _) = gw.call("GET", "/core/instances/shop", Some(&evil_key), None);
    assert_eq!(s, 404);
    let (s, v) = ryze_json(
        &gw,
        "GET",
        "/api/instance/list?instanceName=shop",
        Some(&evil),
        Value::Null,
    );
    assert_eq!((s, v), (404, error("Instance not found")));
    let r = ryze(&gw, "DELETE", "/api/instance/delete/shop", Some(&evil), "");
    assert_eq!((r.status, r.json()), (404, error("Instance not found")));
    // ...and deletable through the core API.
    let (s, v) = gw.call("DELETE", "/core/instances/shop", Some(&acme_key), None);
    assert_eq!(s, 200, "{v}");
    let (s, v) = ryze_json(
        &gw,
        "GET",
        "/api/instance/list?instanceName=shop",
        Some(&acc),
        Value::Null,
    );
    assert_eq!((s, v), (404, error("Instance not found")));
}

// ---- rate limits ----------------------------------------------------------------------------

#[test]
fn rate_limit_headers_and_429() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("wagate.toml");
    std::fs::write(
        &cfg,
        "[plugins.settings.ryze]\nconfig = { rate_limit = 3, create_rate_limit = 2 }\n",
    )
    .unwrap();
    let gw = Gateway::start_on(
        &tmp.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    let acc = account(&gw, "acme");
    let other = account(&gw, "acme");

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for remaining in ["2", "1", "0"] {
        let r = ryze(&gw, "GET", "/api/instance/list", Some(&acc), "");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(r.header("x-ratelimit-remaining"), Some(remaining));
        let reset: u64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
        assert!(reset > now && reset <= now + 61, "reset {reset} now {now}");
    }
    let r = ryze(&gw, "GET", "/api/instance/list", Some(&acc), "");
    assert_eq!(r.status, 429);
    assert_eq!(r.json(), error("Rate limit exceeded. Try again later."));
    assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert!(r.header("x-ratelimit-reset").is_some());
    // The seed routes are limited the same way.
    let r = ryze(&gw, "DELETE", "/api/instance/delete/x", Some(&acc), "");
    assert_eq!(
        (r.status, r.json()),
        (429, error("Rate limit exceeded. Try again later."))
    );
    // Per token: another token of the same account has its own bucket.
    let r = ryze(&gw, "GET", "/api/instance/list", Some(&other), "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("2"));

    // Instance creation has its own, smaller limit.
    for (i, remaining) in ["1", "0"].iter().enumerate() {
        let r = ryze(
            &gw,
            "POST",
            "/api/instance/new",
            Some(&other),
            &json!({"name": format!("n{i}")}).to_string(),
        );
        assert_eq!(r.status, 201, "{}", r.json());
        assert_eq!(r.header("x-ratelimit-limit"), Some("2"));
        assert_eq!(r.header("x-ratelimit-remaining"), Some(*remaining));
    }
    let r = ryze(
        &gw,
        "POST",
        "/api/instance/new",
        Some(&other),
        r#"{"name": "n3"}"#,
    );
    assert_eq!(
        (r.status, r.json()),
        (429, error("Rate limit exceeded. Try again later."))
    );
    // The OpenAPI document is not limited.
    let r = ryze(&gw, "GET", "/api/openapi.json", None, "");
    assert_eq!(r.status, 200);
}

// ---- chats, messages -------------------------------------------------------------------------

#[test]
fn send_archive_pin_mute_and_list() {
    let gw = Gateway::start();
    let acc = account(&gw, "acme");
    let tok = connected(&gw, &acc, "inst");

    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/message/text/inst",
        Some(&tok),
        json!({"number": "5511999999999", "message": "Hello! This is a test of RyzeAPI."}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["message"], "Message sent successfully");
    assert_eq!(v["status"], "sent");
    assert_eq!(v["data"]["direction"], "outgoing");
    assert_eq!(v["data"]["chat"]["jid"], "5511999999999");
    assert_eq!(
        v["data"]["content"]["text"],
        "Hello! This is a test of RyzeAPI."
    );
    assert!(!v["data"]["messageId"].as_str().unwrap().is_empty());
    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/message/text/inst",
        Some(&tok),
        json!({"message": "x"}),
    );
    assert_eq!((s, v), (400, error("Number is required")));
    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/message/text/inst",
        Some(&tok),
        json!({"number": "5511999999999"}),
    );
    assert_eq!((s, v), (400, error("Message is required")));

    gw.inbound("inst", "5511888888888", "other chat", false);

    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/archive/inst",
        Some(&tok),
        json!({"number": "5511888888888", "archive": true}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"success": true, "message": "Chat archived successfully", "chat_jid": "5511888888888@s.whatsapp.net", "archived": true})
    );
    let (_, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/pin/inst",
        Some(&tok),
        json!({"number": "5511999999999", "pin": true}),
    );
    assert_eq!(
        v,
        json!({"success": true, "message": "Chat pinned successfully", "chat_jid": "5511999999999@s.whatsapp.net", "pinned": true})
    );
    let (_, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/mute/inst",
        Some(&tok),
        json!({"number": "5511999999999", "mute": true, "duration": "8h"}),
    );
    assert_eq!(
        v,
        json!({"success": true, "message": "Chat muted for 8 hours", "chat_jid": "5511999999999@s.whatsapp.net", "muted": true, "duration": 28800})
    );
    let (_, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/mute/inst",
        Some(&tok),
        json!({"number": "5511888888888", "mute": true, "duration": "always"}),
    );
    assert_eq!(v["message"], "Chat muted permanently");
    assert_eq!(v["duration"], 0);
    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/mute/inst",
        Some(&tok),
        json!({"number": "5511999999999", "mute": true, "duration": "soon"}),
    );
    assert_eq!((s, v), (400, error("Invalid duration: soon")));
    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/pin/inst",
        Some(&tok),
        json!({"pin": true}),
    );
    assert_eq!((s, v), (400, error("Number is required")));
    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/pin/inst",
        Some(&tok),
        json!({"number": "5511777777777", "pin": true}),
    );
    assert_eq!((s, v), (404, error("Chat not found")));

    // Contacts: pinned first; flags reflected; paging.
    let (s, v) = ryze_json(
        &gw,
        "GET",
        "/api/chat/contacts/inst",
        Some(&tok),
        Value::Null,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"], 2);
    let c = &v["contacts"];
    assert_eq!(c[0]["jid"], "5511999999999@s.whatsapp.net");
    assert_eq!(c[0]["pinned"], true);
    assert_eq!(c[0]["muted"], true);
    assert!(c[0]["mutedUntil"].is_string());
    assert_eq!(c[1]["archived"], true);
    assert_eq!(c[1]["muted"], true);
    assert_eq!(c[1]["mutedUntil"], Value::Null);
    let (_, v) = ryze_json(
        &gw,
        "GET",
        "/api/chat/contacts/inst?limit=1&offset=1",
        Some(&tok),
        Value::Null,
    );
    assert_eq!(v["count"], 1);
    assert_eq!(v["hasMore"], false);
    assert_eq!(v["contacts"][0]["jid"], "5511888888888@s.whatsapp.net");

    // Unmute.
    let (_, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/mute/inst",
        Some(&tok),
        json!({"number": "5511999999999", "mute": false}),
    );
    assert_eq!(
        v,
        json!({"success": true, "message": "Chat notifications unmuted successfully", "chat_jid": "5511999999999@s.whatsapp.net", "muted": false, "duration": 0})
    );

    // Chat-state routes need a session.
    create(&gw, &acc, "offline");
    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/archive/offline",
        Some(&acc),
        json!({"number": "5511999999999", "archive": true}),
    );
    assert_eq!(
        (s, v),
        (503, error("Instance is not connected to WhatsApp"))
    );
    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/message/text/offline",
        Some(&acc),
        json!({"number": "5511999999999", "message": "x"}),
    );
    assert_eq!(
        (s, v),
        (503, error("Instance is not connected to WhatsApp"))
    );
}

#[test]
fn history_pages_newest_first() {
    let gw = Gateway::start();
    let acc = account(&gw, "acme");
    let tok = connected(&gw, &acc, "inst");
    let ids: Vec<String> = (0..5)
        .map(|i| gw.inbound("inst", "5511999999999", &format!("m{i}"), false))
        .collect();

    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/history/inst",
        Some(&tok),
        json!({"number": "5511999999999", "count": 2}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["chat_jid"], "5511999999999@s.whatsapp.net");
    assert_eq!(v["count"], 2);
    assert_eq!(v["hasMore"], true);
    assert_eq!(v["messages"][0]["id"], ids[4].as_str());
    assert_eq!(v["messages"][0]["text"], "m4");
    assert_eq!(v["messages"][0]["direction"], "incoming");
    assert_eq!(v["messages"][1]["id"], ids[3].as_str());
    let cursor = v["nextCursor"].as_str().unwrap().to_string();
    let (_, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/history/inst",
        Some(&tok),
        json!({"number": "5511999999999", "count": 10, "cursor": cursor}),
    );
    assert_eq!(v["count"], 3);
    assert_eq!(v["hasMore"], false);
    assert_eq!(v["messages"][2]["id"], ids[0].as_str());
    // A window that ends before every message: nothing.
    let (_, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/history/inst",
        Some(&tok),
        json!({"number": "5511999999999", "to": "2000-01-01T00:00:00Z"}),
    );
    assert_eq!(v["count"], 0, "{v}");
    let (s, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/history/inst",
        Some(&tok),
        json!({"number": "5511999999999", "from": "yesterday"}),
    );
    assert_eq!(s, 400);
    assert_eq!(
        v,
        error("invalid 'from' date format. Use ISO 8601 format (e.g., '2026-02-16T18:32:39Z')")
    );
    // A chat never seen has an empty history.
    let (_, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/history/inst",
        Some(&tok),
        json!({"number": "5511000000000"}),
    );
    assert_eq!(v["count"], 0);
}

// ---- a whole user flow on Ryze paths only -----------------------------------------------------

#[test]
fn user_flow_with_ryze_paths_only() {
    let gw = Gateway::start();
    let acc = account(&gw, "acme");
    let tok = create(&gw, &acc, "flow");
    let r = ryze(&gw, "GET", "/api/instance/connect/flow", Some(&tok), "");
    assert_eq!(r.json()["status"], "qr");
    wait_connected(&gw, &tok, "flow");

    gw.inbound("flow", "5511999999999", "hi there", false);
    let id = gw.inbound("flow", "5511999999999", "sent from my phone", true);
    let (_, v) = ryze_json(
        &gw,
        "GET",
        "/api/chat/contacts/flow",
        Some(&tok),
        Value::Null,
    );
    assert_eq!(v["contacts"][0]["jid"], "5511999999999@s.whatsapp.net");
    let (_, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/history/flow",
        Some(&tok),
        json!({"number": "5511999999999"}),
    );
    assert_eq!(v["messages"][0]["id"], id.as_str());
    assert_eq!(v["messages"][0]["text"], "sent from my phone");
    assert_eq!(v["messages"][0]["direction"], "outgoing");
    assert_eq!(v["messages"][1]["text"], "hi there");

    let (s, v) = ryze_json(
        &gw,
        "DELETE",
        "/api/chat/delete/flow",
        Some(&tok),
        json!({"messageId": id, "deleteForEveryone": true}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["delete_type"], "revoke");
    let (_, v) = ryze_json(
        &gw,
        "POST",
        "/api/chat/history/flow",
        Some(&tok),
        json!({"number": "5511999999999"}),
    );
    assert_eq!(v["messages"][0]["revoked"], true);
    assert_eq!(v["messages"][0]["type"], "revoked");
    assert_eq!(v["messages"][0]["text"], Value::Null);

    let (s, _) = ryze_json(
        &gw,
        "DELETE",
        "/api/chat/deleteChat/flow",
        Some(&tok),
        json!({"number": "5511999999999", "deleteMedia": true}),
    );
    assert_eq!(s, 200);
    let (_, v) = ryze_json(
        &gw,
        "GET",
        "/api/chat/contacts/flow",
        Some(&tok),
        Value::Null,
    );
    assert_eq!(v["total"], 0);

    let r = ryze(&gw, "DELETE", "/api/instance/delete/flow", Some(&acc), "");
    assert_eq!(r.status, 200);
    let (s, v) = ryze_json(&gw, "GET", "/api/instance/list", Some(&acc), Value::Null);
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!({"success": true, "message": "0 Instances found", "data": []})
    );
    let _ = ADMIN;
}

// ---- events -------------------------------------------------------------------------------------

/// The bundled `ryze` plugin renders core events in RyzeAPI's envelope (through
/// `PluginHost::render_event`, which the webhook dispatcher will use).
#[tokio::test]
async fn events_render_in_ryze_envelope() {
    use std::sync::Arc;
    use wagate::core::Core;
    use wagate::core::model::{ConnectionState, Event, EventPayload, Message};
    use wagate::plugin::{PluginHost, PluginsConfig};

    let dir = tempfile::tempdir().unwrap();
    let store = wagate::store::Store::open(&dir.path().join("data")).unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let link = Arc::new(wagate::whatsapp::sim::SimLink::new(
        tx,
        Duration::from_millis(5),
    ));
    let core = Core::new(store, link);
    core.start(rx).await.unwrap();
    let cfg = PluginsConfig {
        bundled: Some(vec!["ryze".into(), "ryze-token".into()]),
        ..PluginsConfig::default()
    };
    let host = PluginHost::load(&cfg, core, &dir.path().join("cache"))
        .await
        .unwrap();

    let message = |revoked: bool| Message {
        id: "3EB08FCF27E532F1B0F5".into(),
        chat_jid: "5511999999999@s.whatsapp.net".into(),
        chat_jid_alt: None,
        from_me: false,
        sender: "5511999999999@s.whatsapp.net".into(),
        sender_alt: None,
        timestamp: 1_777_372_200_000,
        text: (!revoked).then(|| "Hello".into()),
        media: None,
        revoked,
        deleted_for_me: false,
        truncated: false,
        reactions: Vec::new(),
        poll_votes: Vec::new(),
        content: None,
        origin: None,
        status: None,
    };
    let event = |payload: EventPayload| Event {
        id: "01JEVENT".into(),
        instance_id: "01JINSTANCE".into(),
        instance_name: "my-instance".into(),
        org: "acme".into(),
        timestamp: 1_777_372_200_000,
        payload,
    };
    let render = async |payload: EventPayload| -> Option<Value> {
        host.render_event(
            "ryze",
            &event(payload),
            wagate::plugin::RenderTarget::Webhook,
            None,
        )
        .await
        .unwrap()
        .map(|b| serde_json::from_slice(&b).unwrap())
    };

    let v = render(EventPayload::MessageRevoked(message(true)))
        .await
        .unwrap();
    assert_eq!(v["event"], "message.exchange");
    assert_eq!(v["data"]["type"], "message_revoke");
    assert_eq!(v["data"]["id"], "3EB08FCF27E532F1B0F5");
    assert_eq!(v["data"]["message"]["type"], "message_revoke");
    assert_eq!(
        v["instanceData"],
        json!({"baseUrl": "", "instance": "my-instance", "token": null})
    );

    let v = render(EventPayload::MessageUpsert(message(false)))
        .await
        .unwrap();
    assert_eq!(
        v,
        json!({
            "event": "message.exchange",
            "data": {
                "type": "message",
                "id": "3EB08FCF27E532F1B0F5",
                "message": {
                    "id": "3EB08FCF27E532F1B0F5",
                    "type": "message",
                    "direction": "incoming",
                    "fromMe": false,
                    "timestamp": "2026-04-28T10:30:00Z",
                    "chat": {"jid": "5511999999999", "type": "private"},
                    "sender": {"jid": "5511999999999"},
                    "content": {"text": "Hello"}
                }
            },
            "instanceData": {"baseUrl": "", "instance": "my-instance", "token": null}
        })
    );

    let v = render(EventPayload::ConnectionUpdate(ConnectionState::Open))
        .await
        .unwrap();
    assert_eq!(v["event"], "instance.state");
    assert_eq!(v["data"]["state"], "connected");
    let v = render(EventPayload::QrUpdated("2@abc".into()))
        .await
        .unwrap();
    assert_eq!(v["data"]["state"], "qr_ready");
    assert_eq!(v["data"]["qrCode"], "2@abc");
    assert!(
        render(EventPayload::ChatDeleted("x@s.whatsapp.net".into()))
            .await
            .is_none()
    );

    // The OpenAPI export matches what the route serves.
    let doc: Value = serde_json::from_str(&host.openapi("ryze").await.unwrap()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}

/// Issue 14, defects 4 and 6: one mapping of core errors for every route, and the
/// right checked before the body or the connection state: a token without `send` gets
/// 403 even with a bad body on a disconnected instance.
#[test]
fn route_errors_map_to_their_status_and_rights_come_first() {
    let gw = Gateway::start();
    let acct = account(&gw, "acme");
    connected(&gw, &acct, "live");
    create(&gw, &acct, "idle");
    let id = gw.inbound("live", "5511999999999", "from my phone", true);
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "acme", "kind": "ryze-account", "capabilities": ["read"]})),
    );
    assert_eq!(s, 201, "{v}");
    let read_only = v["token"].as_str().unwrap().to_string();
    const FORBIDDEN: &str = "Token does not have permission for this operation";

    // (case, token, method, path, body, status, message)
    let cases: Vec<Case> = vec![
        (
            "forbidden, bad body, idle",
            &read_only,
            "POST",
            "/api/message/text/idle",
            "{",
            403,
            FORBIDDEN,
        ),
        (
            "forbidden, idle",
            &read_only,
            "POST",
            "/api/message/text/idle",
            r#"{"number":"5511999999999","message":"x"}"#,
            403,
            FORBIDDEN,
        ),
        (
            "forbidden archive",
            &read_only,
            "POST",
            "/api/chat/archive/live",
            r#"{"number":"5511999999999","archive":true}"#,
            403,
            FORBIDDEN,
        ),
        (
            "forbidden revoke",
            &read_only,
            "DELETE",
            "/api/chat/delete/idle",
            "{}",
            403,
            FORBIDDEN,
        ),
        (
            "forbidden webhook",
            &read_only,
            "GET",
            "/api/events/getWebhook/live",
            "",
            403,
            FORBIDDEN,
        ),
        (
            "forbidden connect",
            &read_only,
            "GET",
            "/api/instance/connect/idle",
            "",
            403,
            FORBIDDEN,
        ),
        (
            "forbidden logout",
            &read_only,
            "DELETE",
            "/api/instance/logout/live",
            "",
            403,
            FORBIDDEN,
        ),
        (
            "invalid body",
            &acct,
            "POST",
            "/api/message/text/live",
            "{",
            400,
            "Invalid request body",
        ),
        (
            "missing number",
            &acct,
            "POST",
            "/api/message/text/live",
            r#"{"message":"x"}"#,
            400,
            "Number is required",
        ),
        (
            "unknown instance",
            &acct,
            "POST",
            "/api/message/text/ghost",
            r#"{"number":"1","message":"x"}"#,
            404,
            "Instance not found",
        ),
        (
            "unknown message",
            &acct,
            "DELETE",
            "/api/chat/delete/live",
            r#"{"messageId":"NOPE","deleteForEveryone":true}"#,
            404,
            "message not found",
        ),
        (
            "not connected",
            &acct,
            "POST",
            "/api/message/text/idle",
            r#"{"number":"5511999999999","message":"x"}"#,
            503,
            "Instance is not connected to WhatsApp",
        ),
        (
            "logout of a logged-out instance",
            &acct,
            "DELETE",
            "/api/instance/logout/idle",
            "",
            0,
            "",
        ),
    ];
    for (case, token, method, path, body, status, message) in &cases {
        let r = ryze(&gw, method, path, Some(token), body);
        let v = r.json();
        if *status == 0 {
            // Whatever core says of it, it is not the gateway's failure.
            assert!(r.status < 500, "{case}: {} {v}", r.status);
            continue;
        }
        assert_eq!(r.status, *status, "{case}: {v}");
        assert_eq!(v, error(message), "{case}");
    }

    // A revoke that was done already is a conflict, not a failure.
    let body = format!(r#"{{"messageId":"{id}","deleteForEveryone":true}}"#);
    assert_eq!(
        ryze(&gw, "DELETE", "/api/chat/delete/live", Some(&acct), &body).status,
        200
    );
    let r = ryze(&gw, "DELETE", "/api/chat/delete/live", Some(&acct), &body);
    assert_eq!(r.status, 409, "{:?}", r.json());
}

/// One row of a table-driven error test.
type Case<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, u16, &'a str);
