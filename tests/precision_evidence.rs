//! Evidence before warning, on the shapes real applications showed (issue #13): per-target
//! serving judgement, timeout layers applied to the served router, and honest confidence.
mod common;

use common::crates::{cases, lint, markers, of_file, rust_files};

/// Every fixture crate under `fixtures/precision/` gives exactly its `//~` markers, linted whole
/// and file by file.
#[test]
fn precision_fixture_crates_give_their_markers() {
    let mut problems = Vec::new();
    for case in cases("precision") {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let whole = lint(&case, &["."]);
        for file in rust_files(&case) {
            let want = markers(&case, &file);
            let got = of_file(&whole, &file);
            if got != want {
                problems.push(format!(
                    "{name}/{file}: found {got:?}, markers say {want:?}"
                ));
            }
            let alone = lint(&case, &[file.as_str()]);
            if alone != got {
                problems.push(format!(
                    "{name}/{file}: named alone found {alone:?}, the whole run {got:?}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The replay tool's own files are left out as a tool's, and the run says so.
#[test]
fn a_tool_binary_in_a_serving_package_is_counted_as_left_out() {
    let case = common::repo_root().join("fixtures/precision/target-serving");
    let out = common::run_in(&case, &["--stats", "."]);
    let text = format!("{}{}", common::stdout(&out), common::stderr(&out));
    // The replay tool's client and its text read; the shared file's client still fires.
    assert!(
        text.contains("2 left out in tools that serve no peers; 3 warnings"),
        "{text}"
    );
}

/// (line, confidence) of every finding of `rule` in one fixture file linted alone.
fn confidences(fixture: &str, rule: &str) -> Vec<(u32, cargo_backpressure::diag::Confidence)> {
    let path = common::repo_root().join("fixtures").join(fixture);
    let source = std::fs::read_to_string(&path).unwrap();
    let report = common::lint_source(&source);
    report
        .findings()
        .filter(|f| f.rule == rule)
        .map(|f| (f.region.start.line, f.confidence))
        .collect()
}

/// A server on loopback only, or one whose timeout layer is the crate's own, is medium: the
/// evidence stops at a local peer or at a layer whose behaviour is not visible.
#[test]
fn local_or_own_layer_servers_are_medium_and_others_high() {
    use cargo_backpressure::diag::Confidence::{High, Medium};
    let rule = "server-without-timeout";
    assert_eq!(
        confidences(
            "server-without-timeout/local_listeners_from_devset.rs",
            rule
        ),
        [
            (20, Medium),
            (42, High),
            (57, Medium),
            (62, Medium),
            (86, High)
        ]
    );
    assert_eq!(
        confidences(
            "server-without-timeout/own_timeout_layer_from_devset.rs",
            rule
        ),
        [(21, Medium)]
    );
    assert_eq!(
        confidences("server-without-timeout/tonic_timeout_layers.rs", rule),
        [(33, Medium), (43, High)]
    );
}

/// A queue whose pushes are not visible is medium, as unbounded-channel's channels are; one fed
/// per accepted connection stays high.
#[test]
fn unbounded_queue_without_visible_producers_is_medium() {
    use cargo_backpressure::diag::Confidence::{High, Medium};
    let rule = "unbounded-queue";
    assert_eq!(
        confidences("unbounded-queue/opaque_producers.rs", rule),
        [(6, Medium), (10, Medium)]
    );
    assert_eq!(
        confidences("unbounded-queue/producers.rs", rule),
        [(44, High), (59, Medium)]
    );
    assert_eq!(
        confidences("unbounded-queue/lock_free.rs", rule),
        [(6, Medium), (7, Medium), (8, Medium)]
    );
}

/// A channel fed per item of another channel's receiver is medium (the pace is that channel's
/// producers'); one fed per datagram of a socket stays high.
#[test]
fn a_channel_fed_by_another_channel_is_medium() {
    use cargo_backpressure::diag::Confidence::{High, Medium};
    assert_eq!(
        confidences(
            "unbounded-channel/fed_by_another_channel.rs",
            "unbounded-channel"
        ),
        [(8, Medium), (20, High)]
    );
}
