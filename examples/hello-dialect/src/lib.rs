//! `hello`: a tiny custom dialect for wagate.
//!
//! `GET /{instance}` under its mount (so `GET /hello/{instance}` when mounted at
//! `/hello`, as `wagate.toml` does) answers the instance's connection state, read
//! through the gateway's `core` interface as the caller the mount's auth plugins
//! resolved:
//!
//! ```json
//! {"instance": "shop", "state": "open", "greeting": "hello"}
//! ```
//!
//! Core errors keep their meaning: an unknown (or another organisation's) instance is
//! 404, a request without credentials 403.

use wagate_plugin_sdk::dialect::Guest;
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::{config, log};

struct Hello;

fn router() -> Router {
    Router::new().get("/{instance}", |_req, params| {
        let name = params.get("instance").unwrap_or_default().to_string();
        let greeting = config::get("greeting").unwrap_or_else(|| "hello".into());
        match core::connection_state(&InstanceRef::Name(name.clone())) {
            Ok(state) => json(
                200,
                &serde_json::json!({ "instance": name, "state": state_name(state), "greeting": greeting }),
            ),
            Err(e) => {
                log::debug(&format!("hello: {name}: {e:?}"));
                core_error(&e)
            }
        }
    })
}

impl Guest for Hello {
    fn handle(req: HttpRequest, caller: Option<Principal>) -> HttpResponse {
        router().handle(&Request::new(req, caller))
    }

    fn render_event(_ev: Event) -> Option<Vec<u8>> {
        None
    }

    fn openapi() -> String {
        serde_json::json!({
            "openapi": "3.1.0",
            "info": { "title": "hello", "version": "0.1.0" },
            "paths": { "/{instance}": { "get": { "summary": "The instance's connection state" } } }
        })
        .to_string()
    }
}

wagate_plugin_sdk::export_dialect!(Hello);
