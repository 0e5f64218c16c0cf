//! Integrations: an instance's configuration for a sink plugin that syncs it with
//! another service (Chatwoot), one per (instance, sink).
//!
//! Stored as a delivery destination in `WEBHOOKS` (with `sink` and `integration` set),
//! not in a table of its own: that way an integration gets everything webhooks already
//! have for free and in the same transactions: fan-out into `DELIVERY_QUEUE` with the
//! change that caused the event, per-destination order, retries with backoff, dead
//! letters, and removal with the instance. Its deliveries are rendered as the native
//! `/core` JSON (`dialect` is the native one), and go to the sink named in `sink`.
//!
//! What an integration adds to a webhook is host-held: secret headers (the service's API
//! token, added by http-out during `deliver`, never handed to a plugin) and the inbound
//! secret, an instance-bound credential (read + send) the service presents when it calls
//! back. The inbound secret is minted on the first set, kept across later sets (the
//! service's callback URL holds it), and removed with the integration or the instance.

use crate::store::kv::{ReadableMultimapTable, ReadableTable, WriteTx};

use super::Core;
use super::model::{
    Capabilities, Capability, CoreError, CoreResult, InstanceRef, Integration, IntegrationData,
    IntegrationSpec, Principal, Webhook,
};
use super::webhooks::{drop_queue, validate_headers, validate_url};
use crate::core::model::NATIVE_DIALECT;
use crate::core::records::{CredentialKind, CredentialRecord, INBOUND_SECRET_PREFIX};
use crate::store::{encode, get_json, internal, tables};
use crate::util::{Origin, new_secret, now_ms, secret_hash};

/// Largest `settings` document, in bytes.
pub const MAX_SETTINGS_BYTES: usize = 64 * 1024;
/// Most secret headers of one integration.
pub const MAX_SECRET_HEADERS: usize = 8;

impl Core {
    /// Every integration of `which`, by sink name. Needs `manage`.
    pub async fn list_integrations(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<Vec<Integration>> {
        let record = self.authorize(p, which, Capability::Manage)?;
        let mut out: Vec<Integration> = self
            .destinations_of(&record.instance.id)?
            .iter()
            .filter_map(Integration::of)
            .collect();
        out.sort_by(|a, b| a.sink.cmp(&b.sink));
        Ok(out)
    }

    /// The integration of `which` with `sink`, if any. Needs `manage`.
    pub async fn get_integration(
        &self,
        p: &Principal,
        which: &InstanceRef,
        sink: &str,
    ) -> CoreResult<Option<Integration>> {
        let record = self.authorize(p, which, Capability::Manage)?;
        self.integration_of(&record.instance.id, sink)
    }

    /// The integration of instance `instance_id` with `sink`, without authorization (the
    /// `storage` grant scopes its callers itself).
    pub fn integration_of(&self, instance_id: &str, sink: &str) -> CoreResult<Option<Integration>> {
        let found = self.store.read(|tx| {
            let by_instance = tx
                .open_multimap_table(tables::WEBHOOKS_BY_INSTANCE)
                .map_err(internal)?;
            let hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
            find_in(&by_instance, &hooks, instance_id, sink)
        })?;
        Ok(found.as_ref().and_then(Integration::of))
    }

    /// Creates or replaces the integration of `which` with `spec.sink`. The caller (the
    /// plugin runtime) has checked that `spec.sink` names a loaded sink. Needs `manage`.
    pub async fn set_integration(
        &self,
        p: &Principal,
        which: &InstanceRef,
        spec: IntegrationSpec,
    ) -> CoreResult<Integration> {
        let record = self.authorize(p, which, Capability::Manage)?;
        validate(&spec)?;
        // Fresh ids and secrets are drawn here, not in the job, which may run twice.
        let fresh_id = format!("wh_{}", ulid::Ulid::new());
        let fresh_signing = new_secret("whsec_");
        let fresh_inbound = new_secret(INBOUND_SECRET_PREFIX);
        let fresh_credential_id = ulid::Ulid::new().to_string();
        let now = now_ms();
        let instance = record.instance;
        let hook = self
            .store
            .write(move |tx| {
                // The job may run more than once: work on a copy.
                let spec = spec.clone();
                let current = find(tx, &instance.id, &spec.sink)?;
                let hook = match current {
                    Some(mut w) => {
                        let data = w.integration.as_mut().expect("find returns integrations");
                        let moved = Origin::of(&w.url) != Origin::of(&spec.url);
                        // The held secrets were given for the current server: moving to
                        // another one without giving them again would hand them to it.
                        if moved && spec.secret_headers.is_none() && !data.secret_headers.is_empty()
                        {
                            return Err(CoreError::Invalid(
                                "the secret headers (API token) must be given again when the \
                                 url moves to another server"
                                    .into(),
                            ));
                        }
                        // What the sink stored (ids of the old server's inboxes,
                        // conversations, messages) means nothing on another server.
                        if moved {
                            super::plugin_storage::wipe_plugin(tx, &instance.id, &spec.sink)?;
                        }
                        data.settings = spec.settings;
                        if let Some(headers) = spec.secret_headers {
                            data.secret_headers = headers;
                        }
                        w.url = spec.url;
                        w.enabled = spec.enabled;
                        w
                    }
                    None => {
                        let inbound_hash = secret_hash(&fresh_inbound).to_vec();
                        let credential = CredentialRecord {
                            id: fresh_credential_id.clone(),
                            org: instance.org.clone(),
                            kind: CredentialKind::inbound(),
                            caps: Capabilities {
                                read: true,
                                send: true,
                                manage: false,
                                admin: false,
                            },
                            instance: Some(instance.id.clone()),
                            label: Some(format!(
                                "inbound secret of the {} integration of {}",
                                spec.sink, instance.name
                            )),
                            created_at: now,
                        };
                        tx.open_table(tables::CREDENTIALS)
                            .map_err(internal)?
                            .insert(inbound_hash.as_slice(), encode(&credential).as_slice())
                            .map_err(internal)?;
                        tx.open_multimap_table(tables::CREDENTIALS_BY_INSTANCE)
                            .map_err(internal)?
                            .insert(instance.id.as_str(), inbound_hash.as_slice())
                            .map_err(internal)?;
                        tx.open_multimap_table(tables::WEBHOOKS_BY_INSTANCE)
                            .map_err(internal)?
                            .insert(instance.id.as_str(), fresh_id.as_str())
                            .map_err(internal)?;
                        Webhook {
                            id: fresh_id.clone(),
                            instance_id: instance.id.clone(),
                            dialect: NATIVE_DIALECT.to_string(),
                            url: spec.url,
                            events: Vec::new(),
                            headers: Vec::new(),
                            enabled: spec.enabled,
                            secret: fresh_signing.clone(),
                            created_at: now,
                            retired: false,
                            sink: spec.sink,
                            integration: Some(IntegrationData {
                                settings: spec.settings,
                                secret_headers: spec.secret_headers.unwrap_or_default(),
                                inbound_secret: fresh_inbound.clone(),
                                inbound_hash,
                                inbound_credential_id: fresh_credential_id.clone(),
                            }),
                            broker: None,
                        }
                    }
                };
                tx.open_table(tables::WEBHOOKS)
                    .map_err(internal)?
                    .insert(hook.id.as_str(), encode(&hook).as_slice())
                    .map_err(internal)?;
                Ok(hook)
            })
            .await?;
        Integration::of(&hook).ok_or_else(|| CoreError::Internal("integration lost".into()))
    }

    /// Removes the integration of `which` with `sink`: the destination, its queued
    /// deliveries, its inbound credential and the sink's storage for the instance, in
    /// one transaction. False when there was none. Needs `manage`.
    pub async fn delete_integration(
        &self,
        p: &Principal,
        which: &InstanceRef,
        sink: &str,
    ) -> CoreResult<bool> {
        let record = self.authorize(p, which, Capability::Manage)?;
        let instance_id = record.instance.id;
        let sink = sink.to_string();
        self.store
            .write(move |tx| {
                let Some(w) = find(tx, &instance_id, &sink)? else {
                    return Ok(false);
                };
                let data = w.integration.as_ref().expect("find returns integrations");
                tx.open_table(tables::WEBHOOKS)
                    .map_err(internal)?
                    .remove(w.id.as_str())
                    .map_err(internal)?;
                tx.open_multimap_table(tables::WEBHOOKS_BY_INSTANCE)
                    .map_err(internal)?
                    .remove(instance_id.as_str(), w.id.as_str())
                    .map_err(internal)?;
                drop_queue(tx, &w.id)?;
                tx.open_table(tables::CREDENTIALS)
                    .map_err(internal)?
                    .remove(data.inbound_hash.as_slice())
                    .map_err(internal)?;
                tx.open_multimap_table(tables::CREDENTIALS_BY_INSTANCE)
                    .map_err(internal)?
                    .remove(instance_id.as_str(), data.inbound_hash.as_slice())
                    .map_err(internal)?;
                super::plugin_storage::wipe_plugin(tx, &instance_id, &sink)?;
                Ok(true)
            })
            .await
    }
}

/// The integration destination of `instance_id` with `sink`, inside a write.
fn find(tx: &WriteTx, instance_id: &str, sink: &str) -> CoreResult<Option<Webhook>> {
    let by_instance = tx
        .open_multimap_table(tables::WEBHOOKS_BY_INSTANCE)
        .map_err(internal)?;
    let hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
    find_in(&by_instance, &hooks, instance_id, sink)
}

/// The integration destination of `instance_id` with `sink`, in a read or a write.
fn find_in(
    by_instance: &impl ReadableMultimapTable<&'static str, &'static str>,
    hooks: &impl ReadableTable<&'static str, &'static [u8]>,
    instance_id: &str,
    sink: &str,
) -> CoreResult<Option<Webhook>> {
    for wid in by_instance.get(instance_id).map_err(internal)? {
        let wid = wid.map_err(internal)?;
        if let Some(w) = get_json::<_, Webhook>(hooks, wid.value())?
            && w.integration.is_some()
            && w.sink == sink
        {
            return Ok(Some(w));
        }
    }
    Ok(None)
}

fn validate(spec: &IntegrationSpec) -> CoreResult<()> {
    if spec.sink.is_empty() {
        return Err(CoreError::Invalid("integration sink must be named".into()));
    }
    validate_url("integration", &spec.url)?;
    if spec.url.parse::<http::Uri>().is_err() {
        return Err(CoreError::Invalid(
            "integration url must be an absolute URL with a host".into(),
        ));
    }
    if spec.settings.len() > MAX_SETTINGS_BYTES {
        return Err(CoreError::Invalid(format!(
            "integration settings are larger than {MAX_SETTINGS_BYTES} bytes"
        )));
    }
    match serde_json::from_str::<serde_json::Value>(&spec.settings) {
        Ok(serde_json::Value::Object(_)) => {}
        _ => {
            return Err(CoreError::Invalid(
                "integration settings must be a JSON object".into(),
            ));
        }
    }
    if let Some(headers) = &spec.secret_headers {
        if headers.len() > MAX_SECRET_HEADERS {
            return Err(CoreError::Invalid(format!(
                "an integration has at most {MAX_SECRET_HEADERS} secret headers"
            )));
        }
        validate_headers("integration secret", headers)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> IntegrationSpec {
        IntegrationSpec {
            sink: "chatwoot".into(),
            url: "https://chat.example.com".into(),
            settings: "{}".into(),
            secret_headers: Some(vec![("api_access_token".into(), "t".into())]),
            enabled: true,
        }
    }

    #[test]
    fn validation() {
        assert!(validate(&spec()).is_ok());
        for bad in [
            IntegrationSpec {
                settings: "[1]".into(),
                ..spec()
            },
            IntegrationSpec {
                settings: "not json".into(),
                ..spec()
            },
            IntegrationSpec {
                url: "ftp://x".into(),
                ..spec()
            },
            IntegrationSpec {
                sink: String::new(),
                ..spec()
            },
            IntegrationSpec {
                secret_headers: Some(vec![("bad name".into(), "v".into())]),
                ..spec()
            },
        ] {
            assert_eq!(validate(&bad).unwrap_err().code(), "invalid", "{bad:?}");
        }
    }
}
