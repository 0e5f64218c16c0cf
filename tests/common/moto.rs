//! A real S3-protocol server for the S3 media store tests: `moto`'s server (from PyPI,
//! installed by `.ci/run` into `target/moto-venv`), started on a free loopback port
//! per test and killed on drop.
//!
//! The gateway talks to it through a [`Gate`]: a TCP forwarder the test can cut (the
//! bucket becomes unreachable: connections refused, open ones reset) and restore on
//! the same port, while moto keeps its objects (moto keeps them in memory, so stopping
//! moto itself would lose them and prove nothing about a later retry). The test's own
//! S3 calls (create the bucket, list what is in it) go to moto directly, unsigned
//! (moto does not check signatures unless told to).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::brokers::free_port;

/// The bucket every test creates.
pub const BUCKET: &str = "wagate-media";

fn moto_server() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/moto-venv/bin/moto_server");
    assert!(
        bin.is_file(),
        "{} is missing: install moto's server with \
         `python3 -m venv target/moto-venv && target/moto-venv/bin/pip install 'moto[server]==5.2.5'` \
         (.ci/run does it)",
        bin.display()
    );
    bin
}

/// `moto_server` on loopback with one bucket, behind a [`Gate`].
pub struct Moto {
    /// moto's own address (the test's direct S3 calls).
    pub direct: String,
    pub gate: Gate,
    child: Child,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::launch(None)
    }

    /// A moto that checks credentials (IAM) after its first request (the test's own
    /// unsigned bucket creation): the gateway's made-up keys are refused.
    pub fn start_checking_credentials() -> Moto {
        Moto::launch(Some("1"))
    }

    fn launch(no_auth_actions: Option<&str>) -> Moto {
        let port = free_port();
        let mut cmd = Command::new(moto_server());
        if let Some(n) = no_auth_actions {
            cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", n);
        }
        let child = cmd
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on 127.0.0.1:{port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let moto = Moto {
            direct: format!("http://127.0.0.1:{port}"),
            gate: Gate::open(port),
            child,
        };
        let r = moto.s3("PUT", &format!("/{BUCKET}"));
        assert_eq!(r.status, 200, "creating the bucket: {:?}", r.json());
        moto
    }

    /// The endpoint the gateway is configured with (through the gate).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.gate.port)
    }

    /// `wagate.toml` text selecting this bucket.
    pub fn toml(&self) -> String {
        format!(
            "[media.store]\nkind = \"s3\"\nbucket = \"{BUCKET}\"\nregion = \"us-east-1\"\n\
             endpoint = \"{}\"\naccess_key_id = \"test\"\nsecret_access_key = \"test\"\n\
             path_style = true\nprefix = \"gw1\"\n",
            self.endpoint()
        )
    }

    /// A request to moto as an authenticated caller: moto does not verify signatures
    /// (unless told to), but refuses an anonymous object read as the default ACL does.
    fn s3(&self, method: &str, path: &str) -> wagate::client::Response {
        let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, \
                    SignedHeaders=host, Signature=00";
        wagate::client::request(&self.direct, method, path, &[("Authorization", auth)], None)
            .expect("moto request")
    }

    /// The keys in the bucket under `prefix` (ListObjectsV2, every page).
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("/{BUCKET}?list-type=2&prefix={}", encode(prefix));
            if let Some(t) = &token {
                path.push_str(&format!("&continuation-token={}", encode(t)));
            }
            let r = self.s3("GET", &path);
            assert_eq!(r.status, 200, "listing the bucket");
            let xml = String::from_utf8_lossy(&r.body).into_owned();
            keys.extend(elements(&xml, "Key"));
            token = elements(&xml, "NextContinuationToken").into_iter().next();
            if token.is_none() {
                return keys;
            }
        }
    }

    /// The bytes of one object, read directly.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        let r = self.s3("GET", &format!("/{BUCKET}/{key}"));
        (r.status == 200).then_some(r.body)
    }

    /// The ETag of one object (a multipart upload's ends in `-<parts>`).
    pub fn etag(&self, key: &str) -> Option<String> {
        let r = self.s3("HEAD", &format!("/{BUCKET}/{key}"));
        (r.status == 200)
            .then(|| r.header("etag").map(|e| e.trim_matches('"').to_string()))
            .flatten()
    }

    /// The ids of the bucket's multipart uploads begun and neither completed nor
    /// aborted (ListMultipartUploads): parts S3 keeps, and bills, until removed.
    pub fn open_uploads(&self) -> Vec<String> {
        let r = self.s3("GET", &format!("/{BUCKET}?uploads"));
        assert_eq!(r.status, 200, "listing multipart uploads");
        elements(&String::from_utf8_lossy(&r.body), "UploadId")
    }

    /// Waits (up to `within`) until nothing is left under `prefix`.
    pub fn empty_within(&self, prefix: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.keys(prefix).is_empty() {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The text of every `<tag>...</tag>` in `xml` (S3's answers are flat enough).
fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split(&close).next())
        .map(|s| s.replace("&amp;", "&"))
        .collect()
}

/// A TCP forwarder from its own loopback port to a target port that can be cut
/// (refusing and resetting) and restored on the same port.
pub struct Gate {
    pub port: u16,
    target: u16,
    open: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Gate {
    fn open(target: u16) -> Gate {
        let gate = Gate {
            port: free_port(),
            target,
            open: Arc::new(AtomicBool::new(false)),
            conns: Arc::default(),
        };
        gate.restore();
        gate
    }

    /// The target becomes unreachable: the port refuses connections and the open ones
    /// are shut.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
        // Let the accept loop drop its listener.
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "the gate did not close");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Listens again on the same port.
    pub fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("gate port");
        listener.set_nonblocking(true).unwrap();
        self.open.store(true, Ordering::SeqCst);
        let (open, conns, target) = (self.open.clone(), self.conns.clone(), self.target);
        std::thread::spawn(move || {
            while open.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                            continue;
                        };
                        conns.lock().unwrap().push(client.try_clone().unwrap());
                        conns.lock().unwrap().push(server.try_clone().unwrap());
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.open.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` into `to` on a thread until either side closes.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
