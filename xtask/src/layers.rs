//! The host's floors: no import cycle among the top-level modules of
//! `host/src` (`api`, `caps`, `runtime`, ...). A module imports another
//! when one of its files names `crate::<other>` or, in a top-level file,
//! declares nothing of it but names it. `cargo xtask test` runs this check
//! (as a unit test of xtask), so a cycle fails the suite the day it is
//! introduced.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Which top-level module imports which, read from the sources under `src`.
pub fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = std::fs::read_dir(src)
        .expect("host/src")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_stem()?.to_str()?.to_owned();
            let is_module = path.is_dir() || path.extension().is_some_and(|x| x == "rs");
            (is_module && name != "lib" && name != "main").then_some(name)
        })
        .collect();
    let mut graph = BTreeMap::new();
    for module in &modules {
        let mut named = BTreeSet::new();
        for file in rust_files(&src.join(module))
            .into_iter()
            .chain(rust_files(&src.join(format!("{module}.rs"))))
        {
            let text = std::fs::read_to_string(&file).expect("a source file");
            for other in &modules {
                if other != module && names(&text, other) {
                    named.insert(other.clone());
                }
            }
        }
        graph.insert(module.clone(), named);
    }
    graph
}

/// Whether source `text` names top-level module `module` through `crate::`,
/// outside comments.
fn names(text: &str, module: &str) -> bool {
    let needle = format!("crate::{module}");
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .any(|code| {
            code.match_indices(&needle).any(|(at, _)| {
                let rest = &code[at + needle.len()..];
                !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        })
}

fn rust_files(path: &Path) -> Vec<std::path::PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .flat_map(|p| {
            if p.is_dir() {
                rust_files(&p)
            } else if p.extension().is_some_and(|x| x == "rs") {
                vec![p]
            } else {
                Vec::new()
            }
        })
        .collect()
}

/// One import cycle of `graph`, as the modules along it, if there is one.
pub fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|n| n == node).expect("on the path");
                let mut found = path[start..].to_vec();
                found.push(node.to_owned());
                return Some(found);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, marks, path) {
                return Some(found);
            }
        }
        path.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut marks, &mut Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            graph
                .entry(from.to_string())
                .or_default()
                .insert(to.to_string());
            graph.entry(to.to_string()).or_default();
        }
        graph
    }

    #[test]
    fn the_host_has_no_import_cycle_among_its_top_level_modules() {
        let graph = imports(&crate::root().join("host/src"));
        assert!(
            graph.contains_key("caps") && graph.contains_key("api"),
            "{graph:?}"
        );
        if let Some(found) = cycle(&graph) {
            panic!(
                "host/src has an import cycle: {} (a module may import only those below it)",
                found.join(" -> ")
            );
        }
    }

    #[test]
    fn a_cycle_is_found_and_a_ladder_is_not() {
        assert_eq!(
            cycle(&graph(&[("api", "caps"), ("caps", "db"), ("api", "db")])),
            None
        );
        let found = cycle(&graph(&[
            ("api", "caps"),
            ("caps", "runtime"),
            ("runtime", "caps"),
        ]));
        assert_eq!(found.unwrap(), ["caps", "runtime", "caps"]);
    }

    #[test]
    fn imports_are_read_from_code_not_comments_or_longer_names() {
        assert!(names("use crate::caps::map;", "caps"));
        assert!(!names("// see crate::caps for more", "caps"));
        assert!(!names("use crate::capsule;", "caps"));
    }
}
