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

use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::core::uploads::{Staged, Uploads};
use crate::plugin::manifest::UploadRoutes;

/// Values shorter than this stay in the body: staging them saves nothing, and small
/// values keep every error path the plugin's own.
const MIN_STAGED_LEN: usize = 16 * 1024;

/// `body` with the `routes`' listed fields staged in `uploads`; the guards keep the
/// staged bytes until the request ends.
///
/// Each value is decoded in place, over its own base64 (the output never overtakes the
/// input), and the staged bytes are slices of the body's buffer: a staged file costs
/// no memory beyond the body it came in, and only the small rest is copied.
pub(super) fn stage(
    uploads: &Arc<Uploads>,
    routes: &UploadRoutes,
    mut body: BytesMut,
) -> (Bytes, Vec<Staged>) {
    let mut found: Vec<(usize, usize, usize, usize)> = {
        let Ok(text) = std::str::from_utf8(&body) else {
            return (body.freeze(), Vec::new());
        };
        // The scanner below may assume well-formed JSON; a malformed body is the plugin's.
        if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
            return (body.freeze(), Vec::new());
        }
        let base = text.as_ptr() as usize;
        routes
            .fields
            .iter()
            .filter_map(|pointer| {
                let raw = locate(text, pointer)?;
                let start = raw.as_ptr() as usize - base;
                let data = base64_of(raw, routes.data_urls)?;
                Some((start, start + raw.len(), start + data.0, start + data.1))
            })
            .collect()
    };
    found.sort_by_key(|f| f.0);
    // Two pointers naming the same value (or one inside another) stage it once.
    found.dedup_by(|later, earlier| later.0 < earlier.1);
    // Checked first, decoded second: a value that is not base64 after all must reach
    // the plugin as it came, not half overwritten.
    found.retain(|&(_, _, from, to)| decode_in_place(&mut body, from, to, false).is_some());
    if found.is_empty() {
        return (body.freeze(), Vec::new());
    }
    let decoded: Vec<usize> = found
        .iter()
        .map(|&(_, _, from, to)| decode_in_place(&mut body, from, to, true).unwrap_or(0))
        .collect();
    let removed: usize = found.iter().map(|f| f.1 - f.0).sum();
    let mut out = Vec::with_capacity(body.len() - removed + 80 * found.len());
    let whole = body.freeze();
    let mut staged = Vec::with_capacity(found.len());
    let mut at = 0;
    for ((start, end, from, _), len) in found.into_iter().zip(decoded) {
        let guard = uploads.stage(whole.slice(from..from + len));
        out.extend_from_slice(&whole[at..start]);
        out.push(b'"');
        out.extend_from_slice(guard.reference().as_bytes());
        out.push(b'"');
        staged.push(guard);
        at = end;
    }
    out.extend_from_slice(&whole[at..]);
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

/// Where the base64 is inside a raw JSON string (offsets into `raw`): past the quote,
/// and past a `data:<type>;base64,` prefix when the dialect takes one. `None`: not a
/// string, too small to stage, or a `data:` URL the dialect does not take.
fn base64_of(raw: &str, data_urls: bool) -> Option<(usize, usize)> {
    if raw.len() < MIN_STAGED_LEN || !raw.starts_with('"') {
        return None;
    }
    let content = &raw[1..raw.len() - 1];
    let skip = match content.strip_prefix("data:") {
        Some(url) if data_urls => {
            let (head, _) = url.split_once(',')?;
            if !head.ends_with(";base64") {
                return None;
            }
            "data:".len() + head.len() + 1
        }
        Some(_) => return None,
        None => 0,
    };
    Some((1 + skip, raw.len() - 1))
}

/// The value of each standard base64 character, 0xFF for the others.
const SEXTET: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Decodes the standard base64 written as JSON string content in `buf[from..to]`
/// (whitespace, and the escapes `\n` `\r` `\t` `\/`, allowed; padding optional;
/// non-zero trailing bits refused) to `buf[from..from + n]`, answering `n`. With
/// `write` false it only checks. `None`: not base64, or empty.
fn decode_in_place(buf: &mut [u8], from: usize, to: usize, write: bool) -> Option<usize> {
    let (mut read, mut out) = (from, from);
    let (mut acc, mut bits, mut sextets, mut pads) = (0u32, 0u32, 0usize, 0usize);
    while read < to {
        let mut c = buf[read];
        read += 1;
        if c == b'\\' {
            c = match *buf.get(read)? {
                b'n' | b'r' | b't' => b' ',
                b'/' => b'/',
                _ => return None,
            };
            read += 1;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            pads += 1;
            continue;
        }
        let v = SEXTET[usize::from(c)];
        if v == 0xFF || pads > 0 {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        sextets += 1;
        if bits >= 8 {
            bits -= 8;
            // `out` trails `read`: three bytes out for every four characters in.
            if write {
                buf[out] = (acc >> bits) as u8;
            }
            out += 1;
            acc &= (1 << bits) - 1;
        }
    }
    let whole = sextets % 4 != 1 && (pads == 0 || (pads <= 2 && (sextets + pads) % 4 == 0));
    (whole && acc == 0 && out > from).then_some(out - from)
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
            file_parts: Vec::new(),
        }
    }

    fn id_of(body: &[u8], pointer: &str) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        v.pointer(pointer)?
            .as_str()?
            .strip_prefix("wagate-upload:")
            .map(str::to_string)
    }

    use base64::Engine as _;

    const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    fn body(text: impl AsRef<[u8]>) -> BytesMut {
        BytesMut::from(text.as_ref())
    }

    #[test]
    fn a_large_base64_field_is_staged_and_the_rest_kept() {
        let uploads = Arc::new(Uploads::default());
        let file: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let body = serde_json::json!({
            "number": "5511", "media": BASE64.encode(&file), "caption": "hi \"there\"",
            "nested": {"data": BASE64.encode(&file)}, "url": "https://x.test/a.png",
        });
        let body = self::body(serde_json::to_vec(&body).unwrap());
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
            let (out, staged) = stage(&uploads, &routes(&["/media"], false), self::body(&body));
            assert!(staged.is_empty(), "{body}");
            assert_eq!(out, body.as_bytes());
        }
        let body = serde_json::json!({"media": data_url}).to_string();
        let (_, staged) = stage(&uploads, &routes(&["/media"], true), self::body(body));
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
    fn the_in_place_decoder_agrees_with_a_standard_one() {
        for len in 0..40usize {
            let file: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let padded = BASE64.encode(&file);
            for text in [padded.clone(), padded.trim_end_matches('=').to_string()] {
                let mut buf = text.clone().into_bytes();
                let n = decode_in_place(&mut buf, 0, text.len(), true);
                assert_eq!(
                    n.map(|n| buf[..n].to_vec()),
                    (len > 0).then(|| file.clone()),
                    "{text}"
                );
            }
        }
        for bad in [
            "QQ=",
            "QR==",
            "Q",
            "QUJD=",
            "QU=JD",
            "QUJ*",
            "QUJD\\u0041",
            "====",
        ] {
            let mut buf = bad.as_bytes().to_vec();
            assert_eq!(
                decode_in_place(&mut buf, 0, bad.len(), false),
                None,
                "{bad}"
            );
        }
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
        let (out, staged) = stage(&uploads, &routes(&["/media"], false), self::body(body));
        assert_eq!(staged.len(), 1);
        assert_eq!(uploads.take(&id_of(&out, "/media").unwrap()).unwrap(), file);
    }
}
