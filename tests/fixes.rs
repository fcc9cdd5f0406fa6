//! Fixes: every fix offered on the fixtures converges (ruff's check), and `--fix`,
//! `--unsafe-fixes` and `--diff` do what they say, to the files and in every report format.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cargo_backpressure::diag::{Applicability, Finding};
use cargo_backpressure::fix::{self, Mode};
use cargo_backpressure::run::{Outcome, Report};

use common::{run_in, stderr, stdout};

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walk_all(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    out.sort();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for file in walk_all(from) {
        let target = to.join(file.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&file, &target).unwrap();
    }
}

fn walk_all(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The findings of one file, linted on its own (with every rule at warn).
fn findings_of(file: &Path) -> Vec<Finding> {
    let report = common::lint(file, false);
    report.findings().cloned().collect()
}

/// What the check compares before and after: (rule, message) of every finding.
fn identities(findings: &[Finding]) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for f in findings {
        *out.entry((f.rule.clone(), f.message.clone())).or_default() += 1;
    }
    out
}

#[derive(Default, Debug)]
struct Counts {
    offered: usize,
    applied: usize,
    converged: usize,
}

/// ruff's convergence check over every fixture file where a fix is offered: apply every fix
/// (safe and unsafe), re-parse and re-lint; the fixed findings are gone, no other finding appears
/// or changes, the text still parses, and a second application changes nothing. A fix left out
/// for overlapping another is applied in the next round.
#[test]
fn every_fix_offered_on_the_fixtures_converges() {
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&common::repo_root().join("fixtures"), copy.path());
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut by_applicability: BTreeMap<Applicability, usize> = BTreeMap::new();
    let mut files_with_fixes = 0;
    let mut no_fix_lines = 0;
    let mut problems = Vec::new();
    for file in rust_files(copy.path()) {
        let display = file
            .strip_prefix(copy.path())
            .unwrap()
            .display()
            .to_string();
        let before = findings_of(&file);
        if before.iter().all(|f| f.fix.is_none()) {
            continue;
        }
        files_with_fixes += 1;
        let original = std::fs::read_to_string(&file).unwrap();
        // The first marked line after a `// No fix` comment must offer no fix.
        let lines: Vec<&str> = original.lines().collect();
        let mut no_fix = std::collections::BTreeSet::new();
        for (i, line) in lines.iter().enumerate() {
            if line.contains("// No fix") {
                if let Some(j) = (i + 1..lines.len()).find(|&j| lines[j].contains("//~")) {
                    no_fix.insert(j as u32 + 1);
                }
            }
        }
        no_fix_lines += no_fix.len();
        for f in &before {
            if no_fix.contains(&f.region.start.line) && f.fix.is_some() {
                problems.push(format!(
                    "{display}:{}: a fix is offered where none should be",
                    f.region.start.line
                ));
            }
        }
        for f in &before {
            if let Some(fix) = &f.fix {
                counts.entry(f.rule.clone()).or_default().offered += 1;
                *by_applicability.entry(fix.applicability).or_default() += 1;
            }
        }
        // Rounds: each applies what does not overlap; what is left goes in the next.
        let mut text = original.clone();
        let mut current = before.clone();
        let mut applied_rules: Vec<String> = Vec::new();
        let mut fixed_ids: BTreeMap<(String, String), usize> = BTreeMap::new();
        for _round in 0..5 {
            let with_fix: Vec<&Finding> = current
                .iter()
                .filter(|f| {
                    f.fix
                        .as_ref()
                        .is_some_and(|x| Mode::Unsafe.allows(x.applicability))
                })
                .collect();
            if with_fix.is_empty() {
                break;
            }
            let fixes: Vec<&_> = with_fix.iter().map(|f| f.fix.as_ref().unwrap()).collect();
            let applied = fix::apply(&text, &fixes);
            assert!(applied.applied > 0, "{display}: no fix could be applied");
            for &i in &applied.taken {
                let f = with_fix[i];
                applied_rules.push(f.rule.clone());
                *fixed_ids
                    .entry((f.rule.clone(), f.message.clone()))
                    .or_default() += 1;
            }
            text = applied.text;
            if let Err(e) = syn::parse_file(&text) {
                problems.push(format!(
                    "{display}: the fixed text does not parse: {e}\n{text}"
                ));
                break;
            }
            std::fs::write(&file, &text).unwrap();
            current = findings_of(&file);
        }
        for rule in &applied_rules {
            counts.entry(rule.clone()).or_default().applied += 1;
        }
        // The findings left are the original ones minus those fixed: none new, none changed.
        let mut expected = identities(&before);
        for (id, n) in &fixed_ids {
            let left = expected.get(id).copied().unwrap_or(0).saturating_sub(*n);
            if left == 0 {
                expected.remove(id);
            } else {
                expected.insert(id.clone(), left);
            }
        }
        let got = identities(&current);
        let mut file_ok = got == expected;
        if !file_ok {
            problems.push(format!(
                "{display}: findings after the fixes differ\n  expected {expected:?}\n  got      {got:?}\n{text}"
            ));
        }
        // Every fix offered was applied (none is left offered), and applying again changes nothing.
        let still_offered = fix::chosen(&current, Mode::Unsafe);
        if !still_offered.is_empty() || fix::apply(&text, &still_offered).text != text {
            file_ok = false;
            problems.push(format!(
                "{display}: fixes are still offered after fixing: {:?}",
                still_offered.iter().map(|f| &f.message).collect::<Vec<_>>()
            ));
        }
        if file_ok {
            for rule in &applied_rules {
                counts.entry(rule.clone()).or_default().converged += 1;
            }
        }
    }
    eprintln!("files with fixes: {files_with_fixes}; findings marked `No fix`: {no_fix_lines}");
    assert!(no_fix_lines >= 6, "the no-fix shapes are checked");
    eprintln!("fixes by applicability: {by_applicability:?}");
    for (rule, c) in &counts {
        eprintln!(
            "convergence: {rule}: offered {}, applied {}, converged {}",
            c.offered, c.applied, c.converged
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    for rule in [
        "unbounded-frame",
        "connect-without-timeout",
        "client-without-timeout",
        "whole-body-read",
        "ignored-try-send",
    ] {
        let c = counts
            .get(rule)
            .unwrap_or_else(|| panic!("no fix of {rule}"));
        assert!(c.offered > 0, "{rule} offers no fix on the fixtures");
        assert_eq!(
            (c.applied, c.converged),
            (c.offered, c.offered),
            "{rule}: every fix offered is applied and converges"
        );
    }
    assert!(by_applicability.contains_key(&Applicability::Safe));
    assert!(by_applicability.contains_key(&Applicability::Unsafe));
}

/// The fix of each finding of `source` (linted as a loose file), by rule.
fn fixes_of(source: &str) -> Vec<Finding> {
    common::lint_source(source).findings().cloned().collect()
}

fn fixed(source: &str, mode: Mode) -> String {
    let findings = fixes_of(source);
    fix::apply(source, &fix::chosen(&findings, mode)).text
}

#[test]
fn the_spelling_decides_whether_a_fix_is_offered() {
    // Shapes where the rewrite would not certainly compile: no fix.
    let none = [
        // A host and port: `connect_timeout` takes one SocketAddr.
        "fn f(h: &str) { let _s = std::net::TcpStream::connect((h, 80)); }",
        // async-std's connect under tokio's timer would need a tokio runtime.
        "async fn f(a: &str) { let _s = async_std::net::TcpStream::connect(a).await; }",
        // `AnyDelimiterCodec::default()` has delimiters of its own: no one spelling keeps them.
        "fn f(s: tokio::net::TcpStream) { let _f = tokio_util::codec::Framed::new(s, tokio_util::codec::AnyDelimiterCodec::default()); }",
    ];
    for source in none {
        let findings = fixes_of(source);
        assert!(!findings.is_empty(), "{source}: the rule fires");
        assert!(
            findings.iter().all(|f| f.fix.is_none()),
            "{source}: no fix expected, got {:?}",
            findings.iter().map(|f| &f.fix).collect::<Vec<_>>()
        );
    }
}

#[test]
fn safe_fixes_are_the_behaviour_preserving_ones() {
    let source = "use tokio_util::codec::{Framed, LinesCodec};\n\
        async fn serve(s: tokio::net::TcpStream) {\n\
        \x20   let _l = Framed::new(s, LinesCodec::new());\n\
        \x20   let _c = reqwest::Client::new();\n\
        }\n";
    let safe = fixed(source, Mode::Safe);
    assert!(
        safe.contains("LinesCodec::new_with_max_length(65_536)"),
        "{safe}"
    );
    assert!(
        safe.contains("reqwest::Client::new()"),
        "unsafe left out: {safe}"
    );
    let all = fixed(source, Mode::Unsafe);
    assert!(all.contains("reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect(\"the HTTP client builds\")"), "{all}");
    // The import goes after the last `use`, once.
    assert!(all.starts_with(
        "use tokio_util::codec::{Framed, LinesCodec};\nuse std::time::Duration;\nasync fn"
    ));
}

#[test]
fn an_import_two_fixes_need_is_added_once() {
    let source = "use std::net::SocketAddr;\n\
        fn a(x: SocketAddr) { let _s = std::net::TcpStream::connect(x); }\n\
        fn b(y: SocketAddr) { let _s = std::net::TcpStream::connect(y); }\n";
    let all = fixed(source, Mode::Unsafe);
    assert_eq!(all.matches("use std::time::Duration;").count(), 1, "{all}");
    assert_eq!(all.matches("connect_timeout(&").count(), 2, "{all}");
    assert!(fixes_of(&all).is_empty(), "converged: {all}");
}

#[test]
fn fix_ranges_account_for_a_byte_order_mark_and_crlf() {
    let source = "\u{feff}use tokio_util::codec::LinesCodec;\r\n\
        fn f(s: std::net::SocketAddr) {\r\n\
        \x20   let _c = LinesCodec::new();\r\n\
        \x20   let _t = std::net::TcpStream::connect(s);\r\n\
        }\r\n";
    let findings = fixes_of(source);
    assert!(findings.iter().filter(|f| f.fix.is_some()).count() >= 2);
    let all = fixed(source, Mode::Unsafe);
    assert_eq!(
        all,
        "\u{feff}use tokio_util::codec::LinesCodec;\r\n\
        use std::time::Duration;\r\n\
        fn f(s: std::net::SocketAddr) {\r\n\
        \x20   let _c = LinesCodec::new_with_max_length(65_536);\r\n\
        \x20   let _t = std::net::TcpStream::connect_timeout(&s, Duration::from_secs(5));\r\n\
        }\r\n"
    );
}

/// A fixture folder of its own, in a temporary directory.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const MIXED: &str = "use tokio_util::codec::{Framed, LinesCodec};\n\
    async fn serve(s: tokio::net::TcpStream) {\n\
    \x20   let _l = Framed::new(s, LinesCodec::new());\n\
    \x20   let _c = reqwest::Client::new();\n\
    }\n";

#[test]
fn fix_writes_the_safe_fixes_and_reports_what_is_left() {
    let dir = project(&[("lib.rs", MIXED)]);
    let out = run_in(dir.path(), &["lib.rs", "--fix", "--color", "never"]);
    let text = std::fs::read_to_string(dir.path().join("lib.rs")).unwrap();
    assert!(text.contains("new_with_max_length(65_536)"), "{text}");
    assert!(text.contains("reqwest::Client::new()"), "{text}");
    assert!(
        stderr(&out).contains("applied 1 fix to 1 file"),
        "{}",
        stderr(&out)
    );
    // The report is of the file as it is now: the client finding, fixable with --unsafe-fixes.
    let report = stdout(&out);
    assert!(!report.contains("unbounded-frame"), "{report}");
    assert!(report.contains("client-without-timeout"), "{report}");
    assert!(
        report.contains("1 fixed (1 fixable with `--unsafe-fixes`"),
        "{report}"
    );
    assert_eq!(out.status.code(), Some(1));
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["lib.rs"]);
}

#[test]
fn overlapping_fixes_leave_one_for_the_next_run() {
    // The counted drop rewrites the statement that holds the client: one run applies the first
    // (the statement), the next the client inside it.
    let source =
        "fn f(tx: &tokio::sync::mpsc::Sender<reqwest::Client>) {\n    let _ = tx.try_send(reqwest::Client::new());\n}\n";
    let dir = project(&[("lib.rs", source)]);
    let first = run_in(dir.path(), &["lib.rs", "--unsafe-fixes"]);
    assert!(
        stderr(&first).contains(
            "applied 1 fix to 1 file; 1 fix overlapping another fix was left for the next run"
        ),
        "{}",
        stderr(&first)
    );
    let after_first = std::fs::read_to_string(dir.path().join("lib.rs")).unwrap();
    assert!(
        after_first.contains("if tx.try_send(reqwest::Client::new()).is_err()"),
        "{after_first}"
    );
    let second = run_in(dir.path(), &["lib.rs", "--unsafe-fixes"]);
    assert!(
        stderr(&second).contains("applied 1 fix to 1 file"),
        "{}",
        stderr(&second)
    );
    let text = std::fs::read_to_string(dir.path().join("lib.rs")).unwrap();
    assert_eq!(
        text,
        "use std::time::Duration;\n\nfn f(tx: &tokio::sync::mpsc::Sender<reqwest::Client>) {\n    if tx.try_send(reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect(\"the HTTP client builds\")).is_err() { tracing::warn!(\"dropped a message: the channel is full or closed\"); }\n}\n"
    );
    let third = run_in(dir.path(), &["lib.rs", "--unsafe-fixes"]);
    assert!(stderr(&third).contains("applied 0 fixes to 0 files"));
    assert_eq!(third.status.code(), Some(0), "{}", stdout(&third));
}

#[test]
fn diff_prints_what_fix_would_do_and_writes_nothing() {
    let dir = project(&[("lib.rs", MIXED)]);
    let out = run_in(dir.path(), &["lib.rs", "--diff"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "--- a/lib.rs\n+++ b/lib.rs\n@@ -1,5 +1,5 @@\n use tokio_util::codec::{Framed, LinesCodec};\n async fn serve(s: tokio::net::TcpStream) {\n-    let _l = Framed::new(s, LinesCodec::new());\n+    let _l = Framed::new(s, LinesCodec::new_with_max_length(65_536));\n     let _c = reqwest::Client::new();\n }\n"
    );
    assert!(stderr(&out).contains("1 fix would be applied to 1 file"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("lib.rs")).unwrap(),
        MIXED
    );
    let unsafe_diff = run_in(dir.path(), &["lib.rs", "--diff", "--unsafe-fixes"]);
    assert!(stdout(&unsafe_diff).contains("+use std::time::Duration;"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("lib.rs")).unwrap(),
        MIXED
    );
    // Nothing to fix: no diff, exit 0.
    let clean = project(&[("lib.rs", "fn f() {}\n")]);
    let out = run_in(clean.path(), &["lib.rs", "--diff"]);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), ""));
}

#[test]
fn a_file_that_changed_since_it_was_read_is_not_written() {
    let dir = project(&[("lib.rs", MIXED)]);
    let path = dir.path().join("lib.rs");
    let report: Report = common::lint(dir.path(), false);
    // Changed after the analysis: the plan refuses it.
    std::fs::write(&path, format!("{MIXED}// edited\n")).unwrap();
    let (plans, refused) = fix::plan(&report, Mode::Safe, 1 << 20);
    assert!(plans.is_empty());
    assert_eq!(refused.len(), 1);
    assert!(refused[0].reason.contains("changed"), "{:?}", refused[0]);
    // Changed between the plan and the write: the write refuses it.
    std::fs::write(&path, MIXED).unwrap();
    let (plans, _) = fix::plan(&report, Mode::Safe, 1 << 20);
    assert_eq!(plans.len(), 1);
    std::fs::write(&path, format!("{MIXED}// edited again\n")).unwrap();
    let err = fix::write(&plans[0].path, &plans[0].before, &plans[0].after.text).unwrap_err();
    assert!(err.contains("changed"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{MIXED}// edited again\n")
    );
    // Unchanged: written, with the file's permissions kept.
    std::fs::write(&path, MIXED).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    fix::write(&plans[0].path, &plans[0].before, &plans[0].after.text).unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("new_with_max_length"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }
}

#[test]
fn the_sizes_and_the_drop_counter_come_from_the_configuration() {
    let config = "[rules.unbounded-frame]\nmax-line-length = 1024\n\n\
        [rules.ignored-try-send]\ndrop-counter = 'metrics::counter!(\"dropped\").increment(1)'\n\n\
        [rules.connect-without-timeout]\ntimeout-seconds = 2\n";
    let source = "fn f(s: std::net::TcpStream, a: std::net::SocketAddr, tx: &tokio::sync::mpsc::Sender<u8>) {\n\
        \x20   let _c = tokio_util::codec::LinesCodec::new();\n\
        \x20   let _ = tx.try_send(1);\n\
        \x20   let _t = std::net::TcpStream::connect(a);\n\
        }\n";
    let dir = project(&[("backpressure.toml", config), ("lib.rs", source)]);
    let out = run_in(dir.path(), &["--unsafe-fixes"]);
    assert!(stderr(&out).contains("applied 3 fixes"), "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.path().join("lib.rs")).unwrap();
    assert!(
        text.contains("LinesCodec::new_with_max_length(1024)"),
        "{text}"
    );
    assert!(
        text.contains(
            "if tx.try_send(1).is_err() { metrics::counter!(\"dropped\").increment(1); }"
        ),
        "{text}"
    );
    assert!(text.contains("Duration::from_secs(2)"), "{text}");
    // A string option must be a string.
    let bad = project(&[
        (
            "backpressure.toml",
            "[rules.ignored-try-send]\ndrop-counter = 3\n",
        ),
        ("lib.rs", "fn f() {}\n"),
    ]);
    let out = run_in(bad.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("must be a string"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_counter_from_a_crate_the_package_does_not_use_is_not_offered() {
    let manifest = "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ntokio = \"1\"\n";
    let source = "pub fn f(tx: &tokio::sync::mpsc::Sender<u8>) {\n    let _ = tx.try_send(1);\n}\n";
    let dir = project(&[("Cargo.toml", manifest), ("src/lib.rs", source)]);
    let report = common::lint(dir.path(), false);
    let findings: Vec<&Finding> = report.findings().collect();
    assert_eq!(findings.len(), 1);
    assert!(findings[0].fix.is_none(), "no tracing dependency: no fix");
    // Only for tests, or optional: production code cannot name it in every build.
    for extra in [
        "\n[dev-dependencies]\ntracing = \"0.1\"\n",
        "tracing = { version = \"0.1\", optional = true }\n",
    ] {
        let dir = project(&[
            ("Cargo.toml", &format!("{manifest}{extra}")),
            ("src/lib.rs", source),
        ]);
        let report = common::lint(dir.path(), false);
        assert!(report.findings().all(|f| f.fix.is_none()), "{extra}");
    }
    let with_tracing = project(&[
        ("Cargo.toml", &format!("{manifest}tracing = \"0.1\"\n")),
        ("src/lib.rs", source),
    ]);
    let report = common::lint(with_tracing.path(), false);
    assert_eq!(report.findings().count(), 1);
    assert!(report.findings().all(|f| f.fix.is_some()));
}

#[test]
fn json_and_sarif_carry_the_fixes_and_text_marks_them() {
    let dir = project(&[("lib.rs", MIXED)]);
    let out = run_in(dir.path(), &["lib.rs", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["fixable_safe"], 1);
    assert_eq!(json["summary"]["fixable_unsafe"], 1);
    assert_eq!(json["summary"]["fixes_applied"], 0);
    let findings = json["findings"].as_array().unwrap();
    let frame = findings
        .iter()
        .find(|f| f["rule"] == "unbounded-frame")
        .unwrap();
    let fix = &frame["fix"];
    assert_eq!(fix["applicability"], "safe");
    let edit = &fix["edits"][0];
    assert_eq!(edit["replacement"], "new_with_max_length(65_536)");
    assert_eq!(edit["start"]["line"], 3);
    let start = edit["start_byte"].as_u64().unwrap() as usize;
    let end = edit["end_byte"].as_u64().unwrap() as usize;
    assert_eq!(&MIXED[start..end], "new()");
    let client = findings
        .iter()
        .find(|f| f["rule"] == "client-without-timeout")
        .unwrap();
    assert_eq!(client["fix"]["applicability"], "unsafe");
    assert_eq!(client["fix"]["edits"].as_array().unwrap().len(), 2);

    let sarif_path = dir.path().join("out.sarif");
    run_in(
        dir.path(),
        &[
            "lib.rs",
            "--format",
            "sarif",
            "-o",
            sarif_path.to_str().unwrap(),
        ],
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_path).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let with_fix = results
        .iter()
        .find(|r| r["ruleId"] == "unbounded-frame")
        .unwrap();
    let change = &with_fix["fixes"][0]["artifactChanges"][0];
    assert_eq!(change["artifactLocation"]["uri"], "lib.rs");
    let replacement = &change["replacements"][0];
    assert_eq!(replacement["deletedRegion"]["startLine"], 3);
    assert_eq!(
        replacement["insertedContent"]["text"],
        "new_with_max_length(65_536)"
    );
    // The import is an insertion: an empty region.
    let client = results
        .iter()
        .find(|r| r["ruleId"] == "client-without-timeout")
        .unwrap();
    let import = client["fixes"][0]["artifactChanges"][0]["replacements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["insertedContent"]["text"] == "use std::time::Duration;\n")
        .unwrap();
    let region = &import["deletedRegion"];
    assert_eq!(
        (&region["startLine"], &region["startColumn"]),
        (&region["endLine"], &region["endColumn"])
    );
    common::validate_sarif(&[&sarif_path]);

    let text = stdout(&run_in(dir.path(), &["lib.rs", "--color", "never"]));
    assert!(text.contains("= fix: [*] fixable with `--fix`: use `LinesCodec::new_with_max_length(..)` with a maximum of 65_536 bytes"), "{text}");
    assert!(
        text.contains("= fix: fixable with `--unsafe-fixes` (review it): build the client"),
        "{text}"
    );
    assert!(text.contains(
        "[*] 1 fixable with `--fix`, 1 more with `--unsafe-fixes`, which change behaviour: review them"
    ));
}

#[allow(dead_code)]
fn outcome_findings(report: &Report) -> usize {
    report
        .files
        .iter()
        .map(|f| match &f.outcome {
            Outcome::Analysed { findings } => findings.len(),
            _ => 0,
        })
        .sum()
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_stays_one_and_its_target_is_fixed() {
    let dir = project(&[("real.rs", MIXED)]);
    let link = dir.path().join("link.rs");
    std::os::unix::fs::symlink(dir.path().join("real.rs"), &link).unwrap();
    let out = run_in(dir.path(), &["link.rs", "--fix"]);
    assert!(
        stderr(&out).contains("applied 1 fix to 1 file"),
        "{}",
        stderr(&out)
    );
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let real = std::fs::read_to_string(dir.path().join("real.rs")).unwrap();
    assert!(real.contains("new_with_max_length(65_536)"), "{real}");
}

#[test]
fn the_timeout_wrapper_needs_tokios_time_feature_in_the_manifest() {
    let source =
        "pub async fn dial(a: &str) {\n    let _s = tokio::net::TcpStream::connect(a).await;\n}\n";
    let package = |deps: &str| {
        format!("[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}\n")
    };
    let fix_offered = |files: &[(&str, &str)]| {
        let dir = project(files);
        let report = common::lint(dir.path(), false);
        let findings: Vec<&Finding> = report.findings().collect();
        assert_eq!(findings.len(), 1, "{files:?}");
        findings[0].fix.is_some()
    };
    let net_only = package("tokio = { version = \"1\", features = [\"net\"] }");
    assert!(!fix_offered(&[
        ("Cargo.toml", &net_only),
        ("src/lib.rs", source)
    ]));
    let with_time = package("tokio = { version = \"1\", features = [\"net\", \"time\"] }");
    assert!(fix_offered(&[
        ("Cargo.toml", &with_time),
        ("src/lib.rs", source)
    ]));
    // Inherited from the workspace, with the workspace's features.
    let workspace = "[workspace]\nmembers = [\"svc\"]\n\n[workspace.dependencies]\ntokio = { version = \"1\", features = [\"full\"] }\n";
    let member = package("tokio = { workspace = true }");
    assert!(fix_offered(&[
        ("Cargo.toml", workspace),
        ("svc/Cargo.toml", &member),
        ("svc/src/lib.rs", source),
    ]));
}

#[test]
fn the_json_summary_counts_the_fixes_applied() {
    let dir = project(&[("lib.rs", MIXED)]);
    let out = run_in(dir.path(), &["lib.rs", "--fix", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["fixes_applied"], 1);
    assert_eq!(json["summary"]["fixable_safe"], 0);
    assert_eq!(json["summary"]["fixable_unsafe"], 1);
    assert_eq!(json["findings"].as_array().unwrap().len(), 1);
}
