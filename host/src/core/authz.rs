//! Authorization: who may see and do what.
//!
//! Rules, checked in this order so nothing leaks:
//! 1. An instance of another organisation, or (for an instance-bound credential) any
//!    other instance, does not exist for the caller: `not-found`, never `forbidden`.
//! 2. A visible instance with a missing capability: `forbidden`.

use redb::ReadTransaction;

use super::Core;
use super::model::{Capability, CoreError, CoreResult, InstanceRef, Principal};
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
    CoreError::NotFound(format!("instance `{which}` not found"))
}

/// Loads an instance by id or name, without any authorization.
pub fn load_instance(
    tx: &ReadTransaction,
    which: &InstanceRef,
) -> CoreResult<Option<InstanceRecord>> {
    let instances = tx.open_table(tables::INSTANCES).map_err(internal)?;
    let id = match which {
        InstanceRef::Id(id) => id.clone(),
        InstanceRef::Name(name) => {
            let names = tx.open_table(tables::INSTANCE_NAMES).map_err(internal)?;
            match names.get(name.as_str()).map_err(internal)? {
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
        matches!(self.store.read(|tx| load_instance(tx, &which)), Ok(Some(r)) if can_see(p, &r))
    }

    /// The instance `which` as `p` may use it for an operation needing `cap`.
    pub(crate) fn authorize(
        &self,
        p: &Principal,
        which: &InstanceRef,
        cap: Capability,
    ) -> CoreResult<InstanceRecord> {
        let record = self.store.read(|tx| load_instance(tx, which))?;
        match record {
            Some(r) if can_see(p, &r) => {
                require(p, cap)?;
                Ok(r)
            }
            _ => Err(instance_not_found(which)),
        }
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
        }
    }

    fn principal(org: &str, instance: Option<&str>) -> Principal {
        Principal {
            subject: "s".into(),
            org: org.into(),
            caps: Capabilities::STANDARD,
            instance: instance.map(Into::into),
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
