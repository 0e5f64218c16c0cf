//! The data of Evolution's group and contact events, as its Baileys service forwards
//! Baileys' own events:
//!
//! | core event | Evolution event (dotted name) | data |
//! |---|---|---|
//! | group-upsert | GROUPS_UPSERT (`groups.upsert`) | `[GroupMetadata]` |
//! | group-update | GROUP_UPDATE (`groups.update`) | `[{id, author, <the changed field>}]`: `subject`, `desc`, `announce`, `restrict` or `joinApprovalMode` (a disappearing-messages timer is no group update in Baileys: not sent) |
//! | group-participants | GROUP_PARTICIPANTS_UPDATE (`group-participants.update`) | `{id, author, participants: [{id, phoneNumber, admin}], action, participantsData: [{jid, phoneNumber}]}` |
//! | contact-upsert | CONTACTS_UPSERT (`contacts.upsert`) | `{remoteJid, pushName, profilePicUrl, instanceId}` |
//! | contact-update | CONTACTS_UPDATE (`contacts.update`) | the same |
//!
//! The contact events take the single-object form Evolution's `messages.upsert`
//! handler sends (wagate learns contacts from their messages, as that handler does);
//! `profilePicUrl` is `null` (asking WhatsApp for it on every new contact would put a
//! round trip on the message path). Evolution 2.3.6 means `participants` to be JID
//! strings with the details in `participantsData`, but its Baileys 7 hands it objects,
//! its enrichment fails on them, and it sends Baileys' objects as they are: wagate
//! sends what Evolution's clients actually receive, plus `participantsData`
//! (`phoneNumber` the member's phone JID when WhatsApp said it, else the number part
//! of the JID, as its fallback does; `name` and `imgUrl` left out, not known).

use serde_json::{Value, json};
use wagate_plugin_sdk::types::{
    Contact, GroupInfoChange, GroupParticipantsUpdate, GroupSetting, GroupUpdate, ParticipantAction,
};

/// `groups.update`'s data: one partial metadata with the field that changed; `None`
/// for a disappearing-messages timer, which Baileys reports as a chat update, not a
/// group update.
pub(crate) fn group_update(u: &GroupUpdate) -> Option<Value> {
    let mut v = json!({ "id": u.group_jid, "author": u.author });
    match &u.change {
        GroupInfoChange::Subject(s) => v["subject"] = json!(s),
        GroupInfoChange::Description(d) => v["desc"] = json!(d),
        GroupInfoChange::Setting(GroupSetting::Announcement(on)) => v["announce"] = json!(on),
        GroupInfoChange::Setting(GroupSetting::Locked(on)) => v["restrict"] = json!(on),
        GroupInfoChange::Setting(GroupSetting::Ephemeral(_)) => return None,
        GroupInfoChange::Setting(GroupSetting::Approval(on)) => v["joinApprovalMode"] = json!(on),
    }
    Some(json!([v]))
}

/// `group-participants.update`'s data as Evolution 2.3.6 puts it on the wire: the
/// participants as Baileys 7 gives them (`{id, phoneNumber, admin}`), and
/// `participantsData` (`{jid, phoneNumber}`), the field its code means to add.
pub(crate) fn participants_update(u: &GroupParticipantsUpdate) -> Value {
    let action = wagate_plugin_sdk::participant_action_name(u.action);
    let admin = matches!(u.action, ParticipantAction::Promote).then_some("admin");
    let participants: Vec<Value> = u
        .members
        .iter()
        .map(|m| json!({ "id": m.jid, "phoneNumber": m.phone, "admin": admin }))
        .collect();
    let data: Vec<Value> = u
        .members
        .iter()
        .map(|m| {
            let phone = m
                .phone
                .clone()
                .unwrap_or_else(|| m.jid.split('@').next().unwrap_or(&m.jid).to_string());
            json!({ "jid": m.jid, "phoneNumber": phone })
        })
        .collect();
    json!({
        "id": u.group_jid,
        "author": u.author,
        "participants": participants,
        "action": action,
        "participantsData": data,
    })
}

/// `contacts.upsert` / `contacts.update`'s data.
pub(crate) fn contact(c: &Contact, instance_id: &str) -> Value {
    json!({
        "remoteJid": c.jid,
        // The address book name first (Baileys' `name`), else the name their messages
        // carried; Evolution falls back to the number when a contact has neither.
        "pushName": c.saved_name.clone().or_else(|| c.push_name.clone())
            .unwrap_or_else(|| c.jid.split('@').next().unwrap_or(&c.jid).to_string()),
        "profilePicUrl": Value::Null,
        "instanceId": instance_id,
    })
}
