//! `probe`: a tiny dialect for benches and tests (not bundled: loaded by path from
//! `WAGATE_FIXTURES_DIR`).
//!
//! - `GET /instances`: the instances the caller sees (`id`, `name`, `state`).
//! - `GET /instances/{name}`: one instance.
//! - `GET /whoami`: the caller as the mount's auth plugins resolved it.
//!
//! Errors use wagate's neutral shape `{"error":{"code","message"}}`.

use wagate_plugin_sdk::dialect::Guest;
use wagate_plugin_sdk::prelude::*;

struct Probe;

fn instance_json(i: &Instance) -> serde_json::Value {
    serde_json::json!({
        "id": i.id,
        "name": i.name,
        "state": state_name(i.state),
        "owner_jid": i.owner_jid,
        "created_at": i.created_at,
    })
}

fn router() -> Router {
    Router::new()
        .get("/instances", |_req, _| match core::list_instances() {
            Ok(list) => json(200, &list.iter().map(instance_json).collect::<Vec<_>>()),
            Err(e) => core_error(&e),
        })
        .get("/instances/{name}", |_req, params| {
            let which = InstanceRef::Name(params.get("name").unwrap_or_default().into());
            match core::get_instance(&which) {
                Ok(i) => json(200, &instance_json(&i)),
                Err(e) => core_error(&e),
            }
        })
        .get("/whoami", |req, _| match &req.caller {
            Some(p) => json(
                200,
                &serde_json::json!({ "subject": p.subject, "org": p.org, "instance": p.instance }),
            ),
            None => json_error(401, "unauthorized", "no credential"),
        })
}

impl Guest for Probe {
    fn handle(req: HttpRequest, caller: Option<Principal>) -> HttpResponse {
        router().handle(&Request::new(req, caller))
    }

    fn render_event(_ev: Event, _target: RenderTarget, _hook: Option<Webhook>) -> Option<Vec<u8>> {
        None
    }

    fn openapi() -> String {
        r#"{"openapi":"3.1.0","info":{"title":"wagate probe","version":"0.1.0"},"paths":{"/instances":{"get":{"summary":"List instances"}},"/instances/{name}":{"get":{"summary":"One instance"}},"/whoami":{"get":{"summary":"The caller"}}}}"#.into()
    }
}

wagate_plugin_sdk::export_dialect!(Probe);
