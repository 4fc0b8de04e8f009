//! An owner erased by the community: the assembly's records of them stay.

use serde_json::json;

use super::*;

#[test]
fn erasing_an_owner_who_voted_changes_no_record_of_the_assembly() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    vote(&mut host, "ann", &id, "agree");
    let state: Vec<(String, Option<Vec<u8>>)> = host
        .store_keys()
        .into_iter()
        .map(|key| (key.clone(), host.stored(&key)))
        .collect();
    let ballots = records(&host, "voting/ballot/ann");

    host.erase_person("ann").unwrap();

    let after: Vec<(String, Option<Vec<u8>>)> = host
        .store_keys()
        .into_iter()
        .map(|key| (key.clone(), host.stored(&key)))
        .collect();
    assert_eq!(after, state, "the roll and the ballots are the assembly's");
    assert_eq!(records(&host, "voting/ballot/ann"), ballots);
}
