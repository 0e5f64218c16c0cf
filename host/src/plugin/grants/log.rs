//! The `log` grant: plugin log lines go to the host's tracing log, tagged with the
//! plugin's name (target `wagate::plugin::guest`).

use wasmtime::component::{HasSelf, Linker};

use crate::plugin::bindings::wit_log::{self, Level};
use crate::plugin::state::PluginState;

/// Longest message kept; the rest is cut.
const MAX_MESSAGE: usize = 4096;

/// Link `wagate:plugin/log`.
pub fn add_to_linker(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    wit_log::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    Ok(())
}

impl wit_log::Host for PluginState {
    async fn log(&mut self, level: Level, mut message: String) -> wasmtime::Result<()> {
        if message.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str("...");
        }
        let plugin = self.plugin.name.as_str();
        match level {
            Level::Trace => tracing::trace!(target: "wagate::plugin::guest", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "wagate::plugin::guest", plugin, "{message}"),
            Level::Info => tracing::info!(target: "wagate::plugin::guest", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "wagate::plugin::guest", plugin, "{message}"),
            Level::Error => tracing::error!(target: "wagate::plugin::guest", plugin, "{message}"),
        }
        Ok(())
    }
}
