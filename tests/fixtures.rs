//! Every fixture under `fixtures/` produces exactly the findings its `//~ rule-id` markers name:
//! a marker with no finding is "missing", a finding with no marker is "noisy".
mod common;

use std::collections::{BTreeMap, BTreeSet};

use cargo_backpressure::catalogue::Catalogue;
use cargo_backpressure::run::Outcome;

/// (line, rule) pairs from `//~ rule-a, rule-b` markers.
fn expected(text: &str) -> BTreeSet<(u32, String)> {
    let mut out = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        if let Some((_, marker)) = line.split_once("//~") {
            for rule in marker.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                out.insert((i as u32 + 1, rule.to_owned()));
            }
        }
    }
    out
}

#[test]
fn fixtures_produce_exactly_their_annotated_findings() {
    let root = common::repo_root().join("fixtures");
    let report = common::lint(&root, false);
    // The report keeps only files with findings or that were not analysed: walk the fixtures
    // themselves so that a fixture which should fire but does not is still checked.
    let kept: BTreeMap<&str, &Outcome> = report
        .files
        .iter()
        .map(|f| (f.display.as_str(), &f.outcome))
        .collect();
    let on_disk = cargo_backpressure::walk::discover(std::slice::from_ref(&root), 2)
        .expect("fixtures exist")
        .files;
    assert!(
        on_disk.len() > 10 && report.counts.scanned == on_disk.len(),
        "fixtures were not found under {}",
        root.display()
    );
    let mut problems = Vec::new();
    let mut firing_per_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut files_per_rule: BTreeMap<String, usize> = BTreeMap::new();
    for source in &on_disk {
        let display = cargo_backpressure::run::display_path(&source.path, &root);
        let text = std::fs::read_to_string(&source.path).unwrap();
        let want = expected(&text);
        let got: BTreeSet<(u32, String)> = match kept.get(display.as_str()) {
            Some(Outcome::Analysed { findings }) => findings
                .iter()
                .map(|f| (f.region.start.line, f.rule.clone()))
                .collect(),
            None | Some(Outcome::Exempt(_)) => BTreeSet::new(),
            Some(Outcome::NotAnalysed(reason)) => {
                problems.push(format!("{display}: not analysed: {reason}"));
                continue;
            }
        };
        for (line, rule) in want.difference(&got) {
            problems.push(format!("missing: {display}:{line}: expected {rule}"));
        }
        for (line, rule) in got.difference(&want) {
            problems.push(format!("noisy: {display}:{line}: unexpected {rule}"));
        }
        for (_, rule) in &want {
            *firing_per_rule.entry(rule.clone()).or_default() += 1;
        }
        if let Some(dir) = display.split('/').next() {
            *files_per_rule.entry(dir.to_owned()).or_default() += 1;
        }
    }
    eprintln!("fixture files per folder: {files_per_rule:?}");
    eprintln!("firing lines per rule: {firing_per_rule:?}");
    assert!(
        problems.is_empty(),
        "{} fixture mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    for id in Catalogue::global().ids() {
        assert!(
            firing_per_rule.get(id).copied().unwrap_or(0) > 0,
            "rule {id} has no firing fixture line"
        );
    }
}

#[test]
fn markers_are_parsed() {
    let e = expected("a\nlet x = f(); //~ unbounded-channel, unbounded-queue\n");
    assert_eq!(e.len(), 2);
    assert!(e.contains(&(2, "unbounded-queue".to_owned())));
}

#[test]
fn prefilter_changes_no_finding() {
    // The prefilter skips files with no anchor word; it must never lose a finding.
    let root = common::repo_root().join("fixtures");
    let with: Vec<_> = common::lint_with(&root, false, true)
        .findings()
        .cloned()
        .collect();
    let without: Vec<_> = common::lint_with(&root, false, false)
        .findings()
        .cloned()
        .collect();
    assert_eq!(with, without);
    assert!(!with.is_empty());
}
