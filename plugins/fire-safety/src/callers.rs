//! Who a command's caller is for the plugin: an operator (community admin
//! or operator token), the supervisor, or staff of the work orders' role
//! for a place, read from the caller's roles in the map.

use linli_sdk::map;
use linli_sdk::roles::holds;
use linli_sdk::{Caller, Error};

use crate::config::{Config, Supervisor};
use crate::order_lifecycle::Capacities;

/// Whether the caller is the configured supervisor.
pub fn is_supervisor(config: &Config, caller: &Caller) -> Result<bool, Error> {
    let Some(person) = &caller.person else {
        return Ok(false);
    };
    match &config.work_orders.supervisor {
        Supervisor::Person(supervisor) => Ok(supervisor == person),
        Supervisor::Role(role) => holds(person, role.community_role(), None),
    }
}

/// What the caller is for a work order at `place`, assigned to `assignee`.
pub fn capacities(
    config: &Config,
    caller: &Caller,
    place: Option<&str>,
    assignee: Option<&str>,
) -> Result<Capacities, Error> {
    let person = caller.person.as_deref();
    Ok(Capacities {
        operator: caller.manages_community(),
        supervisor: is_supervisor(config, caller)?,
        staff: match person {
            Some(person) => holds(person, config.work_orders.role.community_role(), place)?,
            None => false,
        },
        assignee: person.is_some() && person == assignee,
    })
}

/// Whether the caller may read work orders and reports: an operator, the
/// supervisor, or anyone holding the work orders' role for some place.
pub fn may_read(config: &Config, caller: &Caller) -> Result<bool, Error> {
    if caller.manages_community() || is_supervisor(config, caller)? {
        return Ok(true);
    }
    let Some(person) = &caller.person else {
        return Ok(false);
    };
    let role = config.work_orders.role.community_role();
    match map::get_person(person) {
        Ok(found) => Ok(found.roles.iter().any(|r| r.role == role)),
        Err(Error::NotFound(_)) => Ok(false),
        Err(other) => Err(other),
    }
}
