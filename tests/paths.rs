//! Where users work: the configuration comes from the linted path (not the current directory),
//! every reported path is relative to the workspace root (also from a member folder), and files
//! named on the command line are Rust files, always parsed.
mod common;

use common::{run_in, stderr, stdout};
use std::path::Path;

/// An unbounded channel on line 2 and a bare connect on line 3.
const MAIN_RS: &str = "async fn main() {\n    let (tx, rx) = flume::unbounded::<u32>();\n    let s = tokio::net::TcpStream::connect(\"db:5432\").await;\n}\n";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A package at `dir` with MAIN_RS, `manifest_extra` appended to its Cargo.toml, and `config` as
/// its backpressure.toml.
fn package(dir: &Path, manifest_extra: &str, config: Option<&str>) {
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{manifest_extra}"
        ),
    );
    write(&dir.join("src/main.rs"), MAIN_RS);
    if let Some(c) = config {
        write(&dir.join("backpressure.toml"), c);
    }
}

// Item 4: files named directly.

#[test]
fn a_named_file_that_is_not_rust_is_an_error_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    package(dir.path(), "", None);
    write(&dir.path().join("notes.txt"), "some notes\n");
    for name in ["Cargo.toml", "notes.txt"] {
        let out = run_in(dir.path(), &[name]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains(&format!("{name}: not a Rust file")), "{err}");
        assert!(!stdout(&out).contains("syntax error"), "{}", stdout(&out));
    }
}

#[test]
fn a_named_rust_file_is_always_parsed() {
    let dir = tempfile::tempdir().unwrap();
    package(dir.path(), "", None);
    // No rule's trigger word: the prefilter would skip it.
    write(&dir.path().join("src/broken.rs"), "fn broken( {\n");
    let out = run_in(dir.path(), &["--format", "short", "src/broken.rs"]);
    let text = stdout(&out);
    assert!(
        text.contains("src/broken.rs:1:1: note[not-analysed]: syntax error"),
        "{text}"
    );
    // Walked, it is still skipped unparsed (the prefilter's documented limit).
    let out = run_in(dir.path(), &["--format", "short", "src"]);
    assert!(!stdout(&out).contains("broken.rs"), "{}", stdout(&out));
}
