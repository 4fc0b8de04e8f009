//! One unit's ballot, and what makes a secret one verifiable without
//! saying how the unit voted.
//!
//! Every ballot is a `voting/ballot` record on the community ledger naming
//! its unit and who cast it: participation is public, as it must be for
//! anyone to check the quorum. An open ballot's record holds the choice. A
//! secret ballot's record holds a **seal** instead,
//!
//! ```text
//! seal = hex(sha256("linli-voting/seal/v1\n" motion "\n" unit "\n" seq "\n" choice "\n" nonce))
//! ```
//!
//! where `nonce` is 32 random bytes in lowercase hex, given to the voter
//! alone in the reply to `vote` (and again by `my-ballot`), and `choice` is
//! [`Choice::text`]. The seal binds the record to one choice (the plugin
//! cannot later count it otherwise without the voter noticing) and says
//! nothing of it to anyone without the nonce.
//!
//! At close the tally publishes, for each counted secret ballot, a line
//! with the ballot's **tag**, `hex(sha256("linli-voting/tag/v1\n" nonce))`,
//! its choice and its weight, but not its unit or seal. The voter, who
//! holds the nonce, finds their line by its tag and checks its choice;
//! anyone can recount the lines; nobody else can tell which record a line
//! belongs to. README.md ("Secret ballots") says what that does and does
//! not protect.

use linli_sdk::ledger::EntryRef;
use linli_sdk::Error;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::options::Choice;

/// Where a record landed on the ledger, as a voter's reply gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryPlace {
    /// The entry's position in the community log: its receipt is
    /// `GET …/ledger/entries/{index}/receipt`.
    pub index: u64,
    pub leaf_hash: String,
}

impl From<EntryRef> for EntryPlace {
    fn from(entry: EntryRef) -> Self {
        Self {
            index: entry.index,
            leaf_hash: entry.leaf_hash,
        }
    }
}

/// How the person who cast a ballot came to cast it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "as")]
pub enum Capacity {
    /// An owner of the unit (its only owner, or the co-owner who holds it).
    Owner,
    /// The person the community named to cast the developer's units.
    Developer,
    /// A proxy authorised in writing by `for_person`.
    Proxy {
        #[serde(rename = "for")]
        for_person: String,
    },
}

/// What keeps a secret ballot's choice checkable: the voter's nonce and
/// the seal recorded on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub nonce: String,
    pub seal: String,
}

/// A ballot as the plugin keeps it until (and after) close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ballot {
    /// 1 for the unit's first ballot, 2 for the one that replaced it, …
    pub seq: u32,
    pub choice: Choice,
    pub cast_by: String,
    pub capacity: Capacity,
    pub at: i64,
    pub entry: EntryPlace,
    /// Present on a secret motion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<Sealed>,
}

/// 32 fresh random bytes, in lowercase hex.
pub fn fresh_nonce() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Internal(format!("no randomness for a ballot's nonce: {e}")))?;
    Ok(hex::encode(bytes))
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The seal a secret ballot's record holds (see the module's header).
pub fn seal(motion: &str, unit: &str, seq: u32, choice: &Choice, nonce: &str) -> String {
    sha256_hex(&format!(
        "linli-voting/seal/v1\n{motion}\n{unit}\n{seq}\n{}\n{nonce}",
        choice.text()
    ))
}

/// The tag under which a secret ballot's line appears in the tally.
pub fn tag(nonce: &str) -> String {
    sha256_hex(&format!("linli-voting/tag/v1\n{nonce}"))
}

impl Sealed {
    /// Seals `choice` for `unit`'s ballot number `seq` with a fresh nonce.
    pub fn new(motion: &str, unit: &str, seq: u32, choice: &Choice) -> Result<Self, Error> {
        let nonce = fresh_nonce()?;
        Ok(Self {
            seal: seal(motion, unit, seq, choice, &nonce),
            nonce,
        })
    }

    /// This ballot's tag in the tally.
    pub fn tag(&self) -> String {
        tag(&self.nonce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_is_the_documented_hash() {
        // sha256 of the exact text, as a verifier rebuilds it.
        let text = "linli-voting/seal/v1\nmotion-1\nb1-101\n1\nagree\n00ff";
        assert_eq!(
            seal("motion-1", "b1-101", 1, &Choice::Agree, "00ff"),
            hex::encode(Sha256::digest(text.as_bytes()))
        );
        assert_eq!(
            tag("00ff"),
            hex::encode(Sha256::digest(b"linli-voting/tag/v1\n00ff"))
        );
    }

    #[test]
    fn a_seal_binds_its_choice_unit_and_sequence() {
        let nonce = "ab".repeat(32);
        let agree = seal("motion-1", "u1", 1, &Choice::Agree, &nonce);
        assert_ne!(agree, seal("motion-1", "u1", 1, &Choice::Disagree, &nonce));
        assert_ne!(agree, seal("motion-1", "u2", 1, &Choice::Agree, &nonce));
        assert_ne!(agree, seal("motion-1", "u1", 2, &Choice::Agree, &nonce));
        assert_ne!(agree, tag(&nonce), "the tag cannot be matched to the seal");
    }

    #[test]
    fn every_ballot_gets_its_own_nonce() {
        let a = Sealed::new("m", "u", 1, &Choice::Agree).unwrap();
        let b = Sealed::new("m", "u", 1, &Choice::Agree).unwrap();
        assert_eq!(a.nonce.len(), 64);
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.seal, b.seal, "the same choice twice looks different");
        assert_eq!(a.seal, seal("m", "u", 1, &Choice::Agree, &a.nonce));
    }

    #[test]
    fn capacities_read_as_records_write_them() {
        let proxy = Capacity::Proxy {
            for_person: "ann".into(),
        };
        let json = serde_json::to_value(&proxy).unwrap();
        assert_eq!(json, serde_json::json!({"as": "proxy", "for": "ann"}));
        assert_eq!(serde_json::from_value::<Capacity>(json).unwrap(), proxy);
    }
}
