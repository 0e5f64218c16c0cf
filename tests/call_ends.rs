//! Issue 17, calls other than offers: how an offered call ended (missed, or taken or
//! declined on the phone) is a `call_ended` event in each dialect's shape: Evolution
//! `CALL` (Baileys' `WACallEvent`, `status` `timeout` or `terminate`), RyzeAPI
//! `call.update` with `ended`, sessions/v1 `call.ended`. The sim reports an end at
//! `/admin/sim/{i}/call-end`.

use crate::common;

use common::Gateway;
use common::receiver::{Received, Receiver};
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-call-ends";
const CALLER: &str = "5511988887777";
const CALLER_JID: &str = "5511988887777@s.whatsapp.net";

fn at<'a>(got: &'a [Received], path: &str) -> Vec<&'a Value> {
    got.iter()
        .filter(|r| r.path == path)
        .map(|r| &r.body)
        .collect()
}

#[test]
fn a_missed_call_and_one_taken_on_the_phone_are_reported_in_every_dialect() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let account = gw.credential("default", "ryze-account");
    let bearer = gw.credential("default", "api-key");
    let name = "ringing";
    let (instance, _) = gw.connected_instance(&bearer, name);
    let sid = instance["id"].as_str().unwrap().to_string();
    common::evolution::set_webhook(&gw, GLOBAL_KEY, name, &rx.url("evolution"), &["CALL"]);
    common::ryze::set_webhook(&gw, &account, name, &rx.url("ryze"), &["call.update"]);
    common::v1::set_webhook(&gw, &bearer, &sid, &rx.url("v1"), &["call.ended"]);

    let (s, offer) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/call"),
        Some(json!({"from": CALLER})),
    );
    assert_eq!(s, 201, "{offer}");
    let call_id = offer["id"].as_str().unwrap().to_string();
    for reason in ["missed", "accepted_elsewhere"] {
        let (s, v) = gw.admin(
            "POST",
            &format!("/admin/sim/{name}/call-end"),
            Some(json!({"id": call_id, "from": CALLER, "reason": reason})),
        );
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["reason"], reason);
    }
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/call-end"),
        Some(json!({"id": call_id, "from": CALLER, "reason": "hung_up"})),
    );
    assert_eq!(s, 400, "{v}");

    // The offer and two ends per dialect (sessions/v1 hears the ends only).
    let got = rx.wait_until_all("the calls in every dialect", |got| {
        at(got, "/evolution").len() >= 3 && at(got, "/ryze").len() >= 3 && at(got, "/v1").len() >= 2
    });
    let evolution = at(&got, "/evolution");
    let statuses: Vec<&Value> = evolution.iter().map(|b| &b["data"]["status"]).collect();
    assert_eq!(statuses, ["offer", "timeout", "terminate"]);
    assert_eq!(evolution[2]["event"], "CALL");
    assert_eq!(evolution[2]["data"]["id"], call_id.as_str());
    assert_eq!(evolution[2]["data"]["from"], CALLER_JID);
    assert_eq!(evolution[2]["data"]["reason"], "accepted_elsewhere");
    let ryze = at(&got, "/ryze");
    assert_eq!(ryze[1]["event"], "call.update");
    assert_eq!(ryze[1]["data"]["ended"], "missed");
    assert_eq!(ryze[1]["data"]["missed"], true);
    assert_eq!(ryze[2]["data"]["ended"], "accepted_elsewhere");
    assert_eq!(ryze[2]["data"]["missed"], false);
    let v1 = at(&got, "/v1");
    assert_eq!(v1[0]["event"], "call.ended");
    assert_eq!(
        (&v1[0]["payload"]["id"], &v1[0]["payload"]["reason"]),
        (&json!(call_id), &json!("missed"))
    );
    assert_eq!(v1[1]["payload"]["reason"], "accepted_elsewhere");
}
