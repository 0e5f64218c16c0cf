//! Putting the gateway together: store, link, core, admin token, server.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::config::{Config, LinkKind};
use crate::core::Core;
use crate::server::{self, App};
use crate::store::Store;
use crate::whatsapp::{Link, real::WhatsAppLink, sim::SimLink};

/// Opens the data folder and starts the core on the configured link.
pub async fn open_core(config: &Config) -> anyhow::Result<Arc<Core>> {
    let store = Store::open_with(&config.data, config.max_write_batch)?;
    let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
    let link: Arc<dyn Link> = match config.link {
        LinkKind::Sim => Arc::new(SimLink::new(
            events_tx,
            Duration::from_millis(config.sim.pair_delay_ms),
        )),
        LinkKind::Whatsapp => Arc::new(
            WhatsAppLink::new(store.clone(), events_tx, &config.whatsapp)
                .context("configuring the whatsapp link")?,
        ),
    };
    let core = Core::new(store, link);
    core.start(events_rx).await?;
    Ok(core)
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
    let core = open_core(&config).await?;
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
    // Evolution API's global key, as Evolution reads it: full rights in one org
    // (WAGATE_EVOLUTION_ORG, default "default"), where instances created with it live.
    if let Some(key) = std::env::var("AUTHENTICATION_API_KEY")
        .ok()
        .filter(|k| !k.is_empty())
    {
        let org = std::env::var("WAGATE_EVOLUTION_ORG").unwrap_or_else(|_| "default".into());
        core.ensure_static_credential(
            &org,
            crate::store::records::CredentialKind::EvolutionKey,
            &key,
            crate::core::model::Capabilities::ALL,
            "AUTHENTICATION_API_KEY",
        )
        .await
        .context("registering AUTHENTICATION_API_KEY")?;
    }
    let plugins = crate::plugin::PluginHost::load(
        &config.plugins,
        core.clone(),
        &config.data.join("plugin-cache"),
    )
    .await
    .context("loading plugins")?;
    for p in plugins.plugins() {
        tracing::info!(plugin = %p.name, version = %p.version, origin = %p.origin, "plugin loaded");
    }
    for m in plugins.mounts() {
        tracing::info!(prefix = %m.prefix, dialect = %m.dialect, auth = ?m.auth, "mounted");
    }
    reload_on_sighup(plugins.clone());
    crate::events::dispatcher::Dispatcher::new(
        core.store().clone(),
        Arc::new(crate::events::transport::PluginTransport {
            plugins: plugins.clone(),
        }),
        config.events.clone(),
    )
    .spawn();
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(server::load_tls(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!("TLS needs both --tls-cert and --tls-key"),
    };
    let addr = listener.local_addr()?;
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
    let app = Arc::new(App {
        core: core.clone(),
        plugins,
        live: crate::events::live::LiveFeed::start(core.store().clone()),
        tickets: Default::default(),
        streams: config
            .streams
            .clone()
            .unwrap_or_else(crate::server::stream::default_routes),
        metrics: Default::default(),
        max_body_bytes: config.max_body_bytes,
        limits: config.server.clone(),
    });
    server::serve(app, listener, tls, shutdown).await?;
    drop(core);
    tracing::info!("stopped");
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
