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
//! **JWKS caching.** The host runs every auth call in a fresh store, so the JWKS is kept
//! in the host's per-plugin `cache` (granted as `cache`; see `jwks.rs`), never fetched
//! for api keys:
//!
//! - a fetched set is served from the cache for `jwks_cache_seconds` (default 600),
//!   then fetched again on the next JWT request;
//! - a token whose `kid` (or, without a `kid`, whose algorithm) matches no cached key
//!   makes one refetch, at most once per `jwks_refetch_seconds` (default 60; the time
//!   of the last refetch is kept in the cache too): a newly published key is accepted
//!   at the latest on the first request after that interval, and a stream of tokens
//!   with made-up `kid`s costs one round trip per interval; within the interval such
//!   tokens are refused as `unknown_key`;
//! - when fetching fails but a set was fetched less than `jwks_cache_seconds` +
//!   `jwks_stale_seconds` (default 3600) ago, that set keeps being used (and the fetch is
//!   retried at most once per `jwks_refetch_seconds`); with no usable set the token is
//!   refused as `jwks_unavailable`.
//!
//! The cache survives plugin reloads but not a restart; it is keyed by `jwks_url`.

mod jwks;
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
    match jwt::verify(token, &settings, wagate_plugin_sdk::time::now_secs()) {
        Ok(p) => AuthOutcome::Allow(p),
        Err(r) => {
            log::debug(&format!("bearer: JWT refused: {}", r.reason));
            deny(&r.message, r.reason)
        }
    }
}

wagate_plugin_sdk::export_auth!(Bearer);
