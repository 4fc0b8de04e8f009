//! map-scene: answers questions about the community map on command and
//! returns everything the host told it, so tests (and curious vendors) see
//! exactly what a plugin learns: places, distances, and people as the host
//! gives them to plugins.

use linli_sdk::map::{
    self, CommunityRole, LinkKind, Origin, Person, Place, PlaceDistance, PlaceKind, Relation,
};
use linli_sdk::{export_scene, parse_input, Caller, Error, Event, NoConfig, Scene};
use serde::Deserialize;
use serde_json::{json, Value as Json};

/// Where a search starts: `{"place": id}` or `{"lat": .., "lon": ..}`.
#[derive(Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum Start {
    Place { place: String },
    Point { lat: f64, lon: f64 },
}

/// `nearest` and `within`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Search {
    poi_kind: String,
    from: Start,
    #[serde(default = "five")]
    k: u32,
    #[serde(default)]
    radius_m: f64,
}

fn five() -> u32 {
    5
}

/// `place`, `children`, `ancestors`, `descendants`, `person`, `locate`: one id, and filters for `descendants`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Target {
    id: Option<String>,
    kind: Option<String>,
    poi_kind: Option<String>,
}

/// `people`: a relation and its scope.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct People {
    relation: String,
    scope: Option<String>,
}

fn invalid(field: &str, value: &str) -> Error {
    Error::Invalid(format!(
        "command input at `{field}`: unknown value {value:?}"
    ))
}

fn place_kind(name: &str) -> Result<PlaceKind, Error> {
    Ok(match name {
        "grid-cell" => PlaceKind::GridCell,
        "building" => PlaceKind::Building,
        "floor" => PlaceKind::Floor,
        "unit" => PlaceKind::Unit,
        "household" => PlaceKind::Household,
        "poi" => PlaceKind::Poi,
        other => return Err(invalid("kind", other)),
    })
}

fn place_kind_name(kind: PlaceKind) -> &'static str {
    match kind {
        PlaceKind::GridCell => "grid-cell",
        PlaceKind::Building => "building",
        PlaceKind::Floor => "floor",
        PlaceKind::Unit => "unit",
        PlaceKind::Household => "household",
        PlaceKind::Poi => "poi",
    }
}

const ROLES: [(&str, CommunityRole); 5] = [
    ("volunteer", CommunityRole::Volunteer),
    ("grid-worker", CommunityRole::GridWorker),
    ("property-staff", CommunityRole::PropertyStaff),
    ("community-doctor", CommunityRole::CommunityDoctor),
    ("security", CommunityRole::Security),
];

fn relation(name: &str) -> Result<Relation, Error> {
    match name {
        "resident" => Ok(Relation::Resident),
        "owner" => Ok(Relation::Owner),
        "family" => Ok(Relation::Family),
        role => ROLES
            .iter()
            .find(|(n, _)| *n == role)
            .map(|(_, r)| Relation::Role(*r))
            .ok_or_else(|| invalid("relation", role)),
    }
}

fn role_name(role: CommunityRole) -> &'static str {
    ROLES
        .iter()
        .find(|(_, r)| *r == role)
        .map_or("unknown", |(n, _)| n)
}

fn place_json(place: &Place) -> Json {
    json!({
        "id": place.id,
        "kind": place_kind_name(place.kind),
        "name": place.name,
        "parent": place.parent,
        "poi_kind": place.poi_kind,
        "point": place.point.map(|p| json!({"lat": p.lat, "lon": p.lon})),
        "level": place.level,
        "exclusive_area_m2": place.exclusive_area_m2,
        "attributes": place.attributes.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
    })
}

fn places_json(places: &[Place]) -> Json {
    Json::Array(places.iter().map(place_json).collect())
}

fn distances_json(found: &[PlaceDistance]) -> Json {
    Json::Array(
        found
            .iter()
            .map(|f| json!({"place": place_json(&f.place), "distance_m": f.distance_m}))
            .collect(),
    )
}

/// Every field of a person record, as received.
fn person_json(person: &Person) -> Json {
    let links: Vec<Json> = person
        .links
        .iter()
        .map(|l| {
            let kind = match l.kind {
                LinkKind::ResidentOf => "resident-of",
                LinkKind::OwnerOf => "owner-of",
                LinkKind::FamilyOf => "family-of",
            };
            json!({"kind": kind, "target": l.target})
        })
        .collect();
    let roles: Vec<Json> = person
        .roles
        .iter()
        .map(|r| json!({"role": role_name(r.role), "scope": r.scope}))
        .collect();
    json!({
        "id": person.id,
        "name": person.name,
        "birth_year": person.birth_year,
        "links": links,
        "roles": roles,
        "skills": person.skills,
    })
}

fn origin(from: Start) -> Origin {
    match from {
        Start::Place { place } => Origin::Place(place),
        Start::Point { lat, lon } => Origin::Point(linli_sdk::GeoPoint { lat, lon }),
    }
}

fn required(id: Option<String>) -> Result<String, Error> {
    id.ok_or_else(|| Error::Invalid("command input at `id`: missing".to_owned()))
}

struct MapScene;

impl Scene for MapScene {
    type Config = NoConfig;

    fn on_event(_: &NoConfig, _: Event) -> Result<(), Error> {
        Ok(())
    }

    fn on_command(_: &NoConfig, _: &Caller, name: &str, input: Json) -> Result<Json, Error> {
        match name {
            "nearest" => {
                let s: Search = parse_input(input)?;
                Ok(distances_json(&map::nearest(
                    &s.poi_kind,
                    &origin(s.from),
                    s.k,
                )?))
            }
            "within" => {
                let s: Search = parse_input(input)?;
                Ok(distances_json(&map::within_radius(
                    &s.poi_kind,
                    &origin(s.from),
                    s.radius_m,
                )?))
            }
            "people" => {
                let p: People = parse_input(input)?;
                let people = map::people(relation(&p.relation)?, p.scope.as_deref())?;
                Ok(Json::Array(people.iter().map(person_json).collect()))
            }
            other => {
                let t: Target = parse_input(input)?;
                match other {
                    "place" => Ok(place_json(&map::get(&required(t.id)?)?)),
                    "children" => Ok(places_json(&map::children(t.id.as_deref())?)),
                    "ancestors" => Ok(places_json(&map::ancestors(&required(t.id)?)?)),
                    "descendants" => {
                        let kind = t.kind.as_deref().map(place_kind).transpose()?;
                        Ok(places_json(&map::descendants(
                            &required(t.id)?,
                            kind,
                            t.poi_kind.as_deref(),
                        )?))
                    }
                    "person" => Ok(person_json(&map::get_person(&required(t.id)?)?)),
                    "locate" => {
                        Ok(map::locate(&required(t.id)?)?.map_or(Json::Null, |p| place_json(&p)))
                    }
                    _ => Err(Error::Invalid(format!("unknown command: {name}"))),
                }
            }
        }
    }
}

export_scene!(MapScene);
