//! The whole run on a small workspace made from the input: discovery (with a `.gitignore`), file
//! reading, the root manifest and a member's, the configuration, a baseline read and one written,
//! the sources, and an output format, through `cli::main` as the binary runs it. The input is split
//! at NUL bytes into the files of `FILES`, in order (missing ones are not written); its length picks
//! the format, so every format is reached and an input always replays the same way. Any panic, an
//! exit status above 2, or a JSON or SARIF report or a written baseline that does not parse is a
//! bug. One run per input: building the engine (the prefilter's automaton) is most of a run's time
//! under the sanitizer, and the engine depends on the configuration.
#![no_main]

mod runs;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::{fuzz_mutator, fuzz_target};

const FILES: &[&str] = &[
    "Cargo.toml",
    "backpressure.toml",
    "src/lib.rs",
    "src/net/mod.rs",
    "crates/member/Cargo.toml",
    "crates/member/src/lib.rs",
    "tests/it.rs",
    ".gitignore",
    "baseline.json",
    "src/extra.rs",
];

const FORMATS: &[&str] = &["text", "short", "json", "sarif", "github"];

/// The workspace folder, made once per process, and the run's working directory (configuration is
/// discovered from it). Corpus and artifact paths given to libFuzzer must be absolute.
fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("bp-fuzz-run-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("temp folder");
        std::env::set_current_dir(&root).expect("enter the temp folder");
        root
    })
}

fn write_tree(root: &Path, data: &[u8]) {
    for entry in std::fs::read_dir(root).expect("temp folder").flatten() {
        let path = entry.path();
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
    for (name, content) in FILES.iter().zip(data.split(|&b| b == 0)) {
        let path = root.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("folder");
        }
        std::fs::write(&path, content).expect("write");
    }
}

fn parses_as_json(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("not written: {e}"))?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .map(drop)
        .map_err(|e| format!("invalid JSON: {e}"))
}

fuzz_target!(|data: &[u8]| {
    let root = root();
    write_tree(root, data);
    let format = FORMATS[data.len() % FORMATS.len()];
    let mut args = vec![
        "cargo-backpressure",
        "--format",
        format,
        "--output",
        "report.out",
        "--threads",
        "1",
        "--write-baseline",
        "written.json",
    ];
    if root.join("baseline.json").exists() {
        args.extend(["--baseline", "baseline.json"]);
    }
    let code = cargo_backpressure::cli::main(args.iter().map(Into::into));
    assert!(code <= 2, "exit status {code} for --format {format}");
    if code < 2 {
        if matches!(format, "json" | "sarif") {
            if let Err(e) = parses_as_json(&root.join("report.out")) {
                panic!("--format {format}: {e}");
            }
        }
        if let Err(e) = parses_as_json(&root.join("written.json")) {
            panic!("--write-baseline: {e}");
        }
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    runs::mutate(data, size, max_size, seed)
});
