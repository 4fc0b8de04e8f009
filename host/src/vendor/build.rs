//! `linli plugin pack` for a plugin crate: the component cargo built (never a
//! file nobody wrote), checked to be a component, and the version written in
//! one place — `Cargo.toml` — carried into the package's manifest; and the
//! pre-release packages the dev loop uploads.

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

fn parse_toml(text: &str) -> Result<toml::Table, PackError> {
    text.parse()
        .map_err(|e: toml::de::Error| PackError::Cargo(e.message().to_owned()))
}

/// The crate's `[package]` name and version. A version inherited from the
/// workspace (`version.workspace = true`) is read from `workspace`, the
/// workspace's `Cargo.toml`, when there is one.
fn cargo_package(
    cargo_toml: &str,
    workspace: Option<&toml::Table>,
) -> Result<(String, String), PackError> {
    let value = parse_toml(cargo_toml)?;
    let package = value
        .get("package")
        .and_then(toml::Value::as_table)
        .ok_or_else(|| PackError::Cargo("no [package]".to_owned()))?;
    let inherited = |name: &str| {
        workspace?
            .get("workspace")?
            .get("package")?
            .get(name)?
            .as_str()
            .map(str::to_owned)
    };
    let field = |name: &str| {
        match package.get(name) {
        Some(toml::Value::String(value)) => Ok(value.clone()),
        Some(toml::Value::Table(t)) if t.get("workspace") == Some(&toml::Value::Boolean(true)) => {
            inherited(name).ok_or_else(|| {
                PackError::Cargo(format!(
                    "[package] {name} is inherited from a workspace that sets no [workspace.package] {name}"
                ))
            })
        }
        _ => Err(PackError::Cargo(format!("[package] has no {name} string"))),
    }
    };
    Ok((field("name")?, field("version")?))
}

/// The directory and `Cargo.toml` of the workspace the crate in `dir` is a
/// member of, if any: the nearest directory from `dir` up whose `Cargo.toml`
/// has `[workspace]` (the crate's own, when it is a workspace of one).
fn enclosing_workspace(dir: &Path) -> Option<(PathBuf, toml::Table)> {
    let dir = dir.canonicalize().ok()?;
    dir.ancestors().find_map(|parent| {
        let text = std::fs::read_to_string(parent.join("Cargo.toml")).ok()?;
        let table = parse_toml(&text).ok()?;
        table
            .contains_key("workspace")
            .then(|| (parent.to_owned(), table))
    })
}

/// A manifest that cannot be packed, and why.
fn manifest_error(reason: String) -> PackError {
    PackError::Package(PackageError::Manifest(
        crate::registry::manifest::ManifestError(reason),
    ))
}

/// The manifest as a TOML table.
fn manifest_table(manifest: &str) -> Result<toml::Table, PackError> {
    manifest
        .parse()
        .map_err(|e: toml::de::Error| manifest_error(e.message().to_owned()))
}

/// The manifest text with the crate's version: added when `linli.toml` has
/// none, refused when it names another.
fn with_version(manifest: &str, cargo_version: String) -> Result<String, PackError> {
    let table = manifest_table(manifest)?;
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
/// wasm32-wasip2, in `CARGO_TARGET_DIR` when set, else in the `target` of
/// the crate's workspace (`workspace_dir`), or of the crate itself.
pub fn built_component(dir: &Path, workspace_dir: Option<&Path>, crate_name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_dir.unwrap_or(dir).join("target"));
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

/// The manifest the package of the plugin in `dir` carries (with the
/// crate's version) and where its component is: `component` when given,
/// else the one cargo built (or `plugin.wasm` beside a manifest of no crate).
fn plugin_parts(dir: &Path, component: Option<&Path>) -> Result<(String, PathBuf), PackError> {
    let manifest_path = dir.join("linli.toml");
    let manifest = String::from_utf8(read(&manifest_path)?)
        .map_err(|_| PackError::Package(PackageError::NotUtf8))?;
    let cargo_path = dir.join("Cargo.toml");
    if !cargo_path.exists() {
        let given = component.map_or_else(|| dir.join("plugin.wasm"), Path::to_owned);
        return Ok((manifest, given));
    }
    let cargo = String::from_utf8_lossy(&read(&cargo_path)?).into_owned();
    let workspace = enclosing_workspace(dir);
    let (name, version) = cargo_package(&cargo, workspace.as_ref().map(|w| &w.1))?;
    let workspace_dir = workspace.as_ref().map(|w| w.0.as_path());
    let built = component.map_or_else(
        || built_component(dir, workspace_dir, &name),
        Path::to_owned,
    );
    Ok((with_version(&manifest, version)?, built))
}

/// The manifest the package of the plugin crate in `dir` would carry.
pub fn packed_manifest(dir: &Path) -> Result<String, PackError> {
    Ok(plugin_parts(dir, Some(Path::new("")))?.0)
}

/// The component at `path`, checked to be one.
fn component_bytes(path: PathBuf) -> Result<Vec<u8>, PackError> {
    if !path.exists() {
        return Err(PackError::NotBuilt(path));
    }
    let bytes = read(&path)?;
    check_component(&path, &bytes)?;
    Ok(bytes)
}

/// Packs the plugin crate in `dir`, with `component` or the one cargo built.
pub fn pack_crate(dir: &Path, component: Option<&Path>) -> Result<Vec<u8>, PackError> {
    let (manifest, component_path) = plugin_parts(dir, component)?;
    let bytes = component_bytes(component_path)?;
    Ok(package::pack_bytes(manifest.as_bytes(), &bytes)?)
}

/// Packs the plugin in `dir` as the pre-release `VERSION-dev.STAMP` of the
/// version `pack_crate` would give it, leaving the vendor's files as they
/// are: how the dev loop uploads every rebuild as a version of its own.
pub fn pack_dev(dir: &Path, component: Option<&Path>, stamp: u64) -> Result<Vec<u8>, PackError> {
    let (manifest, component_path) = plugin_parts(dir, component)?;
    let mut table = manifest_table(&manifest)?;
    let version = table
        .get("version")
        .and_then(toml::Value::as_str)
        .ok_or_else(|| manifest_error("version: missing (or in Cargo.toml for a crate)".into()))?;
    let mut dev =
        semver::Version::parse(version).map_err(|e| manifest_error(format!("version: {e}")))?;
    dev.pre = semver::Prerelease::new(&format!("dev.{stamp}"))
        .map_err(|e| manifest_error(format!("version: {e}")))?;
    table.insert("version".into(), toml::Value::String(dev.to_string()));
    let manifest = toml::to_string(&table).map_err(|e| manifest_error(e.to_string()))?;
    let bytes = component_bytes(component_path)?;
    Ok(package::pack_bytes(manifest.as_bytes(), &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARGO: &str = "[package]\nname = \"heat-watch\"\nversion = \"0.3.1\"\n";
    const MANIFEST: &str =
        "id = \"heat-watch\"\nvendor = \"v\"\napi = \"0.1.0\"\ndescription = \"d\"\n";

    fn version(cargo: &str, workspace: Option<&str>) -> Result<String, PackError> {
        let workspace = workspace.map(|w| parse_toml(w).unwrap());
        Ok(cargo_package(cargo, workspace.as_ref())?.1)
    }

    #[test]
    fn the_version_comes_from_cargo_toml_and_may_not_disagree() {
        let packed = with_version(MANIFEST, version(CARGO, None).unwrap()).unwrap();
        let manifest = crate::registry::manifest::Manifest::parse(&packed).unwrap();
        assert_eq!(manifest.version.to_string(), "0.3.1");
        let same = format!("version = \"0.3.1\"\n{MANIFEST}");
        assert_eq!(with_version(&same, "0.3.1".to_owned()).unwrap(), same);
        let other = format!("version = \"0.2.0\"\n{MANIFEST}");
        assert!(matches!(
            with_version(&other, "0.3.1".to_owned()),
            Err(PackError::VersionMismatch { .. })
        ));
    }

    #[test]
    fn a_version_inherited_from_the_workspace_is_the_workspace_s() {
        let member = "[package]\nname = \"heat-watch\"\nversion.workspace = true\n";
        let workspace =
            "[workspace]\nmembers = [\"heat-watch\"]\n[workspace.package]\nversion = \"2.1.0\"\n";
        assert_eq!(version(member, Some(workspace)).unwrap(), "2.1.0");
        assert!(matches!(
            version(member, Some("[workspace]\nmembers = []\n")),
            Err(PackError::Cargo(reason)) if reason.contains("inherited")
        ));
        assert!(matches!(version(member, None), Err(PackError::Cargo(_))));
    }

    #[test]
    fn a_workspace_member_is_packed_with_the_workspace_s_version_and_target() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(
            root.path().join("Cargo.toml"),
            "[workspace]\nmembers = [\"heat-watch\"]\n[workspace.package]\nversion = \"2.1.0\"\n",
        )
        .unwrap();
        let dir = root.path().join("heat-watch");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("linli.toml"), MANIFEST).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"heat-watch\"\nversion.workspace = true\n",
        )
        .unwrap();
        let (manifest, component) = plugin_parts(&dir, None).unwrap();
        assert!(manifest.starts_with("version = \"2.1.0\""));
        if std::env::var_os("CARGO_TARGET_DIR").is_none() {
            let expected = root
                .path()
                .canonicalize()
                .unwrap()
                .join("target/wasm32-wasip2/release/heat_watch.wasm");
            assert_eq!(component, expected);
        }
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

    #[test]
    fn a_dev_package_is_a_pre_release_of_the_crate_s_version_with_the_same_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = format!("{MANIFEST}[capabilities.store]\noptional = true\n");
        std::fs::write(dir.path().join("linli.toml"), &manifest).unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), CARGO).unwrap();
        let wasm = dir.path().join("x.wasm");
        std::fs::write(&wasm, b"\0asm\x0d\0\x01\0").unwrap();
        let dev = package::unpack(&pack_dev(dir.path(), Some(&wasm), 42).unwrap()).unwrap();
        assert_eq!(dev.manifest.version.to_string(), "0.3.1-dev.42");
        let release = package::unpack(&pack_crate(dir.path(), Some(&wasm)).unwrap()).unwrap();
        assert_eq!(
            (
                dev.manifest.capabilities,
                dev.manifest.optional_capabilities
            ),
            (
                release.manifest.capabilities,
                release.manifest.optional_capabilities
            )
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("linli.toml")).unwrap(),
            manifest,
            "the vendor's manifest is left as it was"
        );
    }
}
