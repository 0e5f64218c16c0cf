//! Records stored as JSON values. Each type's invariants are stated at the type.

use serde::{Deserialize, Serialize};

use crate::core::model::{Capabilities, Instance};

/// An organisation. Invariant: `name` is unique (`ORG_NAMES` maps it back to `id`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgRecord {
    pub id: String,
    pub name: String,
    pub created_at: u64,
}

/// What kind of secret a credential is. The kind decides the token's prefix and which
/// auth scheme is expected to present it; authorization only looks at the principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    /// Script/service key (`wa_...`): native API and sessions/v1.
    ApiKey,
    /// Ryze TokenAccount: org-wide.
    RyzeAccount,
    /// Evolution global-style key for one organisation.
    EvolutionKey,
    /// An instance's own token (Ryze TokenInstance, Evolution `hash`), minted by
    /// create-instance. Invariant: `instance` is set.
    Instance,
    /// An integration's inbound secret (the `?token=` of the URL a sink's service calls
    /// back, e.g. Chatwoot's webhook), minted by `set-integration`. It lives in another
    /// service's settings, so it is scoped to the one route it exists for: only an auth
    /// plugin granted `inbound_secrets` (url-token, in front of the sink's inbound
    /// mount) resolves it, and such a plugin resolves nothing else. Invariant:
    /// `instance` is set. Not mintable through the admin API.
    Inbound,
}

impl CredentialKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api-key" => Some(Self::ApiKey),
            "ryze-account" => Some(Self::RyzeAccount),
            "evolution-key" => Some(Self::EvolutionKey),
            "instance" => Some(Self::Instance),
            // `inbound` is not parsed: only an integration mints one.
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api-key",
            Self::RyzeAccount => "ryze-account",
            Self::EvolutionKey => "evolution-key",
            Self::Instance => "instance",
            Self::Inbound => "inbound",
        }
    }

    /// Token prefix, so a leaked secret says what it is (and secret scanners match it).
    pub fn prefix(self) -> &'static str {
        match self {
            Self::ApiKey => "wa_",
            Self::RyzeAccount => "ryze_",
            Self::EvolutionKey => "evo_",
            Self::Instance => "wai_",
            Self::Inbound => "wain_",
        }
    }
}

/// A credential, keyed by the sha256 of its secret. Invariant: the secret is never
/// stored; `id` is what logs and principals show.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CredentialRecord {
    pub id: String,
    pub org: String,
    pub kind: CredentialKind,
    pub caps: Capabilities,
    /// Bound instance id; bound credentials are wiped with their instance.
    pub instance: Option<String>,
    pub label: Option<String>,
    pub created_at: u64,
}

/// An instance. Invariant: `INSTANCE_NAMES[instance_name_key(org, name)] == id`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstanceRecord {
    #[serde(flatten)]
    pub instance: Instance,
    /// Free-form per-instance settings owned by plugins (webhook, chatwoot, ...), wiped
    /// with the instance.
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
}
