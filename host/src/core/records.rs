//! Records stored as JSON values. Each type's invariants are stated at the type.

use serde::{Deserialize, Serialize};

use crate::core::model::{Capabilities, Instance};

/// An organisation. Invariant: `name` is unique (`ORG_NAMES` maps it back to `id`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgRecord {
    /// Stable id (a ULID); records of the org refer to it, never to the name.
    pub id: String,
    /// Operator-chosen name, unique across orgs.
    pub name: String,
    /// Epoch ms of creation.
    pub created_at: u64,
}

/// What kind of secret a credential is: decides the token's prefix, its default
/// capabilities, and which auth scheme is expected to present it (authorization itself
/// only looks at the principal). The host defines two kinds, `api-key` and `instance`;
/// plugins declare the others in their manifest (`[[credential_kinds]]`, e.g. the Ryze
/// auth plugin's `ryze-account`), and core learns them through
/// [`crate::core::Core::declare_credential_kinds`]. Stored as its name, so records of
/// kinds whose plugin is not loaded stay readable.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CredentialKind(String);

impl CredentialKind {
    /// Script/service key (`wa_...`): the native API and bearer-style dialects.
    pub const API_KEY: &'static str = "api-key";
    /// An instance's own token (`wai_...`), minted by create-instance and by
    /// integrations. Invariant: its credential's `instance` is set.
    pub const INSTANCE: &'static str = "instance";
    /// An integration's inbound secret (the `?token=` of the URL a sink's service calls
    /// back, e.g. Chatwoot's webhook), minted by `set-integration` only. It lives in
    /// another service's settings, so it is scoped to the one route it exists for: only
    /// an auth plugin granted `inbound_secrets` (url-token, in front of the sink's
    /// inbound mount) resolves it, and such a plugin resolves nothing else. Invariant:
    /// its credential's `instance` is set.
    pub const INBOUND: &'static str = "inbound";

    /// The kind named `name` (whether anything declares it is checked where a
    /// credential is minted).
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The host's `api-key` kind.
    pub fn api_key() -> Self {
        Self::new(Self::API_KEY)
    }

    /// The host's `instance` kind.
    pub fn instance() -> Self {
        Self::new(Self::INSTANCE)
    }

    /// Its name, as stored and as the admin API takes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host's `inbound` kind.
    pub fn inbound() -> Self {
        Self::new(Self::INBOUND)
    }

    /// Whether this is the host's instance-bound kind.
    pub fn is_instance(&self) -> bool {
        self.0 == Self::INSTANCE
    }

    /// Whether this is an integration's inbound secret.
    pub fn is_inbound(&self) -> bool {
        self.0 == Self::INBOUND
    }
}

impl std::fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The prefix of instance tokens (the host's `instance` kind).
pub const INSTANCE_TOKEN_PREFIX: &str = "wai_";
/// The prefix of integrations' inbound secrets (the host's `inbound` kind).
pub const INBOUND_SECRET_PREFIX: &str = "wain_";

/// How credentials of one kind are minted: the token prefix (so a leaked secret says
/// what it is, and secret scanners match it) and the capabilities a credential gets
/// when its creator names none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialKindSpec {
    /// The kind being declared.
    pub kind: CredentialKind,
    /// Start of every minted token of this kind (`wa_`, `wai_`, a plugin's own).
    pub prefix: String,
    /// Capabilities when the creator names none.
    pub default_caps: Capabilities,
    /// Who declared it: `host`, or the plugin's name.
    pub declared_by: String,
}

impl CredentialKindSpec {
    /// The kinds the host itself mints.
    pub fn builtin() -> [CredentialKindSpec; 3] {
        [
            CredentialKindSpec {
                kind: CredentialKind::api_key(),
                prefix: "wa_".into(),
                default_caps: Capabilities::STANDARD,
                declared_by: "host".into(),
            },
            CredentialKindSpec {
                kind: CredentialKind::instance(),
                prefix: INSTANCE_TOKEN_PREFIX.into(),
                default_caps: Capabilities::STANDARD,
                declared_by: "host".into(),
            },
            CredentialKindSpec {
                kind: CredentialKind::inbound(),
                prefix: INBOUND_SECRET_PREFIX.into(),
                default_caps: Capabilities::STANDARD,
                declared_by: "host".into(),
            },
        ]
    }
}

/// A credential, keyed by the sha256 of its secret. Invariant: the secret is never
/// stored; `id` is what logs and principals show.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CredentialRecord {
    /// Public id, safe to log (the secret's hash is the key, not this).
    pub id: String,
    /// The org whose instances it may reach.
    pub org: String,
    /// What kind of secret it is.
    pub kind: CredentialKind,
    /// What it may do.
    pub caps: Capabilities,
    /// Bound instance id; bound credentials are wiped with their instance.
    pub instance: Option<String>,
    /// Operator's note on what it is for.
    pub label: Option<String>,
    /// Epoch ms of creation.
    pub created_at: u64,
}

/// An instance. Invariant: `INSTANCE_NAMES[instance_name_key(org, name)] == id`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstanceRecord {
    /// The instance as the API shows it (flattened: one JSON object on disk).
    #[serde(flatten)]
    pub instance: Instance,
    /// Free-form per-instance settings owned by plugins (webhook, chatwoot, ...), wiped
    /// with the instance.
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// The instance's own choice of inbound media to download; `None`: the
    /// deployment's default (see [`crate::whatsapp::MediaDownload`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_download: Option<crate::whatsapp::MediaDownload>,
    /// The instance's behaviour switches (reject calls, ignore groups, ...); all off
    /// on instances stored before they existed.
    #[serde(default)]
    pub behaviour: crate::core::settings::InstanceSettings,
    /// This account's profile as last seen (refreshed when the session opens and when
    /// the gateway changes it); `None` before the first pairing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<crate::core::profile::Profile>,
    /// The proxy the instance's WhatsApp connection goes through (password kept as
    /// given: the link authenticates with it); `None`: never set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<crate::core::proxy::Proxy>,
}

/// The instance's record inside a write, `None` when it was deleted meanwhile: work
/// that lands after an instance's delete (a late event of its session) keeps nothing.
pub(crate) fn live_record(
    tx: &crate::store::kv::WriteTx,
    instance_id: &str,
) -> crate::core::model::CoreResult<Option<InstanceRecord>> {
    let table = tx
        .open_table(crate::store::tables::INSTANCES)
        .map_err(crate::store::internal)?;
    Ok(crate::store::get_json::<_, InstanceRecord>(
        &table,
        instance_id,
    )?)
}
