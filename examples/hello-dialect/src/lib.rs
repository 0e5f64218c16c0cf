//! `hello`: a tiny custom dialect for wagate.
//!
//! Routes, relative to its mount (`/hello` in `wagate.toml`):
//!
//! - `GET /{instance}`: the instance's connection state, read through the gateway's
//!   `core` interface as the caller the mount's auth plugins resolved:
//!   `{"instance": "shop", "state": "open", "greeting": "hello"}`.
//! - `PUT /{instance}/webhook` `{"url": "https://...", "events": ["message_upsert"]}`:
//!   sets this dialect's webhook of the instance (`events` optional: all). Deliveries
//!   carry the bodies `render_event` writes below, in this dialect's own shape.
//! - `GET /{instance}/webhook`: the webhooks this dialect set.
//!
//! Core errors keep their meaning: an unknown (or another organisation's) instance is
//! 404, a request without credentials 403; a bad body is 400 in the dialect's shape
//! `{"error": "..."}`.

use serde::Deserialize;
use wagate_plugin_sdk::dialect::Guest;
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{EventPayload, Webhook, WebhookSpec};
use wagate_plugin_sdk::{config, log, time, url};

struct Hello;

/// This dialect's error shape.
fn error(status: u16, message: &str) -> HttpResponse {
    json(status, &serde_json::json!({ "error": message }))
}

/// A core error in this dialect's shape, with wagate's status for it.
fn core_failure(e: CoreError) -> HttpResponse {
    log::debug(&format!("hello: {e:?}"));
    error(
        core_error_status(&e),
        &wagate_plugin_sdk::http::core_error_message(&e),
    )
}

fn instance(params: &Params) -> InstanceRef {
    InstanceRef::Name(params.get("instance").unwrap_or_default().to_string())
}

fn state(_req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let greeting = config::get("greeting").unwrap_or_else(|| "hello".into());
    let state = core::connection_state(&instance(params)).map_err(core_failure)?;
    Ok(json(
        200,
        &serde_json::json!({
            "instance": params.get("instance"),
            "state": state_name(state),
            "greeting": greeting,
        }),
    ))
}

#[derive(Deserialize)]
struct WebhookBody {
    url: String,
    #[serde(default)]
    events: Vec<String>,
}

fn hooks_json(hooks: &[Webhook]) -> serde_json::Value {
    hooks
        .iter()
        .map(|h| serde_json::json!({ "id": h.id, "url": h.url, "events": h.events }))
        .collect()
}

fn set_webhook(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let body: WebhookBody = req.body()?;
    if !url::is_http(&body.url) {
        return Err(error(400, "url must be an http:// or https:// URL"));
    }
    let spec = WebhookSpec {
        url: body.url,
        events: body.events,
        headers: Vec::new(),
        enabled: true,
        secret: None,
    };
    let hooks = core::set_webhooks(&instance(params), &[spec]).map_err(core_failure)?;
    Ok(json(200, &hooks_json(&hooks)))
}

fn get_webhooks(_req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let hooks = core::get_webhooks(&instance(params)).map_err(core_failure)?;
    Ok(json(200, &hooks_json(&hooks)))
}

fn router() -> Router {
    Router::new()
        .get("/{instance}", state)
        .put("/{instance}/webhook", set_webhook)
        .get("/{instance}/webhook", get_webhooks)
        // A body that is not `{"url": ...}` answers in this dialect's shape too.
        .body_errors(|e| error(400, &e.to_string()))
}

impl Guest for Hello {
    fn handle(req: HttpRequest, caller: Option<Principal>) -> HttpResponse {
        router().handle(&Request::new(req, caller))
    }

    /// Webhook bodies: `{"hello": "message", "instance": "shop", "from": ..., "text":
    /// ..., "at": "2026-04-28T10:30:00Z"}` for messages, `{"hello": "state", ...}` for
    /// connection changes; other events are not delivered by this dialect.
    fn render_event(ev: Event, _target: RenderTarget, _hook: Option<Webhook>) -> Option<Vec<u8>> {
        let at = time::iso8601(ev.timestamp);
        let body = match ev.payload {
            EventPayload::MessageUpsert(m) => serde_json::json!({
                "hello": "message",
                "instance": ev.instance_name,
                "from": m.sender,
                "text": m.text,
                "at": at,
            }),
            EventPayload::ConnectionUpdate(s) => serde_json::json!({
                "hello": "state",
                "instance": ev.instance_name,
                "state": state_name(s),
                "at": at,
            }),
            _ => return None,
        };
        serde_json::to_vec(&body).ok()
    }

    fn openapi() -> String {
        serde_json::json!({
            "openapi": "3.1.0",
            "info": { "title": "hello", "version": "0.2.0" },
            "paths": {
                "/{instance}": { "get": { "summary": "The instance's connection state" } },
                "/{instance}/webhook": {
                    "get": { "summary": "This dialect's webhooks of the instance" },
                    "put": { "summary": "Set this dialect's webhook of the instance" }
                }
            }
        })
        .to_string()
    }
}

wagate_plugin_sdk::export_dialect!(Hello);
