//! `chatwoot`: keeps an instance's WhatsApp chats in a Chatwoot inbox, both ways. One
//! component, two worlds:
//!
//! - **sink** (`deliver`): the host calls it with each event of an instance that has a
//!   `chatwoot` integration, rendered as the native `/core` event JSON. Messages become
//!   Chatwoot messages (contact found or created by phone number, its open conversation
//!   in the inbox found or opened), revokes delete them (see `outbound.rs`). The host
//!   lets http-out reach the integration URL's host during the call and adds the
//!   integration's secret headers (Chatwoot's `api_access_token`), so the token never
//!   enters this plugin.
//! - **dialect** (`handle`): `POST /chatwoot/webhook/{instanceName}?token=...`, the
//!   webhook Chatwoot calls: agent replies are sent on WhatsApp, deleted messages are
//!   revoked (see `inbound.rs`). The mount's `url-token` auth plugin resolves `token`
//!   (the integration's inbound secret) to a principal bound to the instance.
//!
//! An integration is set through a dialect's Chatwoot endpoints (Evolution's
//! `POST /chatwoot/set/{instance}`), which call `core.set-integration` with sink
//! `chatwoot`, the Chatwoot base URL as `url`, the token as the secret header
//! `api_access_token`, and these **settings** (a JSON object, Evolution's names):
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `accountId` | string or number | required | Chatwoot account id |
//! | `inboxId` | number | none | use this inbox (else look it up by `nameInbox`) |
//! | `nameInbox` | string | instance name | inbox to find (or create) by name |
//! | `autoCreate` | bool | false | create the inbox (API channel) when none has that name |
//! | `signMsg` | bool | false | prefix agent replies with `*Agent name:*` |
//! | `signDelimiter` | string | `\n` | between that prefix and the text |
//! | `reopenConversation` | bool | false | reuse the latest conversation even when resolved |
//! | `conversationPending` | bool | false | open new conversations as `pending` |
//! | `ignoreJids` | list of strings | `[]` | chats never synced: JIDs, or `@g.us` / `@s.whatsapp.net` |
//! | `serverUrl` | string | none | this gateway's public URL, for the auto-created inbox's webhook `{serverUrl}/chatwoot/webhook/{instance}?token={inbound secret}` |
//!
//! Idempotency: every WhatsApp message id is mapped to its Chatwoot message (and back)
//! in the plugin's `storage`, so a re-delivered event never posts twice, also when an
//! earlier POST reached Chatwoot but its answer was lost (an intent marker, then a
//! lookup by `source_id` `WAID:<id>`). Chatwoot 5xx, 408, 429 and timeouts are retried;
//! 401/403/422 are permanent (dead-lettered with the reason); a 404 on a delete is done.
//!
//! Not synced (yet): media bytes (the agent sees `[media: file]`), agent attachments,
//! contact names and avatars, message edits, history import.

use serde_json::json;
use wagate_plugin_sdk::dialect::Guest as DialectGuest;
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::sink::{Delivery, Destination, Guest as SinkGuest, Outgoing};
use wagate_plugin_sdk::storage;

mod api;
mod env;
mod host;
mod inbound;
mod keys;
mod openapi;
mod outbound;
mod settings;
#[cfg(test)]
mod tests;

use outbound::{Outcome, Sync};
use settings::Settings;

struct Chatwoot;

impl SinkGuest for Chatwoot {
    fn deliver(_destination: Option<Destination>, batch: Vec<Outgoing>) -> Delivery {
        for out in batch {
            match deliver_one(&out) {
                Outcome::Done => {}
                Outcome::Retry(why) => {
                    wagate_plugin_sdk::log::warn(&format!(
                        "instance {}: Chatwoot sync will retry: {why}",
                        out.event.instance_name
                    ));
                    // The dispatcher's backoff decides the delay.
                    return Delivery::RetryAfter(0);
                }
                Outcome::Permanent(why) => return Delivery::Permanent(why),
            }
        }
        Delivery::Ok
    }
}

fn deliver_one(out: &Outgoing) -> Outcome {
    let instance = &out.event.instance_id;
    // Removed or disabled since the event was queued: nothing to mirror.
    let Some(integration) = storage::integration(instance) else {
        return Outcome::Done;
    };
    if !integration.enabled {
        return Outcome::Done;
    }
    let settings = match Settings::parse(&integration.settings) {
        Ok(s) => s,
        Err(e) => return Outcome::Permanent(e),
    };
    let webhook_url = settings
        .server_url
        .as_deref()
        .map(|base| webhook_url(base, &out.event.instance_name, &integration.inbound_secret));
    let net = host::HostNet;
    let kv = host::HostKv {
        instance_id: instance.clone(),
    };
    Sync {
        api: api::Chatwoot::new(&net, &integration.url, &settings.account_id),
        kv: &kv,
        settings: &settings,
        instance_name: &out.event.instance_name,
        webhook_url,
    }
    .event(&out.body)
}

/// `{base}/chatwoot/webhook/{instance}?token={secret}`: where Chatwoot posts its
/// webhooks for this instance.
pub fn webhook_url(base: &str, instance: &str, secret: &str) -> String {
    format!(
        "{}/chatwoot/webhook/{}?token={}",
        base.trim_end_matches('/'),
        wagate_plugin_sdk::url::encode(instance),
        wagate_plugin_sdk::url::encode(secret)
    )
}

fn answer((status, body): inbound::Answer) -> HttpResponse {
    json(status, &body)
}

fn refuse(status: u16, why: &str) -> HttpResponse {
    json(status, &json!({ "status": "error", "reason": why }))
}

/// `POST /{instanceName}` under the mount (`/chatwoot/webhook`).
fn webhook(req: &Request, name: &str) -> HttpResponse {
    let Some(caller) = &req.caller else {
        return refuse(401, "missing or unknown token");
    };
    let instance = match core::get_instance(&InstanceRef::Name(name.to_string())) {
        Ok(i) => i,
        Err(CoreError::NotFound(_)) | Err(CoreError::Forbidden(_)) => {
            return refuse(404, "no such instance");
        }
        Err(e) => return refuse(500, &wagate_plugin_sdk::http::core_error_message(&e)),
    };
    // Only the integration's inbound secret (bound to this very instance) is accepted:
    // an org-wide key does not belong in a URL Chatwoot stores.
    if caller.instance.as_deref() != Some(instance.id.as_str()) {
        return refuse(401, "the token is not this instance's Chatwoot token");
    }
    let Some(integration) = storage::integration(&instance.id) else {
        return refuse(404, "the instance has no Chatwoot integration");
    };
    if !integration.enabled {
        return answer((
            200,
            json!({ "status": "ignored", "reason": "integration disabled" }),
        ));
    }
    let settings = match Settings::parse(&integration.settings) {
        Ok(s) => s,
        Err(e) => return refuse(500, &e),
    };
    let action = match inbound::parse(&req.raw.body) {
        Ok(a) => a,
        Err(e) => return refuse(400, &e),
    };
    let kv = host::HostKv {
        instance_id: instance.id.clone(),
    };
    let wa = host::HostWa {
        instance_id: instance.id.clone(),
    };
    answer(inbound::execute(action, &settings, &kv, &wa))
}

impl DialectGuest for Chatwoot {
    fn handle(req: HttpRequest, caller: Option<Principal>) -> HttpResponse {
        Router::new()
            .post("/{instanceName}", |req, params| {
                webhook(req, params.get("instanceName").unwrap_or_default())
            })
            .get("/openapi.json", |_, _| HttpResponse {
                status: 200,
                headers: vec![header("content-type", "application/json")],
                body: openapi::document().into_bytes(),
            })
            .method_not_allowed(|_, _| refuse(405, "method not allowed on this path"))
            .fallback(|_, _| refuse(404, "no such route"))
            .handle(&Request::new(req, caller))
    }

    fn render_event(_ev: Event, _target: RenderTarget, _hook: Option<Webhook>) -> Option<Vec<u8>> {
        // Deliveries to the integration carry the native JSON; this dialect has no
        // webhooks of its own.
        None
    }

    fn openapi() -> String {
        openapi::document()
    }
}

wagate_plugin_sdk::export_sink!(Chatwoot);
wagate_plugin_sdk::export_dialect!(Chatwoot);
