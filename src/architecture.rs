//! Tests of the crate's shape, read from its own source: imports between
//! top-level modules run one way (no cycle), and only `warehouse` names
//! DuckDB. `scripts/module_graph.py` prints the same graph for a reader.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the source of its files, each without its
/// `#[cfg(test)] mod tests` tail (tests may reach anywhere).
fn sources() -> BTreeMap<String, Vec<(String, String)>> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut modules: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for path in files {
        let rel = path.strip_prefix(&root).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = first.trim_end_matches(".rs").to_string();
        if ["lib", "main", "architecture"].contains(&top.as_str()) || rel.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let text = match text.find("#[cfg(test)]\nmod tests") {
            Some(cut) => text[..cut].to_string(),
            None => text,
        };
        let name = rel.to_string_lossy().into_owned();
        modules.entry(top).or_default().push((name, text));
    }
    modules
}

/// The top-level modules a source names through `crate::x` or
/// `crate::{x, y::z}`.
fn named_modules(text: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect()
    };
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            names.extend(group.split(',').map(|p| ident(p.trim())));
        } else {
            names.insert(ident(rest));
        }
    }
    names.remove("");
    names
}

#[test]
fn imports_between_modules_run_one_way() {
    let modules = sources();
    let edges: BTreeMap<&str, BTreeSet<String>> = modules
        .iter()
        .map(|(m, files)| {
            let mut to: BTreeSet<String> =
                files.iter().flat_map(|(_, t)| named_modules(t)).collect();
            to.retain(|n| n != m && modules.contains_key(n));
            (m.as_str(), to)
        })
        .collect();
    // A module is in a cycle when it reaches itself.
    let reaches = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = edges[from].iter().cloned().collect();
        while let Some(m) = todo.pop() {
            if seen.insert(m.clone()) {
                todo.extend(edges[m.as_str()].iter().cloned());
            }
        }
        seen
    };
    let cyclic: Vec<String> = edges
        .keys()
        .filter(|m| reaches(m).contains(**m))
        .map(|m| format!("{m} -> {:?}", edges[m]))
        .collect();
    assert!(
        cyclic.is_empty(),
        "modules in an import cycle:\n{}",
        cyclic.join("\n")
    );
}

#[test]
fn only_the_warehouse_names_duckdb() {
    let outside: Vec<String> = sources()
        .into_iter()
        .filter(|(m, _)| m != "warehouse")
        .flat_map(|(_, files)| files)
        .filter(|(_, text)| text.contains("duckdb::") || text.contains("use duckdb"))
        .map(|(name, _)| name)
        .collect();
    assert!(
        outside.is_empty(),
        "DuckDB named outside `warehouse`: {outside:?}"
    );
}

#[test]
fn the_parser_reads_paths_and_groups() {
    let text = "use crate::{error::Error, warehouse};\nlet x = crate::domain::fr::fr_int(1);";
    let names: Vec<String> = named_modules(text).into_iter().collect();
    assert_eq!(names, ["domain", "error", "warehouse"]);
}
