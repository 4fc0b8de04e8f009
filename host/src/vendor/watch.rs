//! Which files of a plugin the dev loop watches, and noticing that one
//! changed.
//!
//! It polls: a plugin is a handful of files, a look every few hundred
//! milliseconds costs nothing, and polling sees changes where file-system
//! events do not arrive (a folder shared into a container or a VM, a
//! network mount), which is where vendors often edit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How often the files are looked at.
const POLL: Duration = Duration::from_millis(300);

/// How long the files must stay unchanged before a rebuild starts, so an
/// editor saving several files (or a build writing one in pieces) gives
/// one reload.
const SETTLE: Duration = Duration::from_millis(300);

/// What a file looked like: when it was last written and how long it was.
type Stamp = (SystemTime, u64);

/// The files the dev loop watches.
pub enum Watched {
    /// Every file under the plugin's folder that a build reads: not
    /// `target/`, hidden folders, `__pycache__`, nor the components and
    /// packages a build writes there.
    Sources(PathBuf),
    /// A component built by the vendor's own tool, and the manifest beside
    /// it in the plugin's folder.
    Component { component: PathBuf, dir: PathBuf },
}

impl Watched {
    fn stamps(&self) -> BTreeMap<PathBuf, Stamp> {
        let mut stamps = BTreeMap::new();
        match self {
            Watched::Sources(dir) => collect_sources(dir, &mut stamps),
            Watched::Component { component, dir } => {
                for file in [component.clone(), dir.join("linli.toml")] {
                    if let Some(stamp) = stamp(&file) {
                        stamps.insert(file, stamp);
                    }
                }
            }
        }
        stamps
    }

    /// Waits until a watched file is written, added or removed, and then
    /// until the files have stopped changing.
    pub async fn changed(&self) {
        let before = self.stamps();
        let mut now = before.clone();
        while now == before {
            tokio::time::sleep(POLL).await;
            now = self.stamps();
        }
        loop {
            tokio::time::sleep(SETTLE).await;
            let later = self.stamps();
            if later == now {
                return;
            }
            now = later;
        }
    }
}

fn stamp(path: &Path) -> Option<Stamp> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

/// Whether a folder or file under the plugin is a build's output or a
/// tool's own, not a source.
fn is_output(name: &str) -> bool {
    name == "target"
        || name == "__pycache__"
        || name.starts_with('.')
        || name.ends_with(".wasm")
        || name.ends_with(".linli")
}

fn collect_sources(dir: &Path, stamps: &mut BTreeMap<PathBuf, Stamp>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if is_output(&entry.file_name().to_string_lossy()) {
            continue;
        }
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => collect_sources(&path, stamps),
            Ok(_) => {
                if let Some(stamp) = stamp(&path) {
                    stamps.insert(path, stamp);
                }
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_leave_out_what_builds_and_tools_write() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "linli.toml",
            "Cargo.toml",
            "src/lib.rs",
            "target/wasm32-wasip2/release/x.wasm",
            "__pycache__/app.cpython-311.pyc",
            ".git/HEAD",
            "plugin.wasm",
            "x.linli",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        let watched: Vec<PathBuf> = Watched::Sources(root.to_owned())
            .stamps()
            .into_keys()
            .map(|p| p.strip_prefix(root).unwrap().to_owned())
            .collect();
        assert_eq!(
            watched,
            [
                PathBuf::from("Cargo.toml"),
                PathBuf::from("linli.toml"),
                PathBuf::from("src/lib.rs")
            ]
        );
    }

    #[tokio::test]
    async fn a_write_is_noticed_once_the_files_settle() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("app.py");
        std::fs::write(&source, "a = 1").unwrap();
        let watched = Watched::Sources(dir.path().to_owned());
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            std::fs::write(&source, "a = 22").unwrap();
        });
        tokio::time::timeout(Duration::from_secs(30), watched.changed())
            .await
            .expect("the write is noticed");
        writer.await.unwrap();
    }
}
