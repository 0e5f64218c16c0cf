//! `ryze`: RyzeAPI's dialect, bundled with wagate and mounted at `/api` by default.
//!
//! Every route but `GET /openapi.json` needs a token (plugin `ryze-token`): a
//! TokenAccount (org-wide) or a TokenInstance (one instance). Answers use RyzeAPI's
//! envelopes: `{"success":true,"message":...,...}` and
//! `{"success":false,"error":{"message":...}}`.
//!
//! | method | path (under the mount) | what |
//! |---|---|---|
//! | POST | /instance/new | create `{name}` (TokenAccount; 20/min) -> 201 with the TokenInstance |
//! | GET | /instance/list[?instanceName=a,b] | instances and their state (RyzeAPI's status check) |
//! | GET | /instance/status/{instance} | one instance's state (wagate convenience) |
//! | GET | /instance/connect/{instance}[?number=] | QR code, or pairing code with `number` |
//! | DELETE | /instance/logout/{instance} | log out of WhatsApp, keep the instance |
//! | DELETE | /instance/delete/{instance} | delete everything (TokenAccount only) |
//! | POST | /message/text/{instance} | send `{number, message}` |
//! | POST | /message/{image,video,audio,document,sticker}/{instance} | send media `{number, media, caption?, fileName?, ptt?}` (media.rs) |
//! | GET | /message/download/{instance}?messageId=[&format=base64] | a stored message's media |
//! | POST | /chat/archive/{instance} | `{number, archive}` |
//! | POST | /chat/pin/{instance} | `{number, pin}` |
//! | POST | /chat/mute/{instance} | `{number, mute, duration}` |
//! | GET | /chat/contacts/{instance}[?limit&offset] | stored chats, pinned first then by activity |
//! | POST | /chat/history/{instance} | `{number, count, from, to, cursor}` newest first |
//! | DELETE | /chat/delete/{instance} | `{messageId, deleteForEveryone}` revoke / delete for me |
//! | DELETE | /chat/deleteChat/{instance} | `{number, deleteMedia}` |
//! | POST | /events/webhook/{instance} | create/update the webhook of `label` (upsert; 3 enabled max) |
//! | GET | /events/getWebhook/{instance}[?label=] | the instance's webhooks, or one by label |
//! | | /group/{create,list,info,subject,description,settings,participants,invite,revokeInvite,inviteInfo,join,leave}/{instance} | groups (groups.rs) |
//! | GET | /openapi.json | this dialect's OpenAPI 3.1 document (no token needed) |
//!
//! Every authenticated answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset` (Unix seconds); past the limit, 429 `Rate limit exceeded. Try
//! again later.`. The counters are host-kept (`core.rate-limit`), per token.

mod account;
mod contacts;
mod content;
mod edits;
mod events;
mod groups;
mod labels;
mod media;
mod message_view;
mod openapi;
mod presence;
mod proxy;
mod reactions;
mod receipts;
mod routes;
mod settings;
mod util;
mod webhooks;

use serde_json::{Value, json};
use wagate_plugin_sdk::dialect::Guest;
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::EventPayload;

/// RyzeAPI's literal error messages.
pub(crate) mod msg {
    pub(crate) const INVALID_TOKEN: &str = "Invalid token";
    pub(crate) const INVALID_BODY: &str = "Invalid request body";
    pub(crate) const NUMBER_REQUIRED: &str = "Number is required";
    pub(crate) const MESSAGE_ID_REQUIRED: &str = "MessageID is required";
    pub(crate) const INSTANCE_NOT_FOUND: &str = "Instance not found";
    pub(crate) const MESSAGE_NOT_FOUND: &str = "message not found";
    pub(crate) const CHAT_NOT_FOUND: &str = "Chat not found";
    pub(crate) const NOT_CONNECTED: &str = "Instance is not connected to WhatsApp";
    pub(crate) const RATE_LIMITED: &str = "Rate limit exceeded. Try again later.";
    pub(crate) const FORBIDDEN: &str = "Token does not have permission for this operation";
}

/// A success answer: `body` is the whole JSON object (it carries `success: true`).
pub(crate) fn ok(status: u16, body: Value) -> HttpResponse {
    json(status, &body)
}

/// RyzeAPI's error envelope: `{"success":false,"error":{"message":...}}`.
pub(crate) fn fail(status: u16, message: &str) -> HttpResponse {
    json(
        status,
        &json!({ "success": false, "error": { "message": message } }),
    )
}

/// The generic mapping of a core error onto RyzeAPI's statuses and messages; routes
/// with their own wording (delete instance, revoke) map before falling back to this.
pub(crate) fn core_fail(e: &CoreError) -> HttpResponse {
    match e {
        CoreError::NotFound(m) => match m.kind {
            ResourceKind::Message => fail(404, msg::MESSAGE_NOT_FOUND),
            ResourceKind::Chat => fail(404, msg::CHAT_NOT_FOUND),
            ResourceKind::Instance => fail(404, msg::INSTANCE_NOT_FOUND),
            // Webhooks, integrations, sinks: Ryze has no fixed wording; core's names it.
            _ => fail(404, &m.message),
        },
        CoreError::Forbidden(_) => fail(403, msg::FORBIDDEN),
        CoreError::Invalid(m) => fail(400, m),
        CoreError::TooLarge(m) => fail(413, m),
        CoreError::Conflict(m) => fail(409, m),
        CoreError::NotConnected(_) => fail(503, msg::NOT_CONNECTED),
        CoreError::RateLimited(_) => fail(429, msg::RATE_LIMITED),
        CoreError::Internal(m) => fail(500, m),
    }
}

/// Limits, from the plugin's configuration (manifest `[config]`, overridden by
/// `[plugins.settings.ryze] config = {...}` in wagate.toml).
pub(crate) struct Settings {
    pub rate_limit: u32,
    pub create_rate_limit: u32,
    pub window_ms: u64,
}

impl Settings {
    pub(crate) fn load() -> Settings {
        fn num<T: std::str::FromStr>(key: &str, default: T) -> T {
            wagate_plugin_sdk::config::get(key)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        }
        Settings {
            rate_limit: num("rate_limit", 100),
            create_rate_limit: num("create_rate_limit", 20),
            window_ms: num("rate_window_ms", 60_000u64).max(1),
        }
    }
}

/// The `X-RateLimit-*` headers of a decision (`Reset` in Unix seconds, rounded up).
fn rate_headers(d: &wagate_plugin_sdk::types::RateDecision) -> [Header; 3] {
    [
        header("X-RateLimit-Limit", &d.limit.to_string()),
        header("X-RateLimit-Remaining", &d.remaining.to_string()),
        header("X-RateLimit-Reset", &d.reset_at.div_ceil(1000).to_string()),
    ]
}

struct Ryze;

impl Guest for Ryze {
    fn handle(req: HttpRequest, caller: Option<Principal>) -> HttpResponse {
        let req = Request::new(req, caller);
        let path = req.rel_path.trim_end_matches('/');
        if req.method().eq_ignore_ascii_case("GET") && path == "/openapi.json" {
            return HttpResponse {
                status: 200,
                headers: vec![header("content-type", "application/json")],
                body: openapi::document().into_bytes(),
            };
        }
        if req.caller.is_none() {
            return fail(401, msg::INVALID_TOKEN);
        }
        let settings = Settings::load();
        let creating = req.method().eq_ignore_ascii_case("POST") && path == "/instance/new";
        let decision = if creating {
            core::rate_limit(
                "instance-new",
                settings.create_rate_limit,
                settings.window_ms,
            )
        } else {
            core::rate_limit("global", settings.rate_limit, settings.window_ms)
        };
        let mut resp = if decision.allowed {
            routes::router().handle(&req)
        } else {
            fail(429, msg::RATE_LIMITED)
        };
        resp.headers.extend(rate_headers(&decision));
        resp
    }

    fn render_event(ev: Event, _target: RenderTarget, hook: Option<Webhook>) -> Option<Vec<u8>> {
        let base_url = wagate_plugin_sdk::config::get("base_url").unwrap_or_default();
        let mut body = events::render(&ev, &base_url)?;
        // `mediaBase64`: this webhook's copy of a new media message carries its bytes.
        if let (Some(hook), EventPayload::MessageUpsert(m)) = (&hook, &ev.payload)
            && webhooks::wants_media(hook)
            && let Some(b64) = wagate_plugin_sdk::media::inline_base64(&ev.instance_id, m)
            && let Some(media) = body["data"]["message"].get_mut("media")
        {
            media["base64"] = Value::String(b64);
        }
        Some(body.to_string().into_bytes())
    }

    fn openapi() -> String {
        openapi::document()
    }
}

wagate_plugin_sdk::export_dialect!(Ryze);

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &HttpResponse) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    fn not_found(kind: ResourceKind, message: &str) -> CoreError {
        CoreError::NotFound(Missing {
            kind,
            message: message.into(),
        })
    }

    #[test]
    fn core_errors_map_to_ryze_messages() {
        let r = core_fail(&not_found(ResourceKind::Instance, "instance `x` not found"));
        assert_eq!(r.status, 404);
        assert_eq!(
            body(&r),
            json!({"success": false, "error": {"message": "Instance not found"}})
        );
        let r = core_fail(&not_found(ResourceKind::Message, "message not found"));
        assert_eq!(body(&r)["error"]["message"], "message not found");
        let r = core_fail(&CoreError::NotConnected("down".into()));
        assert_eq!(r.status, 503);
        assert_eq!(
            body(&r)["error"]["message"],
            "Instance is not connected to WhatsApp"
        );
    }

    #[test]
    fn reset_is_in_seconds_rounded_up() {
        let d = wagate_plugin_sdk::types::RateDecision {
            allowed: true,
            limit: 100,
            remaining: 99,
            reset_at: 1_700_000_000_001,
        };
        let h = rate_headers(&d);
        assert_eq!(h[0].name, "x-ratelimit-limit");
        assert_eq!(h[2].value, "1700000001");
    }
}
