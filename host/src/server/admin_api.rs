//! The operator API under `/admin`, guarded by the admin token
//! (`Authorization: Bearer <WAGATE_ADMIN_TOKEN>`).
//!
//! | method | path | what |
//! |---|---|---|
//! | POST/GET | /admin/orgs | create `{name}` / list |
//! | POST | /admin/credentials | mint `{org, kind, capabilities?, instance?, label?}` -> `{token}` shown once |
//! | GET | /admin/instances | every instance of every org |
//! | DELETE | /admin/instances/{i}[?org=] | delete an instance (as its org's admin) |
//! | POST | /admin/instances/{i}/connect[?org=] | start pairing `{phone?}` -> `{state, qr, pair_code}` (`wagate instance connect`) |
//! | POST | /admin/sim/{i}/inbound | sim only (202 `{ignored: true}` when the instance's settings drop it): inject `{from, fromAlt?, author?, text, fromMe?, pushName?, media?: {data, kind?, mimetype?, ext?, fileName?, durationSecs?}, content?: {type: location\|contacts\|poll\|unsupported, ...}, timestamp?}` -> `{id, message, mediaPath}` |
//! | POST | /admin/sim/{i}/link | sim only: `{up: bool}` takes the link down or up |
//! | POST | /admin/sim/{i}/poll-vote | sim only: a contact's vote on a stored poll `{pollId, options: [names], from?, garbled?}` (no options takes the vote back; `from` defaults to the poll's chat; `garbled` encrypts it with another secret, a vote the gateway cannot read), encrypted as WhatsApp does with the poll's secret -> `{message, vote}` |
//! | POST | /admin/sim/{i}/reaction | sim only: a contact's reaction `{messageId, emoji, from?}` (`""` takes it off; `from` defaults to the message's chat) -> `{message, reaction}` |
//! | GET | /admin/sim/{i}/actions | sim only: what the session last put on the wire besides messages (`read <chat> <ids>`, `unread <chat>`, `composing <chat>`, `paused <chat>`, `available`, `reject-call <id> <from>`, `pair history=full`, ...), oldest first |
//! | POST | /admin/sim/{i}/history | sim only: a history-sync chunk `{messages: [inbound bodies without media; a poll may carry `pollVotes: [{voter, options, timestamp?}]`]}` -> `{stored}` (how many were new) |
//! | POST | /admin/sim/{i}/contact | sim only: the phone's address book entry `{jid, name?, lid?, phone?}` as WhatsApp syncs it (`name` absent: cleared) -> 204 |
//! | POST | /admin/sim/{i}/label | sim only: the phone creates, changes or deletes a label `{id, name?, color?, predefinedId?, deleted?}` as WhatsApp syncs it -> 204 (a `label_edit` event when it changed anything) |
//! | POST | /admin/sim/{i}/label-chat | sim only: the phone puts a label it has on a chat or takes it off `{labelId, chat, labeled}` -> 204 (a `label_association` event when it changed anything) |
//! | POST | /admin/sim/{i}/presence | sim only: a contact's presence `{from, presence: available\|unavailable\|composing\|recording\|paused, chat?, lastSeen?}` -> the update as reported |
//! | POST | /admin/sim/{i}/group | sim only: a member's change on their phone `{group, author, action: add\|remove\|promote\|demote\|subject\|description\|announcement\|locked\|ephemeral\|approval, participants?, value?}`, ruled as WhatsApp would (the author must be an admin for participants and settings) and announced to the members' sessions -> `{group, participants: [{jid, status, error}]}` |
//! | POST | /admin/sim/{i}/call | sim only: a contact calls `{from, video?}` -> `{id, from, video, ..., rejected}` (the instance's settings decide the rest) |
//! | POST | /admin/sim/{i}/call-end | sim only: how a call ended `{id, from, reason: missed\|accepted_elsewhere\|rejected_elsewhere}` -> the end as reported (a `call_ended` event) |
//! | POST | /admin/sim/{i}/edit | sim only: the author's edit of a stored message `{messageId, text}` -> the message as edited |
//! | POST | /admin/sim/{i}/receipt | sim only: the contact's receipt `{messageIds: [...], status: sent\|delivered\|read\|played}` -> `{changed}` (ids not stored are skipped, as the link does) |
//!
//! `{i}` is an instance id or name. Names are unique per org only: `?org=<id or name>`
//! picks the org; without it a name used by several orgs is refused (400, naming them).
//! | GET | /admin/events/dead-letters | deliveries that failed for good |
//! | POST | /admin/events/dead-letters/replay | `{ids?: [...]}` (all when absent) back to their queues |
//! | GET | /admin/plugins | loaded plugins (with their call and failure counters) and the mount table |
//! | POST | /admin/plugins/reload | re-read plugins and config; swap atomically or keep the old set |

use base64::Engine;
use http::{Method, StatusCode};
use serde::Deserialize;

use super::http::{ApiError, ApiResult, Req, json, ok};
use crate::core::Core;
use crate::core::model::{Capabilities, DeliveryStatus, InstanceRef};
use crate::core::records::{CredentialKind, InstanceRecord};
use crate::whatsapp::sim::SimLink;

/// Answers one `/admin` request; the route name it returns labels the metrics.
pub async fn handle(app: &super::App, req: &Req) -> (&'static str, ApiResult) {
    let core = &app.core;
    let Some(seg) = req.segments("/admin") else {
        return ("admin:other", Err(ApiError::not_found()));
    };
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let route = match seg.as_slice() {
        ["orgs"] => "admin:orgs",
        ["credentials"] => "admin:credentials",
        ["instances"] | ["instances", _] => "admin:instances",
        ["instances", _, "connect"] => "admin:instance_connect",
        ["sim", _, "inbound"] => "admin:sim_inbound",
        ["sim", _, "link"] => "admin:sim_link",
        ["sim", _, "receipt"] => "admin:sim_receipt",
        ["sim", _, "reaction"] => "admin:sim_reaction",
        ["sim", _, "poll-vote"] => "admin:sim_poll_vote",
        ["sim", _, "actions"] => "admin:sim_actions",
        ["sim", _, "edit"] => "admin:sim_edit",
        ["sim", _, "call"] => "admin:sim_call",
        ["sim", _, "call-end"] => "admin:sim_call_end",
        ["sim", _, "group"] => "admin:sim_group",
        ["sim", _, "presence"] => "admin:sim_presence",
        ["sim", _, "contact"] => "admin:sim_contact",
        ["sim", _, "label"] => "admin:sim_label",
        ["sim", _, "label-chat"] => "admin:sim_label_chat",
        ["sim", _, "history"] => "admin:sim_history",
        ["plugins"] | ["plugins", "reload"] => "admin:plugins",
        ["events", ..] => "admin:events",
        ["cluster"] => "admin:cluster",
        _ => "admin:other",
    };
    match req.bearer() {
        Some(t) if core.check_admin_token(t) => {}
        _ => {
            return (
                route,
                Err(ApiError::unauthorized("missing or invalid admin token")),
            );
        }
    }
    let result = match seg.as_slice() {
        ["plugins"] if req.method == Method::GET => plugins(app),
        ["plugins", "reload"] if req.method == Method::POST => match app.plugins.reload().await {
            Ok(()) => plugins(app),
            Err(e) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "reload_failed",
                format!("{e:#}; the previous plugins keep serving"),
            )),
        },
        ["cluster"] if req.method == Method::GET => cluster(app).await,
        _ => dispatch(core, app.sim.as_deref(), req, &seg).await,
    };
    (route, result)
}

/// Cluster mode: the nodes, whether each is alive, and who holds which lease.
async fn cluster(app: &super::App) -> ApiResult {
    let Some(coordinator) = &app.cluster else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_clustered",
            "this gateway does not run in cluster mode (start it with --node and a PostgreSQL --store)",
        ));
    };
    match coordinator.view().await {
        Ok(view) => ok(&view),
        Err(e) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "cluster_unavailable",
            format!("reading the cluster's state: {e:#}"),
        )),
    }
}

fn plugins(app: &super::App) -> ApiResult {
    let plugins: Vec<_> = app
        .plugins
        .plugins()
        .into_iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name, "version": p.version, "worlds": p.worlds,
                "sha256": p.sha256, "origin": p.origin,
                "health": app.plugins.health(&p.name),
            })
        })
        .collect();
    let mounts: Vec<_> = app
        .plugins
        .mounts()
        .into_iter()
        .map(|m| serde_json::json!({"prefix": m.prefix, "dialect": m.dialect, "auth": m.auth}))
        .collect();
    ok(&serde_json::json!({"plugins": plugins, "mounts": mounts}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgBody {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialBody {
    org: String,
    kind: String,
    capabilities: Option<Vec<String>>,
    instance: Option<String>,
    label: Option<String>,
}

/// `POST /admin/instances/{i}/connect`: a phone number asks for a pair code.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectBody {
    phone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InboundBody {
    from: String,
    /// `from`'s other address, as WhatsApp gives it beside a message: the phone number
    /// behind a LID `from`, or the LID of a phone `from` (the core learns the pair).
    from_alt: Option<String>,
    text: Option<String>,
    #[serde(default)]
    from_me: bool,
    media: Option<MediaBody>,
    /// The sender's push name, as WhatsApp would carry it.
    push_name: Option<String>,
    /// A location, contact cards, a poll or an unsupported kind, as the native API
    /// shows `content` (`{"type": "location", "latitude": ..., "longitude": ...}`).
    content: Option<crate::core::model::Content>,
    /// When it was sent, epoch ms; default: now (an older one tests time windows).
    timestamp: Option<u64>,
    /// Who wrote it when `from` is a group or `status@broadcast` (a contact's status
    /// update); default: `from`.
    author: Option<String>,
    /// History only, on a poll: its votes as a history sync carries them (opened by
    /// the phone already).
    poll_votes: Option<Vec<HistoryVote>>,
}

/// A vote on a poll in a sim history chunk.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryVote {
    voter: String,
    /// The options chosen, by name (none: the vote was taken back).
    options: Vec<String>,
    /// Epoch ms; default: now.
    timestamp: Option<u64>,
}

/// Puts a sim history poll's votes on it, named through their option hashes as the
/// `whatsapp` link names a history's `pollUpdates`.
fn with_history_votes(
    inbound: &mut crate::whatsapp::Inbound,
    votes: Option<Vec<HistoryVote>>,
) -> Result<(), ApiError> {
    let Some(votes) = votes else {
        return Ok(());
    };
    let Some(crate::core::model::Content::Poll(poll)) = &inbound.content else {
        return Err(bad("`pollVotes` go on a poll (`content.type` `poll`)"));
    };
    for v in votes {
        let hashes: Vec<[u8; 32]> = v
            .options
            .iter()
            .map(|o| whatsapp_rust::wacore::poll::compute_option_hash(o))
            .collect();
        let options = crate::core::polls::option_names(&hashes, poll).map_err(bad)?;
        inbound.poll_votes.push(crate::core::model::PollVote {
            id: crate::whatsapp::sim::new_message_id(),
            voter: crate::core::jid::normalize(&v.voter)?,
            options,
            timestamp: v.timestamp.unwrap_or_else(crate::util::now_ms),
            error: None,
        });
    }
    Ok(())
}

/// The chat a sim message arrives in: a number or JID, or the status feed.
fn sim_chat(from: &str) -> Result<String, ApiError> {
    if from == crate::core::status::STATUS_CHAT {
        return Ok(from.to_string());
    }
    Ok(crate::core::jid::normalize(from)?)
}

/// Names a group message's or a status update's author, as WhatsApp's `participant`.
fn with_author(
    inbound: &mut crate::whatsapp::Inbound,
    author: Option<String>,
) -> Result<(), ApiError> {
    let Some(author) = author else {
        return Ok(());
    };
    if !(inbound.chat_jid.ends_with("@g.us") || inbound.chat_jid == "status@broadcast") {
        return Err(bad(
            "`author` names who wrote in a group or in status@broadcast",
        ));
    }
    if inbound.from_me {
        return Err(bad("`author` is for a contact's message, not `fromMe`"));
    }
    inbound.sender = crate::core::jid::normalize(&author)?;
    inbound.sender_is_business = crate::whatsapp::sim::is_business(&inbound.sender);
    Ok(())
}

/// Puts a sim message's `fromAlt` where the real link puts WhatsApp's alternate
/// addresses: on the chat of a one-to-one message, and on the sender of a contact's.
/// The network learns the pair too, so a later number check answers it.
fn with_alt(sim: &SimLink, inbound: &mut crate::whatsapp::Inbound, from_alt: Option<String>) {
    if inbound.chat_jid.ends_with("@g.us") {
        return;
    }
    if let Some(alt) = &from_alt {
        sim.know_alt(&inbound.chat_jid, alt);
    }
    if !inbound.from_me {
        inbound.sender_alt = from_alt.clone();
    }
    inbound.chat_jid_alt = from_alt;
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MediaBody {
    /// File contents, base64.
    data: String,
    /// `image`, `video`, `audio`, `voice`, `document`, `sticker`, `video_note`;
    /// default: from the type.
    kind: Option<String>,
    /// MIME type; default: sniffed from the bytes, else from `ext`.
    mimetype: Option<String>,
    /// File extension (`jpg`, `pdf`, ...), a hint for the type.
    ext: Option<String>,
    /// File name (documents).
    file_name: Option<String>,
    /// Length of audio or video, seconds.
    duration_secs: Option<u32>,
}

/// The sim's inbound media as the link would report it: bytes inline, metadata from
/// the body (or sniffed), `stored` left to core.
fn inbound_media(media: MediaBody) -> Result<crate::whatsapp::InboundMedia, ApiError> {
    use crate::core::model::{MediaInfo, MediaKind};
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(media.data.as_bytes())
        .map_err(|_| bad("media.data must be base64"))?;
    if bytes.is_empty() {
        return Err(bad("media.data is empty"));
    }
    let stated = media.mimetype.or_else(|| {
        media
            .ext
            .map(|e| crate::media::sniff::from_extension(&e).to_string())
    });
    let mimetype = crate::media::sniff::resolve(stated.as_deref(), &bytes);
    let kind = match media.kind.as_deref() {
        Some(k) => MediaKind::parse(k).ok_or_else(|| {
            bad("media.kind must be image, video, audio, voice, document, sticker or video_note")
        })?,
        None => MediaKind::for_mimetype(&mimetype),
    };
    Ok(crate::whatsapp::InboundMedia {
        info: MediaInfo {
            kind,
            mimetype,
            size: bytes.len() as u64,
            sha256: crate::util::sha256_hex(&bytes),
            file_name: media.file_name,
            duration_secs: media.duration_secs,
            width: None,
            height: None,
            stored: false,
        },
        bytes: Some(bytes.into()),
        downloading: false,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    up: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReactionBody {
    message_id: String,
    emoji: String,
    /// Who reacts; default: the message's chat (the contact of a direct chat).
    from: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReceiptBody {
    message_ids: Vec<String>,
    /// `sent`, `delivered`, `read` or `played`.
    status: String,
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid", msg)
}

async fn dispatch(
    core: &std::sync::Arc<Core>,
    sim_link: Option<&SimLink>,
    req: &Req,
    seg: &[&str],
) -> ApiResult {
    let m = &req.method;
    match seg {
        ["orgs"] if m == Method::POST => {
            let body: OrgBody = req.json()?;
            Ok(json(
                StatusCode::CREATED,
                &core.create_org(&body.name).await?,
            ))
        }
        ["orgs"] if m == Method::GET => ok(&core.list_orgs()?),
        ["credentials"] if m == Method::POST => {
            let body: CredentialBody = req.json()?;
            let kind = CredentialKind::new(&body.kind);
            let caps = body
                .capabilities
                .as_deref()
                .map(Capabilities::from_names)
                .transpose()
                .map_err(bad)?;
            let minted = core
                .create_credential(&body.org, kind, caps, body.instance.as_deref(), body.label)
                .await?;
            Ok(json(
                StatusCode::CREATED,
                &serde_json::json!({
                    "id": minted.record.id,
                    "token": minted.token,
                    "org": minted.record.org,
                    "kind": minted.record.kind,
                    "capabilities": minted.record.caps.names(),
                    "instance": minted.record.instance,
                }),
            ))
        }
        ["instances"] if m == Method::GET => {
            let mut all: Vec<_> = core
                .all_instances()?
                .into_iter()
                .map(|r| r.instance)
                .collect();
            for i in &mut all {
                i.state = core.link().state(&i.id);
            }
            all.sort_by(|a, b| a.name.cmp(&b.name));
            ok(&all)
        }
        ["instances", i] if m == Method::DELETE => {
            let record = find(core, req, i)?;
            let admin = Core::admin_principal(&record.instance.org);
            ok(&core
                .delete_instance(&admin, &InstanceRef::Id(record.instance.id))
                .await?)
        }
        ["instances", i, "connect"] if m == Method::POST => {
            let body: ConnectBody = if req.body.is_empty() {
                ConnectBody::default()
            } else {
                req.json()?
            };
            let record = find(core, req, i)?;
            let admin = Core::admin_principal(&record.instance.org);
            ok(&core
                .connect(
                    &admin,
                    &InstanceRef::Id(record.instance.id),
                    body.phone.as_deref(),
                )
                .await?)
        }
        ["sim", i, "inbound"] if m == Method::POST => {
            let body: InboundBody = req.json()?;
            let record = find(core, req, i)?;
            let sim = sim(sim_link)?;
            let chat = sim_chat(&body.from)?;
            let media = match body.media {
                Some(media) => Some(inbound_media(media)?),
                None => None,
            };
            if body.text.is_none() && media.is_none() && body.content.is_none() {
                return Err(bad(
                    "give `text`, `media`, `content` or text with one of them",
                ));
            }
            let mut inbound = sim
                .inject(
                    &record.instance.id,
                    &chat,
                    body.text,
                    body.from_me,
                    media,
                    body.content,
                )
                .map_err(crate::core::model::CoreError::from)?;
            inbound.push_name = body.push_name;
            with_alt(sim, &mut inbound, body.from_alt);
            with_author(&mut inbound, body.author)?;
            if body.poll_votes.is_some() {
                return Err(bad(
                    "`pollVotes` come with history messages: a live vote is /poll-vote",
                ));
            }
            let inbound = crate::whatsapp::Inbound {
                timestamp: body.timestamp.unwrap_or(inbound.timestamp),
                ..inbound
            };
            let Some(message) = core.ingest_message(&record.instance.id, inbound).await? else {
                // The instance's settings dropped it (a group message with
                // `ignore_groups`), as the link's own messages would be.
                return Ok(json(
                    StatusCode::ACCEPTED,
                    &serde_json::json!({"ignored": true, "reason": "the instance ignores groups"}),
                ));
            };
            // Where the bytes went, relative to the data folder (the operator's own
            // disk layout; tests check deletes against it).
            let media_path = message
                .media
                .as_ref()
                .and_then(|_| {
                    crate::media::store::MediaKey::message(
                        &record.instance.id,
                        &message.chat_jid,
                        &message.id,
                    )
                })
                .map(|k| k.as_str().to_string());
            Ok(json(
                StatusCode::CREATED,
                &serde_json::json!({"id": message.id, "message": message, "mediaPath": media_path}),
            ))
        }
        ["events", "dead-letters"] if m == Method::GET => {
            ok(&crate::events::dispatcher::list_dead_letters(core.store())?)
        }
        ["events", "dead-letters", "replay"] if m == Method::POST => {
            #[derive(Deserialize, Default)]
            #[serde(deny_unknown_fields)]
            struct ReplayBody {
                #[serde(default)]
                ids: Vec<String>,
            }
            let body: ReplayBody = req.json()?;
            let n = crate::events::dispatcher::replay_dead_letters(core.store(), body.ids).await?;
            ok(&serde_json::json!({"replayed": n}))
        }
        ["sim", i, "link"] if m == Method::POST => {
            let body: LinkBody = req.json()?;
            let record = find(core, req, i)?;
            sim(sim_link)?.set_link_up(&record.instance.id, body.up);
            ok(&serde_json::json!({"up": body.up, "state": core.link().state(&record.instance.id)}))
        }
        ["sim", i, "edit"] if m == Method::POST => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields, rename_all = "camelCase")]
            struct EditBody {
                message_id: String,
                text: String,
            }
            let body: EditBody = req.json()?;
            let record = find(core, req, i)?;
            sim(sim_link)?
                .require_open(&record.instance.id)
                .map_err(crate::core::model::CoreError::from)?;
            let edited = core
                .ingest_edit(&record.instance.id, &body.message_id, body.text)
                .await?
                .ok_or_else(crate::core::messages::message_not_found)?;
            ok(&edited)
        }
        ["sim", i, "history"] if m == Method::POST => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct HistoryBody {
                messages: Vec<InboundBody>,
            }
            let body: HistoryBody = req.json()?;
            let record = find(core, req, i)?;
            let sim = sim(sim_link)?;
            let mut chunk = Vec::with_capacity(body.messages.len());
            for m in body.messages {
                if m.media.is_some() {
                    return Err(bad(
                        "history messages carry no media bytes: leave `media` out",
                    ));
                }
                let chat = sim_chat(&m.from)?;
                let mut inbound = sim
                    .inject(
                        &record.instance.id,
                        &chat,
                        m.text,
                        m.from_me,
                        None,
                        m.content,
                    )
                    .map_err(crate::core::model::CoreError::from)?;
                inbound.push_name = m.push_name;
                with_alt(sim, &mut inbound, m.from_alt);
                with_author(&mut inbound, m.author)?;
                with_history_votes(&mut inbound, m.poll_votes)?;
                inbound.timestamp = m.timestamp.unwrap_or(inbound.timestamp);
                chunk.push(inbound);
            }
            let stored = core.ingest_history(&record.instance.id, chunk).await?;
            Ok(json(
                StatusCode::CREATED,
                &serde_json::json!({ "stored": stored }),
            ))
        }
        ["sim", i, "contact"] if m == Method::POST => {
            // The phone's address book entry for a contact, as WhatsApp syncs it to
            // linked devices (the real link reports it from the app-state sync).
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct ContactBody {
                jid: String,
                name: Option<String>,
                lid: Option<String>,
                phone: Option<String>,
            }
            let body: ContactBody = req.json()?;
            let record = find(core, req, i)?;
            let network = sim(sim_link)?;
            crate::core::jid::normalize(&body.jid)?;
            if let (Some(lid), Some(phone)) = (&body.lid, &body.phone) {
                network.know_alt(lid, phone);
            }
            core.handle_link_event(crate::whatsapp::LinkEvent::ContactSaved {
                instance_id: record.instance.id,
                jid: body.jid,
                name: body.name,
                lid: body.lid,
                phone: body.phone,
            })
            .await?;
            super::http::no_content()
        }
        ["sim", i, "label"] if m == Method::POST => {
            // The phone's label edit, as WhatsApp syncs it to linked devices (the real
            // link reports `LabelEditUpdate`s from the app-state sync).
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields, rename_all = "camelCase")]
            struct LabelBody {
                id: String,
                name: Option<String>,
                color: Option<i32>,
                predefined_id: Option<String>,
                #[serde(default)]
                deleted: bool,
            }
            let body: LabelBody = req.json()?;
            let record = find(core, req, i)?;
            let event = sim(sim_link)?
                .phone_edits_label(
                    &record.instance.id,
                    crate::core::labels::LabelEdit {
                        id: body.id,
                        name: body.name,
                        color: body.color,
                        predefined_id: body.predefined_id,
                        deleted: body.deleted,
                    },
                )
                .map_err(crate::core::model::CoreError::from)?;
            core.handle_link_event(event).await?;
            super::http::no_content()
        }
        ["sim", i, "label-chat"] if m == Method::POST => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields, rename_all = "camelCase")]
            struct LabelChatBody {
                label_id: String,
                chat: String,
                labeled: bool,
            }
            let body: LabelChatBody = req.json()?;
            let record = find(core, req, i)?;
            let chat = crate::core::jid::normalize(&body.chat)?;
            let event = sim(sim_link)?
                .phone_labels_chat(&record.instance.id, &body.label_id, &chat, body.labeled)
                .map_err(crate::core::model::CoreError::from)?;
            core.handle_link_event(event).await?;
            super::http::no_content()
        }
        ["sim", i, "presence"] if m == Method::POST => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields, rename_all = "camelCase")]
            struct PresenceBody {
                from: String,
                presence: crate::whatsapp::PresenceState,
                chat: Option<String>,
                last_seen: Option<u64>,
            }
            let body: PresenceBody = req.json()?;
            let record = find(core, req, i)?;
            sim(sim_link)?
                .require_open(&record.instance.id)
                .map_err(crate::core::model::CoreError::from)?;
            let update = crate::whatsapp::PresenceUpdate {
                jid: crate::core::jid::normalize(&body.from)?,
                chat: body
                    .chat
                    .as_deref()
                    .map(crate::core::jid::normalize)
                    .transpose()?,
                presence: body.presence,
                last_seen: body.last_seen,
            };
            core.ingest_presence(&record.instance.id, update.clone())
                .await?;
            Ok(json(StatusCode::CREATED, &update))
        }
        ["sim", i, "group"] if m == Method::POST => {
            let body: SimGroupBody = req.json()?;
            let record = find(core, req, i)?;
            let group = crate::core::groups::group_jid(&body.group)?;
            let author = crate::core::jid::normalize(&body.author)?;
            let change = body.change()?;
            let results = sim(sim_link)?
                .inject_group_change(&record.instance.id, &author, &group, change)
                .map_err(|e| match e {
                    crate::whatsapp::LinkError::NotFound(_) => {
                        crate::core::groups::group_not_found(&group)
                    }
                    e => e.into(),
                })?;
            Ok(json(
                StatusCode::CREATED,
                &serde_json::json!({ "group": group, "participants": results }),
            ))
        }
        ["sim", i, "call"] if m == Method::POST => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct CallBody {
                from: String,
                #[serde(default)]
                video: bool,
            }
            let body: CallBody = req.json()?;
            let record = find(core, req, i)?;
            let from = crate::core::jid::normalize(&body.from)?;
            let call = sim(sim_link)?
                .inject_call(&record.instance.id, &from, body.video)
                .map_err(crate::core::model::CoreError::from)?;
            let report = core.ingest_call(&record.instance.id, call).await?;
            Ok(json(StatusCode::CREATED, &report))
        }
        ["sim", i, "call-end"] if m == Method::POST => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct CallEndBody {
                id: String,
                from: String,
                reason: crate::whatsapp::CallEndReason,
            }
            let body: CallEndBody = req.json()?;
            let record = find(core, req, i)?;
            let from = crate::core::jid::normalize(&body.from)?;
            let sim = sim(sim_link)?;
            sim.require_open(&record.instance.id)
                .map_err(crate::core::model::CoreError::from)?;
            let ended = crate::whatsapp::CallEnded {
                id: body.id,
                from,
                reason: body.reason,
                timestamp: crate::util::now_ms(),
            };
            core.ingest_call_end(&record.instance.id, ended.clone())
                .await?;
            Ok(json(StatusCode::CREATED, &ended))
        }
        ["sim", i, "actions"] if m == Method::GET => {
            let record = find(core, req, i)?;
            ok(&sim(sim_link)?.actions(&record.instance.id))
        }
        ["sim", i, "reaction"] if m == Method::POST => {
            let body: ReactionBody = req.json()?;
            let record = find(core, req, i)?;
            let target = core
                .find_message(&record.instance.id, &body.message_id)?
                .ok_or_else(crate::core::messages::message_not_found)?;
            let from = match &body.from {
                Some(f) => crate::core::jid::normalize(f)?,
                None => target.chat_jid.clone(),
            };
            let inbound = sim(sim_link)?
                .inject_reaction(
                    &record.instance.id,
                    &crate::whatsapp::MessageRef {
                        chat: &target.chat_jid,
                        id: &target.id,
                        from_me: target.from_me,
                        sender: &target.sender,
                    },
                    &from,
                    &body.emoji,
                )
                .map_err(crate::core::model::CoreError::from)?;
            let update = core
                .ingest_reaction(&record.instance.id, inbound)
                .await?
                .ok_or_else(crate::core::messages::message_not_found)?;
            Ok(json(StatusCode::CREATED, &update))
        }
        ["sim", i, "poll-vote"] if m == Method::POST => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields, rename_all = "camelCase")]
            struct PollVoteBody {
                poll_id: String,
                options: Vec<String>,
                from: Option<String>,
                #[serde(default)]
                garbled: bool,
            }
            let body: PollVoteBody = req.json()?;
            let record = find(core, req, i)?;
            let poll = core
                .find_message(&record.instance.id, &body.poll_id)?
                .ok_or_else(crate::core::messages::message_not_found)?;
            if !matches!(poll.content, Some(crate::core::model::Content::Poll(_))) {
                return Err(bad("the message is not a poll"));
            }
            let from = match &body.from {
                Some(f) => crate::core::jid::normalize(f)?,
                None => poll.chat_jid.clone(),
            };
            let vote = sim(sim_link)?
                .inject_poll_vote(
                    &record.instance.id,
                    &poll.chat_jid,
                    &poll.id,
                    &from,
                    &body.options,
                    body.garbled,
                )
                .map_err(crate::core::model::CoreError::from)?;
            let update = core
                .ingest_poll_vote(&record.instance.id, vote)
                .await?
                .ok_or_else(|| bad("the message is not a poll"))?;
            Ok(json(StatusCode::CREATED, &update))
        }
        ["sim", i, "receipt"] if m == Method::POST => {
            let body: ReceiptBody = req.json()?;
            let status = DeliveryStatus::parse(&body.status)
                .ok_or_else(|| bad("`status` must be sent, delivered, read or played"))?;
            if body.message_ids.is_empty() {
                return Err(bad("`messageIds` must name at least one message"));
            }
            let record = find(core, req, i)?;
            // A contact's receipts reach only an open session, as on the network.
            sim(sim_link)?
                .require_open(&record.instance.id)
                .map_err(crate::core::model::CoreError::from)?;
            // The path the link's own receipts take (`LinkEvent::Receipt`), awaited so
            // the answer says how many messages it raised.
            let changed = core
                .record_receipts(&record.instance.id, body.message_ids, status)
                .await?;
            ok(&serde_json::json!({"changed": changed}))
        }
        _ => Err(ApiError::not_found()),
    }
}

/// The instance `{i}` names: an id, or a name within `?org=` (id or name); without
/// `?org=`, a name only one org uses (names are unique per org only).
fn find(core: &Core, req: &Req, i: &str) -> Result<InstanceRecord, ApiError> {
    let org = req.query_param("org");
    Ok(core.find_instance_for_operator(org.as_deref(), &InstanceRef::parse(i))?)
}

/// `/admin/sim/{i}/group`: a change a group member makes on their phone.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SimGroupBody {
    group: String,
    author: String,
    action: String,
    #[serde(default)]
    participants: Vec<String>,
    #[serde(default)]
    value: serde_json::Value,
}

impl SimGroupBody {
    fn change(&self) -> Result<crate::core::group_events::GroupChangeKind, ApiError> {
        use crate::core::group_events::{GroupChangeKind as K, GroupInfoChange as I, GroupMember};
        use crate::core::groups::{GroupSetting as S, ParticipantAction as A};
        let flag = || {
            self.value
                .as_bool()
                .ok_or_else(|| bad("`value` must be true or false for this action"))
        };
        let participants = |action| -> Result<K, ApiError> {
            if self.participants.is_empty() {
                return Err(bad("`participants` may not be empty"));
            }
            let members = self
                .participants
                .iter()
                .map(|p| {
                    Ok(GroupMember {
                        jid: crate::core::jid::normalize(p)?,
                        phone: None,
                    })
                })
                .collect::<Result<Vec<_>, crate::core::model::CoreError>>()?;
            Ok(K::Participants { action, members })
        };
        Ok(match self.action.as_str() {
            "add" => participants(A::Add)?,
            "remove" => participants(A::Remove)?,
            "promote" => participants(A::Promote)?,
            "demote" => participants(A::Demote)?,
            "subject" => K::Info(I::Subject(
                self.value
                    .as_str()
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| bad("`value` must be the new subject"))?
                    .to_string(),
            )),
            "description" => K::Info(I::Description {
                text: self.value.as_str().map(str::to_string),
                id: None,
            }),
            "announcement" => K::Info(I::Setting(S::Announcement(flag()?))),
            "locked" => K::Info(I::Setting(S::Locked(flag()?))),
            "approval" => K::Info(I::Setting(S::Approval(flag()?))),
            "ephemeral" => K::Info(I::Setting(S::Ephemeral(
                self.value
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad("`value` must be the timer in seconds"))?,
            ))),
            other => return Err(bad(format!("unknown group action `{other}`"))),
        })
    }
}

fn sim(sim_link: Option<&SimLink>) -> Result<&SimLink, ApiError> {
    sim_link.ok_or_else(|| bad("this gateway does not run the `sim` link"))
}
