//! `evolution`: Evolution API v2's HTTP dialect, bundled with wagate and mounted at `/`
//! by default behind the `evolution-apikey` auth plugin.
//!
//! | method | path | |
//! |---|---|---|
//! | POST | /instance/create | create (`hash` is the instance's own token) |
//! | GET | /instance/connect/{instanceName} | QR (`base64` PNG data URL); `?number=` pair code |
//! | GET | /instance/connectionState/{instanceName} | `open` / `connecting` / `close` |
//! | GET | /instance/fetchInstances | `?instanceName=` / `?instanceId=` filters |
//! | POST | /instance/restart/{instanceName} | |
//! | DELETE | /instance/logout/{instanceName} | keeps the data; pair again with connect |
//! | DELETE | /instance/delete/{instanceName} | the spec's body, errors and rate limit |
//! | POST | /message/sendText/{instanceName} | `{number, text}` |
//! | POST | /chat/updateMessage/{instanceName} | `{number, key, text}`: edit an own text message (see edits.rs) |
//! | POST | /message/sendLocation, sendContact, sendPoll /{instanceName} | Evolution's DTOs (see content.rs) |
//! | POST | /message/sendStatus/{instanceName} | a status update to `SendStatusDto` (see status.rs) |
//! | POST | /message/sendReaction/{instanceName} | `{key:{remoteJid, fromMe, id}, reaction}` (`""` removes; see reactions.rs) |
//! | GET/POST | /chat/findChatByRemoteJid, /chat/findStatusMessage /{instanceName} | a chat by JID, messages' statuses (see lookup.rs) |
//! | POST | /chat/fetchProfile, /chat/updateProfileName, /chat/updateProfileStatus /{instanceName} | the account's profile (see profile.rs) |
//! | POST/GET | /settings/set, /settings/find /{instanceName} | the instance's behaviour switches (see settings.rs) |
//! | GET/POST | /label/findLabels, /label/handleLabel /{instanceName} | the account's chat labels; put one on a chat or take it off (see labels.rs) |
//! | POST/GET | /proxy/set, /proxy/find /{instanceName} | the instance's proxy, password masked on reads (see proxy.rs) |
//! | POST | /chat/markMessageAsRead, /chat/markChatUnread, /chat/sendPresence, /instance/setPresence /{instanceName} | read receipts and presence (see presence.rs) |
//! | POST | /message/sendMedia, sendWhatsAppAudio, sendSticker, sendPtv /{instanceName} | media (see media.rs) |
//! | POST | /chat/getBase64FromMediaMessage/{instanceName} | `{message:{key:{id}}}` -> the media as base64 |
//! | POST | /s3/getMedia, /s3/getMediaUrl /{instanceName} | a stored media record, its presigned URL on the S3 store (see s3.rs) |
//! | DELETE | /chat/deleteMessageForEveryone/{instanceName} | `{id, fromMe, remoteJid, participant?}` |
//! | POST | /chat/archiveChat/{instanceName} | `{chat | lastMessage.key.remoteJid, archive}` |
//! | POST | /chat/findMessages/{instanceName} | `{where, page, offset}` -> `{messages:{total,pages,currentPage,records}}` |
//! | POST | /chat/findChats/{instanceName} | `{where:{remoteJid}, take, skip}` -> `[...]` |
//! | POST | /webhook/set/{instanceName} | `{webhook:{enabled, url, headers?, events?}}` (see webhook.rs) |
//! | GET | /webhook/find/{instanceName} | the instance's webhook or `null` |
//! | POST | /websocket/set/{instanceName} | `{websocket:{enabled, events?}}`: what its Socket.IO namespace gets (see websocket.rs) |
//! | GET | /websocket/find/{instanceName} | the instance's websocket settings or `null` |
//! | POST | /rabbitmq/set/{instanceName}, /nats/set/{instanceName}, /sqs/set/{instanceName}, /kafka/set/{instanceName} | `{rabbitmq:{enabled, events?}}` / `{nats:{...}}` / `{sqs:{...}}` / `{kafka:{...}}`: the instance's events into the broker (see brokers.rs) |
//! | GET | /rabbitmq/find/{instanceName}, /nats/find/{instanceName}, /sqs/find/{instanceName}, /kafka/find/{instanceName} | the stored row or `null` |
//! | POST | /chatwoot/set/{instanceName} | Evolution's `ChatwootDto` -> the `chatwoot` integration (see chatwoot.rs) |
//! | GET | /chatwoot/find/{instanceName} | the integration in Evolution's shape, token masked, `webhook_url` |
//! | POST | /chat/whatsappNumbers, findContacts, fetchProfilePictureUrl, updateBlockStatus /{instanceName} | see contacts.rs |
//! | | /group/* (create, updateGroupSubject, updateGroupDescription, findGroupInfos, fetchAllGroups, participants, inviteCode, inviteInfo, acceptInviteCode, sendInvite, revokeInviteCode, updateParticipant, updateSetting, toggleEphemeral, leaveGroup) /{instanceName} | see group.rs |
//! | GET | / , /openapi.json | welcome, OpenAPI 3.1 (no key needed) |
//! | POST | /verify-creds | `Credentials are valid` for an org-wide key (see surface.rs) |
//! | | sendTemplate, sendList, sendButtons, /template/*, /business/*, /baileys/*, /webhook/meta, /webhook/evolution | "Method not available in the Baileys service", after the guards (see surface.rs) |
//!
//! `instance/create` takes Evolution's whole `InstanceDto`: `token` (a caller-chosen
//! instance token, 8-512 characters, stored hashed; refused if already some
//! credential's), `number` (the pair code's number with `qrcode`), `webhook` (set as
//! the instance's webhook), the flat `chatwoot*` fields (the Chatwoot integration, as
//! `/chatwoot/set`; `importContacts`/`importMessages` true are refused), the flat
//! settings (`rejectCall`, `alwaysOnline`, ..., as `/settings/set`), the flat proxy
//! (`proxyHost`, `proxyPort`, `proxyProtocol`, `proxyUsername`, `proxyPassword`, as
//! `/proxy/set`), and the broker blocks `rabbitmq`/`nats`/`sqs` (as `/rabbitmq/set`
//! ...; a broker the gateway does not configure is a 400 and no instance is made).
//!
//! `fetchInstances` answers Evolution's row shape: `token` is the `apikey` the request
//! came with (wagate keeps only hashes; that key reaches every instance listed),
//! `_count.Message`/`_count.Chat` are the stored counts, `_count.Contact`,
//! `Proxy` is the proxy as `/proxy/find` shows it (password masked) or null,
//! `Chatwoot` is the Chatwoot integration (to `manage` callers); see instance.rs for
//! the other fields.
//!
//! `restart` drops the session's connection and logs in again with the stored keys
//! (core's `restart-instance`); an instance's own token may delete or log out its
//! instance (the `evolution-apikey` manifest's `instance_tokens_may_delete`).
//!
//! CORS: the plugin declares Evolution's `CORS_ORIGIN`, `CORS_METHODS` and
//! `CORS_CREDENTIALS` (`[cors_env]` in plugin.toml); the host answers preflights.
//!
//! Authorization follows Evolution's guards on top of core's: no or unknown `apikey` is
//! 401; an instance token reaches only its own instance (401 elsewhere, as Evolution's
//! `auth.guard` answers); an unknown instance is 404 `The "x" instance does not exist`
//! (the delete route: 400, per its spec). Errors use Evolution's exception shape
//! `{"status":N,"error":"..","response":{"message":[..]}}`; the delete route uses its
//! documented `{"error":true,"message":".."}`.
//!
//! Events render in Evolution's webhook envelope (see `events.rs`).
//!
//! Config (`[plugins.settings.evolution] config = {...}`), all optional:
//! `server_url` (the envelope's `server_url`), `webhook_url` (its `destination`),
//! `event_names` (`upper`: `INSTANCE_DELETE` as the spec shows, default; `dotted`:
//! `instance.delete` as Evolution sends on the wire), `envelope` (`full`, default; or
//! `minimal`: only `event`, `instance`, `data`), `logical_message_delete` (`true`: revoked
//! messages stay in findMessages with `status: DELETED`, as Evolution's
//! `DATABASE_DELETE_DATA_LOGICAL_MESSAGE_DELETE`), `client_name`.

use wagate_plugin_sdk::dialect::Guest;
use wagate_plugin_sdk::prelude::*;

mod account;
mod brokers;
mod chat;
mod chatwoot;
mod contacts;
mod content;
mod edits;
mod events;
mod group;
mod group_events;
mod input;
mod instance;
mod labels;
mod lookup;
mod media;
mod openapi;
mod polls;
mod presence;
mod profile;
mod proxy;
mod qr;
mod reactions;
mod receipts;
mod s3;
mod settings;
pub mod shape;
mod status;
mod surface;
mod util;
mod webhook;
mod websocket;

use shape::Style;

/// A handler's outcome: the answer, or an early error answer.
pub(crate) type Reply = Result<HttpResponse, HttpResponse>;

/// The version reported by `GET /` (Evolution API's, whose surface this mirrors).
pub(crate) const EVOLUTION_VERSION: &str = "2.3.6";

struct Evolution;

/// Runs an instance-scoped handler with the `{instanceName}` the route captured.
pub(crate) fn run(req: &Request, params: &Params, f: fn(&Request, &str) -> Reply) -> HttpResponse {
    let name = params.get("instanceName").unwrap_or_default();
    f(req, name).unwrap_or_else(|e| e)
}

fn router() -> Router {
    let dialect = group::routes(s3::routes(media::routes(Router::new())));
    let dialect = labels::routes(dialect);
    let routes = account::routes(lookup::routes(profile::routes(contacts::routes(dialect))))
        .get("/", |_, _| instance::welcome())
        .get("/openapi.json", |_, _| HttpResponse {
            status: 200,
            headers: vec![header("content-type", "application/json")],
            body: openapi::document().into_bytes(),
        })
        .post("/instance/create", |req, _| {
            instance::create(req).unwrap_or_else(|e| e)
        })
        .get("/instance/fetchInstances", |req, _| {
            instance::fetch(req).unwrap_or_else(|e| e)
        })
        .get("/instance/connect/{instanceName}", |r, p| {
            run(r, p, instance::connect)
        })
        .get("/instance/connectionState/{instanceName}", |r, p| {
            run(r, p, instance::connection_state)
        })
        .post("/instance/restart/{instanceName}", |r, p| {
            run(r, p, instance::restart)
        })
        .delete("/instance/logout/{instanceName}", |r, p| {
            run(r, p, instance::logout)
        })
        .delete("/instance/delete/{instanceName}", |r, p| {
            run(r, p, instance::delete)
        })
        .post("/message/sendText/{instanceName}", |r, p| {
            run(r, p, chat::send_text)
        })
        .post("/message/sendReaction/{instanceName}", |r, p| {
            run(r, p, reactions::send)
        })
        .post("/chat/updateMessage/{instanceName}", |r, p| {
            run(r, p, edits::update)
        })
        .post("/message/sendLocation/{instanceName}", |r, p| {
            run(r, p, content::send_location)
        })
        .post("/message/sendContact/{instanceName}", |r, p| {
            run(r, p, content::send_contact)
        })
        .post("/message/sendPoll/{instanceName}", |r, p| {
            run(r, p, content::send_poll)
        })
        .post("/message/sendStatus/{instanceName}", |r, p| {
            run(r, p, status::send_status)
        })
        .post("/chat/markMessageAsRead/{instanceName}", |r, p| {
            run(r, p, presence::mark_read)
        })
        .post("/chat/markChatUnread/{instanceName}", |r, p| {
            run(r, p, presence::mark_unread)
        })
        .post("/chat/sendPresence/{instanceName}", |r, p| {
            run(r, p, presence::send_presence)
        })
        .post("/instance/setPresence/{instanceName}", |r, p| {
            run(r, p, presence::set_presence)
        })
        .delete("/chat/deleteMessageForEveryone/{instanceName}", |r, p| {
            run(r, p, chat::delete_for_everyone)
        })
        .post("/chat/archiveChat/{instanceName}", |r, p| {
            run(r, p, chat::archive)
        })
        .post("/chat/findMessages/{instanceName}", |r, p| {
            run(r, p, chat::find_messages)
        })
        .post("/chat/findChats/{instanceName}", |r, p| {
            run(r, p, chat::find_chats)
        })
        .post("/webhook/set/{instanceName}", |r, p| {
            run(r, p, webhook::set)
        })
        .get("/webhook/find/{instanceName}", |r, p| {
            run(r, p, webhook::find)
        })
        .post("/settings/set/{instanceName}", |r, p| {
            run(r, p, settings::set)
        })
        .get("/settings/find/{instanceName}", |r, p| {
            run(r, p, settings::find)
        })
        .post("/proxy/set/{instanceName}", |r, p| run(r, p, proxy::set))
        .get("/proxy/find/{instanceName}", |r, p| run(r, p, proxy::find))
        .post("/websocket/set/{instanceName}", |r, p| {
            run(r, p, websocket::set)
        })
        .get("/websocket/find/{instanceName}", |r, p| {
            run(r, p, websocket::find)
        })
        .post("/rabbitmq/set/{instanceName}", |r, p| {
            run(r, p, brokers::rabbitmq_set)
        })
        .get("/rabbitmq/find/{instanceName}", |r, p| {
            run(r, p, brokers::rabbitmq_find)
        })
        .post("/nats/set/{instanceName}", |r, p| {
            run(r, p, brokers::nats_set)
        })
        .get("/nats/find/{instanceName}", |r, p| {
            run(r, p, brokers::nats_find)
        })
        .post("/sqs/set/{instanceName}", |r, p| {
            run(r, p, brokers::sqs_set)
        })
        .get("/sqs/find/{instanceName}", |r, p| {
            run(r, p, brokers::sqs_find)
        })
        .post("/kafka/set/{instanceName}", |r, p| {
            run(r, p, brokers::kafka_set)
        })
        .get("/kafka/find/{instanceName}", |r, p| {
            run(r, p, brokers::kafka_find)
        })
        .post("/chatwoot/set/{instanceName}", |r, p| {
            run(r, p, chatwoot::set)
        })
        .get("/chatwoot/find/{instanceName}", |r, p| {
            run(r, p, chatwoot::find)
        });
    surface::routes(routes)
        .method_not_allowed(|req, _| {
            shape::evolution(
                405,
                [format!(
                    "Cannot {} {}",
                    req.method().to_ascii_uppercase(),
                    req.raw.path
                )],
            )
        })
        .fallback(|req, _| {
            // Express's catch-all, as Evolution answers it.
            let mut url = req.raw.path.clone();
            if let Some(q) = &req.raw.query {
                url.push('?');
                url.push_str(q);
            }
            shape::evolution(
                404,
                [format!(
                    "Cannot {} {url}",
                    req.method().to_ascii_uppercase()
                )],
            )
        })
}

/// What a route needs of its caller, checked by [`guard`] before anything about the
/// instance's state is read or told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cap {
    Read,
    Send,
    Manage,
}

impl Cap {
    fn flag(self) -> Capabilities {
        match self {
            Cap::Read => Capabilities::READ,
            Cap::Send => Capabilities::SEND,
            Cap::Manage => Capabilities::MANAGE,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Cap::Read => "read",
            Cap::Send => "send",
            Cap::Manage => "manage",
        }
    }
}

/// Evolution's guards for a route on `{instanceName}`: a caller, an instance the caller
/// may see, (for an instance token) that very instance, and the capability the route
/// needs. Returns the instance.
///
/// The capability is checked here, before the route reads the instance's state: a
/// route that answers from the state (connect on an open instance, restart on a
/// disconnected one) would otherwise tell a caller without the right what only the
/// right may learn, and answer 200 or 400 where the answer is 403.
pub(crate) fn guard(
    req: &Request,
    name: &str,
    style: Style,
    cap: Cap,
) -> Result<Instance, HttpResponse> {
    let Some(caller) = &req.caller else {
        return Err(shape::unauthorized(style));
    };
    let instance = if let Some(bound) = &caller.instance {
        // Evolution's auth guard: a non-global key passes only when it is the token of
        // the instance named in the path. Whether that other instance exists is not
        // told.
        match core::get_instance(&InstanceRef::Id(bound.clone())) {
            Ok(i) if i.name == name => i,
            _ => return Err(shape::unauthorized(style)),
        }
    } else {
        match core::get_instance(&InstanceRef::Name(name.to_string())) {
            Ok(i) => i,
            Err(CoreError::NotFound(_)) => return Err(shape::instance_missing(style, name)),
            Err(CoreError::Forbidden(_)) => return Err(shape::unauthorized(style)),
            Err(e) => return Err(core_error(&e)),
        }
    };
    if !caller.capabilities.contains(cap.flag()) {
        return Err(forbidden(style, cap));
    }
    Ok(instance)
}

/// 403 for a credential without `cap`, in the route's shape.
pub(crate) fn forbidden(style: Style, cap: Cap) -> HttpResponse {
    let msg = format!("this credential lacks the `{}` capability", cap.name());
    match style {
        Style::Evolution => shape::evolution_msg(403, &msg),
        Style::Delete => shape::delete_error(403, &msg),
    }
}

/// Evolution's two-message error for a failed operation: its `title` ("Error updating
/// profile picture"), then the reason, at the status `core_error` gives the failure.
pub(crate) fn titled_error(title: &str, e: &CoreError) -> HttpResponse {
    shape::evolution(
        core_error(e).status,
        [
            title.to_string(),
            wagate_plugin_sdk::http::core_error_message(e),
        ],
    )
}

/// The one mapping of a core error onto Evolution's exception shape, used by every
/// route: a client's mistake (unknown thing, missing right, bad input, a state that
/// does not allow the operation) is a 4xx; only the gateway's own failure is a 500.
pub(crate) fn core_error(e: &CoreError) -> HttpResponse {
    let status = match e {
        CoreError::NotFound(_) => 404,
        CoreError::Forbidden(_) => 403,
        CoreError::Invalid(_) | CoreError::Conflict(_) | CoreError::NotConnected(_) => 400,
        CoreError::TooLarge(_) => 413,
        CoreError::RateLimited(_) => 429,
        CoreError::Internal(_) => 500,
    };
    let msg = wagate_plugin_sdk::http::core_error_message(e);
    let mut resp = shape::evolution_msg(status, &msg);
    if let CoreError::RateLimited(ms) = e {
        resp.headers
            .push(header("retry-after", &ms.div_ceil(1000).max(1).to_string()));
    }
    resp
}

impl Guest for Evolution {
    fn handle(req: HttpRequest, caller: Option<Principal>) -> HttpResponse {
        router().handle(&Request::new(req, caller))
    }

    fn render_event(ev: Event, target: RenderTarget, _hook: Option<Webhook>) -> Option<Vec<u8>> {
        match target {
            RenderTarget::SocketIo => events::render_socketio(&ev),
            RenderTarget::Webhook | RenderTarget::Stream => events::render(&ev),
        }
    }

    fn openapi() -> String {
        openapi::document()
    }
}

wagate_plugin_sdk::export_dialect!(Evolution);
