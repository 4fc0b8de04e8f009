//! The community map as admins, operators and plugins rely on it: the demo
//! community imports and exports unchanged; a map with bad features is
//! refused whole, naming each one, and the previous map stays; a plugin
//! finds the nearest hydrant, the exits of a floor and the residents of a
//! building, sees people only when granted them, and never a phone number
//! or an address; and one community never reads another's map.

use std::collections::BTreeSet;

use linli_tests::{demo_community_map, demo_residents_of, Community, TestHost};
use serde_json::{json, Value};

const MAP_SCENE: &str = "map-scene";

/// A community with the demo map and map-scene granted `map` with `people`.
async fn sunny_garden(host: &TestHost, id: &str, people: bool) -> Community {
    let c = host.community(id).await;
    let summary = c.import_map(&demo_community_map()).await.expect(200);
    assert_eq!(summary, json!({"places": 342, "people": 220}));
    c.install(MAP_SCENE, json!({"map": {"people": people}}), json!({}))
        .await;
    c
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| {
            item.get("place")
                .unwrap_or(item)
                .get("id")
                .and_then(Value::as_str)
                .expect("an id")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_community_round_trips_through_geojson() {
    let host = TestHost::start().await;
    host.publish(MAP_SCENE).await;
    let c = sunny_garden(&host, "sunny-garden", true).await;
    // A backup is a read of everyone's contact details: it says why.
    let backup = "/api/v1/communities/sunny-garden/map?reason=backup";
    let exported = c.admin.get(backup).await.expect(200);
    let file = demo_community_map();
    let feature_ids = |map: &Value| -> BTreeSet<String> {
        map["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(feature_ids(&exported), feature_ids(&file));
    let b3_201 = exported["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "b3-201")
        .unwrap();
    assert_eq!(b3_201["properties"]["exclusive_area_m2"], 68.5);

    c.import_map(&exported).await.expect(200);
    let again = c.admin.get(backup).await.expect(200);
    assert_eq!(again, exported, "an exported map imports unchanged");
    let without_reason = c
        .admin
        .get("/api/v1/communities/sunny-garden/map")
        .await
        .expect(200);
    assert_eq!(feature_ids(&without_reason), feature_ids(&file));
    assert!(
        !without_reason.to_string().contains("+86 138"),
        "without a reason the map comes without phone numbers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_with_bad_features_is_refused_whole_and_the_previous_map_stays() {
    let host = TestHost::start().await;
    let c = host.community("sunny-garden").await;
    c.import_map(&demo_community_map()).await.expect(200);

    let mut broken = demo_community_map();
    let features = broken["features"].as_array_mut().unwrap();
    features.push(json!({"type": "Feature", "id": "b9-f1", "geometry": null,
        "properties": {"kind": "floor", "name": "Building 9, floor 1", "parent": "building-9", "level": 1}}));
    let bow_tie = json!([
        [121.4, 31.2],
        [121.401, 31.201],
        [121.401, 31.2],
        [121.4, 31.201],
        [121.4, 31.2]
    ]);
    features.push(json!({"type": "Feature", "id": "building-5",
        "geometry": {"type": "Polygon", "coordinates": [bow_tie]},
        "properties": {"kind": "building", "name": "Building 5", "parent": "cell-east"}}));
    let (floor, building) = (features.len() - 2, features.len() - 1);
    let refused = c.import_map(&broken).await;
    let body = refused.clone().expect(400);
    let problems: Vec<(u64, &str, &str)> = body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["index"].as_u64().unwrap(),
                p["field"].as_str().unwrap(),
                p["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(
        (problems[0].0, problems[0].1),
        (floor as u64, "properties.parent")
    );
    assert!(problems[0].2.contains("building-9"), "{problems:?}");
    assert_eq!(
        (problems[1].0, problems[1].1),
        (building as u64, "geometry")
    );
    assert!(problems[1].2.contains("self-intersection"), "{problems:?}");

    let kept = c
        .admin
        .get("/api/v1/communities/sunny-garden/map")
        .await
        .expect(200);
    assert_eq!(
        kept["features"].as_array().unwrap().len(),
        562,
        "the previous map stays whole"
    );
    c.admin
        .get("/api/v1/communities/sunny-garden/map/places/building-5")
        .await
        .expect(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_finds_hydrants_exits_and_residents_but_never_contact_details() {
    let host = TestHost::start().await;
    host.publish(MAP_SCENE).await;
    let c = sunny_garden(&host, "sunny-garden", true).await;

    let nearest = c
        .command(
            MAP_SCENE,
            "nearest",
            json!({"poi_kind": "hydrant", "from": {"place": "b3-201"}, "k": 2}),
        )
        .await
        .expect(200);
    assert_eq!(ids(&nearest), ["hydrant-b3-west", "hydrant-b3-east"]);
    let first = nearest[0]["distance_m"].as_f64().unwrap();
    assert!(
        (9.0..11.0).contains(&first),
        "unit 201 is 10 m from the hydrant: {first}"
    );

    let exits = c
        .command(
            MAP_SCENE,
            "descendants",
            json!({"id": "b3-f2", "kind": "poi", "poi_kind": "exit"}),
        )
        .await
        .expect(200);
    assert_eq!(ids(&exits), ["b3-f2-exit-a", "b3-f2-exit-b"]);
    let within = c
        .command(
            MAP_SCENE,
            "within",
            json!({"poi_kind": "exit", "from": {"place": "b3-201"}, "radius_m": 10.0}),
        )
        .await
        .expect(200);
    assert!(
        ids(&within).iter().all(|id| id.ends_with("exit-a")),
        "{within}"
    );
    let path = c
        .command(MAP_SCENE, "ancestors", json!({"id": "b3-201-hh"}))
        .await
        .expect(200);
    assert_eq!(ids(&path), ["b3-201", "b3-f2", "building-3", "cell-east"]);

    let residents = c
        .command(
            MAP_SCENE,
            "people",
            json!({"relation": "resident", "scope": "building-3"}),
        )
        .await
        .expect(200);
    let found: BTreeSet<String> = ids(&residents).into_iter().map(str::to_owned).collect();
    assert!(found.len() > 40, "{found:?}");
    assert_eq!(found, demo_residents_of("building-3"));
    let family = c
        .command(
            MAP_SCENE,
            "people",
            json!({"relation": "family", "scope": "person-003"}),
        )
        .await
        .expect(200);
    assert_eq!(ids(&family), ["person-038", "person-212"]);
    let grid_workers = c
        .command(
            MAP_SCENE,
            "people",
            json!({"relation": "grid-worker", "scope": "b3-201"}),
        )
        .await
        .expect(200);
    assert_eq!(
        ids(&grid_workers),
        ["person-215"],
        "the grid worker of the east cell"
    );

    // Everything the plugin was told about people, with no phone or address anywhere.
    let mut told = vec![residents, family, grid_workers];
    for relation in [
        "owner",
        "volunteer",
        "property-staff",
        "community-doctor",
        "security",
    ] {
        let scope = if relation == "owner" {
            json!("building-1")
        } else {
            Value::Null
        };
        told.push(
            c.command(
                MAP_SCENE,
                "people",
                json!({"relation": relation, "scope": scope}),
            )
            .await
            .expect(200),
        );
    }
    told.push(
        c.command(MAP_SCENE, "person", json!({"id": "person-212"}))
            .await
            .expect(200),
    );
    let text = serde_json::to_string(&told).unwrap();
    for secret in [
        "+86", "138 0000", "phone", "address", "contact", "Road", "channels",
    ] {
        assert!(
            !text.contains(secret),
            "a plugin was given {secret:?}: {text}"
        );
    }
    let staff = c
        .admin
        .get("/api/v1/communities/sunny-garden/map/people/person-212?reason=visit")
        .await
        .expect(200);
    assert!(
        staff["properties"]["contact"]["address"].is_string(),
        "the host keeps contact details for staff: {staff}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_without_people_is_denied_people_but_reads_places() {
    let host = TestHost::start().await;
    host.publish(MAP_SCENE).await;
    let c = sunny_garden(&host, "sunny-garden", false).await;
    let refused = c
        .command(
            MAP_SCENE,
            "people",
            json!({"relation": "resident", "scope": "building-3"}),
        )
        .await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    assert!(
        refused.message().contains("people"),
        "{}",
        refused.message()
    );
    c.command(MAP_SCENE, "person", json!({"id": "person-001"}))
        .await
        .expect(403);
    let metric = host
        .metric(
            "linli_denied_calls_total",
            &["capability=\"map\"", "sunny-garden"],
        )
        .await;
    assert!(metric.ends_with(" 2"), "{metric}");
    let place = c
        .command(MAP_SCENE, "place", json!({"id": "b3-201"}))
        .await
        .expect(200);
    assert_eq!(place["exclusive_area_m2"], 68.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_change_places_and_people_one_at_a_time() {
    let host = TestHost::start().await;
    host.publish(MAP_SCENE).await;
    let c = sunny_garden(&host, "sunny-garden", true).await;
    let places = "/api/v1/communities/sunny-garden/map/places";

    // A new hydrant right outside unit 201 becomes the nearest at once.
    let hydrant = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.4013, 31.20025]},
        "properties": {"kind": "poi", "poi_kind": "hydrant", "name": "New hydrant", "parent": "building-3"}});
    c.admin
        .put(&format!("{places}/hydrant-b3-new"), hydrant)
        .await
        .expect(201);
    let nearest = c
        .command(
            MAP_SCENE,
            "nearest",
            json!({"poi_kind": "hydrant", "from": {"place": "b3-201"}, "k": 1}),
        )
        .await
        .expect(200);
    assert_eq!(ids(&nearest), ["hydrant-b3-new"]);
    c.admin
        .delete(&format!("{places}/hydrant-b3-new"))
        .await
        .expect(204);
    let nearest = c
        .command(
            MAP_SCENE,
            "nearest",
            json!({"poi_kind": "hydrant", "from": {"place": "b3-201"}, "k": 1}),
        )
        .await
        .expect(200);
    assert_eq!(ids(&nearest), ["hydrant-b3-west"]);

    let orphan = json!({"type": "Feature", "geometry": null,
        "properties": {"kind": "unit", "name": "Nowhere", "parent": "b9-f1"}});
    let refused = c
        .admin
        .put(&format!("{places}/b9-101"), orphan)
        .await
        .expect(400);
    assert_eq!(refused["features"][0]["field"], "properties.parent");
    let busy = c.admin.delete(&format!("{places}/building-3")).await;
    assert_eq!(busy.status, 409, "{:?}", busy.body);

    // A new resident of b3-201 is one of building 3's residents.
    let person = json!({"type": "Feature", "geometry": null,
        "properties": {"kind": "person", "name": "Qian Duoduo", "birth_year": 2001,
                       "links": [{"kind": "resident-of", "target": "b3-201-hh"}],
                       "contact": {"phone": "+86 139 1234 5678"}}});
    c.admin
        .put(
            "/api/v1/communities/sunny-garden/map/people/person-900",
            person,
        )
        .await
        .expect(201);
    let residents = c
        .command(
            MAP_SCENE,
            "people",
            json!({"relation": "resident", "scope": "b3-f2"}),
        )
        .await
        .expect(200);
    assert!(ids(&residents).contains(&"person-900"), "{residents}");

    // Devices sit in buildings, floors, units and points of interest.
    let devices = "/api/v1/communities/sunny-garden/devices";
    let smoke = json!({"id": "smoke-b3-201", "kind": "smoke-detector", "reading_kinds": ["smoke"], "location": "b3-201"});
    c.admin.post(devices, smoke).await.expect(201);
    let in_household = json!({"id": "smoke-x", "kind": "smoke-detector", "reading_kinds": ["smoke"], "location": "b3-201-hh"});
    let refused = c.admin.post(devices, in_household).await.expect(400);
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("location:"));
    let located = c
        .command(MAP_SCENE, "locate", json!({"id": "smoke-b3-201"}))
        .await
        .expect(200);
    assert_eq!(located["id"], "b3-201");
    let legacy = json!({"id": "meter-1", "kind": "water-meter", "reading_kinds": ["pressure"], "location": "pump room by the north gate"});
    c.admin.post(devices, legacy).await.expect(201);
    let located = c
        .command(MAP_SCENE, "locate", json!({"id": "meter-1"}))
        .await
        .expect(200);
    assert_eq!(located, Value::Null, "free text is kept but is no place");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_community_never_reads_another_communitys_map() {
    let host = TestHost::start().await;
    host.publish(MAP_SCENE).await;
    let a = sunny_garden(&host, "garden-a", true).await;
    let b = host.community("garden-b").await;
    for path in [
        "/api/v1/communities/garden-a/map",
        "/api/v1/communities/garden-a/map/people/person-001",
        "/api/v1/communities/garden-a/map/nearest?poi_kind=hydrant&place=b3-201",
    ] {
        b.admin.get(path).await.expect(403);
    }
    b.import_map(&json!({"type": "FeatureCollection", "features": []}))
        .await
        .expect(200);
    let forbidden = b
        .admin
        .put(
            "/api/v1/communities/garden-a/map",
            json!({"type": "FeatureCollection", "features": []}),
        )
        .await;
    assert_eq!(forbidden.status, 403);
    let resident = a.member("resident", "person-001").await;
    resident
        .get("/api/v1/communities/garden-a/map")
        .await
        .expect(403);
    let operator = a.member("operator", "person-215").await;
    operator
        .get("/api/v1/communities/garden-a/map/people?relation=grid-worker&scope=building-3")
        .await
        .expect(200);

    // A plugin in B sees B's (empty) map, not A's.
    b.install(MAP_SCENE, json!({"map": {"people": true}}), json!({}))
        .await;
    b.command(MAP_SCENE, "place", json!({"id": "b3-201"}))
        .await
        .expect(404);
    let residents = a
        .command(
            MAP_SCENE,
            "people",
            json!({"relation": "resident", "scope": "building-1"}),
        )
        .await
        .expect(200);
    assert!(!residents.as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_s_attributes_reach_the_plugin_as_the_map_says_them() {
    let host = TestHost::start().await;
    host.publish(MAP_SCENE).await;
    let c = sunny_garden(&host, "sunny-garden", false).await;
    let places = "/api/v1/communities/sunny-garden/map/places";
    let space = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.4013, 31.20025]},
        "properties": {"kind": "poi", "poi_kind": "parking-space", "name": "Space B3-07", "parent": "building-3",
                       "attributes": {"class": "shared", "owner": "b3-201", "sensor": "mag-b3-07"}}});
    c.admin
        .put(&format!("{places}/space-b3-07"), space.clone())
        .await
        .expect(201);
    let nearest = c
        .command(
            MAP_SCENE,
            "nearest",
            json!({"poi_kind": "parking-space", "from": {"place": "b3-201"}, "k": 1}),
        )
        .await
        .expect(200);
    assert_eq!(
        nearest[0]["place"]["attributes"],
        json!({"class": "shared", "owner": "b3-201", "sensor": "mag-b3-07"})
    );
    let exported = c
        .admin
        .get(&format!("{places}/space-b3-07"))
        .await
        .expect(200);
    assert_eq!(exported["properties"]["attributes"]["class"], "shared");

    let mut shouting = space.clone();
    shouting["properties"]["attributes"] = json!({"Class": "shared"});
    let refused = c
        .admin
        .put(&format!("{places}/space-b3-08"), shouting)
        .await
        .expect(400);
    assert_eq!(
        refused["features"][0]["field"],
        "properties.attributes.Class"
    );
    let mut long = space;
    long["properties"]["attributes"] = json!({"note": "x".repeat(257)});
    let refused = c
        .admin
        .put(&format!("{places}/space-b3-09"), long)
        .await
        .expect(400);
    assert_eq!(
        refused["features"][0]["field"],
        "properties.attributes.note"
    );
    let person = json!({"type": "Feature", "geometry": null,
        "properties": {"kind": "person", "name": "Qian Duoduo", "attributes": {"car": "沪A12345"}}});
    let refused = c
        .admin
        .put(
            "/api/v1/communities/sunny-garden/map/people/person-901",
            person,
        )
        .await
        .expect(400);
    assert_eq!(refused["features"][0]["field"], "properties.attributes");
}
