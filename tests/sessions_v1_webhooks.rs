//! sessions/v1 webhooks (`GET`/`PUT /api/v1/sessions/{sid}/webhooks`) end to end:
//! round trip in v1 names, 422 on malformed bodies, 404 across organisations, 403
//! without `manage`, and deliveries of the v1 envelope to a local receiver with
//! `session.deleted` last after `DELETE /api/v1/sessions/{sid}`.

use crate::common;
use crate::common::receiver;

use common::Gateway;
use common::v1::{create_session, err, pair, v1_raw};
use receiver::Receiver;
use serde_json::{Value, json};

const PEER: &str = "6281234567890";

fn put(gw: &Gateway, token: &str, sid: &str, body: Value) -> (u16, Value) {
    v1_raw(
        gw,
        "PUT",
        &format!("/sessions/{sid}/webhooks"),
        token,
        Some(&body.to_string()),
    )
}

#[test]
fn round_trip_validation_and_access() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    let sid = create_session(&gw, &key, "acme-phone");
    let path = format!("/sessions/{sid}/webhooks");

    assert_eq!(
        v1_raw(&gw, "GET", &path, &key, None),
        (200, json!({"data": [], "nextCursor": null}))
    );

    let (s, v) = put(
        &gw,
        &key,
        &sid,
        json!({"webhooks": [
            {"url": "https://crm.example.com/wa", "events": ["message", "session.deleted"],
             "headers": {"x-tenant": "acme"}, "secret": "0123456789abcdef-secret"},
            {"url": "http://127.0.0.1:9/all", "enabled": false}
        ]}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["nextCursor"], Value::Null);
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let crm = data
        .iter()
        .find(|w| w["url"] == "https://crm.example.com/wa")
        .unwrap();
    assert_eq!(
        crm["events"],
        json!(["message", "message.from_me", "session.deleted"]),
        "message and message.from_me are one subscription"
    );
    assert_eq!(crm["headers"], json!({"x-tenant": "acme"}));
    assert_eq!(crm["enabled"], true);
    assert_eq!(crm["secret"], "0123456789abcdef-secret");
    assert!(crm["id"].as_str().unwrap().starts_with("wh_"));
    assert!(crm["createdAt"].as_u64().unwrap() > 0);
    let all = data.iter().find(|w| w["enabled"] == false).unwrap();
    assert_eq!(all["events"], json!([]));
    assert!(all["secret"].as_str().unwrap().starts_with("whsec_"));

    let (s, got) = v1_raw(&gw, "GET", &path, &key, None);
    assert_eq!(s, 200);
    let mut ids: Vec<&str> = got["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    let mut put_ids: Vec<&str> = data.iter().map(|w| w["id"].as_str().unwrap()).collect();
    ids.sort();
    put_ids.sort();
    assert_eq!(ids, put_ids);

    // 422: malformed JSON, not an object, and field problems named by path.
    let invalid = |body: &str| v1_raw(&gw, "PUT", &path, &key, Some(body));
    assert_eq!(
        invalid("{nope"),
        (
            422,
            err(
                "validation_error",
                "request body must be a JSON object",
                json!({})
            )
        )
    );
    assert_eq!(invalid("[]").0, 422);
    let (s, v) = invalid(
        r#"{"webhooks": [{"url": "ftp://x", "events": ["MESSAGES_UPSERT"], "enabled": "yes", "secret": "short", "extra": 1}]}"#,
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "validation_error");
    assert_eq!(v["error"]["message"], "request body is invalid");
    let fields = v["error"]["details"]["fields"].as_object().unwrap();
    let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "webhooks[0].enabled",
            "webhooks[0].events[0]",
            "webhooks[0].extra",
            "webhooks[0].secret",
            "webhooks[0].url"
        ]
    );
    assert_eq!(
        invalid(r#"{"hooks": []}"#),
        (
            422,
            err(
                "validation_error",
                "request body is invalid",
                json!({"fields": {
                    "hooks": "unknown field",
                    "webhooks": "required, an array of webhooks (empty removes them all)"
                }})
            )
        )
    );
    // Nothing changed.
    assert_eq!(v1_raw(&gw, "GET", &path, &key, None).1, got);

    // Another organisation: not_found, before any validation.
    let other = gw.org_with_key("globex", None);
    let nf = err("not_found", "session not found", json!({}));
    assert_eq!(v1_raw(&gw, "GET", &path, &other, None), (404, nf.clone()));
    assert_eq!(
        v1_raw(&gw, "PUT", &path, &other, Some("{nope")),
        (404, nf.clone())
    );
    assert_eq!(
        put(&gw, &other, &sid, json!({"webhooks": []})),
        (404, nf.clone())
    );
    assert_eq!(
        v1_raw(
            &gw,
            "GET",
            "/sessions/01JNOSUCHSESSION0000000000/webhooks",
            &key,
            None
        ),
        (404, nf)
    );

    // Without manage: forbidden, also before validation.
    let reader = gw.key("acme", Some(&["read", "send"]));
    let forbidden = err(
        "forbidden",
        "this operation requires the `manage` capability",
        json!({"capability": "manage"}),
    );
    assert_eq!(
        v1_raw(&gw, "GET", &path, &reader, None),
        (403, forbidden.clone())
    );
    assert_eq!(
        v1_raw(&gw, "PUT", &path, &reader, Some("{nope")),
        (403, forbidden.clone())
    );
    assert_eq!(
        put(&gw, &reader, &sid, json!({"webhooks": []})),
        (403, forbidden)
    );

    // Other methods on the path: 405 in the v1 shape.
    let (s, v) = v1_raw(&gw, "POST", &path, &key, Some("{}"));
    assert_eq!(
        (s, v["error"]["code"].clone()),
        (405, json!("method_not_allowed"))
    );

    // An empty set removes them all.
    assert_eq!(
        put(&gw, &key, &sid, json!({"webhooks": []})),
        (200, json!({"data": [], "nextCursor": null}))
    );

    // The OpenAPI document has the path.
    let (s, doc) = v1_raw(&gw, "GET", "/openapi.json", &key, None);
    assert_eq!(s, 200);
    assert!(doc["paths"]["/sessions/{sid}/webhooks"]["put"].is_object());
    assert!(doc["components"]["schemas"]["Webhook"].is_object());
}

#[test]
fn deliveries_use_the_v1_envelope_and_session_deleted_comes_last() {
    let gw = Gateway::start();
    let receiver = Receiver::start();
    let key = gw.org_with_key("acme", None);
    let sid = create_session(&gw, &key, "hooked-v1");
    let (s, v) = put(
        &gw,
        &key,
        &sid,
        json!({"webhooks": [{
            "url": receiver.url("v1"),
            "events": ["message", "session.status", "session.deleted"],
            "headers": {"x-tenant": "acme"}
        }]}),
    );
    assert_eq!(s, 200, "{v}");
    pair(&gw, &key, &sid);
    let mid = gw.inbound("hooked-v1", PEER, "hello v1", false);
    receiver.wait_until("message", |r| r.body["event"] == "message");

    let (_, session) = v1_raw(&gw, "GET", &format!("/sessions/{sid}"), &key, None);
    let organization = session["organization"].clone();
    assert!(organization.is_string(), "{session}");
    let (s, v) = v1_raw(&gw, "DELETE", &format!("/sessions/{sid}"), &key, None);
    assert_eq!((s, v), (204, Value::Null));
    let got = receiver.wait_until("session.deleted", |r| r.body["event"] == "session.deleted");

    for r in &got {
        let b = &r.body;
        let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
        let mut keys = keys;
        keys.sort();
        assert_eq!(
            keys,
            [
                "event",
                "id",
                "organization",
                "payload",
                "schema",
                "session",
                "timestamp"
            ]
        );
        assert_eq!(b["schema"], "v1");
        assert!(b["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(b["session"], sid.as_str());
        assert!(b["timestamp"].as_u64().unwrap() > 0);
        assert_eq!(b["organization"], organization);
        assert_eq!(r.path, "/v1");
        assert_eq!(r.header("x-tenant"), Some("acme"));
        assert_eq!(
            r.header("x-wagate-event-id"),
            b["id"].as_str(),
            "the delivery header names the envelope's id"
        );
        let event = b["event"].as_str().unwrap();
        assert!(
            [
                "message",
                "message.from_me",
                "session.status",
                "session.deleted"
            ]
            .contains(&event),
            "not subscribed: {event}"
        );
    }
    let message = got.iter().find(|r| r.body["event"] == "message").unwrap();
    assert_eq!(message.body["payload"]["waMessageId"], mid.as_str());
    assert_eq!(message.body["payload"]["body"], "hello v1");
    assert_eq!(message.body["payload"]["fromMe"], false);
    assert!(
        got.iter().any(
            |r| r.body["event"] == "session.status" && r.body["payload"]["status"] == "working"
        ),
        "{got:#?}"
    );
    let last = got.last().unwrap();
    assert_eq!(last.body["event"], "session.deleted", "{got:#?}");
    assert_eq!(last.body["payload"]["id"], sid.as_str());
    assert_eq!(last.body["payload"]["name"], "hooked-v1");
    // The session is gone, and so are its webhooks.
    assert_eq!(
        v1_raw(&gw, "GET", &format!("/sessions/{sid}/webhooks"), &key, None),
        (404, err("not_found", "session not found", json!({})))
    );
}
