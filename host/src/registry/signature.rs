//! Who wrote a package: a vendor's Ed25519 signature over the package's
//! manifest and component digest, carried in the package as
//! `signature.json`. The host checks it against its trust store of vendor
//! keys ([`super::trust`]) on upload and again whenever it loads the plugin.
//!
//! What is signed is one line of text per part, so that any tool can
//! rebuild it: `linli-package-signature-v1`, the SHA-256 of `linli.toml` as
//! packed, and the SHA-256 of `plugin.wasm`, each in lowercase hex and
//! ended by a newline.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The package entry holding the signature.
pub const ENTRY: &str = "signature.json";
const CONTEXT: &str = "linli-package-signature-v1";

/// A package's signature, as `signature.json` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageSignature {
    /// The vendor the signer says they are; must be the manifest's.
    pub vendor: String,
    /// The vendor's public key, hex (32 bytes).
    pub key: String,
    /// Ed25519 over the signed text, hex (64 bytes).
    pub signature: String,
}

/// Why a signature does not stand behind a package.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the package is not signed; sign it with `linli plugin sign` (a host run with --dev accepts unsigned packages)")]
    Unsigned,
    #[error("signature.json: {0}")]
    Malformed(String),
    #[error("the signature does not match the package: its manifest or component changed after signing, or it was signed with another key")]
    Mismatch,
    #[error("the package is signed for vendor {signed:?} but its manifest names {manifest:?}")]
    OtherVendor { signed: String, manifest: String },
    #[error("the package is signed with key {0}, which is not in this host's trust store")]
    UnknownKey(String),
    #[error("key {key} of vendor {vendor:?} is not trusted for vendor {signed:?}")]
    KeyOfAnotherVendor {
        key: String,
        vendor: String,
        signed: String,
    },
    #[error("the package is signed with key {key}, revoked: {reason}")]
    Revoked { key: String, reason: String },
}

/// The text a vendor signs for a package.
pub fn signed_text(manifest_text: &str, component_digest: &str) -> String {
    let manifest_digest = hex::encode(Sha256::digest(manifest_text.as_bytes()));
    format!("{CONTEXT}\n{manifest_digest}\n{component_digest}\n")
}

/// Signs a package's parts as `vendor`.
pub fn sign(
    key: &SigningKey,
    vendor: &str,
    manifest_text: &str,
    component_digest: &str,
) -> PackageSignature {
    let signature = key.sign(signed_text(manifest_text, component_digest).as_bytes());
    PackageSignature {
        vendor: vendor.to_owned(),
        key: hex::encode(key.verifying_key().as_bytes()),
        signature: hex::encode(signature.to_bytes()),
    }
}

/// A public key from its hex form.
pub fn parse_key(hex_key: &str) -> Result<VerifyingKey, SignatureError> {
    let bytes: [u8; 32] = hex::decode(hex_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SignatureError::Malformed("key must be 32 bytes of hex".to_owned()))?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|_| SignatureError::Malformed("key is not an Ed25519 public key".to_owned()))
}

/// Checks that `signature` is the vendor's over these parts (not yet
/// whether the host trusts the key).
pub fn check(
    signature: &PackageSignature,
    manifest_vendor: &str,
    manifest_text: &str,
    component_digest: &str,
) -> Result<(), SignatureError> {
    if signature.vendor != manifest_vendor {
        return Err(SignatureError::OtherVendor {
            signed: signature.vendor.clone(),
            manifest: manifest_vendor.to_owned(),
        });
    }
    let key = parse_key(&signature.key)?;
    let bytes: [u8; 64] = hex::decode(&signature.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SignatureError::Malformed("signature must be 64 bytes of hex".to_owned()))?;
    key.verify(
        signed_text(manifest_text, component_digest).as_bytes(),
        &Signature::from_bytes(&bytes),
    )
    .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_signature_covers_the_manifest_and_the_component() {
        let manifest = "id = \"p\"\nvendor = \"acme\"\n";
        let signed = sign(&key(1), "acme", manifest, "ab12");
        assert_eq!(check(&signed, "acme", manifest, "ab12"), Ok(()));
        assert_eq!(
            check(&signed, "acme", manifest, "ab13"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&signed, "acme", "id = \"q\"\nvendor = \"acme\"\n", "ab12"),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            check(&signed, "other", manifest, "ab12"),
            Err(SignatureError::OtherVendor { .. })
        ));
        let mut forged = sign(&key(2), "acme", manifest, "ab12");
        forged.key = signed.key.clone();
        assert_eq!(
            check(&forged, "acme", manifest, "ab12"),
            Err(SignatureError::Mismatch)
        );
    }
}
