//! Starting on a fresh data folder: the server answers `/healthz` while the plugins
//! are still being compiled, and a request that needs a plugin (or the app) waits for
//! them and gets its ordinary answer, never a failure.

use std::time::Instant;

use crate::common::Gateway;

#[test]
fn healthz_answers_while_plugins_compile_and_plugin_requests_wait_for_them() {
    // A fresh temp folder: no compiled plugin is cached, so every bundled plugin is
    // compiled on this start (seconds in a debug build).
    let gw = Gateway::start_unready();
    let asked = Instant::now();
    let first = gw.raw("GET", "/healthz", &[], b"");
    let health_took = asked.elapsed();
    assert_eq!(first.status, 200);
    assert_eq!(
        String::from_utf8_lossy(&first.body),
        "starting\n",
        "the first /healthz came after the plugins were loaded: it should not wait for them"
    );

    // Sent while the plugins compile: a sessions/v1 route (the bearer auth plugin and
    // the dialect) without credentials, and a native route. Both wait, then answer as
    // they would on a started gateway.
    let (dialect, native) = std::thread::scope(|s| {
        let dialect = s.spawn(|| {
            let t = Instant::now();
            (gw.raw("GET", "/api/v1/sessions", &[], b""), t.elapsed())
        });
        let native = s.spawn(|| gw.raw("GET", "/core/instances", &[], b""));
        (dialect.join().unwrap(), native.join().unwrap())
    });
    let (dialect, waited) = dialect;
    assert_eq!(
        dialect.status,
        401,
        "{}",
        String::from_utf8_lossy(&dialect.body)
    );
    let body: serde_json::Value = serde_json::from_slice(&dialect.body).expect("json");
    assert_eq!(
        body["error"]["code"], "unauthorized",
        "sessions/v1's own 401: {body}"
    );
    assert_eq!(
        native.status,
        401,
        "{}",
        String::from_utf8_lossy(&native.body)
    );
    assert!(
        waited > health_took,
        "the dialect request ({waited:?}) should have waited for the plugins, /healthz took {health_took:?}"
    );

    // Started: /healthz says so, and the gateway serves as usual.
    let r = gw.raw("GET", "/healthz", &[], b"");
    assert_eq!(
        (r.status, String::from_utf8_lossy(&r.body).into_owned()),
        (200, "ok\n".to_string())
    );
    let key = gw.org_with_key("acme", None);
    let (s, _) = gw.call("GET", "/api/v1/sessions", Some(&key), None);
    assert_eq!(s, 200);
}

#[test]
fn a_plugin_that_fails_to_load_still_stops_the_gateway() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("wagate.toml");
    // A mount naming a dialect that does not exist: refused once the plugins load.
    std::fs::write(
        &cfg,
        "[[plugins.mount]]\nprefix = \"/x\"\ndialect = \"no-such-dialect\"\nauth = []\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--link",
            "sim",
            "--data",
        ])
        .arg(tmp.path().join("data"))
        .arg("--config")
        .arg(&cfg)
        .env("WAGATE_ADMIN_TOKEN", "t")
        .env("RUST_LOG", "warn")
        .output()
        .expect("running wagate");
    assert!(
        !out.status.success(),
        "a broken plugin set must stop the gateway"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-dialect"), "{stderr}");
}

#[test]
fn a_fresh_start_compiles_the_plugins_in_a_child_process_and_a_warm_one_compiles_none() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // Runs the gateway until it has loaded its plugins; returns its log lines.
    let run = || -> Vec<String> {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wagate"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--link",
                "sim",
                "--data",
            ])
            .arg(&data)
            .env("WAGATE_ADMIN_TOKEN", "t")
            .env("RUST_LOG", "wagate=info")
            .env("WAGATE_LOG_FORMAT", "json")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("running wagate");
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(child.stderr.take().unwrap()).lines() {
            let line = line.unwrap();
            let loaded = line.contains("\"message\":\"ready\"");
            lines.push(line);
            if loaded {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        lines
    };
    let fresh = run();
    let compiled: Vec<&String> = fresh
        .iter()
        .filter(|l| l.contains("plugins compiled in a child process"))
        .collect();
    assert_eq!(
        compiled.len(),
        1,
        "one child compiles every plugin: {fresh:#?}"
    );
    assert!(
        !fresh.iter().any(|l| l.contains("compiling in-process")),
        "the child did its work: {fresh:#?}"
    );
    let cached = std::fs::read_dir(data.join("plugin-cache"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "cwasm")
        })
        .count();
    assert!(
        cached >= 5,
        "the bundled plugins are in the cache: {cached}"
    );

    // A warm start loads them from the cache: no child at all.
    let warm = run();
    assert!(
        !warm.iter().any(|l| l.contains("compiled")),
        "nothing to compile on a warm start: {warm:#?}"
    );
}
