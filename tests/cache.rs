//! The cache (issue 17 item 3): findings are identical with and without it, cold and warm, after
//! one file changes (also a change that moves another file's findings: a new `mod` declaration, a
//! listener that makes the package a server; an edited helper whose summary decides its unchanged
//! callers' findings; a method name another file comes to define), when the store is corrupt, of
//! another build, or written by concurrent runs; and a warm run reads no file again, in the first
//! pass or the later ones.
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cargo_backpressure::cache::{self, STORE_FILE as STORE};
use common::{repo_root, stderr, stdout};

fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-backpressure"));
    c.env("COLUMNS", "100");
    c
}

/// The JSON report (findings with their fixes, the not-analysed files) and the `--stats` line
/// that tells how many files came from the cache.
struct Run {
    json: String,
    cache_line: String,
    code: Option<i32>,
}

/// Runs over `tree` from its folder; `cache` is the cache folder, or None for `--no-cache`.
fn lint(tree: &Path, cache: Option<&Path>, extra: &[&str]) -> Run {
    lint_as("json", tree, cache, extra)
}

fn lint_as(format: &str, tree: &Path, cache: Option<&Path>, extra: &[&str]) -> Run {
    let mut c = bin();
    c.current_dir(tree)
        .args(["--format", format, "--stats", "--report-suppressed"]);
    match cache {
        Some(dir) => c.arg("--cache-dir").arg(dir),
        None => c.arg("--no-cache"),
    };
    let out = c.args(extra).arg(tree).output().expect("binary runs");
    let cache_line = stderr(&out)
        .lines()
        .find(|l| l.starts_with("cache: "))
        .unwrap_or("")
        .to_owned();
    assert!(
        !stderr(&out).contains("panicked"),
        "the run panicked:\n{}",
        stderr(&out)
    );
    Run {
        json: stdout(&out),
        cache_line,
        code: out.status.code(),
    }
}

/// (files from the cache, files analysed) of a cached run.
fn cache_counts(run: &Run) -> (usize, usize) {
    let words: Vec<&str> = run.cache_line.split_whitespace().collect();
    let number = |i: usize| words.get(i).and_then(|w| w.parse().ok());
    match (number(1), number(6)) {
        (Some(hits), Some(misses)) => (hits, misses),
        _ => panic!("no cache line in {:?}", run.cache_line),
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else if entry.file_type().is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Dates every file an hour back: stamps older than the run are trusted, so a warm run takes
/// unchanged files from the cache without reading them.
fn age(tree: &Path) {
    let past = SystemTime::now() - Duration::from_secs(3600);
    for entry in walkdir::WalkDir::new(tree) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let file = std::fs::File::options()
                .write(true)
                .open(entry.path())
                .unwrap();
            file.set_modified(past).unwrap();
        }
    }
}

/// The project's fixtures (every rule, fixes, suppressions, syntax errors, crate models), copied.
fn fixture_tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    copy_tree(&repo_root().join("fixtures"), &tree);
    // A file that does not parse: its not-analysed reason is cached too.
    write(
        &tree.join("cache_syntax_error.rs"),
        "fn broken( { tokio::sync::mpsc::unbounded_channel::<u8>();\n",
    );
    age(&tree);
    (dir, tree)
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn cold_and_warm_runs_report_what_an_uncached_run_reports() {
    let (dir, tree) = fixture_tree();
    let cache = dir.path().join("cache");
    let uncached = lint(&tree, None, &[]);
    assert!(
        uncached.json.contains("\"fix\""),
        "the fixtures offer fixes"
    );
    assert!(
        uncached.json.contains("\"kind\": \"syntax\""),
        "and a syntax error"
    );
    let cold = lint(&tree, Some(&cache), &[]);
    assert_eq!(cold.json, uncached.json, "cold run");
    assert_eq!(cold.code, uncached.code);
    assert!(cache.join(STORE).is_file());
    let (hits, analysed) = cache_counts(&cold);
    assert_eq!(hits, 0);
    assert!(analysed > 50, "{}", cold.cache_line);
    let warm = lint(&tree, Some(&cache), &[]);
    assert_eq!(warm.json, uncached.json, "warm run");
    assert_eq!(warm.code, uncached.code);
    assert_eq!(
        cache_counts(&warm),
        (analysed, 0),
        "every file from the cache"
    );
    // The SARIF report carries the suppressed findings too.
    let sarif = |cache: Option<&Path>| lint_as("sarif", &tree, cache, &[]).json;
    let warm_sarif = sarif(Some(&cache));
    assert!(warm_sarif.contains("\"suppressions\""));
    assert_eq!(warm_sarif, sarif(None));
}

#[test]
fn a_warm_run_does_not_read_a_file_whose_stamp_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let cache = dir.path().join("cache");
    let file = tree.join("lib.rs");
    let unbounded = "fn f() { let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<u8>(); }\n";
    write(&file, unbounded);
    age(&tree);
    lint(&tree, Some(&cache), &[]);
    // Same size, same modification time, other bytes: the quick check trusts the stamp (as
    // documented), which shows the file was not read.
    let bounded = "fn f() { let (tx, rx) = tokio::sync::mpsc::channel::<u8>(8);          }\n";
    assert_eq!(bounded.len(), unbounded.len());
    let stamp = std::fs::metadata(&file).unwrap().modified().unwrap();
    write(&file, bounded);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(stamp)
        .unwrap();
    let warm = lint(&tree, Some(&cache), &[]);
    assert!(warm.json.contains("unbounded-channel"), "{}", warm.json);
    assert!(!lint(&tree, None, &[]).json.contains("unbounded-channel"));
}

#[test]
fn a_file_modified_just_before_the_run_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let cache = dir.path().join("cache");
    let file = tree.join("lib.rs");
    write(
        &file,
        "fn f() { let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<u8>(); }\n",
    );
    // Not aged: its stamp is too recent to stand for its bytes (an edit within the file
    // system's timestamp granularity would keep it). Dated a minute ahead, so that it stays
    // recent for both runs however slowly a loaded machine runs them.
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    lint(&tree, Some(&cache), &[]);
    let warm = lint(&tree, Some(&cache), &[]);
    assert_eq!(cache_counts(&warm), (1, 0), "a hit by the bytes' digest");
    let stamp = std::fs::metadata(&file).unwrap().modified().unwrap();
    write(
        &file,
        "fn f() { let (tx, rx) = tokio::sync::mpsc::channel::<u8>(8);          }\n",
    );
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(stamp)
        .unwrap();
    let after = lint(&tree, Some(&cache), &[]);
    assert_eq!(after.json, lint(&tree, None, &[]).json);
    assert!(!after.json.contains("unbounded-channel"));
}

#[test]
fn touching_one_file_reanalyses_that_file_only() {
    let (dir, tree) = fixture_tree();
    let cache = dir.path().join("cache");
    let cold = lint(&tree, Some(&cache), &[]);
    let (_, analysed) = cache_counts(&cold);
    let touched = tree.join("cache_touched.rs");
    write(
        &touched,
        "fn f() { let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<u8>(); }\n",
    );
    let warm = lint(&tree, Some(&cache), &[]);
    assert_eq!(warm.json, lint(&tree, None, &[]).json);
    assert_eq!(cache_counts(&warm), (analysed, 1));
    assert!(
        warm.json.contains("cache_touched.rs"),
        "the new file's finding"
    );
    // Edited again, then emptied: each time only that file is analysed.
    write(&touched, "fn f() {}\n");
    let warm = lint(&tree, Some(&cache), &[]);
    assert_eq!(warm.json, lint(&tree, None, &[]).json);
    assert!(!warm.json.contains("cache_touched.rs"));
    assert_eq!(cache_counts(&warm).1, 1);
}

/// A binary crate whose `src/net.rs` builds a client without a timeout; `main.rs` decides
/// whether net.rs is in the build (`mod net;`) and whether the package serves peers.
fn client_crate(main: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("app");
    write(
        &tree.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nreqwest = \"0.12\"\ntokio = \"1\"\n",
    );
    write(&tree.join("src/main.rs"), main);
    write(
        &tree.join("src/net.rs"),
        "pub async fn fetch() {\n    let client = reqwest::Client::new();\n    let _ = client.get(\"http://example.com\").send().await;\n}\n",
    );
    age(&tree);
    let cache = dir.path().join("cache");
    (dir, tree, cache)
}

#[test]
fn a_new_mod_declaration_brings_an_unchanged_file_into_the_build() {
    let (_dir, tree, cache) = client_crate("fn main() {}\n");
    let before = lint(&tree, Some(&cache), &[]);
    assert!(!before.json.contains("client-without-timeout"));
    write(
        &tree.join("src/main.rs"),
        "mod net;\nfn main() {\n    let _l = std::net::TcpListener::bind(\"0.0.0.0:1\");\n}\n",
    );
    let after = lint(&tree, Some(&cache), &[]);
    assert_eq!(after.json, lint(&tree, None, &[]).json);
    assert!(
        after.json.contains("client-without-timeout"),
        "{}",
        after.json
    );
}

#[test]
fn a_listener_in_another_file_changes_an_unchanged_files_findings() {
    // A tool (no listener): the client's finding is left out.
    let (_dir, tree, cache) = client_crate("mod net;\nfn main() {}\n");
    let before = lint(&tree, Some(&cache), &[]);
    assert_eq!(before.json, lint(&tree, None, &[]).json);
    assert!(!before.json.contains("client-without-timeout"));
    write(
        &tree.join("src/main.rs"),
        "mod net;\nfn main() {\n    let _l = std::net::TcpListener::bind(\"0.0.0.0:1\");\n}\n",
    );
    let after = lint(&tree, Some(&cache), &[]);
    assert_eq!(after.json, lint(&tree, None, &[]).json);
    assert!(
        after.json.contains("client-without-timeout"),
        "{}",
        after.json
    );
    let (hits, analysed) = cache_counts(&after);
    assert_eq!(
        (hits, analysed),
        (1, 1),
        "net.rs from the cache, main.rs analysed"
    );
}

#[test]
fn a_configuration_change_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let cache = dir.path().join("cache");
    write(
        &tree.join("lib.rs"),
        "fn f() { let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<u8>(); }\n",
    );
    age(&tree);
    let warned = lint(&tree, Some(&cache), &[]);
    assert!(warned.json.contains("\"warn\""), "{}", warned.json);
    write(
        &tree.join("backpressure.toml"),
        "[rules]\nunbounded-channel = \"deny\"\n",
    );
    let denied = lint(&tree, Some(&cache), &[]);
    assert_eq!(denied.json, lint(&tree, None, &[]).json);
    assert!(denied.json.contains("\"deny\""), "{}", denied.json);
    // A level flag too.
    let allowed = lint(&tree, Some(&cache), &["-A", "unbounded-channel"]);
    assert!(
        !allowed.json.contains("unbounded-channel\""),
        "{}",
        allowed.json
    );
    assert_eq!(
        allowed.json,
        lint(&tree, None, &["-A", "unbounded-channel"]).json
    );
}

#[test]
fn a_corrupt_store_is_ignored_and_rewritten() {
    let (dir, tree) = fixture_tree();
    let cache = dir.path().join("cache");
    let uncached = lint(&tree, None, &[]);
    lint(&tree, Some(&cache), &[]);
    let store = cache.join(STORE);
    let good = std::fs::read(&store).unwrap();
    let damaged: Vec<Vec<u8>> = vec![
        good[..good.len() / 2].to_vec(),
        b"\0\xff not a store".to_vec(),
        Vec::new(),
    ];
    for bytes in damaged {
        std::fs::write(&store, &bytes).unwrap();
        let run = lint(&tree, Some(&cache), &[]);
        assert_eq!(run.json, uncached.json);
        assert_eq!(cache_counts(&run).0, 0, "nothing trusted");
        // Rewritten whole: the next run is warm.
        assert_eq!(cache_counts(&lint(&tree, Some(&cache), &[])).1, 0);
    }
}

#[test]
fn a_bad_entry_is_a_miss_and_another_builds_store_is_ignored() {
    let (dir, tree) = fixture_tree();
    let cache = dir.path().join("cache");
    let uncached = lint(&tree, None, &[]);
    lint(&tree, Some(&cache), &[]);
    let store = cache.join(STORE);
    // Every entry's value replaced by bytes that decode as none of them, every digest kept.
    assert!(cache::testing::rewrite(
        &store,
        Some((&[0xff, 0xff, 0xff], &cache::Kind::ALL)),
        None
    ));
    let run = lint(&tree, Some(&cache), &[]);
    assert_eq!(run.json, uncached.json);
    assert_eq!(cache_counts(&run).0, 0);
    // Written by another build (another version or binary): not trusted.
    assert!(cache::testing::rewrite(&store, None, Some("0.0.0+other")));
    let run = lint(&tree, Some(&cache), &[]);
    assert_eq!(run.json, uncached.json);
    assert_eq!(cache_counts(&run).0, 0);
}

#[test]
fn a_warm_run_takes_each_units_outcome_whole() {
    let (dir, tree) = fixture_tree();
    let cache = dir.path().join("cache");
    let uncached = lint(&tree, None, &[]);
    let cold = lint(&tree, Some(&cache), &[]);
    let linted = cache_counts(&cold).1;
    // Every file's own entries made unreadable: only the units' entries can stand for them.
    let store = cache.join(STORE);
    let files = [cache::Kind::Result, cache::Kind::Later];
    assert!(cache::testing::rewrite(
        &store,
        Some((&[0xff], &files)),
        None
    ));
    let warm = lint(&tree, Some(&cache), &[]);
    assert_eq!(warm.json, uncached.json);
    assert_eq!(cache_counts(&warm), (linted, 0), "{}", warm.cache_line);
    // And with the units' entries unreadable too, each file is analysed again.
    assert!(cache::testing::rewrite(
        &store,
        Some((&[0xff], &[cache::Kind::Unit])),
        None
    ));
    let again = lint(&tree, Some(&cache), &[]);
    assert_eq!(again.json, uncached.json);
    assert_eq!(cache_counts(&again), (0, linted), "{}", again.cache_line);
}

#[test]
fn concurrent_runs_share_a_store_safely() {
    let (dir, tree) = fixture_tree();
    let cache = dir.path().join("cache");
    let uncached = lint(&tree, None, &[]);
    for round in 0..2 {
        let children: Vec<std::process::Child> = (0..4)
            .map(|_| {
                bin()
                    .current_dir(&tree)
                    .args(["--format", "json", "--report-suppressed", "--cache-dir"])
                    .arg(&cache)
                    .arg(&tree)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("binary runs")
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert_eq!(stdout(&out), uncached.json, "round {round}");
            assert!(!stderr(&out).contains("panicked"));
        }
        let store = std::fs::read(cache.join(STORE)).unwrap();
        assert!(cache::testing::is_store(&store));
    }
    let warm = lint(&tree, Some(&cache), &[]);
    assert_eq!(warm.json, uncached.json);
    assert_eq!(cache_counts(&warm).1, 0);
    // No temporary file is left behind.
    let mut left: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".gitignore", "CACHEDIR.TAG", STORE]);
}

#[test]
fn the_default_cache_is_in_the_workspace_target_folder_and_no_cache_writes_nothing() {
    let (_dir, tree, _) = client_crate("mod net;\nfn main() {}\n");
    let run = |args: &[&str]| {
        bin()
            .current_dir(tree.join("src"))
            .args(args)
            .output()
            .expect("binary runs")
    };
    run(&["--no-cache"]);
    assert!(!tree.join("target").exists());
    run(&[]);
    assert!(tree.join("target/backpressure").join(STORE).is_file());
    // Marked: git ignores it wherever it is, backup tools skip it.
    let ignore = std::fs::read_to_string(tree.join("target/backpressure/.gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "*"));
    assert!(tree.join("target/backpressure/CACHEDIR.TAG").is_file());
    // A folder that is no Cargo project gets no `target/` (only `--cache-dir` caches there).
    let loose = tempfile::tempdir().unwrap();
    write(&loose.path().join("lib.rs"), "fn f() {}\n");
    let out = bin()
        .current_dir(loose.path())
        .arg("lib.rs")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!loose.path().join("target").exists());
}

#[test]
fn a_temporary_file_a_killed_run_left_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let cache = dir.path().join("cache");
    write(&tree.join("lib.rs"), "fn f() {}\n");
    std::fs::create_dir_all(&cache).unwrap();
    let abandoned = cache.join(".cache-killed.tmp");
    let recent = cache.join(".cache-running.tmp");
    write(&abandoned, "{\"half\":");
    write(&recent, "{\"half\":");
    std::fs::File::options()
        .write(true)
        .open(&abandoned)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(2 * 3600))
        .unwrap();
    lint(&tree, Some(&cache), &[]);
    assert!(!abandoned.exists());
    assert!(recent.exists(), "another run may still be writing it");
}

/// A finding's path, line, and its labels as (path, line).
type Placed = (String, u64, Vec<(String, u64)>);

/// Every finding of a JSON report, placed (its labels without their messages).
fn findings_with_labels(json: &str) -> Vec<Placed> {
    common::labelled_findings(json)
        .into_iter()
        .map(|(path, line, labels)| {
            let labels = labels.into_iter().map(|(p, l, _)| (p, l)).collect();
            (path, line, labels)
        })
        .collect()
}

/// The join decides from the summaries in the cache: a file served from it keeps its candidate
/// findings (`gateway.rs`, parsed in the first pass; `listener.rs`, which the prefilter skips
/// and the run lints again for the helper's name), and another file's summary, fresh after an
/// edit or cached, still decides them.
#[test]
fn a_finding_that_another_files_summary_decides_follows_that_file_across_cached_runs() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let cache = dir.path().join("cache");
    copy_tree(
        &repo_root().join("fixtures/unbounded-concurrency/edited-helper"),
        &tree,
    );
    age(&tree);
    let workers = tree.join("src/workers.rs");
    let spawning = std::fs::read_to_string(&workers).unwrap();
    let check = |what: &str, hits_misses: (usize, usize)| {
        let uncached = lint(&tree, None, &[]);
        let cached = lint(&tree, Some(&cache), &[]);
        assert_eq!(
            cached.json, uncached.json,
            "{what}: cached and uncached differ"
        );
        assert_eq!(cache_counts(&cached), hits_misses, "{what}");
        findings_with_labels(&cached.json)
    };
    // (file, line, the line of its label in workers.rs) of each finding.
    let brief = |findings: Vec<Placed>| -> Vec<(String, u64, u64)> {
        findings
            .into_iter()
            .map(|(path, line, labels)| {
                let at = labels
                    .iter()
                    .find(|(p, _)| p == "src/workers.rs")
                    .map_or(0, |(_, l)| *l);
                (path, line, at)
            })
            .collect()
    };
    let both = |gateway: u64, listener: u64, spawn: u64| {
        vec![
            ("src/gateway.rs".to_owned(), gateway, spawn),
            ("src/listener.rs".to_owned(), listener, spawn),
        ]
    };
    assert_eq!(brief(check("cold", (0, 4))), both(8, 7, 5));
    assert_eq!(brief(check("warm", (4, 0))), both(8, 7, 5));

    // The helper no longer spawns: the unchanged callers' findings go.
    write(
        &workers,
        "use tokio::net::TcpStream;\n\npub fn handle(stream: TcpStream) {\n    let _ = stream.peer_addr();\n}\n",
    );
    age(&tree);
    assert_eq!(check("helper edited", (3, 1)), []);
    assert_eq!(check("helper edited, warm", (4, 0)), []);

    // It spawns again, two lines lower: the findings are back, labelled at the new line.
    write(&workers, &format!("// one\n// two\n{spawning}"));
    age(&tree);
    assert_eq!(brief(check("helper spawns again", (3, 1))), both(8, 7, 7));

    // A caller moves; the helper's summary comes from the cache.
    let gateway = tree.join("src/gateway.rs");
    let caller = std::fs::read_to_string(&gateway).unwrap();
    write(&gateway, &format!("\n\n\n{caller}"));
    age(&tree);
    assert_eq!(brief(check("caller moved", (3, 1))), both(11, 7, 7));
}

/// A file's summary records only the method calls some file of its package can answer, so a
/// name another file comes to define changes an unchanged file's summary: its entry is a miss.
#[test]
fn a_method_another_file_comes_to_define_reanalyses_its_callers() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let cache = dir.path().join("cache");
    write(
        &tree.join("Cargo.toml"),
        "[package]\nname = \"pooled\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ntokio = { version = \"1\", features = [\"full\"] }\n",
    );
    write(&tree.join("src/lib.rs"), "pub mod net;\nmod upstream;\n");
    // The only caller bounds `open` with a timeout; no file defines `open` at first.
    write(
        &tree.join("src/upstream.rs"),
        "use std::time::Duration;\n\nuse crate::net::Pool;\n\npub struct Upstream {\n    pool: Pool,\n}\n\nimpl Upstream {\n    pub async fn refresh(&self) {\n        let _ = tokio::time::timeout(Duration::from_secs(2), self.pool.open()).await;\n    }\n}\n\n// A bounded connect: the file is parsed in the first pass, its summary cached.\npub async fn probe(addr: &str) {\n    let _ = tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await;\n}\n",
    );
    let net = tree.join("src/net.rs");
    let pool = |method: &str| {
        format!("use tokio::net::TcpStream;\n\npub struct Pool {{\n    pub addr: String,\n}}\n\nimpl Pool {{\n    pub async fn {method}(&self) -> std::io::Result<TcpStream> {{\n        TcpStream::connect(&self.addr).await\n    }}\n}}\n")
    };
    write(&net, &pool("dial"));
    age(&tree);
    let findings = |what: &str| {
        let uncached = lint(&tree, None, &[]);
        let cached = lint(&tree, Some(&cache), &[]);
        assert_eq!(
            cached.json, uncached.json,
            "{what}: cached and uncached differ"
        );
        findings_with_labels(&cached.json)
    };
    // `dial` has no caller in view: its connect stands.
    let unbounded = findings("no caller");
    assert_eq!(unbounded.len(), 1, "{unbounded:?}");
    assert_eq!((unbounded[0].0.as_str(), unbounded[0].1), ("src/net.rs", 9));
    // Renamed to what the caller calls: the caller's summary now holds the bounded call.
    write(&net, &pool("open"));
    age(&tree);
    assert_eq!(findings("the caller's method defined"), []);
}

/// A warm run neither reads nor parses again the files the prefilter skipped and the join wanted:
/// whether each mentions the words, and its parse, are in the cache. Shown as
/// `a_warm_run_does_not_read_a_file_whose_stamp_is_unchanged` shows it: other bytes under the
/// same stamp go unseen.
#[test]
fn a_warm_run_does_not_read_again_a_file_the_prefilter_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let cache = dir.path().join("cache");
    copy_tree(
        &repo_root().join("fixtures/unbounded-concurrency/edited-helper"),
        &tree,
    );
    age(&tree);
    let cold = lint(&tree, Some(&cache), &[]);
    let listed = |run: &Run| -> Vec<String> {
        findings_with_labels(&run.json)
            .into_iter()
            .map(|(path, line, _)| format!("{path}:{line}"))
            .collect()
    };
    assert_eq!(listed(&cold), ["src/gateway.rs:8", "src/listener.rs:7"]);
    let listener = tree.join("src/listener.rs");
    let text = std::fs::read_to_string(&listener).unwrap();
    let call = "crate::workers::handle(stream);";
    let quiet = format!("{:<1$}", "drop(stream);", call.len());
    let stamp = std::fs::metadata(&listener).unwrap().modified().unwrap();
    write(&listener, &text.replace(call, &quiet));
    std::fs::File::options()
        .write(true)
        .open(&listener)
        .unwrap()
        .set_modified(stamp)
        .unwrap();
    assert_eq!(listed(&lint(&tree, None, &[])), ["src/gateway.rs:8"]);
    assert_eq!(listed(&lint(&tree, Some(&cache), &[])), listed(&cold));
}
