//! Test fixture auth scheme: `x-test-token: <secret>` resolves through `identity`
//! (unknown secret: 401); without the header it skips. `x-test-token: loop` loops
//! forever (the deadline must stop it).

use wagate_plugin_sdk::auth::{AuthOutcome, Guest};
use wagate_plugin_sdk::identity;
use wagate_plugin_sdk::prelude::*;

struct FixtureAuth;

impl Guest for FixtureAuth {
    fn authenticate(req: HttpRequest) -> AuthOutcome {
        let req = Request::new(req, None);
        let Some(token) = req.header("x-test-token") else {
            return AuthOutcome::Skip;
        };
        if token == "loop" {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        match identity::resolve(token) {
            Some(p) => AuthOutcome::Allow(p),
            None => AuthOutcome::Deny(json_error(401, "unauthorized", "unknown token")),
        }
    }
}

wagate_plugin_sdk::export_auth!(FixtureAuth);
