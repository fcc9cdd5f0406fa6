//! The catalogue and the code agree, rule docs are complete, and every rule's documented examples
//! are executed: the bad one must fire that rule, the good one must produce no finding at all.
mod common;

use cargo_backpressure::catalogue::Catalogue;
use cargo_backpressure::rules::IMPLEMENTED;

#[test]
fn every_rule_has_code_docs_and_fixtures() {
    let catalogue = Catalogue::load().expect("catalogue parses");
    let ids: Vec<&str> = catalogue.ids().collect();
    let mut implemented = IMPLEMENTED.to_vec();
    implemented.sort();
    assert_eq!(
        ids, implemented,
        "catalogue entries and implemented rules differ"
    );
    for r in &catalogue.rules {
        for (field, value) in [
            ("summary", &r.summary),
            ("rationale", &r.rationale),
            ("fix", &r.fix),
            ("limits", &r.limits),
            ("bad", &r.bad),
            ("good", &r.good),
        ] {
            assert!(!value.trim().is_empty(), "{}: `{field}` is empty", r.id);
        }
        assert!(
            r.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{}: ids are kebab-case",
            r.id
        );
        for banned in ["no-", "avoid-", "prefer-"] {
            assert!(
                !r.id.starts_with(banned),
                "{}: ids name the hazard, never `{banned}..`",
                r.id
            );
        }
        assert!(
            r.name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase())
                && !r.name.contains(['-', '_', ' ']),
            "{}: name must be PascalCase",
            r.id
        );
        assert!(
            ["very-high", "high", "medium", "low"].contains(&r.precision.as_str()),
            "{}: bad precision",
            r.id
        );
        assert!(!r.matches.is_empty(), "{}: lists no API paths", r.id);
        assert!(!r.anchors.is_empty(), "{}: names no anchor list", r.id);
        for key in r.anchor_lists() {
            assert!(
                r.matches.contains_key(key),
                "{}: anchor `{key}` is not a list in [matches]",
                r.id
            );
        }
        let fixtures = common::repo_root().join("fixtures").join(&r.id);
        assert!(fixtures.is_dir(), "{}: no fixtures/{} folder", r.id, r.id);
    }
}

#[test]
fn bad_examples_fire_and_good_examples_stay_clean() {
    let catalogue = Catalogue::global();
    for r in &catalogue.rules {
        let bad = common::lint_source(&r.bad);
        assert!(
            bad.findings().any(|f| f.rule == r.id),
            "{}: the bad example does not fire",
            r.id
        );
        assert_eq!(
            bad.not_analysed().count(),
            0,
            "{}: the bad example does not parse",
            r.id
        );
        let good = common::lint_source(&r.good);
        let noisy: Vec<_> = good
            .findings()
            .map(|f| {
                format!(
                    "{} at {}:{}",
                    f.rule, f.region.start.line, f.region.start.column
                )
            })
            .collect();
        assert!(
            noisy.is_empty(),
            "{}: the good example fires: {noisy:?}",
            r.id
        );
        assert_eq!(
            good.not_analysed().count(),
            0,
            "{}: the good example does not parse",
            r.id
        );
    }
}

#[test]
fn messages_follow_the_conventions() {
    // Every finding any fixture produces: lowercase start, no trailing period, a help line.
    let report = common::lint(&common::repo_root().join("fixtures"), false);
    for f in report.findings() {
        assert!(
            f.message.chars().next().is_some_and(|c| !c.is_uppercase()),
            "{}: message starts uppercase: {}",
            f.rule,
            f.message
        );
        assert!(
            !f.message.ends_with('.'),
            "{}: message ends with a period: {}",
            f.rule,
            f.message
        );
        assert!(!f.help.is_empty(), "{}: no help", f.rule);
    }
}
