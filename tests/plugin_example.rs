//! The out-of-tree example plugin (examples/hello-dialect) builds against plugins/sdk
//! and wit/, and serves through a running gateway (the real binary, real HTTP).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Gateway;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Build the example exactly as its README says; returns the component's path.
fn build_example() -> PathBuf {
    let dir = root().join("examples/hello-dialect");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .output()
        .expect("running cargo");
    assert!(
        out.status.success(),
        "building the example failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wasm = dir.join("target/wasm32-wasip2/release/hello_dialect.wasm");
    assert!(wasm.is_file(), "{} missing", wasm.display());
    wasm
}

fn get(gw: &Gateway, path: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let resp = wagate::client::request(&gw.base, "GET", path, &headers, None).expect("request");
    (resp.status, resp.json())
}

#[test]
fn example_plugin_builds_and_serves_through_the_gateway() {
    let wasm = build_example();
    let manifest = root().join("examples/hello-dialect/plugin.toml");
    let report =
        wagate::plugin::check_component_with(&wasm, Some(&manifest)).expect("plugin check");
    assert!(report.contains("worlds:  dialect"), "{report}");
    assert!(
        report.contains("manifest") && report.contains(": ok"),
        "the manifest fits: {report}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("wagate.toml");
    let write_config = |greeting: &str| {
        std::fs::write(
            &config,
            format!(
                "[plugins]\n[[plugins.file]]\nmanifest = {:?}\n[plugins.settings.hello]\nconfig = {{ greeting = {greeting:?} }}\n[[plugins.mount]]\nprefix = \"/hello\"\ndialect = \"hello\"\nauth = [\"bearer\"]\n",
                manifest.display().to_string()
            ),
        )
        .unwrap();
    };
    write_config("hi from the test");
    let data = tmp.path().join("data");
    let gw = Gateway::start_on(&data, &["--config", config.to_str().unwrap()]);

    let key = gw.org_with_key("acme", None);
    gw.instance(&key, "shop");
    let (s, v) = get(&gw, "/hello/shop", Some(&key));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "disconnected");
    assert_eq!(v["greeting"], "hi from the test");

    // Pair through the native API; the dialect sees the new state.
    let (s, _) = gw.call("POST", "/core/instances/shop/connect", Some(&key), None);
    assert_eq!(s, 200);
    gw.wait_state(&key, "shop", "open");
    assert_eq!(get(&gw, "/hello/shop", Some(&key)).1["state"], "open");

    // Core's answers keep their meaning through the dialect.
    assert_eq!(get(&gw, "/hello/nope", Some(&key)).0, 404);
    assert_eq!(
        get(&gw, "/hello/shop", None).0,
        403,
        "no credential: core refuses"
    );
    assert_eq!(
        get(&gw, "/hello/shop", Some("wrong")).0,
        401,
        "bearer denies unknown tokens"
    );
    let other = gw.org_with_key("other", None);
    assert_eq!(
        get(&gw, "/hello/shop", Some(&other)).0,
        404,
        "another org's instance is invisible"
    );

    // Hot reload through the admin API picks up the new config.
    write_config("reloaded");
    let (s, v) = gw.admin("POST", "/admin/plugins/reload", None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        get(&gw, "/hello/shop", Some(&key)).1["greeting"],
        "reloaded"
    );

    // The plugin counters are on /metrics.
    let m = wagate::client::request(&gw.base, "GET", "/metrics", &[], None).expect("metrics");
    let text = String::from_utf8_lossy(&m.body).to_string();
    assert!(
        text.contains("wagate_plugin_calls_total{plugin=\"hello\"}"),
        "{text}"
    );
    gw.stop();
}
