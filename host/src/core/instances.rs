//! Instance lifecycle: create, read, connect, state, logout, delete.

use crate::store::kv::{ReadableTable, WriteTx};

use super::Core;
use super::authz::{can_see, instance_not_found, require};
use super::model::{
    Capabilities, Capability, ConnectInfo, ConnectionState, CoreError, CoreResult, CreateOptions,
    CreatedInstance, EventPayload, Instance, InstanceRef, InstanceStats, Principal, Resource,
};
use crate::core::outbox;
use crate::core::records::{
    CredentialKind, CredentialRecord, INSTANCE_TOKEN_PREFIX, InstanceRecord,
};
use crate::store::{decode, encode, get_json, internal, tables};
use crate::util::{new_secret, now_ms, secret_hash};

/// Instance names: 1-64 of `[A-Za-z0-9._-]`, and not shaped like a ULID (ids and names
/// share URL segments).
pub fn validate_name(name: &str) -> CoreResult<()> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if name.is_empty() || name.len() > 64 || !ok_chars || name == "." || name == ".." {
        return Err(CoreError::Invalid(
            "instance name must be 1-64 characters of letters, digits, `.`, `_` or `-`".into(),
        ));
    }
    if ulid::Ulid::from_string(name).is_ok() {
        return Err(CoreError::Invalid(
            "instance name must not look like an instance id (ULID)".into(),
        ));
    }
    Ok(())
}

/// Releases the "delete in progress" mark when the delete finishes, however it ends.
struct DeletingGuard<'a> {
    core: &'a Core,
    id: String,
}

impl Drop for DeletingGuard<'_> {
    fn drop(&mut self) {
        self.core
            .deleting
            .lock()
            .expect("deleting lock")
            .remove(&self.id);
    }
}

impl Core {
    /// Changes one stored instance record in its own commit (`not-found` when the
    /// instance went meanwhile): the per-instance choices kept on the record
    /// (settings, media download, profile) are written through here.
    pub(crate) async fn update_record(
        &self,
        instance_id: &str,
        change: impl Fn(&mut InstanceRecord) + Send + 'static,
    ) -> CoreResult<()> {
        let id = instance_id.to_string();
        self.store
            .write(move |tx| {
                let mut table = tx.open_table(tables::INSTANCES).map_err(internal)?;
                let Some(mut rec) = get_json::<_, InstanceRecord>(&table, id.as_str())? else {
                    return Err(CoreError::NotFound(
                        Resource::Instance,
                        "instance not found".into(),
                    ));
                };
                change(&mut rec);
                table
                    .insert(id.as_str(), encode(&rec).as_slice())
                    .map_err(internal)?;
                Ok(())
            })
            .await
    }

    /// Creates an instance in the caller's org and mints its token (shown once).
    pub async fn create_instance(&self, p: &Principal, name: &str) -> CoreResult<CreatedInstance> {
        self.create_instance_with(p, name, &CreateOptions::default())
            .await
    }

    /// [`Core::create_instance`] with options: a caller-chosen instance token is
    /// stored as a hash like a minted one (and refused when it is too short or already
    /// some credential's secret).
    pub async fn create_instance_with(
        &self,
        p: &Principal,
        name: &str,
        options: &CreateOptions,
    ) -> CoreResult<CreatedInstance> {
        require(p, Capability::Manage)?;
        if p.instance.is_some() {
            return Err(CoreError::Forbidden(
                "an instance token cannot create instances".into(),
            ));
        }
        validate_name(name)?;
        let behaviour = options.settings.clone().unwrap_or_default();
        behaviour.validate()?;
        let instance = Instance {
            id: ulid::Ulid::new().to_string(),
            name: name.to_string(),
            org: p.org.clone(),
            state: ConnectionState::Disconnected,
            owner_jid: None,
            created_at: now_ms(),
        };
        let token = match options.token.as_deref() {
            Some(chosen) => {
                validate_chosen_token(chosen)?;
                if self.check_admin_token(chosen) {
                    return Err(token_in_use());
                }
                chosen.to_string()
            }
            None => new_secret(INSTANCE_TOKEN_PREFIX),
        };
        let credential = CredentialRecord {
            id: ulid::Ulid::new().to_string(),
            org: p.org.clone(),
            kind: CredentialKind::instance(),
            caps: Capabilities::STANDARD,
            instance: Some(instance.id.clone()),
            label: Some(format!("instance token of {name}")),
            created_at: instance.created_at,
        };
        let hash = secret_hash(&token);
        let record = InstanceRecord {
            instance: instance.clone(),
            settings: Default::default(),
            media_download: None,
            behaviour,
            profile: None,
            proxy: None,
        };
        let event = outbox::event_for(&instance, EventPayload::InstanceCreated(instance.clone()));
        self.store
            .write(move |tx| {
                // Names are the org's own: another org's use of it is neither a
                // conflict nor visible.
                let name_key =
                    tables::instance_name_key(&record.instance.org, &record.instance.name);
                let mut names = tx.open_table(tables::INSTANCE_NAMES).map_err(internal)?;
                if names.get(name_key.as_str()).map_err(internal)?.is_some() {
                    return Err(CoreError::Conflict(format!(
                        "instance name `{}` is already in use",
                        record.instance.name
                    )));
                }
                names
                    .insert(name_key.as_str(), record.instance.id.as_str())
                    .map_err(internal)?;
                let mut instances = tx.open_table(tables::INSTANCES).map_err(internal)?;
                instances
                    .insert(record.instance.id.as_str(), encode(&record).as_slice())
                    .map_err(internal)?;
                let mut creds = tx.open_table(tables::CREDENTIALS).map_err(internal)?;
                // A chosen token that is already a secret (another instance's, a key's)
                // would replace that credential: refused, without saying whose it is.
                if creds.get(hash.as_slice()).map_err(internal)?.is_some() {
                    return Err(token_in_use());
                }
                creds
                    .insert(hash.as_slice(), encode(&credential).as_slice())
                    .map_err(internal)?;
                let mut by_instance = tx
                    .open_multimap_table(tables::CREDENTIALS_BY_INSTANCE)
                    .map_err(internal)?;
                by_instance
                    .insert(record.instance.id.as_str(), hash.as_slice())
                    .map_err(internal)?;
                drop((names, instances, creds, by_instance));
                outbox::append(tx, &event)?;
                Ok(())
            })
            .await?;
        if options
            .settings
            .as_ref()
            .is_some_and(|s| s.sync_full_history)
        {
            self.link.set_full_history(&instance.id, true);
        }
        Ok(CreatedInstance { instance, token })
    }

    /// One instance as the caller may see it.
    pub async fn get_instance(&self, p: &Principal, which: &InstanceRef) -> CoreResult<Instance> {
        let record = self.authorize(p, which, Capability::Read)?;
        Ok(self.live(record.instance))
    }

    /// Every instance visible to `p`, by name.
    pub async fn list_instances(&self, p: &Principal) -> CoreResult<Vec<Instance>> {
        require(p, Capability::Read)?;
        let mut out: Vec<Instance> = self
            .all_instances()?
            .into_iter()
            .filter(|r| can_see(p, r))
            .map(|r| self.live(r.instance))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Every instance of every org (admin API, CLI, start-up).
    pub fn all_instances(&self) -> CoreResult<Vec<InstanceRecord>> {
        self.store.read(|tx| {
            let table = tx.open_table(tables::INSTANCES).map_err(internal)?;
            let mut out = Vec::new();
            for row in table.iter().map_err(internal)? {
                out.push(decode::<InstanceRecord>(row.map_err(internal)?.1.value())?);
            }
            Ok(out)
        })
    }

    /// Starts pairing: a QR payload, or a pair code when `phone` is given.
    pub async fn connect(
        &self,
        p: &Principal,
        which: &InstanceRef,
        phone: Option<&str>,
    ) -> CoreResult<ConnectInfo> {
        let record = self.authorize(p, which, Capability::Manage)?;
        let phone = match phone.map(str::trim).filter(|s| !s.is_empty()) {
            Some(raw) => {
                let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
                let clean = raw
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
                if !clean || !(8..=15).contains(&digits.len()) {
                    return Err(CoreError::Invalid(
                        "phone number must be 8-15 digits with country code, e.g. 5511999999999"
                            .into(),
                    ));
                }
                Some(digits)
            }
            None => None,
        };
        let pairing = self
            .link
            .connect(&record.instance.id, phone.as_deref())
            .await?;
        Ok(ConnectInfo {
            state: self.live_state(&record.instance),
            qr: pairing.qr,
            pair_code: pairing.pair_code,
        })
    }

    /// Restarts the instance's session: the link drops its connection to WhatsApp and
    /// connects again with the same keys (a session still pairing starts over). An
    /// instance with no session (never paired, logged out) has nothing to restart.
    pub async fn restart_instance(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<Instance> {
        let record = self.authorize(p, which, Capability::Manage)?;
        if self.live_state(&record.instance) == ConnectionState::Disconnected {
            return Err(CoreError::NotConnected(
                "instance is not connected to WhatsApp: connect it first".into(),
            ));
        }
        self.link.restart(&record.instance.id).await?;
        Ok(self.live(record.instance))
    }

    /// How many chats and messages the gateway stores for the instance.
    pub async fn instance_stats(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<InstanceStats> {
        let record = self.authorize(p, which, Capability::Read)?;
        let prefix = tables::instance_prefix(&record.instance.id);
        let end = tables::prefix_end(&prefix);
        self.store.read(|tx| {
            let count = |def: crate::store::kv::TableDefinition<&[u8], &[u8]>| -> CoreResult<u64> {
                let table = tx.open_table(def).map_err(internal)?;
                let mut n = 0u64;
                for row in table
                    .range::<&[u8]>(prefix.as_slice()..end.as_slice())
                    .map_err(internal)?
                {
                    row.map_err(internal)?;
                    n += 1;
                }
                Ok(n)
            };
            Ok(InstanceStats {
                chats: count(tables::CHATS)?,
                messages: count(tables::MESSAGE_IDS)?,
            })
        })
    }

    /// The instance's current link state, as the live link reports it.
    pub async fn connection_state(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<ConnectionState> {
        let record = self.authorize(p, which, Capability::Read)?;
        Ok(self.live_state(&record.instance))
    }

    /// Logs out of WhatsApp; the instance and its data stay, and it can pair again.
    pub async fn logout(&self, p: &Principal, which: &InstanceRef) -> CoreResult<Instance> {
        let record = self.authorize(p, which, Capability::Manage)?;
        self.link.logout(&record.instance.id).await?;
        self.record_state(&record.instance.id, ConnectionState::Disconnected, None)
            .await?;
        let mut instance = record.instance;
        instance.state = ConnectionState::Disconnected;
        instance.owner_jid = None;
        Ok(instance)
    }

    /// Deletes an instance: logs out if connected, commits the `instance-deleted` event
    /// and the removal of every record of it in one transaction, then removes its files.
    pub async fn delete_instance(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<Instance> {
        let record = self.authorize(p, which, Capability::Manage)?;
        // Whether an instance's own token may remove it is the dialect's rule, carried
        // by the principal its auth plugin resolved (`instance_tokens_may_delete`).
        if p.instance.is_some() && !p.may_delete_own_instance {
            return Err(CoreError::Forbidden(
                "an instance token cannot delete its own instance; use an organisation credential"
                    .into(),
            ));
        }
        let id = record.instance.id.clone();
        if !self
            .deleting
            .lock()
            .expect("deleting lock")
            .insert(id.clone())
        {
            return Err(CoreError::Conflict(
                "a delete of this instance is already in progress".into(),
            ));
        }
        let _guard = DeletingGuard {
            core: self,
            id: id.clone(),
        };

        // The data goes anyway; a failed logout must not keep a deleted instance.
        if self.live_state(&record.instance) != ConnectionState::Disconnected
            && let Err(e) = self.link.logout(&id).await
        {
            tracing::warn!(instance = %id, error = %e, "logout during delete failed");
        }
        let instance = self.live(record.instance.clone());
        let which = which.clone();
        let deleted = self
            .store
            .write(move |tx| {
                let instances = tx.open_table(tables::INSTANCES).map_err(internal)?;
                let current: Option<InstanceRecord> = get_json(&instances, id.as_str())?;
                drop(instances);
                let Some(current) = current else {
                    return Err(instance_not_found(&which));
                };
                let event = outbox::event_for(
                    &current.instance,
                    EventPayload::InstanceDeleted(current.instance.clone()),
                );
                outbox::append(tx, &event)?;
                wipe_instance(tx, &current)?;
                Ok(current.instance)
            })
            .await?;
        self.link.forget(&deleted.id).await;
        self.media_gc.collect_now().await;
        Ok(Instance {
            state: instance.state,
            ..deleted
        })
    }

    /// Persists a state change (and the owner JID once paired) with its event.
    pub(crate) async fn record_state(
        &self,
        instance_id: &str,
        state: ConnectionState,
        owner_jid: Option<Option<String>>,
    ) -> CoreResult<()> {
        let id = instance_id.to_string();
        self.store
            .write(move |tx| {
                let mut table = tx.open_table(tables::INSTANCES).map_err(internal)?;
                let Some(mut rec) = get_json::<_, InstanceRecord>(&table, id.as_str())? else {
                    return Ok(()); // deleted meanwhile: nothing to record
                };
                let owner_changed = owner_jid
                    .as_ref()
                    .is_some_and(|o| *o != rec.instance.owner_jid);
                if rec.instance.state == state && !owner_changed {
                    return Ok(());
                }
                rec.instance.state = state;
                if let Some(owner) = &owner_jid {
                    // Another account (or none): its profile is not this one's.
                    if *owner != rec.instance.owner_jid {
                        rec.profile = None;
                    }
                    rec.instance.owner_jid = owner.clone();
                }
                table
                    .insert(id.as_str(), encode(&rec).as_slice())
                    .map_err(internal)?;
                drop(table);
                outbox::append(
                    tx,
                    &outbox::event_for(&rec.instance, EventPayload::ConnectionUpdate(state)),
                )?;
                Ok(())
            })
            .await
    }
}

/// Removes every record of an instance inside `tx`: chats, messages, message ids, groups, contacts,
/// the LID <-> phone mapping, labels and their chats,
/// webhooks (retired) and integrations, plugin storage, Socket.IO settings, bound credentials (integration
/// inbound secrets among them), the name, the record itself; and queues its media folder.
fn wipe_instance(tx: &WriteTx, record: &InstanceRecord) -> CoreResult<()> {
    let id = record.instance.id.as_str();
    let prefix = tables::instance_prefix(id);
    let end = tables::prefix_end(&prefix);
    for def in [
        tables::CHATS,
        tables::MESSAGES,
        tables::MESSAGE_IDS,
        tables::GROUPS,
        tables::CONTACTS,
        tables::JID_ALTS,
        tables::POLL_SECRETS,
        tables::LABELS,
        tables::CHAT_LABELS,
    ] {
        let mut t = tx.open_table(def).map_err(internal)?;
        t.retain_in(prefix.as_slice()..end.as_slice(), |_, _| false)
            .map_err(internal)?;
    }
    super::webhooks::retire_instance_webhooks(tx, id)?;
    super::plugin_storage::wipe_instance(tx, id)?;
    super::socketio::wipe_instance(tx, id)?;
    // The WhatsApp session keys go in the same commit: the link's own wipe (on forget)
    // does not run when the instance is deleted offline (`wagate instance delete --data`).
    crate::whatsapp::real::store::wipe_in(tx, id).map_err(internal)?;
    let mut by_instance = tx
        .open_multimap_table(tables::CREDENTIALS_BY_INSTANCE)
        .map_err(internal)?;
    let mut creds = tx.open_table(tables::CREDENTIALS).map_err(internal)?;
    for hash in by_instance.remove_all(id).map_err(internal)? {
        creds
            .remove(hash.map_err(internal)?.value())
            .map_err(internal)?;
    }
    tx.open_table(tables::INSTANCE_NAMES)
        .map_err(internal)?
        .remove(tables::instance_name_key(&record.instance.org, &record.instance.name).as_str())
        .map_err(internal)?;
    tx.open_table(tables::INSTANCES)
        .map_err(internal)?
        .remove(id)
        .map_err(internal)?;
    tx.open_table(tables::MEDIA_GC)
        .map_err(internal)?
        .insert(media_dir(id).as_str(), ())
        .map_err(internal)?;
    Ok(())
}

/// Shortest caller-chosen instance token accepted: a token is a password that opens
/// the instance, and a short one is guessed.
pub const MIN_CHOSEN_TOKEN_LEN: usize = 8;

fn validate_chosen_token(token: &str) -> CoreResult<()> {
    if token.chars().count() < MIN_CHOSEN_TOKEN_LEN || token.len() > 512 {
        return Err(CoreError::Invalid(format!(
            "a chosen token must be {MIN_CHOSEN_TOKEN_LEN} to 512 characters long"
        )));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CoreError::Invalid(
            "a chosen token may not contain spaces or control characters".into(),
        ));
    }
    Ok(())
}

fn token_in_use() -> CoreError {
    CoreError::Conflict("this token is already in use; choose another".into())
}

/// The folder of an instance's media, relative to the data folder.
pub fn media_dir(instance_id: &str) -> String {
    crate::media::store::MediaKey::instance_prefix(instance_id)
}
