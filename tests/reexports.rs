//! Re-exports through the crate model: a workspace member that re-exports a dependency or its
//! items from its crate root (`pub use tokio;`, `pub use reqwest::Client;`) is resolved to that
//! dependency when another member uses it by the member's name (also Cargo-renamed). Every fixture
//! crate under `fixtures/crate-model/reexports/` produces exactly its `//~` markers, each file
//! named alone gives the same findings, and the prefilter skips none of them (`--no-prefilter`
//! finds the same).
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{run_in, stderr, stdout};

type Found = BTreeSet<(String, u32, String)>;

fn cases() -> Vec<PathBuf> {
    let root = common::repo_root().join("fixtures/crate-model/reexports");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures/crate-model/reexports exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "fixture crates not found in {root:?}");
    cases
}

/// Every `.rs` file below `dir`, relative to it, `/`-separated.
fn rust_files(dir: &Path) -> Vec<String> {
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
fn lint(dir: &Path, args: &[&str]) -> Found {
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

fn markers(dir: &Path, file: &str) -> Found {
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

#[test]
fn reexported_dependencies_resolve_in_whole_and_single_file_runs() {
    let mut problems = Vec::new();
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let whole = lint(&case, &["."]);
        let mut want_all = Found::new();
        for file in rust_files(&case) {
            let want = markers(&case, &file);
            want_all.extend(want.iter().cloned());
            let got: Found = whole.iter().filter(|f| f.0 == file).cloned().collect();
            if got != want {
                problems.push(format!(
                    "{name}/{file}: whole run found {got:?}, markers say {want:?}"
                ));
            }
            let alone = lint(&case, &[file.as_str()]);
            if alone != got {
                problems.push(format!(
                    "{name}/{file}: named alone found {alone:?}, the whole run {got:?}"
                ));
            }
        }
        assert!(!want_all.is_empty(), "{name}: a fixture without markers");
        let unfiltered = lint(&case, &["--no-prefilter", "."]);
        if unfiltered != whole {
            problems.push(format!(
                "{name}: --no-prefilter found {unfiltered:?}, the prefiltered run {whole:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
