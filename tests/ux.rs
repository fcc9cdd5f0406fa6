//! Where users work, through the binary: rule groups and `-D warnings`, "did you mean", per-path
//! overrides, `--statistics`, what SARIF shows GitHub (linked related locations, security tags,
//! suppressed findings only on request), rule pages, install metadata and stale baselines.
mod common;

use std::path::Path;
use std::process::Output;

use common::{run_in, stderr, stdout};

const MAIN_RS: &str = "async fn main() {\n    let (tx, rx) = flume::unbounded::<u32>();\n    let s = tokio::net::TcpStream::connect(\"db:5432\").await;\n}\n";

/// A crate whose main.rs has an unbounded channel (line 2) and a bare connect (line 3).
fn workspace(config: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(
        p.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(p.join("src/main.rs"), MAIN_RS).unwrap();
    if let Some(c) = config {
        std::fs::write(p.join("backpressure.toml"), c).unwrap();
    }
    dir
}

/// (level, rule, path) of each `--format short` line.
fn fired(o: &Output) -> Vec<(String, String, String)> {
    stdout(o)
        .lines()
        .filter_map(|l| {
            let (path, rest) = l.split_once(':')?;
            let (level, rest) = rest.split_once('[')?;
            let level = level.rsplit(' ').next()?.to_owned();
            let rule = rest.split(']').next()?.to_owned();
            Some((level, rule, path.to_owned()))
        })
        .collect()
}

fn short(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["--format", "short"];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

fn pairs(o: &Output) -> Vec<(String, String)> {
    fired(o).into_iter().map(|(l, r, _)| (l, r)).collect()
}

fn pair(level: &str, rule: &str) -> (String, String) {
    (level.to_owned(), rule.to_owned())
}

// ---- 5. Rule groups and muscle memory ----

#[test]
fn families_work_as_command_line_selectors() {
    let dir = workspace(None);
    let out = short(dir.path(), &["-D", "timeouts", "-A", "unbounded"]);
    assert_eq!(pairs(&out), [pair("error", "connect-without-timeout")]);
    // The last flag wins, as for rule ids.
    let out = short(
        dir.path(),
        &["-A", "timeouts", "-W", "connect-without-timeout"],
    );
    assert_eq!(
        pairs(&out),
        [
            pair("warning", "unbounded-channel"),
            pair("warning", "connect-without-timeout")
        ]
    );
}

#[test]
fn deny_warnings_makes_every_warning_fail() {
    let dir = workspace(None);
    let out = short(dir.path(), &["--fail-on", "deny"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = short(
        dir.path(),
        &[
            "--fail-on",
            "deny",
            "-D",
            "warnings",
            "-A",
            "unbounded-channel",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    // An allowed rule stays allowed: only findings at warn become errors.
    assert_eq!(pairs(&out), [pair("error", "connect-without-timeout")]);
}

#[test]
fn families_in_the_configuration_and_ids_win_over_them() {
    // The rule's own line wins wherever it is written.
    let dir = workspace(Some(
        "[rules]\nconnect-without-timeout = \"warn\"\ntimeouts = \"deny\"\nunbounded = \"allow\"\n",
    ));
    assert_eq!(
        pairs(&short(dir.path(), &[])),
        [pair("warning", "connect-without-timeout")]
    );
    let dir = workspace(Some("[rules]\nall = \"deny\"\n"));
    assert_eq!(
        pairs(&short(dir.path(), &[])),
        [
            pair("error", "unbounded-channel"),
            pair("error", "connect-without-timeout")
        ]
    );
}

#[test]
fn unknown_rules_get_a_suggestion_on_the_command_line_and_in_the_file() {
    let dir = workspace(None);
    let out = short(dir.path(), &["-D", "unbounded-chanel"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown rule `unbounded-chanel`; did you mean `unbounded-channel`?"),
        "{}",
        stderr(&out)
    );
    let out = short(dir.path(), &["-W", "timeout"]);
    assert!(stderr(&out).contains("did you mean `timeouts`?"));
    let out = short(dir.path(), &["-D", "warning"]);
    assert!(stderr(&out).contains("did you mean `warnings`?"));
    // Nothing close: every name is listed, groups included.
    let out = short(dir.path(), &["-D", "xyzzy-plugh-quux"]);
    assert!(
        stderr(&out).contains("the groups are: buffering,"),
        "{}",
        stderr(&out)
    );
    let out = run_in(dir.path(), &["--explain", "unbounded-chanel"]);
    assert!(stderr(&out).contains("did you mean `unbounded-channel`?"));

    let dir = workspace(Some(
        "[rules]\nunbounded-channel = \"deny\"\nconect-without-timeout = \"deny\"\n",
    ));
    let out = short(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("unknown rule `conect-without-timeout`"),
        "{err}"
    );
    assert!(err.contains("backpressure.toml:3:1"), "{err}");
    assert!(
        err.contains("help: did you mean `connect-without-timeout`?"),
        "{err}"
    );
    // `warnings` is a command-line selector only; a group takes a level only.
    let dir = workspace(Some("[rules]\nwarnings = \"deny\"\n"));
    assert!(stderr(&short(dir.path(), &[])).contains("pass `-D warnings`"));
    let dir = workspace(Some("[rules.timeouts]\nlevel = \"deny\"\n"));
    let err = stderr(&short(dir.path(), &[]));
    assert!(
        err.contains("the group `timeouts` takes a level only"),
        "{err}"
    );
}

#[test]
fn suppressions_name_families_and_typos_get_a_suggestion() {
    let dir = workspace(None);
    std::fs::write(
        dir.path().join("src/main.rs"),
        MAIN_RS
            .replace(
                "<u32>();",
                "<u32>(); // backpressure:allow(unbounded) drained at startup",
            )
            .replace(
                ".await;",
                ".await; // backpressure:allow(conect-without-timeout)",
            ),
    )
    .unwrap();
    let out = short(dir.path(), &[]);
    assert_eq!(
        pairs(&out),
        [
            pair("warning", "connect-without-timeout"),
            pair("warning", "invalid-suppression")
        ]
    );
    let json = stdout(&run_in(dir.path(), &["--format", "json"]));
    assert!(
        json.contains("did you mean `connect-without-timeout`?"),
        "{json}"
    );
}

#[test]
fn list_rules_shows_the_groups_and_speaks_json() {
    let dir = workspace(None);
    let text = stdout(&run_in(dir.path(), &["--list-rules"]));
    assert!(text.contains("unbounded-channel"));
    let timeouts = text
        .lines()
        .find(|l| l.trim_start().starts_with("timeouts "))
        .expect("the timeouts group is listed");
    assert!(timeouts.contains("connect-without-timeout"), "{timeouts}");
    assert!(text.contains("warnings"));

    let out = run_in(dir.path(), &["--list-rules", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let catalogue = cargo_backpressure::catalogue::Catalogue::global();
    let rules = json["rules"].as_array().unwrap();
    assert_eq!(rules.len(), catalogue.rules.len());
    let channel = rules
        .iter()
        .find(|r| r["id"] == "unbounded-channel")
        .unwrap();
    assert_eq!(channel["family"], "unbounded");
    assert_eq!(channel["level"], "warn");
    assert_eq!(channel["options"][0]["name"], "max-capacity");
    assert!(channel["help_uri"]
        .as_str()
        .unwrap()
        .ends_with("/docs/rules/unbounded-channel.md"));
    let groups = json["groups"].as_array().unwrap();
    let timeouts = groups.iter().find(|g| g["name"] == "timeouts").unwrap();
    assert!(timeouts["rules"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("server-without-timeout")));
}

// ---- 6. Per-path levels ----

fn with_legacy(config: &str) -> tempfile::TempDir {
    let dir = workspace(Some(config));
    std::fs::create_dir_all(dir.path().join("src/legacy")).unwrap();
    std::fs::write(dir.path().join("src/legacy/old.rs"), MAIN_RS).unwrap();
    dir
}

#[test]
fn overrides_set_levels_for_the_paths_they_match() {
    let dir = with_legacy(
        "[rules]\ntimeouts = \"deny\"\n\n[[overrides]]\npaths = [\"src/legacy/**\"]\nrules = { unbounded = \"allow\", connect-without-timeout = \"warn\" }\n\n[[overrides]]\npaths = [\"src/main.rs\"]\nrules = { unbounded-channel = \"deny\" }\n",
    );
    let out = short(dir.path(), &[]);
    let mut got = fired(&out);
    got.sort();
    let row = |l: &str, r: &str, p: &str| (l.to_owned(), r.to_owned(), p.to_owned());
    assert_eq!(
        got,
        [
            row("error", "connect-without-timeout", "src/main.rs"),
            row("error", "unbounded-channel", "src/main.rs"),
            row("warning", "connect-without-timeout", "src/legacy/old.rs"),
        ],
        "{}",
        stdout(&out)
    );
    // The command line still wins over an override.
    let out = short(dir.path(), &["-D", "unbounded-channel"]);
    assert!(fired(&out).contains(&row("error", "unbounded-channel", "src/legacy/old.rs")));
    // A folder name matches the files under it, as `exclude` does.
    let dir = with_legacy("[[overrides]]\npaths = [\"src/legacy\"]\nrules = { all = \"allow\" }\n");
    assert!(fired(&short(dir.path(), &[]))
        .iter()
        .all(|(_, _, p)| p == "src/main.rs"));
}

#[test]
fn override_mistakes_point_into_the_file() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[[overrides]]\npaths = [\"src/**\"]\nrules = { unbounded-chanel = \"allow\" }\n",
            "backpressure.toml:3:11",
            "did you mean `unbounded-channel`?",
        ),
        (
            "[[overrides]]\npath = [\"src/**\"]\nrules = { unbounded = \"allow\" }\n",
            "backpressure.toml:2:1",
            "unknown key `path`",
        ),
        (
            "[[overrides]]\npaths = [\"src/[\"]\nrules = { unbounded = \"allow\" }\n",
            "backpressure.toml:2:10",
            "invalid glob",
        ),
        (
            "[rules]\nunbounded = \"deny\"\n\n[[overrides]]\nrules = { unbounded = \"allow\" }\n",
            "backpressure.toml:4:1",
            "this override has no `paths`",
        ),
        (
            "[[overrides]]\npaths = []\nrules = { unbounded = \"allow\" }\n",
            "backpressure.toml:2:9",
            "applies nowhere",
        ),
        (
            "[[overrides]]\npaths = [\"src/**\"]\nrules = { unbounded-channel = { max-capacity = 10 } }\n",
            "backpressure.toml:3:33",
            "overrides set levels only",
        ),
        (
            "[[overrides]]\npaths = [\"src/**\"]\nrules = { unbounded = \"never\" }\n",
            "backpressure.toml:3:23",
            "invalid level",
        ),
        ("overrides = 3\n", "backpressure.toml:1:13", "must be an array of tables"),
    ];
    for (config, location, message) in cases {
        let dir = workspace(Some(config));
        let out = short(dir.path(), &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{config}\n{err}");
        assert!(err.contains(location), "{config}\nwant {location}\n{err}");
        assert!(err.contains(message), "{config}\nwant {message}\n{err}");
    }
}

// ---- 7. Statistics ----

#[test]
fn statistics_count_findings_per_rule() {
    let dir = workspace(None);
    std::fs::write(
        dir.path().join("src/more.rs"),
        "fn f() { let a = flume::unbounded::<u8>(); let b = crossbeam_channel::unbounded::<u8>(); }\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["--statistics"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .collect();
    let catalogue = cargo_backpressure::catalogue::Catalogue::global();
    let summary = |id: &str| catalogue.get(id).unwrap().summary.as_str();
    assert_eq!(
        lines,
        [
            vec!["3", "unbounded-channel", summary("unbounded-channel")],
            vec![
                "1",
                "connect-without-timeout",
                summary("connect-without-timeout")
            ],
        ],
        "{text}"
    );
    assert!(stderr(&out).contains("4 warnings"), "{}", stderr(&out));
    let out = run_in(dir.path(), &["--statistics", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json[0]["count"], 3);
    assert_eq!(json[0]["rule"], "unbounded-channel");
    assert_eq!(json[1]["rule"], "connect-without-timeout");
    assert_eq!(json.as_array().unwrap().len(), 2);
}
