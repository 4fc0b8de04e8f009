//! Idempotent batches. A device may name a batch with a key (the
//! `Idempotency-Key` header over HTTP, `batch` over MQTT) so that it can send
//! it again after a timeout or a host crash without its readings landing
//! twice. Keys are scoped to (community, device). The key, a digest of the
//! batch and the batch's report are written in the transaction that appends
//! the batch's readings, so a key is on record exactly when its readings
//! are; a retry with the same key returns the recorded report and stores
//! nothing, and the same key with a different batch is refused. Keys are
//! purged with the readings (see [`super::retention`]).

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::clock::Millis;
use crate::db::Tx;

/// Longest key.
pub const MAX_KEY_LEN: usize = 128;

/// A batch's key with the digest of the batch it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchKey {
    key: String,
    digest: String,
}

impl BatchKey {
    /// The key `key` (1–128 visible ASCII characters) for the batch whose bytes are `batch`.
    pub fn new(key: &[u8], batch: &[u8]) -> Result<Self, String> {
        let visible = key.iter().all(|b| (0x21..=0x7e).contains(b));
        if key.is_empty() || key.len() > MAX_KEY_LEN || !visible {
            return Err(format!(
                "must be 1-{MAX_KEY_LEN} visible ASCII characters (no spaces)"
            ));
        }
        Ok(Self {
            key: String::from_utf8_lossy(key).into_owned(),
            digest: hex::encode(Sha256::digest(batch)),
        })
    }

    /// The key as the device sent it.
    pub fn as_str(&self) -> &str {
        &self.key
    }
}

/// What the store knew of a key when a batch was recorded under it.
#[derive(Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The key is new; it is now recorded with the batch.
    New,
    /// The same batch was recorded before; its report, as JSON.
    Replay(String),
    /// The key was recorded with a different batch.
    Conflict,
}

/// Records `key` for the batch of `device` with its report, inside the
/// transaction that appends the batch's readings.
pub async fn record(
    tx: &mut Tx,
    community: &str,
    device: &str,
    key: &BatchKey,
    report: &str,
    received_at: Millis,
) -> Result<Recorded, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO ingest_batches (community_id, device_id, idempotency_key, digest, report, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (community_id, device_id, idempotency_key) DO NOTHING",
    )
    .bind(community)
    .bind(device)
    .bind(&key.key)
    .bind(&key.digest)
    .bind(report)
    .bind(received_at)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Recorded::New);
    }
    let row = sqlx::query(
        "SELECT digest, report FROM ingest_batches \
         WHERE community_id = $1 AND device_id = $2 AND idempotency_key = $3",
    )
    .bind(community)
    .bind(device)
    .bind(&key.key)
    .fetch_one(&mut **tx)
    .await?;
    let digest: String = row.try_get("digest")?;
    Ok(if digest == key.digest {
        Recorded::Replay(row.try_get("report")?)
    } else {
        Recorded::Conflict
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(BatchKey::new(b"gw-7/2026-11-23T10:00:00Z#42", b"[]").is_ok());
        assert!(BatchKey::new(&[b'k'; MAX_KEY_LEN], b"[]").is_ok());
        for bad in [
            &b""[..],
            b"has space",
            b"tab\t",
            "ключ".as_bytes(),
            &[b'k'; 129],
        ] {
            assert!(BatchKey::new(bad, b"[]").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_digest_tells_batches_apart() {
        let a = BatchKey::new(b"k", b"[1]").unwrap();
        assert_eq!(a, BatchKey::new(b"k", b"[1]").unwrap());
        assert_ne!(a, BatchKey::new(b"k", b"[2]").unwrap());
    }
}
