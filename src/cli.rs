//! Command line: argument parsing (also as `cargo backpressure`), level overrides in the order
//! given, and the exit status, computed once from the same report the emitters print.
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};

use crate::baseline::Baseline;
use crate::catalogue::Catalogue;
use crate::config;
use crate::diag::{Confidence, Level};
pub use crate::docs::explain;
use crate::emit::{self, printable, EmitContext, Format};
use crate::fix;
use crate::groups::{self, Selection};
use crate::listing;
use crate::manifest;
use crate::project;
// The engine is built where the run and the editor server share it; tests name it here.
use crate::run::{self, RunOptions};
pub use crate::run::{build_engine, build_engine_with};
use crate::suppress;
use crate::walk;

/// The argument that starts the language server on standard input and output.
pub const LSP_COMMAND: &str = "lsp";

/// Exit status: no finding at a failing level.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status: findings at or above the failing level.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: usage, configuration or I/O error.
pub const EXIT_ERROR: u8 = 2;

const EXAMPLES: &str = "\
Examples:
  cargo backpressure                      lint the current workspace
  cargo backpressure crates/server        lint one folder
  cargo backpressure --format sarif -o backpressure.sarif
  cargo backpressure -D unbounded-channel -A unbounded-queue
  cargo backpressure -D timeouts -D warnings
  cargo backpressure --explain unbounded-channel
  cargo backpressure --list-rules
  cargo backpressure lsp                  serve editors over the Language Server Protocol (stdio)";

#[derive(Debug, Parser)]
#[command(
    name = "cargo-backpressure",
    bin_name = "cargo backpressure",
    version,
    about = "Finds backpressure bugs in Rust: unbounded queues, whole-payload reads, ignored readiness and missing timeouts",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// Files or folders to lint [default: the current Cargo workspace]
    pub paths: Vec<PathBuf>,

    /// Output format
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write the report to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Set RULE (a rule, a family such as `timeouts`, or `all`) to allow: report nothing for it
    #[arg(short = 'A', long = "allow", value_name = "RULE", action = ArgAction::Append)]
    pub allow: Vec<String>,

    /// Set RULE (a rule, a family, or `all`) to warn
    #[arg(short = 'W', long = "warn", value_name = "RULE", action = ArgAction::Append)]
    pub warn: Vec<String>,

    /// Set RULE (a rule, a family, or `all`) to deny: report it as an error; `-D warnings` denies
    /// every finding that would warn
    #[arg(short = 'D', long = "deny", value_name = "RULE", action = ArgAction::Append)]
    pub deny: Vec<String>,

    /// Report only findings at least this confident: `high` (every step of the evidence is
    /// visible) or `medium` (it stops at something opaque, such as a generic type) [default: medium]
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_confidence: Option<ConfidenceArg>,

    /// Lowest level that makes the exit status 1
    #[arg(long, value_enum, default_value_t = FailLevel::Warn)]
    pub fail_on: FailLevel,

    /// Also lint test code (#[cfg(test)], #[test], tests/, benches/, examples/)
    #[arg(long)]
    pub include_tests: bool,

    /// Also lint files whose header says @generated
    #[arg(long)]
    pub include_generated: bool,

    /// Skip files larger than this many bytes, reported as not analysed [default: 10485760]
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,

    /// Read the configuration from FILE instead of backpressure.toml / Cargo.toml metadata
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Record the current findings in FILE (line-independent fingerprints)
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Report only findings that are not in the baseline FILE
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Also put suppressed findings (by a comment or the baseline) in the SARIF report, marked
    /// with SARIF `suppressions`, for audit tools (GitHub code scanning would open alerts for them)
    #[arg(long)]
    pub report_suppressed: bool,

    /// Print the number of findings of each rule (count, rule, summary) instead of the findings
    #[arg(long)]
    pub statistics: bool,

    /// Report `backpressure:allow(..)` comments that silenced nothing
    #[arg(long)]
    pub report_unused_suppressions: bool,

    /// Worker threads [default: the number of CPUs]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Colour in text output
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print the per-file statistics (read, analysed, skipped and why) to standard error
    #[arg(long)]
    pub stats: bool,

    /// List every rule with its default level and summary, and the groups, then exit (with
    /// `--format json`, as JSON)
    #[arg(long)]
    pub list_rules: bool,

    /// Print the full documentation of RULE (or the rules of a family), then exit
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,

    /// Apply the safe fixes (each only sets a limit the code lacked) to the files, then report
    /// what is left
    #[arg(long)]
    pub fix: bool,

    /// Apply the unsafe fixes too (they change a type, an error or what happens at run time:
    /// review them); implies `--fix`
    #[arg(long)]
    pub unsafe_fixes: bool,

    /// Print a unified diff of what `--fix` (or `--unsafe-fixes`) would change, write nothing;
    /// the exit status is 1 when there is a diff
    #[arg(long)]
    pub diff: bool,

    /// Keep the per-file results in DIR between runs [default: target/backpressure under the
    /// workspace root]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Neither read nor write the cache: analyse every file
    #[arg(long)]
    pub no_cache: bool,

    /// Parse every file, even those that contain no rule's trigger word (for verifying the prefilter)
    #[arg(long, hide = true)]
    pub no_prefilter: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailLevel {
    /// Any finding fails
    Warn,
    /// Only deny-level findings fail
    Deny,
    /// Never fail on findings
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConfidenceArg {
    /// Only findings whose evidence is all visible
    High,
    /// Also findings whose evidence stops at something opaque
    Medium,
}

impl From<ConfidenceArg> for Confidence {
    fn from(arg: ConfidenceArg) -> Confidence {
        match arg {
            ConfidenceArg::High => Confidence::High,
            ConfidenceArg::Medium => Confidence::Medium,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Strips the `backpressure` argument cargo inserts when run as `cargo backpressure`.
pub fn normalise_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|a| a == "backpressure") {
        args.remove(1);
    }
    args
}

/// Runs the command line; returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    let args = normalise_args(args);
    // `cargo backpressure lsp`: the language server (`./lsp` lints a folder of that name).
    if args.len() == 2 && args[1] == LSP_COMMAND {
        return crate::lsp::serve();
    }
    let matches = match Cli::command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_CLEAN
            };
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return EXIT_ERROR;
        }
    };
    match execute(&cli, &matches) {
        Ok(code) => code,
        Err(message) => {
            // It may quote a configuration file: its control characters are shown as symbols.
            let shown = printable::Source::new(&message);
            note(format_args!("error: {}", shown.text));
            EXIT_ERROR
        }
    }
}

/// `-A/-W/-D` in the order given on the command line (the last one for a rule wins).
fn level_flags(matches: &clap::ArgMatches) -> Vec<(usize, Level, String)> {
    let mut flags = Vec::new();
    for (id, level) in [
        ("allow", Level::Allow),
        ("warn", Level::Warn),
        ("deny", Level::Deny),
    ] {
        if let (Some(indices), Some(values)) =
            (matches.indices_of(id), matches.get_many::<String>(id))
        {
            flags.extend(indices.zip(values).map(|(i, v)| (i, level, v.clone())));
        }
    }
    flags.sort_by_key(|(i, _, _)| *i);
    flags
}

fn execute(cli: &Cli, matches: &clap::ArgMatches) -> Result<u8, String> {
    let catalogue = Catalogue::global();
    if cli.list_rules {
        let listing = match cli.format {
            Format::Json => listing::json(catalogue),
            _ => listing::text(catalogue),
        };
        write_stdout(listing.as_bytes())?;
        return Ok(EXIT_CLEAN);
    }
    if let Some(id) = &cli.explain {
        if let Some(doc) = catalogue.get(id) {
            write_stdout(explain(doc).as_bytes())?;
        } else if groups::is_family(catalogue, id) {
            write_stdout(listing::explain_family(catalogue, id).as_bytes())?;
        } else {
            return Err(groups::unknown_message(catalogue, id, false));
        }
        return Ok(EXIT_CLEAN);
    }
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    // Every path absolute and `..`-free, so that the configuration, the workspace root and the
    // reported paths follow the linted paths, not the current folder.
    let roots: Vec<PathBuf> = if cli.paths.is_empty() {
        vec![manifest::default_scan_root(&cwd)]
    } else {
        cli.paths
            .iter()
            .map(|p| project::absolute(p, &cwd))
            .collect()
    };
    let sources = walk::Sources::new(&roots)
        .map_err(|bad| bad.message(&run::display_path(bad.path(), &cwd)))?;
    let base_dir = project::report_base(&roots, &cwd);
    let explicit_config = cli.config.as_deref().map(|c| project::absolute(c, &cwd));
    let found = match explicit_config {
        Some(_) => None,
        None => project::common_config(&roots, &cwd)?,
    };
    let config = config::discover(
        explicit_config.as_deref(),
        found.as_ref(),
        &base_dir,
        catalogue,
    )
    .map_err(|e| {
        e.render()
            .trim_end()
            .trim_start_matches("error: ")
            .to_owned()
    })?;

    let mut levels = run::configured_levels(catalogue, &config);
    if cli.report_unused_suppressions {
        levels.set_from_cli(suppress::UNUSED, Level::Warn);
    }
    for (_, level, name) in level_flags(matches) {
        match groups::resolve(catalogue, &name, true)? {
            Selection::Rules(rules) => {
                for rule in rules {
                    levels.set_from_cli(&rule, level);
                }
            }
            Selection::Warnings => levels.set_warnings(level),
        }
    }
    let baseline = match &cli.baseline {
        Some(path) => Some(Baseline::read(path)?),
        None => None,
    };

    let threads = cli
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let include_tests = cli.include_tests || config.include_tests.unwrap_or(false);
    let engine = build_engine_with(
        catalogue,
        include_tests,
        !cli.no_prefilter,
        &config.options,
        &config.api,
    );
    let options = RunOptions {
        include_tests,
        include_generated: cli.include_generated || config.include_generated.unwrap_or(false),
        max_file_bytes: cli
            .max_file_size
            .or(config.max_file_size)
            .unwrap_or(run::DEFAULT_MAX_FILE_BYTES),
        threads,
        base_dir: base_dir.clone(),
        config: std::sync::Arc::new(config),
    };
    let min_confidence = cli
        .min_confidence
        .map(Confidence::from)
        .or(options.config.min_confidence)
        .unwrap_or(Confidence::Medium);
    let cache_dir = match (&cli.cache_dir, cli.no_cache) {
        (_, true) => None,
        (Some(dir), false) => Some(project::absolute(dir, &cwd)),
        (None, false) => project::cache_dir(&roots),
    };
    let cache_counts = std::cell::Cell::new(crate::cache::Counts::default());
    let analyse = || -> Result<run::Report, String> {
        // Opened for each pass: after `--fix` the second pass sees the files it wrote.
        let cache = cache_dir.as_deref().map(crate::cache::Cache::open);
        let mut report = run::run_cached(&engine, &levels, &sources, &options, cache.as_ref());
        if let Some(cache) = cache {
            cache_counts.set(cache.counts());
            // A cache that cannot be written costs the next run its speed, never this report.
            let _ = cache.save();
        }
        if let Some(first) = report.config_errors.first() {
            return Err(first.trim_end().trim_start_matches("error: ").to_owned());
        }
        // Before the baseline is written or read: it records and hides what this run reports.
        report.hidden_by_confidence = report.drop_below(min_confidence);
        Ok(report)
    };
    let mut report = analyse()?;
    let fix_mode = match (cli.fix, cli.unsafe_fixes) {
        (_, true) => Some(fix::Mode::Unsafe),
        (true, false) => Some(fix::Mode::Safe),
        (false, false) => None,
    };
    if cli.diff || fix_mode.is_some() {
        // What the baseline knows stays as it is: only reported findings are fixed.
        if let Some(baseline) = &baseline {
            baseline.hide_known(&mut report);
        }
        let mode = fix_mode.unwrap_or(fix::Mode::Safe);
        let (plans, refused) = fix::plan(&report, mode, options.max_file_bytes);
        for not in &refused {
            let line = format!("note: {}: not fixed: {}", not.display, not.reason);
            note(format_args!("{}", printable::line(&line)));
        }
        let applied: usize = plans.iter().map(|p| p.after.applied).sum();
        let left: usize = plans.iter().map(|p| p.after.left).sum();
        let changed: Vec<&fix::FilePlan> =
            plans.iter().filter(|p| p.after.text != p.before).collect();
        if cli.diff {
            let mut out = String::new();
            for plan in &changed {
                out.push_str(&fix::unified_diff(
                    &plan.display,
                    &plan.before,
                    &plan.after.text,
                ));
            }
            write_stdout(out.as_bytes())?;
            note(format_args!(
                "{applied} {} would be applied to {} {}{}",
                if applied == 1 { "fix" } else { "fixes" },
                changed.len(),
                if changed.len() == 1 { "file" } else { "files" },
                left_note(left),
            ));
            return Ok(if changed.is_empty() {
                EXIT_CLEAN
            } else {
                EXIT_FINDINGS
            });
        }
        let mut written = 0;
        let mut fixed = 0;
        for plan in &changed {
            match fix::write(&plan.path, &plan.before, &plan.after.text) {
                Ok(()) => {
                    written += 1;
                    fixed += plan.after.applied;
                }
                Err(reason) => {
                    let line = format!("note: {}: not fixed: {reason}", plan.display);
                    note(format_args!("{}", printable::line(&line)));
                }
            }
        }
        note(format_args!(
            "applied {fixed} {} to {written} {}{}",
            if fixed == 1 { "fix" } else { "fixes" },
            if written == 1 { "file" } else { "files" },
            left_note(left),
        ));
        // What is left is reported from the files as they are now.
        report = analyse()?;
        report.fixed = fixed;
    }
    for note in &report.notes {
        eprintln!("note: {note}");
    }

    if let Some(path) = &cli.write_baseline {
        Baseline::from_report(&report).write(path)?;
        note(format_args!(
            "wrote {} findings to the baseline {}",
            report.findings().count(),
            path.display()
        ));
    }
    if let (Some(baseline), Some(path)) = (&baseline, &cli.baseline) {
        let hidden = baseline.hide_known(&mut report);
        report.hidden_by_baseline = hidden.hidden;
        let stale = hidden.stale(&base_dir, &roots);
        if stale > 0 {
            note(format_args!(
                "note: the baseline {} lists {stale} {} that this run no longer reports (fixed, or the line changed)\n  = help: rewrite it with `cargo backpressure --write-baseline {}`, so that they cannot come back unnoticed",
                path.display(),
                if stale == 1 { "finding" } else { "findings" },
                path.display()
            ));
        }
    }
    report.report_suppressed = cli.report_suppressed;

    let to_terminal = cli.output.is_none() && std::io::stdout().is_terminal();
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_terminal && std::env::var_os("NO_COLOR").is_none() && cli.format == Format::Text
        }
    };
    let cx = EmitContext {
        catalogue,
        color,
        base_dir: &base_dir,
        max_file_bytes: options.max_file_bytes,
    };
    let mut buffer = Vec::new();
    let formatted = match (cli.statistics, cli.format) {
        (true, Format::Json) => emit::statistics::emit_json(&report, catalogue, &mut buffer),
        (true, _) => emit::statistics::emit_text(&report, catalogue, &mut buffer),
        (false, format) => emit::emit(format, &report, &cx, &mut buffer),
    };
    formatted.map_err(|e| format!("cannot format the report: {e}"))?;
    match &cli.output {
        Some(path) => std::fs::write(path, &buffer)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => write_stdout(&buffer)?,
    }
    if cli.stats
        || cli.statistics
        || (cli.format != Format::Text && (cli.output.is_some() || !to_terminal))
    {
        note(format_args!("{}", emit::summary_line(&report)));
    }
    if cli.stats {
        print_stats(&report);
        if let Some(dir) = &cache_dir {
            let counts = cache_counts.get();
            note(format_args!(
                "cache: {} files from the cache, {} analysed ({})",
                counts.hits,
                counts.misses,
                dir.display()
            ));
        }
    }

    let failing = report.findings().any(|f| match cli.fail_on {
        FailLevel::Warn => f.level >= Level::Warn,
        FailLevel::Deny => f.level >= Level::Deny,
        FailLevel::Never => false,
    });
    Ok(if failing { EXIT_FINDINGS } else { EXIT_CLEAN })
}

/// The tail of the fix note when overlapping fixes were left out.
fn left_note(left: usize) -> String {
    match left {
        0 => String::new(),
        n => format!(
            "; {n} {} overlapping another fix {} left for the next run (run it again)",
            if n == 1 { "fix" } else { "fixes" },
            if n == 1 { "was" } else { "were" }
        ),
    }
}

/// Writes `bytes` to standard output. A reader that went away (`| head -1`) is not an error: the
/// output stops there, quietly, and the exit status stays the one the findings decide.
fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to standard output: {e}"))
        }
        _ => Ok(()),
    }
}

/// One line to standard error; if that fails there is nowhere left to say so (`eprintln!` would
/// panic instead).
fn note(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn print_stats(report: &run::Report) {
    note(format_args!(
        "read {} bytes in {} files",
        report.bytes_read, report.counts.scanned
    ));
    let prefiltered = report.counts.prefiltered;
    note(format_args!(
        "  analysed: {} ({prefiltered} of them not parsed: no rule's trigger word appears)",
        report.analysed_count()
    ));
    for (kind, n) in report.exempt_counts() {
        note(format_args!("  skipped as {kind}: {n}"));
        if kind == crate::diag::Exempt::TestCode {
            for (reason, n) in &report.counts.test_reasons {
                note(format_args!("    {reason}: {n}"));
            }
        }
    }
    for (file, reason) in report.not_analysed() {
        let line = format!("  not analysed: {}: {reason}", file.display);
        note(format_args!("{}", printable::line(&line)));
    }
    for (path, message) in &report.walk_errors {
        let line = format!("  not read: {path}: {message}");
        note(format_args!("{}", printable::line(&line)));
    }
}
