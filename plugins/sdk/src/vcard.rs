//! vCards for contact cards (`types::ContactCard.vcard`): the 3.0 text WhatsApp
//! clients write, whose `waid` parameter on the phone line gives the card its
//! "Message" button.

/// What a card says about one person.
#[derive(Clone, Copy, Debug, Default)]
pub struct Person<'a> {
    /// The name shown (`FN`, and `N`).
    pub full_name: &'a str,
    /// The phone number as written on the card.
    pub phone: &'a str,
    /// Their WhatsApp id (digits); `None`: the digits of `phone`.
    pub wuid: Option<&'a str>,
    /// `ORG`, when not empty.
    pub organization: Option<&'a str>,
    /// `EMAIL`, when not empty.
    pub email: Option<&'a str>,
    /// `URL`, when not empty.
    pub url: Option<&'a str>,
    /// The phone line's label (`X-ABLabel`), when not empty.
    pub phone_label: Option<&'a str>,
}

/// The person's vCard.
pub fn build(p: &Person<'_>) -> String {
    let digits: String = p.phone.chars().filter(char::is_ascii_digit).collect();
    let wuid = p.wuid.filter(|w| !w.is_empty()).unwrap_or(&digits);
    let name = p.full_name;
    let mut card = format!("BEGIN:VCARD\nVERSION:3.0\nN:{name}\nFN:{name}\n");
    let mut line = |key: &str, value: Option<&str>, suffix: &str| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            card.push_str(&format!("{key}:{v}{suffix}\n"));
        }
    };
    line("ORG", p.organization, ";");
    line("EMAIL", p.email, "");
    line("URL", p.url, "");
    card.push_str(&format!("item1.TEL;waid={wuid}:{}\n", p.phone));
    if let Some(label) = p.phone_label.filter(|l| !l.is_empty()) {
        card.push_str(&format!("item1.X-ABLabel:{label}\n"));
    }
    card.push_str("END:VCARD");
    card
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_carries_the_waid_and_only_the_fields_given() {
        let card = build(&Person {
            full_name: "Ana Lima",
            phone: "+55 11 99999-0000",
            email: Some("ana@example.com"),
            organization: Some(""),
            ..Person::default()
        });
        assert_eq!(
            card,
            "BEGIN:VCARD\nVERSION:3.0\nN:Ana Lima\nFN:Ana Lima\nEMAIL:ana@example.com\n\
             item1.TEL;waid=5511999990000:+55 11 99999-0000\nEND:VCARD"
        );
    }
}
