//! Who a command's caller is to the scene: a person of the map (their
//! token names them, the host vouches for it), and whether they run
//! motions — a community admin or operator, or a member of the owners'
//! committee (业主委员会, map role `owners-committee`) for the motion's
//! scope: community-wide for the whole compound, or for the building (or a
//! place containing it) for a building's motion.

use linli_sdk::map::CommunityRole;
use linli_sdk::{Caller, Error};

/// The caller's person id; voting and its delegations need one.
pub fn person(caller: &Caller) -> Result<&str, Error> {
    caller.person.as_deref().ok_or_else(|| {
        Error::Denied(format!(
            "{} is no person of the map: ballots, proxies and designations are cast by owners' own tokens",
            caller.subject
        ))
    })
}

/// Whether the caller may draft, schedule and withdraw motions of `scope`
/// (the whole compound when `None`), and see who has voted.
pub fn runs_motions(caller: &Caller, scope: Option<&str>) -> Result<bool, Error> {
    if caller.manages_community() {
        return Ok(true);
    }
    let Some(person) = caller.person.as_deref() else {
        return Ok(false);
    };
    linli_sdk::roles::holds(person, CommunityRole::OwnersCommittee, scope)
}

/// Refuses a caller who does not run motions of `scope`.
pub fn require_runs_motions(caller: &Caller, scope: Option<&str>, what: &str) -> Result<(), Error> {
    if runs_motions(caller, scope)? {
        return Ok(());
    }
    let whose = scope.map_or("the whole compound".to_owned(), |s| s.to_owned());
    Err(Error::Denied(format!(
        "{} may not {what}: the owners' committee of {whose} or a community admin may",
        caller.name()
    )))
}
