//! Putting the gateway together: store, link, core, admin token, server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::{Config, LinkKind};
use crate::core::Core;
use crate::server::{self, App};
use crate::store::Store;
use crate::whatsapp::{Link, cluster::ClusterLink, real::WhatsAppLink, sim::SimLink};

/// Opens the data folder and starts the core on the configured link.
pub async fn open_core(config: &Config) -> anyhow::Result<Arc<Core>> {
    Ok(open_core_and_sim(config).await?.core)
}

/// What [`open_core_and_sim`] opens.
struct Opened {
    core: Arc<Core>,
    /// The simulated network, with the `sim` link.
    sim: Option<Arc<SimLink>>,
    /// Cluster mode: the link core sees, over the one sessions run on.
    cluster_link: Option<Arc<ClusterLink>>,
}

/// [`open_core`], plus the simulated network when the configured link is `sim`: the
/// admin API's injection endpoints drive it directly, so no test hook sits on the
/// [`Link`] trait that production links implement.
async fn open_core_and_sim(config: &Config) -> anyhow::Result<Opened> {
    anyhow::ensure!(
        (1..=1 << 20).contains(&config.store_cache_mib),
        "store_cache_mib must be between 1 and 1048576 (MiB), not {}",
        config.store_cache_mib
    );
    config.cluster.validate()?;
    let node = config
        .cluster
        .node
        .as_ref()
        .map(|node_id| crate::store::ClusterNode {
            node_id: node_id.clone(),
            lease: Duration::from_millis(config.cluster.lease_ms),
        });
    anyhow::ensure!(
        node.is_none() || config.store.url.is_some(),
        "cluster mode (--node) needs a PostgreSQL store (--store postgres://...): nodes share their state there"
    );
    let store = match &config.store.url {
        Some(url) => {
            Store::open_postgres_with(url, &config.data, config.max_write_batch, node.as_ref())?
        }
        None => Store::open_with(
            &config.data,
            config.max_write_batch,
            config.store_cache_mib << 20,
        )?,
    };
    let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
    let (link, sim): (Arc<dyn Link>, _) = match config.link {
        LinkKind::Sim => {
            let sim = Arc::new(SimLink::new(
                events_tx,
                Duration::from_millis(config.sim.pair_delay_ms),
            ));
            (sim.clone(), Some(sim))
        }
        LinkKind::Whatsapp => (
            Arc::new(
                WhatsAppLink::new(store.clone(), events_tx, &config.whatsapp)
                    .context("configuring the whatsapp link")?,
            ),
            None,
        ),
    };
    // In cluster mode a session runs only on the node holding its instance's lease.
    let (link, cluster_link): (Arc<dyn Link>, _) = match store.cluster() {
        Some(cluster) => {
            let leases = cluster.leases.clone();
            let secret = tokio::task::spawn_blocking(move || {
                leases.secret(&crate::util::new_secret("node_"))
            })
            .await?
            .context("reading the cluster's node secret")?;
            let cluster_link = Arc::new(ClusterLink::new(link, cluster.clone(), secret));
            (cluster_link.clone() as Arc<dyn Link>, Some(cluster_link))
        }
        None => (link, None),
    };
    let media_store = crate::media::open_store(&config.media.store, &config.data)
        .await
        .context("opening the media store ([media.store])")?;
    if store.cluster().is_some() && config.media.store.kind == crate::media::s3::StoreKind::Disk {
        // Not refused: the data folder may be a shared mount. Said, because otherwise a
        // file received on one node is missing on the others.
        tracing::warn!(
            data = %config.data.display(),
            "cluster mode with media on disk: unless this data folder is shared by every node, media received on one node cannot be read through the others; use [media.store] kind = \"s3\""
        );
    }
    let core = Core::with_media_store(store, link, config.media.clone(), media_store);
    core.pending_media().set_bound(config.events.media_wait());
    // Said once at start: whether voice notes will be converted to Opus.
    let _ = crate::media::voice::ffmpeg(&config.media.ffmpeg);
    // Known before any plugin is compiled, so operator commands on a stopped gateway
    // mint the plugins' kinds too; loading the plugins declares them again.
    core.declare_credential_kinds(crate::plugin::registry::declared_credential_kinds(
        &config.plugins,
    )?)?;
    core.start(events_rx).await?;
    Ok(Opened {
        core,
        sim,
        cluster_link,
    })
}

/// Runs the gateway until `shutdown` resolves, then drains and closes the database.
pub async fn serve(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    // Bind first: a taken port is reported at once, not after the store is opened and
    // every plugin compiled.
    let listener = bind(config.listen).await?;
    crate::outbound::install(
        crate::outbound::Policy::from_config(
            &config.outbound,
            std::env::var("WAGATE_OUTBOUND_ALLOW").ok().as_deref(),
        )
        .context("reading the [outbound] configuration")?,
    );
    let Opened {
        core,
        sim,
        cluster_link,
    } = open_core_and_sim(&config).await?;
    let admin_env = std::env::var("WAGATE_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    if let Some(token) = core
        .ensure_admin_token(admin_env.as_deref())
        .await
        .context("storing the admin token")?
    {
        // Printed once, on the first start without WAGATE_ADMIN_TOKEN; only its hash is kept.
        println!("admin token (shown once, keep it): {token}");
    }
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(server::load_tls(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!("TLS needs both --tls-cert and --tls-key"),
    };
    let addr = listener.local_addr()?;
    // Cluster mode: join (heartbeat, first leases) before answering.
    let coordinator = match (core.store().cluster(), cluster_link) {
        (Some(cluster), Some(link)) => {
            if config.cluster.advertise.is_none() && addr.ip().is_unspecified() {
                tracing::warn!(%addr, "listening on every address without --advertise: other nodes on other machines cannot reach this one at {addr}; set --advertise to its URL");
            }
            let address = config
                .cluster
                .advertise
                .clone()
                .unwrap_or_else(|| format!("http://{addr}"));
            let coordinator =
                crate::cluster::Coordinator::new(core.clone(), cluster.clone(), link, address);
            coordinator.start().await?;
            tracing::info!(node = %cluster.held.node_id(), lease_ms = config.cluster.lease_ms, "joined the cluster");
            Some(coordinator)
        }
        _ => None,
    };
    tracing::info!(
        %addr,
        data = %config.data.display(),
        link = core.link().name(),
        tls = tls.is_some(),
        "wagate listening"
    );
    // Tests and scripts read the bound address from stdout (useful with port 0).
    println!(
        "listening on {}://{addr}",
        if tls.is_some() { "https" } else { "http" }
    );
    // The server answers `/healthz` from now on; loading the plugins (compiling them,
    // on a fresh data folder: about a second) runs beside it, and every other request
    // waits for it (see `server::app_for`). A plugin that fails to load still stops
    // the gateway, as before.
    let (ready_tx, ready) = tokio::sync::watch::channel(None);
    let started = Instant::now();
    let https = tls.is_some();
    let start = async {
        let app = start_app(&config, core.clone(), sim, coordinator.clone(), https).await?;
        let _ = ready_tx.send(Some(app));
        tracing::info!(took = ?started.elapsed(), "ready");
        anyhow::Ok(())
    };
    let server = server::serve(config.server.clone(), ready, listener, tls, shutdown);
    tokio::try_join!(start, server)?;
    if let Some(coordinator) = &coordinator {
        coordinator.leave().await;
    }
    drop(ready_tx);
    drop(core);
    tracing::info!("stopped");
    Ok(())
}

/// Loads the plugins and puts the app together: what the server waits for before it
/// answers anything but `/healthz`.
async fn start_app(
    config: &Config,
    core: Arc<Core>,
    sim: Option<Arc<SimLink>>,
    coordinator: Option<Arc<crate::cluster::Coordinator>>,
    tls: bool,
) -> anyhow::Result<Arc<App>> {
    let plugins = crate::plugin::PluginHost::load(
        &config.plugins,
        core.clone(),
        &config
            .plugin_cache
            .clone()
            .unwrap_or_else(|| config.data.join("plugin-cache")),
    )
    .await
    .context("loading plugins")?;
    crate::util::release_freed_memory();
    for p in plugins.plugins() {
        tracing::info!(plugin = %p.name, version = %p.version, origin = %p.origin, "plugin loaded");
    }
    for m in plugins.mounts() {
        tracing::info!(prefix = %m.prefix, dialect = %m.dialect, auth = ?m.auth, "mounted");
    }
    register_env_credentials(&core, &plugins).await?;
    let cors = server::cors::Cors::from_sources(&config.cors, &plugins.cors_env(), |name| {
        std::env::var(name).ok()
    })
    .context("reading the CORS configuration")?;
    tracing::info!(enabled = cors.is_some(), "cross-origin requests");
    reload_on_sighup(plugins.clone());
    let brokers = open_brokers(config, &core, &plugins).await?;
    let mut dispatcher = crate::events::dispatcher::Dispatcher::new(
        core.store().clone(),
        Arc::new(crate::events::transport::PluginTransport {
            plugins: plugins.clone(),
            brokers: brokers.clone(),
        }),
        config.events.clone(),
        core.delivery_log(),
    )
    .with_media_wait(core.clone());
    if let Some(coordinator) = &coordinator {
        let held = coordinator.held().clone();
        dispatcher = dispatcher.in_cluster(
            coordinator.housekeeping(),
            Arc::new(move |id: &str| held.holds(&crate::cluster::destination_lease(id))),
        );
    }
    dispatcher.spawn();
    let live = crate::events::live::LiveFeed::start(core.store().clone());
    let socketio = server::socketio::SocketIoServer::start(
        &config.socketio,
        core.clone(),
        plugins.clone(),
        &live,
    )?;
    let app = Arc::new(App {
        core: core.clone(),
        sim,
        plugins,
        live,
        tickets: Default::default(),
        streams: config.streams.clone().map(Arc::new),
        metrics: Default::default(),
        max_body_bytes: config.max_body_bytes,
        limits: config.server.clone(),
        console: server::console::Console::new(&config.console, tls),
        cors,
        socketio,
        brokers,
        cluster: coordinator,
    });
    Ok(app)
}

/// The message brokers of wagate.toml and of the mounted dialects' variables: core
/// learns their names (what a per-instance set may name) and which are global (what
/// the fan-out adds for every instance) before the dispatcher starts.
async fn open_brokers(
    config: &Config,
    core: &Core,
    plugins: &crate::plugin::PluginHost,
) -> anyhow::Result<Arc<crate::events::brokers::Brokers>> {
    let settings = crate::events::brokers::config::resolve(
        &config.brokers,
        &plugins.broker_env(),
        |name| std::env::var(name).ok(),
        || std::env::vars().collect(),
    )
    .context("reading the broker configuration")?;
    for b in &settings {
        tracing::info!(broker = %b.name, transport = b.transport.as_str(), global = b.global, dialect = %b.dialect, "message broker");
    }
    core.set_broker_names(
        settings
            .iter()
            .map(|b| (b.name.clone(), b.transport.as_str().to_string()))
            .collect(),
    );
    crate::core::brokers::store_globals(
        core.store(),
        settings.iter().filter_map(|b| b.global_broker()).collect(),
    )
    .await
    .context("recording the global brokers")?;
    Ok(crate::events::brokers::Brokers::new(settings))
}

/// Registers the keys the loaded plugins declare in `[[env_credentials]]` (Evolution's
/// `AUTHENTICATION_API_KEY`, say) from the environment, each with the default
/// capabilities of its kind, in its org (created if missing).
async fn register_env_credentials(
    core: &Core,
    plugins: &crate::plugin::PluginHost,
) -> anyhow::Result<()> {
    for (plugin, decl) in plugins.env_credentials() {
        let Some(key) = std::env::var(&decl.env).ok().filter(|k| !k.is_empty()) else {
            continue;
        };
        let org = decl
            .org_env
            .as_deref()
            .and_then(|v| std::env::var(v).ok())
            .filter(|o| !o.is_empty())
            .unwrap_or_else(|| decl.org.clone());
        let kind = crate::core::records::CredentialKind::new(&decl.kind);
        let caps = core.credential_kind(&kind)?.default_caps;
        core.ensure_static_credential(&org, kind, &key, caps, &decl.env)
            .await
            .with_context(|| format!("registering {} (declared by plugin `{plugin}`)", decl.env))?;
    }
    Ok(())
}

/// Binds the listen address, saying plainly when it is taken.
async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!(
                "cannot listen on {addr}: the address is already in use (is another wagate or another program running there?)"
            )
        } else {
            anyhow::anyhow!("cannot listen on {addr}: {e}")
        }
    })
}

/// SIGHUP reloads the plugins (a broken set is refused; the old one keeps serving).
fn reload_on_sighup(plugins: crate::plugin::PluginHost) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            match plugins.reload().await {
                Ok(()) => tracing::info!("plugins reloaded (SIGHUP)"),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "plugin reload refused; the old plugins keep serving")
                }
            }
        }
    });
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
