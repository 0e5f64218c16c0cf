//! Reused auth outcomes (`plugin::auth_cache`): the bundled auth plugins declare
//! `[auth_cache]`, so a credential seen once is not re-resolved on every request, but a
//! credential removed (here: an instance token, by deleting its instance) is refused on
//! the very next request, in every dialect. `/metrics` counts the reuse, so each test
//! shows the outcome really was reused before the removal.

use crate::common;

use common::Gateway;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "auth-reuse-global-key";

/// `wagate_auth_reused_total` now.
pub(crate) fn reused(gw: &Gateway) -> u64 {
    gw.metric("wagate_auth_reused_total")
        .expect("wagate_auth_reused_total in /metrics")
        .parse()
        .unwrap()
}

#[test]
fn ryze_instance_token_is_refused_right_after_its_instance_is_deleted() {
    let gw = Gateway::start();
    let account = common::ryze::account(&gw, "acme");
    let token = common::ryze::create(&gw, &account, "shop");
    let status = || {
        common::ryze::ryze_json(
            &gw,
            "GET",
            "/api/instance/status/shop",
            Some(&token),
            Value::Null,
        )
    };
    let before = reused(&gw);
    for _ in 0..3 {
        let (s, v) = status();
        assert_eq!(s, 200, "{v}");
    }
    assert!(
        reused(&gw) >= before + 2,
        "the second and third requests reuse the first's outcome"
    );

    let (s, v) = common::ryze::ryze_json(
        &gw,
        "DELETE",
        "/api/instance/delete/shop",
        Some(&account),
        Value::Null,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(status(), (401, common::ryze::error("Invalid token")));
    // The account token still works, and is reused again after the change.
    let list = || {
        common::ryze::ryze_json(
            &gw,
            "GET",
            "/api/instance/list",
            Some(&account),
            Value::Null,
        )
        .0
    };
    assert_eq!((list(), list()), (200, 200));
}

#[test]
fn evolution_instance_hash_is_refused_right_after_its_instance_is_deleted() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let hash = common::evolution::create(&gw, GLOBAL_KEY, "shop");
    let before = reused(&gw);
    for _ in 0..3 {
        assert_eq!(
            common::evolution::state(&gw, &hash, "shop"),
            "close",
            "a fresh instance"
        );
    }
    assert!(reused(&gw) >= before + 2);

    let (s, v) = common::evolution::evo_json(
        &gw,
        "DELETE",
        "/instance/delete/shop",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = common::evolution::evo_json(
        &gw,
        "GET",
        "/instance/connectionState/shop",
        Some(&hash),
        None,
    );
    assert_eq!(s, 401, "{v}");
}

#[test]
fn sessions_v1_instance_key_is_refused_right_after_its_session_is_deleted() {
    let gw = Gateway::start();
    let org_key = gw.org_with_key("acme", None);
    let (instance, _) = gw.instance(&org_key, "shop");
    let sid = instance["id"].as_str().unwrap().to_string();
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "acme", "kind": "api-key", "instance": sid})),
    );
    assert_eq!(s, 201, "{v}");
    let bound = v["token"].as_str().unwrap().to_string();
    let path = format!("/api/v1/sessions/{sid}");
    let before = reused(&gw);
    for _ in 0..3 {
        let (s, v) = gw.call("GET", &path, Some(&bound), None);
        assert_eq!(s, 200, "{v}");
    }
    assert!(reused(&gw) >= before + 2);

    let (s, v) = gw.call("DELETE", &path, Some(&org_key), None);
    assert!(s == 200 || s == 204, "{s} {v}");
    let (s, v) = gw.call("GET", &path, Some(&bound), None);
    assert_eq!(s, 401, "{v}");
}

#[test]
fn an_unknown_token_is_refused_every_time_and_never_reused() {
    let gw = Gateway::start();
    let before = reused(&gw);
    for _ in 0..3 {
        let (s, v) = common::ryze::ryze_json(
            &gw,
            "GET",
            "/api/instance/list",
            Some("ryze_not-a-token"),
            Value::Null,
        );
        assert_eq!((s, v), (401, common::ryze::error("Invalid token")));
    }
    assert_eq!(reused(&gw), before, "a deny is never reused");
}
