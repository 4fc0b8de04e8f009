//! Who may do what. The host authenticates the caller; the plugin decides:
//! staff (community admins, operators, platform admins) act for anyone;
//! a person acts for themselves and for the people they are family of on
//! the map (a daughter files a request or registers a watch for her mother).

use linli_sdk::{Caller, Error};

use crate::people;

pub fn require_staff(caller: &Caller) -> Result<(), Error> {
    if caller.manages_community() {
        Ok(())
    } else {
        Err(Error::Denied(
            "only community admins and operators may do this".to_owned(),
        ))
    }
}

/// The caller's person id: commands that act as someone need a person's token.
pub fn caller_person(caller: &Caller) -> Result<&str, Error> {
    caller.person.as_deref().ok_or_else(|| {
        Error::Denied(format!(
            "{} is not a person: this command needs a person's token",
            caller.subject
        ))
    })
}

/// Whether the caller may act for `person`.
pub fn may_act_for(caller: &Caller, person: &str) -> Result<bool, Error> {
    if caller.manages_community() {
        return Ok(true);
    }
    match caller.person.as_deref() {
        Some(me) if me == person => Ok(true),
        Some(me) => people::is_family_of(me, person),
        None => Ok(false),
    }
}

/// The person a command is for: `target` (the input's `for`) when given,
/// otherwise the caller; the caller must be allowed to act for them.
pub fn on_behalf(caller: &Caller, target: Option<String>) -> Result<String, Error> {
    let person = match target {
        Some(person) => person,
        None => caller_person(caller)
            .map_err(|_| {
                Error::Invalid(
                    "command input at `for`: required when the caller is not a person".to_owned(),
                )
            })?
            .to_owned(),
    };
    if may_act_for(caller, &person)? {
        Ok(person)
    } else {
        Err(Error::Denied(format!(
            "{} may act only for themselves and the people they are family of, not {person}",
            caller.subject
        )))
    }
}
