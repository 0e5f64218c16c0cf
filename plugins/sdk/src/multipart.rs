//! `multipart/form-data` bodies (RFC 7578), for dialects whose product accepts file
//! uploads. The whole body is already in the guest's memory (the host hands requests
//! whole), so this is a plain parser over a byte slice, not a stream: parts borrow
//! from the body.

/// One part of a form.
#[derive(Debug, PartialEq, Eq)]
pub struct Part<'a> {
    /// The field name (`Content-Disposition: form-data; name="..."`).
    pub name: String,
    /// The uploaded file's name, for file fields.
    pub file_name: Option<String>,
    /// The part's `Content-Type`, if given.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub data: &'a [u8],
}

impl Part<'_> {
    /// The part as text (form fields); `None` when it is not UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(self.data).ok()
    }
}

/// The boundary of a `multipart/form-data` content type; `None` for another type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let essence = params.next()?.trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        let v = v.trim().trim_matches('"');
        (k.trim().eq_ignore_ascii_case("boundary") && !v.is_empty() && v.len() <= 70)
            .then(|| v.to_string())
    })
}

/// Why a body is not a well-formed form.
#[derive(Debug, PartialEq, Eq)]
pub struct MultipartError(pub String);

impl std::fmt::Display for MultipartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed multipart body: {}", self.0)
    }
}

/// The parts of `body`, delimited by `boundary` (see [`boundary`]).
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, MultipartError> {
    let err = |m: &str| MultipartError(m.to_string());
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    // The first delimiter may follow a preamble; it opens the first part.
    let mut pos = find(body, delim, 0).ok_or_else(|| err("no opening boundary"))? + delim.len();
    let mut parts = Vec::new();
    loop {
        // After a delimiter: `--` closes the form, CRLF opens a part.
        if body[pos..].starts_with(b"--") {
            return Ok(parts);
        }
        pos = skip_line_end(body, pos).ok_or_else(|| err("boundary not followed by CRLF"))?;
        let head_end =
            find(body, b"\r\n\r\n", pos).ok_or_else(|| err("part without headers end"))?;
        let head = std::str::from_utf8(&body[pos..head_end])
            .map_err(|_| err("part headers are not UTF-8"))?;
        let data_start = head_end + 4;
        let mut next_delim = Vec::with_capacity(delim.len() + 2);
        next_delim.extend_from_slice(b"\r\n");
        next_delim.extend_from_slice(delim);
        let data_end = find(body, &next_delim, data_start)
            .ok_or_else(|| err("part without closing boundary"))?;
        let (mut name, mut file_name, mut content_type) = (None, None, None);
        for line in head.split("\r\n") {
            let Some((h, v)) = line.split_once(':') else {
                continue;
            };
            let h = h.trim();
            if h.eq_ignore_ascii_case("content-disposition") {
                name = param(v, "name");
                file_name = param(v, "filename");
            } else if h.eq_ignore_ascii_case("content-type") {
                content_type = Some(v.trim().to_string());
            }
        }
        parts.push(Part {
            name: name.ok_or_else(|| err("part without a name"))?,
            file_name,
            content_type,
            data: &body[data_start..data_end],
        });
        pos = data_end + next_delim.len();
    }
}

/// `name="value"` (or unquoted) from a header's parameters.
fn param(header: &str, key: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case(key) {
            return None;
        }
        let v = v.trim();
        Some(
            match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(q) => q.replace("\\\"", "\""),
                None => v.to_string(),
            },
        )
    })
}

fn skip_line_end(body: &[u8], pos: usize) -> Option<usize> {
    // Whitespace may pad a delimiter line (RFC 2046 transport padding).
    let mut p = pos;
    while matches!(body.get(p), Some(b' ' | b'\t')) {
        p += 1;
    }
    body[p..].starts_with(b"\r\n").then_some(p + 2)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"number\"\r\n\r\n5511999999999\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n-XyZ\r\nstill data\r\n--XyZ--\r\nepilogue";

    #[test]
    fn fields_and_files() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"XyZ\"").as_deref(),
            Some("XyZ")
        );
        let parts = parse(BODY, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "number");
        assert_eq!(parts[0].text(), Some("5511999999999"));
        assert_eq!(parts[1].name, "file");
        assert_eq!(parts[1].file_name.as_deref(), Some("a \"b\".png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        // A line that is not the delimiter is data, CRLFs inside included.
        assert_eq!(parts[1].data, b"\x89PNG\r\n-XyZ\r\nstill data");
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        for body in [
            &b""[..],
            b"--XyZ",
            b"--XyZ\r\n",
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
            b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--",
            b"--XyZjunk",
        ] {
            assert!(
                parse(body, "XyZ").is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(parse(b"--XyZ--", "XyZ").unwrap(), vec![]);
    }
}
