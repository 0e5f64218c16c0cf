//! The integration's settings: the JSON object a dialect stores with
//! `core.set-integration` (its `settings` field). Field names follow Evolution API's
//! Chatwoot DTO, so its `/chatwoot/set` body maps onto them one to one.

use serde::Deserialize;
use serde_json::Value;

/// See the crate docs for the meaning of each field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Settings {
    /// Chatwoot account id (`/api/v1/accounts/{accountId}/...`); a string or a number.
    #[serde(deserialize_with = "id_text")]
    pub account_id: String,
    /// Use this inbox; when absent the inbox named `name_inbox` is looked up (and
    /// created when `auto_create`).
    pub inbox_id: Option<u64>,
    /// Inbox name; empty: the instance's name.
    pub name_inbox: String,
    /// Create the inbox (an API channel whose webhook points back at this gateway)
    /// when no inbox has that name.
    pub auto_create: bool,
    /// Prefix agent replies with the agent's name (`*Name:*` + delimiter).
    pub sign_msg: bool,
    /// Between the signature and the text; default a newline (`\n` written as the two
    /// characters is read as a newline, as Evolution does).
    pub sign_delimiter: Option<String>,
    /// Reuse the contact's latest conversation in the inbox even when resolved (Chatwoot
    /// reopens it on the next incoming message); otherwise a resolved conversation
    /// gets a new one.
    pub reopen_conversation: bool,
    /// New conversations start as `pending` instead of `open`.
    pub conversation_pending: bool,
    /// Chats never synced: exact JIDs, or `@g.us` (every group) / `@s.whatsapp.net`
    /// (every person, also `@lid`), as Evolution reads its `ignoreJids`.
    pub ignore_jids: Vec<String>,
    /// Public base URL of this gateway, for the auto-created inbox's webhook
    /// (`{serverUrl}/chatwoot/webhook/{instance}?token=...`).
    pub server_url: Option<String>,
}

fn id_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => {
            return Err(serde::de::Error::custom(format!(
                "accountId must be a string or a number, not {other}"
            )));
        }
    })
}

impl Settings {
    /// Parse and check the settings text; the error says what is wrong.
    pub(crate) fn parse(text: &str) -> Result<Settings, String> {
        let s: Settings = serde_json::from_str(text).map_err(|e| format!("settings: {e}"))?;
        let account = s.account_id.trim();
        if account.is_empty() || !account.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "settings: accountId must be Chatwoot's numeric account id, not {:?}",
                s.account_id
            ));
        }
        Ok(s)
    }

    /// The inbox name to look for: `name_inbox`, else the instance's name.
    pub(crate) fn inbox_name<'a>(&'a self, instance_name: &'a str) -> &'a str {
        let n = self.name_inbox.trim();
        if n.is_empty() { instance_name } else { n }
    }

    /// Whether the chat `jid` is excluded by `ignore_jids`.
    pub(crate) fn ignores(&self, jid: &str) -> bool {
        self.ignore_jids.iter().any(|rule| {
            let rule = rule.trim();
            match rule {
                "@g.us" => jid.ends_with("@g.us"),
                "@s.whatsapp.net" => jid.ends_with("@s.whatsapp.net") || jid.ends_with("@lid"),
                "@lid" => jid.ends_with("@lid"),
                _ => rule == jid,
            }
        })
    }

    /// `text` signed with the agent's name, when `sign_msg` is on.
    pub(crate) fn sign(&self, agent: Option<&str>, text: &str) -> String {
        match agent.map(str::trim).filter(|a| !a.is_empty()) {
            Some(name) if self.sign_msg => {
                let delim = self
                    .sign_delimiter
                    .as_deref()
                    .unwrap_or("\n")
                    .replace("\\n", "\n");
                format!("*{name}:*{delim}{text}")
            }
            _ => text.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_evolution_names_and_numeric_accounts() {
        let s = Settings::parse(
            r#"{"accountId":7,"nameInbox":"","signMsg":true,"signDelimiter":"\\n--\\n",
                "ignoreJids":["@g.us","5511@s.whatsapp.net"],"autoCreate":true}"#,
        )
        .unwrap();
        assert_eq!(s.account_id, "7");
        assert_eq!(s.inbox_name("inst"), "inst");
        assert!(s.auto_create);
        assert!(s.ignores("123-456@g.us"));
        assert!(s.ignores("5511@s.whatsapp.net"));
        assert!(!s.ignores("5512@s.whatsapp.net"));
        assert_eq!(s.sign(Some("Ana"), "hi"), "*Ana:*\n--\nhi");
        assert_eq!(s.sign(None, "hi"), "hi");
    }

    #[test]
    fn refuses_a_missing_or_odd_account() {
        assert!(Settings::parse("{}").is_err());
        assert!(Settings::parse(r#"{"accountId":"1/../2"}"#).is_err());
        assert!(Settings::parse(r#"{"accountId":[1]}"#).is_err());
        assert!(Settings::parse("not json").is_err());
    }

    #[test]
    fn person_rule_covers_lids() {
        let s = Settings {
            ignore_jids: vec!["@s.whatsapp.net".into()],
            ..Default::default()
        };
        assert!(s.ignores("99@lid"));
        assert!(!s.ignores("1-2@g.us"));
    }
}
