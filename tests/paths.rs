//! Where users work: the configuration comes from the linted path (not the current directory),
//! every reported path is relative to the workspace root (also from a member folder), and files
//! named on the command line are Rust files, always parsed.
mod common;

use common::{rules_fired, run_in, stderr, stdout};
use std::path::Path;

/// An unbounded channel on line 2 and a bare connect on line 3.
/// An unbounded channel (line 2) and a bare connect (line 3), in a program that serves peers
/// (line 4: connects matter in servers, not in one-shot tools).
const MAIN_RS: &str = "async fn main() {\n    let (tx, rx) = flume::unbounded::<u32>();\n    let s = tokio::net::TcpStream::connect(\"db:5432\").await;\n    let server = tokio::net::TcpListener::bind(\"0.0.0.0:8080\").await;\n}\n";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A package at `dir` with MAIN_RS, `manifest_extra` appended to its Cargo.toml, and `config` as
/// its backpressure.toml.
fn package(dir: &Path, manifest_extra: &str, config: Option<&str>) {
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{manifest_extra}"
        ),
    );
    write(&dir.join("src/main.rs"), MAIN_RS);
    if let Some(c) = config {
        write(&dir.join("backpressure.toml"), c);
    }
}

const ALLOW_CHANNEL: &str = "[rules]\nunbounded-channel = \"allow\"\n";
const ALLOW_CONNECT: &str = "[rules]\nconnect-without-timeout = \"allow\"\n";

// Item 1: the configuration of the linted path.

#[test]
fn the_linted_projects_configuration_applies_from_another_project() {
    let top = tempfile::tempdir().unwrap();
    package(&top.path().join("mine"), "", Some(ALLOW_CHANNEL));
    package(&top.path().join("other"), "", Some(ALLOW_CONNECT));
    let out = run_in(&top.path().join("other"), &["--format", "short", "../mine"]);
    assert_eq!(
        rules_fired(&out),
        ["connect-without-timeout"],
        "{}",
        stderr(&out)
    );
    // And the other way round, from the first project.
    let out = run_in(&top.path().join("mine"), &["--format", "short", "../other"]);
    assert_eq!(rules_fired(&out), ["unbounded-channel"], "{}", stderr(&out));
}

#[test]
fn the_linted_projects_configuration_applies_from_outside_any_project() {
    let project = tempfile::tempdir().unwrap();
    package(project.path(), "", Some(ALLOW_CHANNEL));
    let elsewhere = tempfile::tempdir().unwrap();
    let target = project.path().to_str().unwrap();
    let out = run_in(elsewhere.path(), &["--format", "short", target]);
    assert_eq!(rules_fired(&out), ["connect-without-timeout"]);
    // A file named directly finds it too.
    let file = project.path().join("src/main.rs");
    let out = run_in(
        elsewhere.path(),
        &["--format", "short", file.to_str().unwrap()],
    );
    assert_eq!(rules_fired(&out), ["connect-without-timeout"]);
}

#[test]
fn the_workspaces_cargo_metadata_applies_to_a_member_linted_from_outside() {
    let ws = tempfile::tempdir().unwrap();
    write(
        &ws.path().join("Cargo.toml"),
        "[workspace]\nmembers = [\"crates/*\"]\n\n[workspace.metadata.backpressure.rules]\nconnect-without-timeout = \"allow\"\n",
    );
    package(&ws.path().join("crates/x"), "", None);
    let elsewhere = tempfile::tempdir().unwrap();
    let member = ws.path().join("crates/x");
    let out = run_in(
        elsewhere.path(),
        &["--format", "short", member.to_str().unwrap()],
    );
    assert_eq!(rules_fired(&out), ["unbounded-channel"]);
}

#[test]
fn the_nearest_backpressure_toml_wins_and_config_flag_wins_over_all() {
    let top = tempfile::tempdir().unwrap();
    let ws = top.path();
    write(
        &ws.join("Cargo.toml"),
        "[workspace]\nmembers = [\"crates/*\"]\n\n[workspace.metadata.backpressure.rules]\nunbounded-channel = \"allow\"\n",
    );
    package(&ws.join("crates/x"), "", Some(ALLOW_CONNECT));
    // crates/x has its own file: it is nearer than the workspace's metadata.
    let out = run_in(ws, &["--format", "short", "crates/x"]);
    assert_eq!(rules_fired(&out), ["unbounded-channel"]);
    // Without a path, the workspace root is linted with the workspace's configuration.
    let out = run_in(&ws.join("crates/x"), &["--format", "short"]);
    assert_eq!(rules_fired(&out), ["connect-without-timeout"]);
    // `--config` wins wherever the run starts.
    write(
        &ws.join("deny.toml"),
        "[rules]\nunbounded-channel = \"deny\"\nconnect-without-timeout = \"allow\"\n",
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let config = ws.join("deny.toml");
    let out = run_in(
        elsewhere.path(),
        &[
            "--format",
            "short",
            "--config",
            config.to_str().unwrap(),
            ws.join("crates/x").to_str().unwrap(),
        ],
    );
    assert_eq!(rules_fired(&out), ["unbounded-channel"]);
    assert!(stdout(&out).contains("error[unbounded-channel]"));
}

#[test]
fn paths_with_different_configurations_are_an_error() {
    let top = tempfile::tempdir().unwrap();
    package(&top.path().join("a"), "", Some(ALLOW_CHANNEL));
    package(&top.path().join("b"), "", Some(ALLOW_CONNECT));
    let out = run_in(top.path(), &["a", "b"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("different configurations"), "{err}");
    assert!(err.contains("--config"), "{err}");
    // The same configuration reached from two paths is fine.
    let out = run_in(top.path(), &["--format", "short", "a/src", "a/src/main.rs"]);
    assert_eq!(
        rules_fired(&out),
        ["connect-without-timeout"],
        "{}",
        stderr(&out)
    );
}

// Item 3: every path relative to the workspace root.

/// A workspace with members crates/x and crates/y, each with MAIN_RS.
fn two_member_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("Cargo.toml"),
        "[workspace]\nmembers = [\"crates/*\"]\n",
    );
    package(&dir.path().join("crates/x"), "", None);
    package(&dir.path().join("crates/y"), "", None);
    dir
}

#[test]
fn sarif_from_a_member_folder_is_relative_to_the_workspace_root() {
    let ws = two_member_workspace();
    let out = run_in(&ws.path().join("crates/x"), &["--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &sarif["runs"][0];
    let root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    let expected_root = format!("file://{}/", ws.path().display());
    assert_eq!(root, expected_root);
    let mut uris: Vec<(&str, &str)> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let a = &r["locations"][0]["physicalLocation"]["artifactLocation"];
            (
                a["uri"].as_str().unwrap(),
                a["uriBaseId"].as_str().unwrap_or("none"),
            )
        })
        .collect();
    uris.sort();
    uris.dedup();
    assert_eq!(
        uris,
        [
            ("crates/x/src/main.rs", "%SRCROOT%"),
            ("crates/y/src/main.rs", "%SRCROOT%")
        ]
    );
}

#[test]
fn github_short_and_baselines_from_a_member_folder_use_workspace_paths() {
    let ws = two_member_workspace();
    let member = ws.path().join("crates/x");
    let github = stdout(&run_in(&member, &["--format", "github"]));
    let files: Vec<&str> = github
        .lines()
        .filter_map(|l| l.split_once("file=")?.1.split(',').next())
        .collect();
    assert_eq!(
        files,
        [
            "crates/x/src/main.rs",
            "crates/x/src/main.rs",
            "crates/y/src/main.rs",
            "crates/y/src/main.rs"
        ],
        "{github}"
    );
    // A path named from the member folder is shown from the workspace root too.
    let short = stdout(&run_in(&member, &["--format", "short", "src"]));
    assert!(short.starts_with("crates/x/src/main.rs:2:"), "{short}");
    // So a baseline written at the root hides the same findings from the member folder.
    let baseline = ws.path().join("baseline.json");
    let out = run_in(ws.path(), &["--write-baseline", baseline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let out = run_in(
        &member,
        &[
            "--format",
            "short",
            "--baseline",
            baseline.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        !stderr(&out).contains("no longer reports"),
        "{}",
        stderr(&out)
    );
}

// Item 4: files named directly.

#[test]
fn a_named_file_that_is_not_rust_is_an_error_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    package(dir.path(), "", None);
    write(&dir.path().join("notes.txt"), "some notes\n");
    for name in ["Cargo.toml", "notes.txt"] {
        let out = run_in(dir.path(), &[name]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains(&format!("{name}: not a Rust file")), "{err}");
        assert!(!stdout(&out).contains("syntax error"), "{}", stdout(&out));
    }
}

#[test]
fn a_named_rust_file_is_always_parsed() {
    let dir = tempfile::tempdir().unwrap();
    package(dir.path(), "", None);
    // No rule's trigger word: the prefilter would skip it. (Declared, so it is part of the build.)
    write(
        &dir.path().join("src/main.rs"),
        &format!("mod broken;\n{MAIN_RS}"),
    );
    write(&dir.path().join("src/broken.rs"), "fn broken( {\n");
    let out = run_in(dir.path(), &["--format", "short", "src/broken.rs"]);
    let text = stdout(&out);
    assert!(
        text.contains("src/broken.rs:1:1: note[not-analysed]: syntax error"),
        "{text}"
    );
    // Walked, it is still skipped unparsed (the prefilter's documented limit).
    let out = run_in(dir.path(), &["--format", "short", "src"]);
    assert!(!stdout(&out).contains("broken.rs"), "{}", stdout(&out));
}

#[test]
fn a_run_from_above_the_workspace_keeps_paths_from_there() {
    // The GitHub Action runs at the repository root; a workspace in `rust/` keeps `rust/..` paths,
    // since code scanning resolves them against the repository.
    let repo = tempfile::tempdir().unwrap();
    package(&repo.path().join("rust"), "", None);
    let github = stdout(&run_in(repo.path(), &["--format", "github", "rust"]));
    assert!(github.contains("file=rust/src/main.rs,"), "{github}");
    let out = run_in(repo.path(), &["--format", "sarif", "rust"]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let location = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "rust/src/main.rs");
}

#[test]
fn exclude_globs_stay_relative_to_their_file_wherever_the_run_starts() {
    let top = tempfile::tempdir().unwrap();
    package(
        &top.path().join("mine"),
        "",
        Some("exclude = [\"src/main.rs\"]\n"),
    );
    write(&top.path().join("mine/src/lib.rs"), MAIN_RS);
    std::fs::create_dir_all(top.path().join("elsewhere")).unwrap();
    let out = run_in(
        &top.path().join("elsewhere"),
        &["--format", "short", "../mine"],
    );
    let text = stdout(&out);
    assert!(text.starts_with("src/lib.rs:2:"), "{text}");
    assert!(!text.contains("main.rs"), "{text}");
    // A `--config` named relative to a member folder: its globs are relative to it too.
    let ws = two_member_workspace();
    write(
        &ws.path().join("lint.toml"),
        "exclude = [\"crates/y/**\"]\n",
    );
    let out = run_in(
        &ws.path().join("crates/x"),
        &["--format", "short", "--config", "../../lint.toml"],
    );
    let text = stdout(&out);
    assert!(text.contains("crates/x/src/main.rs"), "{text}");
    assert!(!text.contains("crates/y"), "{text}");
}
