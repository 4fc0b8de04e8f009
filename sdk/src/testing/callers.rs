//! Who runs a command. On the host a caller is authenticated from their
//! token and holds that token's one role; these build the same callers for
//! [`SimulatedHost::command`](super::SimulatedHost::command).

use crate::{Caller, Role};

fn caller(subject: &str, person: Option<&str>, role: Role) -> Caller {
    Caller {
        subject: subject.to_owned(),
        person: person.map(str::to_owned),
        roles: vec![role],
    }
}

/// A resident of the community: the person `person` of the map.
pub fn resident(person: &str) -> Caller {
    caller(person, Some(person), Role::Resident)
}

/// An operator (staff on duty) who is the person `person` of the map.
pub fn operator(person: &str) -> Caller {
    caller(person, Some(person), Role::Operator)
}

/// A community admin; admins are names, not people of the map.
pub fn community_admin(subject: &str) -> Caller {
    caller(subject, None, Role::CommunityAdmin)
}

/// A platform admin.
pub fn platform_admin(subject: &str) -> Caller {
    caller(subject, None, Role::PlatformAdmin)
}
