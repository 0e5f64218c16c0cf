//! The rest of Evolution's top-level surface that is not a WhatsApp operation:
//! `POST /verify-creds`, and the routes nothing on the WhatsApp Web protocol can serve,
//! answered as Evolution answers them for a Baileys instance instead of a bare 404.
//!
//! | route | answer |
//! |---|---|
//! | POST /verify-creds | 200 `{"status":200,"message":"Credentials are valid"}` for an org-wide key; 401 otherwise |
//! | POST /message/sendTemplate/{i}, /message/sendList/{i}, /message/sendButtons/{i}, POST /call/offer/{i}, POST /template/create/{i}, GET /template/find/{i}, POST /business/getCatalog/{i}, /business/getCollections/{i}, POST /baileys/*/{i} | 400 `{"status":400,"error":"Bad Request","response":{"message":["Method not available in the Baileys service"]}}` |
//! | GET/POST /webhook/meta, POST /webhook/evolution | the same 400: the inbound webhooks of Evolution's Cloud API and Evolution channels, which a Baileys gateway has not |
//!
//! The text is Evolution's Baileys service's own (`templateMessage` throws it); the
//! shape is the `BadRequestException` Evolution answers when a channel lacks a
//! method (`Method not available on WhatsApp Business API`). Evolution lets the
//! Baileys `Error` of `sendTemplate` reach its error handler as a 500; wagate answers
//! 400 there too, since a 5xx tells a client the gateway failed and to retry.
//!
//! Each instance route runs Evolution's guards first (the `apikey`, the instance, an
//! instance token only for its own instance; `send` for message routes, `manage` for
//! the others), so a caller learns nothing about an instance it may not reach.
//!
//! Why these cannot be served: WhatsApp Web clients cannot send Cloud API templates;
//! list and button messages are refused or not shown by WhatsApp for non-Cloud-API
//! senders (and no core operation carries them); a call needs a voice engine the
//! gateway does not have (Evolution's own `offerCall` only pretends, answering a
//! made-up call id); whatsapp-rust 0.7 has no catalog or
//! collection query; `/baileys/*` exposes Baileys' own internals (its auth state, raw
//! nodes) that a gateway must not hand out.

use serde::Serialize;
use wagate_plugin_sdk::prelude::*;

use crate::shape::{self, Style};
use crate::{Cap, guard};

/// What Evolution's Baileys service says for a method it has not.
pub(crate) const NOT_AVAILABLE: &str = "Method not available in the Baileys service";

/// Routes under `/baileys` (Evolution's `baileys.router`), none served.
const BAILEYS_INTERNALS: [&str; 9] = [
    "onWhatsapp",
    "profilePictureUrl",
    "assertSessions",
    "createParticipantNodes",
    "getUSyncDevices",
    "generateMessageTag",
    "sendNode",
    "signalRepositoryDecryptMessage",
    "getAuthState",
];

/// Adds this module's routes to `r`.
pub(crate) fn routes(r: Router) -> Router {
    let mut r = r
        .post("/verify-creds", |req, _| verify_creds(req))
        .post("/message/sendTemplate/{instanceName}", |req, p| {
            not_on_channel(req, p, Cap::Send)
        })
        .post("/template/create/{instanceName}", |req, p| {
            not_on_channel(req, p, Cap::Manage)
        })
        .get("/template/find/{instanceName}", |req, p| {
            not_on_channel(req, p, Cap::Manage)
        })
        .post("/message/sendList/{instanceName}", |req, p| {
            not_on_channel(req, p, Cap::Send)
        })
        .post("/message/sendButtons/{instanceName}", |req, p| {
            not_on_channel(req, p, Cap::Send)
        })
        // whatsapp-rust places calls only with its `voip` engine (audio codecs,
        // relays), which the gateway does not build: it has no voice to carry.
        .post("/call/offer/{instanceName}", |req, p| {
            not_on_channel(req, p, Cap::Send)
        })
        .post("/business/getCatalog/{instanceName}", |req, p| {
            not_on_channel(req, p, Cap::Read)
        })
        .post("/business/getCollections/{instanceName}", |req, p| {
            not_on_channel(req, p, Cap::Read)
        })
        .get("/webhook/meta", |_, _| channel_error())
        .post("/webhook/meta", |_, _| channel_error())
        .post("/webhook/evolution", |_, _| channel_error());
    for route in BAILEYS_INTERNALS {
        r = r.post(format!("/baileys/{route}/{{instanceName}}"), |req, p| {
            not_on_channel(req, p, Cap::Manage)
        });
    }
    r
}

/// `verify-creds`' answer, fields in Evolution's order.
#[derive(Serialize)]
struct Valid {
    status: u16,
    message: &'static str,
}

/// Evolution's `POST /verify-creds`: only its global key passes its `apikey` guard
/// there (no instance in the path), so an org-wide key is valid and an instance
/// token is not. The Facebook fields are Evolution's Cloud API settings, unset here,
/// and so absent as in Evolution's JSON.
fn verify_creds(req: &Request) -> HttpResponse {
    match &req.caller {
        Some(c) if c.instance.is_none() => json(
            200,
            &Valid {
                status: 200,
                message: "Credentials are valid",
            },
        ),
        _ => shape::unauthorized(Style::Evolution),
    }
}

/// After the guards: the 400 Evolution answers for a method a channel has not.
fn not_on_channel(req: &Request, params: &Params, cap: Cap) -> HttpResponse {
    let name = params.get("instanceName").unwrap_or_default();
    if let Err(denied) = guard(req, name, Style::Evolution, cap) {
        return denied;
    }
    channel_error()
}

fn channel_error() -> HttpResponse {
    shape::evolution(400, [NOT_AVAILABLE])
}
