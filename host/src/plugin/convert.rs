//! Conversions between the WIT types (`wagate:plugin/types`) and `core::model`: the one
//! place where the contract's shapes meet the core's. Every grant uses them; none
//! defines its own.

use crate::core::calls::CallReport;
use crate::core::model;
use crate::core::profile::Profile;
use crate::core::settings::InstanceSettings;
use crate::plugin::bindings::types as wit;
use crate::whatsapp::PresenceUpdate;

impl From<wit::WebhookSpec> for model::WebhookSpec {
    fn from(w: wit::WebhookSpec) -> Self {
        model::WebhookSpec {
            // A dialect's webhooks are matched by URL (its products have no ids for them).
            id: None,
            url: w.url,
            events: w.events,
            headers: w.headers.into_iter().map(|h| (h.name, h.value)).collect(),
            enabled: w.enabled,
            secret: w.secret,
        }
    }
}

impl From<crate::core::socketio::SocketIoSettings> for wit::SocketioSettings {
    fn from(s: crate::core::socketio::SocketIoSettings) -> Self {
        wit::SocketioSettings {
            enabled: s.enabled,
            events: s.events,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

impl From<wit::SocketioSettings> for crate::core::socketio::SocketIoSettings {
    fn from(s: wit::SocketioSettings) -> Self {
        crate::core::socketio::SocketIoSettings {
            enabled: s.enabled,
            events: s.events,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

impl From<model::Webhook> for wit::Webhook {
    fn from(w: model::Webhook) -> Self {
        wit::Webhook {
            id: w.id,
            url: w.url,
            events: w.events,
            headers: w
                .headers
                .into_iter()
                .map(|(name, value)| wit::Header { name, value })
                .collect(),
            enabled: w.enabled,
            secret: w.secret,
            created_at: w.created_at,
        }
    }
}

impl From<wit::IntegrationSpec> for model::IntegrationSpec {
    fn from(i: wit::IntegrationSpec) -> Self {
        model::IntegrationSpec {
            sink: i.sink,
            url: i.url,
            settings: i.settings,
            secret_headers: i
                .secret_headers
                .map(|hs| hs.into_iter().map(|h| (h.name, h.value)).collect()),
            enabled: i.enabled,
        }
    }
}

impl From<model::Integration> for wit::Integration {
    fn from(i: model::Integration) -> Self {
        wit::Integration {
            sink: i.sink,
            url: i.url,
            settings: i.settings,
            enabled: i.enabled,
            secret_header_names: i.secret_header_names,
            inbound_secret: i.inbound_secret,
            created_at: i.created_at,
        }
    }
}

impl From<crate::core::brokers::BrokerDestination> for wit::BrokerDestination {
    fn from(d: crate::core::brokers::BrokerDestination) -> Self {
        wit::BrokerDestination {
            id: d.id,
            broker: d.broker,
            transport: d.transport,
            events: d.events,
            enabled: d.enabled,
            created_at: d.created_at,
        }
    }
}

impl From<wit::BrokerSpec> for crate::core::brokers::BrokerSpec {
    fn from(s: wit::BrokerSpec) -> Self {
        crate::core::brokers::BrokerSpec {
            broker: s.broker,
            events: s.events,
            enabled: s.enabled,
        }
    }
}

impl From<model::Resource> for wit::ResourceKind {
    fn from(r: model::Resource) -> Self {
        use model::Resource as R;
        match r {
            R::Instance => wit::ResourceKind::Instance,
            R::Chat => wit::ResourceKind::Chat,
            R::Message => wit::ResourceKind::Message,
            R::Webhook => wit::ResourceKind::Webhook,
            R::Integration => wit::ResourceKind::Integration,
            R::Sink => wit::ResourceKind::Sink,
            R::Org => wit::ResourceKind::Org,
            R::DeadLetter => wit::ResourceKind::DeadLetter,
            R::Group => wit::ResourceKind::Group,
            R::Label => wit::ResourceKind::Label,
        }
    }
}

impl From<model::CoreError> for wit::CoreError {
    fn from(e: model::CoreError) -> Self {
        use model::CoreError as E;
        match e {
            E::NotFound(kind, message) => wit::CoreError::NotFound(wit::Missing {
                kind: kind.into(),
                message,
            }),
            E::Forbidden(m) => wit::CoreError::Forbidden(m),
            E::Invalid(m) => wit::CoreError::Invalid(m),
            E::TooLarge(m) => wit::CoreError::TooLarge(m),
            E::Conflict(m) => wit::CoreError::Conflict(m),
            E::NotConnected(m) => wit::CoreError::NotConnected(m),
            E::RateLimited(ms) => wit::CoreError::RateLimited(ms),
            E::Internal(m) => wit::CoreError::Internal(m),
        }
    }
}

impl From<wit::InstanceRef> for model::InstanceRef {
    fn from(r: wit::InstanceRef) -> Self {
        match r {
            wit::InstanceRef::Id(s) => model::InstanceRef::Id(s),
            wit::InstanceRef::Name(s) => model::InstanceRef::Name(s),
        }
    }
}

impl From<model::Capabilities> for wit::Capabilities {
    fn from(c: model::Capabilities) -> Self {
        let mut out = wit::Capabilities::empty();
        if c.read {
            out |= wit::Capabilities::READ;
        }
        if c.send {
            out |= wit::Capabilities::SEND;
        }
        if c.manage {
            out |= wit::Capabilities::MANAGE;
        }
        if c.admin {
            out |= wit::Capabilities::ADMIN;
        }
        out
    }
}

impl From<wit::Capabilities> for model::Capabilities {
    fn from(c: wit::Capabilities) -> Self {
        model::Capabilities {
            read: c.contains(wit::Capabilities::READ),
            send: c.contains(wit::Capabilities::SEND),
            manage: c.contains(wit::Capabilities::MANAGE),
            admin: c.contains(wit::Capabilities::ADMIN),
        }
    }
}

impl From<model::Principal> for wit::Principal {
    fn from(p: model::Principal) -> Self {
        wit::Principal {
            subject: p.subject,
            org: p.org,
            capabilities: p.caps.into(),
            instance: p.instance,
        }
    }
}

impl From<wit::Principal> for model::Principal {
    fn from(p: wit::Principal) -> Self {
        model::Principal {
            subject: p.subject,
            org: p.org,
            caps: p.capabilities.into(),
            instance: p.instance,
            // Not in the contract: the host sets it from the resolving auth plugin's
            // manifest (see `PluginHost::run_auth`), never a plugin's own say.
            may_delete_own_instance: false,
        }
    }
}

impl From<model::ConnectionState> for wit::ConnectionState {
    fn from(s: model::ConnectionState) -> Self {
        match s {
            model::ConnectionState::Disconnected => wit::ConnectionState::Disconnected,
            model::ConnectionState::Connecting => wit::ConnectionState::Connecting,
            model::ConnectionState::Open => wit::ConnectionState::Open,
            model::ConnectionState::Closed => wit::ConnectionState::Closed,
        }
    }
}

impl From<model::Instance> for wit::Instance {
    fn from(i: model::Instance) -> Self {
        wit::Instance {
            id: i.id,
            name: i.name,
            org: i.org,
            state: i.state.into(),
            owner_jid: i.owner_jid,
            created_at: i.created_at,
        }
    }
}

impl From<wit::CreateOptions> for model::CreateOptions {
    fn from(o: wit::CreateOptions) -> Self {
        model::CreateOptions {
            token: o.token,
            settings: o.settings.map(Into::into),
        }
    }
}

impl From<model::InstanceStats> for wit::InstanceStats {
    fn from(s: model::InstanceStats) -> Self {
        wit::InstanceStats {
            chats: s.chats,
            messages: s.messages,
        }
    }
}

impl From<model::CreatedInstance> for wit::CreatedInstance {
    fn from(c: model::CreatedInstance) -> Self {
        wit::CreatedInstance {
            instance: c.instance.into(),
            token: c.token,
        }
    }
}

impl From<model::ConnectInfo> for wit::ConnectInfo {
    fn from(c: model::ConnectInfo) -> Self {
        wit::ConnectInfo {
            state: c.state.into(),
            qr: c.qr,
            pair_code: c.pair_code,
        }
    }
}

impl From<model::Chat> for wit::Chat {
    fn from(c: model::Chat) -> Self {
        wit::Chat {
            jid: c.jid,
            jid_alt: c.jid_alt,
            name: c.name,
            archived: c.archived,
            pinned: c.pinned,
            muted_until: c.muted_until,
            last_activity: c.last_activity,
        }
    }
}

impl From<wit::ChatPatch> for model::ChatPatch {
    fn from(p: wit::ChatPatch) -> Self {
        model::ChatPatch {
            archived: p.archived,
            pinned: p.pinned,
            muted_until: p.muted_until,
            unmute: p.unmute,
        }
    }
}

impl From<model::Message> for wit::Message {
    fn from(m: model::Message) -> Self {
        wit::Message {
            id: m.id,
            chat_jid: m.chat_jid,
            chat_jid_alt: m.chat_jid_alt,
            from_me: m.from_me,
            sender: m.sender,
            sender_alt: m.sender_alt,
            timestamp: m.timestamp,
            text: m.text,
            media: m.media.map(Into::into),
            revoked: m.revoked,
            deleted_for_me: m.deleted_for_me,
            status: m.status.map(Into::into),
            reactions: m.reactions.into_iter().map(Into::into).collect(),
            content: m.content.map(Into::into),
            poll_votes: m.poll_votes.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<model::PollVote> for wit::PollVote {
    fn from(v: model::PollVote) -> Self {
        wit::PollVote {
            id: v.id,
            voter: v.voter,
            options: v.options,
            timestamp: v.timestamp,
            error: v.error,
        }
    }
}

impl From<model::PollVoteUpdate> for wit::PollVoteUpdate {
    fn from(u: model::PollVoteUpdate) -> Self {
        wit::PollVoteUpdate {
            message: u.message.into(),
            vote: u.vote.into(),
        }
    }
}

impl From<model::Content> for wit::MessageContent {
    fn from(c: model::Content) -> Self {
        match c {
            model::Content::Location(l) => wit::MessageContent::Location(wit::Location {
                latitude: l.latitude,
                longitude: l.longitude,
                name: l.name,
                address: l.address,
            }),
            model::Content::Contacts { contacts } => wit::MessageContent::Contacts(
                contacts
                    .into_iter()
                    .map(|c| wit::ContactCard {
                        display_name: c.display_name,
                        vcard: c.vcard,
                    })
                    .collect(),
            ),
            model::Content::Poll(p) => wit::MessageContent::Poll(wit::Poll {
                question: p.question,
                options: p.options,
                selectable: p.selectable,
            }),
            model::Content::Unsupported { type_name } => {
                wit::MessageContent::Unsupported(type_name)
            }
        }
    }
}

impl From<wit::MessageContent> for model::Content {
    fn from(c: wit::MessageContent) -> Self {
        match c {
            wit::MessageContent::Location(l) => model::Content::Location(model::Location {
                latitude: l.latitude,
                longitude: l.longitude,
                name: l.name,
                address: l.address,
            }),
            wit::MessageContent::Contacts(contacts) => model::Content::Contacts {
                contacts: contacts
                    .into_iter()
                    .map(|c| model::ContactCard {
                        display_name: c.display_name,
                        vcard: c.vcard,
                    })
                    .collect(),
            },
            wit::MessageContent::Poll(p) => model::Content::Poll(model::Poll {
                question: p.question,
                options: p.options,
                selectable: p.selectable,
            }),
            wit::MessageContent::Unsupported(type_name) => {
                model::Content::Unsupported { type_name }
            }
        }
    }
}

impl From<model::Reaction> for wit::Reaction {
    fn from(r: model::Reaction) -> Self {
        wit::Reaction {
            id: r.id,
            sender: r.sender,
            emoji: r.emoji,
            from_me: r.from_me,
            timestamp: r.timestamp,
        }
    }
}

impl From<wit::ChatPresence> for crate::whatsapp::ChatPresence {
    fn from(p: wit::ChatPresence) -> Self {
        use crate::whatsapp::ChatPresence as P;
        match p {
            wit::ChatPresence::Composing => P::Composing,
            wit::ChatPresence::Recording => P::Recording,
            wit::ChatPresence::Paused => P::Paused,
        }
    }
}

impl From<model::ReactionUpdate> for wit::ReactionUpdate {
    fn from(u: model::ReactionUpdate) -> Self {
        wit::ReactionUpdate {
            message: u.message.into(),
            reaction: u.reaction.into(),
        }
    }
}

impl From<model::DeliveryStatus> for wit::DeliveryStatus {
    fn from(s: model::DeliveryStatus) -> Self {
        use model::DeliveryStatus as S;
        match s {
            S::Sent => wit::DeliveryStatus::Sent,
            S::Delivered => wit::DeliveryStatus::Delivered,
            S::Read => wit::DeliveryStatus::Read,
            S::Played => wit::DeliveryStatus::Played,
        }
    }
}

impl From<model::MediaKind> for wit::MediaKind {
    fn from(k: model::MediaKind) -> Self {
        use model::MediaKind as K;
        match k {
            K::Image => wit::MediaKind::Image,
            K::Video => wit::MediaKind::Video,
            K::Audio => wit::MediaKind::Audio,
            K::Voice => wit::MediaKind::Voice,
            K::Document => wit::MediaKind::Document,
            K::Sticker => wit::MediaKind::Sticker,
            K::VideoNote => wit::MediaKind::VideoNote,
        }
    }
}

impl From<wit::MediaKind> for model::MediaKind {
    fn from(k: wit::MediaKind) -> Self {
        use model::MediaKind as K;
        match k {
            wit::MediaKind::Image => K::Image,
            wit::MediaKind::Video => K::Video,
            wit::MediaKind::Audio => K::Audio,
            wit::MediaKind::Voice => K::Voice,
            wit::MediaKind::Document => K::Document,
            wit::MediaKind::Sticker => K::Sticker,
            wit::MediaKind::VideoNote => K::VideoNote,
        }
    }
}

impl From<model::MediaInfo> for wit::MediaInfo {
    fn from(i: model::MediaInfo) -> Self {
        wit::MediaInfo {
            kind: i.kind.into(),
            mimetype: i.mimetype,
            size: i.size,
            sha256: i.sha256,
            file_name: i.file_name,
            duration_secs: i.duration_secs,
            width: i.width,
            height: i.height,
            stored: i.stored,
        }
    }
}

impl From<wit::MediaSource> for crate::core::media::MediaSource {
    fn from(s: wit::MediaSource) -> Self {
        use crate::core::media::MediaSource as M;
        match s {
            wit::MediaSource::Bytes(b) => M::Bytes(b.into()),
            wit::MediaSource::Url(u) => M::Url(u),
            wit::MediaSource::Upload(id) => M::Upload(id),
        }
    }
}

impl From<wit::MediaSend> for crate::core::media::SendMedia {
    fn from(m: wit::MediaSend) -> Self {
        crate::core::media::SendMedia {
            kind: m.kind.into(),
            source: m.source.into(),
            mimetype: m.mimetype,
            file_name: m.file_name,
            caption: m.caption,
            duration_secs: m.duration_secs,
            width: None,
            height: None,
            quoted: m.quoted,
            mentions: m.mentions,
        }
    }
}

impl From<wit::StatusPost> for crate::core::status::StatusPost {
    fn from(p: wit::StatusPost) -> Self {
        use crate::core::status::StatusContent;
        crate::core::status::StatusPost {
            content: match p.content {
                wit::StatusContent::Text(t) => StatusContent::Text {
                    text: t.text,
                    background_argb: t.background_argb,
                    font: t.font,
                },
                wit::StatusContent::Media(m) => StatusContent::Media(m.into()),
            },
            recipients: p.recipients,
        }
    }
}

/// `get-media`'s answer: the bytes are copied into the guest once, here.
impl From<(bytes::Bytes, model::MediaInfo)> for wit::MediaFile {
    fn from((bytes, info): (bytes::Bytes, model::MediaInfo)) -> Self {
        wit::MediaFile {
            info: info.into(),
            bytes: bytes.to_vec(),
        }
    }
}

/// `get-media-url`'s answer.
impl From<crate::core::media::MediaUrl> for wit::MediaUrl {
    fn from(u: crate::core::media::MediaUrl) -> Self {
        wit::MediaUrl {
            url: u.url,
            expires_in_secs: u32::try_from(u.expires_in.as_secs()).unwrap_or(u32::MAX),
            info: u.info.into(),
        }
    }
}

impl From<model::MessagePage> for wit::MessagePage {
    fn from(p: model::MessagePage) -> Self {
        wit::MessagePage {
            messages: p.messages.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

impl From<model::RateDecision> for wit::RateDecision {
    fn from(d: model::RateDecision) -> Self {
        wit::RateDecision {
            allowed: d.allowed,
            limit: d.limit,
            remaining: d.remaining,
            reset_at: d.reset_at,
        }
    }
}

impl From<model::EventPayload> for wit::EventPayload {
    fn from(p: model::EventPayload) -> Self {
        use model::EventPayload as P;
        match p {
            P::MessageUpsert(m) => wit::EventPayload::MessageUpsert(m.into()),
            P::MessageRevoked(m) => wit::EventPayload::MessageRevoked(m.into()),
            P::MessageMedia(m) => wit::EventPayload::MessageMedia(m.into()),
            P::MessageDeleted(m) => wit::EventPayload::MessageDeleted(m.into()),
            P::ChatDeleted(j) => wit::EventPayload::ChatDeleted(j),
            P::ChatUpdated(c) => wit::EventPayload::ChatUpdated(c.into()),
            P::ConnectionUpdate(s) => wit::EventPayload::ConnectionUpdate(s.into()),
            P::QrUpdated(q) => wit::EventPayload::QrUpdated(q),
            P::InstanceDeleted(i) => wit::EventPayload::InstanceDeleted(i.into()),
            P::InstanceCreated(i) => wit::EventPayload::InstanceCreated(i.into()),
            P::MessageStatus(m) => wit::EventPayload::MessageStatus(m.into()),
            P::MessageReaction(u) => wit::EventPayload::MessageReaction(u.into()),
            P::MessageEdited(m) => wit::EventPayload::MessageEdited(m.into()),
            P::PollVote(u) => wit::EventPayload::PollVote(u.into()),
            P::Call(c) => wit::EventPayload::Call(c.into()),
            P::CallEnded(c) => wit::EventPayload::CallEnded(wit::CallEnd {
                id: c.id,
                from: c.from,
                reason: match c.reason {
                    crate::whatsapp::CallEndReason::Missed => wit::CallEndReason::Missed,
                    crate::whatsapp::CallEndReason::AcceptedElsewhere => {
                        wit::CallEndReason::AcceptedElsewhere
                    }
                    crate::whatsapp::CallEndReason::RejectedElsewhere => {
                        wit::CallEndReason::RejectedElsewhere
                    }
                },
                timestamp: c.timestamp,
            }),
            P::PresenceUpdate(u) => wit::EventPayload::PresenceUpdate(u.into()),
            P::HistoryChats(cs) => {
                wit::EventPayload::HistoryChats(cs.into_iter().map(Into::into).collect())
            }
            P::HistorySync(ms) => {
                wit::EventPayload::HistorySync(ms.into_iter().map(Into::into).collect())
            }
            P::GroupUpsert(g) => wit::EventPayload::GroupUpsert(g.into()),
            P::GroupUpdate(u) => wit::EventPayload::GroupUpdate(u.into()),
            P::GroupParticipants(u) => wit::EventPayload::GroupParticipants(u.into()),
            P::ContactUpsert(c) => wit::EventPayload::ContactUpsert(c.into()),
            P::ContactUpdate(c) => wit::EventPayload::ContactUpdate(c.into()),
            P::LabelEdit(l) => wit::EventPayload::LabelEdit(l.into()),
            P::LabelAssociation(a) => wit::EventPayload::LabelAssociation(a.into()),
        }
    }
}

impl From<model::Event> for wit::Event {
    fn from(e: model::Event) -> Self {
        wit::Event {
            id: e.id,
            instance_id: e.instance_id,
            instance_name: e.instance_name,
            org: e.org,
            timestamp: e.timestamp,
            payload: e.payload.into(),
        }
    }
}

// ---- Settings and calls (issue 17) -------------------------------------------------

impl From<wit::InstanceSettings> for InstanceSettings {
    fn from(s: wit::InstanceSettings) -> Self {
        InstanceSettings {
            reject_calls: s.reject_calls,
            call_reply: s.call_reply,
            ignore_groups: s.ignore_groups,
            always_online: s.always_online,
            read_messages: s.read_messages,
            read_status: s.read_status,
            sync_full_history: s.sync_full_history,
        }
    }
}

impl From<InstanceSettings> for wit::InstanceSettings {
    fn from(s: InstanceSettings) -> Self {
        wit::InstanceSettings {
            reject_calls: s.reject_calls,
            call_reply: s.call_reply,
            ignore_groups: s.ignore_groups,
            always_online: s.always_online,
            read_messages: s.read_messages,
            read_status: s.read_status,
            sync_full_history: s.sync_full_history,
        }
    }
}

// ---- Proxy per instance (issue 18) -------------------------------------------------

impl From<wit::ProxySettings> for crate::core::proxy::Proxy {
    fn from(p: wit::ProxySettings) -> Self {
        use crate::core::proxy::ProxyProtocol;
        crate::core::proxy::Proxy {
            enabled: p.enabled,
            protocol: match p.protocol {
                wit::ProxyProtocol::Http => ProxyProtocol::Http,
                wit::ProxyProtocol::Https => ProxyProtocol::Https,
                wit::ProxyProtocol::Socks4 => ProxyProtocol::Socks4,
                wit::ProxyProtocol::Socks5 => ProxyProtocol::Socks5,
            },
            host: p.host,
            port: p.port,
            username: p.username.filter(|u| !u.is_empty()),
            password: p.password.filter(|u| !u.is_empty()),
        }
    }
}

impl From<crate::core::proxy::Proxy> for wit::ProxySettings {
    fn from(p: crate::core::proxy::Proxy) -> Self {
        use crate::core::proxy::ProxyProtocol;
        wit::ProxySettings {
            enabled: p.enabled,
            protocol: match p.protocol {
                ProxyProtocol::Http => wit::ProxyProtocol::Http,
                ProxyProtocol::Https => wit::ProxyProtocol::Https,
                ProxyProtocol::Socks4 => wit::ProxyProtocol::Socks4,
                ProxyProtocol::Socks5 => wit::ProxyProtocol::Socks5,
            },
            host: p.host,
            port: p.port,
            username: p.username,
            password: p.password,
        }
    }
}

impl From<Profile> for wit::Profile {
    fn from(p: Profile) -> Self {
        wit::Profile {
            jid: p.jid,
            name: p.name,
            status: p.status,
            picture_url: p.picture_url,
            is_business: p.is_business,
        }
    }
}

impl From<PresenceUpdate> for wit::PresenceUpdate {
    fn from(u: PresenceUpdate) -> Self {
        use crate::whatsapp::PresenceState as S;
        wit::PresenceUpdate {
            jid: u.jid,
            chat: u.chat,
            presence: match u.presence {
                S::Available => wit::PresenceState::Available,
                S::Unavailable => wit::PresenceState::Unavailable,
                S::Composing => wit::PresenceState::Composing,
                S::Recording => wit::PresenceState::Recording,
                S::Paused => wit::PresenceState::Paused,
            },
            last_seen: u.last_seen,
        }
    }
}

impl From<CallReport> for wit::CallReport {
    fn from(r: CallReport) -> Self {
        wit::CallReport {
            id: r.call.id,
            from: r.call.from,
            phone: r.call.phone,
            video: r.call.video,
            group_jid: r.call.group_jid,
            timestamp: r.call.timestamp,
            offline: r.call.offline,
            rejected: r.rejected,
        }
    }
}

// ---- Groups (issue 16) -------------------------------------------------------------

mod groups {
    use crate::core::groups as g;
    use crate::plugin::bindings::types as wit;

    impl From<g::ParticipantRole> for wit::ParticipantRole {
        fn from(r: g::ParticipantRole) -> Self {
            match r {
                g::ParticipantRole::Member => wit::ParticipantRole::Member,
                g::ParticipantRole::Admin => wit::ParticipantRole::Admin,
                g::ParticipantRole::SuperAdmin => wit::ParticipantRole::SuperAdmin,
            }
        }
    }

    impl From<g::GroupPage> for wit::GroupPage {
        fn from(x: g::GroupPage) -> Self {
            wit::GroupPage {
                groups: x.groups.into_iter().map(Into::into).collect(),
                next_cursor: x.next_cursor,
            }
        }
    }

    impl From<g::Group> for wit::Group {
        fn from(x: g::Group) -> Self {
            wit::Group {
                jid: x.jid,
                subject: x.subject,
                subject_owner: x.subject_owner,
                subject_time: x.subject_time,
                description: x.description,
                description_id: x.description_id,
                owner: x.owner,
                created_at: x.created_at,
                participants: x
                    .participants
                    .into_iter()
                    .map(|p| wit::GroupParticipant {
                        jid: p.jid,
                        role: p.role.into(),
                    })
                    .collect(),
                settings: wit::GroupSettings {
                    announcement: x.settings.announcement,
                    locked: x.settings.locked,
                    ephemeral_secs: x.settings.ephemeral_secs,
                    approval: x.settings.approval,
                },
                invite_code: x.invite_code,
            }
        }
    }

    impl From<wit::GroupCreate> for g::GroupCreate {
        fn from(c: wit::GroupCreate) -> Self {
            g::GroupCreate {
                subject: c.subject,
                participants: c.participants,
                description: c.description,
            }
        }
    }

    impl From<wit::ParticipantAction> for g::ParticipantAction {
        fn from(a: wit::ParticipantAction) -> Self {
            match a {
                wit::ParticipantAction::Add => g::ParticipantAction::Add,
                wit::ParticipantAction::Remove => g::ParticipantAction::Remove,
                wit::ParticipantAction::Promote => g::ParticipantAction::Promote,
                wit::ParticipantAction::Demote => g::ParticipantAction::Demote,
            }
        }
    }

    impl From<g::ParticipantResult> for wit::ParticipantResult {
        fn from(r: g::ParticipantResult) -> Self {
            wit::ParticipantResult {
                jid: r.jid,
                status: r.status,
                error: r.error,
            }
        }
    }

    impl From<wit::GroupSetting> for g::GroupSetting {
        fn from(s: wit::GroupSetting) -> Self {
            match s {
                wit::GroupSetting::Announcement(on) => g::GroupSetting::Announcement(on),
                wit::GroupSetting::Locked(on) => g::GroupSetting::Locked(on),
                wit::GroupSetting::Ephemeral(secs) => g::GroupSetting::Ephemeral(secs),
                wit::GroupSetting::Approval(on) => g::GroupSetting::Approval(on),
            }
        }
    }

    impl From<g::ParticipantAction> for wit::ParticipantAction {
        fn from(a: g::ParticipantAction) -> Self {
            match a {
                g::ParticipantAction::Add => wit::ParticipantAction::Add,
                g::ParticipantAction::Remove => wit::ParticipantAction::Remove,
                g::ParticipantAction::Promote => wit::ParticipantAction::Promote,
                g::ParticipantAction::Demote => wit::ParticipantAction::Demote,
            }
        }
    }

    impl From<g::GroupSetting> for wit::GroupSetting {
        fn from(s: g::GroupSetting) -> Self {
            match s {
                g::GroupSetting::Announcement(on) => wit::GroupSetting::Announcement(on),
                g::GroupSetting::Locked(on) => wit::GroupSetting::Locked(on),
                g::GroupSetting::Ephemeral(secs) => wit::GroupSetting::Ephemeral(secs),
                g::GroupSetting::Approval(on) => wit::GroupSetting::Approval(on),
            }
        }
    }
}

// ---- Privacy and business profiles (issue 16) -------------------------------------

mod account {
    use crate::core::business as b;
    use crate::core::privacy as p;
    use crate::plugin::bindings::types as wit;

    impl From<p::PrivacySetting> for wit::PrivacySetting {
        fn from(s: p::PrivacySetting) -> Self {
            use p::PrivacyCategory as C;
            use p::PrivacyValue as V;
            wit::PrivacySetting {
                category: match s.category {
                    C::LastSeen => wit::PrivacyCategory::LastSeen,
                    C::Online => wit::PrivacyCategory::Online,
                    C::ProfilePicture => wit::PrivacyCategory::ProfilePicture,
                    C::About => wit::PrivacyCategory::About,
                    C::GroupAdd => wit::PrivacyCategory::GroupAdd,
                    C::ReadReceipts => wit::PrivacyCategory::ReadReceipts,
                    C::CallAdd => wit::PrivacyCategory::CallAdd,
                    C::Messages => wit::PrivacyCategory::Messages,
                },
                value: match s.value {
                    V::All => wit::PrivacyValue::All,
                    V::Contacts => wit::PrivacyValue::Contacts,
                    V::ContactBlacklist => wit::PrivacyValue::ContactBlacklist,
                    V::Nobody => wit::PrivacyValue::Nobody,
                    V::MatchLastSeen => wit::PrivacyValue::MatchLastSeen,
                    V::Known => wit::PrivacyValue::Known,
                },
            }
        }
    }

    impl From<wit::PrivacySetting> for p::PrivacySetting {
        fn from(s: wit::PrivacySetting) -> Self {
            use p::PrivacyCategory as C;
            use p::PrivacyValue as V;
            p::PrivacySetting {
                category: match s.category {
                    wit::PrivacyCategory::LastSeen => C::LastSeen,
                    wit::PrivacyCategory::Online => C::Online,
                    wit::PrivacyCategory::ProfilePicture => C::ProfilePicture,
                    wit::PrivacyCategory::About => C::About,
                    wit::PrivacyCategory::GroupAdd => C::GroupAdd,
                    wit::PrivacyCategory::ReadReceipts => C::ReadReceipts,
                    wit::PrivacyCategory::CallAdd => C::CallAdd,
                    wit::PrivacyCategory::Messages => C::Messages,
                },
                value: match s.value {
                    wit::PrivacyValue::All => V::All,
                    wit::PrivacyValue::Contacts => V::Contacts,
                    wit::PrivacyValue::ContactBlacklist => V::ContactBlacklist,
                    wit::PrivacyValue::Nobody => V::Nobody,
                    wit::PrivacyValue::MatchLastSeen => V::MatchLastSeen,
                    wit::PrivacyValue::Known => V::Known,
                },
            }
        }
    }

    impl From<b::BusinessProfile> for wit::BusinessProfile {
        fn from(x: b::BusinessProfile) -> Self {
            wit::BusinessProfile {
                jid: x.jid,
                description: x.description,
                email: x.email,
                websites: x.websites,
                categories: x.categories,
                address: x.address,
                timezone: x.timezone,
                hours: x
                    .hours
                    .into_iter()
                    .map(|h| wit::OpeningHours {
                        day: h.day,
                        mode: h.mode,
                        open_minute: h.open_minute,
                        close_minute: h.close_minute,
                    })
                    .collect(),
            }
        }
    }
}

// ---- Group events (issue 16) -------------------------------------------------------

mod group_events {
    use crate::core::group_events as e;
    use crate::plugin::bindings::types as wit;

    impl From<e::GroupMember> for wit::GroupMember {
        fn from(m: e::GroupMember) -> Self {
            wit::GroupMember {
                jid: m.jid,
                phone: m.phone,
            }
        }
    }

    impl From<e::GroupParticipantsUpdate> for wit::GroupParticipantsUpdate {
        fn from(u: e::GroupParticipantsUpdate) -> Self {
            wit::GroupParticipantsUpdate {
                group_jid: u.group_jid,
                author: u.author,
                timestamp: u.timestamp,
                action: u.action.into(),
                members: u.members.into_iter().map(Into::into).collect(),
                group: u.group.map(Into::into),
            }
        }
    }

    impl From<e::GroupUpdate> for wit::GroupUpdate {
        fn from(u: e::GroupUpdate) -> Self {
            wit::GroupUpdate {
                group_jid: u.group_jid,
                author: u.author,
                timestamp: u.timestamp,
                change: match u.change {
                    e::GroupInfoChange::Subject(s) => wit::GroupInfoChange::Subject(s),
                    e::GroupInfoChange::Description { text, .. } => {
                        wit::GroupInfoChange::Description(text)
                    }
                    e::GroupInfoChange::Setting(s) => wit::GroupInfoChange::Setting(s.into()),
                },
                group: u.group.map(Into::into),
            }
        }
    }
}

// ---- Contacts (issue 16) -----------------------------------------------------------

mod contacts {
    use crate::core::contacts as c;
    use crate::plugin::bindings::types as wit;

    impl From<c::NumberCheck> for wit::NumberCheck {
        fn from(n: c::NumberCheck) -> Self {
            wit::NumberCheck {
                input: n.input,
                jid: n.jid,
                exists: n.exists,
                jid_alt: n.jid_alt,
                business: n.business,
                error: n.error,
            }
        }
    }

    impl From<c::ContactPage> for wit::ContactPage {
        fn from(x: c::ContactPage) -> Self {
            wit::ContactPage {
                contacts: x.contacts.into_iter().map(Into::into).collect(),
                next_cursor: x.next_cursor,
            }
        }
    }

    impl From<c::Contact> for wit::Contact {
        fn from(x: c::Contact) -> Self {
            wit::Contact {
                jid: x.jid,
                jid_alt: x.jid_alt,
                saved_name: x.saved_name,
                push_name: x.push_name,
                business: x.business,
                created_at: x.created_at,
                updated_at: x.updated_at,
            }
        }
    }
}

/// Labels (`list-labels`, `chat-labels`, the `label-edit` event).
impl From<crate::core::labels::Label> for wit::Label {
    fn from(l: crate::core::labels::Label) -> Self {
        wit::Label {
            id: l.id,
            name: l.name,
            color: l.color,
            predefined_id: l.predefined_id,
            deleted: l.deleted,
        }
    }
}

/// `label-chat`'s answer and the `label-association` event.
impl From<crate::core::labels::LabelAssociation> for wit::LabelAssociation {
    fn from(a: crate::core::labels::LabelAssociation) -> Self {
        wit::LabelAssociation {
            label_id: a.label_id,
            chat_jid: a.chat_jid,
            labeled: a.labeled,
            timestamp: a.timestamp,
        }
    }
}
