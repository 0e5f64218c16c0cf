//! Host-side bindings of the WIT worlds (`wit/worlds.wit`).
//!
//! `auth` generates the shared interfaces (types, log, config, identity, http-out);
//! `dialect` adds `core` and `storage`; `sink` reuses all of them. Every import is `async` (host calls
//! may await core or the network) and `trappable` (a host-side failure can end the
//! guest's call instead of returning a made-up value).

/// The `auth` world: `authenticate`.
pub mod auth {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "auth",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

/// The `dialect` world: `handle`, `render-event`, `openapi`.
pub mod dialect {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "dialect",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "wagate:plugin/types": super::auth::wagate::plugin::types,
            "wagate:plugin/log": super::auth::wagate::plugin::log,
            "wagate:plugin/config": super::auth::wagate::plugin::config,
            "wagate:plugin/cache": super::auth::wagate::plugin::cache,
            "wagate:plugin/http-out": super::auth::wagate::plugin::http_out,
        },
    });
}

/// The `sink` world: `deliver`.
pub mod sink {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "sink",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "wagate:plugin/types": super::auth::wagate::plugin::types,
            "wagate:plugin/log": super::auth::wagate::plugin::log,
            "wagate:plugin/config": super::auth::wagate::plugin::config,
            "wagate:plugin/cache": super::auth::wagate::plugin::cache,
            "wagate:plugin/http-out": super::auth::wagate::plugin::http_out,
            "wagate:plugin/storage": super::dialect::wagate::plugin::storage,
        },
    });
}

pub use auth::wagate::plugin::{
    cache as wit_cache, config as wit_config, http_out, identity, log as wit_log, types,
};
pub use dialect::wagate::plugin::core as wit_core;
pub use dialect::wagate::plugin::storage as wit_storage;
