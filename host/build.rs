//! Builds the bundled plugins (and the test fixtures) for wasm32-wasip2 and embeds the
//! bundled ones into the host binary.
//!
//! Every crate under `plugins/` (except `sdk`) that has a `plugin.toml` is bundled;
//! crates under `plugins/testing/` are built too but only exposed by path
//! (`WAGATE_FIXTURES_DIR`). The inner cargo runs with the `plugin` profile and its own
//! target dir (`target/plugins`), so it never waits on the outer build's lock, and with
//! the outer build's flags removed (they are for the host target, not wasm).
//!
//! Set `WAGATE_SKIP_PLUGIN_BUILD=1` to embed no plugins (fast host-only iteration).

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sha2::{Digest, Sha256};

const WASM_TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "plugin";

struct PluginCrate {
    /// The package name (the .wasm is named after it, `-` -> `_`).
    package: String,
    dir: PathBuf,
    fixture: bool,
}

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir
        .parent()
        .expect("host/ has a parent")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let plugins_dir = root.join("plugins");

    println!("cargo:rerun-if-changed={}", plugins_dir.display());
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    println!("cargo:rerun-if-env-changed=WAGATE_SKIP_PLUGIN_BUILD");

    let plugin_target = root.join("target").join("plugins");
    let wasm_dir = plugin_target.join(WASM_TARGET).join(PROFILE);
    println!("cargo:rustc-env=WAGATE_FIXTURES_DIR={}", wasm_dir.display());

    let skip = env::var("WAGATE_SKIP_PLUGIN_BUILD").is_ok_and(|v| !v.is_empty() && v != "0");
    let crates = if skip {
        Vec::new()
    } else {
        discover(&root, &plugins_dir)
    };

    if !crates.is_empty() {
        build(&root, &plugin_target, &crates);
    }

    let mut src = String::from(
        "/// The plugins built from `plugins/` and embedded in this binary.\n\
         pub static BUNDLED: &[BundledPlugin] = &[\n",
    );
    for c in crates.iter().filter(|c| !c.fixture) {
        let wasm = wasm_dir.join(format!("{}.wasm", c.package.replace('-', "_")));
        let bytes = std::fs::read(&wasm)
            .unwrap_or_else(|e| panic!("reading built plugin {}: {e}", wasm.display()));
        let sha = hex(&Sha256::digest(&bytes));
        let manifest = c.dir.join("plugin.toml");
        writeln!(
            src,
            "    BundledPlugin {{ package: {:?}, manifest: include_str!({:?}), wasm: include_bytes!({:?}), sha256: {:?} }},",
            c.package,
            manifest.display().to_string(),
            wasm.display().to_string(),
            sha
        )
        .unwrap();
    }
    src.push_str("];\n");
    std::fs::write(out_dir.join("bundled.rs"), src).expect("writing bundled.rs");
}

/// Plugin crates: `plugins/*/` (bundled when they have a plugin.toml) and
/// `plugins/testing/*/` (fixtures). Crates that are not workspace members yet are
/// skipped with a warning (the inner cargo could not build them).
fn discover(root: &Path, plugins_dir: &Path) -> Vec<PluginCrate> {
    let members = workspace_members(root);
    let mut out = Vec::new();
    for (dir, fixture) in [
        (plugins_dir.to_path_buf(), false),
        (plugins_dir.join("testing"), true),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let cargo_toml = path.join("Cargo.toml");
            if !cargo_toml.is_file() || !path.join("plugin.toml").is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&cargo_toml).expect("reading plugin Cargo.toml");
            let value: toml::Table = text.parse().expect("parsing plugin Cargo.toml");
            let package = value["package"]["name"]
                .as_str()
                .expect("package.name")
                .to_string();
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if !is_member(&members, &rel) {
                println!(
                    "cargo:warning={rel} is not in [workspace].members of Cargo.toml; it is not built or bundled"
                );
                continue;
            }
            out.push(PluginCrate {
                package,
                dir: path,
                fixture,
            });
        }
    }
    out
}

/// `[workspace].members` of the root Cargo.toml.
fn workspace_members(root: &Path) -> Vec<String> {
    let text =
        std::fs::read_to_string(root.join("Cargo.toml")).expect("reading the root Cargo.toml");
    let value: toml::Table = text.parse().expect("parsing the root Cargo.toml");
    value
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(|s| s.trim_end_matches('/').to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `rel` (e.g. `plugins/probe`) is listed, directly or by a `dir/*` glob.
fn is_member(members: &[String], rel: &str) -> bool {
    members.iter().any(|m| {
        m == rel
            || m.strip_suffix("/*").is_some_and(|dir| {
                rel.rsplit_once('/')
                    .is_some_and(|(parent, _)| parent == dir)
            })
    })
}

/// Initial linear memory of every plugin built here, bytes (a multiple of 64 KiB).
const INITIAL_MEMORY: u32 = 4 << 20;

fn build(root: &Path, target_dir: &Path, crates: &[PluginCrate]) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .arg("build")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target")
        .arg(WASM_TARGET)
        .arg("--profile")
        .arg(PROFILE);
    for c in crates {
        cmd.arg("-p").arg(&c.package);
    }
    cmd.env("CARGO_TARGET_DIR", target_dir);
    // A 4 MiB initial linear memory (Rust's default is its 1 MiB stack plus data): a
    // call that grows its memory makes the host re-protect the pooled slot on the next
    // instantiation (an mprotect and a TLB shootdown on every call; 7% of the CPU of a
    // dialect read in the profile). Pages never touched cost nothing; the plugin's
    // memory cap still counts from this size.
    cmd.env(
        "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS",
        format!("-C link-arg=--initial-memory={}", INITIAL_MEMORY),
    );
    // Flags and wrappers of the outer build are for the host target (coverage,
    // clippy-driver, sanitizers...): none of them belongs in the wasm build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "CARGO_LLVM_COV",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    for (key, _) in env::vars() {
        if key.starts_with("CARGO_PROFILE_") || key.starts_with("CARGO_FEATURE_") {
            cmd.env_remove(key);
        }
    }
    let started = Instant::now();
    let out = cmd.output().expect("running cargo for the plugins");
    if !out.status.success() {
        panic!(
            "building plugins for {WASM_TARGET} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::write(
        target_dir.join("last-build.txt"),
        format!(
            "{} plugin crates in {:.1?}\n",
            crates.len(),
            started.elapsed()
        ),
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
