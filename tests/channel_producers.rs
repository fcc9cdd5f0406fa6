//! The producers of a channel or queue, as the findings name them: the feeding site, the place the
//! sender leaves what this file shows, the method that sends once per call.
mod common;

use cargo_backpressure::diag::Finding;

/// The findings of one fixture file, by the line of their primary region.
fn findings_of(relative: &str) -> Vec<Finding> {
    let path = common::repo_root().join("fixtures").join(relative);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(&path, dir.path().join("lib.rs")).expect("copy fixture");
    common::lint(dir.path(), false)
        .findings()
        .cloned()
        .collect()
}

fn at(findings: &[Finding], line: u32) -> &Finding {
    findings
        .iter()
        .find(|f| f.region.start.line == line)
        .unwrap_or_else(|| panic!("no finding on line {line}"))
}

/// The (line, text) of every secondary label.
fn labels(f: &Finding) -> Vec<(u32, &str)> {
    f.labels
        .iter()
        .map(|l| (l.region.start.line, l.message.as_str()))
        .collect()
}

#[test]
fn an_outside_feed_is_named_and_labelled_where_it_feeds() {
    let found = findings_of("unbounded-channel/producers.rs");
    let accept = at(&found, 12);
    assert!(
        accept
            .message
            .contains("fed once per accepted connection (`listener.accept()`)"),
        "{}",
        accept.message
    );
    assert!(labels(accept).contains(&(19, "one message per accepted connection here")));
    assert!(labels(accept).contains(&(20, "sent here, with nothing to slow the sender")));
    let helper = at(&found, 54);
    assert!(
        helper
            .message
            .contains("fed once per item of `reader.read_line()`"),
        "{}",
        helper.message
    );
    assert!(labels(helper).contains(&(63, "fed once per item of `reader.read_line()` here")));
}

#[test]
fn producers_out_of_sight_are_said_to_be() {
    let found = findings_of("unbounded-channel/producers.rs");
    for (line, reason, label) in [
        (77, "the sender is stored in the public field `Outbox.tx`", (78, "stored here in the public field `Outbox.tx`")),
        (82, "the sender is passed to `.subscribe()`, which is not in this file", (83, "passed here to `.subscribe()`, which is not in this file")),
        (88, "it is sent from a closure passed to `.on_change()`, which may run it any number of times", (89, "`.on_change()` may run this closure any number of times")),
        (102, "it is sent in `Journal::record`, once per call, and its callers are not followed", (107, "sent here, once per call of `Journal::record`")),
        (114, "the sender is returned", (116, "returned here")),
    ] {
        let f = at(&found, line);
        assert!(
            f.message.contains(&format!("whose producers are not visible here ({reason})")),
            "line {line}: {}",
            f.message
        );
        assert!(labels(f).contains(&label), "line {line}: {:?}", labels(f));
    }
}

#[test]
fn a_queue_is_judged_by_its_pushes() {
    let found = findings_of("unbounded-queue/producers.rs");
    let lines: Vec<u32> = found.iter().map(|f| f.region.start.line).collect();
    assert_eq!(
        lines,
        [44, 59],
        "the permit-carrying and the drained queue stay quiet"
    );
    assert!(labels(at(&found, 44)).contains(&(52, "one push per accepted connection here")));
    assert!(at(&found, 59)
        .message
        .contains("the queue is passed to `.start()`, which is not in this file"));
}
