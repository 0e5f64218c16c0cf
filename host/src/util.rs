//! Small helpers shared across layers.

use sha2::{Digest, Sha256};

/// `e` and its sources, `: `-joined, for a log line or an operator's error message
/// (a source whose text the line already holds is not repeated: many errors quote
/// their cause).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// sha256 of a presented secret: the only form in which secrets are stored.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// sha256 of some bytes, lowercase hex (a media file's checksum).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new random secret: `prefix` + 32 bytes of OS randomness, base64url.
pub fn new_secret(prefix: &str) -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Hands the memory glibc's allocator keeps after a burst of frees (compiling the
/// plugins: ~90 MB of freed Cranelift state on a fresh data folder) back to the
/// system. No-op elsewhere than glibc.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's malloc_trim only walks the allocator's own free lists; it
        // is thread-safe (takes each arena's lock) and keeps `pad` = 0 bytes spare.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Constant-time equality for secrets of equal length.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Where an absolute `http(s)` URL points: scheme, host (lower case, no brackets) and
/// port (defaulted from the scheme). Secrets bound to a URL (an integration's API
/// token) may only go to the same origin, never to the same host over plain http.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// `https` rather than plain `http`: a secret bound to https never goes over http.
    pub https: bool,
    /// Host name or IP literal, lower case, IPv6 without brackets.
    pub host: String,
    /// Explicit port, or 80/443 from the scheme, so `:443` and no port compare equal.
    pub port: u16,
}

impl Origin {
    /// Parses an absolute `http(s)` URL; `None` for another scheme or no host.
    pub fn of(url: &str) -> Option<Origin> {
        let uri: http::Uri = url.parse().ok()?;
        let (https, default_port) = match uri.scheme_str()? {
            "http" => (false, 80),
            "https" => (true, 443),
            _ => return None,
        };
        Some(Origin {
            https,
            host: uri.host()?.trim_matches(['[', ']']).to_ascii_lowercase(),
            port: uri.port_u16().unwrap_or(default_port),
        })
    }
}

#[cfg(test)]
mod origin_tests {
    use super::Origin;

    #[test]
    fn origins_differ_by_scheme_host_or_port_only() {
        let o = |u: &str| Origin::of(u).unwrap();
        assert_eq!(
            o("https://CW.example/api"),
            o("https://cw.example:443/other")
        );
        assert_ne!(o("https://cw.example"), o("http://cw.example:443"));
        assert_ne!(o("http://cw.example"), o("http://cw.example:8080"));
        assert_eq!(o("http://[::1]:9/").host, "::1");
        assert!(Origin::of("ftp://cw.example").is_none());
        assert!(Origin::of("not a url").is_none());
    }
}
