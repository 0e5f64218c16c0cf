//! A webhook receiver on loopback for the webhook tests: records every accepted
//! request's path, headers and body, and answers each call with a status the test
//! scripts (200 by default). Used as `common::receiver`.
#![allow(dead_code)]
// A test binary has no library API: `pub` here only means "usable from the test
// files", so the workspace's `unreachable_pub` lint is noise for this harness.
#![allow(unreachable_pub)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
    /// The body's bytes as sent (signatures are computed over these).
    pub raw: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request as a loopback fake reads it.
pub struct Request {
    pub method: String,
    pub path: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub raw: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request (request line, headers, `Content-Length` body); `None` when the
/// connection closed early.
pub fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut request = Request {
        method,
        path,
        headers,
        raw: Vec::new(),
    };
    let len: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    request.raw = vec![0; len];
    reader.read_exact(&mut request.raw).ok()?;
    Some(request)
}

pub struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// A receiver that accepts everything.
    pub fn start() -> Receiver {
        Self::start_with(|_| 200)
    }

    /// A receiver answering call number `n` (from 1) with `status(n)`; only 2xx calls
    /// are recorded.
    pub fn start_with(status: impl Fn(usize) -> u16 + Send + 'static) -> Receiver {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap(), status)
    }

    /// As [`Receiver::start_with`], on a listener the test bound itself (e.g. on a port
    /// reserved before the receiver comes up).
    pub fn start_on(
        listener: TcpListener,
        status: impl Fn(usize) -> u16 + Send + 'static,
    ) -> Receiver {
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        std::thread::spawn(move || {
            let mut calls = 0;
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let Some(request) = read_request(&mut reader) else {
                    continue;
                };
                calls += 1;
                let code = status(calls);
                if (200..300).contains(&code) {
                    let body = serde_json::from_slice(&request.raw).unwrap_or(Value::Null);
                    sink.lock().unwrap().push(Received {
                        path: request.path,
                        headers: request.headers,
                        body,
                        raw: request.raw,
                    });
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Receiver { port, got }
    }

    /// `http://127.0.0.1:<port>/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    pub fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (up to 15 s) until some request satisfies `pred`; returns everything
    /// received so far.
    pub fn wait_until(&self, what: &str, pred: impl Fn(&Received) -> bool) -> Vec<Received> {
        self.wait_until_all(what, |got| got.iter().any(&pred))
    }

    /// Waits until `pred` holds for everything recorded so far; returns that same
    /// snapshot, so what the caller asserts on is exactly what satisfied the wait.
    pub fn wait_until_all(&self, what: &str, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.all();
            if pred(&got) {
                return got;
            }
            if start.elapsed() > Duration::from_secs(15) {
                panic!("{what} never arrived; got {got:#?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `n` requests were recorded or `within` passed; returns them.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.all();
            if got.len() >= n || start.elapsed() > within {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
