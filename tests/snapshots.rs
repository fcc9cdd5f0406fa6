//! Snapshots of what people read: `--help` (interface changes show up in review) and the text
//! report of one fixture (message, labels and help wording).
mod common;

fn run(args: &[&str], dir: &std::path::Path) -> String {
    common::stdout(&common::run_in(dir, args))
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
