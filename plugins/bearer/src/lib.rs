//! `bearer`: `Authorization: Bearer <token>`, tried in turn as
//!
//! 1. a login JWT (three dot-separated parts): RS256 or ES256, verified against the
//!    JWKS at `jwks_url` (fetched through `http-out`, so only from a host the operator
//!    listed), with `exp`/`nbf` (small leeway), `iss` and `aud` checked; the principal
//!    is built from the claims: organisation from `org_claim`, capabilities from the
//!    role in `role_claim` through the `roles` mapping;
//! 2. an api key (`wa_...`) resolved through `identity`, with the fixed capability set
//!    read + send + manage (never more than the key was minted with).
//!
//! No `Authorization` header, or another scheme: skip (the next auth plugin, or the
//! dialect, decides). Any other bearer token: 401
//! `{"error":{"code":"unauthorized","message",details:{"reason"}}}`.
//!
//! **JWKS caching.** The host runs every auth call in a fresh store, so guest memory
//! does not survive between requests and the auth world has no host-kept cache: the
//! JWKS is fetched once per JWT-authenticated request (never for api keys). A rotated
//! key is therefore picked up on the next request, but every JWT request costs one
//! round trip to the JWKS host, and "refetch on an unknown kid at most once a minute"
//! cannot be honoured (there is nothing to remember the last fetch in). A host-kept,
//! per-plugin cache import in the auth world would fix both, e.g.
//!
//! ```wit
//! interface cache {
//!     /// The value stored under `key` by this plugin and when it was stored (epoch ms).
//!     get: func(key: string) -> option<tuple<list<u8>, u64>>;
//!     /// Store `value` under `key` for `ttl-ms`; the host caps size and entry count.
//!     set: func(key: string, value: list<u8>, ttl-ms: u64);
//! }
//! ```
//!
//! with which the JWKS would be kept for its max-age and refetched on an unknown `kid`
//! only when the stored copy is over a minute old.

mod jwt;
mod settings;

use serde_json::json;
use wagate_plugin_sdk::auth::{AuthOutcome, Guest};
use wagate_plugin_sdk::identity;
use wagate_plugin_sdk::log;
use wagate_plugin_sdk::prelude::*;

use settings::Settings;

/// The capabilities an api key may carry through this scheme.
const API_KEY_CAPS: Capabilities = Capabilities::READ
    .union(Capabilities::SEND)
    .union(Capabilities::MANAGE);

struct Bearer;

/// 401 in the `{"error":{"code","message","details"}}` envelope.
pub(crate) fn deny(message: &str, reason: &str) -> AuthOutcome {
    AuthOutcome::Deny(json(
        401,
        &json!({ "error": {
            "code": "unauthorized",
            "message": message,
            "details": { "reason": reason },
        } }),
    ))
}

impl Guest for Bearer {
    fn authenticate(req: HttpRequest) -> AuthOutcome {
        let req = Request::new(req, None);
        let Some(value) = req.header("authorization") else {
            return AuthOutcome::Skip;
        };
        let value = value.trim();
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return AuthOutcome::Skip;
        }
        let token = token.trim();
        if token.is_empty() {
            return deny("empty bearer token", "malformed");
        }
        if token.split('.').count() == 3 {
            return jwt_principal(token);
        }
        if token.starts_with("wa_") {
            return match identity::resolve(token) {
                Some(mut p) => {
                    p.capabilities &= API_KEY_CAPS;
                    AuthOutcome::Allow(p)
                }
                None => deny("unknown or revoked api key", "unknown_api_key"),
            };
        }
        deny(
            "expected a login JWT or an api key (wa_...)",
            "unrecognized_token",
        )
    }
}

fn jwt_principal(token: &str) -> AuthOutcome {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            log::error(&format!("bearer: bad configuration: {e}"));
            return deny("login tokens cannot be verified", "misconfigured");
        }
    };
    if settings.jwks_url.is_empty() {
        return deny("login tokens are not accepted here", "jwt_disabled");
    }
    match jwt::verify(token, &settings, jwt::now_seconds()) {
        Ok(p) => AuthOutcome::Allow(p),
        Err(r) => {
            log::debug(&format!("bearer: JWT refused: {}", r.reason));
            deny(&r.message, r.reason)
        }
    }
}

wagate_plugin_sdk::export_auth!(Bearer);
