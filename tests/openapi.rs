//! Each dialect's served OpenAPI document against the server's routing: a documented
//! path under an undeclared method answers 405 with `Allow` (the methods the document
//! declares) in the dialect's error shape; `links` name operations that exist; and
//! Evolution's `connect` answers each match exactly one branch of its `oneOf`.
//! (The property-based run of every document is `tests/openapi/conformance.py`.)

use crate::common;

use common::Gateway;
use serde_json::{Value, json};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn document(gw: &Gateway, mount: &str) -> Value {
    let resp = gw.raw("GET", &format!("{mount}/openapi.json"), &[], b"");
    assert_eq!(resp.status, 200, "{mount}/openapi.json");
    resp.json()
}

/// The methods a document declares for a path item, upper-case.
fn declared(item: &Value) -> Vec<String> {
    item.as_object()
        .unwrap()
        .keys()
        .map(|m| m.to_ascii_uppercase())
        .filter(|m| METHODS.contains(&m.as_str()))
        .collect()
}

/// Whether a concrete path matches a document's path template.
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
}

#[test]
fn undeclared_methods_on_documented_paths_answer_405_with_allow_in_each_dialects_shape() {
    // The sweep sends more requests than Ryze's default 100 a minute per token.
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("wagate.toml");
    std::fs::write(
        &cfg,
        "[plugins.settings.ryze]\nconfig = { rate_limit = 1000000 }\n",
    )
    .unwrap();
    let gw = Gateway::start_on(
        &tmp.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    gw.org_with_key("acme", None);
    // RyzeAPI limits each token to 100 calls a minute, fewer than its documented
    // method/path pairs: each path gets a token of its own.
    let ryze_token = || {
        let (s, v) = gw.admin(
            "POST",
            "/admin/credentials",
            Some(json!({"org": "acme", "kind": "ryze-account"})),
        );
        assert_eq!(s, 201, "{v}");
        v["token"].as_str().unwrap().to_string()
    };

    // (mount, auth header, what marks the dialect's error shape)
    type Shape = fn(&Value) -> bool;
    type Dialect<'a> = (&'a str, Vec<(&'a str, &'a str)>, Shape);
    let dialects: [Dialect; 4] = [
        ("/api", vec![("token", "")], |b| {
            b["success"] == false && b["error"]["message"].is_string()
        }),
        ("", vec![], |b| {
            b["status"] == 405 && b["error"] == "Method Not Allowed"
        }),
        ("/api/v1", vec![], |b| {
            b["error"]["code"] == "method_not_allowed" && b["error"]["details"].is_object()
        }),
        ("/chatwoot/webhook", vec![], |b| b["status"] == "error"),
    ];
    let mut checked = 0;
    for (mount, headers, shape) in &dialects {
        let doc = document(&gw, mount);
        let paths = doc["paths"].as_object().unwrap();
        for path in paths.keys() {
            // Any value fills a path parameter: routing does not look at it.
            let concrete: String = path
                .split('/')
                .map(|s| if s.starts_with('{') { "x" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            // The methods of every documented path the concrete one matches (Chatwoot's
            // `POST /{instanceName}` also takes `/openapi.json`).
            let mut allowed: Vec<String> = Vec::new();
            for (template, item) in paths {
                if matches(template, &concrete) {
                    for m in declared(item) {
                        if !allowed.contains(&m) {
                            allowed.push(m);
                        }
                    }
                }
            }
            let token = if *mount == "/api" {
                ryze_token()
            } else {
                String::new()
            };
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|&(k, v)| {
                    if k == "token" {
                        (k, token.as_str())
                    } else {
                        (k, v)
                    }
                })
                .collect();
            for method in METHODS.iter().filter(|m| !allowed.iter().any(|a| a == *m)) {
                let url = format!("{mount}{concrete}");
                let resp = gw.raw(method, &url, &headers, b"");
                assert_eq!(resp.status, 405, "{method} {url}: {:?}", resp.json());
                let mut allow: Vec<String> = resp
                    .header("allow")
                    .unwrap_or_else(|| panic!("{method} {url}: no Allow header"))
                    .split(',')
                    .map(|m| m.trim().to_string())
                    .collect();
                allow.sort();
                let mut want = allowed.clone();
                want.sort();
                assert_eq!(allow, want, "{method} {url}: Allow");
                assert!(shape(&resp.json()), "{method} {url}: {}", resp.json());
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} method/path pairs checked");
}

#[test]
fn links_name_operations_that_exist_and_feed_their_parameters() {
    let gw = Gateway::start();
    for mount in ["/api", "", "/api/v1", "/chatwoot/webhook"] {
        let doc = document(&gw, mount);
        let mut ops: Vec<(String, Value)> = Vec::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for (method, op) in item.as_object().unwrap() {
                if METHODS.contains(&method.to_ascii_uppercase().as_str()) {
                    let id = op["operationId"].as_str();
                    assert!(id.is_some(), "{mount}: an operation without operationId");
                    ops.push((id.unwrap().to_string(), op.clone()));
                }
            }
        }
        let mut links = 0;
        for (from, op) in &ops {
            for resp in op["responses"].as_object().unwrap().values() {
                let Some(l) = resp["links"].as_object() else {
                    continue;
                };
                for (name, link) in l {
                    let target = link["operationId"].as_str().unwrap();
                    let (_, target_op) = ops
                        .iter()
                        .find(|(id, _)| id == target)
                        .unwrap_or_else(|| panic!("{mount} {from}: link {name} to {target}"));
                    for key in link["parameters"].as_object().unwrap().keys() {
                        let (place, param) = key.split_once('.').unwrap();
                        let found = target_op["parameters"].as_array().is_some_and(|ps| {
                            ps.iter().any(|p| p["in"] == place && p["name"] == param)
                        });
                        assert!(found, "{mount} {from} -> {target}: no {key}");
                    }
                    links += 1;
                }
            }
        }
        // The Chatwoot mount has no resource to create.
        if mount != "/chatwoot/webhook" {
            assert!(links >= 9, "{mount}: {links} links");
        }
    }
}

/// The branches of a `oneOf` an answer matches, judged by their required properties
/// (what makes them distinguishable).
fn matching_branches(doc: &Value, one_of: &Value, answer: &Value) -> usize {
    one_of
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| {
            let name = b["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
            let schema = &doc["components"]["schemas"][name];
            let required = schema["required"].as_array().unwrap();
            !required.is_empty()
                && required
                    .iter()
                    .all(|k| answer.get(k.as_str().unwrap()).is_some())
        })
        .count()
}

#[test]
fn evolution_connect_answers_match_exactly_one_branch() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", "global-key")]);
    let doc = document(&gw, "");
    let one_of = &doc["paths"]["/instance/connect/{instanceName}"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"]["oneOf"];
    let h = [
        ("apikey", "global-key"),
        ("content-type", "application/json"),
    ];
    let created = gw.raw(
        "POST",
        "/instance/create",
        &h,
        br#"{"instanceName":"shop"}"#,
    );
    assert_eq!(created.status, 201, "{:?}", created.json());

    let qr = gw.raw("GET", "/instance/connect/shop", &h, b"");
    assert_eq!(qr.status, 200);
    assert!(qr.json()["code"].is_string(), "{}", qr.json());
    assert_eq!(
        matching_branches(&doc, one_of, &qr.json()),
        1,
        "{}",
        qr.json()
    );

    for _ in 0..200 {
        let s = gw.raw("GET", "/instance/connectionState/shop", &h, b"");
        if s.json()["instance"]["state"] == "open" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let open = gw.raw("GET", "/instance/connect/shop", &h, b"");
    assert_eq!(open.json()["instance"]["state"], "open", "{}", open.json());
    assert_eq!(
        matching_branches(&doc, one_of, &open.json()),
        1,
        "{}",
        open.json()
    );
}
