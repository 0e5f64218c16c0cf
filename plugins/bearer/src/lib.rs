//! `bearer`: `Authorization: Bearer <token>` resolved through `identity`.
//!
//! - no `Authorization` header, or another scheme: skip (the next auth plugin decides);
//! - a bearer token that matches a stored credential: allow, as that credential;
//! - an unknown bearer token: deny with 401 `{"error":{"code":"unauthorized",...}}`.

use wagate_plugin_sdk::auth::{AuthOutcome, Guest};
use wagate_plugin_sdk::identity;
use wagate_plugin_sdk::prelude::*;

struct Bearer;

impl Guest for Bearer {
    fn authenticate(req: HttpRequest) -> AuthOutcome {
        let req = Request::new(req, None);
        let Some(value) = req.header("authorization") else {
            return AuthOutcome::Skip;
        };
        let Some((scheme, token)) = value.trim().split_once(' ') else {
            return AuthOutcome::Skip;
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return AuthOutcome::Skip;
        }
        match identity::resolve(token.trim()) {
            Some(p) => AuthOutcome::Allow(p),
            None => AuthOutcome::Deny(json_error(401, "unauthorized", "unknown or revoked token")),
        }
    }
}

wagate_plugin_sdk::export_auth!(Bearer);
