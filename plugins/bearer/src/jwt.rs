//! Login JWT verification: JWS compact serialization, RS256 (RSASSA-PKCS1-v1_5 with
//! SHA-256) and ES256 (ECDSA P-256 with SHA-256) against a JWKS; every other `alg`
//! (`none`, `HS256`, ...) is refused before any key is looked at.

use serde_json::{Map, Value};
use wagate_plugin_sdk::prelude::*;

use crate::jwks;
use crate::settings::Settings;

/// Why a token was refused: a stable `reason` code and a message for the caller.
pub(crate) struct Refusal {
    pub reason: &'static str,
    pub message: String,
}

pub(crate) fn refuse(reason: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        reason,
        message: message.into(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Alg {
    Rs256,
    Es256,
}

fn b64(part: &str) -> Result<Vec<u8>, Refusal> {
    wagate_plugin_sdk::base64::decode_url(part)
        .ok_or_else(|| refuse("malformed", "token is not base64url JWS"))
}

fn json_object(bytes: &[u8], what: &str) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(refuse(
            "malformed",
            format!("token {what} is not a JSON object"),
        )),
    }
}

/// Verify `token` and build the caller's principal from its claims.
pub(crate) fn verify(token: &str, s: &Settings, now: u64) -> Result<Principal, Refusal> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse("malformed", "token is not a JWS"));
    };
    let header = json_object(&b64(h)?, "header")?;
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => Alg::Rs256,
        Some("ES256") => Alg::Es256,
        other => {
            return Err(refuse(
                "unsupported_algorithm",
                format!(
                    "token algorithm {} is not accepted (RS256 or ES256)",
                    other.unwrap_or("(none)")
                ),
            ));
        }
    };
    if header.contains_key("crit") {
        return Err(refuse("malformed", "token has critical header extensions"));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.as_str()),
        Some(_) => return Err(refuse("malformed", "token `kid` is not a string")),
    };
    let signature = b64(sig)?;
    let claims = json_object(&b64(p)?, "payload")?;

    let fits = |k: &Value| {
        key_fits(k, alg) && kid.is_none_or(|kid| k.get("kid").and_then(Value::as_str) == Some(kid))
    };
    let mut set = jwks::current(s)?;
    if !set.fetched_now
        && !set.keys.iter().any(fits)
        && let Some(keys) = jwks::refetch_for_unknown_key(s)
    {
        set.keys = keys;
    }
    let candidates: Vec<&Value> = set.keys.iter().filter(|k| fits(k)).collect();
    if candidates.is_empty() {
        return Err(refuse(
            "unknown_key",
            format!(
                "no signing key{} in the JWKS for {}",
                kid.map(|k| format!(" `{k}`")).unwrap_or_default(),
                if alg == Alg::Rs256 { "RS256" } else { "ES256" }
            ),
        ));
    }
    let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];
    if !candidates
        .iter()
        .any(|k| verify_with(k, alg, signing_input, &signature))
    {
        return Err(refuse("bad_signature", "token signature does not verify"));
    }

    check_claims(&claims, s, now)?;
    principal(&claims, s)
}

/// Whether JWK `k` can verify `alg` (key type, curve, and `use`/`alg` when present).
fn key_fits(k: &Value, alg: Alg) -> bool {
    let field = |name: &str| k.get(name).and_then(Value::as_str);
    if field("use").is_some_and(|u| u != "sig") {
        return false;
    }
    let name = if alg == Alg::Rs256 { "RS256" } else { "ES256" };
    if field("alg").is_some_and(|a| a != name) {
        return false;
    }
    match alg {
        Alg::Rs256 => field("kty") == Some("RSA"),
        Alg::Es256 => field("kty") == Some("EC") && field("crv") == Some("P-256"),
    }
}

fn verify_with(k: &Value, alg: Alg, msg: &[u8], sig: &[u8]) -> bool {
    let part = |name: &str| {
        k.get(name)
            .and_then(Value::as_str)
            .and_then(wagate_plugin_sdk::base64::decode_url)
    };
    match alg {
        Alg::Rs256 => {
            use rsa::pkcs1v15::{Signature, VerifyingKey};
            use rsa::signature::Verifier;
            use rsa::traits::PublicKeyParts;
            let (Some(n), Some(e)) = (part("n"), part("e")) else {
                return false;
            };
            let Ok(key) = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(&n),
                rsa::BigUint::from_bytes_be(&e),
            ) else {
                return false;
            };
            if key.size() < 256 {
                return false; // under 2048 bits
            }
            let Ok(sig) = Signature::try_from(sig) else {
                return false;
            };
            VerifyingKey::<sha2::Sha256>::new(key)
                .verify(msg, &sig)
                .is_ok()
        }
        Alg::Es256 => {
            use p256::ecdsa::signature::Verifier;
            use p256::ecdsa::{Signature, VerifyingKey};
            let (Some(x), Some(y)) = (part("x"), part("y")) else {
                return false;
            };
            if x.len() != 32 || y.len() != 32 || sig.len() != 64 {
                return false;
            }
            let point = p256::EncodedPoint::from_affine_coordinates(
                x.as_slice().into(),
                y.as_slice().into(),
                false,
            );
            let (Ok(key), Ok(sig)) = (
                VerifyingKey::from_encoded_point(&point),
                Signature::from_slice(sig),
            ) else {
                return false;
            };
            key.verify(msg, &sig).is_ok()
        }
    }
}

fn check_claims(c: &Map<String, Value>, s: &Settings, now: u64) -> Result<(), Refusal> {
    let time = |name: &str| -> Result<Option<u64>, Refusal> {
        match c.get(name) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(t) if t >= 0.0 => Ok(Some(t as u64)),
                _ => Err(refuse(
                    "malformed",
                    format!("token `{name}` is not a NumericDate"),
                )),
            },
        }
    };
    let leeway = s.leeway_seconds;
    match time("exp")? {
        None => return Err(refuse("malformed", "token has no `exp`")),
        Some(exp) if now > exp.saturating_add(leeway) => {
            return Err(refuse("expired", "token has expired"));
        }
        Some(_) => {}
    }
    if let Some(nbf) = time("nbf")?
        && now.saturating_add(leeway) < nbf
    {
        return Err(refuse("not_yet_valid", "token is not valid yet"));
    }
    if !s.issuer.is_empty() && c.get("iss").and_then(Value::as_str) != Some(s.issuer.as_str()) {
        return Err(refuse("wrong_issuer", "token issuer is not accepted"));
    }
    if !s.audience.is_empty() {
        let ok = match c.get("aud") {
            Some(Value::String(a)) => *a == s.audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&s.audience)),
            _ => false,
        };
        if !ok {
            return Err(refuse("wrong_audience", "token audience is not accepted"));
        }
    }
    Ok(())
}

/// Organisation from `org_claim`, capabilities from the role(s) in `role_claim`.
fn principal(c: &Map<String, Value>, s: &Settings) -> Result<Principal, Refusal> {
    let org = match c.get(&s.org_claim) {
        Some(Value::String(o)) if !o.is_empty() => o.clone(),
        _ => {
            return Err(refuse(
                "missing_claim",
                format!("token has no `{}` claim", s.org_claim),
            ));
        }
    };
    let roles: Vec<&str> = match c.get(&s.role_claim) {
        Some(Value::String(r)) => vec![r.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => {
            return Err(refuse(
                "missing_claim",
                format!("token has no `{}` claim", s.role_claim),
            ));
        }
    };
    let capabilities = roles
        .iter()
        .filter_map(|r| s.roles.get(*r))
        .fold(Capabilities::empty(), |acc, c| acc | *c);
    let sub = c.get("sub").and_then(Value::as_str).unwrap_or("unknown");
    Ok(Principal {
        subject: format!("jwt:{sub}"),
        org,
        capabilities,
        instance: None,
    })
}
