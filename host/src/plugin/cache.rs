//! Compiled code cached on disk, keyed by the wasm's sha256 and the engine's
//! compatibility hash. Code is only ever loaded from this cache, after the host wrote
//! it there itself: compile once per (wasm, engine), then `deserialize_file` (mmap,
//! about 0.2 ms) on every later load and reload.
//!
//! `wagate serve` compiles in a child process of its own binary ([`ChildCompiler`],
//! `wagate plugin precompile`): Cranelift's scratch memory, freed but kept by malloc
//! (about a hundred MiB for the bundled plugins, interleaved with live data so that
//! `malloc_trim` cannot return it), then goes away with the child, and a first start
//! on a fresh folder is as small as a warm one. The child builds its engine from the
//! same settings, so its code carries the same compatibility hash; if it fails for
//! any reason the gateway compiles in-process instead.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Context;
use wasmtime::Engine;
use wasmtime::component::Component;

/// The on-disk code cache.
pub struct CodeCache {
    dir: PathBuf,
    compiler: Option<ChildCompiler>,
}

/// Compiles in a child process: the wagate binary and the engine settings it must
/// build the same engine from.
pub struct ChildCompiler {
    /// The wagate binary (`wagate plugin precompile`).
    pub exe: PathBuf,
    /// The engine's `max_instances`.
    pub max_instances: u32,
    /// The engine's `keep_resident` (bytes).
    pub keep_resident: Option<usize>,
}

impl CodeCache {
    /// A cache in `dir` (created if missing), compiled into by `compiler` (none: this
    /// process). The folder must be writable only by the gateway: its files are loaded
    /// as native code.
    pub fn new(dir: &Path, compiler: Option<ChildCompiler>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating plugin cache folder {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            compiler,
        })
    }

    /// The cache file of a wasm with this sha256 for `engine`.
    pub fn path_for(&self, engine: &Engine, sha256: &str) -> PathBuf {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        self.dir.join(format!("{sha256}-{:016x}.cwasm", h.finish()))
    }

    /// Compiles the components of `wasms` (bytes and sha256) not yet in the cache, all
    /// in one child process when there is a [`ChildCompiler`]; whatever it leaves out
    /// (it failed, or there is none) [`CodeCache::load`] compiles in-process.
    pub fn warm<'a>(&self, engine: &Engine, wasms: impl IntoIterator<Item = (&'a [u8], &'a str)>) {
        let Some(child) = &self.compiler else { return };
        let missing: Vec<(&[u8], PathBuf)> = wasms
            .into_iter()
            .map(|(wasm, sha256)| (wasm, self.path_for(engine, sha256)))
            .filter(|(_, path)| !path.is_file())
            .collect();
        if missing.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        match child.compile(&missing) {
            Ok(()) => tracing::info!(
                plugins = missing.len(),
                took = ?started.elapsed(),
                "plugins compiled in a child process"
            ),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "compiling plugins in a child process failed; compiling in-process")
            }
        }
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
        compile_into(engine, wasm, &path)?;
        // SAFETY: as above; the file was just written by `compile_into`.
        unsafe { Component::deserialize_file(engine, &path) }
            .map_err(anyhow::Error::from)
            .with_context(|| format!("loading compiled plugin {}", path.display()))
    }
}

impl ChildCompiler {
    /// Runs `<exe> plugin precompile` once, handing it each wasm and the cache file to
    /// write on its stdin (see [`precompile`] for the framing).
    fn compile(&self, jobs: &[(&[u8], PathBuf)]) -> anyhow::Result<()> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut cmd = Command::new(&self.exe);
        cmd.args(["plugin", "precompile", "--max-instances"])
            .arg(self.max_instances.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(bytes) = self.keep_resident {
            cmd.arg("--keep-resident-bytes").arg(bytes.to_string());
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.exe.display()))?;
        let mut stdin = child.stdin.take().context("the child's stdin")?;
        // Written from a thread of its own while this one drains the child's stderr, so
        // neither side can block on a full pipe. A child that exits early closes its
        // end: the write fails, and its exit says why.
        let (written, out) = std::thread::scope(|s| {
            let writer = s.spawn(move || {
                jobs.iter().try_for_each(|(wasm, path)| {
                    let path = path.to_str().context("a cache path that is not UTF-8")?;
                    stdin.write_all(&(path.len() as u32).to_le_bytes())?;
                    stdin.write_all(path.as_bytes())?;
                    stdin.write_all(&(wasm.len() as u64).to_le_bytes())?;
                    stdin.write_all(wasm)?;
                    anyhow::Ok(())
                })
                // `stdin` drops here: the child sees the end of its jobs.
            });
            let out = child.wait_with_output();
            let written = writer
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the writer thread panicked")));
            (written, out)
        });
        let out = out.context("waiting for the compiler")?;
        anyhow::ensure!(
            out.status.success(),
            "{} ({})",
            String::from_utf8_lossy(&out.stderr).trim(),
            out.status
        );
        written.context("handing the components to the compiler")
    }
}

/// Compiles `wasm` for `engine` into `path` (through a temporary file, renamed, so a
/// reader never sees half a file).
fn compile_into(engine: &Engine, wasm: &[u8], path: &Path) -> anyhow::Result<()> {
    let code = engine
        .precompile_component(wasm)
        .map_err(anyhow::Error::from)
        .context("compiling component")?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &code).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// The child's side (`wagate plugin precompile`): reads jobs from stdin until it
/// ends, each a cache file path (u32 little-endian length, UTF-8) and a component
/// (u64 little-endian length, bytes), and compiles each into its path with an engine
/// built from the parent's settings (one that does not compile is skipped).
pub fn precompile(max_instances: u32, keep_resident: Option<usize>) -> anyhow::Result<()> {
    use std::io::Read;
    let engine = Engine::new(&super::engine::config(max_instances, true, keep_resident))
        .map_err(anyhow::Error::from)
        .context("creating the wasmtime engine")?;
    let mut stdin = std::io::stdin().lock();
    loop {
        let mut len = [0u8; 4];
        match stdin.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e).context("reading a job"),
        }
        let mut path = vec![0u8; u32::from_le_bytes(len) as usize];
        stdin
            .read_exact(&mut path)
            .context("reading a job's path")?;
        let path = PathBuf::from(String::from_utf8(path).context("a job's path")?);
        let mut len = [0u8; 8];
        stdin.read_exact(&mut len).context("reading a job")?;
        let len = usize::try_from(u64::from_le_bytes(len)).context("a job's length")?;
        let mut wasm = Vec::new();
        (&mut stdin)
            .take(len as u64)
            .read_to_end(&mut wasm)
            .context("reading a job's component")?;
        anyhow::ensure!(wasm.len() == len, "a job's component ends early");
        // A component that does not compile is left out: the gateway's own load then
        // compiles it in-process and reports why, naming the plugin.
        if let Err(e) = compile_into(&engine, &wasm, &path) {
            eprintln!("compiling into {}: {e:#}", path.display());
        }
    }
}
