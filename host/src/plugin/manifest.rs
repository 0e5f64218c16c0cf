//! Plugin manifests (`plugin.toml`): what a plugin is, which worlds it implements, what
//! it is granted, and its default configuration.
//!
//! ```toml
//! name = "hello"                 # [a-z0-9][a-z0-9_-]*, unique in a deployment
//! version = "0.1.0"
//! worlds = ["dialect"]           # auth | dialect | sink (several if it exports several)
//! sha256 = "9f2c..."             # hex sha256 of the .wasm; checked when present
//! wasm = "hello.wasm"            # file plugins: path relative to this manifest
//! default_auth = ["ryze-token"]  # dialects: auth plugins of its default mount
//! default_mount = "/hello"       # dialects: where it mounts when the deployment has no
//!                                # [[plugins.mount]] table (absent: not mounted)
//! default_streams = ["/hello/ws/{instance}"]  # dialects: WebSocket event streams it
//!                                # renders when the deployment has no [[streams]] table
//! instance_tokens_may_delete = false  # auth plugins: an instance token resolved here
//!                                # may delete its own instance (logout is always allowed)
//!
//! [auth_cache]                   # auth plugins: the host may reuse this plugin's allow
//! vary = ["hello-key"]           # for requests with the same values of these headers
//! ttl_ms = 10000                 # for at most this long (1..=60000); only an allow whose
//!                                # call resolved a stored credential through `identity`,
//!                                # dropped at once by any credential change, and only
//!                                # when every auth plugin of the mount declares it
//!                                # (see `plugin::auth_cache`)
//!
//! [[credential_kinds]]           # auth plugins: a kind of credential the admin API and
//! name = "hello-key"             # `wagate token create --kind` mint; [a-z0-9-]+
//! prefix = "hello_"              # token prefix, [a-z0-9]+_ , unique in a deployment
//! capabilities = ["read", "send"] # what a new credential of this kind gets by default
//!
//! [[env_credentials]]            # a key the operator sets in the environment, registered
//! env = "HELLO_API_KEY"          # at start as a credential of `kind` (not WAGATE_*)
//! kind = "hello-key"             # a kind this manifest declares
//! org = "default"                # the org it belongs to (created if missing) ...
//! org_env = "HELLO_ORG"          # ... unless this variable names another
//!
//! [cors_env]                     # dialects: variables of the environment that set the
//! origins = "HELLO_CORS_ORIGIN"  # host's CORS policy while this dialect is mounted
//! methods = "HELLO_CORS_METHODS" # (comma-separated lists; `*` for any), as the API the
//! headers = "HELLO_CORS_HEADERS" # dialect mirrors reads them; every key optional, none
//! credentials = "HELLO_CORS_CREDENTIALS"  # may be WAGATE_* (see `server::cors`)
//! max_age = "HELLO_CORS_MAX_AGE"
//!
//! [socketio]                     # dialects: the host serves Socket.IO at /socket.io/ for
//! enabled_env = "HELLO_WS"       # this dialect (its auth, its render-event) when this
//! global_events_env = "HELLO_WS_GLOBAL"  # variable is `true` (see `server::socketio`)
//!
//! [uploads]                      # dialects: media routes (POST, paths under the mount)
//! routes = ["/send/{instance}"]  # whose bodies may be as large as [media] max_bytes in
//! fields = ["/media"]            # base64; these JSON fields' large base64 values reach
//!                                # the plugin as `wagate-upload:<id>` (SDK `uploads`)
//! too_large_body = '{"error":"{message}"}'  # the 413's body (default: [errors] body)
//!
//! [grants]
//! imports = ["core", "log", "config"]   # core | identity | http-out | config | log | cache | storage
//! memory_mib = 32                # linear-memory cap (default 32)
//! deadline_ms = 100              # guest time per call (default 100); host calls excluded
//! core_timeout_ms = 10000        # per `core`/`identity` host call (default 10 s)
//! inbound_secrets = false        # with "identity": resolve integrations' inbound secrets
//!                                # and only those (url-token); default: all but those
//!
//! [grants.http_out]              # only with "http-out" in imports
//! hosts = ["api.example.com", "127.0.0.1:8080"]   # host or host:port (port 80 if absent)
//! timeout_ms = 10000             # cap on a request's own timeout
//! max_body_bytes = 1048576       # request and response body cap
//!
//! [grants.cache]                 # only with "cache" in imports
//! max_entries = 256              # oldest stored evicted first past either bound
//! max_bytes = 1048576
//!
//! [config]                       # read by the plugin through the `config` interface
//! greeting = "hi"
//!
//! [errors]                       # the 5xx the host answers when this plugin fails
//! status = 500
//! content_type = "application/json"
//! body = '{"error":{"code":"{code}","message":"{message}"}}'
//! ```
//!
//! `{code}`, `{message}` and `{status}` in the error body are replaced (JSON-escaped),
//! so a dialect's failures keep its own envelope.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail, ensure};
use serde::Deserialize;

/// Highest memory cap a manifest or deployment may grant, in MiB (the pooling allocator
/// reserves this much address space per slot).
pub const MAX_MEMORY_MIB: u32 = 256;
/// Default linear-memory cap, in MiB.
pub const DEFAULT_MEMORY_MIB: u32 = 32;
/// Default guest-time deadline per call, in milliseconds.
pub const DEFAULT_DEADLINE_MS: u64 = 100;
/// Default timeout of one `core` or `identity` host call, in milliseconds.
pub const DEFAULT_CORE_TIMEOUT_MS: u64 = 10_000;

/// A world of `wit/worlds.wit` a plugin implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// Exports `authenticate`.
    Auth,
    /// Exports `handle`, `render-event`, `openapi`.
    Dialect,
    /// Exports `deliver`.
    Sink,
}

impl World {
    /// The world's WIT name.
    pub fn as_str(self) -> &'static str {
        match self {
            World::Auth => "auth",
            World::Dialect => "dialect",
            World::Sink => "sink",
        }
    }
}

/// An interface of the contract a plugin may be granted (and so import).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grant {
    /// `wagate:plugin/core`: the gateway's operations, as the request's principal.
    Core,
    /// `wagate:plugin/identity`: resolve secrets to principals.
    Identity,
    /// `wagate:plugin/http-out`: outbound HTTP to allow-listed hosts.
    HttpOut,
    /// `wagate:plugin/config`: the plugin's configuration.
    Config,
    /// `wagate:plugin/log`: the host's log.
    Log,
    /// `wagate:plugin/cache`: a host-kept key-value cache.
    Cache,
    /// `wagate:plugin/storage`: durable per-instance key-value storage.
    Storage,
}

impl Grant {
    /// Every grant.
    pub const ALL: [Grant; 7] = [
        Grant::Core,
        Grant::Identity,
        Grant::HttpOut,
        Grant::Config,
        Grant::Log,
        Grant::Cache,
        Grant::Storage,
    ];

    /// The interface's name inside the `wagate:plugin` package.
    pub fn interface(self) -> &'static str {
        match self {
            Grant::Core => "core",
            Grant::Identity => "identity",
            Grant::HttpOut => "http-out",
            Grant::Config => "config",
            Grant::Log => "log",
            Grant::Cache => "cache",
            Grant::Storage => "storage",
        }
    }

    /// The grant an import name (`wagate:plugin/core@0.1.0`) asks for; `None` for
    /// imports outside the granted interfaces (`types` needs no grant).
    pub fn from_import(name: &str) -> Option<Grant> {
        let rest = name.strip_prefix("wagate:plugin/")?;
        let iface = rest.split('@').next().unwrap_or(rest);
        Grant::ALL.into_iter().find(|g| g.interface() == iface)
    }
}

/// A plugin manifest. See the module docs for the TOML shape.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique name; mounts and the deployment config refer to the plugin by it.
    pub name: String,
    /// The plugin's own version (shown in logs and `/metrics`).
    pub version: String,
    /// One-line description.
    #[serde(default)]
    pub description: Option<String>,
    /// The worlds it implements.
    pub worlds: Vec<World>,
    /// Hex sha256 of the .wasm file; the load fails when it does not match.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Path of the .wasm, relative to the manifest (file plugins).
    #[serde(default)]
    pub wasm: Option<PathBuf>,
    /// For dialects: the auth plugins guarding the dialect's default mount.
    #[serde(default)]
    pub default_auth: Vec<String>,
    /// For dialects: the prefix of its default mount (none: not mounted by default).
    #[serde(default)]
    pub default_mount: Option<String>,
    /// For dialects: stream routes (`{instance}` once) it renders by default.
    #[serde(default)]
    pub default_streams: Vec<String>,
    /// Credential kinds this plugin brings (auth plugins).
    #[serde(default)]
    pub credential_kinds: Vec<CredentialKindDecl>,
    /// Keys the host registers from the environment at start.
    #[serde(default)]
    pub env_credentials: Vec<EnvCredential>,
    /// For auth plugins: an instance token this plugin resolves may delete its own
    /// instance (Evolution's guard lets an instance's token reach every route of its
    /// instance; RyzeAPI refuses it). Core decides on it; default `false`.
    #[serde(default)]
    pub instance_tokens_may_delete: bool,
    /// For auth plugins: when the host may reuse this plugin's outcome.
    #[serde(default)]
    pub auth_cache: Option<AuthCacheDecl>,
    /// For dialects: environment variables that set the host's CORS policy while the
    /// dialect is mounted (Evolution's `CORS_ORIGIN`, ...).
    #[serde(default)]
    pub cors_env: CorsEnv,
    /// For dialects: the host serves Socket.IO for this dialect (Evolution's websocket
    /// integration), switched by the variables named here.
    #[serde(default)]
    pub socketio: Option<SocketIoDecl>,
    /// For dialects: the routes whose bodies carry media, and the fields the host
    /// stages out of them (see [`UploadRoutes`]).
    #[serde(default)]
    pub uploads: UploadRoutes,
    /// For dialects: environment variables that configure a message broker while the
    /// dialect is mounted (Evolution's `RABBITMQ_*`, `NATS_*`), by broker name.
    #[serde(default)]
    pub broker_env: BTreeMap<String, BrokerEnv>,
    /// What the plugin may use.
    #[serde(default)]
    pub grants: Grants,
    /// Default configuration (values may be strings, numbers or booleans).
    #[serde(default)]
    pub config: BTreeMap<String, toml::Value>,
    /// The response the host answers when the plugin fails.
    #[serde(default)]
    pub errors: ErrorShape,
}

/// A credential kind a plugin declares (`[[credential_kinds]]`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialKindDecl {
    /// The kind's name (`ryze-account`).
    pub name: String,
    /// Its tokens' prefix (`ryze_`).
    pub prefix: String,
    /// Capability names a new credential gets when its creator names none.
    pub capabilities: Vec<String>,
    /// What it is for (shown by `wagate plugin` listings).
    #[serde(default)]
    pub description: Option<String>,
}

/// An auth plugin's promise that its `allow` depends only on the values of `vary`
/// headers and on the stored credentials it resolves through `identity`
/// (`[auth_cache]`): the host may then reuse it for up to `ttl_ms`, dropping it at
/// the first credential change (see `plugin::auth_cache`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthCacheDecl {
    /// The request headers the outcome depends on (any case).
    pub vary: Vec<String>,
    /// The longest an outcome is reused, in milliseconds (1 to 60,000).
    pub ttl_ms: u64,
}

/// The longest `[auth_cache] ttl_ms` a manifest may declare.
pub const AUTH_CACHE_MAX_TTL_MS: u64 = 60_000;

/// A key the host reads from the environment at start and keeps registered as a
/// credential (`[[env_credentials]]`), as Evolution API does with
/// `AUTHENTICATION_API_KEY`. A changed value replaces the old key.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvCredential {
    /// The variable holding the key.
    pub env: String,
    /// The kind it is registered as (declared by the same manifest).
    pub kind: String,
    /// The org it belongs to.
    #[serde(default = "default_org")]
    pub org: String,
    /// A variable that, when set, names the org instead of `org`.
    #[serde(default)]
    pub org_env: Option<String>,
}

/// The environment variables a dialect reads its CORS policy from (`[cors_env]`), so
/// a deployment that sets them for the API the dialect mirrors keeps working. The host
/// reads them only while the dialect is mounted; each names one setting of
/// `server::cors`, and an unset or empty variable leaves that setting alone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsEnv {
    /// Allowed origins, comma-separated; `*` for any.
    pub origins: Option<String>,
    /// Allowed methods, comma-separated.
    pub methods: Option<String>,
    /// Allowed request headers, comma-separated.
    pub headers: Option<String>,
    /// `true` to allow credentials (cookies, `Authorization`).
    pub credentials: Option<String>,
    /// How long a browser may cache a preflight, in seconds.
    pub max_age: Option<String>,
}

impl CorsEnv {
    /// The variables named, in a fixed order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        [
            &self.origins,
            &self.methods,
            &self.headers,
            &self.credentials,
            &self.max_age,
        ]
        .into_iter()
        .filter_map(|v| v.as_deref())
    }
}

/// The environment variables that switch the host's Socket.IO server for a dialect
/// (`[socketio]`), as the API the dialect mirrors names them (Evolution's
/// `WEBSOCKET_ENABLED`, `WEBSOCKET_GLOBAL_EVENTS`). Each holds `true` or `false`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketIoDecl {
    /// `true`: serve Socket.IO (with the per-instance namespaces).
    pub enabled_env: Option<String>,
    /// `true`: also emit every event on the main namespace `/` (global mode).
    pub global_events_env: Option<String>,
}

impl SocketIoDecl {
    /// The variables named.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        [&self.enabled_env, &self.global_events_env]
            .into_iter()
            .filter_map(|v| v.as_deref())
    }
}

/// The environment variables that configure one broker for a dialect
/// (`[broker_env.<name>]`), as the API the dialect mirrors reads them; see
/// `events::brokers::config` for what each becomes. The broker exists when `enabled`
/// is `true` and `uri` is set; the dialect renders its global deliveries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerEnv {
    /// `nats`, `rabbitmq` or `sqs`.
    pub transport: String,
    /// `true` turns the broker on (`RABBITMQ_ENABLED`).
    pub enabled: String,
    /// The server's URI (`RABBITMQ_URI`); SQS: an endpoint, optional (its region names
    /// AWS's).
    pub uri: String,
    /// RabbitMQ: the exchange of global deliveries (`RABBITMQ_EXCHANGE_NAME`).
    #[serde(default)]
    pub exchange: Option<String>,
    /// The exchange when `exchange` is unset or empty.
    #[serde(default)]
    pub default_exchange: Option<String>,
    /// `true`: every instance's events go to the broker (`RABBITMQ_GLOBAL_ENABLED`).
    #[serde(default)]
    pub global_enabled: Option<String>,
    /// Prefix of global subjects / queue names (`RABBITMQ_PREFIX_KEY`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Prefix of the per-event switches of global deliveries (`RABBITMQ_EVENTS_`):
    /// `<prefix><EVENT>=true` selects the event as the dialect names it upper-cased.
    #[serde(default)]
    pub events_prefix: Option<String>,
    /// The prefix when `prefix` is unset or empty (SQS's `global`).
    #[serde(default)]
    pub default_prefix: Option<String>,
    /// SQS: the region (`SQS_REGION`), required when enabled.
    #[serde(default)]
    pub region: Option<String>,
    /// SQS: the access key (`SQS_ACCESS_KEY_ID`).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// SQS: the secret key (`SQS_SECRET_ACCESS_KEY`).
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// SQS: `true` sends global deliveries to one queue
    /// (`SQS_GLOBAL_FORCE_SINGLE_QUEUE`).
    #[serde(default)]
    pub single_queue: Option<String>,
    /// RabbitMQ: the largest frame the connection asks for (`RABBITMQ_FRAME_MAX`).
    #[serde(default)]
    pub frame_max: Option<String>,
    /// Kafka: the client id (`KAFKA_CLIENT_ID`).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Kafka: partitions of created topics (`KAFKA_NUM_PARTITIONS`).
    #[serde(default)]
    pub partitions: Option<String>,
    /// Kafka: replication factor of created topics (`KAFKA_REPLICATION_FACTOR`).
    #[serde(default)]
    pub replication_factor: Option<String>,
    /// Kafka: `true` logs in with SASL (`KAFKA_SASL_ENABLED`).
    #[serde(default)]
    pub sasl_enabled: Option<String>,
    /// Kafka: `plain`, `scram-sha-256` or `scram-sha-512` (`KAFKA_SASL_MECHANISM`).
    #[serde(default)]
    pub sasl_mechanism: Option<String>,
    /// Kafka: the SASL username (`KAFKA_SASL_USERNAME`).
    #[serde(default)]
    pub sasl_username: Option<String>,
    /// Kafka: the SASL password (`KAFKA_SASL_PASSWORD`).
    #[serde(default)]
    pub sasl_password: Option<String>,
    /// Kafka: `true` connects with TLS (`KAFKA_SSL_ENABLED`).
    #[serde(default)]
    pub tls_enabled: Option<String>,
    /// Kafka: `false` accepts any broker certificate (`KAFKA_SSL_REJECT_UNAUTHORIZED`).
    #[serde(default)]
    pub tls_verify: Option<String>,
    /// Kafka: a CA to trust, PEM text or a file (`KAFKA_SSL_CA`).
    #[serde(default)]
    pub tls_ca: Option<String>,
    /// Kafka: a client certificate, PEM text or a file (`KAFKA_SSL_CERT`).
    #[serde(default)]
    pub tls_cert: Option<String>,
    /// Kafka: the client certificate's key, PEM text or a file (`KAFKA_SSL_KEY`).
    #[serde(default)]
    pub tls_key: Option<String>,
    /// The URI when `uri` is unset or empty (Kafka's `localhost:9092`).
    #[serde(default)]
    pub default_uri: Option<String>,
    /// Variables of the product that the gateway does not honour: `true` in one of
    /// them refuses the start rather than ignoring what it asks (`KAFKA_SASL_ENABLED`).
    #[serde(default)]
    pub refuse_when_true: Vec<String>,
}

impl BrokerEnv {
    /// The variables named (prefixes included).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        [
            &self.exchange,
            &self.global_enabled,
            &self.prefix,
            &self.events_prefix,
            &self.region,
            &self.access_key_id,
            &self.secret_access_key,
            &self.single_queue,
            &self.frame_max,
            &self.client_id,
            &self.partitions,
            &self.replication_factor,
            &self.sasl_enabled,
            &self.sasl_mechanism,
            &self.sasl_username,
            &self.sasl_password,
            &self.tls_enabled,
            &self.tls_verify,
            &self.tls_ca,
            &self.tls_cert,
            &self.tls_key,
        ]
        .into_iter()
        .filter_map(|v| v.as_deref())
        .chain([self.enabled.as_str(), self.uri.as_str()])
        .chain(self.refuse_when_true.iter().map(String::as_str))
    }
}

/// A dialect's media routes (`[uploads]`). A `POST` to one of them may carry a body up
/// to `[media] max_bytes` as base64 (not just the server's `max_body_bytes`), and each
/// listed field whose value is large base64 (or a `data:` URL of it) is decoded by the
/// host and replaced with a `wagate-upload:<id>` reference before the plugin reads the
/// body (see `core::uploads`), so a file never has to fit in the plugin's memory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRoutes {
    /// Paths under the mount, `{name}` matching one segment
    /// (`/message/sendMedia/{instanceName}`).
    #[serde(default)]
    pub routes: Vec<String>,
    /// JSON pointers of the fields to stage (`/media`, `/media/data`).
    #[serde(default)]
    pub fields: Vec<String>,
    /// Field names of the `multipart/form-data` file parts to stage (`file`): a large
    /// part's content becomes the reference, its headers stay.
    #[serde(default)]
    pub file_parts: Vec<String>,
    /// Whether a `data:<type>;base64,` URL in those fields is staged too (RyzeAPI
    /// accepts one; Evolution does not, and its plugin answers such a value itself).
    #[serde(default)]
    pub data_urls: bool,
    /// The body of the 413 a too-large body gets, in the dialect's shape (`{message}`
    /// replaced, JSON-escaped); absent: the `[errors]` body with status 413.
    #[serde(default)]
    pub too_large_body: Option<String>,
}

impl UploadRoutes {
    /// Whether `path` (under the mount) is one of the routes.
    pub fn matches(&self, path: &str) -> bool {
        self.routes.iter().any(|route| {
            let mut want = route.split('/');
            let mut got = path.split('/');
            loop {
                match (want.next(), got.next()) {
                    (None, None) => return true,
                    (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') => {
                        if g.is_empty() {
                            return false;
                        }
                    }
                    (Some(w), Some(g)) if w == g => {}
                    _ => return false,
                }
            }
        })
    }
}

fn default_org() -> String {
    "default".into()
}

/// What a plugin is granted.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Grants {
    /// Interfaces it may import.
    pub imports: Vec<Grant>,
    /// Linear-memory cap in MiB.
    pub memory_mib: u32,
    /// Guest time per call in milliseconds (time spent in host calls not counted).
    pub deadline_ms: u64,
    /// Timeout of one `core`/`identity` host call.
    pub core_timeout_ms: u64,
    /// Outbound HTTP settings (with the `http-out` import).
    pub http_out: HttpOutGrant,
    /// Cache bounds (with the `cache` import).
    pub cache: CacheGrant,
    /// With the `identity` import: resolve integrations' inbound secrets, and only
    /// those (the auth plugin in front of a sink's inbound route, `url-token`). Every
    /// other auth plugin resolves every credential but those.
    pub inbound_secrets: bool,
}

/// Bounds of a plugin's host-kept cache.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheGrant {
    /// Most entries kept.
    pub max_entries: usize,
    /// Most bytes kept (keys + values).
    pub max_bytes: usize,
}

impl Default for CacheGrant {
    fn default() -> Self {
        Self {
            max_entries: 256,
            max_bytes: 1 << 20,
        }
    }
}

impl Default for Grants {
    fn default() -> Self {
        Self {
            imports: Vec::new(),
            memory_mib: DEFAULT_MEMORY_MIB,
            deadline_ms: DEFAULT_DEADLINE_MS,
            core_timeout_ms: DEFAULT_CORE_TIMEOUT_MS,
            http_out: HttpOutGrant::default(),
            cache: CacheGrant::default(),
            inbound_secrets: false,
        }
    }
}

impl Grants {
    /// Whether `grant` is among the granted imports.
    pub fn allows(&self, grant: Grant) -> bool {
        self.imports.contains(&grant)
    }
}

/// Outbound HTTP grant.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpOutGrant {
    /// Reachable hosts: `host` (port 80 for http, 443 for https) or `host:port`.
    pub hosts: Vec<String>,
    /// Upper bound of a request's timeout, in milliseconds.
    pub timeout_ms: u64,
    /// Request and response body cap, in bytes.
    pub max_body_bytes: usize,
}

impl Default for HttpOutGrant {
    fn default() -> Self {
        Self {
            hosts: Vec::new(),
            timeout_ms: 10_000,
            max_body_bytes: 1 << 20,
        }
    }
}

/// The response answered when the plugin fails (trap, deadline, memory cap,
/// malformed output).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ErrorShape {
    /// HTTP status (500..=599).
    pub status: u16,
    /// `content-type` of the body.
    pub content_type: String,
    /// Body template; `{code}`, `{message}`, `{status}` are substituted.
    pub body: String,
}

impl Default for ErrorShape {
    fn default() -> Self {
        Self {
            status: 500,
            content_type: "application/json".into(),
            body: r#"{"error":{"code":"{code}","message":"{message}"}}"#.into(),
        }
    }
}

impl ErrorShape {
    /// The body for one failure: placeholders replaced, values JSON-string-escaped.
    pub fn render(&self, code: &str, message: &str) -> Vec<u8> {
        let esc = |s: &str| {
            let quoted = serde_json::to_string(s).unwrap_or_default();
            quoted[1..quoted.len().saturating_sub(1).max(1)].to_string()
        };
        self.body
            .replace("{code}", &esc(code))
            .replace("{message}", &esc(message))
            .replace("{status}", &self.status.to_string())
            .into_bytes()
    }
}

impl Manifest {
    /// Parse and validate a manifest.
    pub fn parse(text: &str) -> anyhow::Result<Manifest> {
        let m: Manifest = toml::from_str(text).context("parsing plugin manifest")?;
        m.validate()?;
        Ok(m)
    }

    /// Check names, limits and consistency.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            valid_name(&self.name),
            "plugin name `{}` must match [a-z0-9][a-z0-9_-]*",
            self.name
        );
        ensure!(
            !self.version.trim().is_empty(),
            "plugin `{}`: version is empty",
            self.name
        );
        ensure!(
            !self.worlds.is_empty(),
            "plugin `{}`: `worlds` is empty",
            self.name
        );
        if let Some(sha) = &self.sha256 {
            ensure!(
                sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "plugin `{}`: sha256 must be 64 hex digits",
                self.name
            );
        }
        let g = &self.grants;
        ensure!(
            (1..=MAX_MEMORY_MIB).contains(&g.memory_mib),
            "plugin `{}`: memory_mib must be 1..={MAX_MEMORY_MIB}",
            self.name
        );
        ensure!(
            (1..=60_000).contains(&g.deadline_ms),
            "plugin `{}`: deadline_ms must be 1..=60000",
            self.name
        );
        ensure!(
            g.core_timeout_ms >= 1,
            "plugin `{}`: core_timeout_ms must be positive",
            self.name
        );
        if !g.http_out.hosts.is_empty() && !g.allows(Grant::HttpOut) {
            bail!(
                "plugin `{}`: grants.http_out.hosts given but `http-out` is not in grants.imports",
                self.name
            );
        }
        for h in &g.http_out.hosts {
            ensure!(
                !h.is_empty() && !h.contains('/') && !h.contains('*'),
                "plugin `{}`: http_out host `{h}` must be `host` or `host:port`",
                self.name
            );
        }
        ensure!(
            (500..=599).contains(&self.errors.status),
            "plugin `{}`: errors.status must be 5xx",
            self.name
        );
        self.validate_declarations()
    }

    /// Check the mounts, streams and credentials the plugin declares.
    fn validate_declarations(&self) -> anyhow::Result<()> {
        let name = &self.name;
        if let Some(prefix) = &self.default_mount {
            ensure!(
                self.implements(World::Dialect),
                "plugin `{name}`: default_mount needs the dialect world"
            );
            super::config::check_prefix(prefix)
                .with_context(|| format!("plugin `{name}`: default_mount"))?;
        }
        for path in &self.default_streams {
            ensure!(
                self.implements(World::Dialect),
                "plugin `{name}`: default_streams needs the dialect world"
            );
            ensure!(
                path.starts_with('/') && path.matches("{instance}").count() == 1,
                "plugin `{name}`: stream route `{path}` must be an absolute path with one {{instance}}"
            );
        }
        for k in &self.credential_kinds {
            ensure!(
                !k.name.is_empty()
                    && k.name.len() <= 64
                    && k.name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "plugin `{name}`: credential kind `{}` must match [a-z0-9-]+",
                k.name
            );
            ensure!(
                k.prefix.len() >= 2
                    && k.prefix.len() <= 16
                    && k.prefix.ends_with('_')
                    && k.prefix[..k.prefix.len() - 1]
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "plugin `{name}`: credential kind `{}`: prefix `{}` must match [a-z0-9]+_",
                k.name,
                k.prefix
            );
            crate::core::model::Capabilities::from_names(&k.capabilities).map_err(|e| {
                anyhow::anyhow!("plugin `{name}`: credential kind `{}`: {e}", k.name)
            })?;
        }
        ensure!(
            !self.instance_tokens_may_delete || self.implements(World::Auth),
            "plugin `{name}`: instance_tokens_may_delete needs the auth world"
        );
        if let Some(decl) = &self.auth_cache {
            ensure!(
                self.implements(World::Auth),
                "plugin `{name}`: auth_cache needs the auth world"
            );
            ensure!(
                (1..=AUTH_CACHE_MAX_TTL_MS).contains(&decl.ttl_ms),
                "plugin `{name}`: auth_cache ttl_ms must be 1 to {AUTH_CACHE_MAX_TTL_MS}"
            );
            ensure!(
                !decl.vary.is_empty()
                    && decl
                        .vary
                        .iter()
                        .all(|h| http::HeaderName::from_bytes(h.as_bytes()).is_ok()),
                "plugin `{name}`: auth_cache vary must name one or more request headers"
            );
        }
        for env in self.cors_env.names() {
            ensure!(
                self.implements(World::Dialect),
                "plugin `{name}`: cors_env needs the dialect world"
            );
            ensure!(
                !env.is_empty() && !env.starts_with("WAGATE_"),
                "plugin `{name}`: cors_env: `{env}` is not a variable a plugin may claim (WAGATE_* are the host's)"
            );
        }
        if let Some(decl) = &self.socketio {
            ensure!(
                self.implements(World::Dialect),
                "plugin `{name}`: socketio needs the dialect world"
            );
            for env in decl.names() {
                ensure!(
                    !env.is_empty() && !env.starts_with("WAGATE_"),
                    "plugin `{name}`: socketio: `{env}` is not a variable a plugin may claim (WAGATE_* are the host's)"
                );
            }
        }
        for (broker, env) in &self.broker_env {
            ensure!(
                self.implements(World::Dialect),
                "plugin `{name}`: broker_env needs the dialect world"
            );
            ensure!(
                matches!(
                    env.transport.as_str(),
                    "nats" | "rabbitmq" | "sqs" | "kafka"
                ),
                "plugin `{name}`: broker_env.{broker}: transport must be `nats`, `rabbitmq`, `sqs` or `kafka`"
            );
            ensure!(
                env.transport != "sqs" || env.region.is_some(),
                "plugin `{name}`: broker_env.{broker}: an sqs broker names its `region` variable"
            );
            for var in env.names() {
                ensure!(
                    !var.is_empty() && !var.starts_with("WAGATE_"),
                    "plugin `{name}`: broker_env.{broker}: `{var}` is not a variable a plugin may claim (WAGATE_* are the host's)"
                );
            }
        }
        if !self.uploads.routes.is_empty() || !self.uploads.fields.is_empty() {
            ensure!(
                self.implements(World::Dialect),
                "plugin `{name}`: uploads needs the dialect world"
            );
            for route in &self.uploads.routes {
                ensure!(
                    route.starts_with('/'),
                    "plugin `{name}`: uploads: route `{route}` must be an absolute path under the mount"
                );
            }
            for field in &self.uploads.fields {
                ensure!(
                    field.len() > 1 && field.starts_with('/') && !field.contains('~'),
                    "plugin `{name}`: uploads: field `{field}` must be a JSON pointer such as `/media`"
                );
            }
        }
        for e in &self.env_credentials {
            ensure!(
                !e.env.is_empty() && !e.env.starts_with("WAGATE_"),
                "plugin `{name}`: env_credentials: `{}` is not a variable a plugin may claim (WAGATE_* are the host's)",
                e.env
            );
            ensure!(
                self.credential_kinds.iter().any(|k| k.name == e.kind),
                "plugin `{name}`: env_credentials `{}`: kind `{}` is not declared in this manifest",
                e.env,
                e.kind
            );
        }
        Ok(())
    }

    /// The credential kinds this plugin declares, as core mints them.
    pub fn credential_kind_specs(&self) -> Vec<crate::core::records::CredentialKindSpec> {
        self.credential_kinds
            .iter()
            .map(|k| crate::core::records::CredentialKindSpec {
                kind: crate::core::records::CredentialKind::new(&k.name),
                prefix: k.prefix.clone(),
                default_caps: crate::core::model::Capabilities::from_names(&k.capabilities)
                    .unwrap_or_default(),
                declared_by: self.name.clone(),
            })
            .collect()
    }

    /// Whether the plugin implements `world`.
    pub fn implements(&self, world: World) -> bool {
        self.worlds.contains(&world)
    }

    /// The `[config]` table as strings (non-string values in their TOML form).
    pub fn config_strings(&self) -> BTreeMap<String, String> {
        self.config
            .iter()
            .map(|(k, v)| (k.clone(), value_string(v)))
            .collect()
    }
}

/// A TOML value as the string the `config` interface hands out.
pub fn value_string(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name.len() <= 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_manifest() {
        let m = Manifest::parse(
            r#"
            name = "x"
            version = "1"
            worlds = ["dialect", "sink"]
            [grants]
            imports = ["core", "http-out"]
            memory_mib = 8
            [grants.http_out]
            hosts = ["example.com:8080"]
            [config]
            a = "b"
            n = 3
            "#,
        )
        .unwrap();
        assert!(m.implements(World::Sink));
        assert!(m.grants.allows(Grant::HttpOut));
        assert_eq!(m.config_strings()["n"], "3");
        assert_eq!(m.grants.deadline_ms, DEFAULT_DEADLINE_MS);
    }

    #[test]
    fn rejects_bad_manifests() {
        assert!(Manifest::parse("name='X'\nversion='1'\nworlds=['auth']").is_err());
        assert!(Manifest::parse("name='x'\nversion='1'\nworlds=[]").is_err());
        assert!(
            Manifest::parse("name='x'\nversion='1'\nworlds=['auth']\n[grants]\nimports=['nope']")
                .is_err()
        );
        assert!(
            Manifest::parse("name='x'\nversion='1'\nworlds=['auth']\n[grants]\nmemory_mib=100000")
                .is_err()
        );
        assert!(
            Manifest::parse(
                "name='x'\nversion='1'\nworlds=['auth']\n[grants.http_out]\nhosts=['a']"
            )
            .is_err(),
            "hosts without the http-out import"
        );
        assert!(Manifest::parse("name='x'\nversion='1'\nworlds=['auth']\ntypo=1").is_err());
    }

    #[test]
    fn upload_routes_match_one_segment_per_parameter() {
        let m = Manifest::parse(
            "name='x'\nversion='1'\nworlds=['dialect']\n[uploads]\nroutes=['/message/sendMedia/{instance}']\nfields=['/media']",
        )
        .unwrap();
        assert!(m.uploads.matches("/message/sendMedia/shop"));
        assert!(!m.uploads.matches("/message/sendMedia/"));
        assert!(!m.uploads.matches("/message/sendMedia/shop/x"));
        assert!(!m.uploads.matches("/message/sendText/shop"));
        assert!(
            Manifest::parse(
                "name='x'\nversion='1'\nworlds=['dialect']\n[uploads]\nfields=['media']"
            )
            .is_err(),
            "a field is a JSON pointer"
        );
        assert!(
            Manifest::parse("name='x'\nversion='1'\nworlds=['auth']\n[uploads]\nroutes=['/a']")
                .is_err()
        );
    }

    #[test]
    fn socketio_is_for_dialects_and_not_the_hosts_variables() {
        let m = Manifest::parse(
            "name='x'\nversion='1'\nworlds=['dialect']\n[socketio]\nenabled_env='X_WS'\nglobal_events_env='X_WS_GLOBAL'",
        )
        .unwrap();
        let decl = m.socketio.expect("declared");
        assert_eq!(decl.names().collect::<Vec<_>>(), ["X_WS", "X_WS_GLOBAL"]);
        assert!(
            Manifest::parse("name='x'\nversion='1'\nworlds=['dialect']")
                .unwrap()
                .socketio
                .is_none()
        );
        for bad in [
            "name='x'\nversion='1'\nworlds=['auth']\n[socketio]\nenabled_env='X'",
            "name='x'\nversion='1'\nworlds=['dialect']\n[socketio]\nenabled_env='WAGATE_SOCKETIO_ENABLED'",
            "name='x'\nversion='1'\nworlds=['dialect']\n[socketio]\ntypo='X'",
        ] {
            assert!(Manifest::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cors_env_is_for_dialects_and_not_the_hosts_variables() {
        let m = Manifest::parse(
            "name='x'\nversion='1'\nworlds=['dialect']\n[cors_env]\norigins='X_ORIGIN'\ncredentials='X_CRED'",
        )
        .unwrap();
        assert_eq!(m.cors_env.origins.as_deref(), Some("X_ORIGIN"));
        assert_eq!(
            m.cors_env.names().collect::<Vec<_>>(),
            ["X_ORIGIN", "X_CRED"]
        );
        assert!(
            Manifest::parse("name='x'\nversion='1'\nworlds=['auth']\n[cors_env]\norigins='X'")
                .is_err(),
            "an auth plugin has no surface of its own"
        );
        assert!(
            Manifest::parse(
                "name='x'\nversion='1'\nworlds=['dialect']\n[cors_env]\norigins='WAGATE_CORS_ORIGINS'"
            )
            .is_err()
        );
        assert!(
            Manifest::parse("name='x'\nversion='1'\nworlds=['dialect']\n[cors_env]\ntypo='X'")
                .is_err()
        );
    }

    #[test]
    fn import_names_map_to_grants() {
        assert_eq!(
            Grant::from_import("wagate:plugin/core@0.1.0"),
            Some(Grant::Core)
        );
        assert_eq!(
            Grant::from_import("wagate:plugin/http-out@0.1.0"),
            Some(Grant::HttpOut)
        );
        assert_eq!(Grant::from_import("wagate:plugin/types@0.1.0"), None);
        assert_eq!(Grant::from_import("wasi:cli/stderr@0.2.6"), None);
    }

    #[test]
    fn error_shape_escapes() {
        let body = ErrorShape::default().render("plugin_failed", "a \"quoted\" thing");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["message"], "a \"quoted\" thing");
    }
}
