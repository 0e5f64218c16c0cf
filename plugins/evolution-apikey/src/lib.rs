//! `evolution-apikey`: Evolution API's `apikey` header, resolved through `identity`.
//! See plugin.toml for the outcomes.

use wagate_plugin_sdk::auth::{AuthOutcome, Guest};
use wagate_plugin_sdk::identity;
use wagate_plugin_sdk::prelude::*;

#[path = "../../evolution/src/shape.rs"]
#[allow(dead_code)]
mod shape;

struct ApiKey;

impl Guest for ApiKey {
    fn authenticate(req: HttpRequest) -> AuthOutcome {
        let req = Request::new(req, None);
        let Some(key) = req.header("apikey").map(str::trim) else {
            return AuthOutcome::Skip;
        };
        let found = if key.is_empty() {
            None
        } else {
            identity::resolve(key)
        };
        match found {
            Some(p) => AuthOutcome::Allow(p),
            None => AuthOutcome::Deny(shape::unauthorized(shape::Style::of(
                req.method(),
                &req.rel_path,
            ))),
        }
    }
}

wagate_plugin_sdk::export_auth!(ApiKey);
