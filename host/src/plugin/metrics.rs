//! Plugin counters, rendered in the Prometheus text format.
//!
//! Counters are kept per plugin name across reloads (a reloaded plugin keeps counting
//! from where its predecessor stopped).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a plugin call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The guest trapped (panic, `unreachable`, out-of-bounds access...).
    Trap,
    /// The guest ran past its deadline.
    Deadline,
    /// The guest grew its memory past the cap.
    Memory,
    /// The guest's output was not valid (bad status or header).
    Malformed,
    /// The instance could not be created.
    Instantiate,
}

impl FailureKind {
    /// Every kind, in metric order.
    pub const ALL: [FailureKind; 5] = [
        FailureKind::Trap,
        FailureKind::Deadline,
        FailureKind::Memory,
        FailureKind::Malformed,
        FailureKind::Instantiate,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Trap => "trap",
            FailureKind::Deadline => "deadline",
            FailureKind::Memory => "memory",
            FailureKind::Malformed => "malformed",
            FailureKind::Instantiate => "instantiate",
        }
    }
}

/// Counters of one plugin.
#[derive(Default)]
pub struct PluginCounters {
    /// Calls started (instantiate + one export call).
    pub calls: AtomicU64,
    /// Total call time, microseconds.
    pub call_micros: AtomicU64,
    /// Failures by [`FailureKind`] (index = position in `FailureKind::ALL`).
    pub failures: [AtomicU64; 5],
    /// Outbound calls refused by the allowlist.
    pub http_out_denied: AtomicU64,
}

impl PluginCounters {
    /// Count a finished call.
    pub fn record_call(&self, took: Duration) {
        self.calls.fetch_add(1, Relaxed);
        self.call_micros.fetch_add(took.as_micros() as u64, Relaxed);
    }

    /// Count a failure.
    pub fn record_failure(&self, kind: FailureKind) {
        let i = FailureKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(0);
        self.failures[i].fetch_add(1, Relaxed);
    }

    /// Failures of one kind so far.
    pub fn failures(&self, kind: FailureKind) -> u64 {
        let i = FailureKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(0);
        self.failures[i].load(Relaxed)
    }
}

/// A snapshot of one plugin's counters.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PluginHealth {
    /// Calls started.
    pub calls: u64,
    /// Mean call time, microseconds.
    pub mean_call_us: u64,
    /// Failed calls by kind (`trap`, `deadline`, `memory`, `malformed`, `instantiate`).
    pub failures: BTreeMap<&'static str, u64>,
    /// Outbound calls refused by the allowlist or the outbound guard.
    pub http_out_denied: u64,
}

/// All plugin counters of a host.
#[derive(Default)]
pub struct Metrics {
    plugins: Mutex<BTreeMap<String, Arc<PluginCounters>>>,
    /// Successful reloads.
    pub reloads_ok: AtomicU64,
    /// Refused reloads (the old set kept serving).
    pub reloads_failed: AtomicU64,
    /// Requests whose auth outcome was reused instead of running the mount's auth
    /// plugins (see `plugin::auth_cache`).
    pub auth_reused: AtomicU64,
}

impl Metrics {
    /// The counters of plugin `name` (created on first use).
    pub fn plugin(&self, name: &str) -> Arc<PluginCounters> {
        let mut map = self.plugins.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(name.to_string()).or_default().clone()
    }

    /// One plugin's counters so far, for the admin API and the console; `None` before
    /// its first call.
    pub fn health(&self, name: &str) -> Option<PluginHealth> {
        let map = self.plugins.lock().unwrap_or_else(|e| e.into_inner());
        let c = map.get(name)?;
        let calls = c.calls.load(Relaxed);
        Some(PluginHealth {
            calls,
            mean_call_us: c.call_micros.load(Relaxed).checked_div(calls).unwrap_or(0),
            failures: FailureKind::ALL
                .iter()
                .map(|k| (k.as_str(), c.failures(*k)))
                .collect(),
            http_out_denied: c.http_out_denied.load(Relaxed),
        })
    }

    /// Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let map = self.plugins.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP wagate_plugin_calls_total Plugin calls (instantiate + one export)."
        );
        let _ = writeln!(out, "# TYPE wagate_plugin_calls_total counter");
        for (name, c) in map.iter() {
            let _ = writeln!(
                out,
                "wagate_plugin_calls_total{{plugin=\"{name}\"}} {}",
                c.calls.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP wagate_plugin_call_seconds_total Time spent in plugin calls."
        );
        let _ = writeln!(out, "# TYPE wagate_plugin_call_seconds_total counter");
        for (name, c) in map.iter() {
            let secs = c.call_micros.load(Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "wagate_plugin_call_seconds_total{{plugin=\"{name}\"}} {secs}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP wagate_plugin_failures_total Failed plugin calls by kind."
        );
        let _ = writeln!(out, "# TYPE wagate_plugin_failures_total counter");
        for (name, c) in map.iter() {
            for kind in FailureKind::ALL {
                let _ = writeln!(
                    out,
                    "wagate_plugin_failures_total{{plugin=\"{name}\",kind=\"{}\"}} {}",
                    kind.as_str(),
                    c.failures(kind)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP wagate_plugin_http_out_denied_total Outbound calls refused by the allowlist or the outbound (SSRF) guard."
        );
        let _ = writeln!(out, "# TYPE wagate_plugin_http_out_denied_total counter");
        for (name, c) in map.iter() {
            let _ = writeln!(
                out,
                "wagate_plugin_http_out_denied_total{{plugin=\"{name}\"}} {}",
                c.http_out_denied.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP wagate_plugin_reloads_total Plugin set reloads by result."
        );
        let _ = writeln!(out, "# TYPE wagate_plugin_reloads_total counter");
        let _ = writeln!(
            out,
            "wagate_plugin_reloads_total{{result=\"ok\"}} {}",
            self.reloads_ok.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "wagate_plugin_reloads_total{{result=\"error\"}} {}",
            self.reloads_failed.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP wagate_auth_reused_total Requests answered with a reused auth outcome (no auth plugin call)."
        );
        let _ = writeln!(out, "# TYPE wagate_auth_reused_total counter");
        let _ = writeln!(
            out,
            "wagate_auth_reused_total {}",
            self.auth_reused.load(Relaxed)
        );
        out
    }
}
