//! Shared test harness: runs the real `wagate` binary on loopback with a fresh data
//! folder and talks to it over real HTTP.
#![allow(dead_code)]
// A test binary has no library API: `pub` here only means "usable from the test
// files", so the workspace's `unreachable_pub` lint is noise for this harness.
#![allow(unreachable_pub)]

pub mod brokers;
pub mod dialect_hooks;
pub mod evolution;
pub mod fake_kafka;
pub mod fake_whatsapp;
pub mod kafka;
pub mod moto;
pub mod postgres;
pub mod proxy;
pub mod receiver;
pub mod ryze;
pub mod tls;
pub mod v1;
pub mod ws;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

pub const ADMIN: &str = "test-admin-token";

/// The outbound allowance every test gateway gets: loopback, in IPv4 and IPv6.
pub const LOOPBACK: &str = "127.0.0.0/8,::1/128";

/// A running gateway. Killed on drop.
pub struct Gateway {
    pub child: Child,
    pub base: String,
    pub data: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Gateway {
    /// Starts a gateway on a fresh temporary data folder.
    pub fn start() -> Gateway {
        let tmp = tempfile::tempdir().expect("temp dir");
        let data = tmp.path().join("data");
        let mut gw = Gateway::start_on(&data, &[]);
        gw._tmp = Some(tmp);
        gw
    }

    /// Starts a gateway on a fresh temporary data folder with extra environment
    /// variables for the child (e.g. `AUTHENTICATION_API_KEY`).
    pub fn start_with_env(envs: &[(&str, &str)]) -> Gateway {
        let tmp = tempfile::tempdir().expect("temp dir");
        let data = tmp.path().join("data");
        let mut gw = Gateway::start_on_with_env(&data, &[], envs);
        gw._tmp = Some(tmp);
        gw
    }

    /// Starts a gateway on `data` (kept by the caller) with extra args.
    pub fn start_on(data: &Path, extra: &[&str]) -> Gateway {
        Gateway::start_on_with_env(data, extra, &[])
    }

    /// Starts a gateway on a fresh temporary data folder and returns as soon as its
    /// address is printed: its plugins may still be loading (`/healthz` says
    /// `starting`).
    pub fn start_unready() -> Gateway {
        let tmp = tempfile::tempdir().expect("temp dir");
        let data = tmp.path().join("data");
        let cache = data.join("plugin-cache");
        let cold = [("WAGATE_PLUGIN_CACHE", cache.to_str().expect("UTF-8 path"))];
        let mut gw = Gateway::spawn_on(&data, &[], &cold);
        gw._tmp = Some(tmp);
        gw
    }

    /// [`Gateway::start_on`] with extra environment variables for the child. Returns
    /// once the gateway is ready (its plugins loaded: `/healthz` says `ok`), so the
    /// tests' own timings do not include the plugins' compilation.
    pub fn start_on_with_env(data: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Gateway {
        let gw = Gateway::spawn_on(data, extra, envs);
        for _ in 0..6000 {
            if let Ok(r) = wagate::client::request(&gw.base, "GET", "/healthz", &[], None)
                && r.body == b"ok\n"
            {
                return gw;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("wagate did not become ready within 60 s");
    }

    /// Spawns the gateway and waits for its address only.
    fn spawn_on(data: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Gateway {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wagate"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--sim-pair-delay-ms",
                "20",
                "--data",
            ])
            .arg(data)
            .args(extra)
            .env("WAGATE_ADMIN_TOKEN", ADMIN)
            .env("RUST_LOG", "warn")
            // The tests run on the simulated network unless they pass `--link whatsapp`
            // (a flag wins over this variable) or set WAGATE_LINK in `envs`.
            .env("WAGATE_LINK", "sim")
            // Receivers, fake Chatwoot and JWKS servers live on loopback, which the
            // outbound guard refuses by default. (A test passes
            // `("WAGATE_OUTBOUND_ALLOW", "")` to run with the default policy.)
            .env("WAGATE_OUTBOUND_ALLOW", LOOPBACK)
            // One code cache for every gateway the tests start: each plugin is compiled
            // once per build, not once per test (a test that needs a cold start, as
            // `Gateway::start_unready`, passes a cache of its own).
            .env("WAGATE_PLUGIN_CACHE", shared_plugin_cache())
            // `WAGATE_TEST_STORE=postgres`: the state in PostgreSQL, one database per
            // data folder (so a restart on the same folder finds its state).
            .envs(postgres::selected().then(|| ("WAGATE_STORE", postgres::database_for(data))))
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting wagate");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("wagate exited before listening")
                .expect("stdout line");
            if let Some(addr) = line.strip_prefix("listening on ") {
                break addr.trim().to_string();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Gateway {
            child,
            base,
            data: data.to_path_buf(),
            _tmp: None,
        }
    }

    /// Stops with SIGTERM and waits (graceful drain), returning the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().expect("waiting for wagate");
        std::mem::forget(self._tmp.take());
        status
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        let body = body.map(|b| serde_json::to_vec(&b).unwrap());
        let resp = wagate::client::request(&self.base, method, path, &headers, body.as_deref())
            .expect("request");
        (resp.status, resp.json())
    }

    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> wagate::client::Response {
        wagate::client::request(&self.base, method, path, headers, Some(body)).expect("request")
    }

    /// The value of one series of `/metrics` (`name{labels}` exactly as printed), if
    /// the gateway reports it.
    pub fn metric(&self, series: &str) -> Option<String> {
        let text = String::from_utf8(self.raw("GET", "/metrics", &[], b"").body).unwrap();
        let prefix = format!("{series} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map(|v| v.trim().to_string())
    }

    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call(method, path, Some(ADMIN), body)
    }

    /// Creates an org and an api key with `caps` (None: the kind's default).
    pub fn org_with_key(&self, org: &str, caps: Option<&[&str]>) -> String {
        let (s, _) = self.admin("POST", "/admin/orgs", Some(json!({"name": org})));
        assert!(s == 201 || s == 409, "create org: {s}");
        self.key(org, caps)
    }

    /// A credential of `kind` (`ryze-account`, `api-key`, ...) for `org`, with its
    /// kind's default capabilities; returns the token.
    pub fn credential(&self, org: &str, kind: &str) -> String {
        let (s, v) = self.admin(
            "POST",
            "/admin/credentials",
            Some(json!({"org": org, "kind": kind})),
        );
        assert_eq!(s, 201, "mint {kind}: {v}");
        v["token"].as_str().unwrap().to_string()
    }

    pub fn key(&self, org: &str, caps: Option<&[&str]>) -> String {
        let (s, v) = self.admin(
            "POST",
            "/admin/credentials",
            Some(json!({"org": org, "kind": "api-key", "capabilities": caps})),
        );
        assert_eq!(s, 201, "mint key: {v}");
        v["token"].as_str().unwrap().to_string()
    }

    /// Creates an instance and returns (instance json, instance token).
    pub fn instance(&self, key: &str, name: &str) -> (Value, String) {
        let (s, v) = self.call(
            "POST",
            "/core/instances",
            Some(key),
            Some(json!({"name": name})),
        );
        assert_eq!(s, 201, "create instance: {v}");
        (
            v["instance"].clone(),
            v["token"].as_str().unwrap().to_string(),
        )
    }

    /// Creates an instance and waits until the sim has paired it.
    pub fn connected_instance(&self, key: &str, name: &str) -> (Value, String) {
        let created = self.instance(key, name);
        let (s, v) = self.call(
            "POST",
            &format!("/core/instances/{name}/connect"),
            Some(key),
            None,
        );
        assert_eq!(s, 200, "connect: {v}");
        self.wait_state(key, name, "open");
        created
    }

    pub fn wait_state(&self, key: &str, name: &str, want: &str) {
        for _ in 0..200 {
            let (_, v) = self.call(
                "GET",
                &format!("/core/instances/{name}/state"),
                Some(key),
                None,
            );
            if v["state"] == want {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("instance {name} never reached state {want}");
    }

    /// Injects an inbound message through the sim; returns its id.
    pub fn inbound(&self, name: &str, from: &str, text: &str, from_me: bool) -> String {
        let (s, v) = self.admin(
            "POST",
            &format!("/admin/sim/{name}/inbound"),
            Some(json!({"from": from, "text": text, "fromMe": from_me})),
        );
        assert_eq!(s, 201, "inbound: {v}");
        v["id"].as_str().unwrap().to_string()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The store of data folder `data` as the gateway opens it: its redb file, or (under
/// `WAGATE_TEST_STORE=postgres`) the PostgreSQL database that goes with the folder.
/// For a test that seeds state before a gateway starts; close it with
/// [`wait_store_free`] before starting one.
pub fn open_store(data: &Path) -> wagate::store::Store {
    // A gateway stopped a moment ago may still hold it: PostgreSQL lets go of a dead
    // session's lock once it notices the connection closed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let opened = if postgres::selected() {
            wagate::store::Store::open_postgres(&postgres::database_for(data), data)
        } else {
            wagate::store::Store::open(data)
        };
        match opened {
            Ok(store) => return store,
            Err(e)
                if std::time::Instant::now() < deadline && format!("{e:#}").contains("in use") =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => panic!("open the gateway's store: {e:#}"),
        }
    }
}

/// `true` (and says so) when the tests run on PostgreSQL (`WAGATE_TEST_STORE=postgres`)
/// and the calling test is about the redb file itself (its bytes, its migrations, or
/// the operator commands that open it with `--data`): such a test returns early.
pub fn redb_only(test: &str) -> bool {
    let skip = postgres::selected();
    if skip {
        eprintln!("{test}: about the redb file; skipped with WAGATE_TEST_STORE=postgres");
    }
    skip
}

/// Waits until the store of `data` is free for a gateway: the writer thread of a
/// dropped [`open_store`] lets go of it a moment after the last handle.
pub fn wait_store_free(data: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let free = || {
        if postgres::selected() {
            // The gateway's lock (store/pg.rs), taken and let go by a psql session.
            let url = postgres::database_for(data);
            postgres::shared()
                .query(
                    postgres::Postgres::database_of(&url),
                    "select pg_try_advisory_lock(7217301418)",
                )
                .trim()
                == "t"
        } else {
            redb::Database::open(data.join("wagate.redb")).is_ok()
        }
    };
    while !free() {
        assert!(std::time::Instant::now() < deadline, "store never closed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The `schema_version` stored in a data folder's redb file, read without opening the
/// store (which would migrate it): what a migration test checks after the gateway ran.
pub fn stored_schema_version(data: &Path) -> u64 {
    use redb::ReadableDatabase;
    let db = redb::Database::open(data.join("wagate.redb")).expect("open the redb file");
    db.begin_read()
        .unwrap()
        .open_table(wagate::store::tables::META)
        .unwrap()
        .get("schema_version")
        .unwrap()
        .expect("a schema_version is stored")
        .value()
}

/// Runs `wagate serve` on a fresh data folder with `envs`, expecting it to refuse to
/// start (a configuration error): returns what it printed on stderr. Panics if it is
/// still running after 60 s, or exits 0.
pub fn refused_start(envs: &[(&str, &str)]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(tmp.path().join("data"))
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the gateway started with {envs:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!status.success(), "the gateway exited 0 with {envs:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    err
}

/// The compiled-plugin cache the tests' gateways share (under cargo's per-build test
/// temp folder, so a rebuilt plugin gets new entries by its sha256).
pub fn shared_plugin_cache() -> &'static str {
    concat!(env!("CARGO_TARGET_TMPDIR"), "/plugin-cache")
}
