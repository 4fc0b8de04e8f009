//! `linli plugin pack` for a plugin crate: the component cargo built (never a
//! file nobody wrote), checked to be a component, and the version written in
//! one place — `Cargo.toml` — carried into the package's manifest.

use std::path::{Path, PathBuf};

use crate::registry::package::{self, PackageError};

/// Why a crate could not be packed.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(
        "{0}: no such file; build the plugin first (cargo build --release --target wasm32-wasip2)"
    )]
    NotBuilt(PathBuf),
    #[error("{0} is a core WebAssembly module, not a component; build it for wasm32-wasip2")]
    CoreModule(PathBuf),
    #[error("{0} is not WebAssembly")]
    NotWasm(PathBuf),
    #[error("Cargo.toml: {0}")]
    Cargo(String),
    #[error(
        "linli.toml says version {manifest} but Cargo.toml says {cargo}; \
         keep the version in Cargo.toml only"
    )]
    VersionMismatch { manifest: String, cargo: String },
    #[error("cannot read {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Package(#[from] PackageError),
}

fn read(path: &Path) -> Result<Vec<u8>, PackError> {
    std::fs::read(path).map_err(|error| PackError::Io {
        path: path.to_owned(),
        error,
    })
}

/// The crate's `[package]` name and version.
fn cargo_package(cargo_toml: &str) -> Result<(String, String), PackError> {
    let value: toml::Table = cargo_toml
        .parse()
        .map_err(|e: toml::de::Error| PackError::Cargo(e.message().to_owned()))?;
    let package = value
        .get("package")
        .and_then(toml::Value::as_table)
        .ok_or_else(|| PackError::Cargo("no [package]".to_owned()))?;
    let field = |name: &str| {
        package
            .get(name)
            .and_then(toml::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| PackError::Cargo(format!("[package] has no {name} string")))
    };
    Ok((field("name")?, field("version")?))
}

/// The manifest text with the crate's version: added when `linli.toml` has
/// none, refused when it names another.
pub fn with_version(manifest: &str, cargo_toml: &str) -> Result<String, PackError> {
    let (_, cargo_version) = cargo_package(cargo_toml)?;
    let table: toml::Table = manifest.parse().map_err(|e: toml::de::Error| {
        PackError::Package(PackageError::Manifest(
            crate::registry::manifest::ManifestError(e.message().to_owned()),
        ))
    })?;
    match table.get("version").and_then(toml::Value::as_str) {
        Some(version) if version == cargo_version => Ok(manifest.to_owned()),
        Some(version) => Err(PackError::VersionMismatch {
            manifest: version.to_owned(),
            cargo: cargo_version,
        }),
        // Top-level keys come before any table, so the first line is safe.
        None => Ok(format!("version = {cargo_version:?}\n{manifest}")),
    }
}

/// Where cargo put the crate's component: the release build for
/// wasm32-wasip2, in `CARGO_TARGET_DIR` when set, else the crate's `target`.
pub fn built_component(dir: &Path, crate_name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("target"));
    target
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")))
}

/// Checks that `bytes` are a component, not a core module or anything else.
fn check_component(path: &Path, bytes: &[u8]) -> Result<(), PackError> {
    match bytes.get(..8) {
        // The preamble: magic, then the version and layer (1 for components).
        Some([0, b'a', b's', b'm', _, _, 1, 0]) => Ok(()),
        Some([0, b'a', b's', b'm', _, _, 0, 0]) => Err(PackError::CoreModule(path.to_owned())),
        _ => Err(PackError::NotWasm(path.to_owned())),
    }
}

/// Packs the plugin crate in `dir`, with `component` or the one cargo built.
pub fn pack_crate(dir: &Path, component: Option<&Path>) -> Result<Vec<u8>, PackError> {
    let manifest_path = dir.join("linli.toml");
    let manifest = String::from_utf8(read(&manifest_path)?)
        .map_err(|_| PackError::Package(PackageError::NotUtf8))?;
    let cargo_path = dir.join("Cargo.toml");
    let (manifest, component_path) = if cargo_path.exists() {
        let cargo = String::from_utf8_lossy(&read(&cargo_path)?).into_owned();
        let (name, _) = cargo_package(&cargo)?;
        let built = component.map_or_else(|| built_component(dir, &name), Path::to_owned);
        (with_version(&manifest, &cargo)?, built)
    } else {
        let given = component.map_or_else(|| dir.join("plugin.wasm"), Path::to_owned);
        (manifest, given)
    };
    if !component_path.exists() {
        return Err(PackError::NotBuilt(component_path));
    }
    let bytes = read(&component_path)?;
    check_component(&component_path, &bytes)?;
    Ok(package::pack_bytes(manifest.as_bytes(), &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARGO: &str = "[package]\nname = \"heat-watch\"\nversion = \"0.3.1\"\n";
    const MANIFEST: &str =
        "id = \"heat-watch\"\nvendor = \"v\"\napi = \"0.1.0\"\ndescription = \"d\"\n";

    #[test]
    fn the_version_comes_from_cargo_toml_and_may_not_disagree() {
        let packed = with_version(MANIFEST, CARGO).unwrap();
        let manifest = crate::registry::manifest::Manifest::parse(&packed).unwrap();
        assert_eq!(manifest.version.to_string(), "0.3.1");
        let same = format!("version = \"0.3.1\"\n{MANIFEST}");
        assert_eq!(with_version(&same, CARGO).unwrap(), same);
        let other = format!("version = \"0.2.0\"\n{MANIFEST}");
        assert!(matches!(
            with_version(&other, CARGO),
            Err(PackError::VersionMismatch { .. })
        ));
    }

    #[test]
    fn only_a_component_is_packed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("linli.toml"), MANIFEST).unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), CARGO).unwrap();
        let wasm = dir.path().join("x.wasm");
        assert!(matches!(
            pack_crate(dir.path(), Some(&wasm)),
            Err(PackError::NotBuilt(_))
        ));
        std::fs::write(&wasm, b"\0asm\x01\0\0\0").unwrap();
        assert!(matches!(
            pack_crate(dir.path(), Some(&wasm)),
            Err(PackError::CoreModule(_))
        ));
        std::fs::write(&wasm, b"not wasm at all").unwrap();
        assert!(matches!(
            pack_crate(dir.path(), Some(&wasm)),
            Err(PackError::NotWasm(_))
        ));
        std::fs::write(&wasm, b"\0asm\x0d\0\x01\0").unwrap();
        let package = package::unpack(&pack_crate(dir.path(), Some(&wasm)).unwrap()).unwrap();
        assert_eq!(package.manifest.version.to_string(), "0.3.1");
    }
}
