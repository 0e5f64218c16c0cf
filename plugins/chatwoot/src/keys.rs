//! The keys the plugin keeps in its per-instance `storage` (values are JSON). All of
//! them go with the instance (or its integration), and every one can be rebuilt from
//! Chatwoot by lookups except the message mappings, which are what makes deliveries
//! idempotent.
//!
//! | key | value | |
//! |---|---|---|
//! | `inbox:{account}:{name}` | `{"id"}` | the inbox found or created by name |
//! | `chat:{inbox}:{jid}` | `{"contact","conversation"}` | where a chat's messages go |
//! | `conv:{conversation}` | `{"jid","chat"}` | the chat of a conversation (replies) |
//! | `wa:{whatsapp id}` | `{"conversation","message"[,"deleted"]}` | WhatsApp -> Chatwoot |
//! | `cw:{chatwoot id}` | `{"wa"}` or `{"sending":true}` | Chatwoot -> WhatsApp |
//! | `intent:{whatsapp id}` | `{"conversation"}` | a POST whose answer may be lost |

pub(crate) fn inbox(account: &str, name: &str) -> String {
    format!("inbox:{account}:{name}")
}

pub(crate) fn chat(inbox: u64, jid: &str) -> String {
    format!("chat:{inbox}:{jid}")
}

pub(crate) fn conv(conversation: u64) -> String {
    format!("conv:{conversation}")
}

pub(crate) fn wa(id: &str) -> String {
    format!("wa:{id}")
}

pub(crate) fn cw(id: u64) -> String {
    format!("cw:{id}")
}

pub(crate) fn intent(id: &str) -> String {
    format!("intent:{id}")
}
