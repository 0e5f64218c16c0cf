//! Compiled code cached on disk, keyed by the wasm's sha256 and the engine's
//! compatibility hash. Code is only ever loaded from this cache, after the host wrote
//! it there itself: compile once per (wasm, engine), then `deserialize_file` (mmap,
//! about 0.2 ms) on every later load and reload.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Context;
use wasmtime::Engine;
use wasmtime::component::Component;

/// The on-disk code cache.
pub struct CodeCache {
    dir: PathBuf,
}

impl CodeCache {
    /// A cache in `dir` (created if missing). The folder must be writable only by the
    /// gateway: its files are loaded as native code.
    pub fn new(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating plugin cache folder {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The cache file of a wasm with this sha256 for `engine`.
    pub fn path_for(&self, engine: &Engine, sha256: &str) -> PathBuf {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        self.dir.join(format!("{sha256}-{:016x}.cwasm", h.finish()))
    }

    /// The component for `wasm` (whose sha256 the caller computed): compiled into the
    /// cache if not there yet, then loaded from the cache file.
    pub fn load(&self, engine: &Engine, wasm: &[u8], sha256: &str) -> anyhow::Result<Component> {
        let path = self.path_for(engine, sha256);
        if path.is_file() {
            // SAFETY: the file was written by `compile_into` below from a validated
            // compilation by this same engine configuration (the name carries its
            // compatibility hash), in a folder only the gateway writes to.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "stale plugin cache entry, recompiling");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        self.compile_into(engine, wasm, &path)?;
        // SAFETY: as above; the file was just written by `compile_into`.
        unsafe { Component::deserialize_file(engine, &path) }
            .map_err(anyhow::Error::from)
            .with_context(|| format!("loading compiled plugin {}", path.display()))
    }

    fn compile_into(&self, engine: &Engine, wasm: &[u8], path: &Path) -> anyhow::Result<()> {
        let code = engine
            .precompile_component(wasm)
            .map_err(anyhow::Error::from)
            .context("compiling component")?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &code).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
        Ok(())
    }
}
