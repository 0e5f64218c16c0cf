//! Issue 16: an instance's contacts and groups are listed a page at a time (an
//! account may know tens of thousands of people and be in thousands of groups, and a
//! page is lifted whole into a dialect plugin): contacts natively (`?limit&cursor` ->
//! `next_cursor`), in RyzeAPI's `/api/contact/list` (`hasMore`, `nextCursor`) and
//! sessions/v1's `/contacts` (`nextCursor`); groups in RyzeAPI's `/api/group/list`
//! and sessions/v1's `/groups`, while Evolution's `fetchAllGroups` answers them all.
//! A walk visits each once; a bad limit or cursor is each dialect's own error.

use crate::common;

use common::Gateway;
use common::dialect_hooks::hook_all_dialects;
use common::evolution::evo_json;
use common::receiver::Receiver;
use common::ryze::ryze_json;
use common::v1::v1;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-contact-pages";

/// Walks every page of `first_path` (a path ending in `?limit=2`), following the
/// cursor `next` names in each answer; answers the JIDs seen, in order.
fn walk(
    fetch: impl Fn(&str) -> (u16, Value),
    first_path: &str,
    items: &str,
    jid: impl Fn(&Value) -> String,
    next: &str,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut path = first_path.to_string();
    for _ in 0..10 {
        let (s, v) = fetch(&path);
        assert_eq!(s, 200, "{path}: {v}");
        let page = v[items].as_array().unwrap();
        assert!(page.len() <= 2, "{v}");
        seen.extend(page.iter().map(&jid));
        match v[next].as_str() {
            Some(cursor) => path = format!("{first_path}&cursor={cursor}"),
            None => return seen,
        }
    }
    panic!("the walk did not end: {seen:?}");
}

#[test]
fn contacts_are_listed_a_page_at_a_time_in_every_dialect() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "pages";
    let hooked = hook_all_dialects(&gw, &rx, GLOBAL_KEY, name, &[], &[], &[]);
    let mut want: Vec<String> = (1..=5)
        .map(|n| format!("55119555500{n:02}@s.whatsapp.net"))
        .collect();
    for jid in &want {
        let (s, v) = gw.admin(
            "POST",
            &format!("/admin/sim/{name}/inbound"),
            Some(json!({"from": jid, "text": "hello"})),
        );
        assert_eq!(s, 201, "{v}");
    }
    want.sort();

    let native = walk(
        |p| gw.call("GET", p, Some(&hooked.bearer), None),
        &format!("/core/instances/{name}/contacts?limit=2"),
        "contacts",
        |c| c["jid"].as_str().unwrap().to_string(),
        "next_cursor",
    );
    assert_eq!(native, want);
    let ryze = walk(
        |p| ryze_json(&gw, "GET", p, Some(&hooked.account), Value::Null),
        &format!("/api/contact/list/{name}?limit=2"),
        "data",
        |c| c["jid"].as_str().unwrap().to_string(),
        "nextCursor",
    );
    assert_eq!(ryze, want);
    let sessions = walk(
        |p| v1(&gw, "GET", p, &hooked.bearer, None),
        &format!("/sessions/{}/contacts?limit=2", hooked.id),
        "data",
        |c| format!("{}@s.whatsapp.net", c["phoneNumber"].as_str().unwrap()),
        "nextCursor",
    );
    assert_eq!(sessions, want);

    // The last page says so.
    let (_, v) = ryze_json(
        &gw,
        "GET",
        &format!("/api/contact/list/{name}?limit=5"),
        Some(&hooked.account),
        Value::Null,
    );
    assert_eq!(
        (&v["hasMore"], &v["nextCursor"]),
        (&json!(false), &Value::Null),
        "{v}"
    );

    // Bad limits and cursors, in each dialect's shape.
    for q in ["limit=0", "limit=1001", "limit=x", "cursor=not-a-cursor"] {
        let (s, v) = gw.call(
            "GET",
            &format!("/core/instances/{name}/contacts?{q}"),
            Some(&hooked.bearer),
            None,
        );
        assert_eq!(
            (s, &v["error"]["code"]),
            (400, &json!("invalid")),
            "{q}: {v}"
        );
        let (s, v) = ryze_json(
            &gw,
            "GET",
            &format!("/api/contact/list/{name}?{q}"),
            Some(&hooked.account),
            Value::Null,
        );
        assert_eq!((s, &v["success"]), (400, &json!(false)), "{q}: {v}");
        assert!(v["error"]["message"].is_string(), "{q}: {v}");
        let (s, v) = v1(
            &gw,
            "GET",
            &format!("/sessions/{}/contacts?{q}", hooked.id),
            &hooked.bearer,
            None,
        );
        assert_eq!(
            (s, &v["error"]["code"]),
            (422, &json!("validation_error")),
            "{q}: {v}"
        );
    }

    // Another org's key reads none of them.
    let stranger = gw.org_with_key("pages-stranger", None);
    let (s, v) = gw.call(
        "GET",
        &format!("/core/instances/{name}/contacts"),
        Some(&stranger),
        None,
    );
    assert_eq!(s, 404, "{v}");
}

#[test]
fn groups_are_listed_a_page_at_a_time_in_ryze_and_sessions_v1() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "group-pages";
    let hooked = hook_all_dialects(&gw, &rx, GLOBAL_KEY, name, &[], &[], &[]);
    let mut want = Vec::new();
    for n in 1..=5 {
        let (s, g) = evo_json(
            &gw,
            "POST",
            &format!("/group/create/{name}"),
            Some(GLOBAL_KEY),
            Some(json!({"subject": format!("Team {n}"), "participants": ["5511955554444"]})),
        );
        assert_eq!(s, 201, "{g}");
        want.push(g["id"].as_str().unwrap().to_string());
    }
    want.sort();

    let ryze = walk(
        |p| ryze_json(&gw, "GET", p, Some(&hooked.account), Value::Null),
        &format!("/api/group/list/{name}?limit=2"),
        "groups",
        |g| g["jid"].as_str().or(g["id"].as_str()).unwrap().to_string(),
        "nextCursor",
    );
    assert_eq!(ryze, want);
    let sessions = walk(
        |p| v1(&gw, "GET", p, &hooked.bearer, None),
        &format!("/sessions/{}/groups?limit=2", hooked.id),
        "data",
        |g| g["id"].as_str().or(g["jid"].as_str()).unwrap().to_string(),
        "nextCursor",
    );
    assert_eq!(sessions, want);
    // Evolution's fetchAllGroups answers every group at once.
    let (s, all) = evo_json(
        &gw,
        "GET",
        &format!("/group/fetchAllGroups/{name}?getParticipants=false"),
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{all}");
    assert_eq!(all.as_array().unwrap().len(), 5, "{all}");

    for q in ["limit=0", "limit=201", "cursor=not-a-group"] {
        let (s, v) = ryze_json(
            &gw,
            "GET",
            &format!("/api/group/list/{name}?{q}"),
            Some(&hooked.account),
            Value::Null,
        );
        assert_eq!((s, &v["success"]), (400, &json!(false)), "{q}: {v}");
        let (s, v) = v1(
            &gw,
            "GET",
            &format!("/sessions/{}/groups?{q}", hooked.id),
            &hooked.bearer,
            None,
        );
        assert_eq!(
            (s, &v["error"]["code"]),
            (422, &json!("validation_error")),
            "{q}: {v}"
        );
    }
}
