//! `url-token`: a secret in the request URL (`?token=`) or the `x-wagate-token` header,
//! resolved through `identity`. See plugin.toml for the outcomes.

use wagate_plugin_sdk::auth::{AuthOutcome, Guest};
use wagate_plugin_sdk::identity;
use wagate_plugin_sdk::prelude::*;

struct UrlToken;

/// The header clients that can send headers may use instead of the query parameter.
const HEADER: &str = "x-wagate-token";

impl Guest for UrlToken {
    fn authenticate(req: HttpRequest) -> AuthOutcome {
        let req = Request::new(req, None);
        let token = req
            .query("token")
            .or_else(|| req.header(HEADER).map(str::to_string));
        let Some(token) = token.map(|t| t.trim().to_string()) else {
            return AuthOutcome::Skip;
        };
        match (!token.is_empty())
            .then(|| identity::resolve(&token))
            .flatten()
        {
            Some(p) if p.instance.is_some() => AuthOutcome::Allow(p),
            _ => AuthOutcome::Deny(json(401, &serde_json::json!({"error": "Unauthorized"}))),
        }
    }
}

wagate_plugin_sdk::export_auth!(UrlToken);
