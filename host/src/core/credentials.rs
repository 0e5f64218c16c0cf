//! Organisations, credentials and the admin token. Secrets are shown once, when
//! minted; the store keeps their sha256 only.

use crate::store::kv::ReadableTable;

use super::Core;
use super::model::{Capabilities, CoreError, CoreResult, Principal};
use crate::core::records::{CredentialKind, CredentialKindSpec, CredentialRecord, OrgRecord};
use crate::store::{decode, encode, get_json, internal, tables};
use crate::util::{ct_eq, new_secret, now_ms, secret_hash};

const ADMIN_TOKEN_HASH: &str = "admin_token_sha256";

/// A newly minted credential: the record and its secret (shown once).
#[derive(Clone, Debug)]
pub struct MintedCredential {
    /// What is stored: the secret's hash, never the secret.
    pub record: CredentialRecord,
    /// The secret itself, returned to the caller once and never stored.
    pub token: String,
}

impl Core {
    /// Replaces the credential kinds plugins declare (the host's own two always stay).
    /// A kind declared twice, or a plugin redeclaring a host kind or reusing a prefix,
    /// is refused and nothing changes.
    pub fn declare_credential_kinds(&self, declared: Vec<CredentialKindSpec>) -> CoreResult<()> {
        let mut kinds: std::collections::BTreeMap<CredentialKind, CredentialKindSpec> =
            CredentialKindSpec::builtin()
                .into_iter()
                .map(|s| (s.kind.clone(), s))
                .collect();
        for spec in declared {
            if let Some(other) = kinds
                .values()
                .find(|o| o.kind == spec.kind || o.prefix == spec.prefix)
            {
                return Err(CoreError::Invalid(format!(
                    "credential kind `{}` (prefix `{}`) of `{}` clashes with `{}` (prefix `{}`) of `{}`",
                    spec.kind,
                    spec.prefix,
                    spec.declared_by,
                    other.kind,
                    other.prefix,
                    other.declared_by
                )));
            }
            kinds.insert(spec.kind.clone(), spec);
        }
        *self
            .credential_kinds
            .write()
            .expect("credential kinds lock") = kinds;
        Ok(())
    }

    /// How credentials of `kind` are minted, if the host or a loaded plugin declares it.
    pub fn credential_kind(&self, kind: &CredentialKind) -> CoreResult<CredentialKindSpec> {
        let kinds = self.credential_kinds.read().expect("credential kinds lock");
        kinds.get(kind).cloned().ok_or_else(|| {
            let known: Vec<&str> = kinds.keys().map(CredentialKind::as_str).collect();
            CoreError::Invalid(format!(
                "unknown credential kind `{kind}` (known: {})",
                known.join(", ")
            ))
        })
    }

    /// Creates an organisation; names are unique.
    pub async fn create_org(&self, name: &str) -> CoreResult<OrgRecord> {
        let name = name.trim();
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err(CoreError::Invalid(
                "org name must be 1-128 printable characters".into(),
            ));
        }
        let org = OrgRecord {
            id: ulid::Ulid::new().to_string(),
            name: name.to_string(),
            created_at: now_ms(),
        };
        let stored = org.clone();
        self.store
            .write(move |tx| {
                let mut names = tx.open_table(tables::ORG_NAMES).map_err(internal)?;
                if names.get(stored.name.as_str()).map_err(internal)?.is_some() {
                    return Err(CoreError::Conflict(format!(
                        "org `{}` already exists",
                        stored.name
                    )));
                }
                names
                    .insert(stored.name.as_str(), stored.id.as_str())
                    .map_err(internal)?;
                tx.open_table(tables::ORGS)
                    .map_err(internal)?
                    .insert(stored.id.as_str(), encode(&stored).as_slice())
                    .map_err(internal)?;
                Ok(())
            })
            .await?;
        Ok(org)
    }

    /// Every organisation, for the admin API.
    pub fn list_orgs(&self) -> CoreResult<Vec<OrgRecord>> {
        self.store.read(|tx| {
            let t = tx.open_table(tables::ORGS).map_err(internal)?;
            let mut out = Vec::new();
            for row in t.iter().map_err(internal)? {
                out.push(decode::<OrgRecord>(row.map_err(internal)?.1.value())?);
            }
            Ok(out)
        })
    }

    /// An org by id or by name.
    pub fn find_org(&self, id_or_name: &str) -> CoreResult<Option<OrgRecord>> {
        self.store.read(|tx| {
            let orgs = tx.open_table(tables::ORGS).map_err(internal)?;
            if let Some(org) = get_json::<_, OrgRecord>(&orgs, id_or_name)? {
                return Ok(Some(org));
            }
            let names = tx.open_table(tables::ORG_NAMES).map_err(internal)?;
            match names.get(id_or_name).map_err(internal)? {
                Some(id) => Ok(get_json(&orgs, id.value())?),
                None => Ok(None),
            }
        })
    }

    /// Mints an org-wide credential (or one bound to `instance`, given by id or name).
    pub async fn create_credential(
        &self,
        org: &str,
        kind: CredentialKind,
        caps: Option<Capabilities>,
        instance: Option<&str>,
        label: Option<String>,
    ) -> CoreResult<MintedCredential> {
        let org = self.find_org(org)?.ok_or_else(|| {
            CoreError::NotFound(
                super::model::Resource::Org,
                format!("org `{org}` not found"),
            )
        })?;
        let admin = Core::admin_principal(&org.id);
        let instance_id = match instance {
            Some(i) => Some(
                self.authorize(
                    &admin,
                    &super::model::InstanceRef::parse(i),
                    super::model::Capability::Read,
                )?
                .instance
                .id,
            ),
            None => None,
        };
        let spec = self.credential_kind(&kind)?;
        if kind.is_inbound() {
            return Err(CoreError::Invalid(
                "inbound secrets are minted by integrations only".into(),
            ));
        }
        if kind.is_instance() && instance_id.is_none() {
            return Err(CoreError::Invalid(
                "an instance credential needs an instance".into(),
            ));
        }
        let record = CredentialRecord {
            id: ulid::Ulid::new().to_string(),
            org: org.id,
            kind,
            caps: caps.unwrap_or(spec.default_caps),
            instance: instance_id,
            label,
            created_at: now_ms(),
        };
        let token = new_secret(&spec.prefix);
        let hash = secret_hash(&token);
        let stored = record.clone();
        self.store
            .write(move |tx| {
                tx.open_table(tables::CREDENTIALS)
                    .map_err(internal)?
                    .insert(hash.as_slice(), encode(&stored).as_slice())
                    .map_err(internal)?;
                if let Some(instance) = &stored.instance {
                    // The instance may have been deleted since it was looked up.
                    let instances = tx.open_table(tables::INSTANCES).map_err(internal)?;
                    if instances
                        .get(instance.as_str())
                        .map_err(internal)?
                        .is_none()
                    {
                        return Err(CoreError::NotFound(
                            super::model::Resource::Instance,
                            "instance not found".into(),
                        ));
                    }
                    tx.open_multimap_table(tables::CREDENTIALS_BY_INSTANCE)
                        .map_err(internal)?
                        .insert(instance.as_str(), hash.as_slice())
                        .map_err(internal)?;
                }
                Ok(())
            })
            .await?;
        Ok(MintedCredential { record, token })
    }

    /// Makes sure a credential with this exact `secret` exists in org `org_name`
    /// (created if missing), for keys an operator sets from outside, such as
    /// Evolution's global `AUTHENTICATION_API_KEY`. Idempotent across restarts.
    pub async fn ensure_static_credential(
        &self,
        org_name: &str,
        kind: CredentialKind,
        secret: &str,
        caps: Capabilities,
        label: &str,
    ) -> CoreResult<()> {
        if secret.len() < 8 {
            return Err(CoreError::Invalid(format!(
                "the {label} must be at least 8 characters"
            )));
        }
        let org = match self.find_org(org_name)? {
            Some(org) => org,
            None => match self.create_org(org_name).await {
                Ok(org) => org,
                Err(CoreError::Conflict(_)) => self
                    .find_org(org_name)?
                    .ok_or_else(|| CoreError::Internal("org vanished".into()))?,
                Err(e) => return Err(e),
            },
        };
        let hash = secret_hash(secret);
        let slot = format!("static_credential:{}", kind.as_str());
        let record = CredentialRecord {
            id: format!("static-{}", kind.as_str()),
            org: org.id,
            kind,
            caps,
            instance: None,
            label: Some(label.to_string()),
            created_at: now_ms(),
        };
        self.store
            .write(move |tx| -> CoreResult<()> {
                let mut settings = tx.open_table(tables::SETTINGS).map_err(internal)?;
                let previous = settings
                    .get(slot.as_str())
                    .map_err(internal)?
                    .map(|v| v.value().to_vec());
                let mut creds = tx.open_table(tables::CREDENTIALS).map_err(internal)?;
                // A changed key replaces the old one: the old secret stops working.
                if let Some(old) = previous.filter(|old| old.as_slice() != hash.as_slice()) {
                    creds.remove(old.as_slice()).map_err(internal)?;
                }
                creds
                    .insert(hash.as_slice(), encode(&record).as_slice())
                    .map_err(internal)?;
                settings
                    .insert(slot.as_str(), hash.as_slice())
                    .map_err(internal)?;
                Ok(())
            })
            .await
    }

    /// The principal of a presented secret, if it matches a stored credential that is
    /// not an integration's inbound secret (those are accepted only at their sink's
    /// inbound route: see [`Core::resolve_inbound_credential`]).
    pub async fn resolve_credential(&self, secret: &str) -> Option<Principal> {
        self.resolve_credential_record(secret)
            .filter(|r| !r.kind.is_inbound())
            .map(principal_of)
    }

    /// The principal of a presented integration inbound secret; `None` for every other
    /// credential (an instance token or api key does not belong in a URL another
    /// service stores).
    pub async fn resolve_inbound_credential(&self, secret: &str) -> Option<Principal> {
        self.resolve_credential_record(secret)
            .filter(|r| r.kind.is_inbound())
            .map(principal_of)
    }

    /// The stored record of a presented secret (kind included).
    pub fn resolve_credential_record(&self, secret: &str) -> Option<CredentialRecord> {
        if secret.is_empty() || secret.len() > 512 {
            return None;
        }
        let hash = secret_hash(secret);
        self.store
            .read(|tx| {
                let t = tx.open_table(tables::CREDENTIALS).map_err(internal)?;
                get_json(&t, hash.as_slice())
            })
            .ok()
            .flatten()
    }

    /// Makes sure an admin token exists. With `configured` (env WAGATE_ADMIN_TOKEN) its
    /// hash is stored; otherwise, on first start, a token is generated and returned
    /// (for printing once); later starts return `None`.
    pub async fn ensure_admin_token(&self, configured: Option<&str>) -> CoreResult<Option<String>> {
        let stored = self.admin_token_hash()?;
        let (token, hash) = match configured {
            Some(t) => (None, secret_hash(t)),
            None if stored.is_some() => return Ok(None),
            None => {
                let t = new_secret("wagate_admin_");
                let h = secret_hash(&t);
                (Some(t), h)
            }
        };
        if stored.as_deref() != Some(hash.as_slice()) {
            self.store
                .write(move |tx| -> CoreResult<()> {
                    tx.open_table(tables::SETTINGS)
                        .map_err(internal)?
                        .insert(ADMIN_TOKEN_HASH, hash.as_slice())
                        .map_err(internal)?;
                    Ok(())
                })
                .await?;
        }
        Ok(token)
    }

    fn admin_token_hash(&self) -> CoreResult<Option<Vec<u8>>> {
        self.store.read(|tx| {
            let t = tx.open_table(tables::SETTINGS).map_err(internal)?;
            Ok(t.get(ADMIN_TOKEN_HASH)
                .map_err(internal)?
                .map(|v| v.value().to_vec()))
        })
    }

    /// Whether `presented` is the admin token.
    pub fn check_admin_token(&self, presented: &str) -> bool {
        match self.admin_token_hash() {
            Ok(Some(hash)) => ct_eq(&hash, &secret_hash(presented)),
            _ => false,
        }
    }

    /// The principal the admin acts as inside one org: everything, org-wide.
    pub fn admin_principal(org: &str) -> Principal {
        Principal {
            subject: "admin".into(),
            org: org.to_string(),
            caps: Capabilities::ALL,
            instance: None,
            may_delete_own_instance: false,
        }
    }
}

fn principal_of(r: CredentialRecord) -> Principal {
    Principal {
        subject: r.id,
        org: r.org,
        caps: r.caps,
        instance: r.instance,
        may_delete_own_instance: false,
    }
}
