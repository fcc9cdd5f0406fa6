//! Emitters on the whole fixture tree: fingerprints survive inserted lines, GitHub annotations match
//! SARIF results one to one, and SARIF carries the catalogue and the files not analysed.
mod common;

use std::collections::BTreeSet;
use std::path::Path;

use cargo_backpressure::catalogue::Catalogue;
use cargo_backpressure::emit::{self, EmitContext, Format};
use cargo_backpressure::run::Report;

fn render(report: &Report, format: Format, base: &Path) -> String {
    let cx = EmitContext {
        catalogue: Catalogue::global(),
        color: false,
        base_dir: base,
        max_file_bytes: cargo_backpressure::run::DEFAULT_MAX_FILE_BYTES,
    };
    let mut out = Vec::new();
    emit::emit(format, report, &cx, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn copy_tree(from: &Path, to: &Path, prefix: &str) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else if entry.path().extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            std::fs::write(&target, format!("{prefix}{text}")).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// (path, rule, fingerprint) of every finding.
fn identities(report: &Report) -> BTreeSet<(String, String, String)> {
    report
        .findings()
        .map(|f| (f.path.clone(), f.rule.clone(), f.fingerprint.clone()))
        .collect()
}

#[test]
fn fingerprints_do_not_move_when_lines_are_inserted_above() {
    let fixtures = common::repo_root().join("fixtures");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    copy_tree(&fixtures, a.path(), "");
    copy_tree(&fixtures, b.path(), "// one\n// two\n\n// four\n");
    let before = common::lint(a.path(), false);
    let after = common::lint(b.path(), false);
    assert!(before.findings().count() > 20);
    assert_eq!(identities(&before), identities(&after));
    // Lines did move.
    let first_line = |r: &Report| r.findings().next().map(|f| f.region.start.line);
    assert_eq!(first_line(&before).map(|l| l + 4), first_line(&after));
}

#[test]
fn github_annotations_match_sarif_results() {
    let fixtures = common::repo_root().join("fixtures");
    let report = common::lint(&fixtures, false);
    let sarif: serde_json::Value =
        serde_json::from_str(&render(&report, Format::Sarif, &fixtures)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap().len();
    let github = render(&report, Format::Github, &fixtures);
    let annotations = github
        .lines()
        .filter(|l| l.starts_with("::warning ") || l.starts_with("::error "))
        .count();
    assert_eq!(annotations, results);
    assert_eq!(results, report.findings().count());
    let short = render(&report, Format::Short, &fixtures);
    assert_eq!(
        short
            .lines()
            .filter(|l| l.contains("warning[") || l.contains("error["))
            .count(),
        results
    );
}

#[test]
fn sarif_has_the_catalogue_fingerprints_and_notifications() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.rs"), "fn f() { flume::unbounded( }").unwrap();
    std::fs::write(
        dir.path().join("ok.rs"),
        "fn f() { let c = flume::unbounded::<u8>(); }",
    )
    .unwrap();
    let report = common::lint(dir.path(), false);
    let sarif: serde_json::Value =
        serde_json::from_str(&render(&report, Format::Sarif, dir.path())).unwrap();
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), Catalogue::global().rules.len());
    for rule in rules {
        for key in [
            "id",
            "name",
            "shortDescription",
            "fullDescription",
            "help",
            "helpUri",
            "defaultConfiguration",
            "properties",
        ] {
            assert!(!rule[key].is_null(), "rule {} lacks {key}", rule["id"]);
        }
        assert!(rule["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("```rust"));
    }
    let result = &run["results"][0];
    assert_eq!(
        rules[result["ruleIndex"].as_u64().unwrap() as usize]["id"],
        result["ruleId"]
    );
    assert_eq!(
        result["partialFingerprints"][emit::sarif::FINGERPRINT_KEY]
            .as_str()
            .unwrap()
            .len(),
        32
    );
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 1);
    assert!(notes[0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("syntax error"));
    assert_eq!(
        notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "bad.rs"
    );
}
