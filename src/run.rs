//! One run: read every discovered file once, analyse files in parallel on worker threads with large
//! stacks, and merge per-file results in path order. Each worker holds at most one file's text and
//! tree at a time. A clean file leaves only a few bytes behind (its status, counted); full results
//! are kept only for files with findings or that could not be analysed.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::catalogue::{Catalogue, RuleScope};
use crate::config::Levels;
use crate::crate_model::{CrateModel, Role, Serving, TestReason};
use crate::diag::{
    Confidence, Edit, Exempt, Finding, Fix, Label, Level, NotAnalysed, Suppressed, SuppressedBy,
};
use crate::engine::prefilter::{self, Prefilter};
use crate::engine::resolve::KnownPaths;
use crate::engine::test_code;
use crate::engine::{Engine, FileAnalysis, Reported, TestModule};
use crate::input::{self, ReadError};
use crate::rules::{self, ApiExtensions, RuleOptions};
use crate::source::LineIndex;
use crate::suppress;
use crate::walk::{SourceFile, Sources};

/// Stack for each worker: syn and the visitors recurse; the guard bounds how deep.
pub const WORKER_STACK_BYTES: usize = 256 << 20;
/// Default size above which a file is skipped.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 << 20;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub include_tests: bool,
    pub include_generated: bool,
    pub max_file_bytes: u64,
    pub threads: usize,
    /// Paths are displayed relative to this directory when they are below it.
    pub base_dir: PathBuf,
    /// The configuration (for its `exclude` globs).
    pub config: std::sync::Arc<crate::config::Config>,
}

/// What happened to one file.
#[derive(Debug, Clone)]
pub enum Outcome {
    Analysed { findings: Vec<Finding> },
    NotAnalysed(NotAnalysed),
    Exempt(Exempt),
}

#[derive(Debug, Clone)]
pub struct FileResult {
    pub path: PathBuf,
    pub display: String,
    pub outcome: Outcome,
    /// Read, but not parsed: no rule's anchor word appears in it.
    pub prefiltered: bool,
    /// Findings a suppression comment (or, after `Baseline::hide_known`, the baseline) silenced.
    pub suppressed: Vec<Suppressed>,
    /// SHA-256 of the bytes analysed, kept when a finding offers a fix: `--fix` writes a file
    /// only while its bytes are still these.
    pub digest: Option<[u8; 32]>,
}

/// How every discovered file ended: each counts once.
#[derive(Debug, Default, Clone)]
pub struct FileCounts {
    pub scanned: usize,
    pub analysed: usize,
    /// Of the analysed, those not parsed: no rule's anchor word appears in them.
    pub prefiltered: usize,
    pub exempt: BTreeMap<Exempt, usize>,
    /// Of the files skipped as test code, how many for each reason.
    pub test_reasons: BTreeMap<TestReason, usize>,
    /// Findings of rules scoped to serving processes, left out because their package is a tool
    /// (it shows no listener, nor does any workspace member that depends on it).
    pub left_out_in_tools: usize,
}

impl FileResult {
    /// Drops the findings below `minimum` confidence; returns how many.
    pub fn drop_below(&mut self, minimum: Confidence) -> usize {
        let Outcome::Analysed { findings } = &mut self.outcome else {
            return 0;
        };
        let before = findings.len();
        findings.retain(|f| f.confidence >= minimum);
        before - findings.len()
    }
}

/// Everything a run produced, in deterministic order.
#[derive(Debug, Default)]
pub struct Report {
    /// The files with findings or that could not be analysed, in path order.
    pub files: Vec<FileResult>,
    pub counts: FileCounts,
    /// Paths the walk could not enter or read.
    pub walk_errors: Vec<(String, String)>,
    pub bytes_read: u64,
    /// Findings silenced by `backpressure:allow(..)` comments.
    pub suppressed: usize,
    /// Findings hidden because the baseline knows them.
    pub hidden_by_baseline: usize,
    /// Findings hidden because they are below `--min-confidence`.
    pub hidden_by_confidence: usize,
    /// `--report-suppressed`: emitters that can (SARIF) include the suppressed findings, marked.
    pub report_suppressed: bool,
    /// Errors in member packages' `[package.metadata.backpressure]` tables, rendered: they stop the run.
    pub config_errors: Vec<String>,
    /// Things the user should know that are not findings (a manifest that does not parse).
    pub notes: Vec<String>,
    /// Fixes `--fix` applied before this report was made.
    pub fixed: usize,
}

impl Report {
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.files.iter().flat_map(|f| match &f.outcome {
            Outcome::Analysed { findings } => findings.as_slice(),
            _ => &[],
        })
    }

    /// The findings a suppression comment or the baseline silenced, in path order.
    pub fn suppressed(&self) -> impl Iterator<Item = &Suppressed> {
        self.files.iter().flat_map(|f| f.suppressed.iter())
    }

    pub fn not_analysed(&self) -> impl Iterator<Item = (&FileResult, &NotAnalysed)> {
        self.files.iter().filter_map(|f| match &f.outcome {
            Outcome::NotAnalysed(reason) => Some((f, reason)),
            _ => None,
        })
    }

    pub fn analysed_count(&self) -> usize {
        self.counts.analysed
    }

    pub fn exempt_counts(&self) -> BTreeMap<Exempt, usize> {
        self.counts.exempt.clone()
    }

    /// Drops the findings below `minimum` confidence (`--min-confidence`); returns how many.
    /// Suppressions were matched before, so a comment that silences a hidden finding is not unused.
    pub fn drop_below(&mut self, minimum: Confidence) -> usize {
        self.files.iter_mut().map(|f| f.drop_below(minimum)).sum()
    }

    /// The number of findings at each level.
    pub fn count_by_level(&self) -> BTreeMap<Level, usize> {
        let mut counts = BTreeMap::new();
        for f in self.findings() {
            *counts.entry(f.level).or_default() += 1;
        }
        counts
    }
}

/// The engine with every catalogue rule and default options; levels are applied to findings afterwards.
pub fn build_engine(catalogue: &Catalogue, include_tests: bool, use_prefilter: bool) -> Engine {
    build_engine_with(
        catalogue,
        include_tests,
        use_prefilter,
        &RuleOptions::default(),
        &ApiExtensions::default(),
    )
}

/// The engine with configured rule options and API extensions.
pub fn build_engine_with(
    catalogue: &Catalogue,
    include_tests: bool,
    use_prefilter: bool,
    options: &RuleOptions,
    ext: &ApiExtensions,
) -> Engine {
    let catalogue_paths = catalogue
        .rules
        .iter()
        .flat_map(|r| r.matches.values().flatten())
        .map(|entry| entry.split("->").next().unwrap_or(entry).trim());
    let extension_paths = ext
        .unbounded_constructors
        .iter()
        .chain(&ext.spawners)
        .chain(&ext.timeout_wrappers);
    let known = KnownPaths::new(catalogue_paths.chain(extension_paths.clone().map(String::as_str)));
    let mut macro_words: std::collections::HashSet<String> =
        prefilter::all_list_words(catalogue).into_iter().collect();
    macro_words.extend(
        extension_paths
            .clone()
            .filter_map(|p| p.rsplit("::").next().map(str::to_owned)),
    );
    Engine {
        rules: rules::build(catalogue, options, ext),
        known,
        include_tests,
        macro_words,
        prefilter: use_prefilter
            .then(|| Prefilter::new(prefilter::anchor_conjunctions(catalogue, extension_paths))),
    }
}

/// The catalogue's levels refined by the configuration's `[rules]` (before the command line's flags).
pub fn configured_levels(catalogue: &Catalogue, config: &crate::config::Config) -> Levels {
    let mut levels = Levels::from_catalogue(catalogue);
    for (rule, level) in &config.levels {
        levels.set(rule, *level);
    }
    levels
}

/// Display form of a path: relative to `base` when below it, `/`-separated.
pub fn display_path(path: &Path, base: &Path) -> String {
    let shown = path.strip_prefix(base).unwrap_or(path);
    let shown = shown.strip_prefix("./").unwrap_or(shown);
    shown.to_string_lossy().replace('\\', "/")
}

struct Analysed {
    result: FileResult,
    /// Skipped as test code for this reason.
    test_reason: Option<TestReason>,
    /// `#[cfg(test)] mod x;` items of a loose file (outside every package's module tree).
    test_modules: Vec<TestModule>,
    bytes: u64,
    /// Findings left out because the file's package is a tool (see `FileCounts`).
    left_out_in_tools: usize,
}

/// What the workers fold their files into: counts, the files worth keeping (findings or not
/// analysed), and the test modules files declare. Clean files leave nothing but a count.
#[derive(Default)]
struct Tally {
    counts: FileCounts,
    bytes: u64,
    suppressed: usize,
    kept: Vec<FileResult>,
    /// (declaring file, its `#[cfg(test)] mod x;` items).
    test_modules: Vec<(PathBuf, Vec<TestModule>)>,
}

impl Tally {
    fn add(mut self, a: Analysed) -> Tally {
        self.counts.scanned += 1;
        self.bytes += a.bytes;
        self.counts.left_out_in_tools += a.left_out_in_tools;
        self.suppressed += a.result.suppressed.len();
        if let Some(reason) = a.test_reason {
            *self.counts.test_reasons.entry(reason).or_default() += 1;
        }
        if !a.test_modules.is_empty() {
            self.test_modules
                .push((a.result.path.clone(), a.test_modules));
        }
        let keep = match &a.result.outcome {
            Outcome::Analysed { findings } => {
                self.counts.analysed += 1;
                self.counts.prefiltered += usize::from(a.result.prefiltered);
                !findings.is_empty() || !a.result.suppressed.is_empty()
            }
            Outcome::Exempt(e) => {
                *self.counts.exempt.entry(*e).or_default() += 1;
                false
            }
            Outcome::NotAnalysed(_) => true,
        };
        if keep {
            self.kept.push(a.result);
        }
        self
    }

    fn merge(mut self, other: Tally) -> Tally {
        self.counts.scanned += other.counts.scanned;
        self.counts.analysed += other.counts.analysed;
        self.counts.prefiltered += other.counts.prefiltered;
        self.counts.left_out_in_tools += other.counts.left_out_in_tools;
        for (e, n) in other.counts.exempt {
            *self.counts.exempt.entry(e).or_default() += n;
        }
        for (r, n) in other.counts.test_reasons {
            *self.counts.test_reasons.entry(r).or_default() += n;
        }
        self.bytes += other.bytes;
        self.suppressed += other.suppressed;
        self.kept.extend(other.kept);
        self.test_modules.extend(other.test_modules);
        self
    }
}

/// Runs the engine over the files of `sources`: the walk lists them, the crate model gives each its
/// role (test and unreachable files are skipped before they are read), then the workers analyse
/// them in parallel. Only files with findings or problems are kept.
pub fn run(engine: &Engine, levels: &Levels, sources: &Sources, options: &RunOptions) -> Report {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .stack_size(WORKER_STACK_BYTES)
        .thread_name(|i| format!("backpressure-worker-{i}"))
        .build();
    let work = || {
        let listed = std::sync::Mutex::new(Vec::new());
        let walk_errors = sources.walk(options.threads, &|file| {
            listed.lock().unwrap_or_else(|e| e.into_inner()).push(file);
        });
        let files = listed.into_inner().unwrap_or_else(|e| e.into_inner());
        let model = CrateModel::build(files.iter().map(|f| f.path.as_path()));
        let tally = files
            .into_par_iter()
            .fold(Tally::default, |t, file| {
                t.add(analyse_file(engine, levels, &model, &file, options))
            })
            .reduce(Tally::default, Tally::merge);
        (tally, walk_errors, model)
    };
    let (tally, walk_errors, model) = match &pool {
        Ok(pool) => pool.install(work),
        // No threads to be had: analyse on this thread (small inputs only reach here in practice).
        Err(_) => work(),
    };
    let test_files = declared_test_files(&tally.test_modules);
    let mut report = Report {
        counts: tally.counts,
        bytes_read: tally.bytes,
        suppressed: tally.suppressed,
        ..Report::default()
    };
    for mut result in tally.kept {
        // Findings in a loose file some loose parent declared `#[cfg(test)] mod x;` are test code
        // after all (inside a package the module tree decided before the file was read).
        if !options.include_tests
            && matches!(&result.outcome, Outcome::Analysed { .. })
            && model.lookup(&result.path).0 == Role::Plain
            && is_declared_test(&result.path, &test_files)
        {
            report.counts.analysed -= 1;
            report.counts.prefiltered -= usize::from(result.prefiltered);
            report.suppressed -= result.suppressed.len();
            result.suppressed.clear();
            *report.counts.exempt.entry(Exempt::TestCode).or_default() += 1;
            *report
                .counts
                .test_reasons
                .entry(TestReason::TestGated)
                .or_default() += 1;
            result.outcome = Outcome::Exempt(Exempt::TestCode);
            continue;
        }
        report.files.push(result);
    }
    report.files.sort_by(|a, b| a.path.cmp(&b.path));
    report.config_errors = model.config_errors.clone();
    report.notes = model.notes.clone();
    report.walk_errors = walk_errors
        .into_iter()
        .map(|e| (display_path(&e.path, &options.base_dir), e.message))
        .collect();
    report
}

/// Where a file stands before it is read: left out (excluded, test code, not in the build), or
/// linted with its role and its crate's facts.
enum Placed {
    Skip(Exempt, Option<TestReason>),
    Lint(Role, std::sync::Arc<crate::manifest::CrateInfo>),
}

fn place(model: &CrateModel, path: &Path, options: &RunOptions) -> Placed {
    if options.config.is_excluded(path) {
        return Placed::Skip(Exempt::Excluded, None);
    }
    let (role, crate_info) = model.lookup(path);
    match role {
        Role::Test(reason) if !options.include_tests => {
            Placed::Skip(Exempt::TestCode, Some(reason))
        }
        Role::Unreachable => Placed::Skip(Exempt::Unreachable, None),
        _ => Placed::Lint(role, crate_info),
    }
}

fn analyse_file(
    engine: &Engine,
    levels: &Levels,
    model: &CrateModel,
    file: &SourceFile,
    options: &RunOptions,
) -> Analysed {
    let display = display_path(&file.path, &options.base_dir);
    let done = |outcome, bytes| Analysed::new(&file.path, &display, outcome, bytes);
    let (role, crate_info) = match place(model, &file.path, options) {
        Placed::Skip(exempt, test_reason) => {
            return Analysed {
                test_reason,
                ..done(Outcome::Exempt(exempt), 0)
            }
        }
        Placed::Lint(role, crate_info) => (role, crate_info),
    };
    let bytes = match input::read_regular_file(&file.path, options.max_file_bytes) {
        Ok(b) => b,
        Err(e) => {
            let reason = match e {
                ReadError::NotRegular { file_type } => NotAnalysed::NotRegularFile { file_type },
                ReadError::TooLarge { bytes, limit } => NotAnalysed::TooLarge { bytes, limit },
                other => NotAnalysed::Io {
                    message: other.to_string(),
                },
            };
            return done(Outcome::NotAnalysed(reason), 0);
        }
    };
    let len = bytes.len() as u64;
    let Ok(text) = String::from_utf8(bytes) else {
        return done(Outcome::NotAnalysed(NotAnalysed::NotUtf8), len);
    };
    let file = TextFile {
        path: &file.path,
        display: &display,
        text: &text,
        explicit: file.explicit,
    };
    analyse_text(engine, levels, model, &file, role, &crate_info, options)
}

/// One file's text to analyse, read from disk or held by an editor.
struct TextFile<'a> {
    path: &'a Path,
    display: &'a str,
    text: &'a str,
    /// Parsed whatever the prefilter says (a syntax error in it is reported).
    explicit: bool,
}

/// Analyses `text` as the file at `path` would be in a run over its workspace: the same crate
/// model (its package, its role: a test file stays quiet unless tests are included), levels, package
/// tables, overrides and suppressions. For an editor's unsaved buffer (`cargo backpressure lsp`);
/// the run reads each file and goes the same way. `--min-confidence` is left to the caller
/// ([`FileResult::drop_below`]), as the run leaves it to the command line.
pub fn analyse_source(
    engine: &Engine,
    levels: &Levels,
    model: &CrateModel,
    path: &Path,
    text: &str,
    options: &RunOptions,
) -> FileResult {
    let display = display_path(path, &options.base_dir);
    let bytes = text.len() as u64;
    match place(model, path, options) {
        Placed::Skip(exempt, _) => Analysed::new(path, &display, Outcome::Exempt(exempt), 0).result,
        // As a run skips the file on disk above the limit.
        Placed::Lint(..) if bytes > options.max_file_bytes => {
            let too_large = NotAnalysed::TooLarge {
                bytes,
                limit: options.max_file_bytes,
            };
            Analysed::new(path, &display, Outcome::NotAnalysed(too_large), bytes).result
        }
        Placed::Lint(role, crate_info) => {
            let file = TextFile {
                path,
                display: &display,
                text,
                explicit: false,
            };
            analyse_text(engine, levels, model, &file, role, &crate_info, options).result
        }
    }
}

impl Analysed {
    fn new(path: &Path, display: &str, outcome: Outcome, bytes: u64) -> Analysed {
        Analysed {
            result: FileResult {
                path: path.to_path_buf(),
                display: display.to_owned(),
                outcome,
                prefiltered: false,
                suppressed: Vec::new(),
                digest: None,
            },
            test_reason: None,
            test_modules: Vec::new(),
            bytes,
            left_out_in_tools: 0,
        }
    }
}

fn analyse_text(
    engine: &Engine,
    levels: &Levels,
    model: &CrateModel,
    file: &TextFile<'_>,
    role: Role,
    crate_info: &crate::manifest::CrateInfo,
    options: &RunOptions,
) -> Analysed {
    let TextFile {
        path,
        display,
        text,
        explicit,
    } = *file;
    let len = text.len() as u64;
    let done = |outcome| Analysed::new(path, display, outcome, len);
    let skipped_as_test = |reason| Analysed {
        test_reason: Some(reason),
        ..done(Outcome::Exempt(Exempt::TestCode))
    };
    if !options.include_tests && role == Role::Plain {
        let root = crate_info.root.as_deref().unwrap_or(&options.base_dir);
        if test_code::is_test_path(path.strip_prefix(root).unwrap_or(path)) {
            return skipped_as_test(TestReason::TestNamed);
        }
    }
    if !options.include_generated && test_code::is_generated(text) {
        return done(Outcome::Exempt(Exempt::Generated));
    }
    let analysis = catch_unwind(AssertUnwindSafe(|| {
        if explicit {
            engine.analyze_parsed(text, crate_info)
        } else {
            engine.analyze(text, crate_info)
        }
    }));
    match analysis {
        Ok(Ok(FileAnalysis {
            findings,
            test_modules,
            prefiltered,
            item_ranges,
        })) => {
            let file_levels = options.config.file_levels(path, &crate_info.levels);
            let level_of = |rule: &str| levels.get_for(rule, Some(&file_levels));
            let mut findings = resolve_findings(findings, text, display, level_of);
            let mut suppressed = Vec::new();
            if text.contains(suppress::MARKER) {
                let items = suppress::item_lines(&LineIndex::new(text), &item_ranges);
                let mut suppressions = suppress::parse(text, &items);
                suppressed = suppress::apply(&mut findings, &mut suppressions)
                    .into_iter()
                    .map(|finding| Suppressed {
                        finding,
                        by: SuppressedBy::InSource,
                    })
                    .collect();
                let meta = suppress::meta_findings(&suppressions, Catalogue::global(), |rule| {
                    level_of(rule) != Level::Allow
                });
                let meta = meta.into_iter().map(Reported::high).collect();
                findings.extend(resolve_findings(meta, text, display, level_of));
                findings.sort_by(|a, b| (a.region, &a.rule).cmp(&(b.region, &b.rule)));
            }
            // After the suppressions are matched: a comment that covers a finding left out here
            // is still used.
            let left_out_in_tools = leave_out_in_tools(&mut findings, model, path);
            // `--fix` writes only over the bytes the fixes were computed from.
            let findings_digest = findings
                .iter()
                .any(|f| f.fix.is_some())
                .then(|| Sha256::digest(text.as_bytes()).into());
            let mut analysed = done(Outcome::Analysed { findings });
            // Only loose files judge each other by their declarations.
            if role == Role::Plain {
                analysed.test_modules = test_modules;
            }
            analysed.result.digest = findings_digest;
            analysed.result.prefiltered = prefiltered;
            analysed.result.suppressed = suppressed;
            analysed.left_out_in_tools = left_out_in_tools;
            analysed
        }
        Ok(Err(reason)) => done(Outcome::NotAnalysed(reason)),
        Err(panic) => {
            proc_macro2::extra::invalidate_current_thread_spans();
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned());
            done(Outcome::NotAnalysed(NotAnalysed::Internal { message }))
        }
    }
}

/// Drops the findings of rules scoped to serving processes when the file's package is a tool;
/// returns how many.
fn leave_out_in_tools(findings: &mut Vec<Finding>, model: &CrateModel, path: &Path) -> usize {
    let catalogue = Catalogue::global();
    let scoped = |rule: &str| {
        catalogue
            .get(rule)
            .is_some_and(|doc| doc.scope == RuleScope::Serving)
    };
    if !findings.iter().any(|f| scoped(&f.rule)) || model.serving(path) != Serving::Tool {
        return 0;
    }
    let before = findings.len();
    findings.retain(|f| !scoped(&f.rule));
    before - findings.len()
}

/// Byte ranges → lines and columns, levels applied (allowed findings dropped), fingerprints added,
/// sorted by position then rule.
fn resolve_findings(
    raw: Vec<Reported>,
    text: &str,
    display: &str,
    level_of: impl Fn(&str) -> Level,
) -> Vec<Finding> {
    if raw.is_empty() {
        // Most files: no line index to build.
        return Vec::new();
    }
    let index = LineIndex::new(text);
    let mut findings: Vec<Finding> = raw
        .into_iter()
        .filter_map(
            |Reported {
                 finding: r,
                 medium_reason,
             }| {
                let level = level_of(r.rule);
                (level != Level::Allow).then(|| Finding {
                    rule: r.rule.to_owned(),
                    level,
                    path: display.to_owned(),
                    region: index.region(r.range),
                    message: r.message,
                    help: r.help,
                    labels: r
                        .labels
                        .into_iter()
                        .map(|(range, message)| Label {
                            region: index.region(range),
                            message,
                        })
                        .collect(),
                    confidence: if medium_reason.is_some() {
                        Confidence::Medium
                    } else {
                        Confidence::High
                    },
                    confidence_reason: medium_reason,
                    fingerprint: String::new(),
                    fix: r.fix.map(|fix| Fix {
                        message: fix.message,
                        applicability: fix.applicability,
                        edits: fix
                            .edits
                            .into_iter()
                            .map(|(range, replacement)| Edit {
                                region: index.region(range),
                                replacement,
                            })
                            .collect(),
                    }),
                })
            },
        )
        .collect();
    findings.sort_by(|a, b| (a.region, &a.rule).cmp(&(b.region, &b.rule)));
    findings.dedup_by(|a, b| a.region == b.region && a.rule == b.rule);
    let mut occurrences: HashMap<(String, String), usize> = HashMap::new();
    for f in &mut findings {
        let line = normalise_line(index.line_text(f.region.start.line));
        let k = occurrences
            .entry((f.rule.clone(), line.clone()))
            .or_default();
        f.fingerprint = fingerprint(&f.rule, &line, *k);
        *k += 1;
    }
    findings
}

fn normalise_line(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Rule, normalised flagged line, and occurrence index: stable when other lines move.
pub fn fingerprint(rule: &str, normalised_line: &str, occurrence: usize) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rule.as_bytes());
    hasher.update([0]);
    hasher.update(normalised_line.as_bytes());
    hasher.update([0]);
    hasher.update(occurrence.to_string().as_bytes());
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Files (and folders) that some parent declared `#[cfg(test)] mod x;`.
fn declared_test_files(declared: &[(PathBuf, Vec<TestModule>)]) -> HashSet<PathBuf> {
    let mut out = HashSet::new();
    for (path, modules) in declared {
        let Some(dir) = path.parent() else {
            continue;
        };
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        // `mod.rs`, `lib.rs` and `main.rs` own their folder; `foo.rs` owns `foo/`.
        let module_dir = if matches!(stem, "mod" | "lib" | "main") {
            dir.to_path_buf()
        } else {
            dir.join(stem)
        };
        for m in modules {
            match &m.path {
                Some(p) => {
                    out.insert(dir.join(p));
                }
                None => {
                    out.insert(module_dir.join(format!("{}.rs", m.name)));
                    out.insert(module_dir.join(&m.name));
                }
            }
        }
    }
    out
}

fn is_declared_test(path: &Path, test_files: &HashSet<PathBuf>) -> bool {
    test_files.contains(path) || path.ancestors().skip(1).any(|a| test_files.contains(a))
}
