//! A vendor's signing key on disk: the 32-byte Ed25519 secret as hex in a
//! file only its owner reads, and the public key beside it (`FILE.pub`),
//! which a platform admin adds to a host's trust store.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

/// Why a key file could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0} already exists; a signing key is never overwritten")]
    Exists(PathBuf),
    #[error("{0} is not a linli signing key (64 hex digits)")]
    Malformed(PathBuf),
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |error| KeyError::Io {
        path: path.to_owned(),
        error,
    }
}

/// Makes a new key at `path` (and `path.pub`); returns the public key, hex.
pub fn generate(path: &Path) -> Result<String, KeyError> {
    let public_path = path.with_extension("pub");
    for existing in [path, public_path.as_path()] {
        if existing.exists() {
            return Err(KeyError::Exists(existing.to_owned()));
        }
    }
    let key = SigningKey::from_bytes(&rand::random());
    let public = hex::encode(key.verifying_key().as_bytes());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io(path))?;
    std::io::Write::write_all(
        &mut file,
        format!("{}\n", hex::encode(key.to_bytes())).as_bytes(),
    )
    .map_err(io(path))?;
    std::fs::write(&public_path, format!("{public}\n")).map_err(io(&public_path))?;
    Ok(public)
}

/// Reads the secret key at `path`.
pub fn read_secret(path: &Path) -> Result<SigningKey, KeyError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| KeyError::Malformed(path.to_owned()))?;
    Ok(SigningKey::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_written_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acme.key");
        let public = generate(&path).unwrap();
        let key = read_secret(&path).unwrap();
        assert_eq!(hex::encode(key.verifying_key().as_bytes()), public);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("acme.pub"))
                .unwrap()
                .trim(),
            public
        );
        assert!(matches!(generate(&path), Err(KeyError::Exists(_))));
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(read_secret(&path), Err(KeyError::Malformed(_))));
    }
}
