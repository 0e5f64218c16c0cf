//! wagate: a self-hosted WhatsApp HTTP gateway whose dialects, auth schemes and
//! integrations are sandboxed WebAssembly plugins.
//!
//! Data flows one way: HTTP ([`server`]) -> auth plugin -> dialect plugin -> [`core`]
//! (authorize, then [`store`] + [`whatsapp`] link + [`events`] outbox) -> dialect.

pub mod client;
pub mod config;
pub mod core;
pub mod events;
pub mod metrics;
pub mod outbound;
pub mod plugin;
pub mod run;
pub mod server;
pub mod store;
pub mod util;
pub mod whatsapp;
