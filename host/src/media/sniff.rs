//! What a byte string is: its MIME type from its first bytes (the `infer` crate's
//! magic-number table), from a file extension, and the extension a type is saved with.
//! A caller's or a URL's stated type is only a hint: a server that answers
//! `text/plain` for a JPEG, or `application/octet-stream` for everything, is common.

/// The MIME type the bytes' magic number says, if they have a known one.
pub fn from_bytes(bytes: &[u8]) -> Option<&'static str> {
    infer::get(bytes).map(|t| match t.mime_type() {
        // Opus in an Ogg file is `audio/ogg` with its codec (RFC 7845), as WhatsApp's
        // voice notes say; `infer`'s `audio/opus` names Opus over RTP.
        "audio/opus" => "audio/ogg; codecs=opus",
        other => other,
    })
}

/// The type of a file by its extension (case-insensitive); `application/octet-stream`
/// when unknown.
pub fn from_extension(ext: &str) -> &'static str {
    let ext = ext.to_ascii_lowercase();
    TABLE
        .iter()
        .find(|(e, _)| *e == ext)
        .map_or("application/octet-stream", |(_, m)| m)
}

/// The usual extension of a MIME type, for a download's file name; `bin` when unknown.
pub fn extension_of(mimetype: &str) -> &'static str {
    let base = essence(mimetype);
    TABLE
        .iter()
        .find(|(_, m)| *m == base)
        .map_or("bin", |(e, _)| e)
}

/// The MIME type without parameters, lowercased (`audio/ogg; codecs=opus` ->
/// `audio/ogg`).
pub fn essence(mimetype: &str) -> String {
    mimetype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The type to record for `bytes` a caller (or a URL's `Content-Type`) said were
/// `stated`: the sniffed type when the bytes have a known magic number and the stated
/// type is missing, generic or of another family; else the stated type.
pub fn resolve(stated: Option<&str>, bytes: &[u8]) -> String {
    let stated = stated.map(str::trim).filter(|s| !s.is_empty());
    let sniffed = from_bytes(bytes);
    match (stated, sniffed) {
        (Some(s), Some(sniffed)) => {
            let base = essence(s);
            let generic = matches!(
                base.as_str(),
                "application/octet-stream" | "binary/octet-stream" | "text/plain"
            ) || !base.contains('/');
            let same_family = base.split('/').next() == sniffed.split('/').next();
            if generic || !same_family {
                sniffed.to_string()
            } else {
                s.to_string()
            }
        }
        (Some(s), None) => s.to_string(),
        (None, Some(sniffed)) => sniffed.to_string(),
        (None, None) => "application/octet-stream".to_string(),
    }
}

/// Extensions and their types, the first row of a type being its usual extension.
const TABLE: &[(&str, &str)] = &[
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("mp4", "video/mp4"),
    ("3gp", "video/3gpp"),
    ("mov", "video/quicktime"),
    ("webm", "video/webm"),
    ("ogg", "audio/ogg"),
    ("opus", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("aac", "audio/aac"),
    ("amr", "audio/amr"),
    ("wav", "audio/wav"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    ("txt", "text/plain"),
    ("csv", "text/csv"),
    ("json", "application/json"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("bin", "application/octet-stream"),
];

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0";

    #[test]
    fn a_lying_or_generic_type_gives_way_to_the_bytes() {
        assert_eq!(resolve(Some("text/plain"), PNG), "image/png");
        assert_eq!(
            resolve(Some("application/octet-stream"), JPEG),
            "image/jpeg"
        );
        assert_eq!(resolve(Some("video/mp4"), PNG), "image/png");
        assert_eq!(resolve(None, PNG), "image/png");
    }

    #[test]
    fn a_plausible_type_is_kept() {
        // Same family: the caller's finer type (a codec parameter, say) stays.
        assert_eq!(resolve(Some("image/jpg"), JPEG), "image/jpg");
        assert_eq!(
            resolve(Some("application/pdf"), b"not magic"),
            "application/pdf"
        );
        assert_eq!(resolve(None, b"plain"), "application/octet-stream");
    }

    #[test]
    fn extensions_both_ways() {
        assert_eq!(from_extension("JPG"), "image/jpeg");
        assert_eq!(from_extension("weird"), "application/octet-stream");
        assert_eq!(extension_of("image/jpeg"), "jpg");
        assert_eq!(extension_of("audio/ogg; codecs=opus"), "ogg");
        assert_eq!(extension_of("x/unknown"), "bin");
    }
}
