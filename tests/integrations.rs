//! The host side of integrations (issue 8, Chatwoot): the real binary, a real fixture
//! plugin (`plugins/testing/fixture-integration`, a dialect + sink in one component)
//! and local receivers on loopback. Covers plugin storage (scoping, durability,
//! deletion with the instance), secret header injection, `origin` on messages sent
//! through a dialect, integration CRUD authorization, and what instance deletion
//! removes (integration, storage, inbound credential).

use crate::common;
use crate::common::receiver;

use std::path::{Path, PathBuf};

use std::time::Duration;

use common::Gateway;
use receiver::{Received, Receiver};
use serde_json::{Value, json};

const PEER: &str = "5511999999999";

/// A `wagate.toml` loading the fixture (mounted at `/fx` behind `bearer`, i.e. `wa_`
/// api keys, and at `/fxin` behind `url-token`) with quick retries; `allow` is put on
/// the fixture's plain http-out allowlist.
fn config(dir: &Path, allow: &[String]) -> PathBuf {
    let wasm = Path::new(wagate::plugin::bundled::FIXTURES_DIR).join("fixture_integration.wasm");
    let manifest = dir.join("fixture-integration.toml");
    std::fs::write(
        &manifest,
        format!(
            "name = \"fixture-integration\"\nversion = \"1\"\nworlds = [\"dialect\", \"sink\"]\nwasm = {:?}\n\
             [grants]\nimports = [\"core\", \"storage\", \"http-out\", \"log\"]\ndeadline_ms = 1000\n",
            wasm.display().to_string()
        ),
    )
    .unwrap();
    let path = dir.join("wagate.toml");
    std::fs::write(
        &path,
        format!(
            r#"[events]
max_attempts = 5
base_backoff_ms = 20
max_backoff_ms = 200

[plugins]
bundled = ["bearer", "url-token", "webhook"]

[[plugins.file]]
manifest = {manifest:?}

[plugins.settings.fixture-integration]
http_out_hosts = {allow:?}

[[plugins.mount]]
prefix = "/fx"
dialect = "fixture-integration"
auth = ["bearer"]

[[plugins.mount]]
prefix = "/fxin"
dialect = "fixture-integration"
auth = ["url-token"]
"#,
            manifest = manifest.display().to_string(),
        ),
    )
    .unwrap();
    path
}

fn start(dir: &Path, allow: &[String]) -> Gateway {
    let cfg = config(dir, allow);
    Gateway::start_on(&dir.join("data"), &["--config", cfg.to_str().unwrap()])
}

/// `host:port` of a receiver (for the allowlist).
fn host_of(r: &Receiver) -> String {
    r.url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

fn fx(gw: &Gateway, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    gw.call(method, &format!("/fx{path}"), Some(key), body)
}

fn reports(r: &Receiver, what: &str, pred: impl Fn(&Received) -> bool) -> Vec<Received> {
    r.wait_until(what, |x| x.path.ends_with("/report") && pred(x))
}

#[test]
fn storage_is_scoped_to_reachable_instances_durable_and_deleted_with_the_instance() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path(), &[]);
    let key = gw.org_with_key("acme", None);
    let other_key = gw.org_with_key("globex", None);
    let (mine, _) = gw.instance(&key, "mine");
    let (theirs, _) = gw.instance(&other_key, "theirs");
    let mine_id = mine["id"].as_str().unwrap().to_string();
    let theirs_id = theirs["id"].as_str().unwrap().to_string();

    let (s, v) = gw
        .raw(
            "PUT",
            &format!("/fx/storage/{mine_id}/conv:1"),
            &[("Authorization", &format!("Bearer {key}"))],
            b"chatwoot-42",
        )
        .json_status();
    assert_eq!(s, 200, "{v}");
    let (s, v) = fx(
        &gw,
        "GET",
        &format!("/storage/{mine_id}/conv:1"),
        &key,
        None,
    );
    assert_eq!((s, v["value"].as_str()), (200, Some("chatwoot-42")));

    // Another org's instance, and an instance id that does not exist: refused.
    for id in [theirs_id.as_str(), "01ARZ3NDEKTSV4RRFFQ69G5FAV"] {
        let (s, v) = fx(
            &gw,
            "PUT",
            &format!("/storage/{id}/x"),
            &key,
            Some(json!(1)),
        );
        assert_eq!(s, 403, "{v}");
        assert!(v["error"].as_str().unwrap().contains("scope"), "{v}");
        let (s, _) = fx(&gw, "GET", &format!("/storage/{id}/x"), &key, None);
        assert_eq!(s, 403);
    }
    // The other org's own caller reaches its own instance only.
    let (s, _) = fx(
        &gw,
        "GET",
        &format!("/storage/{mine_id}/conv:1"),
        &other_key,
        None,
    );
    assert_eq!(s, 403);

    // Caps: 512-byte keys, 64 KiB values.
    let long_key = "k".repeat(513);
    let (s, v) = fx(
        &gw,
        "PUT",
        &format!("/storage/{mine_id}/{long_key}"),
        &key,
        None,
    );
    assert_eq!(s, 403, "{v}");
    let big = vec![b'v'; 64 * 1024 + 1];
    let resp = gw.raw(
        "PUT",
        &format!("/fx/storage/{mine_id}/big"),
        &[("Authorization", &format!("Bearer {key}"))],
        &big,
    );
    assert_eq!(resp.status, 403);

    // Survives a restart.
    let status = gw.stop();
    assert!(status.success());
    let gw = start(tmp.path(), &[]);
    let (s, v) = fx(
        &gw,
        "GET",
        &format!("/storage/{mine_id}/conv:1"),
        &key,
        None,
    );
    assert_eq!((s, v["value"].as_str()), (200, Some("chatwoot-42")));

    // Deleted with the instance: nothing of it is left in the database.
    let (s, _) = gw.call("DELETE", "/core/instances/mine", Some(&key), None);
    assert_eq!(s, 200);
    let (s, _) = fx(
        &gw,
        "GET",
        &format!("/storage/{mine_id}/conv:1"),
        &key,
        None,
    );
    assert_eq!(s, 403, "the instance is gone, so out of scope");
    let data = gw.data.clone();
    gw.stop();
    assert_eq!(storage_rows(&data, &mine_id), 0);
}

/// Rows of `plugin_storage` whose key starts with `instance_id` (in the redb file, or
/// the PostgreSQL database under `WAGATE_TEST_STORE=postgres`).
fn storage_rows(data: &Path, instance_id: &str) -> usize {
    use wagate::store::kv::ReadableTable as _;
    let store = crate::common::open_store(data);
    let rows = store
        .read(|tx| -> anyhow::Result<usize> {
            let t = tx.open_table(wagate::store::tables::PLUGIN_STORAGE)?;
            let mut n = 0;
            for row in t.iter()? {
                if row?.0.value().starts_with(instance_id.as_bytes()) {
                    n += 1;
                }
            }
            Ok(n)
        })
        .unwrap();
    drop(store);
    crate::common::wait_store_free(data);
    rows
}

#[test]
fn the_sink_gets_native_json_with_origin_and_the_secret_header_reaches_only_the_integration_host() {
    let tmp = tempfile::tempdir().unwrap();
    let service = Receiver::start();
    let elsewhere = Receiver::start();
    let gw = start(tmp.path(), &[host_of(&elsewhere)]);
    let key = gw.org_with_key("acme", None);
    let other_key = gw.org_with_key("globex", None);
    gw.connected_instance(&key, "shop");
    let (theirs, _) = gw.instance(&other_key, "theirs");

    let (s, v) = fx(
        &gw,
        "PUT",
        "/integration/shop",
        &key,
        Some(json!({
            "url": service.url(""),
            "settings": {"other": elsewhere.url("other"), "foreign": theirs["id"]},
            "token": "cw-secret-token",
        })),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["secretHeaderNames"], json!(["api_access_token"]));
    assert!(
        !v.to_string().contains("cw-secret-token"),
        "never shown back: {v}"
    );

    // A message sent through the dialect: stamped with the dialect's name.
    let (s, v) = fx(
        &gw,
        "POST",
        "/send/shop",
        &key,
        Some(json!({"to": PEER, "text": "hello from the fixture"})),
    );
    assert_eq!(s, 200, "{v}");
    let sent_id = v["id"].as_str().unwrap().to_string();
    // One through the native API, and one from a contact: no origin.
    let (s, _) = gw.call(
        "POST",
        "/core/instances/shop/messages",
        Some(&key),
        Some(json!({"to": PEER, "text": "native"})),
    );
    assert_eq!(s, 201);
    gw.inbound("shop", PEER, "from the contact", false);

    let got = service.wait_until_all("three message reports", |all| {
        all.iter()
            .filter(|r| r.body["event"]["payload"]["type"] == "message_upsert")
            .count()
            >= 3
    });
    let messages: Vec<&Received> = got
        .iter()
        .filter(|r| r.body["event"]["payload"]["type"] == "message_upsert")
        .collect();
    let fixture_sent = messages
        .iter()
        .find(|r| r.body["event"]["payload"]["data"]["id"] == sent_id.as_str())
        .expect("the fixture's message was delivered");
    assert_eq!(
        fixture_sent.body["event"]["payload"]["data"]["origin"],
        "fixture-integration"
    );
    for r in messages
        .iter()
        .filter(|r| r.body["event"]["payload"]["data"]["id"] != sent_id.as_str())
    {
        assert!(
            r.body["event"]["payload"]["data"].get("origin").is_none(),
            "no origin outside a dialect: {}",
            r.body
        );
    }
    // The native API shows the same on the stored messages.
    let (s, page) = gw.call(
        "GET",
        &format!("/core/instances/shop/chats/{PEER}/messages"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200, "{page}");
    let listed = page["messages"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "{page}");
    for m in listed {
        let want = (m["id"] == sent_id.as_str()).then_some("fixture-integration");
        assert_eq!(m["origin"].as_str(), want, "{m}");
    }

    for r in &got {
        // The host's secret replaced the guest's forged header.
        assert_eq!(r.header("api_access_token"), Some("cw-secret-token"));
        // The guest never saw it: its destination carries the URL and nothing secret.
        let dest = &r.body["destination"];
        assert_eq!(dest["url"], service.url("").as_str());
        assert_eq!(dest["secret"], "");
        assert_eq!(dest["headers"], json!([]));
        assert!(!r.body.to_string().contains("cw-secret-token"));
        // Storage during deliver: the destination's instance yes, another no.
        assert_eq!(r.body["stored"], Value::Null, "{}", r.body);
        assert!(
            r.body["foreign"].as_str().unwrap().contains("scope"),
            "{}",
            r.body
        );
        assert_eq!(r.body["integration"]["sink"], "fixture-integration");
    }
    // Deliveries are in order and counted in durable storage.
    let counts: Vec<u64> = got
        .iter()
        .map(|r| r.body["delivered"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, (1..=counts.len() as u64).collect::<Vec<_>>());

    // The plain-allowlisted host got the same reports, without the secret.
    let other = elsewhere.wait_until("a report elsewhere", |r| r.path == "/other");
    for r in &other {
        assert_eq!(r.header("api_access_token"), Some("forged-by-the-guest"));
    }
}

#[test]
fn integration_crud_is_authorized_and_validated() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path(), &[]);
    let key = gw.org_with_key("acme", None);
    let other_key = gw.org_with_key("globex", None);
    let reader = gw.key("acme", Some(&["read", "send"]));
    gw.instance(&key, "shop");
    let spec = json!({"url": "http://127.0.0.1:9/", "settings": {"a": 1}, "token": "t1"});

    // Another org's instance does not exist for the caller.
    let (s, v) = fx(
        &gw,
        "PUT",
        "/integration/shop",
        &other_key,
        Some(spec.clone()),
    );
    assert_eq!(s, 404, "{v}");
    let (s, _) = fx(&gw, "GET", "/integration/shop", &other_key, None);
    assert_eq!(s, 404);
    let (s, _) = fx(&gw, "DELETE", "/integration/shop", &other_key, None);
    assert_eq!(s, 404);
    // Without `manage`: forbidden.
    let (s, _) = fx(&gw, "PUT", "/integration/shop", &reader, Some(spec.clone()));
    assert_eq!(s, 403);

    // Validation.
    for bad in [
        json!({"url": "ftp://x", "settings": {}}),
        json!({"url": "http://127.0.0.1:9/", "settings": "[1,2]"}),
        json!({"url": "http://127.0.0.1:9/", "settings": "not json"}),
    ] {
        let (s, v) = fx(&gw, "PUT", "/integration/shop", &key, Some(bad.clone()));
        assert_eq!(s, 400, "{bad} -> {v}");
    }
    let (s, v) = fx(
        &gw,
        "PUT",
        "/integration/shop",
        &key,
        Some(json!({"sink": "no-such-sink", "url": "http://127.0.0.1:9/", "settings": {}})),
    );
    assert_eq!(s, 404, "unknown sink: {v}");

    // Create, then replace: one per (instance, sink), the inbound secret is stable and
    // the secret header is kept when the new spec leaves it out (same server).
    let (s, first) = fx(&gw, "PUT", "/integration/shop", &key, Some(spec));
    assert_eq!(s, 200, "{first}");
    let inbound = first["inboundSecret"].as_str().unwrap().to_string();
    let (s, second) = fx(
        &gw,
        "PUT",
        "/integration/shop",
        &key,
        Some(json!({"url": "http://127.0.0.1:9/v2/", "settings": {"a": 2}, "enabled": false})),
    );
    assert_eq!(s, 200, "{second}");
    // Moving to another server (scheme, host or port) without giving the token again is
    // refused: the held token would otherwise go to whoever runs the new URL.
    for moved in [
        "http://127.0.0.1:10/",
        "https://127.0.0.1:9/",
        "http://attacker.example:9/",
    ] {
        let (s, v) = fx(
            &gw,
            "PUT",
            "/integration/shop",
            &key,
            Some(json!({"url": moved, "settings": {"a": 3}})),
        );
        assert_eq!(s, 400, "{moved}: {v}");
    }
    let (s, got) = fx(&gw, "GET", "/integration/shop", &key, None);
    assert_eq!(s, 200);
    assert_eq!(
        got["url"], "http://127.0.0.1:9/v2/",
        "unchanged after the refusals"
    );
    assert_eq!(got["settings"], json!({"a": 2}));
    assert_eq!(second["inboundSecret"], inbound.as_str());
    assert_eq!(second["secretHeaderNames"], json!(["api_access_token"]));
    assert_eq!(second["settings"], json!({"a": 2}));
    assert_eq!(second["enabled"], false);
    let (s, got) = fx(&gw, "GET", "/integration/shop", &key, None);
    assert_eq!((s, &got), (200, &second));
    // With the token given again, the move is fine.
    let (s, v) = fx(
        &gw,
        "PUT",
        "/integration/shop",
        &key,
        Some(
            json!({"url": "http://127.0.0.1:10/", "settings": {"a": 2}, "token": "t2", "enabled": false}),
        ),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["url"], "http://127.0.0.1:10/");
    assert_eq!(v["inboundSecret"], inbound.as_str());
    // Integrations are not webhooks: the native webhook list does not show them.
    let (s, v) = gw.call("GET", "/core/instances/shop/webhooks", Some(&key), None);
    assert_eq!((s, v), (200, json!([])));

    // The inbound secret authenticates the url-token mount, for its instance only:
    // storage of another instance of the same org is out of its scope.
    let (shop2, _) = gw.instance(&key, "shop2");
    let shop_id = first_id(&gw, &key, "shop");
    let inbound_storage = |id: &str| {
        gw.raw(
            "PUT",
            &format!("/fxin/storage/{id}/k?token={inbound}"),
            &[],
            b"v",
        )
        .status
    };
    assert_eq!(inbound_storage(&shop_id), 200);
    assert_eq!(inbound_storage(shop2["id"].as_str().unwrap()), 403);
    let (s, v) = gw.call(
        "GET",
        &format!("/fxin/integration/shop?token={inbound}"),
        None,
        None,
    );
    assert_eq!(s, 403, "read+send, not manage: {v}");
    let (s, v) = gw.call("GET", "/fxin/integration/shop?token=wai_nope", None, None);
    assert_eq!((s, v), (401, json!({"error": "Unauthorized"})));
    let (s, _) = gw.call(
        "GET",
        &format!("/fxin/integration/shop?token={key}"),
        None,
        None,
    );
    assert_eq!(s, 401, "org-wide keys are refused in URLs");

    // Delete: gone, and the inbound secret stops working.
    let (s, v) = fx(&gw, "DELETE", "/integration/shop", &key, None);
    assert_eq!((s, v), (200, json!({"deleted": true})));
    let (s, v) = fx(&gw, "DELETE", "/integration/shop", &key, None);
    assert_eq!((s, v), (200, json!({"deleted": false})));
    let (s, _) = fx(&gw, "GET", "/integration/shop", &key, None);
    assert_eq!(s, 404);
    let (s, _) = gw.call(
        "GET",
        &format!("/fxin/integration/shop?token={inbound}"),
        None,
        None,
    );
    assert_eq!(s, 401);
}

#[test]
fn deleting_the_instance_removes_integration_storage_and_inbound_credential() {
    let tmp = tempfile::tempdir().unwrap();
    let service = Receiver::start();
    let gw = start(tmp.path(), &[]);
    let key = gw.org_with_key("acme", None);
    let (inst, _) = gw.connected_instance(&key, "shop");
    let id = inst["id"].as_str().unwrap().to_string();
    let (s, v) = fx(
        &gw,
        "PUT",
        "/integration/shop",
        &key,
        Some(json!({"url": service.url(""), "settings": {}, "token": "t"})),
    );
    assert_eq!(s, 200, "{v}");
    let inbound = v["inboundSecret"].as_str().unwrap().to_string();
    // The inbound secret works while the instance lives.
    let (s, v) = gw.call(
        "POST",
        &format!("/fxin/send/shop?token={inbound}"),
        None,
        Some(json!({"to": PEER, "text": "via the inbound route"})),
    );
    assert_eq!(s, 200, "{v}");
    reports(&service, "a delivery (storage written)", |r| {
        r.body["delivered"].as_u64() >= Some(1)
    });
    let (s, v) = fx(&gw, "GET", &format!("/storage/{id}/delivered"), &key, None);
    assert_eq!(s, 200, "the sink's count is stored: {v}");

    let (s, _) = gw.call("DELETE", "/core/instances/shop", Some(&key), None);
    assert_eq!(s, 200);
    let (s, _) = gw.call(
        "POST",
        &format!("/fxin/send/shop?token={inbound}"),
        None,
        Some(json!({"to": PEER, "text": "after deletion"})),
    );
    assert_eq!(s, 401, "the inbound secret died with the instance");
    std::thread::sleep(Duration::from_millis(300));
    let data = gw.data.clone();
    gw.stop();
    assert_eq!(storage_rows(&data, &id), 0);
    let store = crate::common::open_store(&data);
    let left: Vec<String> = store
        .read(|tx| -> anyhow::Result<Vec<String>> {
            use wagate::store::kv::ReadableTable as _;
            let hooks = tx.open_table(wagate::store::tables::WEBHOOKS)?;
            let mut left = Vec::new();
            for row in hooks.iter()? {
                let text = String::from_utf8_lossy(row?.1.value()).into_owned();
                if text.contains(&id) {
                    left.push(text);
                }
            }
            Ok(left)
        })
        .unwrap();
    assert!(left.is_empty(), "integration left behind: {left:?}");
}

/// The id of instance `name`.
fn first_id(gw: &Gateway, key: &str, name: &str) -> String {
    let (s, v) = gw.call("GET", &format!("/core/instances/{name}"), Some(key), None);
    assert_eq!(s, 200, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// `(status, json)` of a raw response.
trait JsonStatus {
    fn json_status(self) -> (u16, Value);
}

impl JsonStatus for wagate::client::Response {
    fn json_status(self) -> (u16, Value) {
        let v = self.json();
        (self.status, v)
    }
}
