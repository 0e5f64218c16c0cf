//! The out-of-tree example plugin (examples/hello-dialect) builds against the packaged
//! SDK (`cargo package -p wagate-plugin-sdk`, as a registry would serve it) and serves
//! through a running gateway (the real binary, real HTTP). Also: the SDK's vendored
//! copy of the contract is the contract the host binds.

use crate::common;
use crate::common::receiver;

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

/// `cargo` with the outer build's flags removed (they are for the host target).
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `cargo package` the SDK (into `dir`, so it never waits on this build's target-dir
/// lock) and unpack the `.crate`: exactly the files a registry would serve. Returns the
/// unpacked crate's directory.
fn package_sdk(dir: &Path) -> PathBuf {
    let mut cmd = cargo();
    cmd.current_dir(root())
        .args(["package", "-p", "wagate-plugin-sdk", "--allow-dirty"])
        // The example build below compiles the packaged crate; verifying here would
        // compile it a second time, for the host target.
        .arg("--no-verify")
        .arg("--target-dir")
        .arg(dir);
    run(cmd, "cargo package -p wagate-plugin-sdk");
    let krate = std::fs::read_dir(dir.join("package"))
        .expect("cargo package wrote target/package")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "crate"))
        .expect("a .crate file");
    let unpacked = dir.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let mut tar = Command::new("tar");
    tar.arg("xzf").arg(&krate).arg("-C").arg(&unpacked);
    run(tar, "unpacking the .crate");
    let stem = krate.file_stem().unwrap().to_owned();
    unpacked.join(stem)
}

/// Build the example as its README says, but with the SDK replaced by the packaged
/// one at `sdk`; returns the component's path.
fn build_example(sdk: &Path) -> PathBuf {
    let dir = root().join("examples/hello-dialect");
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--target", "wasm32-wasip2"])
        .arg("--config")
        .arg(format!(
            "patch.crates-io.wagate-plugin-sdk.path={:?}",
            sdk.display().to_string()
        ))
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"));
    run(cmd, "building the example against the packaged SDK");
    let wasm = dir.join("target/wasm32-wasip2/release/hello_dialect.wasm");
    assert!(wasm.is_file(), "{} missing", wasm.display());
    wasm
}

/// The `*.wit` files of `dir`, by name.
fn wit_files(dir: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "wit"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

/// The SDK binds its own copy of the contract (so it can be packaged); that copy must
/// be the contract the host binds, file for file. After editing `wit/`, run
/// `cp wit/*.wit plugins/sdk/wit/`.
#[test]
fn sdk_vendors_the_contract_the_host_binds() {
    let host = wit_files(&root().join("wit"));
    let sdk = wit_files(&root().join("plugins/sdk/wit"));
    assert!(!host.is_empty());
    assert_eq!(
        host.keys().collect::<Vec<_>>(),
        sdk.keys().collect::<Vec<_>>(),
        "plugins/sdk/wit must hold the same files as wit/ (cp wit/*.wit plugins/sdk/wit/)"
    );
    for (name, text) in &host {
        assert!(
            sdk[name] == *text,
            "plugins/sdk/wit/{name} differs from wit/{name}: cp wit/*.wit plugins/sdk/wit/"
        );
    }
    let version = format!(
        "package wagate:plugin@{};",
        wagate::plugin::registry::CONTRACT_VERSION
    );
    assert!(
        host.values().all(|t| t.contains(&version)),
        "every file of wit/ declares {version}"
    );
}

fn get(gw: &Gateway, path: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let resp = wagate::client::request(&gw.base, "GET", path, &headers, None).expect("request");
    (resp.status, resp.json())
}

#[test]
fn example_plugin_builds_against_the_packaged_sdk_and_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let sdk = package_sdk(&tmp.path().join("sdk"));
    assert!(
        sdk.join("wit/types.wit").is_file(),
        "the package carries the contract"
    );
    let wasm = build_example(&sdk);
    let manifest = root().join("examples/hello-dialect/plugin.toml");
    let report =
        wagate::plugin::check_component_with(&wasm, Some(&manifest)).expect("plugin check");
    assert!(report.contains("worlds:  dialect"), "{report}");
    assert!(
        report.contains("manifest") && report.contains(": ok"),
        "the manifest fits: {report}"
    );

    let config = tmp.path().join("wagate.toml");
    let write_config = |greeting: &str| {
        std::fs::write(
            &config,
            format!(
                "[plugins]\n[[plugins.file]]\nmanifest = {:?}\n[plugins.settings.hello]\nconfig = {{ greeting = {greeting:?} }}\n",
                manifest.display().to_string()
            ),
        )
        .unwrap();
    };
    write_config("hi from the test");
    let data = tmp.path().join("data");
    let gw = Gateway::start_on(&data, &["--config", config.to_str().unwrap()]);

    // No mount table: the example mounts itself where its manifest says, and its own
    // credential kind is minted with its prefix.
    gw.org_with_key("acme", None);
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(serde_json::json!({"org": "acme", "kind": "hello-key"})),
    );
    assert_eq!(s, 201, "{v}");
    let key = v["token"].as_str().unwrap().to_string();
    assert!(key.starts_with("hello_"), "{key}");
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

    // The example sets its webhook through core; deliveries carry its rendering.
    let receiver = receiver::Receiver::start();
    let auth = format!("Bearer {key}");
    let put = |body: &str| {
        let r = gw.raw(
            "PUT",
            "/hello/shop/webhook",
            &[("Authorization", auth.as_str())],
            body.as_bytes(),
        );
        (r.status, r.json())
    };
    let (s, v) = put(&format!(
        r#"{{"url": {:?}, "events": ["message_upsert"]}}"#,
        receiver.url("hello-hook")
    ));
    assert_eq!(s, 200, "{v}");
    assert!(v[0]["id"].as_str().unwrap().starts_with("wh_"), "{v}");
    assert_eq!(get(&gw, "/hello/shop/webhook", Some(&key)).1, v);
    // Bad bodies answer in the dialect's shape (its router's body-error mapper).
    let (s, v) = put("{\"nope\": 1}");
    assert_eq!(s, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("url"), "{v}");
    let (s, v) = put(r#"{"url": "ftp://x"}"#);
    assert_eq!(
        (s, v["error"].as_str().unwrap()),
        (400, "url must be an http:// or https:// URL")
    );
    gw.inbound("shop", "5511999999999", "hi hello", false);
    let got = receiver.wait_until("the example's message event", |r| {
        r.body["hello"] == "message"
    });
    let msg = got.iter().find(|r| r.body["hello"] == "message").unwrap();
    assert_eq!(msg.path, "/hello-hook");
    assert_eq!(msg.body["instance"], "shop");
    assert_eq!(msg.body["text"], "hi hello");
    assert!(
        msg.body["at"].as_str().unwrap().ends_with('Z'),
        "ISO-8601 from the SDK: {}",
        msg.body
    );

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

/// A dialect built against the frozen contract 0.1.0 (`plugins/testing/fixture-v0-1`,
/// bound to `wit/0.1.0` without the SDK) keeps loading and serving on a host that
/// speaks 0.2.0: its core calls, its caller, its errors (0.1's `not-found` is a bare
/// message) and the webhook bodies its `render-event` writes all go through the 0.1
/// compatibility bindings.
#[test]
fn a_plugin_built_against_contract_0_1_still_serves() {
    let wasm = Path::new(wagate::plugin::bundled::FIXTURES_DIR).join("fixture_v0_1.wasm");
    let source_manifest = root().join("plugins/testing/fixture-v0-1/plugin.toml");
    let report = wagate::plugin::check_component_with(&wasm, Some(&source_manifest))
        .expect("plugin check accepts a 0.1 component");
    assert!(report.contains("worlds:  dialect"), "{report}");
    assert!(report.contains("contract: wagate:plugin@0.1.0"), "{report}");
    assert!(report.contains("wagate:plugin/core@0.1.0"), "{report}");

    let tmp = tempfile::tempdir().unwrap();
    let manifest = tmp.path().join("plugin.toml");
    // The fixture's own manifest, pointed at the built component.
    let text = std::fs::read_to_string(&source_manifest).unwrap().replacen(
        "[grants]",
        &format!("wasm = {:?}\n\n[grants]", wasm.display().to_string()),
        1,
    );
    std::fs::write(&manifest, text).unwrap();
    let config = tmp.path().join("wagate.toml");
    std::fs::write(
        &config,
        format!(
            "[plugins]\n[[plugins.file]]\nmanifest = {:?}\n[[plugins.mount]]\nprefix = \"/old\"\ndialect = \"fixture-v0-1\"\nauth = [\"bearer\"]\n",
            manifest.display().to_string()
        ),
    )
    .unwrap();
    let gw = Gateway::start_on(
        &tmp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let key = gw.org_with_key("acme", None);
    let (shop, _) = gw.instance(&key, "shop");

    let (s, v) = get(&gw, "/old/instances/shop", Some(&key));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "shop");
    assert_eq!(v["state"], "disconnected");

    // 0.2's `not-found` names a resource kind; a 0.1 plugin gets the message alone.
    let (s, v) = get(&gw, "/old/instances/nope", Some(&key));
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["error"], "not-found");
    assert_eq!(v["message"], "instance `nope` not found");
    let (s, v) = get(&gw, "/old/instances/shop", None);
    assert_eq!((s, &v["error"]), (403, &Value::from("forbidden")), "{v}");

    // The caller reaches the 0.1 export with its capabilities.
    let (s, v) = get(&gw, "/old/whoami", Some(&key));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["org"], shop["org"]);
    assert_eq!(v["manage"], true);

    // Webhooks set through the 0.1 core carry bodies rendered by the 0.1 export.
    let receiver = receiver::Receiver::start();
    let auth = format!("Bearer {key}");
    let resp = gw.raw(
        "PUT",
        "/old/instances/shop/webhook",
        &[("Authorization", auth.as_str())],
        receiver.url("hook").as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert!(resp.json()[0].as_str().unwrap().starts_with("wh_"));
    let (s, _) = gw.call("POST", "/core/instances/shop/connect", Some(&key), None);
    assert_eq!(s, 200);
    let got = receiver.wait_until("the 0.1 dialect's connection event", |r| {
        r.body["event"] == "connection:open"
    });
    let open = got
        .iter()
        .find(|r| r.body["event"] == "connection:open")
        .unwrap();
    assert_eq!(open.body["contract"], "0.1.0");
    assert_eq!(open.body["instance"], "shop");
    gw.stop();
}
