//! `linli plugin new`: a plugin crate that builds for wasm32-wasip2 and
//! passes its tests as generated — Cargo.toml, `linli.toml` with a config
//! schema, a `Scene` with one handler and one command, native tests that run
//! the scene on the SDK's simulated host (`linli-sdk/testing`, a
//! dev-dependency), a scenario for `linli plugin test` (the built component
//! on a host of its own), and a README saying what to do next.
//!
//! The crate depends on `linli-sdk = "0.1"`, as a vendor writes it once the
//! SDK is published. Until then a `[patch.crates-io]` points it at an SDK on
//! this machine: the one given with `--sdk`, or the one this host was built
//! from when it is still there.

use std::path::{Path, PathBuf};

/// What the new plugin mainly does; it decides the example scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Reacts to readings (a temperature watch).
    Reading,
    /// Answers people's commands (a notice board).
    Command,
}

/// Why a plugin crate could not be written.
#[derive(Debug, thiserror::Error)]
pub enum NewPluginError {
    #[error(
        "{0:?} is not a plugin name: 1-64 characters of a-z, 0-9 or '-', starting with a letter"
    )]
    BadName(String),
    #[error("{0} already exists; choose another name or directory")]
    Exists(PathBuf),
    #[error("no linli SDK at {0} (it has no Cargo.toml)")]
    NoSdk(PathBuf),
    #[error("cannot write {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// What to generate.
pub struct NewPlugin<'a> {
    pub name: &'a str,
    pub kind: Kind,
    pub vendor: &'a str,
    /// Where the crate's folder is made.
    pub parent: &'a Path,
    /// The SDK to patch in; `None` looks for the one this host was built from.
    pub sdk: Option<&'a Path>,
}

/// The SDK beside the host's own source, if this binary was built from a
/// checkout that is still there.
fn built_from_sdk() -> Option<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.join("sdk");
    sdk.join("Cargo.toml").exists().then_some(sdk)
}

fn check_name(name: &str) -> Result<(), NewPluginError> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(NewPluginError::BadName(name.to_owned()))
    }
}

/// `heat-watch` → `HeatWatch`: the scene's type name.
fn type_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

const CARGO: &str = include_str!("../../templates/plugin/Cargo.toml.template");
const MANIFEST: &str = include_str!("../../templates/plugin/linli.toml.template");
const README: &str = include_str!("../../templates/plugin/README.md.template");
const READING_LIB: &str = include_str!("../../templates/plugin/src/reading.rs.template");
const READING_TEST: &str = include_str!("../../templates/plugin/tests/reading.rs.template");
const COMMAND_LIB: &str = include_str!("../../templates/plugin/src/command.rs.template");
const COMMAND_TEST: &str = include_str!("../../templates/plugin/tests/command.rs.template");
const READING_SCENARIO: &str =
    include_str!("../../templates/plugin/scenarios/reading.toml.template");
const COMMAND_SCENARIO: &str =
    include_str!("../../templates/plugin/scenarios/command.toml.template");

/// The parts of the manifest that depend on the kind.
struct KindParts {
    description: &'static str,
    capabilities: &'static str,
    config_schema: &'static str,
    lib: &'static str,
    test: &'static str,
    scenario: &'static str,
    try_it: &'static str,
}

fn parts(kind: Kind) -> KindParts {
    match kind {
        Kind::Reading => KindParts {
            description: "Counts temperature readings over the community's threshold, per device",
            capabilities: "[capabilities.sensor]\nkinds = [\"temperature\"]\n[capabilities.store]",
            config_schema: "[config-schema.properties.threshold]\ntype = \"number\"\n\
                            description = \"Degrees Celsius above which a reading is too hot (default 30)\"",
            lib: READING_LIB,
            test: READING_TEST,
            scenario: READING_SCENARIO,
            try_it: "send a `temperature` reading over 30 to a device of the community, then run the `status` command",
        },
        Kind::Command => KindParts {
            description: "A community notice board: post notices, read the newest, old ones tidied daily",
            capabilities: "[capabilities.store]\n[capabilities.timer]",
            config_schema: "[config-schema.properties.keep-days]\ntype = \"integer\"\nminimum = 1\nmaximum = 365\n\
                            description = \"How many days a notice stays on the board (default 14)\"",
            lib: COMMAND_LIB,
            test: COMMAND_TEST,
            scenario: COMMAND_SCENARIO,
            try_it: "run the `post` command with `{\"text\": \"Lift B is out of order\"}`, then `board`",
        },
    }
}

/// Writes the crate; returns its folder.
pub fn generate(plugin: &NewPlugin) -> Result<PathBuf, NewPluginError> {
    check_name(plugin.name)?;
    let dir = plugin.parent.join(plugin.name);
    if dir.exists() {
        return Err(NewPluginError::Exists(dir));
    }
    let sdk = match plugin.sdk {
        Some(sdk) if !sdk.join("Cargo.toml").exists() => {
            return Err(NewPluginError::NoSdk(sdk.to_owned()))
        }
        Some(sdk) => Some(sdk.to_owned()),
        None => built_from_sdk(),
    };
    let sdk_patch = match sdk {
        Some(sdk) => {
            let sdk = std::fs::canonicalize(&sdk).unwrap_or(sdk);
            format!(
                "\n# Until linli-sdk is on crates.io: the SDK on this machine.\n\
                 [patch.crates-io]\nlinli-sdk = {{ path = {:?} }}\n",
                sdk.display().to_string()
            )
        }
        None => String::new(),
    };
    let parts = parts(plugin.kind);
    let fill = |template: &str| {
        template
            .replace("{{name}}", plugin.name)
            .replace("{{crate}}", &plugin.name.replace('-', "_"))
            .replace("{{scene}}", &type_name(plugin.name))
            .replace("{{vendor}}", plugin.vendor)
            .replace("{{description}}", parts.description)
            .replace("{{capabilities}}", parts.capabilities)
            .replace("{{config_schema}}", parts.config_schema)
            .replace("{{try_it}}", parts.try_it)
            .replace("{{sdk_patch}}", &sdk_patch)
    };
    let files = [
        ("Cargo.toml", fill(CARGO)),
        ("linli.toml", fill(MANIFEST)),
        ("README.md", fill(README)),
        ("src/lib.rs", fill(parts.lib)),
        ("tests/scene.rs", fill(parts.test)),
        ("scenarios/first.toml", fill(parts.scenario)),
        (".gitignore", "/target\n*.linli\n".to_owned()),
    ];
    for (name, contents) in files {
        let path = dir.join(name);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, contents));
        written.map_err(|error| NewPluginError::Io { path, error })?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_crate_and_type_names() {
        assert_eq!(type_name("heat-watch"), "HeatWatch");
        assert_eq!(type_name("board2"), "Board2");
        assert!(check_name("heat-watch").is_ok());
        for bad in ["", "Heat", "2heat", "heat_watch", "heat-", &"h".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_new_plugin_has_a_manifest_the_host_accepts_once_packed() {
        for kind in [Kind::Reading, Kind::Command] {
            let parent = tempfile::tempdir().unwrap();
            let dir = generate(&NewPlugin {
                name: "heat-watch",
                kind,
                vendor: "acme",
                parent: parent.path(),
                sdk: None,
            })
            .unwrap();
            let manifest = std::fs::read_to_string(dir.join("linli.toml")).unwrap();
            let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
            let versioned = super::super::build::packed_manifest(&dir).unwrap();
            let parsed = crate::registry::manifest::Manifest::parse(&versioned).unwrap();
            assert_eq!(parsed.id.as_str(), "heat-watch");
            assert_eq!(parsed.version.to_string(), "0.1.0");
            let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
            assert!(!lib.contains("{{") && !cargo.contains("{{") && !manifest.contains("{{"));
            assert!(matches!(
                generate(&NewPlugin {
                    name: "heat-watch",
                    kind,
                    vendor: "acme",
                    parent: parent.path(),
                    sdk: None
                }),
                Err(NewPluginError::Exists(_))
            ));
        }
    }
}
