//! What a dialect pays for its router on every request: build a table the size of the
//! bundled dialects' (about 120 routes, as `sessions-v1`, `evolution` and `ryze` have),
//! then dispatch one request that matches late in the table. Each plugin call runs in a
//! fresh instance, so the table is built once per request.
//!
//! `cargo bench -p wagate-plugin-sdk --bench router` (native; the guest runs the same
//! code compiled to wasm32, where allocation is dearer still).

use std::hint::black_box;
use std::time::Instant;

use wagate_plugin_sdk::http::{Request, text};
use wagate_plugin_sdk::router::{Params, Router};
use wagate_plugin_sdk::types::{HttpRequest, HttpResponse};

const ROUTES: usize = 120;

fn ok(_: &Request, _: &Params) -> HttpResponse {
    text(200, "")
}

/// `ROUTES` routes shaped like a dialect's (`/sessions/{sid}/area{n}/{id}` under GET and
/// POST), none of which the request below matches: it matches the last route only.
fn table() -> Router {
    let mut r = Router::new();
    for pattern in patterns() {
        r = r.get(*pattern, ok).post(*pattern, ok);
    }
    r.get("/sessions/{sid}/chats/{cid}/messages", ok)
}

/// The patterns a dialect writes are literals (`&'static str`): made once and leaked,
/// so that the loop measures building from static strings as the dialects do.
fn patterns() -> &'static [&'static str] {
    use std::sync::OnceLock;
    static P: OnceLock<Vec<&'static str>> = OnceLock::new();
    P.get_or_init(|| {
        (0..ROUTES / 2 - 1)
            .map(|n| &*Box::leak(format!("/sessions/{{sid}}/area{n}/{{id}}").into_boxed_str()))
            .collect()
    })
}

fn request() -> Request {
    Request::new(
        HttpRequest {
            method: "GET".into(),
            path: "/m/sessions/s1/chats/5511999999999%40s.whatsapp.net/messages".into(),
            mount: "/m".into(),
            query: Some("limit=20".into()),
            headers: Vec::new(),
            body: Vec::new(),
        },
        None,
    )
}

fn main() {
    let req = request();
    assert_eq!(table().handle(&req).status, 200);
    for (what, build_only) in [("build the table", true), ("build + dispatch", false)] {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let iters = 20_000;
            let start = Instant::now();
            for _ in 0..iters {
                let router = black_box(table());
                if !build_only {
                    black_box(router.handle(&req));
                }
            }
            best = best.min(start.elapsed().as_secs_f64() * 1e9 / iters as f64);
        }
        println!(
            "router ({ROUTES} routes): {what}: {:.0} ns (best of 5)",
            best
        );
    }
}
