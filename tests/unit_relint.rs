//! The re-lint of prefiltered files (a file with no anchor word that calls a function whose
//! summary says it spawns) reads only the files of the unit that holds the summary: another
//! package's function of the same name cannot decide anything there.
mod common;

use std::path::Path;

use cargo_backpressure::diag::NotAnalysed;

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

const MANIFEST: &str = "[package]\nname = \"NAME\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ntokio = \"1\"\n";

/// No anchor word, a call to `spawn_worker` in an accept loop, and a syntax error: parsed, it
/// is reported as not analysed; skipped, it is not.
const CALLER: &str = "pub fn relay(listener: Listener) {\n    loop {\n        let conn = listener.accept();\n        spawn_worker(conn);\n    }\n";

#[test]
fn a_prefiltered_caller_is_read_again_only_in_the_unit_of_the_spawning_function() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, "a/Cargo.toml", &MANIFEST.replace("NAME", "a"));
    write(root, "a/src/lib.rs", "pub mod workers;\npub mod caller;\n");
    write(
        root,
        "a/src/workers.rs",
        "use tokio::net::TcpStream;\n\npub fn spawn_worker(stream: TcpStream) {\n    tokio::spawn(async move {\n        let _ = stream.peer_addr();\n    });\n}\n",
    );
    write(root, "a/src/caller.rs", CALLER);
    write(root, "b/Cargo.toml", &MANIFEST.replace("NAME", "b"));
    write(root, "b/src/lib.rs", "pub mod caller;\n");
    write(root, "b/src/caller.rs", CALLER);
    let report = common::lint(root, false);
    let unparsable: Vec<String> = report
        .not_analysed()
        .filter(|(_, reason)| matches!(reason, NotAnalysed::Syntax { .. }))
        .map(|(file, _)| file.display.clone())
        .collect();
    // `a`'s caller may call `a`'s spawning function: read again (and found not to parse).
    // `b`'s names a function of the same name, but `b` has no summary that spawns.
    assert_eq!(unparsable, ["a/src/caller.rs"]);
}

/// Where each finding of the report is: (file, line, rule).
fn placed(report: &cargo_backpressure::run::Report) -> Vec<(String, u32, String)> {
    let mut out: Vec<(String, u32, String)> = report
        .findings()
        .map(|f| (f.path.clone(), f.region.start.line, f.rule.clone()))
        .collect();
    out.sort();
    out
}

#[test]
fn a_chain_of_prefiltered_helpers_hides_no_finding_of_its_accept_loop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, "Cargo.toml", &MANIFEST.replace("NAME", "chain"));
    write(
        root,
        "src/lib.rs",
        "pub mod workers;\npub mod middle;\npub mod outer;\npub mod caller;\n",
    );
    // Only this file names a rule's anchor word: the other three are skipped by the prefilter.
    write(
        root,
        "src/workers.rs",
        "use tokio::net::TcpStream;\n\npub fn spawn_worker(stream: TcpStream) {\n    tokio::spawn(async move {\n        let _ = stream.peer_addr();\n    });\n}\n",
    );
    // Two helpers, each a link of the chain, in files that name no connection source.
    write(
        root,
        "src/middle.rs",
        "use crate::workers::spawn_worker;\n\npub fn relay_one(conn: Conn) {\n    log(&conn);\n    spawn_worker(conn.into_inner());\n}\n",
    );
    write(
        root,
        "src/outer.rs",
        "use crate::middle::relay_one;\n\npub fn hand_over(conn: Conn) {\n    relay_one(conn);\n}\n",
    );
    write(
        root,
        "src/caller.rs",
        "use crate::outer::hand_over;\n\npub async fn relay(listener: Listener) {\n    loop {\n        let (conn, _) = listener.accept().await.unwrap();\n        hand_over(conn);\n    }\n}\n",
    );
    let every_file_parsed = placed(&common::lint_with(root, false, false));
    assert_eq!(
        every_file_parsed,
        [(
            "src/caller.rs".to_owned(),
            6,
            "unbounded-concurrency".to_owned()
        )]
    );
    assert_eq!(placed(&common::lint(root, false)), every_file_parsed);
}
