// The community map drawn from its GeoJSON export as SVG: grid cells and
// buildings as their footprints, each building's floors as a stack beside
// it (the floor of an alarm marked), points of interest as small marks, and
// active alarms placed where they are (their device's place or the place
// they are about, or its nearest ancestor that has a point or a footprint). Coordinates are
// projected onto a plane tangent at the community's latitude, as the
// host's spatial index does, so distances look as they are.

import { h } from "./dom.js";
import { t } from "./i18n.js";

const WIDTH = 1000;
const PADDING = 24;

function pointsOf(geometry) {
  if (!geometry) return [];
  switch (geometry.type) {
    case "Point":
      return [geometry.coordinates];
    case "Polygon":
      return geometry.coordinates.flat();
    case "MultiPolygon":
      return geometry.coordinates.flat(2);
    default:
      return [];
  }
}

function centre(geometry) {
  if (geometry?.type === "Point") return geometry.coordinates;
  const points = pointsOf(geometry);
  if (!points.length) return null;
  const sum = points.reduce(([x, y], [px, py]) => [x + px, y + py], [0, 0]);
  return [sum[0] / points.length, sum[1] / points.length];
}

/** The places of a GeoJSON map, by id, with a projection onto the SVG. */
export class CommunityMap {
  constructor(geojson) {
    this.features = (geojson?.features ?? []).filter((f) => f.properties?.kind !== "person");
    this.byId = new Map(this.features.map((f) => [f.id, f]));
    this.floors = new Map();
    for (const f of this.features) {
      if (f.properties.kind !== "floor") continue;
      const building = f.properties.parent;
      if (!this.floors.has(building)) this.floors.set(building, []);
      this.floors.get(building).push(f);
    }
    for (const list of this.floors.values()) list.sort((a, b) => (a.properties.level ?? 0) - (b.properties.level ?? 0));
    const all = this.features.flatMap((f) => pointsOf(f.geometry));
    const lons = all.map((p) => p[0]);
    const lats = all.map((p) => p[1]);
    this.minLon = Math.min(...lons);
    this.maxLat = Math.max(...lats);
    const midLat = (Math.min(...lats) + this.maxLat) / 2;
    this.xScale = Math.cos((midLat * Math.PI) / 180);
    const spanX = (Math.max(...lons) - this.minLon) * this.xScale || 1;
    const spanY = this.maxLat - Math.min(...lats) || 1;
    this.scale = (WIDTH - 2 * PADDING) / Math.max(spanX, spanY);
    this.height = Math.round(spanY * this.scale + 2 * PADDING);
    this.empty = all.length === 0;
  }

  project([lon, lat]) {
    return [PADDING + (lon - this.minLon) * this.xScale * this.scale, PADDING + (this.maxLat - lat) * this.scale];
  }

  /** A place's name, or its id. */
  name(id) {
    return this.byId.get(id)?.properties?.name ?? id;
  }

  /**
   * The place an alarm is about: where its device is, or its originator
   * when that is a place of the map (a building whose fire is confirmed).
   */
  placeOf(alarm) {
    return alarm.location ?? (this.byId.has(alarm.originator) ? alarm.originator : null);
  }

  /** The floor a place is on (itself, when it is one), if any. */
  floorOf(id) {
    let at = this.byId.get(id);
    while (at && at.properties.kind !== "floor") at = this.byId.get(at.properties.parent);
    return at?.id ?? null;
  }

  /** A building's floors as a stack beside its footprint, lowest at the bottom. */
  floorStack(building, alarmedFloors) {
    const floors = this.floors.get(building.id) ?? [];
    const corners = pointsOf(building.geometry).map((p) => this.project(p));
    if (!floors.length || !corners.length) return null;
    const right = Math.max(...corners.map(([x]) => x)) + 4;
    const top = Math.min(...corners.map(([, y]) => y));
    const height = Math.max(...corners.map(([, y]) => y)) - top;
    const step = height / floors.length;
    return h(
      "svg:g",
      { class: "floors", dataset: { building: building.id } },
      floors.map((floor, i) =>
        h(
          "svg:rect",
          {
            x: right.toFixed(1),
            y: (top + height - (i + 1) * step).toFixed(1),
            width: 7,
            height: Math.max(step - 1, 1).toFixed(1),
            class: alarmedFloors.has(floor.id) ? "floor alarmed" : "floor",
            dataset: { place: floor.id },
          },
          h("svg:title", {}, floor.properties.name),
        ),
      ),
    );
  }

  /** Where on the SVG a place is drawn: its own point, or its nearest ancestor's. */
  locate(id) {
    let at = this.byId.get(id);
    while (at) {
      const point = centre(at.geometry);
      if (point) return this.project(point);
      at = this.byId.get(at.properties?.parent);
    }
    return null;
  }

  /** The SVG of the map with `alarms` placed on it. */
  render(alarms) {
    const title = t("map.title");
    const svg = h("svg:svg", {
      viewBox: `0 0 ${WIDTH} ${this.height}`,
      role: "img",
      "aria-labelledby": "map-title",
      class: "map",
    });
    svg.append(h("svg:title", { id: "map-title" }, title));
    const path = (geometry) =>
      (geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates)
        .flatMap((polygon) => polygon.map((ring) => `M${ring.map((p) => this.project(p).map((v) => v.toFixed(1)).join(",")).join("L")}Z`))
        .join("");
    const alarmedFloors = new Set(alarms.map((a) => this.floorOf(this.placeOf(a))).filter(Boolean));
    for (const kind of ["grid-cell", "building"]) {
      for (const f of this.features) {
        const geometry = f.geometry;
        if (f.properties.kind !== kind || !geometry || geometry.type === "Point") continue;
        svg.append(
          h("svg:path", { d: path(geometry), class: `place ${kind}`, dataset: { place: f.id } }, h("svg:title", {}, f.properties.name)),
        );
        if (kind === "building") {
          const [x, y] = this.project(centre(geometry));
          svg.append(h("svg:text", { x: x.toFixed(1), y: y.toFixed(1), class: "place-label" }, f.properties.name));
          const stack = this.floorStack(f, alarmedFloors);
          if (stack) svg.append(stack);
        }
      }
    }
    for (const f of this.features) {
      if (f.properties.kind !== "poi" || f.geometry?.type !== "Point") continue;
      const [x, y] = this.project(f.geometry.coordinates);
      svg.append(
        h(
          "svg:circle",
          { cx: x.toFixed(1), cy: y.toFixed(1), r: 3, class: `poi poi-${f.properties.poi_kind}`, dataset: { place: f.id } },
          h("svg:title", {}, `${f.properties.name} (${f.properties.poi_kind})`),
        ),
      );
    }
    for (const alarm of alarms) {
      const place = this.placeOf(alarm);
      const at = this.locate(place);
      if (!at) continue;
      const [x, y] = at;
      const where = this.name(place);
      svg.append(
        h(
          "svg:g",
          {
            class: `alarm severity-${alarm.severity}${alarm.acknowledged ? " acknowledged" : ""}`,
            dataset: { alarmId: alarm.id, alarmType: alarm.alarm_type },
            transform: `translate(${x.toFixed(1)},${y.toFixed(1)})`,
          },
          h("svg:circle", { r: 14, class: "alarm-halo" }),
          h("svg:circle", { r: 6, class: "alarm-dot" }),
          h("svg:title", {}, `${t(`word.${alarm.alarm_type}`, {}, alarm.alarm_type)} · ${where}`),
        ),
      );
    }
    return svg;
  }
}
