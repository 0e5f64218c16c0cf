//! `ryze-token`: RyzeAPI's `token` header, resolved through `identity`.
//!
//! - `token: <secret>` (or, for tools that only speak Bearer, `Authorization: Bearer
//!   <secret>`) matching a stored credential: allow, as that credential. A
//!   TokenAccount resolves to an org-wide principal, a TokenInstance to one bound to
//!   its instance (the host enforces the binding on every core call).
//! - a token that matches nothing (or an empty one): deny with RyzeAPI's
//!   `401 {"success":false,"error":{"message":"Invalid token"}}`.
//! - no token at all: skip, so another scheme of the mount may decide; the `ryze`
//!   dialect answers the very same 401 to a request nobody authenticated (except for
//!   its public `GET /openapi.json`).

use wagate_plugin_sdk::auth::{AuthOutcome, Guest};
use wagate_plugin_sdk::identity;
use wagate_plugin_sdk::prelude::*;

/// The message RyzeAPI answers to a missing, unknown or unacceptable token.
pub const INVALID_TOKEN: &str = "Invalid token";

/// RyzeAPI's 401: `{"success":false,"error":{"message":"Invalid token"}}`.
pub fn invalid_token() -> HttpResponse {
    json(
        401,
        &serde_json::json!({ "success": false, "error": { "message": INVALID_TOKEN } }),
    )
}

/// Where the caller put its token: the `token` header, else a Bearer `Authorization`.
/// `None` when neither is there (the scheme does not apply).
pub fn presented_token(req: &Request) -> Option<String> {
    if let Some(t) = req.header("token") {
        return Some(t.trim().to_string());
    }
    let value = req.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

struct RyzeToken;

impl Guest for RyzeToken {
    fn authenticate(req: HttpRequest) -> AuthOutcome {
        let req = Request::new(req, None);
        let Some(token) = presented_token(&req) else {
            return AuthOutcome::Skip;
        };
        if token.is_empty() {
            return AuthOutcome::Deny(invalid_token());
        }
        match identity::resolve(&token) {
            Some(p) => AuthOutcome::Allow(p),
            None => AuthOutcome::Deny(invalid_token()),
        }
    }
}

wagate_plugin_sdk::export_auth!(RyzeToken);

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> Request {
        Request::new(
            HttpRequest {
                method: "GET".into(),
                path: "/api/instance/list".into(),
                mount: "/api".into(),
                query: None,
                headers: headers.iter().map(|(n, v)| header(n, v)).collect(),
                body: Vec::new(),
            },
            None,
        )
    }

    #[test]
    fn finds_the_token() {
        assert_eq!(
            presented_token(&req(&[("token", " abc ")])).as_deref(),
            Some("abc")
        );
        assert_eq!(
            presented_token(&req(&[("Authorization", "Bearer xyz")])).as_deref(),
            Some("xyz")
        );
        assert_eq!(
            presented_token(&req(&[("Authorization", "Basic xyz")])),
            None
        );
        assert_eq!(presented_token(&req(&[])), None);
        // `token` wins over Authorization.
        assert_eq!(
            presented_token(&req(&[("token", "a"), ("authorization", "Bearer b")])).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn invalid_token_shape() {
        let r = invalid_token();
        assert_eq!(r.status, 401);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"success": false, "error": {"message": "Invalid token"}})
        );
    }
}
