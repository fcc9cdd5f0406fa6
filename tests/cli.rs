//! The binary as a user runs it: exit codes, the cargo subcommand form, formats, level flags.
mod common;

use common::{run_in, stdout};
use std::path::Path;

/// A crate with one unbounded channel on line 4 of src/main.rs.
fn crate_with_finding() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ntokio = \"1\"\n").unwrap();
    std::fs::write(
        dir.path().join("src/main.rs"),
        "use tokio::sync::mpsc;\n\nfn main() {\n    let (tx, rx) = mpsc::unbounded_channel::<u32>();\n}\n",
    )
    .unwrap();
    dir
}

#[test]
fn finding_exits_1_and_names_rule_and_line() {
    let dir = crate_with_finding();
    // As cargo runs it: `cargo-backpressure backpressure`.
    let out = run_in(dir.path(), &["backpressure", "--color", "never"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("warning[unbounded-channel]"), "{text}");
    assert!(text.contains("src/main.rs:4:20"), "{text}");
    assert!(
        text.contains("1 file scanned, 1 analysed; 1 warning, 0 errors"),
        "{text}"
    );
}

#[test]
fn no_paths_scans_the_workspace_root_from_a_subfolder() {
    let dir = crate_with_finding();
    let out = run_in(&dir.path().join("src"), &["--format", "short"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("main.rs:4:20: warning[unbounded-channel]"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn clean_crate_exits_0() {
    let dir = crate_with_finding();
    std::fs::write(
        dir.path().join("src/main.rs"),
        "fn main() {\n    let (tx, rx) = tokio::sync::mpsc::channel::<u32>(8);\n}\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn missing_path_and_bad_usage_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["does-not-exist"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file or directory"));
    assert_eq!(
        run_in(dir.path(), &["--format", "xml"]).status.code(),
        Some(2)
    );
    let unknown = run_in(dir.path(), &["-D", "unbounded-chanel"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown rule `unbounded-chanel`"));
}

#[test]
fn level_flags_apply_in_order_and_fail_on() {
    let dir = crate_with_finding();
    assert_eq!(
        run_in(dir.path(), &["-A", "unbounded-channel"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run_in(dir.path(), &["-A", "all", "-W", "unbounded-channel"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run_in(
            dir.path(),
            &["-W", "unbounded-channel", "-A", "unbounded-channel"]
        )
        .status
        .code(),
        Some(0)
    );
    let deny = run_in(
        dir.path(),
        &["-D", "unbounded-channel", "--format", "short"],
    );
    assert!(stdout(&deny).contains("error[unbounded-channel]"));
    assert_eq!(
        run_in(dir.path(), &["--fail-on", "deny"]).status.code(),
        Some(0)
    );
    assert_eq!(
        run_in(dir.path(), &["--fail-on", "deny", "-D", "all"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn json_and_sarif_are_well_formed() {
    let dir = crate_with_finding();
    let json: serde_json::Value =
        serde_json::from_slice(&run_in(dir.path(), &["--format", "json"]).stdout).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["findings"][0]["rule"], "unbounded-channel");
    assert_eq!(json["findings"][0]["region"]["start"]["line"], 4);
    let out = run_in(dir.path(), &["--format", "sarif", "-o", "out.sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "unbounded-channel");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/main.rs"
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"],
        "%SRCROOT%"
    );
}

#[test]
fn github_annotations_one_per_finding() {
    let dir = crate_with_finding();
    let text = stdout(&run_in(dir.path(), &["--format", "github"]));
    let lines: Vec<_> = text
        .lines()
        .filter(|l| l.starts_with("::warning"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].starts_with("::warning file=src/main.rs,line=4,col=20,endLine=4,endColumn="),
        "{}",
        lines[0]
    );
}

#[test]
fn list_rules_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let list = stdout(&run_in(dir.path(), &["--list-rules"]));
    assert!(list
        .lines()
        .any(|l| l.starts_with("unbounded-channel") && l.contains("warn")));
    let explain = run_in(dir.path(), &["--explain", "unbounded-concurrency"]);
    assert_eq!(explain.status.code(), Some(0));
    let text = stdout(&explain);
    for section in [
        "Why is this bad?",
        "Example",
        "Use instead",
        "Fix",
        "Limits of the heuristic",
    ] {
        assert!(text.contains(section), "missing {section}: {text}");
    }
    assert_eq!(
        run_in(dir.path(), &["--explain", "nope"]).status.code(),
        Some(2)
    );
}

#[test]
fn output_is_deterministic_across_thread_counts() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let one = run_in(&fixtures, &["--format", "json", "--threads", "1"]);
    let four = run_in(&fixtures, &["--format", "json", "--threads", "4"]);
    assert_eq!(one.stdout, four.stdout);
    assert!(!one.stdout.is_empty());
}

#[test]
fn overlapping_paths_are_read_once() {
    let dir = crate_with_finding();
    // A folder, a folder inside it, and a file inside both: each file is read and reported once.
    let out = run_in(
        dir.path(),
        &["src", ".", "src/main.rs", "--format", "short"],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_eq!(text.matches("[unbounded-channel]").count(), 1, "{text}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("1 file scanned") || text.contains("1 file scanned"),
        "{err}{text}"
    );
}
