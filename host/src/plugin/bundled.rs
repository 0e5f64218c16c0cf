//! The plugins built from `plugins/` by `host/build.rs` and embedded in the binary.

/// One embedded plugin.
pub struct BundledPlugin {
    /// The crate's package name.
    pub package: &'static str,
    /// Its plugin.toml.
    pub manifest: &'static str,
    /// The component.
    pub wasm: &'static [u8],
    /// Hex sha256 of `wasm`, computed at build time.
    pub sha256: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// Where the build put the compiled test fixtures (`plugins/testing/*`), e.g.
/// `fixture_dialect.wasm`. Only meaningful on the machine that built this binary.
pub const FIXTURES_DIR: &str = env!("WAGATE_FIXTURES_DIR");
