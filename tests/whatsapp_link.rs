//! The real `whatsapp` link (whatsapp-rust) with no WhatsApp to talk to: the gateway
//! starts cleanly, a connected instance shows `connecting`, reconnect attempts back off
//! instead of spinning, and deleting or logging out an instance stops everything of it
//! (no session, task or connection attempt remains).
//!
//! "WhatsApp" here is a loopback TCP listener that accepts each connection and closes
//! it at once, recording when each attempt arrived.

use crate::common;

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Gateway;
use serde_json::json;

/// Accepts and drops connections, recording their arrival times.
struct Refuser {
    port: u16,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Refuser {
    fn start() -> Refuser {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let seen = arrivals.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                seen.lock().unwrap().push(Instant::now());
                drop(stream);
            }
        });
        Refuser { port, arrivals }
    }

    fn count(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }

    fn since(&self, t: Instant) -> Vec<Instant> {
        self.arrivals
            .lock()
            .unwrap()
            .iter()
            .copied()
            .filter(|a| *a >= t)
            .collect()
    }
}

/// A gateway on the whatsapp link pointed at `refuser`, with a fast reconnect policy
/// (250 ms doubling to 2 s) so a test sees several attempts and the cap quickly.
fn gateway(refuser: &Refuser) -> (Gateway, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("wagate.toml");
    let mut f = std::fs::File::create(&cfg).unwrap();
    writeln!(
        f,
        "[whatsapp]\nurl = \"ws://127.0.0.1:{}/ws/chat\"\nreconnect_base_ms = 250\nreconnect_max_ms = 2000",
        refuser.port
    )
    .unwrap();
    let gw = Gateway::start_on(
        &tmp.path().join("data"),
        &["--link", "whatsapp", "--config", cfg.to_str().unwrap()],
    );
    (gw, tmp)
}

/// The value of an unlabelled gauge in `/metrics`.
fn gauge(gw: &Gateway, name: &str) -> i64 {
    let resp = gw.raw("GET", "/metrics", &[], b"");
    let text = String::from_utf8_lossy(&resp.body).to_string();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// (sessions, tasks, clients) of the whatsapp link.
fn live(gw: &Gateway) -> (i64, i64, i64) {
    (
        gauge(gw, "wagate_whatsapp_sessions"),
        gauge(gw, "wagate_whatsapp_tasks"),
        gauge(gw, "wagate_whatsapp_clients"),
    )
}

/// Waits until the link's live counts equal `want`.
fn wait_live(gw: &Gateway, want: (i64, i64, i64)) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = live(gw);
        if now == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "live (sessions, tasks, clients) stayed {now:?}, expected {want:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are fields 14, 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn clock_ticks_per_second() -> u64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(100)
}

fn connect(gw: &Gateway, key: &str, name: &str) -> serde_json::Value {
    let started = Instant::now();
    let (s, v) = gw.call(
        "POST",
        &format!("/core/instances/{name}/connect"),
        Some(key),
        None,
    );
    assert_eq!(s, 200, "connect: {v}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "connect took {:?} offline: it should return after the first failed attempt",
        started.elapsed()
    );
    v
}

fn state(gw: &Gateway, key: &str, name: &str) -> String {
    let (s, v) = gw.call(
        "GET",
        &format!("/core/instances/{name}/state"),
        Some(key),
        None,
    );
    assert_eq!(s, 200, "state: {v}");
    v["state"].as_str().unwrap().to_string()
}

#[test]
fn offline_instance_connects_with_backoff_and_delete_stops_everything() {
    let refuser = Refuser::start();
    let (gw, _tmp) = gateway(&refuser);
    let (s, _) = gw.call("GET", "/healthz", None, None);
    assert_eq!(
        s, 200,
        "the gateway starts cleanly with no WhatsApp reachable"
    );
    let before = live(&gw);
    assert_eq!(before.0, 0, "no session before any instance connects");

    let key = gw.org_with_key("acme", None);
    gw.instance(&key, "shop");
    let t0 = Instant::now();
    let answer = connect(&gw, &key, "shop");
    assert_eq!(answer["state"], "connecting", "{answer}");
    assert!(answer["qr"].is_null(), "no QR without WhatsApp: {answer}");
    assert_eq!(state(&gw, &key, "shop"), "connecting");
    let during = live(&gw);
    assert_eq!(during.0, 1, "one session runs");
    assert!(during.1 > before.1, "its tasks are counted: {during:?}");
    assert_eq!(during.2, 1, "one client in memory");

    // Over 3 s of retrying, the process stays nearly idle.
    let pid = gw.child.id();
    let ticks = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(3));
    let used = (cpu_ticks(pid) - ticks) as f64 / clock_ticks_per_second() as f64;
    println!("CPU over 3 s of offline retrying: {used:.3} s");
    assert!(used < 0.3, "{used:.3} s of CPU in 3 s while offline");

    // Attempts so far: 250 ms doubling to a 2 s ceiling, each delay at least half its
    // ceiling. A hot loop would show hundreds.
    let attempts = refuser.since(t0);
    let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    println!("attempt gaps: {gaps:?}");
    assert!(
        (3..=8).contains(&attempts.len()),
        "{} attempts in ~3 s",
        attempts.len()
    );
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(100)),
        "a retry came too soon: {gaps:?}"
    );
    for pair in gaps.windows(2).take(2) {
        assert!(
            pair[1] + Duration::from_millis(50) >= pair[0],
            "gaps must grow before the cap: {gaps:?}"
        );
    }
    assert!(
        gaps.iter().any(|g| *g >= Duration::from_millis(500)),
        "the delays never grew: {gaps:?}"
    );
    assert_eq!(state(&gw, &key, "shop"), "connecting");

    let (s, v) = gw.call("DELETE", "/core/instances/shop", Some(&key), None);
    assert_eq!(s, 200, "delete: {v}");
    wait_live(&gw, before);
    let after_delete = refuser.count();
    // Longer than the largest delay (2 s) plus an attempt: nothing may reconnect.
    std::thread::sleep(Duration::from_millis(3_000));
    assert_eq!(
        refuser.count(),
        after_delete,
        "a deleted instance kept trying to reach WhatsApp"
    );
    assert_eq!(live(&gw), before);
    gw.stop();
}

#[test]
fn logout_of_an_offline_instance_stops_it_and_it_can_connect_again() {
    let refuser = Refuser::start();
    let (gw, _tmp) = gateway(&refuser);
    let before = live(&gw);
    let key = gw.org_with_key("acme", None);
    gw.instance(&key, "desk");
    connect(&gw, &key, "desk");
    assert_eq!(live(&gw).0, 1);
    assert!(refuser.count() >= 1, "the session tried to reach WhatsApp");

    let (s, v) = gw.call("POST", "/core/instances/desk/logout", Some(&key), None);
    assert_eq!(s, 200, "logout: {v}");
    assert_eq!(v["state"], "disconnected", "{v}");
    wait_live(&gw, before);
    let after_logout = refuser.count();
    std::thread::sleep(Duration::from_millis(3_000));
    assert_eq!(
        refuser.count(),
        after_logout,
        "a logged-out instance kept retrying"
    );
    assert_eq!(state(&gw, &key, "desk"), "disconnected");

    // It pairs again from scratch: a new session starts.
    connect(&gw, &key, "desk");
    assert_eq!(state(&gw, &key, "desk"), "connecting");
    assert_eq!(live(&gw).0, 1);
    let (s, _) = gw.call("DELETE", "/core/instances/desk", Some(&key), None);
    assert_eq!(s, 200);
    wait_live(&gw, before);
    gw.stop();
}

#[test]
fn admin_connect_endpoint_and_cli_reach_the_same_session() {
    let refuser = Refuser::start();
    let (gw, _tmp) = gateway(&refuser);
    let key = gw.org_with_key("acme", None);
    gw.instance(&key, "cli");
    let (s, v) = gw.admin("POST", "/admin/instances/cli/connect", Some(json!({})));
    assert_eq!(s, 200, "admin connect: {v}");
    assert_eq!(v["state"], "connecting");
    assert_eq!(live(&gw).0, 1);
    let (s, v) = gw.admin("POST", "/admin/instances/nope/connect", None);
    assert_eq!(s, 404, "{v}");
    let (s, _) = gw.call("DELETE", "/core/instances/cli", Some(&key), None);
    assert_eq!(s, 200);
    gw.stop();
}

#[test]
fn instances_paired_without_stored_keys_are_not_resumed() {
    // Paired on the sim link: an owner JID in the store, but no WhatsApp keys.
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let sim = Gateway::start_on(&data, &[]);
    let key = sim.org_with_key("acme", None);
    sim.connected_instance(&key, "old");
    sim.stop();

    let refuser = Refuser::start();
    let cfg = tmp.path().join("wagate.toml");
    std::fs::write(
        &cfg,
        format!(
            "[whatsapp]\nurl = \"ws://127.0.0.1:{}/ws/chat\"\n",
            refuser.port
        ),
    )
    .unwrap();
    let gw = Gateway::start_on(
        &data,
        &["--link", "whatsapp", "--config", cfg.to_str().unwrap()],
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while state(&gw, &key, "old") != "disconnected" {
        assert!(
            Instant::now() < deadline,
            "the stored state never became disconnected"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, listed) = gw.call("GET", "/core/instances/old", Some(&key), None);
    assert!(listed["owner_jid"].is_null(), "{listed}");
    assert_eq!(live(&gw).0, 0, "no session started for it");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(refuser.count(), 0, "nothing dialled WhatsApp");
    gw.stop();
}
