//! Helpers shared by the integration tests.
#![allow(dead_code)]
pub mod crates;

use std::path::{Path, PathBuf};

use cargo_backpressure::catalogue::Catalogue;
use cargo_backpressure::cli::build_engine;
use cargo_backpressure::config::Levels;
use cargo_backpressure::run::{self, Report, RunOptions};
use cargo_backpressure::walk;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the whole pipeline (discovery, analysis, levels) over `root`, as a user run would.
pub fn lint(root: &Path, include_tests: bool) -> Report {
    lint_with(root, include_tests, true)
}

/// Like [`lint`], choosing whether the prefilter may skip files.
pub fn lint_with(root: &Path, include_tests: bool, prefilter: bool) -> Report {
    let catalogue = Catalogue::global();
    let engine = build_engine(catalogue, include_tests, prefilter);
    // Every rule at warn, so that rules off by default (unused-suppression) are tested too.
    let mut levels = Levels::from_catalogue(catalogue);
    levels.set_all(cargo_backpressure::diag::Level::Warn);
    let sources = walk::Sources::new(&[root.to_path_buf()]).expect("root exists");
    let options = RunOptions {
        include_tests,
        include_generated: false,
        max_file_bytes: run::DEFAULT_MAX_FILE_BYTES,
        threads: 2,
        base_dir: root.to_path_buf(),
        config: Default::default(),
    };
    run::run(&engine, &levels, &sources, &options)
}

/// Lints one source text as a file in a temporary folder.
pub fn lint_source(source: &str) -> Report {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("lib.rs"), source).expect("write");
    lint(dir.path(), false)
}

/// Runs the built binary in `dir` with `args` (a fixed terminal width, for stable help output).
pub fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cargo-backpressure"))
        .current_dir(dir)
        .env("COLUMNS", "100")
        .args(args)
        .output()
        .expect("binary runs")
}

pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The rule of each `warning[..]`/`error[..]` line of a text or short report, in order.
pub fn rules_fired(o: &std::process::Output) -> Vec<String> {
    stdout(o)
        .lines()
        .filter_map(|l| {
            l.split_once("warning[")
                .or_else(|| l.split_once("error["))
                .map(|(_, r)| r.split(']').next().unwrap().to_owned())
        })
        .collect()
}

/// Validates SARIF files with the project's validator (`../shared/tools/validate-sarif`, or
/// `SARIF_VALIDATOR`) when it is at hand; a SARIF that does not validate fails the test.
pub fn validate_sarif(files: &[&Path]) {
    let root = repo_root();
    let candidates = [
        std::env::var_os("SARIF_VALIDATOR").map(PathBuf::from),
        Some(root.join("../shared/tools/validate-sarif")),
        Some(root.join("../../shared/tools/validate-sarif")),
    ];
    let Some(validator) = candidates.into_iter().flatten().find(|p| p.is_file()) else {
        eprintln!("validate-sarif not found: SARIF checked structurally only");
        return;
    };
    let out = std::process::Command::new("bash")
        .arg(&validator)
        .args(files)
        .output()
        .expect("bash runs");
    match out.status.code() {
        Some(0) => {}
        Some(2) => eprintln!("validate-sarif could not run: {}", stderr(&out)),
        _ => panic!("SARIF does not validate:\n{}{}", stdout(&out), stderr(&out)),
    }
}

/// (path, line, message) of a finding's label.
pub type LabelAt = (String, u64, String);

/// (path, line, labels) of every finding of a JSON report, in its order.
#[allow(dead_code)] // Each test binary compiles this module; not every one reads JSON findings.
pub fn labelled_findings(json: &str) -> Vec<(String, u64, Vec<LabelAt>)> {
    let report: serde_json::Value = serde_json::from_str(json).expect("json report");
    let line = |v: &serde_json::Value| v["region"]["start"]["line"].as_u64().unwrap_or(0);
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap_or("").to_owned();
            let labels = f["labels"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| {
                    (
                        l["path"].as_str().unwrap_or(&path).to_owned(),
                        line(l),
                        l["message"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect();
            (path, line(f), labels)
        })
        .collect()
}
