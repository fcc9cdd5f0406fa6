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
