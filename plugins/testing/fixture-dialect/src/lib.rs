//! Test fixture dialect. Routes (relative to the mount):
//!
//! - `GET /state/{instance}`: the instance's connection state via `core`, and the caller.
//! - `POST /connect/{instance}`: starts pairing via `core` (a host call that waits on the
//!   link), answers the state.
//! - `GET /message/{instance}/{id}`: one stored message via `core.get-message`.
//! - `GET /instances`: names of the instances the caller sees.
//! - `GET /label`: the `label` config value (tells plugin versions apart in reload tests).
//! - `GET /sleep?ms=N`: sleeps N ms (guest time) then answers like `/label`.
//! - `GET /loop`: loops forever (the host's deadline must stop it).
//! - `GET /grow?mb=N`: allocates and touches N MiB (the memory cap must stop it).
//! - `GET /panic`: panics (a trap).
//! - `GET /bad-status`: answers status 42 (malformed output).
//! - `GET /fetch?url=U`: outbound GET through `http-out`, answers its status and body.
//! - `GET /rate`: one hit on the `fixture` rate-limit bucket (limit 2 per minute).
//! - `PUT /cache/{key}` stores the body for `?ttl=MS`; `GET /cache/{key}` reads it back.
//! - `GET /counter`: bumps a static counter and a heap value; always 1 if no state
//!   survives between calls.

use wagate_plugin_sdk::dialect::Guest;
use wagate_plugin_sdk::http_out::{self, HttpError, OutboundRequest};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::EventPayload;
use wagate_plugin_sdk::{cache, config, log};

struct Fixture;

fn label() -> String {
    config::get("label").unwrap_or_else(|| "none".into())
}

fn router() -> Router {
    Router::new()
        .get("/state/{instance}", |req, params| {
            let which = InstanceRef::Name(params.get("instance").unwrap_or_default().into());
            match core::connection_state(&which) {
                Ok(state) => json(
                    200,
                    &serde_json::json!({
                        "state": state_name(state),
                        "caller": req.caller.as_ref().map(|p| p.subject.clone()),
                    }),
                ),
                Err(e) => core_error(&e),
            }
        })
        .post("/connect/{instance}", |_req, params| {
            let which = InstanceRef::Name(params.get("instance").unwrap_or_default().into());
            match core::connect(&which, None) {
                Ok(info) => json(200, &serde_json::json!({ "state": state_name(info.state) })),
                Err(e) => core_error(&e),
            }
        })
        .get("/message/{instance}/{id}", |_req, params| {
            let which = InstanceRef::Name(params.get("instance").unwrap_or_default().into());
            match core::get_message(&which, params.get("id").unwrap_or_default()) {
                Ok(m) => json(
                    200,
                    &serde_json::json!({ "id": m.id, "chat": m.chat_jid, "text": m.text }),
                ),
                Err(e) => core_error(&e),
            }
        })
        .get("/instances", |_req, _| match core::list_instances() {
            Ok(list) => {
                let names: Vec<String> = list.into_iter().map(|i| i.name).collect();
                json(200, &names)
            }
            Err(e) => core_error(&e),
        })
        .get("/label", |_req, _| {
            json(200, &serde_json::json!({ "label": label() }))
        })
        .get("/sleep", |req, _| {
            let ms: u64 = req.query("ms").and_then(|v| v.parse().ok()).unwrap_or(10);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            json(200, &serde_json::json!({ "label": label() }))
        })
        // Diverging handlers name their type: a handler may return any `IntoResponse`.
        .get("/loop", |_req, _| -> HttpResponse {
            log::info("looping forever");
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        })
        .get("/grow", |req, _| {
            let mb: usize = req.query("mb").and_then(|v| v.parse().ok()).unwrap_or(64);
            let v = vec![1u8; mb << 20];
            let sum: u64 = v.iter().step_by(4096).map(|b| *b as u64).sum();
            json(200, &serde_json::json!({ "touched_pages": sum }))
        })
        .get("/panic", |_req, _| -> HttpResponse { panic!("fixture asked to panic") })
        .get("/bad-status", |_req, _| HttpResponse {
            status: 42,
            headers: vec![],
            body: vec![],
        })
        .get("/fetch", |req, _| {
            let url = req.query("url").unwrap_or_default();
            let out = http_out::fetch(&OutboundRequest {
                method: "GET".into(),
                url,
                headers: vec![],
                body: vec![],
                timeout_ms: 2000,
            });
            match out {
                Ok(resp) => json(
                    200,
                    &serde_json::json!({
                        "status": resp.status,
                        "body": String::from_utf8_lossy(&resp.body),
                    }),
                ),
                Err(HttpError::Denied(m)) => json_error(403, "denied", &m),
                Err(HttpError::Timeout) => json_error(504, "timeout", "outbound timeout"),
                Err(HttpError::Failed(m)) => json_error(502, "failed", &m),
            }
        })
        .put("/cache/{key}", |req, params| {
            let ttl: u64 = req.query("ttl").and_then(|v| v.parse().ok()).unwrap_or(0);
            let ok = cache::set(params.get("key").unwrap_or_default(), &req.raw.body, ttl);
            json(if ok { 200 } else { 413 }, &serde_json::json!({ "stored": ok }))
        })
        .get("/cache/{key}", |_req, params| match cache::get(params.get("key").unwrap_or_default()) {
            Some(c) => json(
                200,
                &serde_json::json!({ "value": String::from_utf8_lossy(&c.value), "stored_at": c.stored_at }),
            ),
            None => json_error(404, "not_found", "not cached"),
        })
        .get("/counter", |_req, _| {
            static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            static HEAP: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            let mut heap = HEAP.lock().unwrap();
            heap.push(1);
            json(200, &serde_json::json!({ "static": n, "heap": heap.len() }))
        })
        .get("/rate", |_req, _| {
            let d = core::rate_limit("fixture", 2, 60_000);
            json(
                if d.allowed { 200 } else { 429 },
                &serde_json::json!({ "remaining": d.remaining }),
            )
        })
}

impl Guest for Fixture {
    fn handle(req: HttpRequest, caller: Option<Principal>) -> HttpResponse {
        router().handle(&Request::new(req, caller))
    }

    fn render_event(ev: Event, _target: RenderTarget, _hook: Option<Webhook>) -> Option<Vec<u8>> {
        let kind = match &ev.payload {
            EventPayload::MessageUpsert(_) => "message.upsert",
            EventPayload::InstanceDeleted(_) => "instance.deleted",
            EventPayload::ConnectionUpdate(_) => "connection.update",
            _ => return None,
        };
        serde_json::to_vec(
            &serde_json::json!({ "id": ev.id, "kind": kind, "instance": ev.instance_name }),
        )
        .ok()
    }

    fn openapi() -> String {
        r#"{"openapi":"3.1.0","info":{"title":"fixture","version":"0.1.0"},"paths":{}}"#.into()
    }
}

wagate_plugin_sdk::export_dialect!(Fixture);
