//! wagate: a self-hosted WhatsApp HTTP gateway whose dialects, auth schemes and
//! integrations are sandboxed WebAssembly plugins.
//!
//! Data flows one way: HTTP ([`server`]) -> auth plugin -> dialect plugin -> [`core`]
//! (authorize, then [`store`] + [`whatsapp`] link + [`events`] outbox) -> dialect.
// Every public item says what it is for (a crate cannot add its own lints on top of
// `[lints] workspace = true`, so this one is set here).
#![warn(missing_docs)]

pub mod client;
pub mod cluster;
pub mod config;
pub mod core;
pub mod events;
pub mod media;
pub mod metrics;
pub mod outbound;
pub mod plugin;
pub mod run;
pub mod server;
pub mod store;
pub mod util;
pub mod whatsapp;
