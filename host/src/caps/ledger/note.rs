//! A checkpoint as standard transparency-log tools read it: a C2SP signed
//! note (c2sp.org/signed-note) whose text is the checkpoint's body
//! (c2sp.org/tlog-checkpoint: origin, size, base64 root, then the
//! timestamp as an extension line), a blank line, and one signature line by
//! the host's key named after the log.
//!
//! The host already signs exactly that text ([`super::checkpoint`]), so the
//! note carries the same Ed25519 signature as the JSON view; only the key's
//! name and id are the note's: the id is the first four bytes of SHA-256 of
//! the name, a newline, the Ed25519 algorithm byte and the public key, and
//! the verifier key (`vkey`) that note tools are given is
//! `<name>+<id, 8 hex digits>+<base64 of the algorithm byte and the key>`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use super::checkpoint::{CheckpointError, SignedCheckpoint};

/// The signed-note algorithm byte of Ed25519.
const ED25519: u8 = 0x01;

/// The signed-note key id of `key` named `name`.
pub fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update([ED25519])
        .chain_update(key.as_bytes())
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The verifier key note tools take for checkpoints of the log `origin`.
pub fn verifier_key(origin: &str, key: &VerifyingKey) -> String {
    let mut encoded = vec![ED25519];
    encoded.extend(key.as_bytes());
    format!(
        "{origin}+{:08x}+{}",
        key_id(origin, key),
        BASE64.encode(encoded)
    )
}

/// `signed` as a signed note, its signature line by `key` (the host's key,
/// which made the signature) named after the checkpoint's log.
pub fn checkpoint_note(
    signed: &SignedCheckpoint,
    key: &VerifyingKey,
) -> Result<String, CheckpointError> {
    let text = signed.checkpoint.body()?;
    let name = &signed.checkpoint.origin;
    let mut signature = key_id(name, key).to_be_bytes().to_vec();
    signature.extend(signed.signature.to_bytes());
    Ok(format!(
        "{text}\n\u{2014} {name} {}\n",
        BASE64.encode(signature)
    ))
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::caps::ledger::checkpoint::Checkpoint;
    use crate::caps::ledger::merkle;

    #[test]
    fn the_note_is_the_signed_body_a_blank_line_and_one_signature_by_the_logs_name() {
        let signing = SigningKey::from_bytes(&[9; 32]);
        let signed = Checkpoint {
            origin: "linli/ledger/plum-garden".into(),
            size: 0,
            root: merkle::empty_root(),
            timestamp_ms: 1_767_225_600_000,
        }
        .sign(&signing)
        .unwrap();
        let key = signing.verifying_key();
        let note = checkpoint_note(&signed, &key).unwrap();
        let (text, signature) = note.split_once("\n\n").unwrap();
        assert_eq!(format!("{text}\n"), signed.checkpoint.body().unwrap());
        let line = signature.strip_suffix('\n').unwrap();
        let encoded = line
            .strip_prefix("\u{2014} linli/ledger/plum-garden ")
            .unwrap();
        let bytes = BASE64.decode(encoded).unwrap();
        assert_eq!(
            bytes[..4],
            key_id("linli/ledger/plum-garden", &key).to_be_bytes()
        );
        assert_eq!(bytes[4..], signed.signature.to_bytes());
        let vkey = verifier_key("linli/ledger/plum-garden", &key);
        assert!(vkey.starts_with(&format!(
            "linli/ledger/plum-garden+{:08x}+",
            key_id("linli/ledger/plum-garden", &key)
        )));
    }
}
