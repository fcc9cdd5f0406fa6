//! Adoption features end to end: configuration files, level precedence, excludes, API extensions,
//! configuration errors pointing into the file, suppressions and baselines.
mod common;

use common::{rules_fired, run_in, stderr, stdout};

/// A workspace with a crate whose main.rs has an unbounded channel (line 2) and a bare connect (line 3),
/// in a program that serves peers (line 4: connects matter in servers, not in one-shot tools).
fn workspace(config: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(
        p.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        p.join("src/main.rs"),
        "async fn main() {\n    let (tx, rx) = flume::unbounded::<u32>();\n    let s = tokio::net::TcpStream::connect(\"db:5432\").await;\n    let server = tokio::net::TcpListener::bind(\"0.0.0.0:8080\").await;\n}\n",
    )
    .unwrap();
    if let Some(c) = config {
        std::fs::write(p.join("backpressure.toml"), c).unwrap();
    }
    dir
}

#[test]
fn levels_from_the_file_and_the_command_line() {
    let dir = workspace(Some(
        "[rules]\nunbounded-channel = \"allow\"\nconnect-without-timeout = \"deny\"\n",
    ));
    let out = run_in(dir.path(), &["--format", "short"]);
    assert_eq!(rules_fired(&out), ["connect-without-timeout"]);
    assert!(stdout(&out).contains("error[connect-without-timeout]"));
    // The command line overrides the file.
    let out = run_in(
        dir.path(),
        &[
            "--format",
            "short",
            "-W",
            "unbounded-channel",
            "-A",
            "connect-without-timeout",
        ],
    );
    assert_eq!(rules_fired(&out), ["unbounded-channel"]);
}

#[test]
fn cargo_metadata_tables_configure_too() {
    let dir = workspace(None);
    let manifest = "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.backpressure.rules]\nconnect-without-timeout = \"allow\"\n";
    std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    assert_eq!(
        rules_fired(&run_in(dir.path(), &["--format", "short"])),
        ["unbounded-channel"]
    );
}

#[test]
fn member_package_tables_refine_and_are_validated() {
    let dir = workspace(None);
    let manifest = "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[package.metadata.backpressure.rules]\nunbounded-channel = \"allow\"\n";
    std::fs::create_dir_all(dir.path().join("member/src")).unwrap();
    std::fs::write(dir.path().join("member/Cargo.toml"), manifest).unwrap();
    std::fs::write(
        dir.path().join("member/src/lib.rs"),
        "fn f() { let c = flume::unbounded::<u8>(); }\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["--format", "short"]);
    assert!(
        !stdout(&out).contains("member/src/lib.rs"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("src/main.rs:2:20: warning[unbounded-channel]"),
        "{}",
        stdout(&out)
    );
    std::fs::write(
        dir.path().join("member/Cargo.toml"),
        manifest.replace("allow", "alow"),
    )
    .unwrap();
    let out = run_in(dir.path(), &["--format", "short"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("member/Cargo.toml:6:21"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn excluded_generated_folder() {
    let dir = workspace(Some("exclude = [\"src/generated\"]\n"));
    std::fs::create_dir_all(dir.path().join("src/generated")).unwrap();
    std::fs::write(
        dir.path().join("src/generated/proto.rs"),
        "fn f() { let c = flume::unbounded::<u8>(); }\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["--format", "short"]);
    assert!(
        !stdout(&out).contains("generated/proto.rs"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("1 skipped as excluded by configuration"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn declared_timeout_wrapper_and_unbounded_constructor() {
    let config = "[api]\ntimeout-wrappers = [\"app::net::with_deadline\"]\nunbounded-constructors = [\"app::queue::make_queue\"]\n";
    let dir = workspace(Some(config));
    std::fs::write(
        dir.path().join("src/main.rs"),
        "use app::net::with_deadline;\nuse app::queue::make_queue;\n\nasync fn main() {\n    let s = with_deadline(async { tokio::net::TcpStream::connect(\"db:5432\").await }).await;\n    let q = make_queue::<u32>();\n    let server = tokio::net::TcpListener::bind(\"0.0.0.0:8080\").await;\n}\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["--format", "short"]);
    assert_eq!(rules_fired(&out), ["unbounded-channel"], "{}", stdout(&out));
    assert!(stdout(&out).contains("main.rs:6:13"), "{}", stdout(&out));
    // Without the configuration the connect fires and the custom constructor is unknown.
    std::fs::remove_file(dir.path().join("backpressure.toml")).unwrap();
    assert_eq!(
        rules_fired(&run_in(dir.path(), &["--format", "short"])),
        ["connect-without-timeout"]
    );
}

#[test]
fn rule_options_from_the_file() {
    let dir = workspace(Some(
        "[rules.unbounded-channel]\nlevel = \"warn\"\nmax-capacity = 1000\n",
    ));
    std::fs::write(
        dir.path().join("src/main.rs"),
        "fn main() {\n    let (tx, rx) = flume::bounded::<u32>(5000);\n}\n",
    )
    .unwrap();
    assert_eq!(
        rules_fired(&run_in(dir.path(), &["--format", "short"])),
        ["unbounded-channel"]
    );
    std::fs::write(dir.path().join("backpressure.toml"), "").unwrap();
    assert!(rules_fired(&run_in(dir.path(), &["--format", "short"])).is_empty());
}

#[test]
fn configuration_errors_point_into_the_file() {
    let cases = [
        (
            "include-tests = true\nexclud = [\"x\"]\n",
            "unknown key `exclud`",
            "backpressure.toml:2:1",
            "expected one of `include-tests`",
        ),
        (
            "[rules]\nunbounded-chanel = \"deny\"\n",
            "unknown rule `unbounded-chanel`",
            "backpressure.toml:2:1",
            "did you mean `unbounded-channel`?",
        ),
        (
            "[rules]\nunbounded-channel = \"denied\"\n",
            "invalid level",
            "backpressure.toml:2:21",
            "`allow`, `warn`, `deny`",
        ),
        (
            "include-tests = \"yes\"\n",
            "`include-tests` must be true or false",
            "backpressure.toml:1:17",
            "",
        ),
        (
            "exclude = [\"a/[\"]\n",
            "invalid glob",
            "backpressure.toml:1:12",
            "",
        ),
        (
            "[rules.unbounded-channel]\nmax-capacty = 3\n",
            "unknown option `max-capacty`",
            "backpressure.toml:2:1",
            "`max-capacity`",
        ),
        ("[rules\n", "invalid TOML", "backpressure.toml:1:", ""),
    ];
    for (config, message, location, help) in cases {
        let dir = workspace(Some(config));
        let out = run_in(dir.path(), &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{config}: {err}");
        assert!(err.contains(message), "{config}: {err}");
        assert!(err.contains(location), "{config}: {err}");
        assert!(err.contains(help), "{config}: {err}");
    }
}

#[test]
fn explicit_config_file_and_missing_one() {
    let dir = workspace(None);
    std::fs::write(
        dir.path().join("strict.toml"),
        "[rules]\nunbounded-channel = \"allow\"\nconnect-without-timeout = \"allow\"\n",
    )
    .unwrap();
    assert_eq!(
        run_in(dir.path(), &["--config", "strict.toml"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run_in(dir.path(), &["--config", "nope.toml"]).status.code(),
        Some(2)
    );
}

#[test]
fn baseline_hides_old_findings_after_lines_move_and_reports_new_ones() {
    let dir = workspace(None);
    let write = run_in(dir.path(), &["--write-baseline", "baseline.json"]);
    assert_eq!(write.status.code(), Some(1));
    assert_eq!(
        run_in(dir.path(), &["--baseline", "baseline.json"])
            .status
            .code(),
        Some(0)
    );
    // Insert lines above the old findings and add a new one.
    let main = dir.path().join("src/main.rs");
    let old = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, format!("// a comment\n// another\n\n{old}\nfn later() {{\n    let (a, b) = crossbeam_channel::unbounded::<u8>();\n}}\n")).unwrap();
    let out = run_in(
        dir.path(),
        &["--baseline", "baseline.json", "--format", "short"],
    );
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<_> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("main.rs:11:18: warning[unbounded-channel]"),
        "{lines:?}"
    );
    assert!(
        stderr(&out).contains("2 hidden by the baseline"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unused_suppressions_are_reported_on_request() {
    let dir = workspace(None);
    std::fs::write(
        dir.path().join("src/main.rs"),
        "fn main() {\n    // backpressure:allow(unbounded-channel) bounded now\n    let (tx, rx) = flume::bounded::<u32>(8);\n}\n",
    )
    .unwrap();
    assert_eq!(run_in(dir.path(), &[]).status.code(), Some(0));
    let out = run_in(
        dir.path(),
        &["--report-unused-suppressions", "--format", "short"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("main.rs:2:27: warning[unused-suppression]"),
        "{}",
        stdout(&out)
    );
}
