//! Where a device is, read from the map once and kept with the device:
//! its place, the unit, floor and building around it, and what kind of
//! point of interest it sits on (a hydrant, a water tank).

use linli_sdk::map::{self, Place, PlaceKind};
use linli_sdk::Error;
use serde::{Deserialize, Serialize};

use crate::confirm::Zone;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// The device's place in the map; `None` for a device placed nowhere on it.
    pub place: Option<String>,
    /// The place's name, for messages.
    pub name: Option<String>,
    /// The unit the device is in, whose household a suspected fire concerns.
    pub unit: Option<String>,
    /// For a device on a point of interest: hydrant, water-tank, ...
    pub poi_kind: Option<String>,
    pub zone: Zone,
}

/// Resolves where `device` is: its reported `location` when that is a map
/// place, else where the map says the device is.
pub fn resolve(device: &str, location: Option<&str>) -> Result<Placement, Error> {
    let place = match location.map(map::get) {
        Some(Ok(place)) => Some(place),
        // Free text from before the map, or a place since removed.
        Some(Err(Error::NotFound(_))) | None => map::locate(device)?,
        Some(Err(other)) => return Err(other),
    };
    let Some(place) = place else {
        return Ok(Placement {
            zone: Zone {
                area: device.to_owned(),
                ..Zone::default()
            },
            ..Placement::default()
        });
    };
    let mut around = vec![place.clone()];
    around.extend(map::ancestors(&place.id)?);
    let find = |kind: PlaceKind| around.iter().find(|p| p.kind == kind);
    let floor = find(PlaceKind::Floor);
    let building = find(PlaceKind::Building);
    Ok(Placement {
        unit: find(PlaceKind::Unit).map(|p| p.id.clone()),
        poi_kind: place.poi_kind.clone(),
        zone: Zone {
            area: building.map_or_else(|| place.id.clone(), |b| b.id.clone()),
            in_building: building.is_some(),
            floor: floor.map(|f| f.id.clone()),
            level: floor.and_then(|f| f.level),
        },
        name: Some(place.name.clone()),
        place: Some(place.id),
    })
}

/// A place's name, or its id when it has none in the map.
pub fn name_of(id: &str) -> Result<String, Error> {
    match map::get(id) {
        Ok(Place { name, .. }) if !name.is_empty() => Ok(name),
        Ok(_) | Err(Error::NotFound(_)) => Ok(id.to_owned()),
        Err(other) => Err(other),
    }
}
