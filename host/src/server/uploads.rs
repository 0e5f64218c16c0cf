//! Takes a dialect's large base64 media fields out of a JSON request body before the
//! plugin reads it (the manifest's `[uploads]`; why: `core::uploads`).
//!
//! The body is never parsed into a tree: it is checked to be valid JSON (serde's
//! `IgnoredAny`, no allocation), each listed field is then found as a span of the
//! original bytes by a small scanner, decoded straight from there, and the new body is
//! the old one with those spans replaced by short references. So a 64 MiB file sent as
//! base64 costs the body plus the decoded bytes, once.
//!
//! Anything the host cannot decode is left exactly as it came (a small value, a URL,
//! text that is not base64, a body that is not a JSON object): the plugin then parses
//! it as before and answers in its own error shape.

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;

use crate::core::uploads::{Staged, Uploads};
use crate::plugin::manifest::UploadRoutes;

/// Values shorter than this stay in the body: staging them saves nothing, and small
/// values keep every error path the plugin's own.
const MIN_STAGED_LEN: usize = 16 * 1024;

/// Standard base64, padding optional, non-canonical trailing bits refused (as the
/// SDK's decoder).
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// `body` with the `routes`' listed fields staged in `uploads`; the guards keep the
/// staged bytes until the request ends.
pub(super) fn stage(
    uploads: &Arc<Uploads>,
    routes: &UploadRoutes,
    body: Bytes,
) -> (Bytes, Vec<Staged>) {
    let Ok(text) = std::str::from_utf8(&body) else {
        return (body, Vec::new());
    };
    // The scanner below may assume well-formed JSON; a malformed body is the plugin's.
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
        return (body, Vec::new());
    }
    let base = text.as_ptr() as usize;
    let mut found: Vec<(usize, usize, Vec<u8>)> = routes
        .fields
        .iter()
        .filter_map(|pointer| {
            let raw = locate(text, pointer)?;
            let bytes = decode(raw, routes.data_urls)?;
            let start = raw.as_ptr() as usize - base;
            Some((start, start + raw.len(), bytes))
        })
        .collect();
    if found.is_empty() {
        return (body, Vec::new());
    }
    found.sort_by_key(|(start, _, _)| *start);
    // Two pointers naming the same value (or one inside another) stage it once.
    found.dedup_by(|later, earlier| later.0 < earlier.1);
    let mut out = Vec::with_capacity(
        body.len() - found.iter().map(|f| f.1 - f.0).sum::<usize>() + 80 * found.len(),
    );
    let mut staged = Vec::with_capacity(found.len());
    let mut at = 0;
    for (start, end, bytes) in found {
        let guard = uploads.stage(Bytes::from(bytes));
        out.extend_from_slice(&body[at..start]);
        out.push(b'"');
        out.extend_from_slice(guard.reference().as_bytes());
        out.push(b'"');
        staged.push(guard);
        at = end;
    }
    out.extend_from_slice(&body[at..]);
    (Bytes::from(out), staged)
}

/// The raw JSON text of the value at `pointer` (`/media/data`) in the well-formed JSON
/// `text`, borrowed from it. A key written with escapes is not matched, and of
/// duplicate keys the last wins (as serde_json's map, which the plugins parse with).
fn locate<'a>(text: &'a str, pointer: &str) -> Option<&'a str> {
    let mut value = text.trim_matches(|c: char| c.is_ascii_whitespace());
    for segment in pointer.split('/').skip(1) {
        value = member(value, segment)?;
    }
    Some(value)
}

/// The raw value of `key` in the JSON object `object` (well-formed, trimmed).
fn member<'a>(object: &'a str, key: &str) -> Option<&'a str> {
    let b = object.as_bytes();
    if b.first() != Some(&b'{') {
        return None;
    }
    let mut found = None;
    let mut i = skip_ws(b, 1);
    while b.get(i) == Some(&b'"') {
        let key_end = string_end(b, i);
        let name = &object[i + 1..key_end - 1];
        i = skip_ws(b, key_end) + 1; // past ':'
        i = skip_ws(b, i);
        let value_end = value_end(b, i);
        if name == key {
            found = Some(&object[i..value_end]);
        }
        i = skip_ws(b, value_end);
        if b.get(i) == Some(&b',') {
            i = skip_ws(b, i + 1);
        }
    }
    found
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// One past the closing quote of the string opening at `i`.
fn string_end(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// One past the end of the value starting at `i`.
fn value_end(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(&c) = b.get(j) {
                match c {
                    b'"' => {
                        j = string_end(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
        _ => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
            {
                j += 1;
            }
            j
        }
    }
}

/// The bytes a raw JSON string of base64 (or, when allowed, a base64 `data:` URL)
/// stands for; `None` for anything else.
fn decode(raw: &str, data_urls: bool) -> Option<Vec<u8>> {
    if raw.len() < MIN_STAGED_LEN || !raw.starts_with('"') {
        return None;
    }
    let text: Cow<str> = if raw.contains('\\') {
        Cow::Owned(serde_json::from_str::<String>(raw).ok()?)
    } else {
        Cow::Borrowed(&raw[1..raw.len() - 1])
    };
    let data = match text.strip_prefix("data:") {
        Some(url) if data_urls => {
            let (head, data) = url.split_once(',')?;
            head.ends_with(";base64").then_some(data)?
        }
        Some(_) => return None,
        None => &text,
    };
    let compact: Cow<str> = if data.bytes().any(|b| b.is_ascii_whitespace()) {
        Cow::Owned(data.chars().filter(|c| !c.is_ascii_whitespace()).collect())
    } else {
        Cow::Borrowed(data)
    };
    let bytes = BASE64.decode(compact.as_bytes()).ok()?;
    (!bytes.is_empty()).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(fields: &[&str], data_urls: bool) -> UploadRoutes {
        UploadRoutes {
            routes: vec!["/send".into()],
            fields: fields.iter().map(|f| f.to_string()).collect(),
            data_urls,
            too_large_body: None,
        }
    }

    fn id_of(body: &[u8], pointer: &str) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        v.pointer(pointer)?
            .as_str()?
            .strip_prefix("wagate-upload:")
            .map(str::to_string)
    }

    #[test]
    fn a_large_base64_field_is_staged_and_the_rest_kept() {
        let uploads = Arc::new(Uploads::default());
        let file: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let body = serde_json::json!({
            "number": "5511", "media": BASE64.encode(&file), "caption": "hi \"there\"",
            "nested": {"data": BASE64.encode(&file)}, "url": "https://x.test/a.png",
        });
        let body = Bytes::from(serde_json::to_vec(&body).unwrap());
        let (out, staged) = stage(
            &uploads,
            &routes(&["/media", "/nested/data", "/url", "/missing"], false),
            body,
        );
        assert_eq!(staged.len(), 2);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["caption"], "hi \"there\"");
        assert_eq!(v["url"], "https://x.test/a.png");
        let id = id_of(&out, "/media").unwrap();
        assert_eq!(uploads.take(&id).unwrap(), file);
        assert!(id_of(&out, "/nested/data").is_some());
        drop(staged);
        assert_eq!(uploads.held(), 0);
    }

    #[test]
    fn what_cannot_be_decoded_is_left_to_the_plugin() {
        let uploads = Arc::new(Uploads::default());
        let big = "!".repeat(MIN_STAGED_LEN + 10);
        let small = BASE64.encode(b"tiny");
        let data_url = format!(
            "data:image/png;base64,{}",
            BASE64.encode(vec![7u8; MIN_STAGED_LEN])
        );
        for body in [
            serde_json::json!({"media": big}).to_string(),
            serde_json::json!({"media": small}).to_string(),
            serde_json::json!({"media": data_url}).to_string(),
            serde_json::json!({"media": {"data": 1}}).to_string(),
            "[1,2]".to_string(),
            "{\"media\": tru".to_string(),
            format!(
                "{{\"media\": \"{}\",}}",
                BASE64.encode(vec![1u8; MIN_STAGED_LEN])
            ),
        ] {
            let (out, staged) = stage(
                &uploads,
                &routes(&["/media"], false),
                Bytes::from(body.clone()),
            );
            assert!(staged.is_empty(), "{body}");
            assert_eq!(out, body.as_bytes());
        }
        let body = serde_json::json!({"media": data_url}).to_string();
        let (_, staged) = stage(&uploads, &routes(&["/media"], true), Bytes::from(body));
        assert_eq!(staged.len(), 1, "a data: URL when the dialect accepts one");
    }

    #[test]
    fn the_scanner_finds_members_past_nested_values_and_strings() {
        let text = r#"{ "a" : {"media":"x"}, "s":"}\"{", "n": [1,{"b":2}] , "media" :"m1", "t":true, "media":"m2" }"#;
        assert_eq!(
            locate(text, "/media"),
            Some("\"m2\""),
            "the last duplicate wins"
        );
        assert_eq!(locate(text, "/a/media"), Some("\"x\""));
        assert_eq!(locate(text, "/n"), Some("[1,{\"b\":2}]"));
        assert_eq!(locate(text, "/t"), Some("true"));
        assert_eq!(locate(text, "/s/x"), None);
        assert_eq!(locate(text, "/missing"), None);
        assert_eq!(locate(" {} ", "/a"), None);
    }

    #[test]
    fn escaped_and_wrapped_base64_is_decoded() {
        let uploads = Arc::new(Uploads::default());
        let file = vec![0xABu8; 30_000];
        let wrapped: String = BASE64
            .encode(&file)
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap().replace('/', "\\/"))
            .collect::<Vec<_>>()
            .join("\\n");
        let body = format!("{{\"media\":\"{wrapped}\"}}");
        let (out, staged) = stage(&uploads, &routes(&["/media"], false), Bytes::from(body));
        assert_eq!(staged.len(), 1);
        assert_eq!(uploads.take(&id_of(&out, "/media").unwrap()).unwrap(), file);
    }
}
