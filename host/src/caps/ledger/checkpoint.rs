//! Signed checkpoints: the host's signed statement that a community's ledger
//! held `size` entries with Merkle root `root` at `timestamp_ms`.
//!
//! A checkpoint commits the host to one history. Anyone holding two
//! checkpoints of a log can ask for a consistency proof between them, and a
//! host that rewrote an entry in between cannot produce one (see
//! [`super::merkle`]). The signature binds the root to its size and to the
//! log it belongs to, which proofs alone do not.
//!
//! # What is signed
//!
//! The signature covers the checkpoint's *body*, laid out like the body of a
//! C2SP `tlog-checkpoint` signed note, with the timestamp as its one extension
//! line:
//!
//! ```text
//! <origin>\n
//! <size, decimal>\n
//! <root, standard base64 with padding>\n
//! <timestamp_ms, decimal, UTC milliseconds>\n
//! ```
//!
//! The origin names the log (one per community). It may not be empty or hold
//! control characters, so every body reads back as exactly one checkpoint. A
//! key is named by its [`KeyId`], the first 8 bytes of SHA-256 of its raw
//! public key: this is our own key id, not the signed-note key hash, so only
//! the body layout is shared with C2SP, not the note's signature lines.
//!
//! # The host key
//!
//! Each host signs with one Ed25519 [`HostKey`], kept as its 32 raw secret
//! bytes in a file that only the host's user may read. The file is created
//! with mode 0600 in the same call that creates it, so the key is never
//! readable by anyone else, not even for a moment; an existing key file that
//! others can reach is refused rather than used.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey, SECRET_KEY_LENGTH};
use hex::FromHex;
use rand::rngs::OsRng;
use rand::TryRngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::merkle::Hash;

/// A log's size and root at a moment, as the host signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The name of the log: one per community, and never reused.
    pub origin: String,
    /// The number of entries in the log.
    pub size: u64,
    /// The Merkle root of those entries, as lowercase hex.
    #[serde(with = "super::merkle::hex_hash")]
    pub root: Hash,
    /// When the host signed it, in UTC milliseconds.
    pub timestamp_ms: i64,
}

impl Checkpoint {
    /// The exact text that is signed, laid out as the module docs describe.
    pub fn body(&self) -> Result<String, CheckpointError> {
        if self.origin.is_empty() || self.origin.chars().any(char::is_control) {
            return Err(CheckpointError::InvalidOrigin(self.origin.clone()));
        }
        Ok(format!(
            "{}\n{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root),
            self.timestamp_ms
        ))
    }

    /// Signs the checkpoint's body with `key`.
    pub fn sign(self, key: &SigningKey) -> Result<SignedCheckpoint, CheckpointError> {
        let signature = key.sign(self.body()?.as_bytes());
        Ok(SignedCheckpoint {
            checkpoint: self,
            key_id: KeyId::of(&key.verifying_key()),
            signature,
        })
    }
}

/// A checkpoint with the Ed25519 signature over its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    /// What was signed.
    pub checkpoint: Checkpoint,
    /// The key that signed it, as hex.
    pub key_id: KeyId,
    /// The signature over [`Checkpoint::body`], as lowercase hex.
    #[serde(with = "signature_hex")]
    pub signature: Signature,
}

impl SignedCheckpoint {
    /// Checks that `key` signed exactly this checkpoint.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), CheckpointError> {
        let expected = KeyId::of(key);
        if self.key_id != expected {
            return Err(CheckpointError::WrongKey {
                signed_by: self.key_id,
                expected,
            });
        }
        // `verify_strict` also refuses the malleable and weak-key signatures
        // that plain Ed25519 verification lets through.
        key.verify_strict(self.checkpoint.body()?.as_bytes(), &self.signature)
            .map_err(|_| CheckpointError::BadSignature)
    }
}

/// Why a checkpoint could not be signed or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The origin is empty or holds a control character such as a newline.
    #[error(
        "a checkpoint origin must be one non-empty line without control characters, not {0:?}"
    )]
    InvalidOrigin(String),
    /// The checkpoint names another key than the one it was checked with.
    #[error("the checkpoint was signed by key {signed_by}, not by the expected key {expected}")]
    WrongKey {
        /// The key id the checkpoint carries.
        signed_by: KeyId,
        /// The id of the key it was checked with.
        expected: KeyId,
    },
    /// The signature does not match the checkpoint's contents.
    #[error("the checkpoint's signature does not match its contents")]
    BadSignature,
}

/// The name of a signing key: the first 8 bytes of SHA-256 of its raw public
/// key, shown and serialised as 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 8]);

impl KeyId {
    /// The id of `key`.
    pub fn of(key: &VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut id = [0; 8];
        id.copy_from_slice(&digest[..8]);
        Self(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        <[u8; 8]>::from_hex(&text)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// The host's Ed25519 signing key, loaded from its key file or created there
/// on first start.
#[derive(Debug)]
pub struct HostKey {
    signing_key: SigningKey,
}

impl HostKey {
    /// Loads the key at `path`, or creates one from the operating system's
    /// randomness if there is no file there yet. The directory must exist.
    pub fn load_or_create(path: &Path) -> Result<Self, HostKeyError> {
        match File::open(path) {
            Ok(file) => Self::load(path, file),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Self::create(path),
            Err(source) => Err(HostKeyError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// The key that signs checkpoints.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    /// The public half, which verifies checkpoints.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing_key.verifying_key()
    }

    /// The raw public key as lowercase hex, for publishing to auditors.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.verifying_key().as_bytes())
    }

    /// The id that this key's checkpoints carry.
    pub fn key_id(&self) -> KeyId {
        KeyId::of(&self.verifying_key())
    }

    fn load(path: &Path, mut file: File) -> Result<Self, HostKeyError> {
        let io_error = |source| HostKeyError::Io {
            path: path.to_owned(),
            source,
        };
        // The checks read the opened file itself, so the file cannot be
        // swapped between checking and reading.
        let metadata = file.metadata().map_err(io_error)?;
        if !metadata.is_file() {
            return Err(HostKeyError::Malformed {
                path: path.to_owned(),
            });
        }
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(HostKeyError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
        let mut secret = [0; SECRET_KEY_LENGTH];
        let read_whole_key = match file.read_exact(&mut secret) {
            Ok(()) => file.read(&mut [0; 1]).map_err(io_error)? == 0,
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => false,
            Err(source) => return Err(io_error(source)),
        };
        if !read_whole_key {
            return Err(HostKeyError::Malformed {
                path: path.to_owned(),
            });
        }
        Ok(Self {
            signing_key: SigningKey::from_bytes(&secret),
        })
    }

    fn create(path: &Path) -> Result<Self, HostKeyError> {
        let io_error = |source| HostKeyError::Io {
            path: path.to_owned(),
            source,
        };
        let mut secret = [0; SECRET_KEY_LENGTH];
        OsRng
            .try_fill_bytes(&mut secret)
            .map_err(HostKeyError::Randomness)?;
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        let mut file = match created {
            Ok(file) => file,
            // Another process created the key first: everyone uses that one.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                let file = File::open(path).map_err(io_error)?;
                return Self::load(path, file);
            }
            Err(source) => return Err(io_error(source)),
        };
        if let Err(source) = file.write_all(&secret).and_then(|()| file.sync_all()) {
            // A partial key must not be found on the next start; the file is
            // ours, nobody else can have used it.
            let _ = fs::remove_file(path);
            return Err(io_error(source));
        }
        Ok(Self {
            signing_key: SigningKey::from_bytes(&secret),
        })
    }
}

/// Why the host key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    /// Reading or writing the key file failed.
    #[error("cannot read or write the host key {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The key file can be reached by users other than its owner.
    #[error(
        "the host key {path} has mode {mode:o}, so other users can reach it; \
         run `chmod 600 {path}` if it has not leaked, or replace the key if it has"
    )]
    TooOpen {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is not a regular file of exactly 32 bytes.
    #[error(
        "{path} is not a host key: it must be a regular file of exactly 32 bytes; \
         restore it from a backup, or remove it to start a new key"
    )]
    Malformed {
        /// The key file.
        path: PathBuf,
    },
    /// The operating system could not provide randomness for a new key.
    #[error("cannot create a host key: no randomness from the operating system: {0}")]
    Randomness(rand::rand_core::OsError),
}

/// Serde for an Ed25519 signature as 128 lowercase hex digits.
mod signature_hex {
    use ed25519_dalek::{Signature, SIGNATURE_LENGTH};
    use hex::FromHex;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the signature's 64 bytes as hex.
    pub fn serialize<S: Serializer>(
        signature: &Signature,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(signature.to_bytes()))
    }

    /// Reads 128 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Signature, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = <[u8; SIGNATURE_LENGTH]>::from_hex(&text).map_err(serde::de::Error::custom)?;
        Ok(Signature::from_bytes(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_signing_key() -> SigningKey {
        SigningKey::from_bytes(&[7; SECRET_KEY_LENGTH])
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "linli.example/ledger/community-1".to_owned(),
            size: 1234,
            root: <[u8; 32]>::from_hex(
                "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
            )
            .unwrap(),
            timestamp_ms: 1_767_225_600_000,
        }
    }

    fn signed() -> SignedCheckpoint {
        checkpoint().sign(&host_signing_key()).unwrap()
    }

    #[test]
    fn the_body_is_a_checkpoint_note_with_a_timestamp_line() {
        assert_eq!(
            checkpoint().body().unwrap(),
            "linli.example/ledger/community-1\n\
             1234\n\
             XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\
             1767225600000\n"
        );
    }

    #[test]
    fn a_signed_checkpoint_verifies_with_the_signing_key_and_survives_json() {
        let signed = signed();
        let key = host_signing_key().verifying_key();
        assert_eq!(signed.verify(&key), Ok(()));

        let json = serde_json::to_value(&signed).unwrap();
        assert_eq!(json["checkpoint"]["root"], hex::encode(checkpoint().root));
        assert_eq!(json["key_id"], KeyId::of(&key).to_string());
        assert_eq!(json["key_id"].as_str().unwrap().len(), 16);
        assert_eq!(json["signature"], hex::encode(signed.signature.to_bytes()));
        let read_back: SignedCheckpoint = serde_json::from_value(json).unwrap();
        assert_eq!(read_back, signed);
        assert_eq!(read_back.verify(&key), Ok(()));
    }

    #[test]
    fn a_flipped_bit_in_any_field_fails_verification() {
        let key = host_signing_key().verifying_key();
        let fails = |altered: &SignedCheckpoint| altered.verify(&key).is_err();

        // Staying within ASCII keeps the origin a valid string.
        for at in 0..checkpoint().origin.len() {
            for bit in 0..7 {
                let mut altered = signed();
                let mut origin = altered.checkpoint.origin.into_bytes();
                origin[at] ^= 1 << bit;
                altered.checkpoint.origin = String::from_utf8(origin).unwrap();
                assert!(fails(&altered), "origin byte {at} bit {bit}");
            }
        }
        for bit in 0..64 {
            let mut altered = signed();
            altered.checkpoint.size ^= 1 << bit;
            assert!(fails(&altered), "size bit {bit}");

            let mut altered = signed();
            altered.checkpoint.timestamp_ms ^= 1 << bit;
            assert!(fails(&altered), "timestamp bit {bit}");

            let mut altered = signed();
            altered.key_id.0[bit / 8] ^= 1 << (bit % 8);
            assert!(fails(&altered), "key id bit {bit}");
        }
        for bit in 0..256 {
            let mut altered = signed();
            altered.checkpoint.root[bit / 8] ^= 1 << (bit % 8);
            assert!(fails(&altered), "root bit {bit}");
        }
        for bit in 0..512 {
            let mut altered = signed();
            let mut signature = altered.signature.to_bytes();
            signature[bit / 8] ^= 1 << (bit % 8);
            altered.signature = Signature::from_bytes(&signature);
            assert!(fails(&altered), "signature bit {bit}");
        }
    }

    #[test]
    fn another_key_is_named_and_refused() {
        let ours = host_signing_key().verifying_key();
        let theirs = SigningKey::from_bytes(&[9; SECRET_KEY_LENGTH]);
        let forged = checkpoint().sign(&theirs).unwrap();
        assert_eq!(
            forged.verify(&ours),
            Err(CheckpointError::WrongKey {
                signed_by: KeyId::of(&theirs.verifying_key()),
                expected: KeyId::of(&ours),
            })
        );
        let relabelled = SignedCheckpoint {
            key_id: KeyId::of(&ours),
            ..forged
        };
        assert_eq!(relabelled.verify(&ours), Err(CheckpointError::BadSignature));
    }

    #[test]
    fn an_origin_must_be_one_non_empty_line() {
        for origin in ["", "log\n5", "log\r", "tab\there"] {
            let checkpoint = Checkpoint {
                origin: origin.to_owned(),
                ..checkpoint()
            };
            assert_eq!(
                checkpoint.sign(&host_signing_key()),
                Err(CheckpointError::InvalidOrigin(origin.to_owned()))
            );
        }
    }

    #[test]
    fn a_new_host_key_is_created_private_and_loaded_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.key");

        let created = HostKey::load_or_create(&path).unwrap();
        let metadata = fs::metadata(&path).unwrap();
        assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
        assert_eq!(metadata.len(), SECRET_KEY_LENGTH as u64);

        let loaded = HostKey::load_or_create(&path).unwrap();
        assert_eq!(loaded.verifying_key(), created.verifying_key());
        assert_eq!(
            loaded.public_key_hex(),
            hex::encode(created.verifying_key().as_bytes())
        );
        assert_eq!(loaded.public_key_hex().len(), 64);
        assert_eq!(loaded.key_id(), KeyId::of(&created.verifying_key()));

        let signed = checkpoint().sign(created.signing_key()).unwrap();
        assert_eq!(signed.verify(&loaded.verifying_key()), Ok(()));

        let other = HostKey::load_or_create(&dir.path().join("other.key")).unwrap();
        assert_ne!(other.verifying_key(), created.verifying_key());
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.key");
        HostKey::load_or_create(&path).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o620] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let error = HostKey::load_or_create(&path).unwrap_err();
            assert!(
                matches!(error, HostKeyError::TooOpen { mode: reported, .. } if reported == mode),
                "mode {mode:o}: {error}"
            );
            assert!(error.to_string().contains("chmod 600"));
        }
    }

    #[test]
    fn a_key_file_of_the_wrong_length_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for length in [0, SECRET_KEY_LENGTH - 1, SECRET_KEY_LENGTH + 1] {
            let path = dir.path().join(format!("key-{length}"));
            fs::write(&path, vec![1; length]).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            assert!(matches!(
                HostKey::load_or_create(&path),
                Err(HostKeyError::Malformed { .. })
            ));
        }
    }
}
