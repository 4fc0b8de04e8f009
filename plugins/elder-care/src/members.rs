//! Time-bank members: residents who joined (or whose family joined them),
//! the skills they declared on top of the map's, and when they can help.
//!
//! Store: `member/<person>` → [`Member`].

use linli_sdk::{parse_input, state, Caller, Error};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::availability::Window;
use crate::config::Config;
use crate::input::{self, invalid};
use crate::{access, coins, people};

const PREFIX: &str = "member/";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Member {
    pub person: String,
    pub joined_at: i64,
    /// Skills the member declared; the map's skills count too.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Weekly windows when they can help; none declared means "ask me any time".
    #[serde(default)]
    pub availability: Vec<Window>,
}

impl Member {
    /// Their skills: the map's and their own.
    pub fn has_skill(&self, person: &linli_sdk::map::Person, skill: &str) -> bool {
        person.skills.iter().chain(&self.skills).any(|s| s == skill)
    }

    /// Whether they help at all: a volunteer on the map, or anyone with a skill.
    pub fn helps(&self, person: &linli_sdk::map::Person) -> bool {
        people::is_volunteer(person) || !person.skills.is_empty() || !self.skills.is_empty()
    }
}

fn key(person: &str) -> String {
    format!("{PREFIX}{person}")
}

pub fn get(person: &str) -> Result<Option<Member>, Error> {
    state::get(&key(person))
}

/// The member, or an error saying they must join first; `field` names the input.
pub fn require(field: &str, person: &str) -> Result<Member, Error> {
    get(person)?.ok_or_else(|| {
        invalid(
            field,
            format!("{person} has not joined the time bank (the `join` command)"),
        )
    })
}

/// Every member, by person id.
pub fn all() -> Result<Vec<Member>, Error> {
    state::keys(PREFIX)?
        .iter()
        .filter_map(|key| state::get(key).transpose())
        .collect()
}

/// `join` and `update-member`: who, and optionally their skills and windows.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Profile {
    #[serde(rename = "for")]
    person: Option<String>,
    skills: Option<Vec<String>>,
    availability: Option<Vec<Window>>,
}

impl Profile {
    fn check(&self) -> Result<(), Error> {
        for (i, skill) in self.skills.iter().flatten().enumerate() {
            input::skill(&format!("skills[{i}]"), skill)?;
        }
        for (i, window) in self.availability.iter().flatten().enumerate() {
            window
                .check()
                .map_err(|why| invalid(&format!("availability[{i}]"), why))?;
        }
        Ok(())
    }

    fn apply_to(self, member: &mut Member) {
        if let Some(skills) = self.skills {
            member.skills = skills;
        }
        if let Some(availability) = self.availability {
            member.availability = availability;
        }
    }
}

/// `who` for commands that only name a person: `{"for": "person-001"}` or `{}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Who {
    #[serde(rename = "for")]
    pub person: Option<String>,
}

/// Joins a resident (opening their time-coin account with the starting
/// allowance); joining again changes nothing and answers the same.
pub fn join(config: &Config, caller: &Caller, input: Json) -> Result<Json, Error> {
    let profile: Profile = parse_input(input)?;
    profile.check()?;
    let person = access::on_behalf(caller, profile.person.clone())?;
    people::person(&person)?;
    let member = match get(&person)? {
        Some(member) => member,
        None => {
            let mut member = Member {
                person: person.clone(),
                joined_at: linli_sdk::timer::now(),
                skills: Vec::new(),
                availability: Vec::new(),
            };
            profile.apply_to(&mut member);
            coins::open(config, &person)?;
            state::put(&key(&person), &member)?;
            member
        }
    };
    describe(&member)
}

/// Changes a member's declared skills or windows.
pub fn update(caller: &Caller, input: Json) -> Result<Json, Error> {
    let profile: Profile = parse_input(input)?;
    profile.check()?;
    let person = access::on_behalf(caller, profile.person.clone())?;
    let mut member = require("for", &person)?;
    profile.apply_to(&mut member);
    state::put(&key(&person), &member)?;
    describe(&member)
}

/// A member with their skills from both sources and their balance.
pub fn show(caller: &Caller, input: Json) -> Result<Json, Error> {
    let who: Who = parse_input(input)?;
    let person = access::on_behalf(caller, who.person)?;
    describe(&require("for", &person)?)
}

fn describe(member: &Member) -> Result<Json, Error> {
    let on_map = people::person(&member.person)?;
    let account = coins::balance(&member.person)?;
    Ok(json!({
        "person": member.person,
        "name": on_map.name,
        "joined-at": member.joined_at,
        "map-skills": on_map.skills,
        "skills": member.skills,
        "availability": member.availability,
        "account": account.name,
        "balance": account.balance,
        "floor": account.floor.unwrap_or(0),
    }))
}
