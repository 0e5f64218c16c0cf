//! Load tool: drives the running release binary over loopback with keep-alive
//! connections and reports throughput and p50/p90/p99 latency, in one run, for:
//!
//! - a read (a 20-message page of one chat) and a delete of an existing message;
//! - on a bare hyper server doing nothing (the floor, in this process on its own
//!   2-thread runtime), the native `/core` routes, and each bundled dialect behind its
//!   auth plugin: Ryze (`token`), Evolution (`apikey`), sessions/v1 (`Bearer wa_...`).
//!
//! Then the gateway's resident set (VmRSS) with 0, 1,000 and 10,000 idle sim instances,
//! created (disconnected), then connected (paired, open, idle).
//!
//! Run: `cargo bench -p wagate --bench load` (builds the release binary first; the tool
//! spawns `target/release/wagate serve` on a temp folder, port 0). Options after `--`:
//! `--secs S` per case (3), `--conns C` keep-alive connections (32), `--max-requests N`
//! per case (500000), `--pool N` messages ingested per delete case (20000),
//! `--idle 0,1000,10000`, `--skip-memory`, `--skip-load`, `--bin PATH`, `--only TEXT`
//! (only the cases whose name contains TEXT, and the floor). The gateway logs at `warn`
//! on stderr; `WAGATE_LOAD_LOG` sets its `RUST_LOG` instead; `WAGATE_LOAD_CONFIG` adds
//! top-level `wagate.toml` lines (to compare settings on one binary).
//! Every case is bounded by its time and request count; a delete case also by its pool.
//!
//! Evolution has no delete-for-me route: its delete case is `deleteMessageForEveryone`
//! (a revoke), compared with the native revoke (`?for_everyone=true`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

const ADMIN: &str = "load-admin-token";
const READ_NUMBER: &str = "6281200000001";
const READ_JID: &str = "6281200000001@s.whatsapp.net";
const PAGE: usize = 20;

struct Opts {
    secs: f64,
    conns: usize,
    max_requests: usize,
    pool: usize,
    idle: Vec<usize>,
    skip_memory: bool,
    skip_load: bool,
    only: Option<String>,
    bin: PathBuf,
}

fn opts() -> Opts {
    let args: Vec<String> = std::env::args().collect();
    let val = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let num = |name: &str, d: f64| val(name).and_then(|v| v.parse().ok()).unwrap_or(d);
    Opts {
        secs: num("--secs", 3.0),
        conns: num("--conns", 32.0) as usize,
        max_requests: num("--max-requests", 500_000.0) as usize,
        pool: num("--pool", 20_000.0) as usize,
        idle: val("--idle")
            .unwrap_or_else(|| "0,1000,10000".into())
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect(),
        skip_memory: args.iter().any(|a| a == "--skip-memory"),
        skip_load: args.iter().any(|a| a == "--skip-load"),
        only: val("--only"),
        bin: val("--bin")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wagate"))),
    }
}

// ---- the gateway process ------------------------------------------------------------

struct Gateway {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Gateway {
    fn start(bin: &PathBuf) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("wagate.toml");
        // Lift Ryze's per-token rate limits (100/min) so the load reaches the handlers.
        // `WAGATE_LOAD_CONFIG`: top-level `wagate.toml` lines to compare settings with
        // the same binary (e.g. `store_cache_mib = 1024`).
        let extra = std::env::var("WAGATE_LOAD_CONFIG").unwrap_or_default();
        std::fs::write(
            &cfg,
            format!(
                "{extra}\n[plugins.settings.ryze]\nconfig = {{ rate_limit = 100000000, create_rate_limit = 100000000 }}\n"
            ),
        )
        .unwrap();
        let mut child = Command::new(bin)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--link",
                "sim",
                "--sim-pair-delay-ms",
                "1",
            ])
            .arg("--data")
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&cfg)
            .env("WAGATE_ADMIN_TOKEN", ADMIN)
            // Webhook receivers are on loopback, which the outbound guard refuses unless
            // allowed.
            .env("WAGATE_OUTBOUND_ALLOW", "127.0.0.0/8")
            .env(
                "RUST_LOG",
                std::env::var("WAGATE_LOAD_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("wagate exited").unwrap();
            if let Some(a) = line.strip_prefix("listening on ") {
                break a.trim().trim_start_matches("http://").to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Gateway {
            child,
            addr,
            _dir: dir,
        }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Where the resident set is, from `/proc/<pid>/smaps`: the largest mappings by
    /// `Rss` (the plugin pool is one large anonymous reservation; `[heap]` and the
    /// anonymous arenas are malloc's; the binary's own pages are file-backed).
    fn print_rss_breakdown(&self) {
        let Ok(smaps) = std::fs::read_to_string(format!("/proc/{}/smaps", self.child.id())) else {
            return;
        };
        let mut maps: Vec<(u64, u64, String)> = Vec::new(); // (rss KiB, size KiB, name)
        for line in smaps.lines() {
            let mut fields = line.split_whitespace();
            let first = fields.next().unwrap_or_default();
            if first.contains('-') && !first.ends_with(':') {
                let (lo, hi) = first.split_once('-').unwrap_or_default();
                let size = u64::from_str_radix(hi, 16)
                    .unwrap_or(0)
                    .saturating_sub(u64::from_str_radix(lo, 16).unwrap_or(0))
                    / 1024;
                let name = fields.nth(4).unwrap_or("[anon]").to_string();
                maps.push((0, size, name));
            } else if first == "Rss:"
                && let Some(m) = maps.last_mut()
            {
                m.0 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            }
        }
        let reserved: u64 = maps.iter().filter(|m| m.1 >= 1 << 20).map(|m| m.0).sum();
        println!("resident in mappings of 1 GiB and more (the plugin pool): {reserved} KiB");
        let mut by_name: std::collections::BTreeMap<String, u64> = Default::default();
        for (rss, _, name) in &maps {
            *by_name
                .entry(name.rsplit('/').next().unwrap_or(name).to_string())
                .or_default() += rss;
        }
        maps.sort_by_key(|m| std::cmp::Reverse(m.0));
        println!("largest resident mappings (KiB resident / KiB mapped / name):");
        for (rss, size, name) in maps.iter().take(6) {
            println!("  {rss:>8} / {size:>10} / {name}");
        }
        let mut names: Vec<_> = by_name.into_iter().filter(|(_, r)| *r >= 1024).collect();
        names.sort_by_key(|n| std::cmp::Reverse(n.1));
        println!("resident by name (>= 1 MiB): {names:?}");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- a keep-alive client connection ----------------------------------------------------

struct Conn {
    tx: SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    async fn open(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        Conn {
            tx,
            host: addr.to_string(),
        }
    }

    async fn send(&mut self, r: &Req) -> Result<(u16, Bytes), hyper::Error> {
        let mut b = hyper::Request::builder()
            .method(r.method)
            .uri(&r.path)
            .header("host", &self.host);
        for (k, v) in &r.headers {
            b = b.header(*k, v);
        }
        if !r.body.is_empty() {
            b = b.header("content-type", "application/json");
        }
        self.tx.ready().await?;
        let resp = self
            .tx
            .send_request(b.body(Full::new(r.body.clone())).unwrap())
            .await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    async fn json(&mut self, r: Req) -> (u16, Value) {
        let (s, b) = self.send(&r).await.unwrap();
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }
}

#[derive(Clone)]
struct Req {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

fn req(method: &'static str, path: impl Into<String>, auth: &Auth, body: Option<Value>) -> Req {
    Req {
        method,
        path: path.into(),
        headers: auth.headers(),
        body: body.map(|b| Bytes::from(b.to_string())).unwrap_or_default(),
    }
}

#[derive(Clone)]
enum Auth {
    None,
    Bearer(String),
    Ryze(String),
    Evolution(String),
}

impl Auth {
    fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Auth::None => vec![],
            Auth::Bearer(t) => vec![("authorization", format!("Bearer {t}"))],
            Auth::Ryze(t) => vec![("token", t.clone())],
            Auth::Evolution(t) => vec![("apikey", t.clone())],
        }
    }
}

// ---- the floor: a bare hyper server -------------------------------------------------

/// Starts a hyper server that reads the request and answers `{"ok":true}`, on its own
/// 2-thread runtime (as the gateway's on this machine); returns its address.
fn start_floor() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().to_string()).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(
                        |req: hyper::Request<hyper::body::Incoming>| async move {
                            let _ = req.into_body().collect().await;
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from_static(b"{\"ok\":true}")))
                                    .unwrap(),
                            )
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

// ---- running a case ------------------------------------------------------------------

struct Outcome {
    name: String,
    done: usize,
    errors: usize,
    first_error: Option<String>,
    rps: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    /// The gateway's CPU time (user + system) per request served, in microseconds:
    /// steadier than req/s on a machine whose other tenants take CPU, since time the
    /// gateway waits for a core is not counted. `None` for the floor (in this process).
    cpu_us: Option<f64>,
}

/// A process's CPU time so far (user + system), in microseconds, from
/// `/proc/<pid>/stat` (clock ticks of 10 ms: over a 3 s case at 2 cores, about 1%).
fn cpu_micros(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces) start at state, field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10_000.0)
}

/// Runs `make(i)` for i in 0.. over `conns` keep-alive connections to `addr` until
/// `secs` pass or `limit` requests were issued. The first 10% of the time warms up
/// (its requests are not counted).
async fn run_case(
    name: &str,
    addr: &str,
    conns: usize,
    secs: f64,
    limit: usize,
    make: Arc<dyn Fn(usize) -> Req + Send + Sync>,
    gateway_pid: Option<u32>,
) -> Outcome {
    let cpu_before = gateway_pid.and_then(cpu_micros);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let warm = start + Duration::from_secs_f64(secs * 0.1);
    let deadline = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (next, make, addr) = (next.clone(), make.clone(), addr.to_string());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await;
            let mut lat = Vec::new();
            let (mut errors, mut first_error, mut last) = (0usize, None, Instant::now());
            let mut answered = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit || Instant::now() >= deadline {
                    break;
                }
                let r = make(i);
                let t = Instant::now();
                let res = conn.send(&r).await;
                last = Instant::now();
                answered += 1;
                let ok = matches!(res, Ok((s, _)) if (200..300).contains(&s));
                if t >= warm {
                    lat.push((last - t).as_micros() as u32);
                    if !ok {
                        errors += 1;
                        if first_error.is_none() {
                            first_error = Some(match &res {
                                Ok((s, b)) => format!(
                                    "{} {}: {s} {}",
                                    r.method,
                                    r.path,
                                    String::from_utf8_lossy(b)
                                ),
                                Err(e) => format!("{} {}: {e}", r.method, r.path),
                            });
                        }
                    }
                }
                if res.is_err() {
                    conn = Conn::open(&addr).await;
                }
            }
            (lat, errors, first_error, last, answered)
        }));
    }
    let (mut lat, mut errors, mut first_error, mut end) = (Vec::new(), 0, None, warm);
    let mut answered = 0;
    for t in tasks {
        let (l, e, f, last, a) = t.await.unwrap();
        lat.extend(l);
        errors += e;
        first_error = first_error.or(f);
        end = end.max(last);
        answered += a;
    }
    // Over the whole case, warm-up included: CPU time is read at its start and end.
    let cpu_us = cpu_before
        .zip(gateway_pid.and_then(cpu_micros))
        .map(|(before, after)| (after - before) / answered.max(1) as f64);
    lat.sort_unstable();
    let pct = |p: f64| {
        if lat.is_empty() {
            0.0
        } else {
            lat[((lat.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
        }
    };
    let window = (end - warm).as_secs_f64().max(1e-9);
    Outcome {
        name: name.to_string(),
        done: lat.len(),
        errors,
        first_error,
        rps: lat.len() as f64 / window,
        p50: pct(0.5),
        p90: pct(0.9),
        p99: pct(0.99),
        max: pct(1.0),
        cpu_us,
    }
}

fn print_table(title: &str, rows: &[Outcome], floor_rps: f64) {
    println!("\n{title}\n");
    println!(
        "| case | requests | req/s | % of floor | p50 ms | p90 ms | p99 ms | max ms | errors | gateway CPU us/req |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for o in rows {
        println!(
            "| {} | {} | {:.0} | {:.1}% | {:.2} | {:.2} | {:.2} | {:.1} | {} | {} |",
            o.name,
            o.done,
            o.rps,
            100.0 * o.rps / floor_rps,
            o.p50,
            o.p90,
            o.p99,
            o.max,
            o.errors,
            o.cpu_us.map_or("-".to_string(), |c| format!("{c:.0}"))
        );
    }
    for o in rows {
        if let Some(e) = &o.first_error {
            println!("  first error of {}: {}", o.name, &e[..e.len().min(300)]);
        }
    }
}

// ---- setup through /admin and the dialects -----------------------------------------------

struct World {
    key: String,
    ryze: String,
    evo: String,
    sid: String,
}

async fn setup(addr: &str) -> World {
    let mut c = Conn::open(addr).await;
    let admin = Auth::Bearer(ADMIN.into());
    let (s, v) = c
        .json(req(
            "POST",
            "/admin/orgs",
            &admin,
            Some(json!({"name": "load"})),
        ))
        .await;
    assert_eq!(s, 201, "{v}");
    let mut mint = async |kind: &str| {
        let (s, v) = c
            .json(req(
                "POST",
                "/admin/credentials",
                &admin,
                Some(json!({"org": "load", "kind": kind})),
            ))
            .await;
        assert_eq!(s, 201, "{v}");
        v["token"].as_str().unwrap().to_string()
    };
    let (key, ryze, evo) = (
        mint("api-key").await,
        mint("ryze-account").await,
        mint("evolution-key").await,
    );
    let auth = Auth::Bearer(key.clone());
    let (s, v) = c
        .json(req(
            "POST",
            "/core/instances",
            &auth,
            Some(json!({"name": "bench"})),
        ))
        .await;
    assert_eq!(s, 201, "{v}");
    let sid = v["instance"]["id"].as_str().unwrap().to_string();
    let (s, v) = c
        .json(req("POST", "/core/instances/bench/connect", &auth, None))
        .await;
    assert_eq!(s, 200, "{v}");
    for _ in 0..1000 {
        let (_, v) = c
            .json(req("GET", "/core/instances/bench/state", &auth, None))
            .await;
        if v["state"] == "open" {
            return World {
                key,
                ryze,
                evo,
                sid,
            };
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("instance never paired");
}

/// Ingests `n` messages from `from` (fromMe, so they can be revoked too) over 32
/// connections; returns their ids and the ingest rate.
async fn ingest(addr: &str, from: &str, n: usize) -> (Vec<String>, f64) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (next, addr, from) = (next.clone(), addr.to_string(), from.to_string());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&addr).await;
            let mut ids = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let (s, v) = c
                    .json(req(
                        "POST",
                        "/admin/sim/bench/inbound",
                        &Auth::Bearer(ADMIN.into()),
                        Some(json!({"from": from, "text": "load", "fromMe": true})),
                    ))
                    .await;
                assert_eq!(s, 201, "{v}");
                ids.push(v["id"].as_str().unwrap().to_string());
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    let rate = ids.len() as f64 / started.elapsed().as_secs_f64();
    (ids, rate)
}

async fn load(o: &Opts) {
    let gw = Gateway::start(&o.bin);
    let floor = start_floor();
    let addr = gw.addr.clone();
    let w = setup(&addr).await;
    println!(
        "gateway VmRSS before the setup's ingest: {} KiB",
        gw.rss_kib()
    );
    let (ids, rate) = ingest(&addr, READ_NUMBER, PAGE).await;
    assert_eq!(ids.len(), PAGE);
    println!("gateway pid {} on {addr}; floor on {floor}", gw.child.id());

    let (key, ryze, evo) = (
        Auth::Bearer(w.key.clone()),
        Auth::Ryze(w.ryze.clone()),
        Auth::Evolution(w.evo.clone()),
    );
    type Make = Arc<dyn Fn(usize) -> Req + Send + Sync>;
    let fixed = |r: Req| -> Make { Arc::new(move |_| r.clone()) };

    // Reads: one page of 20 messages of one chat.
    let reads: Vec<(&str, &str, Make)> = vec![
        (
            "floor (bare hyper)",
            floor.as_str(),
            fixed(req("GET", "/floor", &Auth::None, None)),
        ),
        (
            "native /core",
            addr.as_str(),
            fixed(req(
                "GET",
                format!("/core/instances/bench/chats/{READ_JID}/messages?limit={PAGE}"),
                &key,
                None,
            )),
        ),
        (
            "Ryze POST /api/chat/history",
            addr.as_str(),
            fixed(req(
                "POST",
                "/api/chat/history/bench",
                &ryze,
                Some(json!({"number": READ_NUMBER, "count": PAGE})),
            )),
        ),
        (
            "Evolution POST /chat/findMessages",
            addr.as_str(),
            fixed(req(
                "POST",
                "/chat/findMessages/bench",
                &evo,
                Some(json!({"where": {"key": {"remoteJid": READ_JID}}, "offset": PAGE, "page": 1})),
            )),
        ),
        (
            "sessions/v1 GET .../messages",
            addr.as_str(),
            fixed(req(
                "GET",
                format!(
                    "/api/v1/sessions/{}/chats/{READ_JID}/messages?limit={PAGE}",
                    w.sid
                ),
                &key,
                None,
            )),
        ),
    ];
    // Sanity: every read answers 200 with the page.
    for (name, a, make) in &reads {
        let mut c = Conn::open(a).await;
        let (s, b) = c.send(&make(0)).await.unwrap();
        assert_eq!(s, 200, "{name}: {}", String::from_utf8_lossy(&b));
    }

    // Deletes: each case its own pool of stored messages.
    let mut pools = Vec::new();
    let mut ingest_rates = vec![rate];
    for k in 0..5 {
        let from = format!("62813000000{k:02}");
        let (ids, rate) = ingest(&addr, &from, o.pool).await;
        ingest_rates.push(rate);
        pools.push((format!("{from}@s.whatsapp.net"), Arc::new(ids)));
    }
    let ingest_rate = ingest_rates[1..].iter().sum::<f64>() / (ingest_rates.len() - 1) as f64;
    println!(
        "ingested 5 x {} messages through POST /admin/sim/bench/inbound at {ingest_rate:.0}/s (32 connections); gateway VmRSS then {} KiB",
        o.pool,
        gw.rss_kib()
    );
    type PoolReq = Arc<dyn Fn(&str, &str) -> Req + Send + Sync>;
    let pool_case = |k: usize, f: PoolReq| -> Make {
        let (jid, ids) = pools[k].clone();
        Arc::new(move |i| f(&ids[i], &jid))
    };
    let sid = w.sid.clone();
    let deletes: Vec<(&str, &str, Make, usize)> = vec![
        (
            "floor (bare hyper)",
            floor.as_str(),
            fixed(req("DELETE", "/floor", &Auth::None, None)),
            o.max_requests,
        ),
        (
            "native /core delete-for-me",
            addr.as_str(),
            pool_case(0, {
                let key = key.clone();
                Arc::new(move |id, _| {
                    req(
                        "DELETE",
                        format!("/core/instances/bench/messages/{id}"),
                        &key,
                        None,
                    )
                })
            }),
            o.pool,
        ),
        (
            "Ryze DELETE /api/chat/delete",
            addr.as_str(),
            pool_case(1, {
                let ryze = ryze.clone();
                Arc::new(move |id, _| {
                    req(
                        "DELETE",
                        "/api/chat/delete/bench",
                        &ryze,
                        Some(json!({"messageId": id, "deleteForEveryone": false})),
                    )
                })
            }),
            o.pool,
        ),
        (
            "sessions/v1 DELETE .../messages/{id}",
            addr.as_str(),
            pool_case(2, {
                let key = key.clone();
                Arc::new(move |id, _| {
                    req(
                        "DELETE",
                        format!("/api/v1/sessions/{sid}/messages/{id}"),
                        &key,
                        None,
                    )
                })
            }),
            o.pool,
        ),
        (
            "native /core revoke",
            addr.as_str(),
            pool_case(3, {
                let key = key.clone();
                Arc::new(move |id, _| {
                    req(
                        "DELETE",
                        format!("/core/instances/bench/messages/{id}?for_everyone=true"),
                        &key,
                        None,
                    )
                })
            }),
            o.pool,
        ),
        (
            "Evolution deleteMessageForEveryone (revoke)",
            addr.as_str(),
            pool_case(4, {
                let evo = evo.clone();
                Arc::new(move |id, jid| {
                    req(
                        "DELETE",
                        "/chat/deleteMessageForEveryone/bench",
                        &evo,
                        Some(json!({"id": id, "fromMe": true, "remoteJid": jid})),
                    )
                })
            }),
            o.pool,
        ),
    ];

    println!(
        "\n{} keep-alive connections, {} s per case (first 10% warm-up, not counted), at most {} requests per case",
        o.conns, o.secs, o.max_requests
    );
    let mut rows = Vec::new();
    let wanted = |name: &str| {
        name.starts_with("floor") || o.only.as_deref().is_none_or(|w| name.contains(w))
    };
    // The floor runs in this process: no gateway CPU to count.
    let pid_for = |name: &str| (!name.starts_with("floor")).then(|| gw.child.id());
    for (name, a, make) in reads.into_iter().filter(|c| wanted(c.0)) {
        rows.push(
            run_case(
                name,
                a,
                o.conns,
                o.secs,
                o.max_requests,
                make,
                pid_for(name),
            )
            .await,
        );
    }
    let floor_rps = rows[0].rps;
    print_table("Read: one page of 20 messages", &rows, floor_rps);
    let mut rows = Vec::new();
    for (name, a, make, limit) in deletes.into_iter().filter(|c| wanted(c.0)) {
        let limit = limit.min(o.max_requests);
        rows.push(run_case(name, a, o.conns, o.secs, limit, make, pid_for(name)).await);
    }
    let floor_rps = rows[0].rps;
    print_table(
        "Delete an existing message (durable: answered after its commit)",
        &rows,
        floor_rps,
    );
    println!("\ngateway VmRSS after the load: {} KiB", gw.rss_kib());
    gw.print_rss_breakdown();
    if std::env::var_os("WAGATE_LOAD_TRIM").is_some() {
        // A plugin reload ends with malloc_trim: what it gives back was free memory
        // malloc kept, not live data.
        let mut c = Conn::open(&gw.addr).await;
        let (s, _) = c
            .json(req(
                "POST",
                "/admin/plugins/reload",
                &Auth::Bearer(ADMIN.into()),
                None,
            ))
            .await;
        println!(
            "after POST /admin/plugins/reload ({s}, which trims malloc): {} KiB",
            gw.rss_kib()
        );
    }
}

// ---- memory ------------------------------------------------------------------------------

async fn memory(o: &Opts) {
    let gw = Gateway::start(&o.bin);
    let addr = gw.addr.clone();
    let mut c = Conn::open(&addr).await;
    let admin = Auth::Bearer(ADMIN.into());
    c.json(req(
        "POST",
        "/admin/orgs",
        &admin,
        Some(json!({"name": "mem"})),
    ))
    .await;
    let (_, v) = c
        .json(req(
            "POST",
            "/admin/credentials",
            &admin,
            Some(json!({"org": "mem", "kind": "api-key"})),
        ))
        .await;
    let key = Auth::Bearer(v["token"].as_str().unwrap().to_string());
    drop(c);
    let settle = async || tokio::time::sleep(Duration::from_millis(1500)).await;
    settle().await;
    let base = gw.rss_kib();
    println!("\nResident set (VmRSS) of the gateway with N idle sim instances\n");
    println!("| instances | state | VmRSS KiB | KiB per instance over 0 |");
    println!("|---:|---|---:|---:|");
    println!("| 0 | - | {base} | - |");
    let mut made = 0usize;
    let mut targets = o.idle.clone();
    targets.retain(|n| *n > 0);
    for &n in &targets {
        let next = Arc::new(AtomicUsize::new(made));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (next, addr, key) = (next.clone(), addr.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                let mut c = Conn::open(&addr).await;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let (s, v) = c
                        .json(req(
                            "POST",
                            "/core/instances",
                            &key,
                            Some(json!({"name": format!("idle-{i}")})),
                        ))
                        .await;
                    assert_eq!(s, 201, "{v}");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        made = n;
        settle().await;
        let rss = gw.rss_kib();
        println!(
            "| {n} | created | {rss} | {:.1} |",
            (rss as f64 - base as f64) / n as f64
        );
    }
    // Connect them all (paired with the sim, open, idle).
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (next, addr, key) = (next.clone(), addr.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&addr).await;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= made {
                    break;
                }
                let (s, v) = c
                    .json(req(
                        "POST",
                        format!("/core/instances/idle-{i}/connect"),
                        &key,
                        None,
                    ))
                    .await;
                assert_eq!(s, 200, "{v}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut c = Conn::open(&addr).await;
    for _ in 0..600 {
        let (_, b) = c
            .send(&req("GET", "/metrics", &Auth::None, None))
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&b);
        if text.contains(&format!("wagate_instances{{state=\"open\"}} {made}")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(c);
    settle().await;
    let rss = gw.rss_kib();
    println!(
        "| {made} | connected (open, idle) | {rss} | {:.1} |",
        (rss as f64 - base as f64) / made.max(1) as f64
    );
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{} cpus ({cpu}); loadavg {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split(' ').take(3).collect::<Vec<_>>().join(" ")
    )
}

fn main() {
    let o = opts();
    assert!(
        o.bin.exists(),
        "{} is missing: cargo build --release",
        o.bin.display()
    );
    println!("wagate load tool: {}", o.bin.display());
    println!("machine: {}", machine());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    if !o.skip_load {
        rt.block_on(load(&o));
    }
    if !o.skip_memory {
        rt.block_on(memory(&o));
    }
    println!(
        "\nmachine after the run: {} ({:.0?})",
        machine(),
        started.elapsed()
    );
}
