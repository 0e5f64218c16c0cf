//! The data of Evolution's group and contact events, as its Baileys service forwards
//! Baileys' own events:
//!
//! | core event | Evolution event (dotted name) | data |
//! |---|---|---|
//! | group-upsert | GROUPS_UPSERT (`groups.upsert`) | `[GroupMetadata]` |
//! | group-update | GROUP_UPDATE (`groups.update`) | `[{id, author, <the changed field>}]`: `subject`, `desc` (+ `descId`), `announce`, `restrict`, `ephemeralDuration` or `joinApprovalMode` |
//! | group-participants | GROUP_PARTICIPANTS_UPDATE (`group-participants.update`) | `{id, author, participants: [jid], action, participantsData: [{jid, phoneNumber}]}` |
//! | contact-upsert | CONTACTS_UPSERT (`contacts.upsert`) | `{remoteJid, pushName, profilePicUrl, instanceId}` |
//! | contact-update | CONTACTS_UPDATE (`contacts.update`) | the same |
//!
//! The contact events take the single-object form Evolution's `messages.upsert`
//! handler sends (wagate learns contacts from their messages, as that handler does);
//! `profilePicUrl` is `null` (asking WhatsApp for it on every new contact would put a
//! round trip on the message path). `participantsData[].phoneNumber` is the member's
//! phone JID when WhatsApp said it, else the number part of the JID, as Evolution's
//! fallback does; Evolution's `name` and `imgUrl` there are left out (not known).

use serde_json::{Value, json};
use wagate_plugin_sdk::types::{
    Contact, GroupInfoChange, GroupParticipantsUpdate, GroupSetting, GroupUpdate,
};

/// `groups.update`'s data: one partial metadata with the field that changed.
pub(crate) fn group_update(u: &GroupUpdate) -> Value {
    let mut v = json!({ "id": u.group_jid, "author": u.author });
    match &u.change {
        GroupInfoChange::Subject(s) => v["subject"] = json!(s),
        GroupInfoChange::Description(d) => {
            v["desc"] = json!(d);
            if let Some(id) = u.group.as_ref().and_then(|g| g.description_id.as_ref()) {
                v["descId"] = json!(id);
            }
        }
        GroupInfoChange::Setting(GroupSetting::Announcement(on)) => v["announce"] = json!(on),
        GroupInfoChange::Setting(GroupSetting::Locked(on)) => v["restrict"] = json!(on),
        GroupInfoChange::Setting(GroupSetting::Ephemeral(secs)) => {
            v["ephemeralDuration"] = json!(secs)
        }
        GroupInfoChange::Setting(GroupSetting::Approval(on)) => v["joinApprovalMode"] = json!(on),
    }
    json!([v])
}

/// `group-participants.update`'s data, with Evolution's `participantsData`.
pub(crate) fn participants_update(u: &GroupParticipantsUpdate) -> Value {
    let action = wagate_plugin_sdk::participant_action_name(u.action);
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
        "participants": u.members.iter().map(|m| m.jid.as_str()).collect::<Vec<_>>(),
        "action": action,
        "participantsData": data,
    })
}

/// `contacts.upsert` / `contacts.update`'s data.
pub(crate) fn contact(c: &Contact, instance_id: &str) -> Value {
    json!({
        "remoteJid": c.jid,
        // Evolution falls back to the number when a contact has no name.
        "pushName": c.push_name.clone().unwrap_or_else(|| c.jid.split('@').next().unwrap_or(&c.jid).to_string()),
        "profilePicUrl": Value::Null,
        "instanceId": instance_id,
    })
}
