//! Plugin packages: one tar file holding `linli.toml`, `plugin.wasm` and,
//! once the vendor signed it, `signature.json`. `linli plugin pack DIR`
//! makes one, `linli plugin sign` signs it; upload unpacks and checks it.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::manifest::{Manifest, ManifestError};
use super::signature::{self, PackageSignature};

/// Largest manifest accepted.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 10;
/// Largest component accepted.
pub const MAX_COMPONENT_BYTES: u64 = 48 << 20;
/// Largest signature entry accepted.
const MAX_SIGNATURE_BYTES: u64 = 4 << 10;

/// An unpacked package.
#[derive(Debug, Clone)]
pub struct Package {
    pub manifest: Manifest,
    pub manifest_text: String,
    pub component: Vec<u8>,
    /// SHA-256 of the component, hex.
    pub digest: String,
    /// The vendor's signature, when the package carries one.
    pub signature: Option<PackageSignature>,
}

/// Why a package was refused.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("the package is not a tar archive holding linli.toml and plugin.wasm: {0}")]
    NotTar(std::io::Error),
    #[error("the package has no {0}")]
    Missing(&'static str),
    #[error("{name} is larger than {max} bytes")]
    TooLarge { name: &'static str, max: u64 },
    #[error(
        "the package holds an unexpected entry {0:?}; it must hold only linli.toml, plugin.wasm and signature.json"
    )]
    Unexpected(String),
    #[error("the package holds {0} more than once; it must hold exactly one")]
    Duplicate(&'static str),
    #[error("linli.toml is not UTF-8")]
    NotUtf8,
    #[error("signature.json: {0}")]
    BadSignatureEntry(String),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("cannot read {path}: {error}")]
    Io { path: String, error: std::io::Error },
}

fn read_limited(entry: impl Read, name: &'static str, max: u64) -> Result<Vec<u8>, PackageError> {
    let mut bytes = Vec::new();
    entry
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(PackageError::NotTar)?;
    if bytes.len() as u64 > max {
        return Err(PackageError::TooLarge { name, max });
    }
    Ok(bytes)
}

/// Unpacks and checks a package's manifest (the component is checked by the runtime).
pub fn unpack(bytes: &[u8]) -> Result<Package, PackageError> {
    let mut archive = tar::Archive::new(bytes);
    let (mut manifest, mut component, mut signature) = (None, None, None);
    for entry in archive.entries().map_err(PackageError::NotTar)? {
        let entry = entry.map_err(PackageError::NotTar)?;
        let path = entry
            .path()
            .map_err(PackageError::NotTar)?
            .to_string_lossy()
            .into_owned();
        let (slot, name, max) = match path.trim_start_matches("./") {
            "linli.toml" => (&mut manifest, "linli.toml", MAX_MANIFEST_BYTES),
            "plugin.wasm" => (&mut component, "plugin.wasm", MAX_COMPONENT_BYTES),
            signature::ENTRY => (&mut signature, signature::ENTRY, MAX_SIGNATURE_BYTES),
            "" | "." => continue,
            other => return Err(PackageError::Unexpected(other.to_owned())),
        };
        // A second entry of the same name would silently win: tar tools
        // show the first, the host would run the last.
        if slot.is_some() {
            return Err(PackageError::Duplicate(name));
        }
        *slot = Some(read_limited(entry, name, max)?);
    }
    let manifest_text = String::from_utf8(manifest.ok_or(PackageError::Missing("linli.toml"))?)
        .map_err(|_| PackageError::NotUtf8)?;
    let component = component.ok_or(PackageError::Missing("plugin.wasm"))?;
    let signature = signature
        .map(|bytes| serde_json::from_slice(&bytes))
        .transpose()
        .map_err(|e| PackageError::BadSignatureEntry(e.to_string()))?;
    Ok(Package {
        manifest: Manifest::parse(&manifest_text)?,
        manifest_text,
        digest: hex::encode(Sha256::digest(&component)),
        component,
        signature,
    })
}

/// Builds a package from a plugin directory's `linli.toml` and a component file.
pub fn pack(manifest_path: &Path, component_path: &Path) -> Result<Vec<u8>, PackageError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|error| PackageError::Io {
            path: path.display().to_string(),
            error,
        })
    };
    pack_bytes(&read(manifest_path)?, &read(component_path)?)
}

/// Builds a package from a manifest's text and a component, checking the manifest.
pub fn pack_bytes(manifest: &[u8], component: &[u8]) -> Result<Vec<u8>, PackageError> {
    Manifest::parse(std::str::from_utf8(manifest).map_err(|_| PackageError::NotUtf8)?)?;
    tar_of(&[("linli.toml", manifest), ("plugin.wasm", component)]).map_err(PackageError::NotTar)
}

/// The package signed by `key` as `vendor`: the same manifest and
/// component, with a fresh `signature.json` (any earlier one is replaced).
pub fn signed(bytes: &[u8], key: &ed25519_dalek::SigningKey) -> Result<Vec<u8>, PackageError> {
    let package = unpack(bytes)?;
    let signature = signature::sign(
        key,
        &package.manifest.vendor,
        &package.manifest_text,
        &package.digest,
    );
    let signature = serde_json::to_vec_pretty(&signature).expect("a signature serializes");
    tar_of(&[
        ("linli.toml", package.manifest_text.as_bytes()),
        ("plugin.wasm", &package.component),
        (signature::ENTRY, &signature),
    ])
    .map_err(PackageError::NotTar)
}

/// A tar archive of `entries` (name, contents), as `pack` writes packages;
/// nothing in them is checked (tests build broken packages with it).
pub fn tar_of(entries: &[(&str, &[u8])]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, *bytes)?;
    }
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_then_unpack_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("linli.toml");
        std::fs::write(
            &manifest,
            "id = \"p\"\nversion = \"0.1.0\"\nvendor = \"v\"\napi = \"0.1.0\"\ndescription = \"d\"\n",
        )
        .unwrap();
        let wasm = dir.path().join("plugin.wasm");
        std::fs::write(&wasm, b"\0asm-not-really").unwrap();
        let package = unpack(&pack(&manifest, &wasm).unwrap()).unwrap();
        assert_eq!(package.manifest.id.as_str(), "p");
        assert_eq!(package.component, b"\0asm-not-really");
    }

    #[test]
    fn refuses_a_package_with_two_manifests() {
        let tar = tar_of(&[
            ("linli.toml", b"id = \"a\""),
            ("plugin.wasm", b"\0asm"),
            ("./linli.toml", b"id = \"b\""),
        ])
        .unwrap();
        assert!(matches!(
            unpack(&tar),
            Err(PackageError::Duplicate("linli.toml"))
        ));
    }

    #[test]
    fn refuses_what_is_not_a_package() {
        assert!(matches!(
            unpack(b"hello"),
            Err(PackageError::NotTar(_) | PackageError::Missing(_))
        ));
    }
}
