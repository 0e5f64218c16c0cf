//! CORS through the real binary: the policy's sources (wagate.toml's `[cors]`,
//! Evolution's `CORS_*` variables declared by its plugin, `WAGATE_CORS_*`), preflights
//! answered before auth, the surfaces covered (dialect mounts, `/core`, stream tickets;
//! `/admin` only when configured) and the safe default of a fresh install.

use crate::common;

use common::Gateway;

const GLOBAL_KEY: &str = "evolution-global-key-for-cors";
const APP: &str = "http://app.example.test";
const OTHER: &str = "http://evil.example.test";

fn with_config(dir: &std::path::Path, toml: &str, envs: &[(&str, &str)]) -> Gateway {
    let cfg = dir.join("wagate.toml");
    std::fs::write(&cfg, toml).unwrap();
    let mut all = vec![("AUTHENTICATION_API_KEY", GLOBAL_KEY)];
    all.extend_from_slice(envs);
    Gateway::start_on_with_env(
        &dir.join("data"),
        &["--config", cfg.to_str().unwrap()],
        &all,
    )
}

/// A browser's preflight: no credentials, only what it is about to send.
fn preflight(gw: &Gateway, path: &str, origin: &str, method: &str) -> wagate::client::Response {
    gw.raw(
        "OPTIONS",
        path,
        &[
            ("origin", origin),
            ("access-control-request-method", method),
            ("access-control-request-headers", "apikey,content-type"),
        ],
        b"",
    )
}

fn cors_headers(resp: &wagate::client::Response) -> Vec<(String, String)> {
    resp.headers
        .iter()
        .filter(|(k, _)| k.starts_with("access-control-"))
        .cloned()
        .collect()
}

#[test]
fn a_fresh_install_allows_no_cross_origin_request() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let resp = preflight(&gw, "/instance/fetchInstances", APP, "GET");
    assert!(cors_headers(&resp).is_empty(), "{:?}", resp.headers);
    let resp = gw.raw(
        "GET",
        "/instance/fetchInstances",
        &[("origin", APP), ("apikey", GLOBAL_KEY)],
        b"",
    );
    assert_eq!(resp.status, 200);
    assert!(cors_headers(&resp).is_empty(), "{:?}", resp.headers);
}

#[test]
fn configured_origins_get_preflights_before_auth_on_every_surface_but_admin() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = with_config(
        tmp.path(),
        &format!(
            "[cors]\nallow_origins = [\"{APP}\"]\nallow_methods = [\"GET\", \"POST\", \"DELETE\"]\nmax_age_secs = 120\n"
        ),
        &[],
    );
    // Evolution's routes, the native API, a stream's ticket route: each answered by the
    // host (no apikey or bearer was sent, and no route of these serves OPTIONS).
    for path in [
        "/instance/fetchInstances",
        "/message/sendText/anyone",
        "/core/instances",
        "/evolution/ws/anyone/ticket",
        "/api/v1/sessions",
    ] {
        let resp = preflight(&gw, path, APP, "POST");
        assert_eq!(resp.status, 200, "{path}");
        assert_eq!(
            resp.header("access-control-allow-origin"),
            Some(APP),
            "{path}"
        );
        let methods = resp.header("access-control-allow-methods").unwrap();
        assert!(
            methods.contains("POST") && methods.contains("DELETE"),
            "{methods}"
        );
        assert!(
            !methods.contains("PUT"),
            "only the configured methods: {methods}"
        );
        let headers = resp.header("access-control-allow-headers").unwrap();
        assert!(headers.contains("apikey"), "{headers}");
        assert_eq!(resp.header("access-control-max-age"), Some("120"));
        assert_eq!(
            resp.header("access-control-allow-credentials"),
            None,
            "credentials are off by default"
        );
        assert!(resp.body.is_empty(), "a preflight has no body");
    }

    // Another origin: a bare answer with no CORS header at all; the browser blocks.
    let resp = preflight(&gw, "/instance/fetchInstances", OTHER, "GET");
    assert_eq!(resp.status, 204);
    assert!(cors_headers(&resp).is_empty(), "{:?}", resp.headers);

    // Real requests carry the origin, errors included (a browser app must be able to
    // read a 401); another origin's get none.
    let resp = gw.raw(
        "GET",
        "/instance/fetchInstances",
        &[("origin", APP), ("apikey", GLOBAL_KEY)],
        b"",
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("access-control-allow-origin"), Some(APP));
    assert!(
        resp.header("vary").unwrap_or_default().contains("origin"),
        "{:?}",
        resp.headers
    );
    let resp = gw.raw("GET", "/instance/fetchInstances", &[("origin", APP)], b"");
    assert_eq!(resp.status, 401);
    assert_eq!(resp.header("access-control-allow-origin"), Some(APP));
    let resp = gw.raw(
        "GET",
        "/instance/fetchInstances",
        &[("origin", OTHER), ("apikey", GLOBAL_KEY)],
        b"",
    );
    assert_eq!(resp.status, 200, "CORS is the browser's business: served");
    assert!(cors_headers(&resp).is_empty(), "{:?}", resp.headers);

    // The operator surfaces are not covered: the admin API answers the OPTIONS itself.
    let resp = preflight(&gw, "/admin/orgs", APP, "GET");
    assert!(cors_headers(&resp).is_empty(), "{:?}", resp.headers);
    let resp = gw.raw(
        "GET",
        "/admin/orgs",
        &[
            ("origin", APP),
            ("authorization", "Bearer test-admin-token"),
        ],
        b"",
    );
    assert_eq!(resp.status, 200);
    assert!(cors_headers(&resp).is_empty(), "{:?}", resp.headers);
}

#[test]
fn admin_is_covered_only_when_configured() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = with_config(
        tmp.path(),
        &format!("[cors]\nallow_origins = [\"{APP}\"]\nadmin = true\n"),
        &[],
    );
    let resp = preflight(&gw, "/admin/orgs", APP, "GET");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("access-control-allow-origin"), Some(APP));
}

#[test]
fn evolutions_variables_work_when_set_on_the_gateway() {
    // As an Evolution deployment sets them (its .env.example), with credentials: the
    // origin is echoed (never `*` with credentials), as Evolution's middleware does.
    let gw = Gateway::start_with_env(&[
        ("AUTHENTICATION_API_KEY", GLOBAL_KEY),
        ("CORS_ORIGIN", &format!("{APP},http://second.example.test")),
        ("CORS_METHODS", "GET,POST"),
        ("CORS_CREDENTIALS", "true"),
    ]);
    let resp = preflight(
        &gw,
        "/instance/create",
        "http://second.example.test",
        "POST",
    );
    assert_eq!(
        resp.header("access-control-allow-origin"),
        Some("http://second.example.test")
    );
    assert_eq!(
        resp.header("access-control-allow-credentials"),
        Some("true")
    );
    let methods = resp.header("access-control-allow-methods").unwrap();
    assert!(
        methods.contains("GET") && !methods.contains("DELETE"),
        "{methods}"
    );
    let resp = preflight(&gw, "/instance/create", OTHER, "POST");
    assert_eq!(resp.status, 204);
    assert!(cors_headers(&resp).is_empty(), "{:?}", resp.headers);

    // `*`: any origin, echoed.
    let gw = Gateway::start_with_env(&[
        ("AUTHENTICATION_API_KEY", GLOBAL_KEY),
        ("CORS_ORIGIN", "*"),
        ("CORS_CREDENTIALS", "true"),
    ]);
    let resp = preflight(&gw, "/instance/create", OTHER, "POST");
    assert_eq!(resp.header("access-control-allow-origin"), Some(OTHER));

    // WAGATE_CORS_ORIGINS wins over Evolution's.
    let gw = Gateway::start_with_env(&[
        ("AUTHENTICATION_API_KEY", GLOBAL_KEY),
        ("CORS_ORIGIN", OTHER),
        ("WAGATE_CORS_ORIGINS", APP),
    ]);
    let resp = preflight(&gw, "/instance/create", APP, "POST");
    assert_eq!(resp.header("access-control-allow-origin"), Some(APP));
    let resp = preflight(&gw, "/instance/create", OTHER, "POST");
    assert!(cors_headers(&resp).is_empty(), "{:?}", resp.headers);
}

#[test]
fn evolutions_variables_are_ignored_when_evolution_is_not_mounted() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = with_config(
        tmp.path(),
        "[plugins]\n[[plugins.mount]]\nprefix = \"/api\"\ndialect = \"ryze\"\nauth = [\"ryze-token\"]\n",
        &[("CORS_ORIGIN", APP)],
    );
    let resp = preflight(&gw, "/api/instances", APP, "GET");
    assert!(cors_headers(&resp).is_empty(), "{:?}", resp.headers);
}

#[test]
fn a_bad_cors_setting_stops_the_start_with_its_name() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(tempfile::tempdir().unwrap().path().join("d"))
        .env("WAGATE_LINK", "sim")
        .env("WAGATE_ADMIN_TOKEN", common::ADMIN)
        .env("CORS_ORIGIN", APP)
        .env("CORS_CREDENTIALS", "maybe")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CORS_CREDENTIALS"), "{err}");
}
