//! Function summaries across the crate: fixture crates under `fixtures/<rule>/<case>/` whose
//! findings depend on another file (a caller that bounds a connect, a helper that spawns or
//! returns a client builder). Each produces exactly its `//~` markers when its folder is linted,
//! each of its files named alone (what a pre-commit hook does) gives the same findings as the
//! whole run, and the prefilter changes nothing (a file that matters only through a summary has
//! no anchor word, and is parsed all the same).
mod common;

use std::path::Path;

use common::crates::{cases, lint, markers, of_file, rust_files};
use common::{labelled_findings, run_in, stdout, LabelAt};

/// The rules whose fixture folders hold crates that the summaries decide.
const RULES: &[&str] = &[
    "connect-without-timeout",
    "unbounded-concurrency",
    "client-without-timeout",
    "unbounded-channel",
];

#[test]
fn whole_run_single_file_runs_and_markers_agree() {
    let mut problems = Vec::new();
    for rule in RULES {
        for case in cases(rule) {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            let whole = lint(&case, &["."]);
            let unfiltered = lint(&case, &["--no-prefilter", "."]);
            if unfiltered != whole {
                problems.push(format!(
                    "{rule}/{name}: --no-prefilter found {unfiltered:?}, the default run {whole:?}"
                ));
            }
            for file in rust_files(&case) {
                let want = markers(&case, &file);
                let got = of_file(&whole, &file);
                if got != want {
                    problems.push(format!(
                        "{rule}/{name}/{file}: whole run found {got:?}, markers say {want:?}"
                    ));
                }
                let alone = lint(&case, &[file.as_str()]);
                if alone != got {
                    problems.push(format!(
                        "{rule}/{name}/{file}: named alone found {alone:?}, the whole run {got:?}"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// (finding path, line, its labels) of every finding in `dir`.
fn labelled(dir: &Path, args: &[&str]) -> Vec<(String, u64, Vec<LabelAt>)> {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    labelled_findings(&stdout(&run_in(dir, &all)))
}

#[test]
fn a_connect_with_one_unguarded_caller_names_that_caller_in_another_file() {
    let case = common::repo_root().join("fixtures/connect-without-timeout/one-caller-unguarded");
    for args in [&["."][..], &["src/net.rs"][..]] {
        let found = labelled(&case, args);
        assert_eq!(found.len(), 1, "{args:?}: {found:?}");
        let (path, line, labels) = &found[0];
        assert_eq!((path.as_str(), *line), ("src/net.rs", 4), "{found:?}");
        assert!(
            labels
                .iter()
                .any(|(p, l, m)| p == "src/probe.rs" && *l == 5 && m.contains("no timeout")),
            "{args:?}: the unguarded caller is not named: {labels:?}"
        );
    }
}

#[test]
fn a_call_to_a_spawning_helper_in_an_accept_loop_names_the_spawn() {
    let case = common::repo_root().join("fixtures/unbounded-concurrency/spawning-helper");
    for args in [&["."][..], &["src/server.rs"][..]] {
        let found = labelled(&case, args);
        let at_call = found
            .iter()
            .find(|(p, l, _)| p == "src/server.rs" && *l == 14)
            .unwrap_or_else(|| panic!("{args:?}: no finding at the call: {found:?}"));
        assert!(
            at_call
                .2
                .iter()
                .any(|(p, l, _)| p == "src/workers.rs" && *l == 5),
            "{args:?}: the spawn inside the helper is not named: {at_call:?}"
        );
    }
}

#[test]
fn a_client_built_from_a_helpers_builder_names_the_helper() {
    let case = common::repo_root().join("fixtures/client-without-timeout/builder-helper");
    for args in [&["."][..], &["src/api.rs"][..]] {
        let found = labelled(&case, args);
        let at_build = found
            .iter()
            .find(|(p, l, _)| p == "src/api.rs" && *l == 11)
            .unwrap_or_else(|| panic!("{args:?}: no finding at the build: {found:?}"));
        assert!(
            at_build
                .2
                .iter()
                .any(|(p, l, m)| p == "src/http.rs" && *l == 3 && m.contains("no timeout")),
            "{args:?}: the helper's builder is not named: {at_build:?}"
        );
    }
}

#[test]
fn a_sender_stored_in_another_files_struct_names_the_feeding_site() {
    let case = common::repo_root().join("fixtures/unbounded-channel/field-fed");
    for args in [&["."][..], &["src/main.rs"][..]] {
        let found = labelled(&case, args);
        assert_eq!(found.len(), 1, "{args:?}: {found:?}");
        assert!(
            found[0]
                .2
                .iter()
                .any(|(p, l, m)| p == "src/server.rs" && *l == 13 && m.contains("fed here")),
            "{args:?}: the feeding site in the other file is not named: {found:?}"
        );
    }
}

#[test]
fn sarif_puts_a_label_of_another_file_in_that_file() {
    let case = common::repo_root().join("fixtures/connect-without-timeout/one-caller-unguarded");
    let report: serde_json::Value =
        serde_json::from_str(&stdout(&run_in(&case, &["--format", "sarif", "."]))).expect("sarif");
    let related = &report["runs"][0]["results"][0]["relatedLocations"][0]["physicalLocation"];
    assert_eq!(
        related["artifactLocation"]["uri"], "src/probe.rs",
        "{related}"
    );
    assert_eq!(related["region"]["startLine"], 5, "{related}");
}

#[test]
fn text_output_names_a_label_of_another_file_in_a_note() {
    let case = common::repo_root().join("fixtures/connect-without-timeout/one-caller-unguarded");
    let text = stdout(&run_in(&case, &["--color", "never", "."]));
    assert!(
        text.contains("note: src/probe.rs:5:5: called here with no timeout around the call"),
        "{text}"
    );
}

#[test]
fn a_connect_to_a_constructor_field_is_judged_by_the_callers_in_another_member() {
    // `LinkClient`'s address is loopback at every call in the cli member (through `Facade::new`
    // and the cli's own `status(addr)`): quiet. `Relay` is also given a remote host, `Upstream`
    // an environment variable: each names the call that gives it.
    let case = common::repo_root().join("fixtures/connect-without-timeout/loopback-members");
    for args in [&["."][..], &["daemon/src/relay.rs"][..], &["daemon"][..]] {
        let found = labelled(&case, args);
        let at = |path: &str| found.iter().find(|(p, _, _)| p == path);
        assert!(at("daemon/src/link.rs").is_none(), "{args:?}: {found:?}");
        let relay = at("daemon/src/relay.rs").unwrap_or_else(|| panic!("{args:?}: {found:?}"));
        assert!(
            relay
                .2
                .iter()
                .any(|(p, l, m)| p == "cli/src/main.rs" && *l == 18 && m.contains("not visibly")),
            "{args:?}: the remote caller is not named: {relay:?}"
        );
    }
}

#[test]
fn a_line_reader_on_a_listener_bound_to_a_constructor_field_is_judged_by_the_callers() {
    // `RpcServer`'s listener address comes through `start_daemon` from the app's `main`, where
    // both branches of the `if` make a loopback address: quiet, from the workspace, the member
    // and the file alone. `ControlServer` is given an environment variable: it fires and names
    // the call that gives it.
    let case = common::repo_root().join("fixtures/unbounded-frame/loopback-listener-members");
    for args in [&["."][..], &["rpc"][..], &["rpc/src/server.rs"][..]] {
        let found = labelled(&case, args);
        let frames: Vec<_> = found
            .iter()
            .filter(|(p, _, _)| p.starts_with("rpc/src/"))
            .collect();
        assert!(
            frames.iter().all(|(p, _, _)| p != "rpc/src/server.rs"),
            "{args:?}: {found:?}"
        );
        if args[0] != "rpc/src/server.rs" {
            let control = frames
                .iter()
                .find(|(p, l, _)| p == "rpc/src/control.rs" && *l == 28)
                .unwrap_or_else(|| panic!("{args:?}: {found:?}"));
            assert!(
                control.2.iter().any(|(p, l, m)| p == "app/src/main.rs"
                    && *l == 14
                    && m.contains("not visibly")),
                "{args:?}: the remote caller is not named: {control:?}"
            );
        }
    }
}

#[test]
fn a_handler_in_a_subfolder_is_judged_by_the_router_of_a_file_outside_the_named_paths() {
    // The app that nests the subfolder's router under a timeout layer is in `src/`: a run of
    // `src/views` or of the handler's file alone reads it as a file of the crate.
    let case = common::repo_root().join("fixtures/client-without-timeout/handler-in-subfolder");
    for args in [&["."][..], &["src/views"][..], &["src/views/login.rs"][..]] {
        let found = labelled(&case, args);
        assert!(found.is_empty(), "{args:?}: {found:?}");
    }
}

#[test]
fn default_passed_for_a_field_declared_in_another_file_names_the_declaration() {
    let case = common::repo_root().join("fixtures/client-without-timeout/field-in-other-file");
    for args in [&["."][..], &["src/send.rs"][..]] {
        let found = labelled(&case, args);
        assert_eq!(found.len(), 1, "{args:?}: {found:?}");
        let (path, line, labels) = &found[0];
        assert_eq!((path.as_str(), *line), ("src/send.rs", 11), "{found:?}");
        assert!(
            labels
                .iter()
                .any(|(p, l, m)| p == "src/lib.rs" && *l == 6 && m.contains("declared here")),
            "{args:?}: the declaration is not named: {labels:?}"
        );
    }
}
