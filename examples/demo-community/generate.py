#!/usr/bin/env python3
"""Writes sunny-garden.geojson, the demo community's map.

The output is committed; rerun this only to change the compound, and keep
README.md in step. The layout is fixed and the people are drawn from a
seeded generator, so every run writes the same file.
"""

import json
import math
import random
from pathlib import Path

# The compound's south-west corner, in Shanghai.
LAT0, LON0 = 31.2000, 121.4000
M_PER_DEG_LAT = 111_195.0
M_PER_DEG_LON = M_PER_DEG_LAT * math.cos(math.radians(LAT0))

FLOORS = 6
UNITS_PER_FLOOR = 4
AREAS = [68.5, 89.2, 89.2, 120.0]  # exclusive area of units 01..04 in m²
# Buildings: id, grid cell, south-west corner (x, y) in metres; 40 m x 15 m.
BUILDINGS = [
    ("building-1", "cell-west", 20, 20),
    ("building-2", "cell-west", 20, 60),
    ("building-3", "cell-east", 120, 20),
    ("building-4", "cell-east", 120, 60),
]
WIDTH, DEPTH = 40, 15

SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu",
            "Xu", "Sun", "Hu", "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo"]
GIVEN = ["Guilan", "Jianguo", "Xiuying", "Wei", "Fang", "Min", "Jing", "Lei", "Yan", "Jun",
         "Hua", "Ping", "Qiang", "Li", "Na", "Tao", "Hong", "Bin", "Yun", "Hui"]
SKILLS = ["escorting", "shopping", "chatting", "cleaning", "first-aid", "repairs", "cooking"]

rng = random.Random(7)
features = []
phones = iter(range(10_000))


def point(x, y):
    return [round(LON0 + x / M_PER_DEG_LON, 7), round(LAT0 + y / M_PER_DEG_LAT, 7)]


def rectangle(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[point(x0, y0), point(x1, y0), point(x1, y1),
                                                point(x0, y1), point(x0, y0)]]}


def add(id, geometry, **properties):
    features.append({"type": "Feature", "id": id, "geometry": geometry,
                     "properties": properties})


def poi(id, poi_kind, name, parent, x, y):
    properties = {"kind": "poi", "poi_kind": poi_kind, "name": name}
    if parent:
        properties["parent"] = parent
    add(id, {"type": "Point", "coordinates": point(x, y)}, **properties)


def contact(address=None):
    phone = f"+86 138 0000 {next(phones):04d}"
    result = {"phone": phone, "channels": [{"kind": "sms", "address": phone},
                                           {"kind": "app", "address": "linli-app"}]}
    if address:
        result["address"] = address
    return result


people = []


def person(name, birth_year, links=(), roles=(), skills=(), address=None):
    id = f"person-{len(people) + 1:03d}"
    people.append((id, {"kind": "person", "name": name, "birth_year": birth_year,
                        "links": list(links), "roles": list(roles), "skills": list(skills),
                        "contact": contact(address)}))
    return id


def name():
    return f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"


# Places: grid cells, buildings, floors, units, households, points of interest.
add("cell-west", rectangle(0, 0, 100, 100), kind="grid-cell", name="West grid cell")
add("cell-east", rectangle(100, 0, 200, 100), kind="grid-cell", name="East grid cell")
poi("gate-north", "gate", "North gate", None, 100, 100)
poi("gate-south", "gate", "South gate", None, 100, 0)
poi("aed-gate-south", "aed", "AED at the south gate guard house", None, 104, 2)
poi("reservoir-east", "water-tank", "Underground fire reservoir", "cell-east", 190, 50)
poi("hydrant-west-plaza", "hydrant", "Hydrant, west plaza", "cell-west", 10, 50)
poi("hydrant-east-plaza", "hydrant", "Hydrant, east plaza", "cell-east", 190, 90)
# Parking (the parking scene reads a space's class, owner, lot and sensor
# from its attributes). Each cell's lot along the north wall: spaces 1-8
# private to the units of its first building's ground and first floors,
# 9-14 residents' spaces their owners may share, 15-17 for visitors,
# 18 accessible, 19-20 EV charging; the property company owns the last six.
SPACE_CLASSES = ["private"] * 8 + ["shared"] * 6 + ["visitor"] * 3 + ["accessible"] + ["ev"] * 2


def space(id, name, parent, x, y, space_class, owner, lot):
    poi(id, "parking-space", name, parent, x, y)
    features[-1]["properties"]["attributes"] = {
        "class": space_class, "owner": owner, "lot": lot, "sensor": f"mag-{id}"}


for cell, x0, building in [("cell-west", 5, "b1"), ("cell-east", 105, "b3")]:
    side = cell.split('-')[1]
    for i, space_class in enumerate(SPACE_CLASSES):
        # Units 101-104, 201-204, ... of the building own spaces 1-14.
        owner = f"{building}-{1 + i // 4}{i % 4 + 1:02d}" if i < 14 else "property"
        space(f"parking-{side}-{i + 1:02d}", f"Parking space {side} {i + 1}", cell,
              x0 + 4.5 * i, 92, space_class, owner, f"lot-{side}")

households = {}  # building -> [(household id, unit id)]
for building, cell, x0, y0 in BUILDINGS:
    number = building.split("-")[1]
    b = f"b{number}"
    add(building, rectangle(x0, y0, x0 + WIDTH, y0 + DEPTH), kind="building",
        name=f"Building {number}", parent=cell)
    yc = y0 + DEPTH / 2
    poi(f"hydrant-{b}-west", "hydrant", f"Hydrant west of building {number}", building,
        x0 - 5, yc)
    poi(f"hydrant-{b}-east", "hydrant", f"Hydrant east of building {number}", building,
        x0 + WIDTH + 5, yc)
    poi(f"tank-{b}-roof", "water-tank", f"Roof water tank, building {number}", building,
        x0 + WIDTH / 2, yc)
    for level in range(1, FLOORS + 1):
        floor = f"{b}-f{level}"
        add(floor, None, kind="floor", name=f"Building {number}, floor {level}",
            parent=building, level=level)
        poi(f"{floor}-exit-a", "exit", f"Stair A exit, building {number} floor {level}",
            floor, x0 + 2, yc)
        poi(f"{floor}-exit-b", "exit", f"Stair B exit, building {number} floor {level}",
            floor, x0 + WIDTH - 2, yc)
        if level == 1:
            poi(f"aed-{b}-lobby", "aed", f"AED in the lobby of building {number}", floor,
                x0 + WIDTH / 2, y0 + 1)
        for u in range(1, UNITS_PER_FLOOR + 1):
            unit = f"{b}-{level}{u:02d}"
            add(unit, {"type": "Point", "coordinates": point(x0 + 10 * u - 5, yc)},
                kind="unit", name=f"Building {number}, unit {level}{u:02d}", parent=floor,
                exclusive_area_m2=AREAS[u - 1])
            # Every eleventh unit stands empty.
            if (level * UNITS_PER_FLOOR + u) % 11 == 0:
                continue
            household = f"{unit}-hh"
            add(household, None, kind="household", name=f"Household of unit {level}{u:02d}",
                parent=unit)
            households.setdefault(building, []).append((household, unit))

# The office tower east of the compound: its tenant's twelve spaces are
# shared with residents on weeknights and weekends; a fire lane runs beside
# every building.
add("office-tower", rectangle(210, 20, 250, 35), kind="building", name="Sunny Tower (offices)")
for i in range(12):
    space(f"office-p{i + 1:02d}", f"Office space {i + 1}", "office-tower", 210 + 3.3 * i, 40,
          "shared", "tenant-sunrise-tech", "lot-office")
for building, cell, x0, y0 in BUILDINGS + [("office-tower", None, 210, 20)]:
    short = building.replace("building-", "b").replace("office-tower", "office")
    space(f"lane-{short}", f"Fire lane beside {building}", building, x0 + WIDTH / 2, y0 - 3,
          "fire-lane", "property", "fire-lanes")

# People. Elderly people living alone, one or two per building, each with
# family: some living in the compound, some elsewhere.
elderly_units = {b: hh[i] for b, hh in households.items() for i in (3,)}
alone = {}
for building, (household, unit) in elderly_units.items():
    alone[household] = person(name(), rng.randint(1936, 1948),
                              links=[{"kind": "resident-of", "target": household},
                                     {"kind": "owner-of", "target": unit}])

family_households = []
for building, hhs in households.items():
    for household, unit in hhs:
        if household in alone:
            continue
        size = rng.choice([1, 2, 2, 3, 3, 4])
        residents = []
        for i in range(size):
            born = rng.randint(1950, 1995) if i < 2 else rng.randint(2005, 2020)
            links = [{"kind": "resident-of", "target": household}]
            if i == 0:
                links.append({"kind": "owner-of", "target": unit})
            residents.append(person(name(), born, links=links))
        family_households.append(residents)

by_id = dict(people)

# Family of the elderly: a child in the compound for some, children
# elsewhere (with a postal address) for all.
cities = ["Pudong, Shanghai", "Hangzhou", "Suzhou", "Beijing", "Nanjing", "Shenzhen"]
for i, (household, elder) in enumerate(sorted(alone.items())):
    if i % 2 == 0:
        child = family_households[i * 7][0]
        by_id[child]["links"].append({"kind": "family-of", "target": elder})
    person(name(), rng.randint(1965, 1980), links=[{"kind": "family-of", "target": elder}],
           address=f"{rng.randint(1, 999)} {rng.choice(GIVEN)} Road, {cities[i % len(cities)]}")

# Volunteers among the residents, with skills.
for residents in family_households[2::9]:
    volunteer = by_id[residents[0]]
    volunteer["roles"].append({"role": "volunteer"})
    volunteer["skills"] = sorted(rng.sample(SKILLS, 2))

# Staff: grid workers per cell, property staff, a community doctor, security.
person(name(), 1986, roles=[{"role": "grid-worker", "scope": "cell-west"}],
       address="Jiangsu Road Sub-district Office, Shanghai")
person(name(), 1990, roles=[{"role": "grid-worker", "scope": "cell-east"}],
       address="Jiangsu Road Sub-district Office, Shanghai")
person(name(), 1979, roles=[{"role": "property-staff"}], skills=["fire-safety"],
       address="Property management office, Sunny Garden")
person(name(), 1984, roles=[{"role": "property-staff", "scope": "building-3"},
                            {"role": "property-staff", "scope": "building-4"}],
       skills=["plumbing", "electrics"], address="Property management office, Sunny Garden")
person(name(), 1975, roles=[{"role": "community-doctor"}], skills=["first-aid", "geriatrics"],
       address="Community health service centre, Jiangsu Road")
person(name(), 1988, roles=[{"role": "security", "scope": "gate-north"}],
       address="Guard house, Sunny Garden")
person(name(), 1992, roles=[{"role": "security", "scope": "gate-south"}],
       address="Guard house, Sunny Garden")

for id, props in people:
    add(id, None, **props)

collection = {"type": "FeatureCollection", "features": features}
out = Path(__file__).with_name("sunny-garden.geojson")
out.write_text(json.dumps(collection, indent=1, ensure_ascii=False) + "\n")
kinds = {}
for f in features:
    kind = f["properties"].get("poi_kind") or f["properties"]["kind"]
    kinds[kind] = kinds.get(kind, 0) + 1
print(out, len(features), "features:", json.dumps(kinds, sort_keys=True))
