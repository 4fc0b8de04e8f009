//! The catalogue of reading kinds the host understands: each kind's value
//! type, canonical unit, accepted unit spellings and plausible range. Ingest
//! validates every reading against it; manifests and grants name kinds from it.

/// The type a kind's value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Number,
    Flag,
    Text,
}

/// One reading kind.
#[derive(Debug, Clone, Copy)]
pub struct ReadingKind {
    pub name: &'static str,
    pub value: ValueType,
    /// The canonical unit readings are stored in.
    pub unit: Option<&'static str>,
    /// Other spellings of the canonical unit that devices send.
    pub unit_aliases: &'static [&'static str],
    /// Inclusive bounds outside which a value is a device fault, not a measurement.
    pub range: Option<(f64, f64)>,
}

const fn number(
    name: &'static str,
    unit: &'static str,
    unit_aliases: &'static [&'static str],
    range: (f64, f64),
) -> ReadingKind {
    ReadingKind {
        name,
        value: ValueType::Number,
        unit: Some(unit),
        unit_aliases,
        range: Some(range),
    }
}

const fn flag(name: &'static str) -> ReadingKind {
    ReadingKind {
        name,
        value: ValueType::Flag,
        unit: None,
        unit_aliases: &[],
        range: None,
    }
}

/// Every kind, by name.
pub const CATALOGUE: &[ReadingKind] = &[
    number(
        "temperature",
        "°C",
        &["C", "celsius", "degC"],
        (-60.0, 1200.0),
    ),
    number("humidity", "%", &["percent", "%RH"], (0.0, 100.0)),
    number("smoke", "%/m", &["%obs/m"], (0.0, 100.0)),
    number("gas", "%LEL", &["LEL"], (0.0, 100.0)),
    number("co", "ppm", &[], (0.0, 10_000.0)),
    number("co2", "ppm", &[], (0.0, 100_000.0)),
    number("heart-rate", "bpm", &["/min"], (0.0, 300.0)),
    number("spo2", "%", &["percent"], (0.0, 100.0)),
    number("steps", "count", &["steps"], (0.0, 1.0e9)),
    number("water-meter", "L", &["l", "litre", "liter"], (0.0, 1.0e12)),
    number("pressure", "kPa", &["kpa"], (0.0, 10_000.0)),
    number("level", "%", &["percent"], (0.0, 100.0)),
    number("battery", "%", &["percent"], (0.0, 100.0)),
    flag("smoke-alarm"),
    flag("fall"),
    flag("sos"),
    flag("door"),
    flag("motion"),
    flag("occupancy"),
    flag("tilt"),
    flag("leak"),
    flag("tamper"),
    flag("manual-call-point"),
    ReadingKind {
        name: "status",
        value: ValueType::Text,
        unit: None,
        unit_aliases: &[],
        range: None,
    },
];

/// The kind called `name`, if the host knows it.
pub fn kind(name: &str) -> Option<&'static ReadingKind> {
    CATALOGUE.iter().find(|k| k.name == name)
}

impl ReadingKind {
    /// The canonical unit for a unit a device sent, or why it is not accepted.
    pub fn canonical_unit(&self, sent: Option<&str>) -> Result<Option<&'static str>, String> {
        match (self.unit, sent) {
            (canonical, None) => Ok(canonical),
            (Some(canonical), Some(sent))
                if sent == canonical || self.unit_aliases.contains(&sent) =>
            {
                Ok(Some(canonical))
            }
            (Some(canonical), Some(sent)) => Err(format!(
                "{} is measured in {canonical}, not {sent:?}",
                self.name
            )),
            (None, Some(sent)) => Err(format!("{} takes no unit, got {sent:?}", self.name)),
        }
    }
}
