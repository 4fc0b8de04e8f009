//! A receipt: one entry with everything needed to check it offline — its
//! inclusion proof up to a signed checkpoint — and the check itself, which
//! `linli ledger verify` runs with no server.
//!
//! Only the entry's body is hashed into the log, so everything else a
//! receipt shows about the entry is checked against the body: its leaf
//! hash, its index (through the proof), and its `kind` and `at`, which the
//! body carries too. A receipt whose shown fields say something the hashed
//! body does not is refused, however the proof and signature check out.

use serde::{Deserialize, Serialize};

use super::checkpoint::{CheckpointError, SignedCheckpoint};
use super::log::StoredEntry;
use super::merkle::{self, InclusionProof};

/// An entry with everything needed to check it offline: the inclusion proof
/// up to a signed checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    pub entry: StoredEntry,
    #[schema(value_type = Object)]
    pub proof: InclusionProof,
    #[schema(value_type = Object)]
    pub checkpoint: SignedCheckpoint,
}

/// Why a receipt does not check out.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("the entry's body does not hash to its leaf hash")]
    LeafMismatch,
    #[error("the entry's {field} is not what its hashed body says")]
    Unbound { field: &'static str },
    #[error("the proof is for tree size {proof} but the checkpoint is for {checkpoint}")]
    SizeMismatch { proof: u64, checkpoint: u64 },
    #[error("the proof is for entry {proof} but the entry is {entry}")]
    IndexMismatch { proof: u64, entry: u64 },
    #[error("the inclusion proof does not lead to the checkpoint's root: {0}")]
    Inclusion(#[from] merkle::VerifyError),
    #[error("the checkpoint's signature does not verify: {0}")]
    Signature(#[from] CheckpointError),
    #[error("the receipt is from the log {found:?}, not {expected:?}")]
    OtherLog { found: String, expected: String },
}

impl Receipt {
    /// Checks the receipt against the host's public key, with no server.
    pub fn verify(&self, key: &ed25519_dalek::VerifyingKey) -> Result<(), ReceiptError> {
        let leaf = merkle::leaf_hash(self.entry.body.as_bytes());
        if hex::encode(leaf) != self.entry.leaf_hash {
            return Err(ReceiptError::LeafMismatch);
        }
        self.check_bound()?;
        if self.proof.leaf_index != self.entry.index {
            return Err(ReceiptError::IndexMismatch {
                proof: self.proof.leaf_index,
                entry: self.entry.index,
            });
        }
        if self.proof.tree_size != self.checkpoint.checkpoint.size {
            return Err(ReceiptError::SizeMismatch {
                proof: self.proof.tree_size,
                checkpoint: self.checkpoint.checkpoint.size,
            });
        }
        merkle::verify_inclusion(&leaf, &self.proof, &self.checkpoint.checkpoint.root)?;
        self.checkpoint.verify(key)?;
        Ok(())
    }

    /// [`Receipt::verify`], and that the checkpoint is of the log `origin`
    /// when one is expected: a receipt from another community's log (signed
    /// by the same host) is refused.
    pub fn verify_from(
        &self,
        key: &ed25519_dalek::VerifyingKey,
        origin: Option<&str>,
    ) -> Result<(), ReceiptError> {
        self.verify(key)?;
        match origin {
            Some(expected) if expected != self.checkpoint.checkpoint.origin => {
                Err(ReceiptError::OtherLog {
                    found: self.checkpoint.checkpoint.origin.clone(),
                    expected: expected.to_owned(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Checks that the entry's shown `kind` and `at` are the body's.
    fn check_bound(&self) -> Result<(), ReceiptError> {
        let body: serde_json::Value = serde_json::from_str(&self.entry.body)
            .map_err(|_| ReceiptError::Unbound { field: "body" })?;
        if body["kind"].as_str() != Some(self.entry.kind.as_str()) {
            return Err(ReceiptError::Unbound { field: "kind" });
        }
        if body["at"].as_i64() != Some(self.entry.at) {
            return Err(ReceiptError::Unbound { field: "at" });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use serde_json::json;

    use super::*;
    use crate::caps::ledger::checkpoint::Checkpoint;
    use crate::caps::ledger::merkle::MemoryLog;

    /// A receipt for the second of three entries, signed by `key`.
    fn receipt(key: &SigningKey) -> Receipt {
        let bodies: Vec<String> = (0..3)
            .map(|i| {
                json!({"kind": "transfer", "source": "points/pool", "target": format!("points/p{i}"),
                       "amount": 10 + i, "at": 1_767_225_600_000_i64 + i})
                .to_string()
            })
            .collect();
        let log: MemoryLog = bodies
            .iter()
            .map(|b| merkle::leaf_hash(b.as_bytes()))
            .collect();
        let checkpoint = Checkpoint {
            origin: "linli/ledger/plum-garden".into(),
            size: 3,
            root: log.root(),
            timestamp_ms: 1_767_225_600_100,
        }
        .sign(key)
        .unwrap();
        Receipt {
            entry: StoredEntry {
                index: 1,
                kind: "transfer".into(),
                body: bodies[1].clone(),
                leaf_hash: hex::encode(merkle::leaf_hash(bodies[1].as_bytes())),
                at: 1_767_225_600_001,
            },
            proof: log.inclusion_proof(1, 3).unwrap(),
            checkpoint,
        }
    }

    /// Every single-byte change to a receipt file either leaves it unreadable,
    /// or reads back as the same receipt (a hex digit's case), or fails to
    /// verify: nothing a receipt shows can be changed and still verify.
    #[test]
    fn no_byte_of_a_receipt_changes_and_still_verifies() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let original = receipt(&key);
        original.verify(&key.verifying_key()).unwrap();
        let text = serde_json::to_string(&original).unwrap();
        let canonical = serde_json::to_value(&original).unwrap();
        let mut accepted = Vec::new();
        for at in 0..text.len() {
            for replacement in [b'0', b'1', b'9', b'a', b'f', b'"', b'x'] {
                let mut bytes = text.clone().into_bytes();
                if bytes[at] == replacement {
                    continue;
                }
                bytes[at] = replacement;
                let Ok(changed) = serde_json::from_slice::<Receipt>(&bytes) else {
                    continue;
                };
                let same = serde_json::to_value(&changed).unwrap() == canonical;
                if !same && changed.verify(&key.verifying_key()).is_ok() {
                    accepted.push((at, replacement as char));
                }
            }
        }
        assert!(
            accepted.is_empty(),
            "changed and still verified: {accepted:?}"
        );
    }

    #[test]
    fn a_receipt_from_another_log_is_refused_when_a_log_is_expected() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let receipt = receipt(&key);
        let key = key.verifying_key();
        assert!(receipt.verify_from(&key, None).is_ok());
        assert!(receipt
            .verify_from(&key, Some("linli/ledger/plum-garden"))
            .is_ok());
        assert!(matches!(
            receipt.verify_from(&key, Some("linli/ledger/peach-court")),
            Err(ReceiptError::OtherLog { .. })
        ));
    }

    #[test]
    fn a_shown_kind_or_time_that_the_body_does_not_say_is_refused() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let mut kind = receipt(&key);
        kind.entry.kind = "record".into();
        assert!(matches!(
            kind.verify(&key.verifying_key()),
            Err(ReceiptError::Unbound { field: "kind" })
        ));
        let mut at = receipt(&key);
        at.entry.at += 1;
        assert!(matches!(
            at.verify(&key.verifying_key()),
            Err(ReceiptError::Unbound { field: "at" })
        ));
    }
}
