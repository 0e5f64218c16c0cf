//! whatsapp-rust's storage traits on the gateway's redb file (being built: issue 9).
