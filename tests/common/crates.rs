//! Fixture crates with `//~` markers, linted through the binary: what the crate-model and
//! re-export tests share.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{run_in, stderr, stdout};

/// (path, line, rule) of findings or markers.
pub type Found = BTreeSet<(String, u32, String)>;

/// The fixture crates (folders with a Cargo.toml) directly below `fixtures/<under>`, sorted.
pub fn cases(under: &str) -> Vec<PathBuf> {
    let root = super::repo_root().join("fixtures").join(under);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{root:?}: {e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "fixture crates not found in {root:?}");
    cases
}

/// Every `.rs` file below `dir`, relative to it, `/`-separated.
pub fn rust_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy();
                out.push(rel.replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// (path, line, rule) of every finding of a JSON run in `dir`.
pub fn lint(dir: &Path, args: &[&str]) -> Found {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = run_in(dir, &all);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{dir:?} {args:?}: {}",
        stderr(&out)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json report");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or("").to_owned(),
                f["region"]["start"]["line"].as_u64().unwrap_or(0) as u32,
                f["rule"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The `//~ rule, rule` markers of `file` (relative to `dir`).
pub fn markers(dir: &Path, file: &str) -> Found {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let mut out = Found::new();
    for (i, line) in text.lines().enumerate() {
        if let Some((_, marker)) = line.split_once("//~") {
            for rule in marker.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                out.insert((file.to_owned(), i as u32 + 1, rule.to_owned()));
            }
        }
    }
    out
}

/// The entries of `found` in `file`.
pub fn of_file(found: &Found, file: &str) -> Found {
    found.iter().filter(|f| f.0 == file).cloned().collect()
}
