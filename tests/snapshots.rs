//! Snapshots of what people read: `--help` (interface changes show up in review) and the text
//! report of one fixture (message, labels and help wording).
use std::process::Command;

fn run(args: &[&str], dir: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-backpressure"))
        .current_dir(dir)
        .env("COLUMNS", "100")
        .args(args)
        .output()
        .expect("binary runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn help() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    insta::assert_snapshot!(run(&["--help"], dir));
}

#[test]
fn text_report_of_a_fixture() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/unbounded-concurrency");
    insta::assert_snapshot!(run(&["accept_loops.rs", "--color", "never"], &dir));
}
