//! The native API under `/core`: one endpoint per core operation, JSON in snake_case,
//! `Authorization: Bearer <api key>`, errors `{"error":{"code","message"}}`. It is the
//! dialect-free baseline the plugin dialects are measured against.
//!
//! | method | path | operation |
//! |---|---|---|
//! | GET/POST | /core/instances | list / create `{name}` |
//! | GET/DELETE | /core/instances/{i} | get / delete |
//! | POST | /core/instances/{i}/connect | connect `{phone?}` |
//! | GET | /core/instances/{i}/state | connection state |
//! | POST | /core/instances/{i}/logout | logout |
//! | POST | /core/instances/{i}/restart | drop the WhatsApp session and log in again with the stored keys |
//! | GET | /core/instances/{i}/integrations | the instance's integrations (Chatwoot, ...); secret header values are never shown |
//! | POST | /core/instances/{i}/presence/subscribe | `{who}`: ask for a contact's presence updates (`presence_update` events) -> `{jid}` |
//! | GET/PUT | /core/instances/{i}/profile | this account's profile `{jid, name, status, picture_url, is_business}` as last seen (`?who=` a contact's, asked of WhatsApp now) / change its `{name?, status?}` |
//! | PUT/DELETE | /core/instances/{i}/profile/picture | set this account's picture from `{data}` (base64 of a JPEG) or `{url}` / remove it -> 204 |
//! | PUT/DELETE | /core/instances/{i}/groups/{g}/picture | the same for a group (`send`; WhatsApp decides who may) -> 204 |
//! | GET/PUT | /core/instances/{i}/privacy | the account's privacy settings `[{category, value}]` (categories `last_seen`, `online`, `profile_picture`, `about`, `group_add`, `read_receipts`, `call_add`, `messages`; values `all`, `contacts`, `contact_blacklist`, `none`, `match_last_seen`, `known`) / change the ones given, answering all |
//! | GET | /core/instances/{i}/contacts?limit&cursor | a page of the people the instance heard from `{contacts: [{jid, jid_alt?, push_name, saved_name?, created_at, updated_at}], next_cursor}` (JID order; limit 1-1000, default 100) |
//! | GET | /core/instances/{i}/contacts/blocked | the JIDs this account blocked, as WhatsApp lists them |
//! | GET | /core/instances/{i}/contacts/{jid}/business | a business account's profile `{jid, description, email, websites, categories, address, timezone}`, `null` when not a business |
//! | GET/PUT | /core/instances/{i}/settings | the instance's behaviour switches `{reject_calls, call_reply?, ignore_groups, always_online, read_messages, read_status, sync_full_history}` (all off by default; a PUT replaces them all, omitted ones off) |
//! | GET/PUT/DELETE | /core/instances/{i}/media-download | the instance's choice of inbound media to download `{enabled?, kinds?, max_bytes?}` (`null`: the deployment's `[whatsapp.media]`) / set it / back to the default |
//! | PUT/DELETE | /core/instances/{i}/integrations/{sink} | create or replace `{url, settings: {..}, secret_headers?: {name: value}, enabled?}` (`secret_headers` absent: the held ones are kept) / remove |
//! | GET | /core/instances/{i}/brokers | the instance's message-broker destinations |
//! | GET/PUT/DELETE | /core/instances/{i}/brokers/{name} | one / create or replace `{events?, enabled?}` (events rendered as core JSON; `name` is a configured broker) / remove with its queued deliveries |
//! | POST | /core/instances/{i}/messages | send text `{to, text}` |
//! | POST | /core/instances/{i}/messages/media | send media `{to, kind, data\|url, mimetype?, file_name?, caption?, duration_secs?, quoted?, mentions?}` |
//! | POST | /core/instances/{i}/messages/{id}/reaction | react `{emoji}` (`""` takes it off) -> `{message, reaction}` |
//! | GET | /core/instances/{i}/messages/{id} | one stored message |
//! | GET | /core/instances/{i}/messages/{id}/media | the media bytes (its `Content-Type`) |
//! | DELETE | /core/instances/{i}/messages/{id}?for_everyone=true | revoke / delete for me |
//! | GET | /core/instances/{i}/chats | list chats |
//! | GET/PATCH/DELETE | /core/instances/{i}/chats/{jid} | get / update / delete (`?media=true`) |
//! | GET | /core/instances/{i}/chats/{jid}/messages?limit&cursor | page of messages |
//! | GET/PUT | /core/instances/{i}/webhooks | list / replace the native webhooks `[{id?, url, events?, headers?, enabled?, secret?}]` (`id` keeps a webhook, its secret and deliveries, across a URL change; else the same URL does) |
//! | GET | /core/instances/{i}/webhooks/{id}/deliveries | the webhook's recent delivery attempts, newest first |
//! | POST | /core/instances/{i}/webhooks/{id}/test | queue a test delivery (the current `connection_update`) -> `{event_id}` |
//!
//! `{i}` is an instance id or name.

use http::{Method, StatusCode};
use serde::Deserialize;

use super::http::{ApiError, ApiResult, Req, flag, json, no_content, ok};
use crate::core::Core;
use std::collections::BTreeSet;

use crate::core::model::{
    ChatPatch, InstanceRef, IntegrationSpec, NATIVE_DIALECT, Principal, WebhookSpec,
};

/// Returns the metrics route label and the response. `sinks` are the loaded sink
/// plugins: what an integration may name.
pub async fn handle(
    core: &std::sync::Arc<Core>,
    sinks: &BTreeSet<String>,
    req: &Req,
) -> (&'static str, ApiResult) {
    let Some(seg) = req.segments("/core") else {
        return ("core:other", Err(ApiError::not_found()));
    };
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let route = route_label(&seg);
    let principal = match req.bearer() {
        Some(token) => match core.resolve_credential(token).await {
            Some(p) => p,
            None => return (route, Err(ApiError::unauthorized("invalid api key"))),
        },
        None => {
            return (
                route,
                Err(ApiError::unauthorized(
                    "missing `Authorization: Bearer <api key>`",
                )),
            );
        }
    };
    (route, dispatch(core, sinks, &principal, req, &seg).await)
}

/// Whether a request head is a native media send (`POST
/// /core/instances/{i}/messages/media`) by a key the gateway knows: only such a body
/// may be as large as `[media]` allows; an unknown caller's stays under
/// `max_body_bytes` (and is refused after it is read, as any other).
pub async fn is_media_send_by_known_key(core: &Core, head: &http::request::Parts) -> bool {
    let seg: Vec<&str> = head.uri.path().split('/').skip(1).collect();
    if head.method != Method::POST
        || !matches!(
            seg.as_slice(),
            ["core", "instances", _, "messages", "media"]
        )
    {
        return false;
    }
    let token = head
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match token {
        Some(t) if !t.is_empty() => core.resolve_credential(t).await.is_some(),
        _ => false,
    }
}

/// The native media send's `data` is staged like a dialect's media field.
pub fn media_uploads() -> crate::plugin::manifest::UploadRoutes {
    crate::plugin::manifest::UploadRoutes {
        routes: vec!["/core/instances/{i}/messages/media".into()],
        fields: vec!["/data".into()],
        data_urls: false,
        too_large_body: None,
        file_parts: Vec::new(),
    }
}

fn route_label(seg: &[&str]) -> &'static str {
    match seg {
        ["instances"] => "core:instances",
        ["instances", _] => "core:instance",
        ["instances", _, "connect"] => "core:connect",
        ["instances", _, "state"] => "core:state",
        ["instances", _, "logout"] => "core:logout",
        ["instances", _, "restart"] => "core:restart",
        ["instances", _, "integrations"] => "core:integrations",
        ["instances", _, "integrations", _] => "core:integration",
        ["instances", _, "media-download"] => "core:media_download",
        ["instances", _, "settings"] => "core:settings",
        ["instances", _, "profile"] => "core:profile",
        ["instances", _, "profile", "picture"] => "core:profile_picture",
        ["instances", _, "groups", _, "picture"] => "core:group_picture",
        ["instances", _, "privacy"] => "core:privacy",
        ["instances", _, "contacts"] => "core:contacts",
        ["instances", _, "contacts", "blocked"] => "core:blocked",
        ["instances", _, "contacts", _, "business"] => "core:business_profile",
        ["instances", _, "presence", "subscribe"] => "core:presence_subscribe",
        ["instances", _, "brokers"] => "core:brokers",
        ["instances", _, "brokers", _] => "core:broker",
        ["instances", _, "messages"] => "core:send",
        ["instances", _, "messages", "media"] => "core:send_media",
        ["instances", _, "messages", _, "media"] => "core:media",
        ["instances", _, "messages", _, "reaction"] => "core:reaction",
        ["instances", _, "messages", _] => "core:message",
        ["instances", _, "chats"] => "core:chats",
        ["instances", _, "chats", _] => "core:chat",
        ["instances", _, "chats", _, "messages"] => "core:chat_messages",
        ["instances", _, "webhooks"] => "core:webhooks",
        ["instances", _, "webhooks", _, "deliveries"] => "core:webhook_deliveries",
        ["instances", _, "webhooks", _, "test"] => "core:webhook_test",
        _ => "core:other",
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConnectBody {
    phone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    to: String,
    text: String,
}

async fn dispatch(
    core: &std::sync::Arc<Core>,
    sinks: &BTreeSet<String>,
    p: &Principal,
    req: &Req,
    seg: &[&str],
) -> ApiResult {
    let m = &req.method;
    match seg {
        ["instances"] => match *m {
            Method::GET => ok(&core.list_instances(p).await?),
            Method::POST => {
                let body: CreateBody = req.json()?;
                Ok(json(
                    StatusCode::CREATED,
                    &core.create_instance(p, &body.name).await?,
                ))
            }
            _ => Err(ApiError::method_not_allowed()),
        },
        ["instances", i] => {
            let i = InstanceRef::parse(i);
            match *m {
                Method::GET => ok(&core.get_instance(p, &i).await?),
                Method::DELETE => ok(&core.delete_instance(p, &i).await?),
                _ => Err(ApiError::method_not_allowed()),
            }
        }
        ["instances", i, "connect"] if m == Method::POST => {
            let body: ConnectBody = req.json()?;
            ok(&core
                .connect(p, &InstanceRef::parse(i), body.phone.as_deref())
                .await?)
        }
        ["instances", i, "state"] if m == Method::GET => ok(
            &serde_json::json!({"state": core.connection_state(p, &InstanceRef::parse(i)).await?}),
        ),
        ["instances", i, "logout"] if m == Method::POST => {
            ok(&core.logout(p, &InstanceRef::parse(i)).await?)
        }
        ["instances", i, "restart"] if m == Method::POST => {
            ok(&core.restart_instance(p, &InstanceRef::parse(i)).await?)
        }
        ["instances", i, "integrations"] if m == Method::GET => {
            ok(&core.list_integrations(p, &InstanceRef::parse(i)).await?)
        }
        ["instances", i, "presence", "subscribe"] if m == Method::POST => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Subscribe {
                who: String,
            }
            let body: Subscribe = req.json()?;
            let jid = core
                .subscribe_presence(p, &InstanceRef::parse(i), &body.who)
                .await?;
            ok(&serde_json::json!({ "jid": jid }))
        }
        ["instances", i, "profile"] => match *m {
            Method::GET => {
                let who = req.query_param("who");
                ok(&core
                    .get_profile(p, &InstanceRef::parse(i), who.as_deref())
                    .await?)
            }
            Method::PUT => {
                #[derive(serde::Deserialize)]
                #[serde(deny_unknown_fields)]
                struct ProfileChange {
                    name: Option<String>,
                    status: Option<String>,
                }
                let change: ProfileChange = req.json()?;
                let which = InstanceRef::parse(i);
                if change.name.is_none() && change.status.is_none() {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid",
                        "give `name`, `status` or both".to_string(),
                    ));
                }
                let mut profile = None;
                if let Some(name) = &change.name {
                    profile = Some(core.set_profile_name(p, &which, name).await?);
                }
                if let Some(status) = &change.status {
                    profile = Some(core.set_profile_status(p, &which, status).await?);
                }
                ok(&profile)
            }
            _ => Err(ApiError::method_not_allowed()),
        },
        ["instances", i, "profile", "picture"] => match *m {
            Method::PUT => {
                let body: PictureBody = req.json()?;
                let source = media_source(body.data, body.url)?;
                core.set_profile_picture(p, &InstanceRef::parse(i), Some(source))
                    .await?;
                no_content()
            }
            Method::DELETE => {
                core.set_profile_picture(p, &InstanceRef::parse(i), None)
                    .await?;
                no_content()
            }
            _ => Err(ApiError::method_not_allowed()),
        },
        ["instances", i, "groups", g, "picture"] => match *m {
            Method::PUT => {
                let body: PictureBody = req.json()?;
                let source = media_source(body.data, body.url)?;
                core.set_group_picture(p, &InstanceRef::parse(i), g, Some(source))
                    .await?;
                no_content()
            }
            Method::DELETE => {
                core.set_group_picture(p, &InstanceRef::parse(i), g, None)
                    .await?;
                no_content()
            }
            _ => Err(ApiError::method_not_allowed()),
        },
        ["instances", i, "privacy"] => match *m {
            Method::GET => ok(&core.get_privacy(p, &InstanceRef::parse(i)).await?),
            Method::PUT => {
                let settings: Vec<crate::core::privacy::PrivacySetting> = req.json()?;
                ok(&core
                    .set_privacy(p, &InstanceRef::parse(i), &settings)
                    .await?)
            }
            _ => Err(ApiError::method_not_allowed()),
        },
        ["instances", i, "contacts"] if m == Method::GET => {
            // 0 (absent) is core's default; out-of-range numbers are core's `invalid`.
            let limit = match req.query_param("limit") {
                None => 0,
                Some(l) => l.parse::<u32>().ok().filter(|l| *l >= 1).ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid",
                        "limit must be between 1 and 1000",
                    )
                })?,
            };
            let cursor = req.query_param("cursor");
            ok(&core
                .list_contacts(p, &InstanceRef::parse(i), limit, cursor.as_deref())
                .await?)
        }
        ["instances", i, "contacts", "blocked"] if m == Method::GET => {
            ok(&core.list_blocked(p, &InstanceRef::parse(i)).await?)
        }
        ["instances", i, "contacts", who, "business"] if m == Method::GET => ok(&core
            .business_profile(p, &InstanceRef::parse(i), who)
            .await?),
        ["instances", i, "settings"] => match *m {
            Method::GET => ok(&core.instance_settings(p, &InstanceRef::parse(i)).await?),
            Method::PUT => {
                let settings: crate::core::settings::InstanceSettings = req.json()?;
                ok(&core
                    .set_instance_settings(p, &InstanceRef::parse(i), settings)
                    .await?)
            }
            _ => Err(ApiError::method_not_allowed()),
        },
        ["instances", i, "media-download"] => match *m {
            Method::GET => ok(&core.media_download(p, &InstanceRef::parse(i)).await?),
            Method::PUT => {
                let choice: crate::whatsapp::MediaDownload = req.json()?;
                ok(&core
                    .set_media_download(p, &InstanceRef::parse(i), Some(choice))
                    .await?)
            }
            Method::DELETE => {
                core.set_media_download(p, &InstanceRef::parse(i), None)
                    .await?;
                no_content()
            }
            _ => Err(ApiError::method_not_allowed()),
        },
        ["instances", i, "brokers"] if m == Method::GET => {
            ok(&core.list_brokers(p, &InstanceRef::parse(i)).await?)
        }
        ["instances", i, "brokers", name] => {
            let which = InstanceRef::parse(i);
            let none = || {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("the instance has no destination for broker `{name}`"),
                )
            };
            match *m {
                Method::GET => ok(&core.get_broker(p, &which, name).await?.ok_or_else(none)?),
                Method::PUT => {
                    let body: BrokerBody = req.json()?;
                    let spec = crate::core::brokers::BrokerSpec {
                        broker: name.to_string(),
                        events: body.events,
                        enabled: body.enabled,
                    };
                    ok(&core.set_broker(p, &which, NATIVE_DIALECT, spec).await?)
                }
                Method::DELETE => {
                    if core.delete_broker(p, &which, name).await? {
                        no_content()
                    } else {
                        Err(none())
                    }
                }
                _ => Err(ApiError::method_not_allowed()),
            }
        }
        ["instances", i, "integrations", sink] if m == Method::PUT => {
            if !sinks.contains(*sink) {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("no loaded sink plugin is named `{sink}`"),
                ));
            }
            let body: IntegrationBody = req.json()?;
            ok(&core
                .set_integration(p, &InstanceRef::parse(i), body.into_spec(sink))
                .await?)
        }
        ["instances", i, "integrations", sink] if m == Method::DELETE => {
            if core
                .delete_integration(p, &InstanceRef::parse(i), sink)
                .await?
            {
                no_content()
            } else {
                Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("the instance has no `{sink}` integration"),
                ))
            }
        }
        ["instances", i, "messages"] if m == Method::POST => {
            let body: SendBody = req.json()?;
            Ok(json(
                StatusCode::CREATED,
                &core
                    .send_text(p, &InstanceRef::parse(i), &body.to, &body.text)
                    .await?,
            ))
        }
        ["instances", i, "messages", "media"] if m == Method::POST => {
            let body: MediaBody = req.json()?;
            let (to, send) = body.into_send()?;
            Ok(json(
                StatusCode::CREATED,
                &core
                    .send_media(p, &InstanceRef::parse(i), &to, send, None)
                    .await?,
            ))
        }
        ["instances", i, "messages", id, "media"] if m == Method::GET => {
            let (bytes, info) = core.get_media(p, &InstanceRef::parse(i), id).await?;
            Ok(super::http::media_response(bytes, &info))
        }
        ["instances", i, "messages", id, "reaction"] if m == Method::POST => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct ReactionBody {
                emoji: String,
            }
            let body: ReactionBody = req.json()?;
            ok(&core
                .send_reaction(p, &InstanceRef::parse(i), id, &body.emoji)
                .await?)
        }
        ["instances", i, "messages", id] if m == Method::GET => {
            ok(&core.get_message(p, &InstanceRef::parse(i), id).await?)
        }
        ["instances", i, "messages", id] if m == Method::DELETE => {
            let everyone = flag(req, "for_everyone", false)?;
            ok(&core
                .delete_message(p, &InstanceRef::parse(i), id, everyone)
                .await?)
        }
        ["instances", i, "chats"] if m == Method::GET => {
            ok(&core.list_chats(p, &InstanceRef::parse(i)).await?)
        }
        ["instances", i, "chats", jid] => {
            let i = InstanceRef::parse(i);
            match *m {
                Method::GET => ok(&core.get_chat(p, &i, jid).await?),
                Method::PATCH => {
                    let patch: ChatPatch = req.json()?;
                    ok(&core.update_chat(p, &i, jid, patch).await?)
                }
                Method::DELETE => {
                    let media = flag(req, "media", false)?;
                    core.delete_chat(p, &i, jid, media).await?;
                    no_content()
                }
                _ => Err(ApiError::method_not_allowed()),
            }
        }
        ["instances", i, "chats", jid, "messages"] if m == Method::GET => {
            let limit = match req.query_param("limit") {
                None => 0,
                Some(l) => l.parse::<u32>().ok().filter(|l| *l >= 1).ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid",
                        "limit must be between 1 and 200",
                    )
                })?,
            };
            let cursor = req.query_param("cursor");
            ok(&core
                .list_messages(p, &InstanceRef::parse(i), jid, limit, cursor.as_deref())
                .await?)
        }
        ["instances", i, "webhooks"] => {
            let i = InstanceRef::parse(i);
            match *m {
                Method::GET => ok(&core.list_webhooks(p, &i, NATIVE_DIALECT).await?),
                Method::PUT => {
                    let specs: Vec<WebhookSpec> = req.json()?;
                    ok(&core.set_webhooks(p, &i, NATIVE_DIALECT, specs).await?)
                }
                _ => Err(ApiError::method_not_allowed()),
            }
        }
        ["instances", i, "webhooks", id, "deliveries"] if m == Method::GET => ok(&core
            .webhook_deliveries(p, &InstanceRef::parse(i), id)
            .await?),
        ["instances", i, "webhooks", id, "test"] if m == Method::POST => Ok(json(
            StatusCode::ACCEPTED,
            &serde_json::json!({"event_id": core.test_webhook(p, &InstanceRef::parse(i), id).await?}),
        )),
        _ if route_label(seg) != "core:other" => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::not_found()),
    }
}

/// `POST /core/instances/{i}/messages/media`: exactly one of `data` (base64) and `url`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntegrationBody {
    url: String,
    settings: serde_json::Map<String, serde_json::Value>,
    /// Absent: the held secret headers are kept.
    secret_headers: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

impl IntegrationBody {
    fn into_spec(self, sink: &str) -> IntegrationSpec {
        IntegrationSpec {
            sink: sink.to_string(),
            url: self.url,
            settings: serde_json::Value::Object(self.settings).to_string(),
            secret_headers: self.secret_headers.map(|h| h.into_iter().collect()),
            enabled: self.enabled,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MediaBody {
    to: String,
    kind: crate::core::model::MediaKind,
    data: Option<String>,
    url: Option<String>,
    mimetype: Option<String>,
    file_name: Option<String>,
    caption: Option<String>,
    duration_secs: Option<u32>,
    width: Option<u32>,
    height: Option<u32>,
    quoted: Option<String>,
    #[serde(default)]
    mentions: Vec<String>,
}

/// A media source given as `data` (base64, or the host's staged upload) or `url`.
fn media_source(
    data: Option<String>,
    url: Option<String>,
) -> Result<crate::core::media::MediaSource, ApiError> {
    use crate::core::media::MediaSource;
    use base64::Engine;
    let invalid = |m: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid", m);
    Ok(match (data, url) {
        (Some(d), None) if d.starts_with(crate::core::uploads::REFERENCE_PREFIX) => {
            MediaSource::Upload(d[crate::core::uploads::REFERENCE_PREFIX.len()..].to_string())
        }
        (Some(d), None) => MediaSource::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(d.trim().as_bytes())
                .map_err(|_| invalid("`data` is not valid base64"))?
                .into(),
        ),
        (None, Some(u)) => MediaSource::Url(u),
        _ => return Err(invalid("give exactly one of `data` (base64) and `url`")),
    })
}

/// A picture: `data` (base64 of a JPEG) or `url`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PictureBody {
    data: Option<String>,
    url: Option<String>,
}

impl MediaBody {
    fn into_send(self) -> Result<(String, crate::core::media::SendMedia), ApiError> {
        let source = media_source(self.data, self.url)?;
        Ok((
            self.to,
            crate::core::media::SendMedia {
                kind: self.kind,
                source,
                mimetype: self.mimetype,
                file_name: self.file_name,
                caption: self.caption,
                duration_secs: self.duration_secs,
                width: self.width,
                height: self.height,
                quoted: self.quoted,
                mentions: self.mentions,
            },
        ))
    }
}

/// `PUT /core/instances/{i}/brokers/{name}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BrokerBody {
    #[serde(default)]
    events: Vec<String>,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
}
