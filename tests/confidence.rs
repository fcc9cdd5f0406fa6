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

// ---------------------------------------------------------------------------------------------
// Messages that are true for the API at hand: every API entry that a finding is reported for is
// rendered (a small program calling it), and its help may name only the methods of its own crate.

/// Names (functions and methods) each crate's helps may use, beside the few of [`ANY_CRATE`].
/// `await` counts as a name: a blocking API must never be told to await.
const CRATE_NAMES: &[(&str, &[&str])] = &[
    (
        "std",
        &[
            "sync_channel",
            "send",
            "try_send",
            "recv",
            "spawn",
            "join",
            "connect_timeout",
        ],
    ),
    (
        "tokio",
        &[
            "channel",
            "send",
            "try_send",
            "acquire_owned",
            "timeout",
            "spawn",
            "spawn_local",
            "spawn_blocking",
            "join_next",
            "await",
        ],
    ),
    (
        "futures",
        &[
            "channel",
            "send",
            "try_send",
            "next",
            "buffer_unordered",
            "await",
        ],
    ),
    ("crossbeam_channel", &["bounded", "send", "try_send"]),
    (
        "flume",
        &["bounded", "send", "send_async", "try_send", "await"],
    ),
    (
        "async_channel",
        &["bounded", "send", "try_send", "send_blocking", "await"],
    ),
    (
        "kanal",
        &["bounded", "bounded_async", "send", "try_send", "await"],
    ),
    ("crossbeam_queue", &["push", "pop"]),
    ("concurrent_queue", &["bounded", "push", "pop"]),
    (
        "async_std",
        &["spawn", "spawn_blocking", "spawn_local", "timeout", "await"],
    ),
    ("smol", &["spawn", "acquire_arc", "await"]),
    ("blocking", &["unblock", "await"]),
    (
        "reqwest",
        &[
            "timeout",
            "connect_timeout",
            "read_timeout",
            "build",
            "builder",
        ],
    ),
    (
        "tonic",
        &[
            "timeout",
            "connect_timeout",
            "connect",
            "connect_lazy",
            "from_shared",
            "await",
        ],
    ),
    (
        "ureq",
        &["timeout", "timeout_global", "build", "config_builder"],
    ),
    ("hyper", &["request", "await"]),
];

/// Names any help may use: std's own (`Duration::from_secs`) and the generic ones.
const ANY_CRATE: &[&str] = &["new", "clone", "len", "from_secs", "unwrap", "drop"];

/// Crates whose APIs run on another's runtime, whose names their helps may use too.
const RUNS_ON: &[(&str, &str)] = &[
    ("actix_rt", "tokio"),
    ("tokio_tungstenite", "tokio"),
    ("futures_channel", "futures"),
    ("hyper_util", "tokio"),
    ("hyper", "tokio"),
];

/// APIs that block a thread: their helps must not `await`.
fn blocks(path: &str) -> bool {
    ["std::", "crossbeam_channel::", "kanal::unbounded"]
        .iter()
        .any(|p| path.starts_with(p) && path != "kanal::unbounded_async")
}

/// The crates whose names `path`'s helps may use.
fn allowed_crates(path: &str) -> Vec<&str> {
    let krate = path.split("::").next().unwrap();
    let mut crates = vec![krate];
    crates.extend(
        RUNS_ON
            .iter()
            .filter(|(c, _)| *c == krate)
            .map(|(_, on)| *on),
    );
    crates
}

/// Every name a help calls inside its code spans: `a::b::c(..)` gives `(Some("a"), "c")`,
/// `.m(..)` and `.await` give `(None, "m")`.
fn named_calls(help: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    for (i, code) in help.split('`').enumerate() {
        if i % 2 == 0 {
            continue;
        }
        let bytes = code.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
            if !is_ident(bytes[start]) {
                start += 1;
                continue;
            }
            let mut end = start;
            while end < bytes.len() && is_ident(bytes[end]) {
                end += 1;
            }
            let word = &code[start..end];
            let after_dot = start > 0 && bytes[start - 1] == b'.';
            let called = bytes.get(end) == Some(&b'(');
            if after_dot || called {
                let segments: Vec<&str> = word.split("::").collect();
                let name = segments.last().unwrap().to_string();
                let first = segments.first().unwrap();
                let krate = (segments.len() > 1
                    && first.chars().all(|c| c.is_lowercase() || c == '_'))
                .then(|| first.to_string());
                out.push((krate, name));
            }
            start = end;
        }
    }
    out
}

/// The names in `help` that `path`'s crate does not have.
fn foreign_names(path: &str, help: &str) -> Vec<String> {
    let crates = allowed_crates(path);
    let known: Vec<&str> = CRATE_NAMES.iter().map(|(c, _)| *c).collect();
    let mut foreign = Vec::new();
    for (krate, name) in named_calls(help) {
        if let Some(k) = &krate {
            if k != "std" && known.contains(&k.as_str()) && !crates.contains(&k.as_str()) {
                foreign.push(format!("{k}::..::{name}"));
                continue;
            }
        }
        if name == "await" && blocks(path) {
            foreign.push(".await (a blocking API)".to_owned());
            continue;
        }
        // The API itself (the help wraps the call), and types or variants (`Some(..)`).
        if path.ends_with(&format!("::{name}")) || name.starts_with(char::is_uppercase) {
            continue;
        }
        let in_crate = CRATE_NAMES
            .iter()
            .filter(|(c, _)| crates.contains(c) || (*c == "std" && name != "await"))
            .any(|(_, names)| names.contains(&name.as_str()));
        if !in_crate && !ANY_CRATE.contains(&name.as_str()) {
            foreign.push(name);
        }
    }
    foreign
}

/// A small program that makes `rule` report on the list entry `path`, for the lists whose entries
/// are reported on directly.
fn program(rule: &str, list: &str, path: &str) -> Option<String> {
    Some(match (rule, list) {
        ("unbounded-channel", "unbounded") => format!("pub fn f() {{ let _c = {path}::<u8>(); }}"),
        ("unbounded-queue", "unbounded-constructors") => {
            format!("pub fn f() {{ let _q = {path}(); }}")
        }
        ("unbounded-concurrency", "spawners") => format!(
            "pub fn f(listener: std::net::TcpListener) {{ for s in listener.incoming() {{ {path}(move || drop(s)); }} }}"
        ),
        ("connect-without-timeout", "connects") => {
            format!("pub async fn f() {{ let _s = {path}(\"peer\").await; }}")
        }
        ("connect-without-timeout", "sync-connects") => {
            format!("pub fn f() {{ let _s = {path}(\"peer\"); }}")
        }
        ("client-without-timeout", "builders") if path.starts_with("tonic") => {
            format!("pub fn f() {{ let _c = {path}(\"http://peer\").connect_lazy(); }}")
        }
        ("client-without-timeout", "builders") => {
            format!("pub fn f() {{ let _c = {path}().build(); }}")
        }
        ("client-without-timeout", "no-timeout-constructors" | "default-agents") => {
            format!("pub fn f() {{ let _c = {path}(\"http://peer\"); }}")
        }
        ("client-without-timeout", "blocking-builders") => {
            format!("pub fn f() {{ let _c = {path}().timeout(None).build(); }}")
        }
        _ => return None,
    })
}

#[test]
fn every_entry_help_names_only_its_own_crate() {
    let catalogue = cargo_backpressure::catalogue::Catalogue::global();
    let mut rendered = 0;
    let mut wrong = Vec::new();
    for rule in &catalogue.rules {
        for (list, entries) in &rule.matches {
            for entry in entries {
                let path = entry.split("->").next().unwrap().trim();
                let Some(source) = program(&rule.id, list, path) else {
                    continue;
                };
                let report = common::lint_source(&source);
                let Some(f) = report.findings().find(|f| f.rule == rule.id) else {
                    wrong.push(format!("{}: `{path}` did not fire on {source}", rule.id));
                    continue;
                };
                rendered += 1;
                let foreign = foreign_names(path, &f.help);
                if !foreign.is_empty() {
                    wrong.push(format!(
                        "{}: the help for `{path}` names {foreign:?}: {}",
                        rule.id, f.help
                    ));
                }
                // A local socket has no SYN retries to wait for.
                if path.contains("Unix")
                    && ["127 s", "SYN", "drops packets"]
                        .iter()
                        .any(|w| f.message.contains(w) || f.help.contains(w))
                {
                    wrong.push(format!(
                        "{}: `{path}` is a local socket: {}",
                        rule.id, f.message
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(rendered >= 40, "only {rendered} entries rendered");
}

#[test]
fn the_name_check_catches_the_known_wrong_helps() {
    // The helps issue 13 names, as they read before entries had their own.
    let channel = "use `std::sync::mpsc::sync_channel(n)` with a capacity sized to the consumer, and `send(..).await` (wait) or `try_send` (drop and count) when it is full";
    assert_eq!(
        foreign_names("std::sync::mpsc::channel", channel),
        [".await (a blocking API)"]
    );
    let permit = "acquire a permit before spawning (`semaphore.clone().acquire_owned().await`) and move it into the task";
    assert!(foreign_names("std::thread::spawn", permit).contains(&"acquire_owned".to_owned()));
    let reqwest = "set `.timeout(Duration::from_secs(..))` on the client (for streaming responses, `.connect_timeout(..)` plus `.read_timeout(..)`), or `.timeout(..)` on each request";
    assert_eq!(
        foreign_names("tonic::transport::Endpoint::from_static", reqwest),
        ["read_timeout"]
    );
    let tokio_timeout = "wrap it: `tokio::time::timeout(Duration::from_secs(5), async_std::net::TcpStream::connect(..)).await`";
    assert_eq!(
        foreign_names("async_std::net::TcpStream::connect", tokio_timeout),
        ["tokio::..::timeout"]
    );
    let own = "wrap it: `tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(..)).await`";
    assert!(foreign_names("tokio::net::TcpStream::connect", own).is_empty());
}

#[test]
fn every_entry_text_belongs_to_an_entry_of_its_rule() {
    for rule in &cargo_backpressure::catalogue::Catalogue::global().rules {
        let paths: Vec<&str> = rule
            .matches
            .values()
            .flatten()
            .map(|e| e.split("->").next().unwrap().trim())
            .collect();
        for (path, text) in &rule.entries {
            assert!(
                paths.contains(&path.as_str()),
                "{}: `[entries.\"{path}\"]` is in no list",
                rule.id
            );
            assert!(
                text.help.is_some() || text.message.is_some(),
                "{}: `{path}` has no text",
                rule.id
            );
        }
    }
}
