//! Prometheus text metrics: requests by route and status, a latency histogram, and
//! (computed at scrape time by the server) instances by state.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// The server's counters and histogram, shared by every connection and rendered by
/// `GET /metrics`.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    requests: HashMap<(&'static str, u16), u64>,
    /// Cumulative-at-render counts per bucket, plus +Inf at the end.
    latency_buckets: [u64; BUCKETS.len() + 1],
    latency_sum: f64,
    latency_count: u64,
}

impl Metrics {
    /// Records one request. `route` is a fixed route template (bounded cardinality).
    pub fn observe(&self, route: &'static str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut m = self.inner.lock().expect("metrics lock");
        *m.requests.entry((route, status)).or_default() += 1;
        let idx = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        m.latency_buckets[idx] += 1;
        m.latency_sum += secs;
        m.latency_count += 1;
    }

    /// Renders the counters; `extra` is appended (instance gauges, plugin counters).
    pub fn render(&self, extra: &str) -> String {
        let m = self.inner.lock().expect("metrics lock");
        let mut out = String::new();
        out.push_str("# HELP wagate_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE wagate_http_requests_total counter\n");
        let mut rows: Vec<_> = m.requests.iter().collect();
        rows.sort();
        for ((route, status), n) in rows {
            let _ = writeln!(
                out,
                "wagate_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP wagate_http_request_duration_seconds Request latency.\n");
        out.push_str("# TYPE wagate_http_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += m.latency_buckets[i];
            let _ = writeln!(
                out,
                "wagate_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += m.latency_buckets[BUCKETS.len()];
        let _ = writeln!(
            out,
            "wagate_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let _ = writeln!(
            out,
            "wagate_http_request_duration_seconds_sum {}",
            m.latency_sum
        );
        let _ = writeln!(
            out,
            "wagate_http_request_duration_seconds_count {}",
            m.latency_count
        );
        out.push_str(extra);
        out
    }
}
