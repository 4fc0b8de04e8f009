//! The Python side of the build: one environment under `target/py` holding
//! the pinned tools the project uses (the OpenAPI validator the tests check
//! the host's document with, componentize-py that builds the scenes written
//! in Python), and the build of those scenes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::{component_path, root, run};

/// The OpenAPI validator, one the project did not write: (distribution, version).
const OPENAPI_VALIDATOR: (&str, &str) = ("openapi-spec-validator", "0.9.0");

/// The tool that turns a Python app and the WIT world into a component.
const COMPONENTIZE_PY: (&str, &str) = ("componentize-py", "0.25.1");

/// Scene plugins written in Python: `plugins/<name>/app.py` beside its
/// `linli.toml`, built to the same place as the Rust components.
pub const PYTHON_PLUGINS: &[&str] = &["leak-watch"];

/// The environment's interpreter, with every pinned tool installed.
pub fn environment() -> Result<PathBuf> {
    let venv = root().join("target/py");
    let python = venv.join("bin/python");
    if !python.exists() {
        eprintln!("xtask: making the Python environment in {}", venv.display());
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    for (distribution, version) in [OPENAPI_VALIDATOR, COMPONENTIZE_PY] {
        ensure(&python, distribution, version)?;
    }
    Ok(python)
}

/// Installs `distribution==version` unless exactly that version is there.
fn ensure(python: &Path, distribution: &str, version: &str) -> Result<()> {
    let installed = Command::new(python)
        .args([
            "-c",
            "import sys, importlib.metadata as m; print(m.version(sys.argv[1]))",
            distribution,
        ])
        .output()
        .context("running the environment's Python")?;
    if installed.status.success() && String::from_utf8_lossy(&installed.stdout).trim() == version {
        return Ok(());
    }
    let pinned = format!("{distribution}=={version}");
    eprintln!("xtask: installing {pinned}");
    run(Command::new(python).args(["-m", "pip", "install", "--quiet", &pinned]))
}

/// Builds every Python scene whose component is older than its sources or
/// the WIT contract (componentize-py takes about twenty seconds a scene).
pub fn build_plugins(python: &Path) -> Result<()> {
    let componentize = python.with_file_name("componentize-py");
    let wit = root().join("wit");
    for plugin in PYTHON_PLUGINS {
        let source = root().join("plugins").join(plugin);
        let output = component_path(plugin);
        if newer_than_sources(&output, &[&source, &wit])? {
            continue;
        }
        eprintln!("xtask: building {plugin} (Python) with componentize-py");
        std::fs::create_dir_all(output.parent().expect("components live in a directory"))?;
        run(Command::new(&componentize)
            .arg("--wit-path")
            .arg(&wit)
            .args(["--world", "scene", "componentize", "--python-path"])
            .arg(&source)
            .arg("app")
            .arg("--output")
            .arg(&output))?;
    }
    Ok(())
}

/// Whether `output` exists and is newer than every file directly in `sources`.
fn newer_than_sources(output: &Path, sources: &[&Path]) -> Result<bool> {
    let Ok(built) = output.metadata().and_then(|m| m.modified()) else {
        return Ok(false);
    };
    let mut newest = SystemTime::UNIX_EPOCH;
    for dir in sources {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let metadata = entry?.metadata()?;
            // Files only: Python writes its own `__pycache__` beside the app.
            if metadata.is_file() {
                newest = newest.max(metadata.modified()?);
            }
        }
    }
    Ok(built > newest)
}
