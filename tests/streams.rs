//! WebSocket event streams through the real binary: authorised by each dialect's auth
//! plugins, events rendered in that dialect's envelope.

use crate::common;

use std::time::Duration;

use common::Gateway;
use common::ryze::account;
use common::ws::{connect, next_json};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

const PEER: &str = "5511999999999";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ryze_stream_delivers_its_envelope_and_closes_on_delete() {
    let gw = tokio::task::spawn_blocking(Gateway::start).await.unwrap();
    let key = gw.org_with_key("acme", None);
    let token = account(&gw, "acme");
    gw.connected_instance(&key, "live");
    let mut ws = connect(&gw, "/ws/live", &[("token", &token)])
        .await
        .expect("upgrade");
    let id = gw.inbound("live", PEER, "hello stream", false);
    // Skip the connection-state event that may still be on its way from pairing.
    let mut ev = next_json(&mut ws).await;
    while ev["event"] == "instance.state" {
        ev = next_json(&mut ws).await;
    }
    assert_eq!(ev["event"], "message.exchange", "{ev}");
    assert!(ev.to_string().contains(&id), "{ev}");
    let (s, _) = gw.call("DELETE", "/core/instances/live", Some(&key), None);
    assert_eq!(s, 200);
    // The deletion event, then a normal close.
    let mut saw_close = false;
    for _ in 0..10 {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(frame))) => {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(1000));
                saw_close = true;
                break;
            }
            Some(Ok(_)) => {}
            None | Some(Err(_)) => break,
        }
    }
    assert!(saw_close, "the stream closes after the instance is deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_authorised_by_the_dialects_auth() {
    let gw = tokio::task::spawn_blocking(Gateway::start).await.unwrap();
    let key = gw.org_with_key("acme", None);
    let other = gw.org_with_key("other", None);
    let (inst, _) = gw.connected_instance(&key, "guarded");
    assert_eq!(connect(&gw, "/ws/guarded", &[]).await.err(), Some(401));
    assert_eq!(
        connect(&gw, "/ws/guarded", &[("token", "ryze_nope")])
            .await
            .err(),
        Some(401)
    );
    let other_ryze = account(&gw, "other");
    assert_eq!(
        connect(&gw, "/ws/guarded", &[("token", &other_ryze)])
            .await
            .err(),
        Some(404),
        "another org's instance"
    );
    // sessions/v1: a browser passes the api key as ?access_token=.
    let sid = inst["id"].as_str().unwrap();
    let mut ws = connect(
        &gw,
        &format!("/api/v1/sessions/{sid}/events?access_token={key}"),
        &[],
    )
    .await
    .expect("upgrade");
    let id = gw.inbound("guarded", PEER, "v1", false);
    let mut ev = next_json(&mut ws).await;
    while ev["event"] == "session.status" {
        ev = next_json(&mut ws).await;
    }
    assert_eq!(ev["schema"], "v1", "{ev}");
    assert_eq!(ev["event"], "message", "{ev}");
    assert_eq!(ev["session"], sid, "{ev}");
    assert!(ev.to_string().contains(&id), "{ev}");
    assert_eq!(
        connect(
            &gw,
            &format!("/api/v1/sessions/{sid}/events?access_token={other}"),
            &[]
        )
        .await
        .err(),
        Some(404)
    );
    // A plain GET on a stream path is not an upgrade: it goes to the dialect as usual.
    let (s, _) = gw.call("GET", "/api/v1/sessions/x/events", Some(&key), None);
    assert!(s == 404 || s == 405, "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_opens_its_stream_once() {
    let gw = tokio::task::spawn_blocking(Gateway::start).await.unwrap();
    let key = gw.org_with_key("acme", None);
    let (inst, _) = gw.connected_instance(&key, "ticketed");
    let (other, _) = gw.connected_instance(&key, "elsewhere");
    let sid = inst["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/sessions/{sid}/events");
    let (s, body) = gw.call("POST", &format!("{path}/ticket"), None, None);
    assert_eq!(s, 401, "a ticket needs the usual credential: {body}");
    let (s, t) = gw.call("POST", &format!("{path}/ticket"), Some(&key), None);
    assert_eq!(s, 201, "{t}");
    let ticket = t["ticket"].as_str().unwrap().to_string();
    assert!(t["expiresAt"].as_u64().is_some());

    // Not for another instance's stream.
    let other_path = format!(
        "/api/v1/sessions/{}/events?ticket={ticket}",
        other["id"].as_str().unwrap()
    );
    assert_eq!(connect(&gw, &other_path, &[]).await.err(), Some(401));
    // That attempt used it up: a ticket is single-use, even when refused.
    assert_eq!(
        connect(&gw, &format!("{path}?ticket={ticket}"), &[])
            .await
            .err(),
        Some(401)
    );

    let (_, t) = gw.call("POST", &format!("{path}/ticket"), Some(&key), None);
    let ticket = t["ticket"].as_str().unwrap().to_string();
    let mut ws = connect(&gw, &format!("{path}?ticket={ticket}"), &[])
        .await
        .expect("upgrade with a ticket");
    let id = gw.inbound("ticketed", PEER, "via ticket", false);
    let mut ev = next_json(&mut ws).await;
    while ev["event"] == "session.status" {
        ev = next_json(&mut ws).await;
    }
    assert!(ev.to_string().contains(&id), "{ev}");
    assert_eq!(
        connect(&gw, &format!("{path}?ticket={ticket}"), &[])
            .await
            .err(),
        Some(401),
        "used once"
    );
}
