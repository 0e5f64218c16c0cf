//! Authorization: who may see and do what.
//!
//! Rules, checked in this order so nothing leaks:
//! 1. An instance of another organisation, or (for an instance-bound credential) any
//!    other instance, does not exist for the caller: `not-found`, never `forbidden`.
//! 2. A visible instance with a missing capability: `forbidden`.

use crate::store::kv::{ReadTx, ReadableTable};

use super::Core;
use super::model::{Capability, CoreError, CoreResult, InstanceRef, Principal, Resource};
use crate::core::records::InstanceRecord;
use crate::store::{get_json, internal, tables};

/// Refuses with `Forbidden` unless the credential holds the capability.
pub fn require(p: &Principal, cap: Capability) -> CoreResult<()> {
    if p.caps.has(cap) {
        Ok(())
    } else {
        Err(CoreError::Forbidden(format!(
            "this credential lacks the `{}` capability",
            cap.name()
        )))
    }
}

/// Whether `p` can see the instance at all.
pub fn can_see(p: &Principal, instance: &InstanceRecord) -> bool {
    instance.instance.org == p.org
        && p.instance
            .as_deref()
            .is_none_or(|bound| bound == instance.instance.id)
}

/// The one error for an instance that is absent or not visible, so a caller cannot
/// probe for other organisations' instances.
pub fn instance_not_found(which: &InstanceRef) -> CoreError {
    CoreError::NotFound(Resource::Instance, format!("instance `{which}` not found"))
}

/// Loads an instance by id, or by its name within `org` (names are unique per org
/// only), without any authorization: an id of another org is returned, and the
/// caller decides what it may see.
pub fn load_instance(
    tx: &ReadTx,
    org: &str,
    which: &InstanceRef,
) -> CoreResult<Option<InstanceRecord>> {
    let instances = tx.open_table(tables::INSTANCES).map_err(internal)?;
    let id = match which {
        InstanceRef::Id(id) => id.clone(),
        InstanceRef::Name(name) => {
            let names = tx.open_table(tables::INSTANCE_NAMES).map_err(internal)?;
            let key = tables::instance_name_key(org, name);
            match names.get(key.as_str()).map_err(internal)? {
                Some(id) => id.value().to_string(),
                None => return Ok(None),
            }
        }
    };
    Ok(get_json(&instances, id.as_str())?)
}

impl Core {
    /// Whether instance `instance_id` exists and `p` can see it (any capability).
    pub fn can_reach(&self, p: &Principal, instance_id: &str) -> bool {
        let which = InstanceRef::Id(instance_id.to_string());
        matches!(self.store.read(|tx| load_instance(tx, &p.org, &which)), Ok(Some(r)) if can_see(p, &r))
    }

    /// The instance `which` as `p` may use it for an operation needing `cap`.
    pub(crate) fn authorize(
        &self,
        p: &Principal,
        which: &InstanceRef,
        cap: Capability,
    ) -> CoreResult<InstanceRecord> {
        let record = self.store.read(|tx| load_instance(tx, &p.org, which))?;
        match record {
            Some(r) if can_see(p, &r) => {
                require(p, cap)?;
                Ok(r)
            }
            _ => Err(instance_not_found(which)),
        }
    }
}

impl Core {
    /// An instance as the operator names it (admin API, CLI), across orgs: an id; or a
    /// name within `org` (its id or name); or, without `org`, a name only one org uses.
    /// A name several orgs use is refused with the orgs to choose from, never guessed.
    pub fn find_instance_for_operator(
        &self,
        org: Option<&str>,
        which: &InstanceRef,
    ) -> CoreResult<InstanceRecord> {
        let org = match org {
            Some(o) => Some(self.find_org(o)?.ok_or_else(|| {
                CoreError::NotFound(Resource::Org, format!("org `{o}` not found"))
            })?),
            None => None,
        };
        let found = match (which, &org) {
            (InstanceRef::Id(_), _) => self
                .store
                .read(|tx| load_instance(tx, "", which))?
                .filter(|r| org.as_ref().is_none_or(|o| o.id == r.instance.org)),
            (InstanceRef::Name(_), Some(o)) => {
                self.store.read(|tx| load_instance(tx, &o.id, which))?
            }
            (InstanceRef::Name(name), None) => {
                let mut matches: Vec<InstanceRecord> = self
                    .all_instances()?
                    .into_iter()
                    .filter(|r| &r.instance.name == name)
                    .collect();
                if matches.len() > 1 {
                    let mut orgs: Vec<String> = matches
                        .iter()
                        .map(|r| match self.find_org(&r.instance.org) {
                            Ok(Some(o)) => o.name,
                            _ => r.instance.org.clone(),
                        })
                        .collect();
                    orgs.sort();
                    return Err(CoreError::Invalid(format!(
                        "instance name `{name}` is used in {} organisations ({}): name the \
                         organisation (`--org`, or `?org=` on the admin API) or use the \
                         instance id",
                        orgs.len(),
                        orgs.join(", ")
                    )));
                }
                matches.pop()
            }
        };
        found.ok_or_else(|| instance_not_found(which))
    }
}

impl InstanceRef {
    /// A path segment naming an instance: a ULID is an id, anything else a name.
    /// Names that look like ULIDs are refused at creation, so this is unambiguous.
    pub fn parse(s: &str) -> InstanceRef {
        if ulid::Ulid::from_string(s).is_ok() {
            InstanceRef::Id(s.to_string())
        } else {
            InstanceRef::Name(s.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{Capabilities, ConnectionState, Instance};

    fn record(org: &str, id: &str) -> InstanceRecord {
        InstanceRecord {
            instance: Instance {
                id: id.into(),
                name: "n".into(),
                org: org.into(),
                state: ConnectionState::Disconnected,
                owner_jid: None,
                created_at: 0,
            },
            settings: Default::default(),
            media_download: None,
            behaviour: Default::default(),
            profile: None,
            proxy: None,
        }
    }

    fn principal(org: &str, instance: Option<&str>) -> Principal {
        Principal {
            subject: "s".into(),
            org: org.into(),
            caps: Capabilities::STANDARD,
            instance: instance.map(Into::into),
            may_delete_own_instance: false,
        }
    }

    #[test]
    fn other_org_and_other_instance_are_invisible() {
        assert!(can_see(&principal("o1", None), &record("o1", "A")));
        assert!(!can_see(&principal("o2", None), &record("o1", "A")));
        assert!(can_see(&principal("o1", Some("A")), &record("o1", "A")));
        assert!(!can_see(&principal("o1", Some("B")), &record("o1", "A")));
    }

    #[test]
    fn missing_capability_is_forbidden() {
        let mut p = principal("o", None);
        p.caps.send = false;
        assert_eq!(
            require(&p, Capability::Send).unwrap_err().code(),
            "forbidden"
        );
        assert!(require(&p, Capability::Read).is_ok());
    }
}
