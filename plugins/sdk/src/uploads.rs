//! Media the host took out of a request body (the manifest's `[uploads]`).
//!
//! For the routes and fields a dialect lists, the host decodes a large base64 value
//! itself and puts `wagate-upload:<id>` in its place, so megabytes never cross into
//! the plugin's memory. A handler that reads such a field asks [`source`] first: a
//! reference becomes `MediaSource::Upload`, anything else is the plugin's to parse.
//! A multipart file part the host staged (`file_parts`) is read with [`part_source`].

use crate::types::MediaSource;

/// What a staged value starts with in the body the plugin reads.
pub const PREFIX: &str = "wagate-upload:";

/// The media source a field's text stands for, when the host staged it.
pub fn source(text: &str) -> Option<MediaSource> {
    let id = text.trim().strip_prefix(PREFIX)?;
    (!id.is_empty()).then(|| MediaSource::Upload(id.to_string()))
}

/// The media source of a `multipart/form-data` file part's content: the staged
/// upload when the host replaced a large part with its reference (the manifest's
/// `file_parts`), else the bytes themselves.
pub fn part_source(data: &[u8]) -> MediaSource {
    std::str::from_utf8(data)
        .ok()
        .filter(|text| text.starts_with(PREFIX))
        .and_then(source)
        .unwrap_or_else(|| MediaSource::Bytes(data.to_vec()))
}

/// The media source a text field stands for, the way dialects accept media in JSON:
/// a staged upload, an `http(s)` URL (the host fetches it, never the plugin), base64
/// (whitespace ignored) or a `data:<type>;base64,` URL. `None` when it is none of
/// these or decodes to nothing.
pub fn text_source(text: &str) -> Option<MediaSource> {
    if let Some(staged) = source(text) {
        return Some(staged);
    }
    let value = text.trim();
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Some(MediaSource::Url(value.to_string()));
    }
    let data = match lower.starts_with("data:") {
        true => value.split_once(',').map_or("", |(_, d)| d),
        false => value,
    };
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    crate::base64::decode(&compact)
        .filter(|bytes| !bytes.is_empty())
        .map(MediaSource::Bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_field_is_an_upload_a_url_or_base64() {
        assert!(
            matches!(text_source(" wagate-upload:x "), Some(MediaSource::Upload(id)) if id == "x")
        );
        assert!(
            matches!(text_source("HTTPS://example.com/a.jpg"), Some(MediaSource::Url(u)) if u == "HTTPS://example.com/a.jpg")
        );
        assert!(matches!(text_source("aGk=\n"), Some(MediaSource::Bytes(b)) if b == b"hi"));
        assert!(
            matches!(text_source("data:image/jpeg;base64,aGk="), Some(MediaSource::Bytes(b)) if b == b"hi")
        );
        assert!(text_source("not base64!").is_none());
        assert!(text_source("").is_none());
    }

    #[test]
    fn a_file_part_is_its_upload_or_its_bytes() {
        assert!(
            matches!(part_source(b"wagate-upload:abc"), MediaSource::Upload(id) if id == "abc")
        );
        assert!(matches!(part_source(b"\x89PNG"), MediaSource::Bytes(b) if b == b"\x89PNG"));
        assert!(matches!(
            part_source(b" wagate-upload:abc"),
            MediaSource::Bytes(_)
        ));
    }

    #[test]
    fn only_a_reference_is_an_upload() {
        assert!(
            matches!(source("wagate-upload:abc"), Some(MediaSource::Upload(id)) if id == "abc")
        );
        assert!(source("wagate-upload:").is_none());
        assert!(source("iVBORw0KGgo=").is_none());
        assert!(source("https://example.com/a.png").is_none());
    }
}
