//! The real WhatsApp link: whatsapp-rust sessions, one per instance, whose keys live in
//! the gateway's own redb file.
//!
//! - [`store`]: the redb-backed implementation of whatsapp-rust's storage traits.

pub mod store;
