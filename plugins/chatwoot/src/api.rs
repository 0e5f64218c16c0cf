//! Chatwoot's application API, the few calls the sync makes
//! (`/api/v1/accounts/{account}/...`), and what each answer means for a delivery.

use serde_json::{Value, json};
use wagate_plugin_sdk::url::encode;

use crate::env::{Net, NetError, Reply};

/// Why a Chatwoot call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// Worth trying again later (5xx, 408, 429, timeout, connection failure).
    Retry(String),
    /// Never going to work as configured (bad token, rejected input, not allowed).
    Permanent(String),
    /// 404: the resource (message, conversation) is gone.
    NotFound,
}

/// A contact as `contacts/search` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contact {
    pub id: u64,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
}

/// A conversation as `contacts/{id}/conversations` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conversation {
    pub id: u64,
    pub inbox_id: u64,
    pub status: String,
}

/// A message as `conversations/{id}/messages` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Posted {
    pub id: u64,
    pub source_id: Option<String>,
}

/// One account of one Chatwoot server.
pub(crate) struct Chatwoot<'a> {
    net: &'a dyn Net,
    /// `{url}/api/v1/accounts/{account}`.
    base: String,
}

impl<'a> Chatwoot<'a> {
    pub(crate) fn new(net: &'a dyn Net, url: &str, account: &str) -> Self {
        Chatwoot {
            net,
            base: format!("{}/api/v1/accounts/{account}", url.trim_end_matches('/')),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        let url = format!("{}{path}", self.base);
        match self.net.call(method, &url, body) {
            Ok(reply) => classify(method, path, reply),
            Err(NetError::Denied(why)) => Err(ApiError::Permanent(format!(
                "the gateway may not reach Chatwoot at {url}: {why}"
            ))),
            Err(NetError::Timeout) => Err(ApiError::Retry(format!("{method} {path}: timed out"))),
            Err(NetError::Failed(why)) => Err(ApiError::Retry(format!("{method} {path}: {why}"))),
        }
    }

    /// Every inbox of the account: (id, name).
    pub(crate) fn inboxes(&self) -> Result<Vec<(u64, String)>, ApiError> {
        let v = self.call("GET", "/inboxes", None)?;
        Ok(list(&v)
            .iter()
            .filter_map(|i| Some((id(i)?, i.get("name")?.as_str()?.to_string())))
            .collect())
    }

    /// Creates an API-channel inbox whose webhook is `webhook_url`; its id.
    pub(crate) fn create_inbox(&self, name: &str, webhook_url: &str) -> Result<u64, ApiError> {
        let body =
            json!({ "name": name, "channel": { "type": "api", "webhook_url": webhook_url } });
        let v = self.call("POST", "/inboxes", Some(&body))?;
        created_id(&v, "inbox")
    }

    /// Contacts matching `q` (a `+digits` phone number or an identifier).
    pub(crate) fn search_contacts(&self, q: &str) -> Result<Vec<Contact>, ApiError> {
        let v = self.call("GET", &format!("/contacts/search?q={}", encode(q)), None)?;
        Ok(list(&v)
            .iter()
            .filter_map(|c| {
                Some(Contact {
                    id: id(c)?,
                    phone_number: text(c, "phone_number"),
                    identifier: text(c, "identifier"),
                })
            })
            .collect())
    }

    /// Creates a contact in `inbox`; its id.
    pub(crate) fn create_contact(
        &self,
        inbox: u64,
        name: &str,
        phone: Option<&str>,
        identifier: &str,
    ) -> Result<u64, ApiError> {
        let mut body = json!({ "inbox_id": inbox, "name": name, "identifier": identifier });
        if let Some(p) = phone {
            body["phone_number"] = Value::String(p.to_string());
        }
        let v = self.call("POST", "/contacts", Some(&body))?;
        // Chatwoot answers `{"payload":{"contact":{..},"contact_inbox":{..}}}`; older
        // versions the contact itself.
        v.pointer("/payload/contact/id")
            .and_then(Value::as_u64)
            .map(Ok)
            .unwrap_or_else(|| created_id(&v, "contact"))
    }

    /// The conversations of a contact, in every inbox.
    pub(crate) fn contact_conversations(
        &self,
        contact: u64,
    ) -> Result<Vec<Conversation>, ApiError> {
        let v = self.call("GET", &format!("/contacts/{contact}/conversations"), None)?;
        Ok(list(&v)
            .iter()
            .filter_map(|c| {
                Some(Conversation {
                    id: id(c)?,
                    inbox_id: c.get("inbox_id")?.as_u64()?,
                    status: text(c, "status").unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Opens a conversation of `contact` in `inbox`; its id.
    pub(crate) fn create_conversation(
        &self,
        contact: u64,
        inbox: u64,
        pending: bool,
    ) -> Result<u64, ApiError> {
        let mut body = json!({ "contact_id": contact, "inbox_id": inbox });
        if pending {
            body["status"] = Value::String("pending".into());
        }
        let v = self.call("POST", "/conversations", Some(&body))?;
        created_id(&v, "conversation")
    }

    /// Posts a message; its id. `source_id` (`WAID:<whatsapp id>`) lets a later attempt
    /// recognise it.
    pub(crate) fn create_message(
        &self,
        conversation: u64,
        content: &str,
        outgoing: bool,
        source_id: &str,
    ) -> Result<u64, ApiError> {
        let body = json!({
            "content": content,
            "message_type": if outgoing { "outgoing" } else { "incoming" },
            "private": false,
            "source_id": source_id,
        });
        let v = self.call(
            "POST",
            &format!("/conversations/{conversation}/messages"),
            Some(&body),
        )?;
        created_id(&v, "message")
    }

    /// The conversation's latest messages (Chatwoot answers the newest page).
    pub(crate) fn messages(&self, conversation: u64) -> Result<Vec<Posted>, ApiError> {
        let v = self.call(
            "GET",
            &format!("/conversations/{conversation}/messages"),
            None,
        )?;
        Ok(list(&v)
            .iter()
            .filter_map(|m| {
                Some(Posted {
                    id: id(m)?,
                    source_id: text(m, "source_id"),
                })
            })
            .collect())
    }

    pub(crate) fn delete_message(&self, conversation: u64, message: u64) -> Result<(), ApiError> {
        self.call(
            "DELETE",
            &format!("/conversations/{conversation}/messages/{message}"),
            None,
        )
        .map(|_| ())
    }
}

/// What an HTTP status means for the delivery.
fn classify(method: &str, path: &str, reply: Reply) -> Result<Value, ApiError> {
    let what = format!("Chatwoot answered {} to {method} {path}", reply.status);
    match reply.status {
        200..=299 => Ok(reply.json()),
        401 | 403 => Err(ApiError::Permanent(format!(
            "{what}: the api_access_token was refused (check the token and its account)"
        ))),
        404 => Err(ApiError::NotFound),
        422 => Err(ApiError::Permanent(format!(
            "{what}: the request was rejected ({})",
            snippet(&reply.body)
        ))),
        408 | 429 | 500..=599 => Err(ApiError::Retry(what)),
        _ => Err(ApiError::Permanent(format!(
            "{what} ({})",
            snippet(&reply.body)
        ))),
    }
}

/// The start of a body, for error messages.
fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    if s.chars().count() > 200 {
        format!("{}...", s.chars().take(200).collect::<String>())
    } else {
        s.to_string()
    }
}

/// `payload` when it is a list (Chatwoot's list answers), else the value itself.
fn list(v: &Value) -> Vec<Value> {
    match v.get("payload").unwrap_or(v) {
        Value::Array(items) => items.clone(),
        _ => Vec::new(),
    }
}

fn id(v: &Value) -> Option<u64> {
    v.get("id")?.as_u64()
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_string)
}

/// The id of a created resource: `id`, or `payload.id`.
fn created_id(v: &Value, what: &str) -> Result<u64, ApiError> {
    id(v)
        .or_else(|| v.get("payload").and_then(id))
        .ok_or_else(|| {
            // 2xx without an id: the resource may exist; a retry finds it by lookup.
            ApiError::Retry(format!(
                "Chatwoot created a {what} but its answer has no id"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let r = |status: u16| Reply {
            status,
            body: b"{\"id\":3}".to_vec(),
        };
        assert!(classify("GET", "/x", r(200)).is_ok());
        assert_eq!(classify("GET", "/x", r(404)), Err(ApiError::NotFound));
        assert!(matches!(
            classify("GET", "/x", r(503)),
            Err(ApiError::Retry(_))
        ));
        assert!(matches!(
            classify("GET", "/x", r(429)),
            Err(ApiError::Retry(_))
        ));
        match classify("GET", "/x", r(401)) {
            Err(ApiError::Permanent(m)) => assert!(m.contains("api_access_token"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify("POST", "/x", r(422)),
            Err(ApiError::Permanent(_))
        ));
    }

    #[test]
    fn created_ids() {
        assert_eq!(created_id(&json!({"id": 4}), "x"), Ok(4));
        assert_eq!(created_id(&json!({"payload": {"id": 5}}), "x"), Ok(5));
        assert!(matches!(
            created_id(&json!({}), "x"),
            Err(ApiError::Retry(_))
        ));
    }
}
