//! The crate model through the binary: every fixture crate under `fixtures/crate-model/` produces
//! exactly its `//~` markers when its folder is linted, and each of its files named alone (what a
//! pre-commit hook does) gives the same findings as in the whole run. Files marked `// test code`
//! fire with `--include-tests`; files marked `// not in the build` never do, and are counted.
mod common;

use std::collections::BTreeMap;
use std::path::Path;

use cargo_backpressure::engine::test_code::TEST_NAMES;
use common::crates::{cases as fixture_crates, lint, markers, of_file, rust_files};
use common::{run_in, stderr, stdout};

#[test]
fn whole_run_and_single_file_runs_agree_with_the_markers() {
    let mut problems = Vec::new();
    for case in fixture_crates("crate-model") {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let whole = lint(&case, &["."]);
        let with_tests = lint(&case, &["--include-tests", "."]);
        for file in rust_files(&case) {
            let want = markers(&case, &file);
            let got = of_file(&whole, &file);
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
            let text = std::fs::read_to_string(case.join(&file)).unwrap();
            let fires_with_tests = !of_file(&with_tests, &file).is_empty();
            if text.starts_with("// test code") && !fires_with_tests {
                problems.push(format!(
                    "{name}/{file}: test code, but --include-tests finds nothing"
                ));
            }
            if text.starts_with("// not in the build") && fires_with_tests {
                problems.push(format!(
                    "{name}/{file}: not in the build, but --include-tests lints it"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The `--stats` lines of a run in `dir`.
fn stats(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["--stats", "--format", "short"];
    all.extend_from_slice(args);
    stderr(&run_in(dir, &all))
}

#[test]
fn stats_count_files_by_reason_and_the_summary_names_unreachable_files() {
    let root = common::repo_root().join("fixtures/crate-model");
    let expect: &[(&str, &[&str])] = &[
        (
            "dev-only-member",
            &["in a member used only as a dev-dependency: 1"],
        ),
        (
            "test-named",
            &["in a folder or crate named for tests or tooling: 20"],
        ),
        (
            "outside-tree",
            &["2 skipped as not in any module tree", "analysed: 4"],
        ),
        ("path-trick", &["skipped as not in any module tree: 1"]),
        ("test-feature", &["declared #[cfg(test)]: 1", "analysed: 2"]),
        ("test-gated", &["declared #[cfg(test)]: 3", "analysed: 1"]),
        ("build-script", &["a build script: 2", "analysed: 1"]),
        (
            "bin-path",
            &["analysed: 4", "skipped as not in any module tree: 1"],
        ),
        (
            "inline-path",
            &["analysed: 10", "not in any module tree: 1"],
        ),
    ];
    let mut problems = Vec::new();
    for (case, lines) in expect {
        let text = stats(&root.join(case), &["."]);
        for line in *lines {
            if !text.contains(line) {
                problems.push(format!("{case}: `{line}` not in\n{text}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_test_name_entry_has_a_fixture() {
    let crates = common::repo_root().join("fixtures/crate-model/test-named/crates");
    let folders: Vec<String> = std::fs::read_dir(&crates)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().replace('_', "-"))
        .collect();
    for (pattern, _) in TEST_NAMES {
        let matches = |name: &String| {
            if let Some(suffix) = pattern.strip_prefix('*') {
                name.ends_with(suffix) && name.len() > suffix.len()
            } else if let Some(prefix) = pattern.strip_suffix('*') {
                name.starts_with(prefix) && name.len() > prefix.len()
            } else {
                name == pattern
            }
        };
        assert!(
            folders.iter().any(matches),
            "no fixture crate in {crates:?} for the test name `{pattern}`"
        );
    }
}

#[test]
fn a_loose_folder_without_any_manifest_is_linted_as_before() {
    // No Cargo.toml anywhere above: `#[cfg(test)] mod x;` still makes x.rs test code, and every
    // other file is linted (none is "unreachable").
    let dir = tempfile::tempdir().unwrap();
    let fire = "pub fn q() { let (_t, _r) = flume::unbounded::<u32>(); }\n";
    std::fs::write(
        dir.path().join("lib.rs"),
        format!("#[cfg(test)]\nmod x;\n{fire}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("x.rs"), fire).unwrap();
    std::fs::write(dir.path().join("stray.rs"), fire).unwrap();
    let found: BTreeMap<String, usize> =
        lint(dir.path(), &["."])
            .into_iter()
            .fold(BTreeMap::new(), |mut m, (p, _, _)| {
                *m.entry(p).or_default() += 1;
                m
            });
    assert_eq!(
        found.keys().map(String::as_str).collect::<Vec<_>>(),
        ["lib.rs", "stray.rs"]
    );
}

/// A workspace of `n` members, each with one clean file, listed one by one in the root manifest.
fn workspace_of(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut root = String::from("[workspace]\nresolver = \"2\"\nmembers = [\n");
    for i in 0..n {
        root.push_str(&format!("  \"crates/member-{i}\",\n"));
        let member = dir.path().join(format!("crates/member-{i}"));
        std::fs::create_dir_all(member.join("src")).unwrap();
        std::fs::write(
            member.join("Cargo.toml"),
            format!("[package]\nname = \"member-{i}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ntokio = {{ workspace = true }}\n"),
        )
        .unwrap();
        std::fs::write(member.join("src/lib.rs"), "pub fn f() -> u32 { 1 }\n").unwrap();
    }
    root.push_str("]\n\n[workspace.dependencies]\ntokio = \"1\"\n");
    std::fs::write(dir.path().join("Cargo.toml"), root).unwrap();
    dir
}

fn fastest_run(dir: &Path) -> std::time::Duration {
    (0..2)
        .map(|_| {
            let start = std::time::Instant::now();
            let out = run_in(dir, &["--format", "short", "."]);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

#[test]
fn workspace_discovery_is_linear_in_members() {
    // Each member's manifest used to re-read the root manifest (which lists every member): six
    // times the members took about fifteen times as long. Linear, it takes at most six.
    let small = workspace_of(250);
    let large = workspace_of(1500);
    let (t_small, t_large) = (fastest_run(small.path()), fastest_run(large.path()));
    let ratio = t_large.as_secs_f64() / t_small.as_secs_f64().max(1e-3);
    assert!(
        ratio < 9.0,
        "250 members: {t_small:?}, 1500 members: {t_large:?} (x{ratio:.1})"
    );
}

fn crate_with(manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "pub fn q() { let (_t, _r) = flume::unbounded::<u32>(); }\n",
    )
    .unwrap();
    dir
}

#[test]
fn a_malformed_manifest_holding_configuration_is_a_configuration_error() {
    let broken = "[package]\nname = \"broken\"\nversion = \"0.1.0\n\n[package.metadata.backpressure.rules]\nunbounded-channel = \"allow\"\n";
    let dir = crate_with(broken);
    // The workspace root's own manifest (found with no path given) and a package's, named by path.
    for args in [
        &["--format", "short"][..],
        &["--format", "short", "src"][..],
    ] {
        let out = run_in(dir.path(), args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("Cargo.toml:3:"), "{args:?}: {err}");
    }
}

#[test]
fn a_malformed_manifest_without_configuration_is_a_note() {
    let dir = crate_with("[package]\nname = \"broken\"\nversion = \"0.1.0\n");
    let out = run_in(dir.path(), &["--format", "short", "src"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("note:") && err.contains("Cargo.toml: not a valid manifest"),
        "{err}"
    );
    assert!(stdout(&out).contains("src/lib.rs:1:"), "{}", stdout(&out));
}
