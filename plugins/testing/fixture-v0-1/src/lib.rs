//! A dialect built against the frozen contract `wagate:plugin@0.1.0` (`wit/0.1.0`), as
//! plugins built before 0.2.0 were. The host must keep loading and serving it through
//! its 0.1 compatibility bindings (`host/src/plugin/compat`). Routes, relative to the
//! mount:
//!
//! - `GET /instances/{name}`: `core.get-instance`; a core error answers its 0.1 shape
//!   (`not-found` carried a bare message then).
//! - `PUT /instances/{name}/webhook` with the receiver's URL as body: `core.set-webhooks`
//!   (every event), so deliveries carry bodies rendered by `render-event` below.
//! - `GET /whoami`: the caller's principal, as the 0.1 bindings received it.

wit_bindgen::generate!({
    path: "../../../wit/0.1.0",
    world: "wagate:plugin/dialect@0.1.0",
});

use wagate::plugin::core;
// `Event`, `HttpRequest`, `HttpResponse` and `Principal` are in scope from the world.
use wagate::plugin::types::{ConnectionState, CoreError, EventPayload, InstanceRef, WebhookSpec};

struct Fixture;

fn respond(status: u16, body: serde_json::Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![wagate::plugin::types::Header {
            name: "content-type".into(),
            value: "application/json".into(),
        }],
        body: body.to_string().into_bytes(),
    }
}

fn state(s: ConnectionState) -> &'static str {
    match s {
        ConnectionState::Disconnected => "disconnected",
        ConnectionState::Connecting => "connecting",
        ConnectionState::Open => "open",
        ConnectionState::Closed => "closed",
    }
}

/// A 0.1 core error as JSON: `not-found` is a bare string in 0.1.
fn error(e: CoreError) -> HttpResponse {
    let (status, kind, message) = match e {
        CoreError::NotFound(m) => (404, "not-found", m),
        CoreError::Forbidden(m) => (403, "forbidden", m),
        CoreError::Invalid(m) => (400, "invalid", m),
        CoreError::Conflict(m) => (409, "conflict", m),
        CoreError::NotConnected(m) => (503, "not-connected", m),
        CoreError::RateLimited(ms) => (429, "rate-limited", ms.to_string()),
        CoreError::Internal(m) => (500, "internal", m),
    };
    respond(
        status,
        serde_json::json!({ "error": kind, "message": message }),
    )
}

impl Guest for Fixture {
    fn handle(req: HttpRequest, caller: Option<Principal>) -> HttpResponse {
        let rel = req.path.strip_prefix(&req.mount).unwrap_or(&req.path);
        let parts: Vec<&str> = rel.split('/').filter(|s| !s.is_empty()).collect();
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["whoami"]) => respond(
                200,
                serde_json::json!({
                    "subject": caller.as_ref().map(|p| p.subject.clone()),
                    "org": caller.as_ref().map(|p| p.org.clone()),
                    "manage": caller.as_ref().is_some_and(|p| p.capabilities.contains(wagate::plugin::types::Capabilities::MANAGE)),
                }),
            ),
            ("GET", ["instances", name]) => {
                match core::get_instance(&InstanceRef::Name(name.to_string())) {
                    Ok(i) => respond(
                        200,
                        serde_json::json!({ "id": i.id, "name": i.name, "state": state(i.state) }),
                    ),
                    Err(e) => error(e),
                }
            }
            ("PUT", ["instances", name, "webhook"]) => {
                let url = String::from_utf8_lossy(&req.body).trim().to_string();
                let spec = WebhookSpec {
                    url,
                    events: Vec::new(),
                    headers: Vec::new(),
                    enabled: true,
                    secret: None,
                };
                match core::set_webhooks(&InstanceRef::Name(name.to_string()), &[spec]) {
                    Ok(hooks) => respond(
                        200,
                        serde_json::json!(hooks.iter().map(|h| &h.id).collect::<Vec<_>>()),
                    ),
                    Err(e) => error(e),
                }
            }
            _ => respond(404, serde_json::json!({ "error": "no-route" })),
        }
    }

    fn render_event(ev: Event) -> Option<Vec<u8>> {
        let kind = match &ev.payload {
            EventPayload::ConnectionUpdate(s) => format!("connection:{}", state(*s)),
            EventPayload::MessageUpsert(m) => {
                format!("message:{}", m.text.clone().unwrap_or_default())
            }
            EventPayload::QrUpdated(_) => "qr".into(),
            EventPayload::InstanceCreated(_) => "created".into(),
            EventPayload::InstanceDeleted(_) => "deleted".into(),
            _ => "other".into(),
        };
        let body = serde_json::json!({
            "contract": "0.1.0",
            "event": kind,
            "instance": ev.instance_name,
        });
        Some(body.to_string().into_bytes())
    }

    fn openapi() -> String {
        r#"{"openapi":"3.1.0","info":{"title":"fixture-v0-1","version":"0.1.0"},"paths":{}}"#.into()
    }
}

export!(Fixture);
