//! One normalisation for numbers and JIDs, used by every operation and dialect.
//!
//! Accepted: a phone number (digits, optionally with `+`, spaces, dashes, dots or
//! parentheses, 8-15 digits with country code) -> `<digits>@s.whatsapp.net`;
//! `<digits>@s.whatsapp.net` (a `:device` suffix is dropped); `<digits>@lid`;
//! `<digits>[-<digits>]@g.us`; the legacy `@c.us` becomes `@s.whatsapp.net`.
//! Everything else is an `invalid` error that says what was expected.

use super::model::{CoreError, CoreResult};

const EXPECTED: &str = "expected a phone number with country code (5511999999999) or a JID (...@s.whatsapp.net, ...@lid, ...@g.us)";

/// The canonical JID for a number or JID, or an `invalid` error saying what was expected.
pub fn normalize(input: &str) -> CoreResult<String> {
    let s = input.trim();
    if s.is_empty() {
        return Err(CoreError::Invalid(format!("empty number; {EXPECTED}")));
    }
    let bad = || {
        CoreError::Invalid(format!(
            "`{}` is not a valid number or JID; {EXPECTED}",
            truncate(s)
        ))
    };
    match s.split_once('@') {
        None => {
            let digits: String = s
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
                .collect();
            let digits = digits.strip_prefix('+').unwrap_or(&digits);
            if (8..=15).contains(&digits.len()) && all_digits(digits) {
                Ok(format!("{digits}@s.whatsapp.net"))
            } else {
                Err(bad())
            }
        }
        Some((user, server)) => {
            let server = server.to_ascii_lowercase();
            match server.as_str() {
                "s.whatsapp.net" | "c.us" => {
                    let user = user.split_once(':').map_or(user, |(u, _device)| u);
                    if (5..=20).contains(&user.len()) && all_digits(user) {
                        Ok(format!("{user}@s.whatsapp.net"))
                    } else {
                        Err(bad())
                    }
                }
                "lid" => {
                    let user = user.split_once(':').map_or(user, |(u, _device)| u);
                    if (5..=25).contains(&user.len()) && all_digits(user) {
                        Ok(format!("{user}@lid"))
                    } else {
                        Err(bad())
                    }
                }
                "g.us" => {
                    let ok = match user.split_once('-') {
                        Some((a, b)) => {
                            all_digits(a) && all_digits(b) && !a.is_empty() && !b.is_empty()
                        }
                        None => (5..=25).contains(&user.len()) && all_digits(user),
                    };
                    if ok && user.len() <= 40 {
                        Ok(format!("{user}@g.us"))
                    } else {
                        Err(bad())
                    }
                }
                _ => Err(bad()),
            }
        }
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 64 {
        format!("{}...", s.chars().take(64).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn numbers_and_jids_normalise_one_way() {
        let cases = [
            ("5511999999999", "5511999999999@s.whatsapp.net"),
            ("+55 (11) 99999-9999", "5511999999999@s.whatsapp.net"),
            (
                "5511999999999@s.whatsapp.net",
                "5511999999999@s.whatsapp.net",
            ),
            (
                "5511999999999:12@s.whatsapp.net",
                "5511999999999@s.whatsapp.net",
            ),
            ("5511999999999@c.us", "5511999999999@s.whatsapp.net"),
            (
                "5511999999999@S.WhatsApp.Net",
                "5511999999999@s.whatsapp.net",
            ),
            ("123456789012345@lid", "123456789012345@lid"),
            ("120363025246125888@g.us", "120363025246125888@g.us"),
            (
                "5511999999999-1612345678@g.us",
                "5511999999999-1612345678@g.us",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn anything_else_is_a_clear_error() {
        for bad in [
            "",
            "   ",
            "abc",
            "123",
            "55119999999999999999",
            "x@s.whatsapp.net",
            "1@example.com",
            "12345@",
            "@g.us",
            "../etc@lid",
            "1\u{0}2@lid",
        ] {
            let err = normalize(bad).unwrap_err();
            assert_eq!(err.code(), "invalid", "{bad:?}");
        }
    }
}
