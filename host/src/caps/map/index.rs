//! The spatial index of a community's points of interest: one R-tree
//! (rstar) per POI kind, so "the 5 nearest hydrants" never looks at a
//! parking space.
//!
//! Points are projected to metres on a plane tangent at the community's
//! latitude (equirectangular). Within the few kilometres a community spans
//! this is within 0.1% of the great-circle distance, and it keeps the tree
//! in plain Euclidean space, which is what R-trees answer fast.

use std::collections::HashMap;

use rstar::primitives::GeomWithData;
use rstar::RTree;

use super::point::{GeoPoint, PoiKind};
use crate::ids::PlaceId;

/// Mean Earth radius in metres (IUGG).
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Degrees to metres on a plane tangent at one latitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    metres_per_degree_lon: f64,
}

impl Projection {
    /// The projection for places near latitude `lat`.
    pub fn around(lat: f64) -> Self {
        Self {
            metres_per_degree_lon: EARTH_RADIUS_M.to_radians() * lat.to_radians().cos(),
        }
    }

    fn project(&self, point: GeoPoint) -> [f64; 2] {
        [
            point.lon * self.metres_per_degree_lon,
            point.lat * EARTH_RADIUS_M.to_radians(),
        ]
    }
}

impl Default for Projection {
    fn default() -> Self {
        Self::around(0.0)
    }
}

type Entry = GeomWithData<[f64; 2], PlaceId>;

/// Points of interest by kind, for nearest-k and within-radius searches.
#[derive(Debug, Default)]
pub struct PoiIndex {
    projection: Projection,
    trees: HashMap<PoiKind, RTree<Entry>>,
}

impl PoiIndex {
    pub fn new(projection: Projection) -> Self {
        Self {
            projection,
            trees: HashMap::new(),
        }
    }

    /// Builds the trees at once (faster and better balanced than inserting one by one).
    pub fn bulk_load(&mut self, pois: Vec<(PoiKind, GeoPoint, PlaceId)>) {
        let mut by_kind: HashMap<PoiKind, Vec<Entry>> = HashMap::new();
        for (kind, point, id) in pois {
            let entry = Entry::new(self.projection.project(point), id);
            by_kind.entry(kind).or_default().push(entry);
        }
        self.trees = by_kind
            .into_iter()
            .map(|(kind, entries)| (kind, RTree::bulk_load(entries)))
            .collect();
    }

    pub fn insert(&mut self, kind: PoiKind, point: GeoPoint, id: PlaceId) {
        if self.trees.is_empty() {
            // The first point of an empty map decides where the plane touches the Earth.
            self.projection = Projection::around(point.lat);
        }
        let entry = Entry::new(self.projection.project(point), id);
        self.trees.entry(kind).or_default().insert(entry);
    }

    pub fn remove(&mut self, kind: &PoiKind, point: GeoPoint, id: &PlaceId) {
        if let Some(tree) = self.trees.get_mut(kind) {
            tree.remove(&Entry::new(self.projection.project(point), id.clone()));
            if tree.size() == 0 {
                self.trees.remove(kind);
            }
        }
    }

    /// The `k` nearest points of `kind` to `from`, nearest first, with distances in metres.
    pub fn nearest(&self, kind: &PoiKind, from: GeoPoint, k: usize) -> Vec<(&PlaceId, f64)> {
        let at = self.projection.project(from);
        self.trees
            .get(kind)
            .into_iter()
            .flat_map(|tree| tree.nearest_neighbor_iter_with_distance_2(&at))
            .take(k)
            .map(|(entry, distance_2)| (&entry.data, distance_2.sqrt()))
            .collect()
    }

    /// Every point of `kind` within `radius_m` of `from`, nearest first.
    pub fn within_radius(
        &self,
        kind: &PoiKind,
        from: GeoPoint,
        radius_m: f64,
    ) -> Vec<(&PlaceId, f64)> {
        let at = self.projection.project(from);
        self.trees
            .get(kind)
            .into_iter()
            .flat_map(|tree| tree.nearest_neighbor_iter_with_distance_2(&at))
            .map(|(entry, distance_2)| (&entry.data, distance_2.sqrt()))
            .take_while(|(_, distance)| *distance <= radius_m)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kind(name: &str) -> PoiKind {
        PoiKind::try_from(name.to_owned()).unwrap()
    }

    /// Distance in metres between two points, as the index measures it.
    fn distance_m(projection: Projection, a: GeoPoint, b: GeoPoint) -> f64 {
        let ([ax, ay], [bx, by]) = (projection.project(a), projection.project(b));
        (ax - bx).hypot(ay - by)
    }

    fn point((lat, lon): (f64, f64)) -> GeoPoint {
        GeoPoint { lat, lon }
    }

    /// Points within about a kilometre of a Shanghai compound.
    fn nearby() -> impl Strategy<Value = (f64, f64)> {
        (31.20..31.21f64, 121.40..121.41f64)
    }

    proptest! {
        #[test]
        fn nearest_k_agrees_with_a_brute_force_scan(
            pois in prop::collection::vec(nearby(), 1..200),
            from in nearby(),
            k in 1usize..10,
        ) {
            // The first point inserted into an empty index picks the projection.
            let projection = Projection::around(pois[0].0);
            let mut index = PoiIndex::default();
            let hydrant = kind("hydrant");
            let mut scan = Vec::new();
            for (i, p) in pois.iter().enumerate() {
                let id: PlaceId = format!("h{i}").parse().unwrap();
                index.insert(hydrant.clone(), point(*p), id.clone());
                scan.push((id, distance_m(projection, point(from), point(*p))));
            }
            index.insert(kind("gate"), point(from), "g".parse().unwrap());
            scan.sort_by(|a, b| a.1.total_cmp(&b.1));
            let found = index.nearest(&hydrant, point(from), k);
            prop_assert_eq!(found.len(), k.min(pois.len()));
            for ((_, distance), (_, expected)) in found.iter().zip(&scan) {
                prop_assert!((distance - expected).abs() < 1e-6);
            }
            // A radius between two points' distances, so rounding cannot decide the count.
            let middle = scan.len() / 2;
            let radius = match scan.get(middle + 1) {
                Some(next) => (scan[middle].1 + next.1) / 2.0,
                None => scan[middle].1 + 1.0,
            };
            let within = index.within_radius(&hydrant, point(from), radius);
            prop_assert_eq!(within.len(), scan.iter().filter(|(_, d)| *d <= radius).count());
        }
    }

    #[test]
    fn distances_are_metres() {
        let projection = Projection::around(31.2);
        // 0.001° of latitude is about 111 m everywhere.
        let d = distance_m(projection, point((31.2, 121.4)), point((31.201, 121.4)));
        assert!((d - 111.2).abs() < 0.5, "{d}");
        // 0.001° of longitude at 31.2° N is about 95 m.
        let d = distance_m(projection, point((31.2, 121.4)), point((31.2, 121.401)));
        assert!((d - 95.1).abs() < 0.5, "{d}");
    }

    #[test]
    fn removed_points_are_not_found() {
        let mut index = PoiIndex::default();
        let exit = kind("exit");
        let id: PlaceId = "exit-1".parse().unwrap();
        index.insert(exit.clone(), point((31.2, 121.4)), id.clone());
        assert_eq!(index.nearest(&exit, point((31.2, 121.4)), 3).len(), 1);
        index.remove(&exit, point((31.2, 121.4)), &id);
        assert!(index.nearest(&exit, point((31.2, 121.4)), 3).is_empty());
    }
}
