//! `wagate plugin check FILE`: validate a component against the contract and describe it.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use super::compat::{AuthPre, Contract, DialectPre, SinkPre};
use super::manifest::Grant;
use super::registry::sha256_hex;

/// `wagate plugin check FILE`: validate a component and print world/imports/exports.
///
/// The component must compile, link against this host's interfaces (wagate contract
/// plus an empty WASI), and implement at least one world (auth, dialect, sink) with
/// matching types. The report lists the worlds it implements, the grants its manifest
/// needs (`grants.imports`), its imports and exports, and its sha256 for pinning in the
/// manifest. If a `plugin.toml` sits beside the file, it is checked against the
/// component too.
pub fn check_component(path: &Path) -> anyhow::Result<String> {
    let beside = path.with_file_name("plugin.toml");
    check_component_with(path, beside.is_file().then_some(beside.as_path()))
}

/// [`check_component`] with an explicit manifest to check the component against.
pub fn check_component_with(path: &Path, manifest: Option<&Path>) -> anyhow::Result<String> {
    let wasm = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let engine =
        Engine::new(&super::engine::config(1, false, None)).map_err(anyhow::Error::from)?;
    let component = Component::new(&engine, &wasm)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{} is not a valid WebAssembly component", path.display()))?;

    let linkers = super::registry::Linkers::new(&engine)?;
    let ty = component.component_type();

    let mut imports = Vec::new();
    let mut needed = Vec::new();
    let mut problems = Vec::new();
    for (name, item) in ty.imports(&engine) {
        imports.push(describe(name, &item.ty, &engine));
        if let Some(g) = Grant::from_import(name) {
            needed.push(g.interface());
        } else if !name.starts_with("wasi:")
            && name.split('@').next() != Some("wagate:plugin/types")
        {
            problems.push(format!(
                "imports `{name}`, which is neither part of the wagate contract nor WASI"
            ));
        }
        if let Some(v) = name
            .strip_prefix("wagate:plugin/")
            .and_then(|r| r.split_once('@'))
            .map(|(_, v)| v)
            && Contract::of_version(v).is_none()
        {
            problems.push(format!(
                "imports `{name}`; this host serves contract {}",
                super::compat::supported()
            ));
        }
    }
    let exports: Vec<String> = ty
        .exports(&engine)
        .map(|(n, item)| describe(n, &item.ty, &engine))
        .collect();

    let mut worlds = Vec::new();
    let mut mismatches = Vec::new();
    let contract = match Contract::of_component(&engine, &component) {
        Ok(c) => Some(c),
        Err(e) => {
            problems.push(format!("{e:#}"));
            None
        }
    };
    if let (true, Some(contract)) = (problems.is_empty(), contract) {
        // Linking is checked against each world's interfaces; a link failure shows as
        // that world's mismatch.
        let link = |l| super::registry::instantiate_pre(l, &engine, &component, "check");
        match link(&linkers.auth)
            .and_then(|pre| AuthPre::new(contract, pre).map_err(anyhow::Error::from))
        {
            Ok(_) => worlds.push("auth"),
            Err(e) => mismatches.push(format!("auth: {e:#}")),
        }
        let link = |l| super::registry::instantiate_pre(l, &engine, &component, "check");
        match link(&linkers.dialect)
            .and_then(|pre| DialectPre::new(contract, pre).map_err(anyhow::Error::from))
        {
            Ok(_) => worlds.push("dialect"),
            Err(e) => mismatches.push(format!("dialect: {e:#}")),
        }
        let link = |l| super::registry::instantiate_pre(l, &engine, &component, "check");
        match link(&linkers.sink)
            .and_then(|pre| SinkPre::new(contract, pre).map_err(anyhow::Error::from))
        {
            Ok(_) => worlds.push("sink"),
            Err(e) => mismatches.push(format!("sink: {e:#}")),
        }
    }
    if !problems.is_empty() {
        anyhow::bail!("{}: {}", path.display(), problems.join("; "));
    }
    if worlds.is_empty() {
        anyhow::bail!(
            "{} implements none of the worlds auth, dialect, sink:\n  {}",
            path.display(),
            mismatches.join("\n  ")
        );
    }

    let mut out = String::new();
    let _ = writeln!(out, "{}: ok", path.display());
    let _ = writeln!(out, "size:    {} bytes", wasm.len());
    let _ = writeln!(out, "sha256:  {}", sha256_hex(&wasm));
    let _ = writeln!(out, "worlds:  {}", worlds.join(", "));
    if let Some(c) = contract {
        let _ = writeln!(out, "contract: wagate:plugin@{}", c.version());
    }
    needed.sort();
    needed.dedup();
    let _ = writeln!(out, "grants:  imports = {:?}", needed);
    let _ = writeln!(out, "imports:");
    for i in &imports {
        let _ = writeln!(out, "  {i}");
    }
    let _ = writeln!(out, "exports:");
    for e in &exports {
        let _ = writeln!(out, "  {e}");
    }

    if let Some(manifest_path) = manifest {
        let text = std::fs::read_to_string(manifest_path)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        match super::manifest::Manifest::parse(&text) {
            Ok(m) => {
                let missing: Vec<&str> = needed
                    .iter()
                    .copied()
                    .filter(|n| !m.grants.imports.iter().any(|g| g.interface() == *n))
                    .collect();
                let undeclared: Vec<&str> = m
                    .worlds
                    .iter()
                    .map(|w| w.as_str())
                    .filter(|w| !worlds.contains(w))
                    .collect();
                if missing.is_empty() && undeclared.is_empty() {
                    let _ = writeln!(out, "manifest {}: ok", manifest_path.display());
                } else {
                    anyhow::bail!(
                        "{}: manifest {} does not fit the component: ungranted imports {:?}, unimplemented worlds {:?}",
                        path.display(),
                        manifest_path.display(),
                        missing,
                        undeclared
                    );
                }
            }
            Err(e) => anyhow::bail!("{}: {e:#}", manifest_path.display()),
        }
    }
    Ok(out)
}

fn describe(name: &str, item: &ComponentItem, engine: &Engine) -> String {
    match item {
        ComponentItem::ComponentInstance(inst) => {
            let funcs: Vec<&str> = inst
                .exports(engine)
                .filter(|(_, e)| matches!(e.ty, ComponentItem::ComponentFunc(_)))
                .map(|(n, _)| n)
                .collect();
            if funcs.is_empty() {
                name.to_string()
            } else {
                format!("{name} {{ {} }}", funcs.join(", "))
            }
        }
        ComponentItem::ComponentFunc(_) => format!("{name}: func"),
        ComponentItem::Type(_) => format!("{name}: type"),
        _ => name.to_string(),
    }
}
