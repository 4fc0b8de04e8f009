//! Where things are and what was built: the workspace, the `linli` binary,
//! the example plugins' components and packages, the demo community's map.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// 2026-01-01T00:00:00Z: where every test clock starts.
pub const START: i64 = 1_767_225_600_000;

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// The `linli` binary built beside the tests (`cargo test` builds it with
/// the host): in the profile directory above the test's own executable,
/// wherever the target directory is.
pub fn linli_binary() -> PathBuf {
    let test = std::env::current_exe().expect("the test's own path");
    let profile = test
        .parent()
        .and_then(Path::parent)
        .expect("tests run from <target>/<profile>/deps");
    let path = profile.join("linli");
    assert!(
        path.exists(),
        "{} is missing; build it with `cargo build -p linli-host`",
        path.display()
    );
    path
}

/// The built component of an example plugin.
pub fn component(plugin: &str) -> Vec<u8> {
    let path = workspace()
        .join("target/wasm/wasm32-wasip2/plugin")
        .join(format!("{}.wasm", plugin.replace('-', "_")));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the plugins first with `cargo xtask plugins`",
            path.display()
        )
    })
}

/// The demo community's map (`examples/demo-community/sunny-garden.geojson`).
pub fn demo_community_map() -> Value {
    let path = workspace().join("examples/demo-community/sunny-garden.geojson");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the demo map is JSON")
}

/// The people of the demo map living in a household at or under `place`, read from the file itself.
pub fn demo_residents_of(place: &str) -> std::collections::BTreeSet<String> {
    let map = demo_community_map();
    let features = map["features"].as_array().expect("features");
    let parent: std::collections::BTreeMap<&str, &str> = features
        .iter()
        .filter_map(|f| Some((f["id"].as_str()?, f["properties"]["parent"].as_str()?)))
        .collect();
    let within = |start: &str| {
        let mut at = start;
        loop {
            if at == place {
                return true;
            }
            match parent.get(at) {
                Some(up) => at = up,
                None => return false,
            }
        }
    };
    features
        .iter()
        .filter(|f| {
            f["properties"]["links"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|l| l["kind"] == "resident-of" && l["target"].as_str().is_some_and(within))
        })
        .filter_map(|f| f["id"].as_str().map(str::to_owned))
        .collect()
}

/// A tar archive of `entries`, as a package file is built, without checking them.
pub fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    linli_host::registry::package::tar_of(entries).expect("tar archive")
}

/// The source folder of a plugin: a scene in `plugins/` or an example in `examples/`.
fn plugin_dir(plugin: &str) -> PathBuf {
    let scene = workspace().join("plugins").join(plugin);
    if scene.is_dir() {
        scene
    } else {
        workspace().join("examples").join(plugin)
    }
}

/// A package of a plugin with its manifest edited (and not checked, so tests can break it).
pub fn package_with(plugin: &str, edit_manifest: impl FnOnce(String) -> String) -> Vec<u8> {
    let manifest = std::fs::read_to_string(plugin_dir(plugin).join("linli.toml"))
        .unwrap_or_else(|e| panic!("the manifest of {plugin}: {e}"));
    tar(&[
        ("linli.toml", edit_manifest(manifest).as_bytes()),
        ("plugin.wasm", &component(plugin)),
    ])
}

/// Everything a plugin's manifest requests, as the grants of an installation.
pub fn requested_grants(plugin: &str) -> Value {
    let text = std::fs::read_to_string(plugin_dir(plugin).join("linli.toml"))
        .unwrap_or_else(|e| panic!("the manifest of {plugin}: {e}"));
    let manifest = linli_host::registry::manifest::Manifest::parse(&text)
        .unwrap_or_else(|e| panic!("the manifest of {plugin}: {e}"));
    serde_json::to_value(manifest.capabilities).expect("capabilities serialize")
}

/// A package of a plugin as built.
pub fn package(plugin: &str) -> Vec<u8> {
    package_with(plugin, |m| m)
}
