//! The `wagate` command: `serve`, and operator tools (`org`, `token`, `instance`)
//! that work on the data folder directly or against a running server.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use wagate::config::{Config, LinkKind, LogFormat};
use wagate::core::Core;
use wagate::core::model::{Capabilities, InstanceRef};
use wagate::core::records::CredentialKind;

#[derive(Parser)]
#[command(
    name = "wagate",
    version,
    about = "Self-hosted WhatsApp HTTP gateway with WebAssembly plugins"
)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, env = "WAGATE_LOG_FORMAT")]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve(ServeArgs),
    /// Organisations.
    Org {
        #[command(subcommand)]
        action: OrgAction,
    },
    /// Credentials.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Instances.
    Instance {
        #[command(subcommand)]
        action: InstanceAction,
    },
    /// Event delivery.
    Events {
        #[command(subcommand)]
        action: EventsAction,
    },
    /// Plugins.
    Plugin {
        #[command(subcommand)]
        action: PluginAction,
    },
    /// The store itself: its schema, and moving it between redb and PostgreSQL.
    Store {
        #[command(subcommand)]
        action: StoreAction,
    },
}

#[derive(Subcommand)]
enum StoreAction {
    /// Create or bring the schema up to this build's (as `serve` does at start), then
    /// print its version. The gateway must not be running on it.
    Migrate {
        /// A data folder, or postgres://user:password@host:port/database.
        #[arg(long, env = "WAGATE_STORE", hide_env_values = true)]
        store: String,
    },
    /// Copy every table of one store into another, empty one: a redb data folder into
    /// PostgreSQL to grow into cluster mode, or back. No gateway may run on either.
    /// Media files stay where they are (data folder or S3 bucket).
    Copy {
        /// The source: a data folder, or postgres://...
        #[arg(long)]
        from: String,
        /// The destination: a data folder, or postgres://... (must hold nothing yet).
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum EventsAction {
    /// Deliveries that failed for good.
    DeadLetter {
        #[command(subcommand)]
        action: DeadLetterAction,
    },
}

#[derive(Subcommand)]
enum DeadLetterAction {
    /// List dead letters.
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Put dead letters back at the head of their queues (all, or those named by --id).
    Replay {
        #[arg(long = "id")]
        ids: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand)]
enum PluginAction {
    /// Validate a component against the contract; print its world, imports and exports.
    Check {
        /// The .wasm component.
        file: PathBuf,
    },
    /// Compile components (framed on stdin, see `plugin::cache::precompile`) into the
    /// plugin code cache: what `wagate serve` runs as a child so the compiler's memory
    /// leaves with it.
    #[command(hide = true)]
    Precompile {
        /// The engine's pool size (`[plugins.runtime] max_instances`).
        #[arg(long)]
        max_instances: u32,
        /// The engine's `keep_resident`, in bytes.
        #[arg(long)]
        keep_resident_bytes: Option<usize>,
    },
    /// Ask a running gateway to reload its plugins (SIGHUP does the same).
    Reload {
        /// The running gateway.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
        #[arg(long, env = "WAGATE_ADMIN_TOKEN")]
        admin_token: String,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Optional wagate.toml; flags and env variables override it.
    #[arg(long, env = "WAGATE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "WAGATE_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// Data folder [default: ./wagate-data].
    #[arg(long, env = "WAGATE_DATA")]
    data: Option<PathBuf>,
    /// Folder of compiled plugin code [default: <data>/plugin-cache]; gateways of one
    /// binary may share it.
    #[arg(long, env = "WAGATE_PLUGIN_CACHE")]
    plugin_cache: Option<PathBuf>,
    /// Keep the state in PostgreSQL (postgres://user:password@host:port/database)
    /// instead of the redb file in the data folder.
    #[arg(long, env = "WAGATE_STORE", hide_env_values = true)]
    store: Option<String>,
    /// Cluster mode: this gateway's node id among several on one PostgreSQL store
    /// (needs --store).
    #[arg(long, env = "WAGATE_NODE")]
    node: Option<String>,
    /// Cluster mode: the URL other nodes reach this one at [default: http://<listen>].
    #[arg(long, env = "WAGATE_ADVERTISE")]
    advertise: Option<String>,
    /// Cluster mode: how long a lease lasts, in ms [default: 15000].
    #[arg(long, env = "WAGATE_LEASE_MS")]
    lease_ms: Option<u64>,
    /// WhatsApp link [default: whatsapp].
    #[arg(long, value_enum, env = "WAGATE_LINK")]
    link: Option<LinkKind>,
    /// TLS certificate chain (PEM); serves HTTPS with --tls-key.
    #[arg(long, env = "WAGATE_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "WAGATE_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Sim link: milliseconds until the simulated phone completes pairing.
    #[arg(long, env = "WAGATE_SIM_PAIR_DELAY_MS")]
    sim_pair_delay_ms: Option<u64>,
    /// WhatsApp link: the WebSocket URL [default: wss://web.whatsapp.com/ws/chat].
    #[arg(long, env = "WAGATE_WHATSAPP_URL")]
    whatsapp_url: Option<String>,
}

/// Where an operator command acts: the data folder (gateway stopped) or a running server.
#[derive(Args)]
struct Target {
    /// Data folder to open directly (the gateway must not be running on it).
    #[arg(
        long,
        env = "WAGATE_DATA",
        default_value = "./wagate-data",
        conflicts_with = "server"
    )]
    data: PathBuf,
    /// A running gateway, e.g. http://127.0.0.1:8080 (needs --admin-token).
    #[arg(long)]
    server: Option<String>,
    /// Admin token for --server.
    #[arg(long, env = "WAGATE_ADMIN_TOKEN")]
    admin_token: Option<String>,
}

#[derive(Subcommand)]
enum OrgAction {
    /// Create an organisation.
    Create {
        name: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Mint a credential; the token is printed once.
    Create {
        /// Org id or name.
        #[arg(long)]
        org: String,
        /// api-key, instance, or a kind a plugin declares (bundled: ryze-account,
        /// evolution-key).
        #[arg(long, default_value = "api-key")]
        kind: String,
        /// Capabilities (read, send, manage, admin); default depends on the kind.
        #[arg(long = "cap", value_delimiter = ',')]
        caps: Vec<String>,
        /// Bind the credential to one instance (id or name).
        #[arg(long)]
        instance: Option<String>,
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand)]
enum InstanceAction {
    /// List every instance.
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Delete an instance and every record of it.
    Delete {
        /// Instance id or name (names are unique per organisation: a name several
        /// organisations use needs --org).
        instance: String,
        /// The organisation (id or name) whose instance of that name is meant.
        #[arg(long)]
        org: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Pair an instance with WhatsApp: shows the QR code in the terminal, refreshed as
    /// WhatsApp issues new ones, until the phone has scanned it (or prints a pair code
    /// with --phone). Without --server the session runs in this process (the gateway
    /// must not be running on the data folder).
    Connect {
        /// Instance id or name (a name several organisations use needs --org).
        instance: String,
        /// The organisation (id or name) whose instance of that name is meant.
        #[arg(long)]
        org: Option<String>,
        /// Pair by phone number (digits with country code) instead: prints a pair code.
        #[arg(long)]
        phone: Option<String>,
        #[command(flatten)]
        target: Target,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(args) => {
            let mut config = Config::load(args.config.as_deref())?;
            if let Some(v) = args.listen {
                config.listen = v;
            }
            if let Some(v) = args.data {
                config.data = v;
            }
            if let Some(v) = args.plugin_cache {
                config.plugin_cache = Some(v);
            }
            if let Some(v) = args.store {
                config.store.url = Some(v);
            }
            if let Some(v) = args.node {
                config.cluster.node = Some(v);
            }
            if let Some(v) = args.advertise {
                config.cluster.advertise = Some(v);
            }
            if let Some(v) = args.lease_ms {
                config.cluster.lease_ms = v;
            }
            if let Some(v) = args.link {
                config.link = v;
            }
            if let Some(v) = cli.log_format {
                config.log_format = v;
            }
            if args.tls_cert.is_some() {
                config.tls_cert = args.tls_cert;
            }
            if args.tls_key.is_some() {
                config.tls_key = args.tls_key;
            }
            if let Some(v) = args.sim_pair_delay_ms {
                config.sim.pair_delay_ms = v;
            }
            if let Some(v) = args.whatsapp_url {
                config.whatsapp.url = v;
            }
            // Plugins are compiled by this binary in a child process (see
            // `plugin::cache`); without a path to it, in-process.
            config.plugins.runtime.compile_with = std::env::current_exe().ok();
            init_tracing(config.log_format);
            runtime.block_on(wagate::run::serve(config, wagate::run::shutdown_signal()))
        }
        Command::Org {
            action: OrgAction::Create { name, target },
        } => {
            init_tracing(cli.log_format.unwrap_or(LogFormat::Human));
            let out = runtime.block_on(on_target(
                &target,
                "POST",
                "/admin/orgs",
                serde_json::json!({"name": name}),
                |core| {
                    Box::pin(
                        async move { Ok(serde_json::to_value(core.create_org(&name).await?)?) },
                    )
                },
            ))?;
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::Token {
            action:
                TokenAction::Create {
                    org,
                    kind,
                    caps,
                    instance,
                    label,
                    target,
                },
        } => {
            init_tracing(cli.log_format.unwrap_or(LogFormat::Human));
            let kind_parsed = CredentialKind::new(&kind);
            let caps_parsed = if caps.is_empty() {
                None
            } else {
                Some(Capabilities::from_names(&caps).map_err(anyhow::Error::msg)?)
            };
            let body = serde_json::json!({
                "org": org, "kind": kind, "instance": instance, "label": label,
                "capabilities": caps_parsed.map(|c| c.names()),
            });
            let out = runtime.block_on(on_target(&target, "POST", "/admin/credentials", body, |core| {
                Box::pin(async move {
                    let m = core.create_credential(&org, kind_parsed, caps_parsed, instance.as_deref(), label).await?;
                    Ok(serde_json::json!({
                        "id": m.record.id, "token": m.token, "org": m.record.org, "kind": m.record.kind,
                        "capabilities": m.record.caps.names(), "instance": m.record.instance,
                    }))
                })
            }))?;
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::Events {
            action: EventsAction::DeadLetter { action },
        } => {
            init_tracing(cli.log_format.unwrap_or(LogFormat::Human));
            let out = match action {
                DeadLetterAction::List { target } => runtime.block_on(on_target(
                    &target,
                    "GET",
                    "/admin/events/dead-letters",
                    serde_json::Value::Null,
                    |core| {
                        Box::pin(async move {
                            Ok(serde_json::to_value(
                                wagate::events::dispatcher::list_dead_letters(core.store())?,
                            )?)
                        })
                    },
                ))?,
                DeadLetterAction::Replay { ids, target } => runtime.block_on(on_target(
                    &target,
                    "POST",
                    "/admin/events/dead-letters/replay",
                    serde_json::json!({ "ids": ids }),
                    |core| {
                        Box::pin(async move {
                            let n =
                                wagate::events::dispatcher::replay_dead_letters(core.store(), ids)
                                    .await?;
                            Ok(serde_json::json!({ "replayed": n }))
                        })
                    },
                ))?,
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::Store {
            action: StoreAction::Migrate { store },
        } => {
            init_tracing(cli.log_format.unwrap_or(LogFormat::Human));
            let opened = wagate::store::Store::open_location(&store)?;
            println!(
                "{}: schema version {}",
                wagate::store::describe_location(&store),
                opened.schema_version()?
            );
            Ok(())
        }
        Command::Store {
            action: StoreAction::Copy { from, to },
        } => {
            init_tracing(cli.log_format.unwrap_or(LogFormat::Human));
            let (source, destination) = (
                wagate::store::Store::open_location(&from).context("opening the source")?,
                wagate::store::Store::open_location(&to).context("opening the destination")?,
            );
            let report = runtime.block_on(wagate::store::copy::copy(
                &source,
                &destination,
                |table, rows| eprintln!("{table}: {rows} rows"),
            ))?;
            println!(
                "copied {} rows in {} tables from {} to {}",
                report.rows(),
                report.tables.len(),
                wagate::store::describe_location(&from),
                wagate::store::describe_location(&to)
            );
            Ok(())
        }
        Command::Plugin {
            action:
                PluginAction::Precompile {
                    max_instances,
                    keep_resident_bytes,
                },
        } => wagate::plugin::cache::precompile(max_instances, keep_resident_bytes),
        Command::Plugin {
            action: PluginAction::Check { file },
        } => {
            print!("{}", wagate::plugin::check_component(&file)?);
            Ok(())
        }
        Command::Plugin {
            action:
                PluginAction::Reload {
                    server,
                    admin_token,
                },
        } => {
            let target = Target {
                data: PathBuf::new(),
                server: Some(server),
                admin_token: Some(admin_token),
            };
            let out = runtime.block_on(on_target(
                &target,
                "POST",
                "/admin/plugins/reload",
                serde_json::Value::Null,
                |_| Box::pin(async { anyhow::bail!("reload needs a running server") }),
            ))?;
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::Instance {
            action: InstanceAction::List { target },
        } => {
            init_tracing(cli.log_format.unwrap_or(LogFormat::Human));
            let out = runtime.block_on(on_target(
                &target,
                "GET",
                "/admin/instances",
                serde_json::Value::Null,
                |core| {
                    Box::pin(async move {
                        let all: Vec<_> = core
                            .all_instances()?
                            .into_iter()
                            .map(|r| r.instance)
                            .collect();
                        Ok(serde_json::to_value(all)?)
                    })
                },
            ))?;
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::Instance {
            action:
                InstanceAction::Connect {
                    instance,
                    org,
                    phone,
                    target,
                },
        } => {
            init_tracing(cli.log_format.unwrap_or(LogFormat::Human));
            runtime.block_on(connect_instance(
                &target,
                &instance,
                org.as_deref(),
                phone.as_deref(),
            ))
        }
        Command::Instance {
            action:
                InstanceAction::Delete {
                    instance,
                    org,
                    target,
                },
        } => {
            init_tracing(cli.log_format.unwrap_or(LogFormat::Human));
            let path = format!(
                "/admin/instances/{}{}",
                percent_encode(&instance),
                org_query(org.as_deref())
            );
            let out = runtime.block_on(on_target(
                &target,
                "DELETE",
                &path,
                serde_json::Value::Null,
                |core| {
                    Box::pin(async move {
                        let record = core.find_instance_for_operator(
                            org.as_deref(),
                            &InstanceRef::parse(&instance),
                        )?;
                        let admin = Core::admin_principal(&record.instance.org);
                        Ok(serde_json::to_value(
                            core.delete_instance(&admin, &InstanceRef::Id(record.instance.id))
                                .await?,
                        )?)
                    })
                },
            ))?;
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
    }
}

type Local<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<serde_json::Value>> + 'a>>;

/// Runs an operator action against a running server (through `/admin`) or, without
/// `--server`, directly on the data folder.
async fn on_target(
    target: &Target,
    method: &str,
    path: &str,
    body: serde_json::Value,
    local: impl FnOnce(std::sync::Arc<Core>) -> Local<'static>,
) -> anyhow::Result<serde_json::Value> {
    match &target.server {
        Some(server) => {
            let token = target
                .admin_token
                .as_deref()
                .context("--server needs --admin-token (or WAGATE_ADMIN_TOKEN)")?;
            let auth = format!("Bearer {token}");
            let body = (!body.is_null())
                .then(|| serde_json::to_vec(&body))
                .transpose()?;
            let (server, method, path) = (server.clone(), method.to_string(), path.to_string());
            let resp = tokio::task::spawn_blocking(move || {
                wagate::client::request(
                    &server,
                    &method,
                    &path,
                    &[
                        ("Authorization", &auth),
                        ("Content-Type", "application/json"),
                    ],
                    body.as_deref(),
                )
            })
            .await??;
            let json = resp.json();
            if !(200..300).contains(&resp.status) {
                anyhow::bail!("server answered {}: {}", resp.status, json);
            }
            Ok(json)
        }
        None => {
            // Operator commands on the data folder must not bring every paired
            // instance online (the whatsapp link resumes sessions at start): the sim
            // link only restores their states in memory.
            let config = Config {
                data: target.data.clone(),
                link: LinkKind::Sim,
                ..Config::default()
            };
            let core = wagate::run::open_core(&config).await?;
            local(core).await
        }
    }
}

/// `wagate instance connect`: asks for pairing every two seconds (the link answers
/// with the current QR code, starting the session on the first call) and prints each
/// new QR code until the instance is open.
async fn connect_instance(
    target: &Target,
    instance: &str,
    org: Option<&str>,
    phone: Option<&str>,
) -> anyhow::Result<()> {
    let local = match &target.server {
        Some(_) => None,
        None => {
            let mut config = Config {
                data: target.data.clone(),
                link: LinkKind::Whatsapp,
                ..Config::default()
            };
            if let Ok(url) = std::env::var("WAGATE_WHATSAPP_URL")
                && !url.is_empty()
            {
                config.whatsapp.url = url;
            }
            Some(wagate::run::open_core(&config).await?)
        }
    };
    let path = format!(
        "/admin/instances/{}/connect{}",
        percent_encode(instance),
        org_query(org)
    );
    let body = match phone {
        Some(p) => serde_json::json!({ "phone": p }),
        None => serde_json::Value::Null,
    };
    let mut shown_qr: Option<String> = None;
    let mut shown_code: Option<String> = None;
    let mut seen_pairing = false;
    loop {
        let info = match &local {
            Some(core) => {
                let record = core.find_instance_for_operator(org, &InstanceRef::parse(instance))?;
                let admin = Core::admin_principal(&record.instance.org);
                serde_json::to_value(
                    core.connect(&admin, &InstanceRef::Id(record.instance.id), phone)
                        .await?,
                )?
            }
            None => on_target(target, "POST", &path, body.clone(), |_| {
                Box::pin(async { anyhow::bail!("unreachable: --server is set") })
            })
            .await
            .context("asking the gateway to connect the instance")?,
        };
        match info["state"].as_str().unwrap_or("") {
            "open" => {
                println!("connected");
                return Ok(());
            }
            "closed" if !seen_pairing => {
                println!("already paired; the gateway is reconnecting it (state closed)");
                return Ok(());
            }
            "disconnected" if seen_pairing => {
                anyhow::bail!("pairing ended without a scan; run the command again")
            }
            _ => {}
        }
        if let Some(code) = info["pair_code"].as_str()
            && shown_code.as_deref() != Some(code)
        {
            seen_pairing = true;
            println!("On the phone: Linked devices > Link with phone number, enter: {code}");
            shown_code = Some(code.to_string());
        }
        if let Some(qr) = info["qr"].as_str()
            && shown_qr.as_deref() != Some(qr)
        {
            seen_pairing = true;
            // Clear the screen so the current code is the only one to scan.
            print!("\x1b[2J\x1b[H");
            println!("{}", wagate::whatsapp::real::terminal::qr_text(qr)?);
            println!("Scan with WhatsApp > Linked devices > Link a device (Ctrl-C to stop).");
            shown_qr = Some(qr.to_string());
        }
        if info["qr"].is_null() && info["pair_code"].is_null() && !seen_pairing {
            eprintln!("waiting for WhatsApp (state {})...", info["state"]);
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// `?org=<org>` for an admin path, or nothing.
fn org_query(org: Option<&str>) -> String {
    org.map(|o| format!("?org={}", percent_encode(o)))
        .unwrap_or_default()
}

fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
