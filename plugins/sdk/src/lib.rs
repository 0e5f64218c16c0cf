//! The guest side of the wagate plugin contract.
//!
//! A plugin is a Rust crate built for `wasm32-wasip2` as a `cdylib`. It depends on this
//! crate with the feature of each world it implements (`auth`, `dialect`, `sink`),
//! implements that world's `Guest` trait and registers it with the world's export
//! macro:
//!
//! ```ignore
//! use wagate_plugin_sdk::dialect::{self, Guest};
//! use wagate_plugin_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl Guest for Hello {
//!     fn handle(req: HttpRequest, caller: Option<Principal>) -> HttpResponse {
//!         Router::new()
//!             .get("/hello/{instance}", |req, params| {
//!                 let name = params.get("instance").unwrap_or_default();
//!                 match core::connection_state(&InstanceRef::Name(name.to_string())) {
//!                     Ok(state) => json(200, &serde_json::json!({ "state": state_name(state) })),
//!                     Err(e) => core_error(&e),
//!                 }
//!             })
//!             .handle(&Request::new(req, caller))
//!     }
//!     fn render_event(_ev: Event) -> Option<Vec<u8>> { None }
//!     fn openapi() -> String { "{}".into() }
//! }
//!
//! wagate_plugin_sdk::export_dialect!(Hello);
//! ```
//!
//! The imported interfaces (`core`, `identity`, `http_out`, `config`, `cache`, `storage`,
//! `log`) are plain functions; a component only imports what it calls, and the host
//! refuses to load a plugin that calls an interface its manifest does not grant.

#![warn(missing_docs)]

extern crate self as wagate_plugin_sdk;

#[doc(hidden)]
pub use wit_bindgen;

pub mod http;
pub mod router;

/// Generated bindings of every interface a plugin may import (and the shared types).
#[allow(missing_docs, clippy::all)]
pub mod wit {
    wit_bindgen::generate!({
        path: "../../wit",
        inline: "
            package wagate:sdk;
            world imports {
                import wagate:plugin/types@0.1.0;
                import wagate:plugin/core@0.1.0;
                import wagate:plugin/identity@0.1.0;
                import wagate:plugin/http-out@0.1.0;
                import wagate:plugin/config@0.1.0;
                import wagate:plugin/cache@0.1.0;
                import wagate:plugin/storage@0.1.0;
                import wagate:plugin/log@0.1.0;
            }
        ",
        world: "wagate:sdk/imports",
        runtime_path: "wagate_plugin_sdk::wit_bindgen::rt",
        type_section_suffix: "wagate-sdk-imports",
        generate_unused_types: true,
        generate_all,
    });
}

/// The contract's shared types (`principal`, `http-request`, `instance`, `core-error`, ...).
pub mod types {
    pub use crate::wit::wagate::plugin::types::*;
}

/// The gateway's operations (`wit/core.wit`, interface `core`). Needs the `core` grant.
pub mod core {
    pub use crate::wit::wagate::plugin::core::*;
}

/// Resolve a presented secret to a principal. Needs the `identity` grant.
pub mod identity {
    pub use crate::wit::wagate::plugin::identity::*;
}

/// Outbound HTTP to the hosts the operator allowed. Needs the `http-out` grant.
pub mod http_out {
    pub use crate::wit::wagate::plugin::http_out::*;
}

/// The plugin's configuration. Needs the `config` grant.
pub mod config {
    pub use crate::wit::wagate::plugin::config::*;
}

/// A host-kept key-value cache that survives between requests. Needs the `cache` grant.
pub mod cache {
    pub use crate::wit::wagate::plugin::cache::*;
}

/// Durable per-instance key-value storage kept in the gateway's database (never
/// evicted; removed with the instance or the plugin's integration of it). Needs the
/// `storage` grant.
pub mod storage {
    pub use crate::wit::wagate::plugin::storage::*;
}

/// Logging into the host's log. Needs the `log` grant.
pub mod log {
    pub use crate::wit::wagate::plugin::log::{Level, log};

    /// Log at `info`.
    pub fn info(msg: &str) {
        log(Level::Info, msg)
    }
    /// Log at `warn`.
    pub fn warn(msg: &str) {
        log(Level::Warn, msg)
    }
    /// Log at `error`.
    pub fn error(msg: &str) {
        log(Level::Error, msg)
    }
    /// Log at `debug`.
    pub fn debug(msg: &str) {
        log(Level::Debug, msg)
    }
}

/// The `auth` world: export `authenticate`. Register with [`export_auth!`].
#[cfg(feature = "auth")]
#[allow(missing_docs, clippy::all)]
pub mod auth {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "wagate:plugin/auth@0.1.0",
        runtime_path: "wagate_plugin_sdk::wit_bindgen::rt",
        pub_export_macro: true,
        export_macro_name: "export_auth",
        default_bindings_module: "wagate_plugin_sdk::auth",
        with: {
            "wagate:plugin/types@0.1.0": crate::wit::wagate::plugin::types,
            "wagate:plugin/identity@0.1.0": crate::wit::wagate::plugin::identity,
            "wagate:plugin/http-out@0.1.0": crate::wit::wagate::plugin::http_out,
            "wagate:plugin/config@0.1.0": crate::wit::wagate::plugin::config,
            "wagate:plugin/cache@0.1.0": crate::wit::wagate::plugin::cache,
            "wagate:plugin/log@0.1.0": crate::wit::wagate::plugin::log,
        },
    });
}

/// The `dialect` world: export `handle`, `render-event`, `openapi`. Register with
/// [`export_dialect!`].
#[cfg(feature = "dialect")]
#[allow(missing_docs, clippy::all)]
pub mod dialect {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "wagate:plugin/dialect@0.1.0",
        runtime_path: "wagate_plugin_sdk::wit_bindgen::rt",
        pub_export_macro: true,
        export_macro_name: "export_dialect",
        default_bindings_module: "wagate_plugin_sdk::dialect",
        with: {
            "wagate:plugin/types@0.1.0": crate::wit::wagate::plugin::types,
            "wagate:plugin/core@0.1.0": crate::wit::wagate::plugin::core,
            "wagate:plugin/http-out@0.1.0": crate::wit::wagate::plugin::http_out,
            "wagate:plugin/config@0.1.0": crate::wit::wagate::plugin::config,
            "wagate:plugin/cache@0.1.0": crate::wit::wagate::plugin::cache,
            "wagate:plugin/storage@0.1.0": crate::wit::wagate::plugin::storage,
            "wagate:plugin/log@0.1.0": crate::wit::wagate::plugin::log,
        },
    });
}

/// The `sink` world: export `deliver`. Register with [`export_sink!`].
#[cfg(feature = "sink")]
#[allow(missing_docs, clippy::all)]
pub mod sink {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "wagate:plugin/sink@0.1.0",
        runtime_path: "wagate_plugin_sdk::wit_bindgen::rt",
        pub_export_macro: true,
        export_macro_name: "export_sink",
        default_bindings_module: "wagate_plugin_sdk::sink",
        with: {
            "wagate:plugin/types@0.1.0": crate::wit::wagate::plugin::types,
            "wagate:plugin/http-out@0.1.0": crate::wit::wagate::plugin::http_out,
            "wagate:plugin/config@0.1.0": crate::wit::wagate::plugin::config,
            "wagate:plugin/cache@0.1.0": crate::wit::wagate::plugin::cache,
            "wagate:plugin/storage@0.1.0": crate::wit::wagate::plugin::storage,
            "wagate:plugin/log@0.1.0": crate::wit::wagate::plugin::log,
        },
    });
}

#[cfg(feature = "auth")]
pub use auth::export_auth;
#[cfg(feature = "dialect")]
pub use dialect::export_dialect;
#[cfg(feature = "sink")]
pub use sink::export_sink;

/// Everything a typical plugin needs in scope.
pub mod prelude {
    pub use crate::core;
    pub use crate::http::{
        Request, core_error, core_error_status, header, json, json_error, state_name, text,
    };
    pub use crate::router::{Params, Router};
    pub use crate::types::{
        Capabilities, Chat, ConnectionState, CoreError, Event, Header, HttpRequest, HttpResponse,
        Instance, InstanceRef, Message, Principal,
    };
}
