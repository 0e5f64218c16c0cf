//! Test fixture for integrations (the host side of the Chatwoot work).
//!
//! Dialect routes (relative to the mount):
//! - `PUT /integration/{instance}` `{"url","settings":{..},"token"?,"enabled"?}`: sets
//!   this plugin's integration (`token` becomes the `api_access_token` secret header;
//!   absent keeps the current one). `GET` reads it (404 when none), `DELETE` removes it.
//! - `PUT|GET|DELETE /storage/{instance_id}/{key}`: `storage` for that instance id;
//!   a refused call answers 403 with the host's message.
//! - `POST /send/{instance}` `{"to","text"}`: `core.send-text`.
//!
//! Sink: for each event, bumps `delivered` in storage for the event's instance, tries a
//! storage write for `settings.foreign` (another instance id, which must be refused),
//! and POSTs a report to `destination.url` + `/report` (with a forged
//! `api_access_token` the host must replace), and the same to `settings.other` when set
//! (a host on the plain allowlist, which must not get the secret).

use serde_json::{Value, json};
use wagate_plugin_sdk::dialect::Guest as DialectGuest;
use wagate_plugin_sdk::http_out::{self, OutboundRequest};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::sink::{Delivery, Destination, Guest as SinkGuest, Outgoing};
use wagate_plugin_sdk::storage;
use wagate_plugin_sdk::types::{Integration, IntegrationSpec};

struct Fixture;

const NAME: &str = "fixture-integration";

fn integration_json(i: &Integration) -> Value {
    json!({
        "sink": i.sink,
        "url": i.url,
        "settings": serde_json::from_str::<Value>(&i.settings).unwrap_or(Value::Null),
        "enabled": i.enabled,
        "secretHeaderNames": i.secret_header_names,
        "inboundSecret": i.inbound_secret,
    })
}

fn instance(params: &Params) -> InstanceRef {
    InstanceRef::Name(params.get("instance").unwrap_or_default().into())
}

fn refused(m: String) -> HttpResponse {
    json(403, &json!({ "error": m }))
}

fn router() -> Router {
    Router::new()
        .put("/integration/{instance}", |req, params| {
            let Ok(body) = req.json::<Value>() else {
                return json_error(400, "bad_request", "body must be JSON");
            };
            let spec = IntegrationSpec {
                sink: body["sink"].as_str().unwrap_or(NAME).to_string(),
                url: body["url"].as_str().unwrap_or_default().to_string(),
                settings: match &body["settings"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
                secret_headers: body["token"].as_str().map(|t| {
                    vec![Header {
                        name: "api_access_token".into(),
                        value: t.into(),
                    }]
                }),
                enabled: body["enabled"].as_bool().unwrap_or(true),
            };
            match core::set_integration(&instance(params), &spec) {
                Ok(i) => json(200, &integration_json(&i)),
                Err(e) => core_error(&e),
            }
        })
        .get(
            "/integration/{instance}",
            |_req, params| match core::get_integration(&instance(params), NAME) {
                Ok(Some(i)) => json(200, &integration_json(&i)),
                Ok(None) => json_error(404, "not_found", "no integration"),
                Err(e) => core_error(&e),
            },
        )
        .delete(
            "/integration/{instance}",
            |_req, params| match core::delete_integration(&instance(params), NAME) {
                Ok(deleted) => json(200, &json!({ "deleted": deleted })),
                Err(e) => core_error(&e),
            },
        )
        .put("/storage/{id}/{key}", |req, params| {
            let (id, key) = (
                params.get("id").unwrap_or_default(),
                params.get("key").unwrap_or_default(),
            );
            match storage::set(id, key, &req.raw.body) {
                Ok(()) => json(200, &json!({ "stored": true })),
                Err(m) => refused(m),
            }
        })
        .get("/storage/{id}/{key}", |_req, params| {
            let (id, key) = (
                params.get("id").unwrap_or_default(),
                params.get("key").unwrap_or_default(),
            );
            match storage::get(id, key) {
                Ok(Some(v)) => json(200, &json!({ "value": String::from_utf8_lossy(&v) })),
                Ok(None) => json_error(404, "not_found", "no such key"),
                Err(m) => refused(m),
            }
        })
        .delete("/storage/{id}/{key}", |_req, params| {
            let (id, key) = (
                params.get("id").unwrap_or_default(),
                params.get("key").unwrap_or_default(),
            );
            match storage::delete(id, key) {
                Ok(()) => json(200, &json!({ "deleted": true })),
                Err(m) => refused(m),
            }
        })
        .post("/send/{instance}", |req, params| {
            let Ok(body) = req.json::<Value>() else {
                return json_error(400, "bad_request", "body must be JSON");
            };
            let to = body["to"].as_str().unwrap_or_default();
            let text = body["text"].as_str().unwrap_or_default();
            match core::send_text(&instance(params), to, text) {
                Ok(m) => json(200, &json!({ "id": m.id })),
                Err(e) => core_error(&e),
            }
        })
}

impl DialectGuest for Fixture {
    fn handle(req: HttpRequest, caller: Option<Principal>) -> HttpResponse {
        router().handle(&Request::new(req, caller))
    }

    fn render_event(_ev: Event, _target: RenderTarget, _hook: Option<Webhook>) -> Option<Vec<u8>> {
        None
    }

    fn openapi() -> String {
        r#"{"openapi":"3.1.0","info":{"title":"fixture-integration","version":"0.1.0"},"paths":{}}"#
            .into()
    }
}

fn post(url: &str, body: &Value) -> Result<u16, String> {
    let req = OutboundRequest {
        method: "POST".into(),
        url: url.into(),
        headers: vec![
            Header {
                name: "content-type".into(),
                value: "application/json".into(),
            },
            Header {
                name: "api_access_token".into(),
                value: "forged-by-the-guest".into(),
            },
        ],
        body: body.to_string().into_bytes(),
        timeout_ms: 5000,
    };
    http_out::fetch(&req)
        .map(|r| r.status)
        .map_err(|e| format!("{e:?}"))
}

impl SinkGuest for Fixture {
    fn deliver(destination: Option<Destination>, batch: Vec<Outgoing>) -> Delivery {
        let Some(dest) = destination else {
            return Delivery::Permanent("no destination".into());
        };
        for out in batch {
            let instance_id = out.event.instance_id.clone();
            let integration = storage::integration(&instance_id);
            let settings: Value = integration
                .as_ref()
                .and_then(|i| serde_json::from_str(&i.settings).ok())
                .unwrap_or(Value::Null);
            let count = storage::get(&instance_id, "delivered")
                .ok()
                .flatten()
                .and_then(|v| String::from_utf8(v).ok())
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
                + 1;
            let stored = storage::set(&instance_id, "delivered", count.to_string().as_bytes());
            let foreign = settings["foreign"]
                .as_str()
                .map(|other| storage::set(other, "intrusion", b"x"));
            let report = json!({
                "destination": {
                    "id": dest.id,
                    "url": dest.url,
                    "headers": dest.headers.iter().map(|h| (h.name.clone(), h.value.clone())).collect::<Vec<_>>(),
                    "secret": dest.secret,
                },
                "integration": integration.as_ref().map(integration_json),
                "event": serde_json::from_slice::<Value>(&out.body).unwrap_or(Value::Null),
                "delivered": count,
                "stored": stored.err(),
                "foreign": foreign.map(|r| r.err().unwrap_or_else(|| "allowed".into())),
            });
            let status = match post(
                &format!("{}/report", dest.url.trim_end_matches('/')),
                &report,
            ) {
                Ok(s) => s,
                Err(_) => return Delivery::RetryAfter(0),
            };
            if !(200..300).contains(&status) {
                return Delivery::RetryAfter(0);
            }
            if let Some(other) = settings["other"].as_str() {
                let _ = post(other, &report);
            }
        }
        Delivery::Ok
    }
}

wagate_plugin_sdk::export_dialect!(Fixture);
wagate_plugin_sdk::export_sink!(Fixture);
