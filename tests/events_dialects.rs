//! Issue 7: the instance-deleted event reaches the receiver in all three dialect
//! envelopes. One receiver; per instance one webhook set through each dialect's own
//! endpoint (Ryze `POST /api/events/webhook`, Evolution `POST /webhook/set`,
//! sessions/v1 `PUT /api/v1/sessions/{sid}/webhooks`); the instance is deleted through
//! each dialect in turn, and every webhook gets its dialect's deletion envelope:
//! Ryze `instance.state`/`deleted`, Evolution `INSTANCE_DELETE`, v1 `session.deleted`.

use crate::common;
use crate::common::receiver;

use common::Gateway;
use receiver::{Received, Receiver};
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-dialect-events";

fn request(
    gw: &Gateway,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, Value) {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(body).unwrap()
    };
    let r = gw.raw(method, path, &all, &bytes);
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

/// Creates `name` through Ryze and hooks it through all three dialects; returns its id.
fn hooked_instance(gw: &Gateway, rx: &Receiver, account: &str, bearer: &str, name: &str) -> String {
    let (s, v) = request(
        gw,
        "POST",
        "/api/instance/new",
        &[("token", account)],
        &json!({"name": name}),
    );
    assert_eq!(s, 201, "{v}");
    let id = v["instance"]["id"].as_str().unwrap().to_string();

    let (s, v) = request(
        gw,
        "POST",
        &format!("/api/events/webhook/{name}"),
        &[("token", account)],
        &json!({"url": rx.url("ryze"), "events": ["instance.state"]}),
    );
    assert_eq!(s, 200, "ryze: {v}");
    let (s, v) = request(
        gw,
        "POST",
        &format!("/webhook/set/{name}"),
        &[("apikey", GLOBAL_KEY)],
        &json!({"webhook": {"enabled": true, "url": rx.url("evolution"), "events": ["INSTANCE_DELETE"]}}),
    );
    assert_eq!(s, 201, "evolution: {v}");
    let auth = format!("Bearer {bearer}");
    let (s, v) = request(
        gw,
        "PUT",
        &format!("/api/v1/sessions/{id}/webhooks"),
        &[("authorization", &auth)],
        &json!({"webhooks": [{"url": rx.url("v1"), "events": ["session.deleted"]}]}),
    );
    assert_eq!(s, 200, "sessions/v1: {v}");
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    id
}

fn for_instance<'a>(got: &'a [Received], path: &str, name: &str, id: &str) -> Vec<&'a Received> {
    got.iter()
        .filter(|r| r.path == path)
        .filter(|r| {
            r.body["instanceData"]["instance"] == name
                || r.body["instance"] == name
                || r.body["session"] == id
        })
        .collect()
}

#[test]
fn instance_deleted_reaches_the_receiver_in_all_three_envelopes() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let account = gw.credential("default", "ryze-account");
    let bearer = gw.credential("default", "api-key");
    let auth = format!("Bearer {bearer}");

    // (instance, how it is deleted)
    let deleters: [(&str, &str); 3] = [
        ("gone-by-ryze", "ryze"),
        ("gone-by-evolution", "evolution"),
        ("gone-by-v1", "v1"),
    ];
    for (name, via) in deleters {
        let id = hooked_instance(&gw, &rx, &account, &bearer, name);
        let (s, v) = match via {
            "ryze" => request(
                &gw,
                "DELETE",
                &format!("/api/instance/delete/{name}"),
                &[("token", &account)],
                &Value::Null,
            ),
            "evolution" => request(
                &gw,
                "DELETE",
                &format!("/instance/delete/{name}"),
                &[("apikey", GLOBAL_KEY)],
                &Value::Null,
            ),
            _ => request(
                &gw,
                "DELETE",
                &format!("/api/v1/sessions/{id}"),
                &[("authorization", &auth)],
                &Value::Null,
            ),
        };
        assert!(s == 200 || s == 204, "delete {name} via {via}: {s} {v}");

        let got = rx.wait_until_all(&format!("all three deletions of {name}"), |all| {
            ["/ryze", "/evolution", "/v1"]
                .iter()
                .all(|p| !for_instance(all, p, name, &id).is_empty())
        });

        let ryze = for_instance(&got, "/ryze", name, &id);
        assert_eq!(ryze.len(), 1, "{ryze:#?}");
        let b = &ryze[0].body;
        assert_eq!(b["event"], "instance.state");
        assert_eq!(b["data"]["state"], "deleted");
        assert_eq!(b["data"]["instance"], name);
        assert_eq!(
            b["instanceData"],
            json!({"baseUrl": "", "instance": name, "token": null})
        );

        let evolution = for_instance(&got, "/evolution", name, &id);
        assert_eq!(evolution.len(), 1, "{evolution:#?}");
        let b = &evolution[0].body;
        assert_eq!(b["event"], "INSTANCE_DELETE");
        assert_eq!(b["instance"], name);
        assert_eq!(b["data"], json!({"instanceName": name, "instanceId": id}));
        assert!(b["date_time"].as_str().unwrap().ends_with('Z'));

        let v1 = for_instance(&got, "/v1", name, &id);
        assert_eq!(v1.len(), 1, "{v1:#?}");
        let b = &v1[0].body;
        assert_eq!(b["schema"], "v1");
        assert_eq!(b["event"], "session.deleted");
        assert_eq!(b["session"], id.as_str());
        assert_eq!(b["organization"], b["payload"]["organization"]);
        assert_eq!(b["payload"]["id"], id.as_str());
        assert_eq!(b["payload"]["name"], name);
        assert!(b["id"].as_str().unwrap().starts_with("evt_"));

        // The three carry the same event, each signed for its own webhook.
        let ids: Vec<&str> = [&ryze[0], &evolution[0], &v1[0]]
            .iter()
            .map(|r| r.header("x-wagate-event-id").unwrap())
            .collect();
        assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
        for r in [&ryze[0], &evolution[0], &v1[0]] {
            assert!(
                r.header("x-wagate-signature")
                    .unwrap()
                    .starts_with("sha256=")
            );
        }
    }
    assert_eq!(rx.all().len(), 9, "nothing but the nine deletions");
}
