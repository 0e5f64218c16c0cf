//! RyzeAPI's webhook endpoints (`POST /api/events/webhook/{instance}`, `GET
//! /api/events/getWebhook/{instance}`) end to end: upsert by label, the 3-enabled
//! limit, validation in Ryze's error shape, TokenInstance scope, and deliveries in
//! Ryze's `{event, data, instanceData}` envelope to a local receiver, the
//! `instance.state` `deleted` event last.

use crate::common;
use crate::common::receiver;

use common::Gateway;
use common::ryze::{account, create, error, wait_connected};
use receiver::Receiver;
use serde_json::{Value, json};

const PEER: &str = "5511999999999";

/// A Ryze request answering (status, JSON body).
fn ryze(gw: &Gateway, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let r = common::ryze::ryze(gw, method, path, token, body);
    (r.status, r.json())
}

fn post(gw: &Gateway, token: &str, instance: &str, body: Value) -> (u16, Value) {
    ryze(
        gw,
        "POST",
        &format!("/api/events/webhook/{instance}"),
        Some(token),
        &body.to_string(),
    )
}

fn get(gw: &Gateway, token: &str, instance: &str, query: &str) -> (u16, Value) {
    ryze(
        gw,
        "GET",
        &format!("/api/events/getWebhook/{instance}{query}"),
        Some(token),
        "",
    )
}

#[test]
fn set_and_get_round_trip_by_label_with_the_limit_of_three() {
    let gw = Gateway::start();
    let acct = account(&gw, "acme");
    let tok = create(&gw, &acct, "hooks");

    // Nothing yet: an empty list, and 404 for a label.
    assert_eq!(
        get(&gw, &tok, "hooks", ""),
        (200, json!({"success": true, "webhooks": []}))
    );
    assert_eq!(
        get(&gw, &tok, "hooks", "?label=default"),
        (404, error("Webhook not found"))
    );

    // The minimum, with the TokenInstance of the instance itself.
    let (s, v) = post(
        &gw,
        &tok,
        "hooks",
        json!({"enabled": true, "url": "https://meuapp.com/webhook"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["message"], "Webhook configured successfully");
    let default = v["webhook"].clone();
    assert_eq!(default["label"], "default");
    assert_eq!(default["enabled"], true);
    assert_eq!(default["url"], "https://meuapp.com/webhook");
    assert_eq!(default["authorization"], Value::Null);
    assert_eq!(default["byEvents"], false);
    assert_eq!(default["events"], json!([]));
    assert_eq!(default["mediaBase64"], false);
    assert!(default["secret"].as_str().unwrap().starts_with("whsec_"));
    assert!(default["id"].as_str().unwrap().starts_with("wh_"));

    // A labelled one with a filter and an Authorization header (TokenAccount).
    let (s, v) = post(
        &gw,
        &acct,
        "hooks",
        json!({
            "label": "analytics-pipeline",
            "enabled": true,
            "url": "https://analytics.example.com/wh",
            "authorization": {"type": "Bearer", "token": "svc-token-xyz"},
            "events": ["message.exchange", "message.status"],
            "mediaBase64": true
        }),
    );
    assert_eq!(s, 200, "{v}");
    let analytics = v["webhook"].clone();
    assert_eq!(analytics["label"], "analytics-pipeline");
    assert_eq!(
        analytics["authorization"],
        json!({"authorization": "Bearer svc-token-xyz"})
    );
    assert_eq!(
        analytics["events"],
        json!(["message.exchange", "message.status"])
    );
    assert_eq!(analytics["mediaBase64"], true);

    // The list is sorted by label; the default webhook kept its secret.
    let (s, v) = get(&gw, &tok, "hooks", "");
    assert_eq!(s, 200, "{v}");
    let labels: Vec<&str> = v["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["analytics-pipeline", "default"]);
    assert_eq!(v["webhooks"][1]["secret"], default["secret"]);
    let (s, v) = get(&gw, &tok, "hooks", "?label=analytics-pipeline");
    assert_eq!(s, 200);
    assert_eq!(v["webhook"]["url"], "https://analytics.example.com/wh");
    // `?label=` (empty) is the default one.
    let (s, v) = get(&gw, &tok, "hooks", "?label=");
    assert_eq!((s, v["webhook"]["label"].clone()), (200, json!("default")));

    // Upsert: same label overwrites.
    let (s, v) = post(
        &gw,
        &tok,
        "hooks",
        json!({"url": "https://meuapp.com/v2", "events": ["instance.state"]}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["message"], "Webhook updated successfully");
    assert_eq!(v["webhook"]["url"], "https://meuapp.com/v2");
    assert_eq!(v["webhook"]["events"], json!(["instance.state"]));
    assert_eq!(v["webhook"]["secret"], default["secret"]);

    // Soft-disable keeps the row, cleared.
    let (s, v) = post(
        &gw,
        &tok,
        "hooks",
        json!({"label": "analytics-pipeline", "enabled": false}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["message"], "Webhook disabled successfully");
    let w = &v["webhook"];
    assert_eq!(
        (
            w["enabled"].clone(),
            w["url"].clone(),
            w["authorization"].clone(),
            w["events"].clone()
        ),
        (json!(false), Value::Null, Value::Null, json!([]))
    );
    let (_, v) = get(&gw, &tok, "hooks", "");
    assert_eq!(v["webhooks"].as_array().unwrap().len(), 2);

    // At most 3 enabled: default + b + c; a fourth (or re-enabling) is refused.
    for label in ["b", "c"] {
        let (s, v) = post(
            &gw,
            &tok,
            "hooks",
            json!({"label": label, "url": format!("http://127.0.0.1:9/{label}")}),
        );
        assert_eq!(s, 200, "{v}");
    }
    let limit = error("Maximum of 3 enabled webhooks per instance reached; disable one first");
    assert_eq!(
        post(
            &gw,
            &tok,
            "hooks",
            json!({"label": "d", "url": "http://x.example"})
        ),
        (400, limit.clone())
    );
    assert_eq!(
        post(
            &gw,
            &tok,
            "hooks",
            json!({"label": "analytics-pipeline", "url": "http://x.example"})
        ),
        (400, limit)
    );
    // Updating an enabled one is not a fourth.
    let (s, _) = post(
        &gw,
        &tok,
        "hooks",
        json!({"label": "c", "url": "http://y.example"}),
    );
    assert_eq!(s, 200);
}

#[test]
fn validation_errors_and_scope_in_ryze_shape() {
    let gw = Gateway::start();
    let acct = account(&gw, "acme");
    let tok = create(&gw, &acct, "mine");
    let other_tok = create(&gw, &acct, "theirs");
    let stranger = account(&gw, "globex");

    let raw = |token: Option<&str>, instance: &str, body: &str| {
        ryze(
            &gw,
            "POST",
            &format!("/api/events/webhook/{instance}"),
            token,
            body,
        )
    };
    let (s, v) = raw(Some(&tok), "mine", "{not json");
    assert_eq!(s, 400);
    assert_eq!(v["success"], false);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid request body"),
        "{v}"
    );
    assert_eq!(
        raw(Some(&tok), "mine", r#"{"enabled": true}"#),
        (400, error("URL is required"))
    );
    assert_eq!(
        raw(
            Some(&tok),
            "mine",
            r#"{"url": "http://x.example", "enabled": "yes"}"#
        ),
        (
            400,
            error("Invalid request body: enabled must be a boolean")
        )
    );
    assert_eq!(
        raw(
            Some(&tok),
            "mine",
            r#"{"url": "http://x.example", "events": ["MESSAGES_UPSERT"]}"#
        ),
        (
            400,
            error(
                "Invalid event: MESSAGES_UPSERT. Valid events: message.exchange, message.status, call.update, group.flow, instance.state, label.update"
            )
        )
    );
    assert_eq!(
        raw(
            Some(&tok),
            "mine",
            r#"{"url": "http://x.example", "byEvents": true}"#
        ),
        (
            400,
            error("byEvents is not supported: wagate posts every event to the one url")
        )
    );
    assert_eq!(
        raw(Some(&tok), "mine", r#"{"url": "ftp://x.example"}"#),
        (
            400,
            error("webhook url must start with http:// or https://")
        )
    );
    let (s, v) = raw(
        Some(&tok),
        "mine",
        r#"{"url": "http://x.example", "authorization": "Bearer x"}"#,
    );
    assert_eq!(
        (s, v),
        (
            400,
            error("Invalid request body: authorization must be an object")
        )
    );
    // Nothing was stored by the refusals.
    assert_eq!(
        get(&gw, &tok, "mine", ""),
        (200, json!({"success": true, "webhooks": []}))
    );

    // Tokens: none, another instance's TokenInstance, another org, unknown instance.
    assert_eq!(
        raw(None, "mine", r#"{"url": "http://x.example"}"#),
        (401, error("Invalid token"))
    );
    assert_eq!(
        raw(Some(&other_tok), "mine", r#"{"url": "http://x.example"}"#),
        (404, error("Instance not found"))
    );
    assert_eq!(
        get(&gw, &other_tok, "mine", ""),
        (404, error("Instance not found"))
    );
    assert_eq!(
        raw(Some(&stranger), "mine", r#"{"url": "http://x.example"}"#),
        (404, error("Instance not found"))
    );
    assert_eq!(
        get(&gw, &stranger, "mine", ""),
        (404, error("Instance not found"))
    );
    assert_eq!(
        raw(Some(&acct), "nobody", r#"{"url": "http://x.example"}"#),
        (404, error("Instance not found"))
    );
    // Its own TokenInstance may (and the rate-limit headers ride along).
    let r = gw.raw(
        "POST",
        "/api/events/webhook/mine",
        &[("Content-Type", "application/json"), ("token", &tok)],
        br#"{"url": "http://x.example"}"#,
    );
    assert_eq!(r.status, 200);
    assert!(r.header("x-ratelimit-remaining").is_some());

    // The OpenAPI document lists both paths.
    let (s, doc) = ryze(&gw, "GET", "/api/openapi.json", None, "");
    assert_eq!(s, 200);
    assert!(doc["paths"]["/events/webhook/{instance}"]["post"].is_object());
    assert!(doc["paths"]["/events/getWebhook/{instance}"]["get"].is_object());
}

#[test]
fn deliveries_use_ryze_envelope_and_the_deleted_state_comes_last() {
    let gw = Gateway::start();
    let receiver = Receiver::start();
    let acct = account(&gw, "acme");
    let tok = create(&gw, &acct, "hooked");

    let (s, v) = post(
        &gw,
        &tok,
        "hooked",
        json!({
            "label": "crm",
            "url": receiver.url("ryze"),
            "authorization": {"X-Tenant": "acme"},
            "events": ["message.exchange", "instance.state"]
        }),
    );
    assert_eq!(s, 200, "{v}");
    let secret = v["webhook"]["secret"].as_str().unwrap().to_string();
    assert!(!secret.is_empty());

    let (s, v) = ryze(&gw, "GET", "/api/instance/connect/hooked", Some(&tok), "");
    assert_eq!(s, 200, "{v}");
    wait_connected(&gw, &tok, "hooked");
    let id = gw.inbound("hooked", PEER, "hello ryze", false);
    receiver.wait_until("message.exchange", |r| {
        r.body["event"] == "message.exchange"
    });

    let (s, v) = ryze(
        &gw,
        "DELETE",
        "/api/instance/delete/hooked",
        Some(&acct),
        "",
    );
    assert_eq!(
        (s, v),
        (
            200,
            json!({"success": true, "message": "Instance deleted", "instance": {"status": "deleted"}})
        )
    );
    let got = receiver.wait_until("instance.state deleted", |r| {
        r.body["data"]["state"] == "deleted"
    });

    // Every delivery is Ryze's envelope, with the webhook's headers and a signature.
    for r in &got {
        assert_eq!(r.path, "/ryze");
        let event = r.body["event"].as_str().unwrap();
        assert!(
            ["message.exchange", "instance.state"].contains(&event),
            "{event}"
        );
        assert_eq!(
            r.body["instanceData"],
            json!({"baseUrl": "", "instance": "hooked", "token": null})
        );
        assert_eq!(r.header("x-tenant"), Some("acme"));
        assert_eq!(r.header("x-ryze-label"), Some("crm"));
        assert_eq!(
            r.header("x-ryze-events"),
            Some("message.exchange,instance.state")
        );
        assert!(
            r.header("x-wagate-signature")
                .unwrap()
                .starts_with("sha256=")
        );
    }
    let message = got
        .iter()
        .find(|r| r.body["event"] == "message.exchange")
        .unwrap();
    assert_eq!(message.body["data"]["type"], "message");
    assert_eq!(message.body["data"]["id"], id.as_str());
    assert_eq!(
        message.body["data"]["message"]["content"]["text"],
        "hello ryze"
    );
    assert_eq!(message.body["data"]["message"]["direction"], "incoming");
    assert!(
        got.iter()
            .any(|r| r.body["event"] == "instance.state" && r.body["data"]["state"] == "connected"),
        "connection states are delivered too"
    );
    let last = got.last().unwrap();
    assert_eq!(
        (
            last.body["event"].clone(),
            last.body["data"]["state"].clone()
        ),
        (json!("instance.state"), json!("deleted")),
        "the deletion comes last: {got:#?}"
    );
    assert_eq!(last.body["data"]["instance"], "hooked");
    assert!(
        last.body["data"]["timestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    // The instance and its webhooks are gone.
    assert_eq!(
        get(&gw, &acct, "hooked", ""),
        (404, error("Instance not found"))
    );
}
