//! Who may cast a unit's ballot, and how that passes from hand to hand.
//!
//! - A unit with one owner: that owner.
//! - A unit with several owners (共有): one ballot all the same, cast by
//!   the co-owner who **holds** it for this motion. The first co-owner to
//!   act on the unit — casting its ballot, designating a co-owner, or
//!   authorising a proxy — holds it; the holder may hand it to another
//!   co-owner with `designate` until the ballot is cast. Co-owners who
//!   agreed among themselves who votes simply let that one act first.
//! - The developer's units: the person the community named in the config
//!   (`developer-voter`), if any; otherwise nobody, and they count only in
//!   the totals.
//! - Whoever could cast it may instead authorise a proxy in writing (the
//!   document's SHA-256 is recorded). While the proxy stands only the proxy
//!   casts; the grantor may revoke it until the proxy has cast.
//!
//! Everything here is a pure function of the unit's roll entry and its
//! vote state, so each rule is tested on its own.

use serde::{Deserialize, Serialize};

use crate::ballot::{Ballot, Capacity, EntryPlace};
use crate::roll::Voter;

/// A written proxy for one unit's ballot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proxy {
    pub proxy: String,
    pub granted_by: String,
    /// SHA-256 of the signed authorisation (委托书), in lowercase hex.
    pub document_sha256: String,
    /// The `voting/proxy` record of the grant.
    pub entry: EntryPlace,
}

/// What has happened to one unit's ballot in one motion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitVote {
    /// The co-owner holding the unit's ballot, once one has acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// Who handed the ballot to the holder, when it was designated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub designated_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<Proxy>,
    /// Grants and revocations of proxies so far: numbers their records.
    #[serde(default)]
    pub proxy_records: u32,
    /// The ballot that counts: the last one cast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballot: Option<Ballot>,
}

/// Why someone may not do what they asked with a unit's ballot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// They do not own the unit and nobody made them its proxy.
    NotTheirs,
    /// A co-owner holds the unit's ballot for this motion.
    HeldBy(String),
    /// A proxy stands for the unit: only the proxy casts.
    Proxied { proxy: String, granted_by: String },
    /// A developer's unit: only the community's developer voter casts it.
    DevelopersOnly { voter: Option<String> },
    /// The ballot is cast and the motion does not let it change.
    Final,
    /// The ballot is cast, so it can no longer be handed on.
    AlreadyCast,
    /// A designee must be a co-owner of the unit.
    NotACoOwner(String),
    /// There is no proxy of theirs to revoke.
    NoProxyOfTheirs,
}

impl Refusal {
    /// The refusal as a reply states it, for `unit`.
    pub fn explain(&self, unit: &str) -> String {
        match self {
            Refusal::NotTheirs => format!("{unit}: you neither own it nor are its proxy"),
            Refusal::HeldBy(holder) => format!(
                "{unit}: its ballot is held by co-owner {holder}, who acted first; they may designate you"
            ),
            Refusal::Proxied { proxy, granted_by } => format!(
                "{unit}: {granted_by} authorised {proxy} as proxy; only {proxy} casts it until {granted_by} revokes the proxy"
            ),
            Refusal::DevelopersOnly { voter: Some(voter) } => {
                format!("{unit}: an unsold unit, cast by the developer's voter {voter}")
            }
            Refusal::DevelopersOnly { voter: None } => format!(
                "{unit}: an unsold unit, and the community named nobody to cast the developer's ballots"
            ),
            Refusal::Final => format!("{unit}: its ballot is cast and this motion does not let ballots change"),
            Refusal::AlreadyCast => format!("{unit}: its ballot is already cast"),
            Refusal::NotACoOwner(designee) => format!("{unit}: {designee} is not one of its owners"),
            Refusal::NoProxyOfTheirs => format!("{unit}: you authorised no proxy for it"),
        }
    }
}

impl UnitVote {
    /// In what capacity `person` could cast the unit's ballot now.
    pub fn capacity(
        &self,
        voter: &Voter,
        developer_voter: Option<&str>,
        person: &str,
    ) -> Result<Capacity, Refusal> {
        if let Some(proxy) = &self.proxy {
            return if proxy.proxy == person {
                Ok(Capacity::Proxy {
                    for_person: proxy.granted_by.clone(),
                })
            } else {
                Err(Refusal::Proxied {
                    proxy: proxy.proxy.clone(),
                    granted_by: proxy.granted_by.clone(),
                })
            };
        }
        if voter.developer {
            return if developer_voter == Some(person) {
                Ok(Capacity::Developer)
            } else {
                Err(Refusal::DevelopersOnly {
                    voter: developer_voter.map(str::to_owned),
                })
            };
        }
        if !voter.owners.iter().any(|o| o == person) {
            return Err(Refusal::NotTheirs);
        }
        match &self.holder {
            Some(holder) if holder != person => Err(Refusal::HeldBy(holder.clone())),
            _ => Ok(Capacity::Owner),
        }
    }

    /// Checks that `person` may cast (or, when `changes_allowed`, recast)
    /// the ballot, and makes them its holder if they are a co-owner acting
    /// first.
    pub fn claim_for_casting(
        &mut self,
        voter: &Voter,
        developer_voter: Option<&str>,
        person: &str,
        changes_allowed: bool,
    ) -> Result<Capacity, Refusal> {
        let capacity = self.capacity(voter, developer_voter, person)?;
        if self.ballot.is_some() && !changes_allowed {
            return Err(Refusal::Final);
        }
        if capacity == Capacity::Owner {
            self.holder.get_or_insert_with(|| person.to_owned());
        }
        Ok(capacity)
    }

    /// `person`, a co-owner, hands the unit's ballot to co-owner `designee`.
    pub fn designate(
        &mut self,
        voter: &Voter,
        person: &str,
        designee: &str,
    ) -> Result<(), Refusal> {
        if self.capacity(voter, None, person)? != Capacity::Owner {
            return Err(Refusal::NotTheirs);
        }
        if self.ballot.is_some() {
            return Err(Refusal::AlreadyCast);
        }
        if !voter.owners.iter().any(|o| o == designee) {
            return Err(Refusal::NotACoOwner(designee.to_owned()));
        }
        self.holder = Some(designee.to_owned());
        self.designated_by = Some(person.to_owned());
        Ok(())
    }

    /// Checks that `person` may authorise a proxy for the unit: they could
    /// cast it themselves (not as someone's proxy) and it is not cast yet.
    /// A co-owner acting first becomes its holder.
    pub fn claim_for_proxy(
        &mut self,
        voter: &Voter,
        developer_voter: Option<&str>,
        person: &str,
    ) -> Result<(), Refusal> {
        match self.capacity(voter, developer_voter, person)? {
            Capacity::Proxy { .. } => return Err(Refusal::NotTheirs),
            Capacity::Owner => {
                self.holder.get_or_insert_with(|| person.to_owned());
            }
            Capacity::Developer => {}
        }
        if self.ballot.is_some() {
            return Err(Refusal::AlreadyCast);
        }
        Ok(())
    }

    /// `person` revokes the proxy they authorised, which has not cast yet.
    pub fn revoke(&mut self, person: &str) -> Result<Proxy, Refusal> {
        match &self.proxy {
            Some(proxy) if proxy.granted_by == person => {}
            _ => return Err(Refusal::NoProxyOfTheirs),
        }
        if self.ballot.is_some() {
            return Err(Refusal::AlreadyCast);
        }
        Ok(self.proxy.take().expect("checked above"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::area::Area;
    use crate::options::Choice;

    fn owned_by(owners: &[&str]) -> Voter {
        Voter {
            area: Area::from_hundredths(8920),
            head: "h1".into(),
            owners: owners.iter().map(|o| (*o).to_owned()).collect(),
            developer: false,
        }
    }

    fn developers() -> Voter {
        Voter {
            area: Area::from_hundredths(8920),
            head: "developer".into(),
            owners: Vec::new(),
            developer: true,
        }
    }

    fn cast(vote: &mut UnitVote, by: &str) {
        vote.ballot = Some(Ballot {
            seq: 1,
            choice: Choice::Agree,
            cast_by: by.into(),
            capacity: Capacity::Owner,
            at: 0,
            entry: EntryPlace {
                index: 0,
                leaf_hash: String::new(),
            },
            sealed: None,
        });
    }

    fn proxy(vote: &mut UnitVote, proxy: &str, by: &str) {
        vote.proxy = Some(Proxy {
            proxy: proxy.into(),
            granted_by: by.into(),
            document_sha256: "0".repeat(64),
            entry: EntryPlace {
                index: 0,
                leaf_hash: String::new(),
            },
        });
    }

    #[test]
    fn an_owner_casts_their_unit_and_nobody_else_does() {
        let voter = owned_by(&["ann"]);
        let mut vote = UnitVote::default();
        assert_eq!(vote.capacity(&voter, None, "ben"), Err(Refusal::NotTheirs));
        assert_eq!(
            vote.claim_for_casting(&voter, None, "ann", false),
            Ok(Capacity::Owner)
        );
    }

    #[test]
    fn the_first_co_owner_to_act_holds_the_ballot() {
        let voter = owned_by(&["ann", "ben"]);
        let mut vote = UnitVote::default();
        vote.claim_for_casting(&voter, None, "ben", true).unwrap();
        assert_eq!(vote.holder.as_deref(), Some("ben"));
        assert_eq!(
            vote.claim_for_casting(&voter, None, "ann", true),
            Err(Refusal::HeldBy("ben".into()))
        );
    }

    #[test]
    fn the_holder_may_hand_the_ballot_to_a_co_owner_until_it_is_cast() {
        let voter = owned_by(&["ann", "ben"]);
        let mut vote = UnitVote::default();
        assert_eq!(
            vote.designate(&voter, "ann", "zed"),
            Err(Refusal::NotACoOwner("zed".into()))
        );
        vote.designate(&voter, "ann", "ben").unwrap();
        assert_eq!(vote.holder.as_deref(), Some("ben"));
        assert_eq!(vote.designated_by.as_deref(), Some("ann"));
        assert_eq!(
            vote.designate(&voter, "ann", "ann"),
            Err(Refusal::HeldBy("ben".into())),
            "once handed over, it is ben's to hand back"
        );
        vote.designate(&voter, "ben", "ann").unwrap();
        cast(&mut vote, "ann");
        assert_eq!(
            vote.designate(&voter, "ann", "ben"),
            Err(Refusal::AlreadyCast)
        );
    }

    #[test]
    fn a_cast_ballot_changes_only_when_the_motion_allows_it() {
        let voter = owned_by(&["ann"]);
        let mut vote = UnitVote::default();
        cast(&mut vote, "ann");
        assert_eq!(
            vote.claim_for_casting(&voter, None, "ann", false),
            Err(Refusal::Final)
        );
        assert_eq!(
            vote.claim_for_casting(&voter, None, "ann", true),
            Ok(Capacity::Owner)
        );
    }

    #[test]
    fn only_the_named_developer_voter_casts_unsold_units() {
        let voter = developers();
        let mut vote = UnitVote::default();
        assert_eq!(
            vote.capacity(&voter, None, "dev"),
            Err(Refusal::DevelopersOnly { voter: None })
        );
        assert_eq!(
            vote.capacity(&voter, Some("dev"), "ann"),
            Err(Refusal::DevelopersOnly {
                voter: Some("dev".into())
            })
        );
        assert_eq!(
            vote.claim_for_casting(&voter, Some("dev"), "dev", false),
            Ok(Capacity::Developer)
        );
        assert_eq!(vote.holder, None, "the developer voter needs no holding");
    }

    #[test]
    fn while_a_proxy_stands_only_the_proxy_casts_even_against_the_owner() {
        let voter = owned_by(&["ann"]);
        let mut vote = UnitVote::default();
        vote.claim_for_proxy(&voter, None, "ann").unwrap();
        proxy(&mut vote, "pat", "ann");
        assert_eq!(
            vote.capacity(&voter, None, "ann"),
            Err(Refusal::Proxied {
                proxy: "pat".into(),
                granted_by: "ann".into()
            })
        );
        assert_eq!(
            vote.capacity(&voter, None, "pat"),
            Ok(Capacity::Proxy {
                for_person: "ann".into()
            })
        );
        assert_eq!(
            vote.claim_for_proxy(&voter, None, "pat"),
            Err(Refusal::NotTheirs),
            "a proxy does not authorise another"
        );
    }

    #[test]
    fn a_proxy_is_revocable_by_its_grantor_until_it_casts() {
        let voter = owned_by(&["ann", "ben"]);
        let mut vote = UnitVote::default();
        vote.claim_for_proxy(&voter, None, "ann").unwrap();
        assert_eq!(
            vote.holder.as_deref(),
            Some("ann"),
            "acting first holds the unit"
        );
        proxy(&mut vote, "pat", "ann");
        assert_eq!(vote.revoke("ben"), Err(Refusal::NoProxyOfTheirs));
        assert_eq!(vote.revoke("ann").map(|p| p.proxy), Ok("pat".to_owned()));
        assert_eq!(vote.capacity(&voter, None, "ann"), Ok(Capacity::Owner));
        proxy(&mut vote, "pat", "ann");
        cast(&mut vote, "pat");
        assert_eq!(vote.revoke("ann"), Err(Refusal::AlreadyCast));
    }

    #[test]
    fn no_proxy_for_a_ballot_already_cast() {
        let voter = owned_by(&["ann"]);
        let mut vote = UnitVote::default();
        cast(&mut vote, "ann");
        assert_eq!(
            vote.claim_for_proxy(&voter, None, "ann"),
            Err(Refusal::AlreadyCast)
        );
    }

    #[test]
    fn refusals_name_the_unit_and_what_to_do() {
        let why = Refusal::HeldBy("ben".into()).explain("b1-101");
        assert!(
            why.starts_with("b1-101:") && why.contains("designate"),
            "{why}"
        );
    }
}
