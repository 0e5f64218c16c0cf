//! Base64 (RFC 4648): the standard alphabet with padding (data URLs, JSON bodies) and
//! the URL-safe alphabet without padding (JWTs).

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Standard base64 with `=` padding (`foo` -> `Zm9v`, `f` -> `Zg==`).
pub fn encode(bytes: &[u8]) -> String {
    encode_with(bytes, STANDARD, true)
}

/// URL-safe base64 without padding (`-` and `_` for `+` and `/`), as in JWTs.
pub fn encode_url(bytes: &[u8]) -> String {
    encode_with(bytes, URL_SAFE, false)
}

/// Decode standard base64; padding is optional. `None` for any other character, or a
/// length no encoder writes.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    decode_with(s, STANDARD)
}

/// Decode URL-safe base64 without padding, as JWTs (RFC 7515) write it. `None` for any
/// other character (`=` included), or a length no encoder writes.
pub fn decode_url(s: &str) -> Option<Vec<u8>> {
    if s.contains('=') {
        return None;
    }
    decode_with(s, URL_SAFE)
}

fn encode_with(bytes: &[u8], table: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        // A chunk of k bytes gives k + 1 characters.
        for i in 0..=chunk.len() {
            out.push(table[(n >> (18 - 6 * i)) as usize & 63] as char);
        }
        if pad {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

fn decode_with(s: &str, table: &[u8; 64]) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    let unpadded = s
        .strip_suffix(b"==")
        .or_else(|| s.strip_suffix(b"="))
        .unwrap_or(s);
    // Padding only ever completes a group of four.
    if unpadded.len() != s.len() && !s.len().is_multiple_of(4) {
        return None;
    }
    if unpadded.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(unpadded.len() * 3 / 4);
    for chunk in unpadded.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = table.iter().position(|t| t == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        // k characters carry k - 1 whole bytes; the bits left over must be zero, so
        // every byte string has exactly one encoding (RFC 4648, 3.5).
        let bytes = chunk.len() - 1;
        if bytes < 3 && n & (0xff_ffff >> (8 * bytes)) != 0 {
            return None;
        }
        for i in 0..bytes {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4648, section 10.
    const VECTORS: &[(&str, &str)] = &[
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn standard_vectors() {
        for (plain, coded) in VECTORS {
            assert_eq!(encode(plain.as_bytes()), *coded);
            assert_eq!(decode(coded).as_deref(), Some(plain.as_bytes()));
            assert_eq!(
                decode(coded.trim_end_matches('=')).as_deref(),
                Some(plain.as_bytes())
            );
        }
    }

    #[test]
    fn url_safe() {
        let bytes = [0xfb, 0xff, 0xbf, 0x01];
        assert_eq!(encode(&bytes), "+/+/AQ==");
        assert_eq!(encode_url(&bytes), "-_-_AQ");
        assert_eq!(decode_url("-_-_AQ").as_deref(), Some(&bytes[..]));
        assert_eq!(
            decode_url("+/+/AQ"),
            None,
            "the standard alphabet is not URL-safe"
        );
        assert_eq!(decode("-_-_AQ"), None);
        assert_eq!(decode_url("-_-_AQ=="), None, "JWTs carry no padding");
    }

    #[test]
    fn refuses_garbage() {
        // `Zh==` decodes to `f` only when its leftover bits are ignored.
        for bad in [
            "Z", "Zm9vY", "Zm9v!", "Zg=", "Z===", "Zm 9v", "Zh==", "Zm9=",
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn round_trips_every_length() {
        let data: Vec<u8> = (0..=255).collect();
        for n in 0..64 {
            let d = &data[n * 3 % 200..][..n];
            assert_eq!(decode(&encode(d)).as_deref(), Some(d));
            assert_eq!(decode_url(&encode_url(d)).as_deref(), Some(d));
        }
    }
}
