//! The gateway on the PostgreSQL store (`--store postgres://...`, issue 22), through the
//! real binary over loopback HTTP, against a real PostgreSQL server the tests start.
//! These run in every `cargo test`; `WAGATE_TEST_STORE=postgres` also runs the store
//! suites and every gateway test on PostgreSQL (see `common::postgres`).

use std::process::{Command, Stdio};

use serde_json::json;

use crate::common::postgres::{self, Postgres};
use crate::common::{ADMIN, Gateway, refused_start};

const PEER: &str = "5511999999999";

fn on_postgres(data: &std::path::Path, url: &str) -> Gateway {
    Gateway::start_on_with_env(data, &[], &[("WAGATE_STORE", url)])
}

fn count(url: &str, sql: &str) -> u64 {
    postgres::shared()
        .query(Postgres::database_of(url), sql)
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn state_lives_in_postgresql_and_survives_a_restart() {
    let pg = postgres::shared();
    let url = pg.fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    let gw = on_postgres(&data, &url);
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "shop");
    let kept = gw.inbound("shop", PEER, "kept", false);
    let doomed = gw.inbound("shop", PEER, "doomed", false);
    let (s, _) = gw.call(
        "DELETE",
        &format!("/core/instances/shop/messages/{doomed}"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200);
    assert!(gw.stop().success());

    // What is stored is in PostgreSQL, not in a redb file.
    assert!(!data.join("wagate.redb").exists(), "no redb file is made");
    assert_eq!(
        count(
            &url,
            "select count(*) from wagate_kv where tbl = 'messages'"
        ),
        1,
        "the kept message, and not the deleted one"
    );
    assert_eq!(
        count(&url, "select max(version) from wagate_schema_migrations"),
        2
    );

    // A new gateway on the same database (and a fresh data folder) finds it all.
    let tmp2 = tempfile::tempdir().unwrap();
    let gw = on_postgres(&tmp2.path().join("data"), &url);
    let (s, page) = gw.call(
        "GET",
        &format!("/core/instances/shop/chats/{PEER}/messages"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200, "{page}");
    let ids: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [kept.as_str()]);
    let (s, sent) = gw.call(
        "POST",
        "/core/instances/shop/messages",
        Some(&key),
        Some(json!({"to": PEER, "text": "after the restart"})),
    );
    assert_eq!(s, 201, "{sent}");
    assert_eq!(
        count(
            &url,
            "select count(*) from wagate_kv where tbl = 'messages'"
        ),
        2
    );
}

#[test]
fn one_gateway_per_database_outside_cluster_mode() {
    let url = postgres::shared().fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let gw = on_postgres(&tmp.path().join("a"), &url);
    let err = refused_start(&[("WAGATE_STORE", &url), ("WAGATE_ADMIN_TOKEN", ADMIN)]);
    assert!(
        err.contains("in use by another gateway"),
        "the second gateway says why: {err}"
    );
    // Once the first is gone, the lock goes with its session.
    assert!(gw.stop().success());
    let gw = on_postgres(&tmp.path().join("b"), &url);
    assert_eq!(gw.admin("GET", "/admin/orgs", None).0, 200);
}

#[test]
fn a_database_asked_for_tls_is_reached_over_tls_with_its_certificate_checked() {
    let pg = postgres::shared();
    let url = pg.fresh_database();
    let over_tls = format!("{url}?sslmode=require");
    // The server's certificate is checked: without its CA the start is refused.
    let err = refused_start(&[("WAGATE_STORE", &over_tls), ("WAGATE_ADMIN_TOKEN", ADMIN)]);
    assert!(err.contains("TLS") || err.contains("certificate"), "{err}");

    let tmp = tempfile::tempdir().unwrap();
    let ca = pg.ca_file.to_str().unwrap();
    let gw = Gateway::start_on_with_env(
        &tmp.path().join("data"),
        &[],
        &[("WAGATE_STORE", &over_tls), ("WAGATE_EXTRA_CA_FILE", ca)],
    );
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "shop");
    gw.inbound("shop", PEER, "over tls", false);
    // PostgreSQL says every connection of the gateway to this database is encrypted.
    let (on, off) = ("s.ssl", "not s.ssl");
    let connections = |which: &str| {
        count(
            &url,
            &format!(
                "select count(*) from pg_stat_ssl s join pg_stat_activity a using (pid)
                 where a.datname = current_database() and a.application_name = 'wagate'
                 and {which}"
            ),
        )
    };
    assert!(connections(on) >= 2, "the writer's and a reader's at least");
    assert_eq!(connections(off), 0);
}

#[test]
fn a_store_that_cannot_be_reached_or_parsed_refuses_the_start() {
    let closed = crate::common::brokers::free_port();
    let err = refused_start(&[(
        "WAGATE_STORE",
        &format!("postgres://wagate@127.0.0.1:{closed}/nothing"),
    )]);
    assert!(
        err.contains("connecting to PostgreSQL"),
        "an unreachable database is named: {err}"
    );
    let err = refused_start(&[("WAGATE_STORE", "postgres://wagate@127.0.0.1:notaport/x")]);
    assert!(
        err.contains("PostgreSQL URL is not valid"),
        "a malformed URL is named: {err}"
    );
    // A database that does not exist: the server's own reason.
    let err = refused_start(&[("WAGATE_STORE", &postgres::shared().url("no_such_database"))]);
    assert!(err.contains("no_such_database"), "{err}");
}

#[test]
fn the_url_is_not_printed_with_its_password() {
    // `--help` shows the variable without its value.
    let out = Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args(["serve", "--help"])
        .env("WAGATE_STORE", "postgres://wagate:hunter2@127.0.0.1/x")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("WAGATE_STORE"), "{help}");
    assert!(!help.contains("hunter2"), "{help}");
}

/// The store suites and the real WhatsApp link's tests once more, with every store on
/// PostgreSQL: this test binary runs itself with `WAGATE_TEST_STORE=postgres` and
/// those modules' filters (inside `cargo test`, so no second build is needed).
#[test]
fn the_store_suites_and_the_real_link_pass_on_postgresql() {
    if postgres::selected() {
        return; // already the inner run
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "core_store::",
            "whatsapp_store::",
            "whatsapp_gateway_fake::",
            "whatsapp_fake_",
            "--test-threads",
            "2",
        ])
        .env("WAGATE_TEST_STORE", "postgres")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failures: Vec<&str> = stdout.lines().filter(|l| l.ends_with("FAILED")).collect();
    assert!(
        out.status.success(),
        "on PostgreSQL: {failures:?}\n{}",
        stdout.lines().rev().take(40).collect::<Vec<_>>().join("\n")
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("test result:"))
        .unwrap_or_default();
    let passed: u32 = summary
        .split_whitespace()
        .skip_while(|w| *w != "ok.")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= 60, "the inner run ran the suites: {summary}");
}

/// Runs `wagate store <args>`; returns (success, stdout, stderr).
fn store_command(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wagate"))
        .arg("store")
        .args(args)
        .env_remove("WAGATE_STORE")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What a user checks after moving a store: the same credential opens the same
/// instance, its chat holds the same messages in order, its webhook is there, and
/// sending goes on (the message sequence continues, no id is reused).
fn same_state(gw: &Gateway, key: &str, ids: &[String]) {
    let (s, page) = gw.call(
        "GET",
        &format!("/core/instances/shop/chats/{PEER}/messages"),
        Some(key),
        None,
    );
    assert_eq!(s, 200, "{page}");
    let got: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.reverse(); // newest first
    assert_eq!(got, want);
    let (s, hooks) = gw.call("GET", "/core/instances/shop/webhooks", Some(key), None);
    assert_eq!(s, 200, "{hooks}");
    assert_eq!(hooks.as_array().map(Vec::len), Some(1), "{hooks}");
    let (s, sent) = gw.call(
        "POST",
        "/core/instances/shop/messages",
        Some(key),
        Some(json!({"to": PEER, "text": "after the move"})),
    );
    assert_eq!(s, 201, "{sent}");
    assert!(!ids.contains(&sent["id"].as_str().unwrap().to_string()));
}

#[test]
fn store_copy_moves_a_redb_install_into_postgresql_and_back() {
    if crate::common::redb_only("store_copy_moves_a_redb_install_into_postgresql_and_back") {
        return;
    }
    let pg = postgres::shared();
    let url = pg.fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data_str = data.to_str().unwrap();

    // A single node on redb, with an org, a credential, an instance, a webhook and a chat.
    let gw = Gateway::start_on_with_env(&data, &[], &[]);
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "shop");
    // (Loopback: refused by the outbound guard, so no delivery leaves the machine.)
    let (s, hook) = gw.call(
        "PUT",
        "/core/instances/shop/webhooks",
        Some(&key),
        Some(json!([{"url": "http://127.0.0.1:9/in", "events": ["message_upsert"]}])),
    );
    assert_eq!(s, 200, "{hook}");
    let ids: Vec<String> = (0..5)
        .map(|i| gw.inbound("shop", PEER, &format!("hello {i}"), false))
        .collect();
    // The copy refuses a store a gateway has open.
    let (ok, _, err) = store_command(&["copy", "--from", data_str, "--to", &url]);
    assert!(!ok && err.contains("in use"), "{err}");
    assert!(gw.stop().success());
    crate::common::wait_store_free(&data);

    let (ok, out, err) = store_command(&["copy", "--from", data_str, "--to", &url]);
    assert!(ok, "{err}");
    assert!(out.starts_with("copied "), "{out}");
    assert!(
        !out.contains("hunter") && err.contains("messages: 5 rows"),
        "{err}"
    );
    assert_eq!(
        count(
            &url,
            "select count(*) from wagate_kv where tbl = 'messages'"
        ),
        5
    );
    // Into a store that holds something: refused, nothing written.
    let (ok, _, err) = store_command(&["copy", "--from", data_str, "--to", &url]);
    assert!(!ok && err.contains("not empty"), "{err}");

    // The gateway on PostgreSQL (a fresh data folder) serves the same state.
    let tmp2 = tempfile::tempdir().unwrap();
    let gw = on_postgres(&tmp2.path().join("data"), &url);
    same_state(&gw, &key, &ids);
    assert!(gw.stop().success());

    // And back, into a new data folder, which a redb gateway then serves.
    let back = tmp.path().join("back");
    let (ok, out, err) = store_command(&["copy", "--from", &url, "--to", back.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains(" to "), "{out}");
    let gw = Gateway::start_on_with_env(&back, &[], &[]);
    let mut with_sent = ids.clone();
    let (_, page) = gw.call(
        "GET",
        &format!("/core/instances/shop/chats/{PEER}/messages"),
        Some(&key),
        None,
    );
    // The one sent on PostgreSQL came along too.
    with_sent.push(page["messages"][0]["id"].as_str().unwrap().to_string());
    same_state(&gw, &key, &with_sent);

    // `store migrate` on a database: the schema version, the password not printed.
    let fresh = pg.fresh_database();
    let (ok, out, err) = store_command(&["migrate", "--store", &fresh]);
    assert!(ok, "{err}");
    assert!(out.contains("schema version"), "{out}");
}
