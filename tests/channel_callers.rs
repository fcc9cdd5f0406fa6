//! Channels sent to in a method once per call, judged by the method's callers in other files
//! (`fixtures/unbounded-channel/callers-feed`): fed per accepted connection through a caller in
//! another file is high confidence with a label at that call; every caller bounded is quiet; a
//! `pub` method (callers outside the crate may exist) stays medium.
mod common;

use common::{run_in, stdout};

/// (path, line, confidence, message, labels as (path, line, message)) of every finding.
type Row = (String, u64, String, String, Vec<(String, u64, String)>);

fn findings(args: &[&str]) -> Vec<Row> {
    let case = common::repo_root().join("fixtures/unbounded-channel/callers-feed");
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let report: serde_json::Value =
        serde_json::from_str(&stdout(&run_in(&case, &all))).expect("json report");
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let path = text(&f["path"]);
            let labels = f["labels"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| {
                    let p = l["path"].as_str().map_or(path.clone(), str::to_owned);
                    (
                        p,
                        l["region"]["start"]["line"].as_u64().unwrap_or(0),
                        text(&l["message"]),
                    )
                })
                .collect();
            (
                path.clone(),
                f["region"]["start"]["line"].as_u64().unwrap_or(0),
                text(&f["confidence"]),
                text(&f["message"]),
                labels,
            )
        })
        .collect()
}

#[test]
fn a_method_called_per_accepted_connection_in_another_file_is_high_confidence() {
    for args in [&["."][..], &["src/bus.rs"][..]] {
        let found = findings(args);
        let bus = found
            .iter()
            .find(|f| f.0 == "src/bus.rs")
            .unwrap_or_else(|| panic!("{args:?}: no finding in bus.rs: {found:?}"));
        assert_eq!(bus.2, "high", "{args:?}: {bus:?}");
        assert!(
            bus.3.contains("sent to in `Bus::publish`, which is called once per accepted connection (`listener.accept()`)"),
            "{args:?}: {}",
            bus.3
        );
        assert!(
            bus.4.iter().any(|(p, l, m)| p == "src/server.rs"
                && *l == 15
                && m == "the send is reached from here, once per accepted connection (`listener.accept()`)"),
            "{args:?}: the feeding call is not labelled: {:?}",
            bus.4
        );
    }
}

#[test]
fn bounded_callers_are_quiet_and_a_pub_method_stays_medium() {
    for args in [&["."][..], &["src/stats.rs"][..]] {
        let found = findings(args);
        let stats: Vec<&Row> = found.iter().filter(|f| f.0 == "src/stats.rs").collect();
        assert_eq!(stats.len(), 1, "{args:?}: {stats:?}");
        assert_eq!(
            (stats[0].1, stats[0].2.as_str()),
            (39, "medium"),
            "{args:?}: {stats:?}"
        );
    }
}

#[test]
fn a_loop_over_a_broadcast_subscription_is_medium_confidence() {
    let path = common::repo_root().join("fixtures/unbounded-channel/subscribed.rs");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(&path, dir.path().join("lib.rs")).expect("copy fixture");
    let report = common::lint(dir.path(), false);
    let found: Vec<_> = report.findings().collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].confidence,
        cargo_backpressure::diag::Confidence::Medium,
        "{}",
        found[0].message
    );
}
