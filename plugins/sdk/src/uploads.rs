//! Media the host took out of a request body (the manifest's `[uploads]`).
//!
//! For the routes and fields a dialect lists, the host decodes a large base64 value
//! itself and puts `wagate-upload:<id>` in its place, so megabytes never cross into
//! the plugin's memory. A handler that reads such a field asks [`source`] first: a
//! reference becomes `MediaSource::Upload`, anything else is the plugin's to parse.

use crate::types::MediaSource;

/// What a staged value starts with in the body the plugin reads.
pub const PREFIX: &str = "wagate-upload:";

/// The media source a field's text stands for, when the host staged it.
pub fn source(text: &str) -> Option<MediaSource> {
    let id = text.trim().strip_prefix(PREFIX)?;
    (!id.is_empty()).then(|| MediaSource::Upload(id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
