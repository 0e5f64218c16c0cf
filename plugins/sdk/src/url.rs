//! URLs: percent-encoding and the check a dialect makes before handing a URL to core.

pub use crate::http::percent_decode as decode;

/// Percent-encode `s` for a path segment or a query value: everything but RFC 3986's
/// unreserved characters (`A-Z a-z 0-9 - _ . ~`) becomes `%XX` (UTF-8 bytes), so `+`,
/// `&`, `/`, `?`, `#` and spaces survive the trip. The inverse of [`decode`].
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}

/// Whether `url` is an absolute `http://` or `https://` URL with a host (what core's
/// webhooks and integrations accept): no whitespace or control characters anywhere, a
/// non-empty host.
pub fn is_http(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.rsplit_once(':') {
        // A port is digits; `[::1]` keeps its colons inside the brackets.
        Some((h, port)) if !host.ends_with(']') => {
            if !port.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            h
        }
        _ => host,
    };
    !host.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_all_but_unreserved() {
        assert_eq!(encode("+5511 9@x"), "%2B5511%209%40x");
        assert_eq!(encode("a b/c?d=e&f#g"), "a%20b%2Fc%3Fd%3De%26f%23g");
        assert_eq!(encode("Az09-_.~"), "Az09-_.~");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn decode_inverts_encode() {
        for s in ["+5511 9@x", "a b/c?d=e&f#g", "é ü", "100%"] {
            assert_eq!(decode(&encode(s)), s);
        }
    }

    #[test]
    fn http_urls() {
        for good in [
            "http://127.0.0.1:3000",
            "https://chat.example.com/",
            "https://chat.example.com/a?b=c#d",
            "http://user:pw@host:8080/x",
            "http://[::1]:9000/hook",
            "http://localhost",
        ] {
            assert!(is_http(good), "{good}");
        }
        for bad in [
            "ftp://x",
            "http://",
            "http:///path",
            "chat.example.com",
            "https://exa mple.com",
            "http://host:port/",
            "http://host/\n",
            "",
        ] {
            assert!(!is_http(bad), "{bad:?}");
        }
    }
}
