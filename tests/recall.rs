//! Recall classes whose evidence is more than a fixture marker: where a finding's labels point, and
//! which of two rules owns a problem.
mod common;

use cargo_backpressure::diag::Finding;
use cargo_backpressure::run::Outcome;

fn findings(source: &str) -> Vec<Finding> {
    common::lint_source(source)
        .files
        .iter()
        .flat_map(|f| match &f.outcome {
            Outcome::Analysed { findings } => findings.clone(),
            _ => Vec::new(),
        })
        .collect()
}

/// The 1-based line of the first line of `source` containing `needle`.
fn line_of(source: &str, needle: &str) -> u32 {
    source
        .lines()
        .position(|l| l.contains(needle))
        .map(|i| i as u32 + 1)
        .unwrap_or_else(|| panic!("`{needle}` is not in the source"))
}

const MIDDLEWARE: &str = r#"
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::Service;

#[derive(Clone)]
pub struct Audit<S> {
    inner: S,
}

impl<S> Service<Req> for Audit<S>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let mut inner = self.inner.clone();
        Box::pin(async move { inner.call(req).await })
    }
}
"#;

#[test]
fn a_middleware_that_never_polls_its_inner_service_gets_one_finding_labelled_at_the_call() {
    let found = findings(MIDDLEWARE);
    let rules: Vec<&str> = found.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(
        rules,
        ["poll-ready-not-forwarded"],
        "one problem, one finding: {found:#?}"
    );
    let labels: Vec<u32> = found[0]
        .labels
        .iter()
        .map(|l| l.region.start.line)
        .collect();
    assert_eq!(
        labels,
        [line_of(MIDDLEWARE, "inner.call(req)")],
        "the label points at the call"
    );
}

#[test]
fn a_middleware_that_forwards_readiness_still_has_its_clone_call_reported() {
    let forwarding = MIDDLEWARE.replace("Poll::Ready(Ok(()))", "self.inner.poll_ready(_cx)");
    let rules: Vec<String> = findings(&forwarding).into_iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["call-without-poll-ready"]);
}

#[test]
fn a_decompression_bomb_is_told_apart_from_a_whole_body_read() {
    let source = r#"
use std::io::Read;
pub async fn ingest(body: axum::body::Bytes) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut out)?;
    Ok(out)
}
"#;
    let found = findings(source);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].rule, "whole-body-read");
    assert!(
        found[0]
            .message
            .contains("decompresses a network body with no limit on the output"),
        "{}",
        found[0].message
    );
}

/// Each new class fires in a file that has nothing else the prefilter looks for.
#[test]
fn new_classes_fire_in_files_with_no_other_anchor() {
    let cases = [
        (
            "connect-without-timeout",
            "pub fn dial(addr: std::net::SocketAddr) -> std::io::Result<socket2::Socket> {\n    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;\n    s.connect(&addr.into())?;\n    Ok(s)\n}\n",
        ),
        (
            "ignored-write-readiness",
            "use std::io::Write as _;\npub fn hello(addr: &str) -> std::io::Result<()> {\n    let mut s = std::net::TcpStream::connect(\"127.0.0.1:9\")?;\n    let _ = addr;\n    s.write(b\"hello\")?;\n    Ok(())\n}\n",
        ),
        (
            "whole-body-read",
            "use std::io::Read;\npub fn inflate(body: bytes::Bytes) -> std::io::Result<Vec<u8>> {\n    let mut out = Vec::new();\n    zstd::stream::read::Decoder::new(&body[..])?.read_to_end(&mut out)?;\n    Ok(out)\n}\n",
        ),
        (
            "call-without-poll-ready",
            "pub async fn go<S: tower::Service<u8>>(svc: std::sync::Arc<tokio::sync::Mutex<S>>) {\n    let _ = svc.lock().await.call(1).await;\n}\n",
        ),
    ];
    for (rule, source) in cases {
        let rules: Vec<String> = findings(source).into_iter().map(|f| f.rule).collect();
        assert!(
            rules.iter().any(|r| r == rule),
            "{rule} did not fire: {rules:?}\n{source}"
        );
    }
}
