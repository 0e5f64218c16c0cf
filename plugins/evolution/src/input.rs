//! Request bodies, validated with the messages Evolution's JSON-schema validation
//! produces (`instance requires property "number"`, `The "id" cannot be empty`, ...),
//! answered as 400 `{"status":400,"error":"Bad Request","response":{"message":[..]}}`.

use serde_json::Value;
use wagate_plugin_sdk::prelude::*;

use crate::shape;

/// The JSON body; an empty body is `{}`.
pub(crate) fn body(req: &Request) -> Result<Value, HttpResponse> {
    if req.raw.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_slice::<Value>(&req.raw.body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(bad("instance is not of a type(s) object")),
        Err(e) => Err(bad(&format!("Invalid JSON body: {e}"))),
    }
}

/// 400 in Evolution's shape with one message.
pub(crate) fn bad(msg: &str) -> HttpResponse {
    shape::evolution_msg(400, msg)
}

/// `path` is the dotted path for messages (`where.key.id`).
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

/// A required, non-empty string.
pub(crate) fn req_str(v: &Value, path: &str) -> Result<String, HttpResponse> {
    match lookup(v, path) {
        None => Err(bad(&format!("instance requires property \"{path}\""))),
        Some(Value::String(s)) if s.is_empty() => {
            Err(bad(&format!("The \"{path}\" cannot be empty")))
        }
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(bad(&format!("{path} is not of a type(s) string"))),
    }
}

/// An optional string (`None` when absent or null).
pub(crate) fn opt_str(v: &Value, path: &str) -> Result<Option<String>, HttpResponse> {
    match lookup(v, path) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(&format!("{path} is not of a type(s) string"))),
    }
}

/// A required boolean.
pub(crate) fn req_bool(v: &Value, path: &str) -> Result<bool, HttpResponse> {
    match lookup(v, path) {
        None => Err(bad(&format!("instance requires property \"{path}\""))),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(bad(&format!("{path} is not of a type(s) boolean"))),
    }
}

/// An optional boolean.
pub(crate) fn opt_bool(v: &Value, path: &str) -> Result<Option<bool>, HttpResponse> {
    match lookup(v, path) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(&format!("{path} is not of a type(s) boolean"))),
    }
}

/// An optional non-negative integer (numbers and numeric strings are accepted, as
/// query-like paging fields often arrive as strings).
pub(crate) fn opt_uint(v: &Value, path: &str) -> Result<Option<u64>, HttpResponse> {
    match lookup(v, path) {
        None => Ok(None),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
        Some(Value::String(s)) if s.parse::<u64>().is_ok() => Ok(s.parse().ok()),
        Some(_) => Err(bad(&format!("{path} is not of a type(s) integer"))),
    }
}

/// An instant as Evolution's filters take it (`new Date(x)`): epoch milliseconds, or an
/// ISO-8601 date-time (`2024-05-01`, `2024-05-01T12:00:00Z`, with optional fraction).
/// Returns epoch milliseconds.
pub(crate) fn opt_instant(v: &Value, path: &str) -> Result<Option<u64>, HttpResponse> {
    let invalid = || bad(&format!("{path} is not a valid date"));
    match lookup(v, path) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(invalid),
        Some(Value::String(s)) => wagate_plugin_sdk::time::parse_iso8601(s)
            .map(Some)
            .ok_or_else(invalid),
        Some(_) => Err(invalid()),
    }
}
