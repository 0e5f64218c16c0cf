//! `sessions-v1`: the sessions/v1 REST dialect (the API of quick-whatsapp-gateway),
//! mounted by default at `/api/v1` behind the `bearer` auth plugin.
//!
//! A *session* is one attached WhatsApp number (a wagate instance); its id `sid` is the
//! instance id (a ULID). Chats are named by their JID (`cid`). Every error is
//! `{"error":{"code","message","details"}}`; a session of another organisation is
//! `not_found`, never `forbidden` (the host enforces this; the dialect only words it).
//!
//! | method | path | needs |
//! |---|---|---|
//! | GET | /openapi.json | nothing |
//! | GET, POST | /sessions | read, manage |
//! | GET, DELETE | /sessions/{sid} | read, manage |
//! | POST | /sessions/{sid}/connect, /sessions/{sid}/logout | manage |
//! | GET | /sessions/{sid}/chats | read |
//! | GET | /sessions/{sid}/chats/{cid} | read |
//! | PATCH, DELETE | /sessions/{sid}/chats/{cid} | send |
//! | GET | /sessions/{sid}/chats/{cid}/messages?limit&cursor | read |
//! | POST | /sessions/{sid}/messages | send (text, or media by `type`: see media.rs) |
//! | GET | /sessions/{sid}/messages/{mid}/media | read |
//! | DELETE | /sessions/{sid}/messages/{mid} | send |
//! | POST | /sessions/{sid}/messages/{mid}/revoke | send |
//! | POST | /sessions/{sid}/chats/{cid}/read, /unread, /presence; PUT /sessions/{sid}/presence | send (see presence.rs) |
//! | POST | /sessions/{sid}/messages/{mid}/reaction | send (`{emoji}`, `""` removes; see reactions.rs) |
//! | GET, PUT | /sessions/{sid}/webhooks | manage |
//! | GET, PUT, DELETE | /sessions/{sid}/integrations/chatwoot | manage |
//! | GET, POST | /sessions/{sid}/groups | read, send (see groups.rs) |
//! | GET, PATCH, DELETE | /sessions/{sid}/groups/{gid} | read, send, send (DELETE leaves) |
//! | POST | /sessions/{sid}/groups/{gid}/participants, .../invite/revoke | send |
//! | GET | /sessions/{sid}/groups/{gid}/invite | send |
//! | GET, POST | /sessions/{sid}/group-invites/{code}[/join] | read, send |
//! | GET | /sessions/{sid}/labels, /sessions/{sid}/chats/{cid}/labels | read (see labels.rs) |
//! | PUT, DELETE | /sessions/{sid}/chats/{cid}/labels/{labelId} | send |
// The OpenAPI document is one large `json!` literal (openapi.rs).
#![recursion_limit = "256"]

mod account;
mod api;
mod contacts;
mod content;
mod events;
mod groups;
mod integrations;
mod labels;
mod media;
mod openapi;
mod presence;
mod proxy;
mod reactions;
mod render;
mod settings;
mod webhooks;

use wagate_plugin_sdk::dialect::Guest;
use wagate_plugin_sdk::prelude::*;

struct SessionsV1;

impl Guest for SessionsV1 {
    fn handle(req: HttpRequest, caller: Option<Principal>) -> HttpResponse {
        let req = Request::new(req, caller);
        api::router().handle(&req)
    }

    fn render_event(ev: Event, _target: RenderTarget, _hook: Option<Webhook>) -> Option<Vec<u8>> {
        events::render(&ev).map(|v| v.to_string().into_bytes())
    }

    fn openapi() -> String {
        openapi::document().to_string()
    }
}

wagate_plugin_sdk::export_dialect!(SessionsV1);
