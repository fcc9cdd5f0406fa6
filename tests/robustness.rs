//! Hostile input: nothing panics, hangs or loses the other files' findings, and every file that is
//! not analysed is named with its reason.
mod common;

use cargo_backpressure::diag::NotAnalysed;
use cargo_backpressure::run::{Outcome, Report};

const FINDING: &str = "fn f() { let (tx, rx) = flume::unbounded::<u32>(); }\n";

/// The outcome of a file the report keeps (one with findings or not analysed).
fn outcome<'r>(report: &'r Report, name: &str) -> &'r Outcome {
    &report
        .files
        .iter()
        .find(|f| f.display.ends_with(name))
        .unwrap_or_else(|| panic!("{name} not in report"))
        .outcome
}

/// Findings in a file; a clean file is not kept in the report.
fn findings_in(report: &Report, name: &str) -> usize {
    match report.files.iter().find(|f| f.display.ends_with(name)) {
        None => 0,
        Some(f) => match &f.outcome {
            Outcome::Analysed { findings } => findings.len(),
            other => panic!("{name}: {other:?}"),
        },
    }
}

#[test]
fn hostile_files_are_reported_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("good.rs"), FINDING).unwrap();
    // Each hostile file names a rule's API (`flume::unbounded`), so the prefilter lets it reach the parser.
    std::fs::write(p.join("syntax.rs"), "use flume::unbounded; fn f( {").unwrap();
    std::fs::write(
        p.join("latin1.rs"),
        b"use flume::unbounded; fn f() { let s = \"caf\xe9\"; }",
    )
    .unwrap();
    std::fs::write(p.join("binary.rs"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    std::fs::write(p.join("empty.rs"), "").unwrap();
    std::fs::write(
        p.join("parens.rs"),
        format!(
            "use flume::unbounded; fn f() {{ {}1{} }}",
            "(".repeat(200_000),
            ")".repeat(200_000)
        ),
    )
    .unwrap();
    std::fs::write(
        p.join("blocks.rs"),
        format!(
            "use flume::unbounded; fn f() {}{}",
            "{".repeat(200_000),
            "}".repeat(200_000)
        ),
    )
    .unwrap();
    std::fs::write(
        p.join("chain.rs"),
        format!(
            "use flume::unbounded; fn f() {{ let x = 1{}; }}",
            " + 1".repeat(300_000)
        ),
    )
    .unwrap();
    let report = common::lint(p, false);
    assert_eq!(findings_in(&report, "good.rs"), 1);
    assert_eq!(findings_in(&report, "empty.rs"), 0);
    assert!(matches!(
        outcome(&report, "syntax.rs"),
        Outcome::NotAnalysed(NotAnalysed::Syntax { line: 1, .. })
    ));
    assert!(matches!(
        outcome(&report, "latin1.rs"),
        Outcome::NotAnalysed(NotAnalysed::NotUtf8)
    ));
    assert!(matches!(
        outcome(&report, "binary.rs"),
        Outcome::NotAnalysed(NotAnalysed::NotUtf8)
    ));
    for deep in ["parens.rs", "blocks.rs", "chain.rs"] {
        assert!(
            matches!(
                outcome(&report, deep),
                Outcome::NotAnalysed(NotAnalysed::TooDeep { .. })
            ),
            "{deep}: {:?}",
            outcome(&report, deep)
        );
    }
}

#[test]
fn deep_but_allowed_nesting_is_analysed_without_overflow() {
    // Just under the guard: syn and every visitor must cope on the worker stack.
    let dir = tempfile::tempdir().unwrap();
    let depth = cargo_backpressure::guard::DEPTH_LIMIT / 17;
    std::fs::write(
        dir.path().join("nested.rs"),
        format!(
            "fn f() {{ let x = {}flume::unbounded::<u32>(){}; }}",
            "(".repeat(depth),
            ")".repeat(depth)
        ),
    )
    .unwrap();
    let chain = cargo_backpressure::guard::DEPTH_LIMIT - 100;
    std::fs::write(
        dir.path().join("chain.rs"),
        format!(
            "fn f() {{ let x = 1{}; let c = flume::unbounded::<u32>(); }}",
            " + 1".repeat(chain)
        ),
    )
    .unwrap();
    let report = common::lint(dir.path(), false);
    assert_eq!(findings_in(&report, "nested.rs"), 1);
    assert_eq!(findings_in(&report, "chain.rs"), 1);
}

#[test]
fn bom_crlf_and_non_ascii_keep_columns_right() {
    let dir = tempfile::tempdir().unwrap();
    let src = "\u{feff}// é\r\nfn f() {\r\n    let s = \"ünïcödé\"; let (tx, rx) = flume::unbounded::<u32>();\r\n}\r\n";
    std::fs::write(dir.path().join("crlf.rs"), src).unwrap();
    let report = common::lint(dir.path(), false);
    let f = report.findings().next().expect("a finding");
    let line3 = src.split("\r\n").nth(2).unwrap();
    let column = line3
        .find("flume")
        .map(|b| line3[..b].chars().count() as u32 + 1)
        .unwrap();
    assert_eq!(column, 39, "38 code points precede the call on its line");
    assert_eq!((f.region.start.line, f.region.start.column), (3, column));
    assert_eq!(
        f.region.end.column,
        column + "flume::unbounded::<u32>()".len() as u32
    );
}

#[test]
fn shebang_file_is_analysed_at_the_right_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("script.rs"),
        "#!/usr/bin/env run-cargo-script\nfn main() { let c = flume::unbounded::<u32>(); }\n",
    )
    .unwrap();
    let report = common::lint(dir.path(), false);
    let f = report.findings().next().expect("a finding");
    assert_eq!((f.region.start.line, f.region.start.column), (2, 21));
}

#[test]
fn size_limit_skips_large_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("big.rs"),
        format!("{FINDING}{}", "// padding\n".repeat(2_000_000)),
    )
    .unwrap();
    let report = common::lint(dir.path(), false);
    assert!(matches!(
        outcome(&report, "big.rs"),
        Outcome::NotAnalysed(NotAnalysed::TooLarge { .. })
    ));
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_unreadable_files_do_not_stop_the_run() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir(p.join("a b ü")).unwrap();
    std::fs::write(p.join("a b ü/spaced.rs"), FINDING).unwrap();
    std::os::unix::fs::symlink(p, p.join("a b ü/loop")).unwrap();
    std::fs::write(p.join("locked.rs"), FINDING).unwrap();
    std::fs::set_permissions(p.join("locked.rs"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let report = common::lint(p, false);
    assert_eq!(findings_in(&report, "a b ü/spaced.rs"), 1);
    // Root can read anything; elsewhere the file is named as not analysed.
    match outcome(&report, "locked.rs") {
        Outcome::Analysed { findings } => assert_eq!(findings.len(), 1),
        Outcome::NotAnalysed(NotAnalysed::Io { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_file_that_vanishes_after_discovery_is_named_and_the_run_goes_on() {
    use cargo_backpressure::catalogue::Catalogue;
    use cargo_backpressure::config::Levels;
    use cargo_backpressure::run::{self, RunOptions};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stays.rs"), FINDING).unwrap();
    std::fs::write(dir.path().join("vanishes.rs"), FINDING).unwrap();
    // Named explicitly, so that they are known before one of them vanishes.
    let sources = cargo_backpressure::walk::Sources::new(&[
        dir.path().join("stays.rs"),
        dir.path().join("vanishes.rs"),
    ])
    .unwrap();
    std::fs::remove_file(dir.path().join("vanishes.rs")).unwrap();
    let catalogue = Catalogue::global();
    let options = RunOptions {
        include_tests: false,
        include_generated: false,
        max_file_bytes: run::DEFAULT_MAX_FILE_BYTES,
        threads: 2,
        base_dir: dir.path().to_path_buf(),
        config: Default::default(),
    };
    let report = run::run(
        &cargo_backpressure::cli::build_engine(catalogue, false, true),
        &Levels::from_catalogue(catalogue),
        &sources,
        &options,
    );
    assert_eq!(findings_in(&report, "stays.rs"), 1);
    assert!(matches!(
        outcome(&report, "vanishes.rs"),
        Outcome::NotAnalysed(NotAnalysed::Io { .. })
    ));
}
