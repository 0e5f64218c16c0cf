//! The `log` grant: plugin log lines go to the host's tracing log, tagged with the
//! plugin's name (target `wagate::plugin::guest`).

use wasmtime::component::Linker;

use crate::plugin::bindings::wit_log::{self, Level};
use crate::plugin::state::{CallBase, CallState};

/// Longest message kept; the rest is cut.
const MAX_MESSAGE: usize = 4096;

/// Link `wagate:plugin/log`.
pub fn add_to_linker<T: CallState>(linker: &mut Linker<T>) -> anyhow::Result<()> {
    wit_log::add_to_linker::<T, super::Base>(linker, T::base)?;
    Ok(())
}

impl wit_log::Host for CallBase {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::bindings::wit_log::Host;

    #[tokio::test]
    async fn long_messages_are_cut_on_a_char_boundary() {
        let mut base = super::super::tests::base("");
        // Must not panic on a multi-byte character straddling the cut.
        let msg = "é".repeat(MAX_MESSAGE);
        base.log(Level::Info, msg).await.unwrap();
    }
}
