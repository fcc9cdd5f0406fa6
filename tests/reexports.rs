//! Re-exports through the crate model: a workspace member that re-exports a dependency or its
//! items from its crate root (`pub use tokio;`, `pub use reqwest::Client;`) is resolved to that
//! dependency when another member uses it by the member's name (also Cargo-renamed). Every fixture
//! crate under `fixtures/crate-model/reexports/` produces exactly its `//~` markers, each file
//! named alone gives the same findings, and the prefilter skips none of them (`--no-prefilter`
//! finds the same).
mod common;

use common::crates::{cases as fixture_crates, lint, markers, rust_files, Found};

#[test]
fn reexported_dependencies_resolve_in_whole_and_single_file_runs() {
    let mut problems = Vec::new();
    for case in fixture_crates("crate-model/reexports") {
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
