//! Hostile input and output around the analysis, through the binary: special files, huge
//! suppression comments, control characters in files and file names, a reader that goes away, the
//! same file named twice.
mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{run_in, stderr, stdout};

const FINDING: &str = "fn f() { let (tx, rx) = flume::unbounded::<u32>(); }\n";

const BIN: &str = env!("CARGO_BIN_EXE_cargo-backpressure");

/// Runs the binary in `dir` under a 2 GiB data limit (so an unbounded read fails instead of
/// exhausting the machine) and kills it after `deadline` (so a hang fails the test instead of
/// stalling the suite).
#[cfg(unix)]
fn run_bounded(dir: &Path, args: &[&str], deadline: Duration) -> Output {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -d 2097152 && exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{}` still running after {deadline:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_named_on_the_command_line_are_refused_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("good.rs"), FINDING).unwrap();
    mkfifo(&p.join("fifo.rs"));
    // Its metadata says 0 bytes, and a read never ends.
    std::os::unix::fs::symlink("/dev/zero", p.join("zero.rs")).unwrap();
    let out = run_bounded(
        p,
        &["--format", "short", "fifo.rs", "zero.rs", "good.rs"],
        Duration::from_secs(60),
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        text.contains("good.rs:1:25: warning[unbounded-channel]"),
        "{text}"
    );
    assert!(
        text.contains("fifo.rs:1:1: note[not-analysed]: not a regular file (a FIFO)"),
        "{text}"
    );
    assert!(
        text.contains("zero.rs:1:1: note[not-analysed]: not a regular file (a character device)"),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn a_baseline_or_configuration_that_is_not_a_regular_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("good.rs"), FINDING).unwrap();
    mkfifo(&p.join("fifo"));
    std::os::unix::fs::symlink("/dev/zero", p.join("zero")).unwrap();
    for (flag, file, what) in [
        ("--baseline", "zero", "a character device"),
        ("--baseline", "fifo", "a FIFO"),
        ("--config", "zero", "a character device"),
        ("--config", "fifo", "a FIFO"),
    ] {
        let out = run_bounded(p, &[flag, file, "good.rs"], Duration::from_secs(60));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flag} {file}: {err}");
        assert!(
            err.contains(&format!("{file}: not a regular file ({what})")),
            "{flag} {file}: {err}"
        );
    }
    // A discovered backpressure.toml is read the same way: an error, not a hang or silence.
    mkfifo(&p.join("backpressure.toml"));
    let out = run_bounded(p, &["good.rs"], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("backpressure.toml: not a regular file (a FIFO)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_suppression_with_thousands_of_names_is_capped_and_reported_quickly() {
    let dir = tempfile::tempdir().unwrap();
    // 40 000 names, 80 KB on one line: the old code took minutes (3 in a debug build).
    let names = vec!["a"; 40_000].join(",");
    std::fs::write(
        dir.path().join("lib.rs"),
        format!("fn f() {{}} // backpressure:allow({names})\n"),
    )
    .unwrap();
    let start = Instant::now();
    let out = run_in(dir.path(), &["--format", "short", "lib.rs"]);
    let elapsed = start.elapsed();
    let text = stdout(&out);
    let invalid: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("warning[invalid-suppression]"))
        .collect();
    // The first 64 names (each not a rule), then one finding for the rest.
    assert_eq!(invalid.len(), 65, "{text}");
    assert!(
        invalid[64].contains("this suppression names more than 64 rules; the rest are ignored"),
        "{}",
        invalid[64]
    );
    assert!(invalid[64].starts_with("lib.rs:1:161:"), "{}", invalid[64]);
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
}

/// A file on line 1 with an unbounded channel, and on the same line a comment holding an OSC title
/// sequence, an SGR colour, a carriage return and a C1 CSI.
const ESCAPES: &str = "fn f() { let (tx, rx) = flume::unbounded::<u32>(); } // \u{1b}]0;pwned\u{7}\u{1b}[31mred\rover\u{9b}2J\n";

fn assert_no_controls(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| c.is_control() && c != '\n')
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: control characters {bad:?} in {text:?}"
    );
}

#[test]
fn control_characters_in_source_lines_are_shown_as_symbols() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lib.rs"), ESCAPES).unwrap();
    let out = run_in(dir.path(), &["--color", "never", "lib.rs"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_no_controls("text", &text);
    assert!(
        text.contains("// ␛]0;pwned␇␛[31mred␍over\u{fffd}2J"),
        "{text}"
    );
    // The caret still sits under the call (column 25), as the header says.
    assert!(text.contains("lib.rs:1:25"), "{text}");
    let source_line = text.lines().find(|l| l.contains("fn f()")).unwrap();
    let caret_line = text.lines().find(|l| l.contains('^')).unwrap();
    assert_eq!(
        source_line
            .find("flume")
            .map(|i| source_line[..i].chars().count()),
        caret_line
            .find('^')
            .map(|i| caret_line[..i].chars().count()),
        "{text}"
    );
}

#[test]
fn quoted_source_text_in_messages_is_made_printable() {
    let dir = tempfile::tempdir().unwrap();
    // The unknown id is quoted back in the invalid-suppression message.
    std::fs::write(
        dir.path().join("lib.rs"),
        "fn f() {} // backpressure:allow(x\u{1b}[2Jy\u{7})\n",
    )
    .unwrap();
    for format in ["text", "short"] {
        let out = run_in(
            dir.path(),
            &["--color", "never", "--format", format, "lib.rs"],
        );
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{format}: {text}");
        assert!(
            text.contains("`x␛[2Jy␇` in this suppression"),
            "{format}: {text}"
        );
        assert_no_controls(format, &text);
    }
}

#[cfg(unix)]
#[test]
fn a_file_name_with_a_newline_cannot_forge_a_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let name = "x.rs\nforged.rs:9:9: error[unbounded-queue]: forged\u{1b}[0m\t.rs";
    std::fs::write(dir.path().join(name), FINDING).unwrap();
    let out = run_in(dir.path(), &["--format", "short", "."]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("x.rs␊forged.rs:9:9: error[unbounded-queue]: forged␛[0m    .rs:1:25: warning[unbounded-channel]"),
        "{text}"
    );
    let out = run_in(dir.path(), &["--color", "never", "."]);
    let text = stdout(&out);
    assert_no_controls("text", &text);
    assert!(!text.lines().any(|l| l.starts_with("forged")), "{text}");
    // Workflow commands escape the newline (%0A) instead, so the runner sees one command.
    let out = run_in(dir.path(), &["--format", "github", "."]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("::warning file=x.rs%0Aforged.rs%3A9%3A9%3A error"),
        "{text}"
    );
}

/// A pipe whose reading end is already closed: the first write to it fails with EPIPE, as when
/// `head -1` has exited. Close-on-exec, so that no other test's child keeps the reading end open.
#[cfg(target_os = "linux")]
fn closed_pipe() -> Stdio {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and are owned by nothing else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

#[cfg(target_os = "linux")]
fn run_into_closed_pipe(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .expect("binary runs")
}

#[cfg(target_os = "linux")]
#[test]
fn a_reader_that_goes_away_leaves_the_exit_status_to_the_findings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("one.rs"), FINDING).unwrap();
    // About 400 KB of short output: more than a pipe holds.
    std::fs::write(dir.path().join("many.rs"), FINDING.repeat(2000)).unwrap();
    for (args, code) in [
        (&["--format", "short", "one.rs"][..], 1),
        (&["--format", "short", "many.rs"][..], 1),
        (&["--color", "never", "many.rs"][..], 1),
        (&["--format", "json", "many.rs"][..], 1),
        (&["--list-rules"][..], 0),
        (&["--explain", "unbounded-channel"][..], 0),
    ] {
        let out = run_into_closed_pipe(dir.path(), args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(
            !err.contains("error:") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn the_same_file_named_two_ways_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/a.rs"), FINDING).unwrap();
    // The paths given, and the name the finding is shown under: `..` is resolved by name, a
    // symlink named explicitly keeps its own name.
    let mut cases = vec![
        (vec!["src/a.rs", "./src/../src/a.rs"], "src/a.rs"),
        (vec!["./src/../src/a.rs", "src/a.rs"], "src/a.rs"),
        (vec!["src", "./src/../src/a.rs"], "src/a.rs"),
        (vec!["./src/../src", "src"], "src/a.rs"),
        (vec!["src", "./src/../src"], "src/a.rs"),
    ];
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("src/a.rs", dir.path().join("link.rs")).unwrap();
        cases.push((vec!["src", "link.rs"], "link.rs"));
        cases.push((vec!["link.rs", "src/a.rs"], "link.rs"));
    }
    for (paths, expected) in cases {
        let mut args = vec!["--format", "json"];
        args.extend(&paths);
        let out = run_in(dir.path(), &args);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{paths:?}: {e}: {}", stderr(&out)));
        assert_eq!(json["summary"]["files_scanned"], 1, "{paths:?}: {json}");
        let findings = json["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 1, "{paths:?}: {json}");
        assert_eq!(findings[0]["path"], expected, "{paths:?}");
    }
}
