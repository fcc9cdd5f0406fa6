//! Evidence before warning: every finding carries its confidence in every format, and
//! `--min-confidence high` keeps only the findings whose evidence is all visible.
mod common;

use cargo_backpressure::diag::Confidence;

/// A middleware over a type parameter: the contract is broken, but whether backpressure is lost
/// depends on the service it is given, which the file does not show (medium).
const GENERIC_INNER: &str = r#"
use std::task::{Context, Poll};
use tower::Service;

pub struct Timing<S> {
    inner: S,
}

impl<S: Service<u32>> Service<u32> for Timing<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: u32) -> Self::Future {
        self.inner.call(req)
    }
}
"#;

/// The same middleware over tower's `Buffer`, which waits for capacity in `poll_ready` (high).
const BUFFER_INNER: &str = r#"
use std::task::{Context, Poll};
use tower::buffer::Buffer;
use tower::Service;

pub struct OverBuffer {
    inner: Buffer<Backend, u32>,
}

impl Service<u32> for OverBuffer {
    type Response = ();
    type Error = tower::BoxError;
    type Future = Fut;
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: u32) -> Self::Future {
        self.inner.call(req)
    }
}
"#;

fn only_finding(source: &str) -> cargo_backpressure::diag::Finding {
    let report = common::lint_source(source);
    let findings: Vec<_> = report.findings().cloned().collect();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    findings.into_iter().next().unwrap()
}

#[test]
fn a_generic_inner_service_is_medium_and_a_waiting_one_high() {
    let generic = only_finding(GENERIC_INNER);
    assert_eq!(generic.rule, "poll-ready-not-forwarded");
    assert_eq!(generic.confidence, Confidence::Medium);
    let reason = generic
        .confidence_reason
        .expect("a medium finding says why");
    assert!(reason.contains("type is open"), "{reason}");

    let buffer = only_finding(BUFFER_INNER);
    assert_eq!(buffer.confidence, Confidence::High);
    assert_eq!(buffer.confidence_reason, None);
}

fn project(source: &str, config: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lib.rs"), source).unwrap();
    if let Some(config) = config {
        std::fs::write(dir.path().join("backpressure.toml"), config).unwrap();
    }
    dir
}

#[test]
fn every_format_carries_the_confidence() {
    let dir = project(
        &format!("{GENERIC_INNER}\nmod other {{ {BUFFER_INNER} }}"),
        None,
    );
    let run = |format: &str| {
        let out = common::run_in(dir.path(), &["--format", format, "--color", "never", "."]);
        assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
        common::stdout(&out)
    };

    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let confidences: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["confidence"].as_str().unwrap())
        .collect();
    assert_eq!(confidences, ["medium", "high"]);
    assert!(json["findings"][0]["confidence_reason"]
        .as_str()
        .is_some_and(|r| r.contains("type is open")));
    assert!(json["findings"][1]["confidence_reason"].is_null());

    let sarif: serde_json::Value = serde_json::from_str(&run("sarif")).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let ranked: Vec<(&str, f64)> = results
        .iter()
        .map(|r| {
            (
                r["properties"]["confidence"].as_str().unwrap(),
                r["rank"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ranked, [("medium", 60.0), ("high", 90.0)]);
    assert!(results[0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("Medium confidence: the inner service's type is open"));

    let text = run("text");
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("warning")).collect();
    assert_eq!(headers.len(), 2, "{text}");
    assert!(headers[0].ends_with("(medium confidence)"), "{text}");
    assert!(!headers[1].contains("confidence"), "{text}");
    assert!(
        text.contains("= note: medium confidence: the inner service's type is open"),
        "{text}"
    );

    let short = run("short");
    let lines: Vec<&str> = short.lines().collect();
    assert!(lines[0].ends_with("(medium confidence)"), "{short}");
    assert!(!lines[1].contains("confidence"), "{short}");

    assert!(run("github").contains("%0Anote: medium confidence: the inner service's type is open"));
}

#[test]
fn min_confidence_high_shows_only_visible_evidence() {
    let both = format!("{GENERIC_INNER}\nmod other {{ {BUFFER_INNER} }}");
    let count = |dir: &tempfile::TempDir, args: &[&str]| {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        all.push(".");
        let out = common::run_in(dir.path(), &all);
        let json: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
        json["findings"].as_array().unwrap().len()
    };
    let plain = project(&both, None);
    assert_eq!(count(&plain, &[]), 2, "the default shows both");
    assert_eq!(count(&plain, &["--min-confidence", "medium"]), 2);
    assert_eq!(count(&plain, &["--min-confidence", "high"]), 1);

    let configured = project(&both, Some("min-confidence = \"high\"\n"));
    assert_eq!(count(&configured, &[]), 1, "the configuration key");
    assert_eq!(
        count(&configured, &["--min-confidence", "medium"]),
        2,
        "the flag wins over the configuration"
    );

    let out = common::run_in(plain.path(), &["--min-confidence", "high", "."]);
    assert!(
        common::stdout(&out).contains("1 below the minimum confidence"),
        "{}",
        common::stdout(&out)
    );

    let bad = project(&both, Some("min-confidence = \"low\"\n"));
    let out = common::run_in(bad.path(), &["."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("expected `high` or `medium`"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn a_suppression_of_a_hidden_medium_finding_is_still_used() {
    let source = GENERIC_INNER.replace(
        "        Poll::Ready(Ok(()))",
        "        // backpressure:allow(poll-ready-not-forwarded) always wrapped around a ready leaf\n        Poll::Ready(Ok(()))",
    );
    let dir = project(&source, None);
    let out = common::run_in(
        dir.path(),
        &[
            "--min-confidence",
            "high",
            "--report-unused-suppressions",
            "--format",
            "short",
            ".",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::stdout(&out));
}
