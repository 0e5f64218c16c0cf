//! Takes a dialect's file parts out of a `multipart/form-data` request body before the
//! plugin reads it (the manifest's `[uploads] file_parts`; why: `core::uploads`).
//!
//! The form is scanned, never rebuilt: each part's headers are read for its field
//! name, and a listed file part of at least [`MIN_STAGED_LEN`] bytes is staged as a
//! slice of the body's own buffer (no copy) while the body the plugin reads gets the
//! short `wagate-upload:<id>` reference as that part's content. Everything else, the
//! part's headers (file name, content type) included, stays as it came. A body that is
//! not a well-formed form is left whole, for the plugin to answer in its own shape.

use std::sync::Arc;

use bytes::Bytes;
use memchr::memmem;

use crate::core::uploads::{Staged, Uploads};

/// Parts smaller than this stay in the body (staging them saves nothing).
pub(super) const MIN_STAGED_LEN: usize = 16 * 1024;

/// The boundary of a `multipart/form-data` content type; `None` for any other type.
pub(super) fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let essence = params.next()?.trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim().trim_matches('"');
        // RFC 2046: 1 to 70 characters.
        (!v.is_empty() && v.len() <= 70).then(|| v.to_string())
    })
}

/// `body` with its file parts named in `file_parts` staged in `uploads`; the guards
/// keep the staged bytes until the request ends.
pub(super) fn stage(
    uploads: &Arc<Uploads>,
    file_parts: &[String],
    boundary: &str,
    body: Bytes,
) -> (Bytes, Vec<Staged>) {
    let Some(parts) = parts(&body, boundary) else {
        return (body, Vec::new());
    };
    let wanted: Vec<(usize, usize)> = parts
        .into_iter()
        .filter(|p| p.data.len() >= MIN_STAGED_LEN && file_parts.contains(&p.name))
        .map(|p| (p.data.start, p.data.end))
        .collect();
    if wanted.is_empty() {
        return (body, Vec::new());
    }
    let removed: usize = wanted.iter().map(|(from, to)| to - from).sum();
    let mut out = Vec::with_capacity(body.len() - removed + 80 * wanted.len());
    let mut staged = Vec::with_capacity(wanted.len());
    let mut at = 0;
    for (from, to) in wanted {
        let guard = uploads.stage(body.slice(from..to));
        out.extend_from_slice(&body[at..from]);
        out.extend_from_slice(guard.reference().as_bytes());
        staged.push(guard);
        at = to;
    }
    out.extend_from_slice(&body[at..]);
    (Bytes::from(out), staged)
}

/// One part of a form: its field name and where its content is in the body.
struct Part {
    name: String,
    data: std::ops::Range<usize>,
}

/// The parts of the form `body` delimited by `boundary`; `None` when it is not a
/// well-formed form (no closing delimiter, a part without headers or a name).
fn parts(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}");
    // Every delimiter after the first is preceded by CRLF, which belongs to it.
    let next = format!("\r\n--{boundary}");
    let finder = memmem::Finder::new(next.as_bytes());
    let mut at = if body.starts_with(delimiter.as_bytes()) {
        delimiter.len()
    } else {
        // A preamble: the first delimiter follows a CRLF.
        finder.find(body)? + next.len()
    };
    let mut parts = Vec::new();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Some(parts); // the closing delimiter
        }
        // Transport padding, then the CRLF that ends the delimiter line.
        let line_end = at + memmem::find(rest, b"\r\n")?;
        if !body[at..line_end].iter().all(|c| *c == b' ' || *c == b'\t') {
            return None;
        }
        let headers_start = line_end + 2;
        let headers_len = memmem::find(&body[headers_start..], b"\r\n\r\n")?;
        let headers =
            std::str::from_utf8(&body[headers_start..headers_start + headers_len]).ok()?;
        let name = field_name(headers)?;
        let data_start = headers_start + headers_len + 4;
        let data_end = data_start + finder.find(&body[data_start..])?;
        parts.push(Part {
            name,
            data: data_start..data_end,
        });
        at = data_end + next.len();
    }
}

/// The `name` parameter of a part's `Content-Disposition: form-data` header.
fn field_name(headers: &str) -> Option<String> {
    let disposition = headers.split("\r\n").find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-disposition")
            .then_some(v)
    })?;
    disposition.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("name")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut out = b"preamble to ignore\r\n".to_vec();
        for (name, file_name, data) in parts {
            out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let file = file_name.map_or(String::new(), |f| format!("; filename=\"{f}\""));
            out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"{file}\r\n").as_bytes(),
            );
            if file_name.is_some() {
                out.extend_from_slice(b"Content-Type: video/mp4\r\n");
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }

    #[test]
    fn a_large_file_part_is_staged_and_the_rest_kept() {
        let uploads = Arc::new(Uploads::default());
        // Bytes that look like a delimiter's start and CRLFs must not end the part.
        let mut file: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        file.extend_from_slice(b"\r\n--not-the-boundary\r\n\r\n");
        let body = form(
            "XyZ",
            &[
                ("number", None, b"5511999999999"),
                ("file", Some("clip.mp4"), &file),
                ("caption", None, b"hi"),
            ],
        );
        let (out, staged) = stage(&uploads, &["file".into()], "XyZ", Bytes::from(body));
        assert_eq!(staged.len(), 1);
        let reference = staged[0].reference().to_string();
        let expected = form(
            "XyZ",
            &[
                ("number", None, b"5511999999999"),
                ("file", Some("clip.mp4"), reference.as_bytes()),
                ("caption", None, b"hi"),
            ],
        );
        assert_eq!(out, expected, "only the file's content replaced");
        let id = reference.strip_prefix("wagate-upload:").unwrap();
        assert_eq!(uploads.take(id).unwrap(), file);
    }

    #[test]
    fn small_unlisted_and_malformed_forms_are_left_whole() {
        let uploads = Arc::new(Uploads::default());
        let big = vec![1u8; MIN_STAGED_LEN];
        let cases = [
            form("b", &[("file", Some("a.png"), b"small")]),
            form("b", &[("other", Some("a.png"), &big)]),
            // No closing delimiter.
            form("b", &[("file", Some("a.png"), &big)])[..MIN_STAGED_LEN].to_vec(),
            // No name.
            b"--b\r\nContent-Disposition: form-data\r\n\r\nxx\r\n--b--".to_vec(),
            b"not a form".to_vec(),
        ];
        for body in cases {
            let (out, staged) = stage(&uploads, &["file".into()], "b", Bytes::from(body.clone()));
            assert!(staged.is_empty());
            assert_eq!(out, body);
        }
        assert_eq!(uploads.held(), 0);
    }

    #[test]
    fn the_boundary_is_read_from_the_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"XyZ\"").as_deref(),
            Some("XyZ")
        );
        assert_eq!(
            boundary("Multipart/Form-Data;charset=utf-8; Boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(boundary("application/json; boundary=x"), None);
    }
}
