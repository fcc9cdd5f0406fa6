//! One run: read every discovered file once, analyse files in parallel on worker threads with large
//! stacks, and merge per-file results in path order. Each worker holds at most one file's text and
//! tree at a time. A clean file leaves only a few bytes behind (its status, counted); full results
//! are kept only for files with findings or that could not be analysed. Files are analysed unit
//! (package) by unit, units in parallel: a unit's function summaries live only until its
//! candidates are decided.
mod unit_cache;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::cache::entry::Which;
use crate::cache::{self, Cache};
use crate::catalogue::{Catalogue, RuleScope};
use crate::config::Levels;
use crate::crate_model::{CrateModel, Role, Serving, TestReason};
use crate::diag::{
    Confidence, Edit, Exempt, Finding, Fix, Label, Level, NotAnalysed, Suppressed, SuppressedBy,
};
use crate::engine::prefilter::{self, Mentions, Prefilter};
use crate::engine::resolve::KnownPaths;
use crate::engine::summary::{Condition, FileSummary, Join, Pending, Place, Site};
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
    /// Findings that stand only if a condition on other files' summaries holds (decided by the
    /// join at the end of the run, then emptied).
    pub candidates: Vec<Candidate>,
    /// The unit (package) whose summaries decide the candidates.
    pub unit: String,
}

/// A finding of a file that another file's summary decides: the finding is the one at `region`
/// of `rule`.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub rule: String,
    pub region: crate::diag::Region,
    pub pending: Pending,
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
    /// The file's summary, when it was parsed.
    summary: Option<FileSummary>,
    /// Read but not parsed (the prefilter): a later pass parses it if it names a summarised function.
    prefiltered_at: Option<PathBuf>,
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
    /// What the join needs: the summaries of parsed files, and the files the prefilter skipped.
    side: SideTally,
    /// Linted files the prefilter skipped.
    lint_prefiltered: Vec<PathBuf>,
}

/// What the files give the join, besides their results.
#[derive(Default)]
struct SideTally {
    summaries: Vec<FileSummary>,
    prefiltered: Vec<PathBuf>,
}

impl SideTally {
    fn add(&mut self, summary: Option<FileSummary>, prefiltered: Option<PathBuf>) {
        self.summaries.extend(summary.filter(|s| !s.is_empty()));
        self.prefiltered.extend(prefiltered);
    }

    fn merge(mut self, other: SideTally) -> SideTally {
        self.summaries.extend(other.summaries);
        self.prefiltered.extend(other.prefiltered);
        self
    }
}

impl Tally {
    fn add(mut self, a: Analysed) -> Tally {
        self.side
            .summaries
            .extend(a.summary.filter(|s| !s.is_empty()));
        self.lint_prefiltered.extend(a.prefiltered_at);
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
        self.side = self.side.merge(other.side);
        self.lint_prefiltered.extend(other.lint_prefiltered);
        self
    }

    /// What a unit leaves once it is decided (its summaries and prefiltered files are gone).
    fn into_unit(self) -> unit_cache::UnitOutcome {
        unit_cache::UnitOutcome {
            counts: self.counts,
            bytes: self.bytes,
            suppressed: self.suppressed,
            kept: self.kept,
            test_modules: self.test_modules,
        }
    }

    fn from_unit(o: unit_cache::UnitOutcome) -> Tally {
        Tally {
            counts: o.counts,
            bytes: o.bytes,
            suppressed: o.suppressed,
            kept: o.kept,
            test_modules: o.test_modules,
            ..Tally::default()
        }
    }

    /// Takes the result of a file linted again after the prefilter skipped it (see `Pass::Relint`);
    /// it was counted as analysed and prefiltered.
    fn relinted(&mut self, a: Analysed) {
        if a.prefiltered_at.is_some() {
            self.lint_prefiltered.extend(a.prefiltered_at);
            return;
        }
        self.side
            .summaries
            .extend(a.summary.filter(|s| !s.is_empty()));
        self.counts.prefiltered -= 1;
        self.counts.left_out_in_tools += a.left_out_in_tools;
        self.suppressed += a.result.suppressed.len();
        let keep = match &a.result.outcome {
            Outcome::Analysed { findings } => {
                !findings.is_empty() || !a.result.suppressed.is_empty()
            }
            _ => true,
        };
        if keep {
            self.kept.push(a.result);
        }
    }
}

/// Runs the engine over the files of `sources`: the walk lists them, the crate model gives each its
/// role (test and unreachable files are skipped before they are read), then the workers analyse
/// them in parallel, one unit at a time each (`lint_unit`). Only files with findings or
/// problems are kept.
pub fn run(engine: &Engine, levels: &Levels, sources: &Sources, options: &RunOptions) -> Report {
    run_cached(engine, levels, sources, options, None)
}

/// [`run`] with a cache of per-file results and lexical scans (see [`crate::cache`]): the
/// findings are the same; a file unchanged since a previous run is neither read nor parsed for
/// the first pass (its findings, candidates and summary come from the cache), and the join
/// decides from the summaries as they were. The caller saves the cache ([`Cache::save`]) when
/// the run is over.
pub fn run_cached(
    engine: &Engine,
    levels: &Levels,
    sources: &Sources,
    options: &RunOptions,
    cache: Option<&Cache>,
) -> Report {
    let phases = Phases::from_env();
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
        phases.mark("walk", files.len(), 0);
        let model = CrateModel::build_cached(files.iter().map(|f| f.path.as_path()), cache);
        phases.mark("crate model", 0, 0);
        // The other files of the named files' crates: summarised (never reported) so that a file
        // is judged within its crate whichever files the run names.
        let named: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
        let mates = model.crate_mates(&named, options.include_tests);
        drop(named);
        // Every summary, candidate and join is of one unit: each is linted, joined and decided
        // on its own, so that only the summaries of the units in flight are alive at once (the
        // peak does not grow with the tree).
        let mut units: HashMap<String, Unit> = HashMap::new();
        for file in files {
            let unit = model.place(&file.path).unit;
            units.entry(unit).or_default().files.push(file);
        }
        for path in mates {
            let unit = model.place(&path).unit;
            units.entry(unit).or_default().mates.push(path);
        }
        let mut units: Vec<(String, Unit)> = units.into_iter().collect();
        units.sort_by(|a, b| a.0.cmp(&b.0));
        let tally = units
            .into_par_iter()
            .map(|(_, unit)| lint_unit(engine, levels, &model, options, unit, &phases, cache))
            .reduce(Tally::default, Tally::merge);
        phases.mark("units (lint, join, decide)", 0, 0);
        (tally, walk_errors, model)
    };
    let (tally, walk_errors, model) = match &pool {
        Ok(pool) => pool.install(work),
        // No threads to be had: analyse on this thread (small inputs only reach here in practice).
        Err(_) => work(),
    };
    phases.report();
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

/// The files of one unit the run reads: linted, and summarised only (crate mates of named files).
#[derive(Default)]
struct Unit {
    files: Vec<SourceFile>,
    mates: Vec<PathBuf>,
}

/// Lints the files of one unit, summarises its crate mates, lints again the prefiltered files
/// that call a summarised function, joins the unit's summaries and decides its candidates.
fn lint_unit(
    engine: &Engine,
    levels: &Levels,
    model: &CrateModel,
    options: &RunOptions,
    unit: Unit,
    phases: &Phases,
    cache: Option<&Cache>,
) -> Tally {
    let clock = phases.clock();
    // A unit whose inputs are all as a run left them takes that run's outcome (its files are
    // neither looked up one by one nor joined again). Crate mates are never cached.
    let unit_key = cache
        .filter(|_| unit.mates.is_empty())
        .and_then(|cache| UnitKey::new(cache, engine, levels, model, options, &unit.files));
    if let Some(key) = &unit_key {
        if let Some(outcome) = unit_cache::lookup_unit(key.cache, &key.unit, &key.inputs) {
            key.cache.count_many(true, key.linted);
            phases.add("units from the cache", clock, unit.files.len(), 0);
            return Tally::from_unit(outcome);
        }
    }
    let mut tally = unit
        .files
        .into_par_iter()
        .fold(Tally::default, |t, file| {
            t.add(analyse_file(
                engine,
                levels,
                model,
                &file,
                options,
                Pass::Lint,
                cache,
            ))
        })
        .reduce(Tally::default, Tally::merge);
    let clock = phases.add(
        "first pass (lint)",
        clock,
        tally.counts.analysed,
        tally.counts.analysed - tally.counts.prefiltered,
    );
    let mates = unit.mates.len();
    let side = unit
        .mates
        .into_par_iter()
        .map(|path| {
            let file = SourceFile {
                path,
                explicit: false,
            };
            analyse_file(engine, levels, model, &file, options, Pass::Summarise, None)
        })
        .fold(SideTally::default, |mut side, a| {
            side.add(a.summary, a.prefiltered_at);
            side
        })
        .reduce(SideTally::default, SideTally::merge);
    let clock = phases.add(
        "summarise crate mates",
        clock,
        mates,
        mates - side.prefiltered.len(),
    );
    tally.side = std::mem::take(&mut tally.side).merge(side);
    let prefiltered = tally.counts.prefiltered;
    let waiting = relint_callers(engine, levels, model, options, &mut tally, cache);
    let clock = phases.add(
        "re-lint prefiltered callers",
        clock,
        waiting,
        prefiltered - tally.counts.prefiltered,
    );
    let mut side = std::mem::take(&mut tally.side);
    side.prefiltered.append(&mut tally.lint_prefiltered);
    let summaries = side.summaries.len();
    let join = join_summaries(engine, levels, model, options, &tally.kept, side, cache);
    decide_candidates(&mut tally.kept, &join);
    phases.add("join and decide", clock, summaries, 0);
    match unit_key {
        // The files of the members it may read are in the key.
        Some(key) if key.trusted => {
            let outcome = tally.into_unit();
            unit_cache::store_unit(key.cache, &key.unit, &key.inputs, &outcome);
            Tally::from_unit(outcome)
        }
        _ => tally,
    }
}

/// What a unit's outcome depends on: for each of its files, its path and how it was found, its
/// placement, and for a linted file its context fingerprint (as its own entry has it), its
/// stamp and whether its package counts as a tool there (serving-scoped findings are left out
/// in tools). Given those, the first pass's entries, the later passes' and the join are as a
/// run left them.
struct UnitKey<'c> {
    cache: &'c Cache,
    unit: String,
    inputs: cache::Fingerprint,
    /// Its linted files (each counted as a hit when the unit's entry stands for them).
    linted: usize,
    /// Every linted file's stamp may stand for its bytes (see [`Cache::trusts`]): the outcome
    /// may be stored.
    trusted: bool,
}

impl<'c> UnitKey<'c> {
    /// None when some file cannot be keyed (a path that is not UTF-8, a file with no stamp).
    fn new(
        cache: &'c Cache,
        engine: &Engine,
        levels: &Levels,
        model: &CrateModel,
        options: &RunOptions,
        files: &[SourceFile],
    ) -> Option<UnitKey<'c>> {
        let unit = model.place(&files.first()?.path).unit;
        let mut parts: Vec<(&str, Vec<u8>)> = Vec::with_capacity(files.len());
        let (mut linted, mut trusted) = (0, true);
        for file in files {
            let path = file.path.to_str()?;
            let mut part = vec![u8::from(file.explicit)];
            match placement(model, &file.path, options) {
                Placed::Skip(exempt, reason) => {
                    part.extend_from_slice(format!("skip {exempt:?} {reason:?}").as_bytes());
                }
                Placed::Lint(role, crate_info) => {
                    let display = display_path(&file.path, &options.base_dir);
                    let place = model.place(&file.path);
                    let c = Cached::new(
                        cache,
                        engine,
                        levels,
                        options,
                        file,
                        &display,
                        role,
                        &crate_info,
                        &place,
                    );
                    let stamp = c.stamp?;
                    trusted &= cache.trusts(&stamp);
                    linted += 1;
                    part.extend_from_slice(&c.context.0);
                    part.extend_from_slice(&stamp.size().to_le_bytes());
                    part.extend_from_slice(&stamp.mtime_ns().to_le_bytes());
                    part.push(u8::from(model.serving(&file.path) == Serving::Tool));
                }
            }
            parts.push((path, part));
        }
        // The join may read the members that link the unit's library (for a connect's address
        // given by their calls, [`read_dependents`]): their files are inputs too.
        let dependents = model
            .dependent_files(&unit)
            .map(|(_, d)| d)
            .unwrap_or_default();
        for file in &dependents {
            let path = file.to_str()?;
            let stamp = cache.stamp_of(file)?;
            trusted &= cache.trusts(&stamp);
            let mut part = b"dependent".to_vec();
            part.extend_from_slice(&stamp.size().to_le_bytes());
            part.extend_from_slice(&stamp.mtime_ns().to_le_bytes());
            parts.push((path, part));
        }
        parts.sort_unstable_by(|a, b| a.0.cmp(b.0));
        // The run's settings are in each linted file's context; a skipped file depends on its
        // placement alone.
        let inputs = cache::fingerprint(
            std::iter::once(unit.as_bytes()).chain(
                parts
                    .iter()
                    .flat_map(|(path, part)| [path.as_bytes(), part]),
            ),
        );
        Some(UnitKey {
            cache,
            unit,
            inputs,
            linted,
            trusted,
        })
    }
}

/// `BACKPRESSURE_PHASES=1`: each phase's wall time, the files it read and parsed, and the
/// process's resident and peak memory after it, on stderr (for the benchmarks; never in a report).
struct Phases {
    on: bool,
    start: std::sync::Mutex<std::time::Instant>,
    /// Per pass, summed over units: (thread-seconds, files read, files parsed).
    passes: std::sync::Mutex<BTreeMap<&'static str, (f64, usize, usize)>>,
}

impl Phases {
    fn from_env() -> Phases {
        Phases {
            on: std::env::var_os("BACKPRESSURE_PHASES").is_some_and(|v| v == "1"),
            start: std::sync::Mutex::new(std::time::Instant::now()),
            passes: Default::default(),
        }
    }

    fn clock(&self) -> Option<std::time::Instant> {
        self.on.then(std::time::Instant::now)
    }

    /// Adds a pass of one unit that started at `since`; returns the time it ended.
    fn add(
        &self,
        pass: &'static str,
        since: Option<std::time::Instant>,
        read: usize,
        parsed: usize,
    ) -> Option<std::time::Instant> {
        let since = since?;
        let mut passes = self.passes.lock().unwrap_or_else(|e| e.into_inner());
        let entry = passes.entry(pass).or_default();
        entry.0 += since.elapsed().as_secs_f64();
        entry.1 += read;
        entry.2 += parsed;
        Some(std::time::Instant::now())
    }

    fn memory() -> (u64, u64) {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let mib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .map_or(0, |kib| kib / 1024)
        };
        (mib("VmRSS:"), mib("VmHWM:"))
    }

    fn mark(&self, phase: &str, read: usize, parsed: usize) {
        if !self.on {
            return;
        }
        let mut start = self.start.lock().unwrap_or_else(|e| e.into_inner());
        let (rss, peak) = Phases::memory();
        eprintln!(
            "phase {phase:<28} {:>7.3} s  files {read:>6} parsed {parsed:>6}  rss {rss:>4} MiB  peak {peak:>4} MiB",
            start.elapsed().as_secs_f64(),
        );
        *start = std::time::Instant::now();
    }

    fn report(&self) {
        if !self.on {
            return;
        }
        let passes = self.passes.lock().unwrap_or_else(|e| e.into_inner());
        for (pass, (secs, read, parsed)) in passes.iter() {
            eprintln!("  pass {pass:<27} {secs:>7.3} thread-s  files {read:>6} parsed {parsed:>6}");
        }
    }
}

/// Where a file stands before it is read: left out (excluded, test code, not in the build), or
/// linted with its role and its crate's facts.
enum Placed {
    Skip(Exempt, Option<TestReason>),
    Lint(Role, std::sync::Arc<crate::manifest::CrateInfo>),
}

fn placement(model: &CrateModel, path: &Path, options: &RunOptions) -> Placed {
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

/// Why a file is read.
#[derive(Clone, Copy)]
enum Pass<'w> {
    /// Linted: its findings are reported.
    Lint,
    /// A file of a named file's crate: only its summary is kept.
    Summarise,
    /// Skipped by the prefilter before: parsed now if it names one of `words` (summarised
    /// functions), for its summary.
    Reparse(&'w Mentions),
    /// A linted file the prefilter skipped: linted now if it names one of `words` (functions
    /// with a summarised fact): a call to one may be a finding.
    Relint(&'w Mentions),
    /// A file of a workspace member that links the library of the unit being joined (its
    /// library name and unit): parsed if it names one of `words`, for its summary, with its
    /// calls into that library keyed as the library's functions. Never cached.
    Dependent(&'w Mentions, &'w (String, String)),
}

/// Analyses one file for `pass`. With a cache, the first pass's outcome of a file is kept, and so
/// are a later pass's (whether a skipped file mentions the words, and its parse when it does):
/// each depends on the file's bytes and context, and on the words, which are in the key.
fn analyse_file(
    engine: &Engine,
    levels: &Levels,
    model: &CrateModel,
    file: &SourceFile,
    options: &RunOptions,
    pass: Pass<'_>,
    cache: Option<&Cache>,
) -> Analysed {
    let display = display_path(&file.path, &options.base_dir);
    let mut place = model.place(&file.path);
    if let Pass::Dependent(_, foreign) = pass {
        place.foreign = Some(foreign.clone());
    }
    let done = |outcome, bytes| Analysed::new(&file.path, &display, &place.unit, outcome, bytes);
    let (role, crate_info) = match placement(model, &file.path, options) {
        Placed::Skip(exempt, test_reason) => {
            return Analysed {
                test_reason,
                ..done(Outcome::Exempt(exempt), 0)
            }
        }
        Placed::Lint(role, crate_info) => (role, crate_info),
    };
    // A crate mate's summary (only when the run names some files) is not kept.
    let cached = cache
        .filter(|_| !matches!(pass, Pass::Summarise | Pass::Dependent(..)))
        .map(|cache| {
            Cached::new(
                cache,
                engine,
                levels,
                options,
                file,
                &display,
                role,
                &crate_info,
                &place,
            )
        });
    let (which, words) = match pass {
        Pass::Relint(words) => (Which::Later("relint"), Some(words)),
        Pass::Reparse(words) | Pass::Dependent(words, _) => (Which::Later("reparse"), Some(words)),
        Pass::Lint | Pass::Summarise => (Which::First, None),
    };
    if let Some(c) = &cached {
        let known = match words {
            // A later pass: known when what the file mentions is.
            Some(words) => match c.mentions(words) {
                Some(false) => {
                    let mut waiting = done(
                        Outcome::Analysed {
                            findings: Vec::new(),
                        },
                        0,
                    );
                    waiting.prefiltered_at = Some(file.path.clone());
                    return waiting;
                }
                Some(true) => c.before_reading(which),
                None => None,
            },
            None => c.before_reading(which),
        };
        if let Some((hit, digest)) = known {
            return finish(hit, || digest, model, &file.path);
        }
    }
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
    // Hashed only for the cache (a run without one hashes only the files offering fixes).
    let digest = cached.as_ref().map(|_| cache::digest(&bytes));
    if let Some((c, digest)) = cached.as_ref().zip(digest.as_ref()) {
        // A later pass's entry stands only with what the file mentions: it is looked for again.
        let hit = match which {
            Which::First => c.after_reading(digest, len),
            Which::Later(_) => None,
        };
        if let Some((hit, digest)) = hit {
            return finish(hit, || digest, model, &file.path);
        }
    }
    let Ok(text) = String::from_utf8(bytes) else {
        return done(Outcome::NotAnalysed(NotAnalysed::NotUtf8), len);
    };
    let path = &file.path;
    let file = TextFile {
        path,
        display: &display,
        text: &text,
        explicit: file.explicit,
    };
    let standing = Standing {
        role,
        crate_info: &crate_info,
        place: &place,
    };
    let analysed = analyse_text(engine, levels, &file, &standing, options, pass);
    if let Some((c, digest)) = cached.as_ref().zip(digest.as_ref()) {
        match words {
            // Left out before the words were looked for (generated): nothing to keep.
            Some(_) if matches!(analysed.result.outcome, Outcome::Exempt(_)) => {}
            Some(words) => {
                // Not parsed: it mentions none of the words.
                let mentions = analysed.prefiltered_at.is_none();
                c.store_mentions(words, digest, mentions);
                if mentions {
                    c.store(which, digest, &analysed);
                }
            }
            None => c.store(which, digest, &analysed),
        }
    }
    let digest = || digest.unwrap_or_else(|| cache::digest(text.as_bytes()));
    finish(analysed, digest, model, path)
}

/// The steps after a file's own analysis, which depend on other files and so are never cached:
/// the findings of serving-scoped rules left out in tools (after the suppressions were matched:
/// a comment that covers such a finding is still used), the candidates left with nothing to
/// decide, and the digest `--fix` checks.
fn finish(
    mut analysed: Analysed,
    digest: impl FnOnce() -> cache::FileDigest,
    model: &CrateModel,
    path: &Path,
) -> Analysed {
    if let Outcome::Analysed { findings } = &mut analysed.result.outcome {
        analysed.left_out_in_tools = leave_out_in_tools(findings, model, path);
        // A candidate whose finding was suppressed or left out has nothing left to decide.
        analysed.result.candidates.retain(|c| {
            findings
                .iter()
                .any(|f| f.region == c.region && f.rule == c.rule)
        });
        // `--fix` writes only over the bytes the fixes were computed from.
        analysed.result.digest = findings.iter().any(|f| f.fix.is_some()).then(digest);
    }
    analysed
}

/// A file's place in the cache: its stamp, taken before it is read, and its context fingerprint.
struct Cached<'a> {
    cache: &'a Cache,
    path: &'a Path,
    display: &'a str,
    unit: &'a str,
    role: Role,
    stamp: Option<cache::Stamp>,
    context: cache::Fingerprint,
}

impl<'a> Cached<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        cache: &'a Cache,
        engine: &Engine,
        levels: &Levels,
        options: &RunOptions,
        file: &'a SourceFile,
        display: &'a str,
        role: Role,
        crate_info: &std::sync::Arc<crate::manifest::CrateInfo>,
        place: &'a Place,
    ) -> Cached<'a> {
        let file_levels = options.config.file_levels(&file.path, &crate_info.levels);
        let level_of = |rule: &str| levels.get_for(rule, Some(&file_levels));
        let context = cache::entry::result_context(
            cache,
            engine,
            &options.config,
            &level_of,
            options.include_generated,
            options.max_file_bytes,
            crate_info,
            place,
            &format!("{role:?}"),
            display,
            file.explicit,
        );
        Cached {
            cache,
            path: &file.path,
            display,
            unit: &place.unit,
            role,
            stamp: cache.stamp_of(&file.path),
            context,
        }
    }

    fn owner(&self) -> cache::entry::Owner<'_> {
        cache::entry::Owner {
            display: self.display,
            unit: self.unit,
        }
    }

    /// Whether the file mentions `words`, when a run found it for these bytes (the file is not
    /// read).
    fn mentions(&self, words: &Mentions) -> Option<bool> {
        let slot = mentions_slot(words);
        let hit = self.cache.lookup_slot::<bool>(
            cache::Kind::Later,
            self.path,
            &slot,
            &self.context,
            self.stamp,
            None,
        );
        hit.map(|(mentions, _)| mentions)
    }

    fn store_mentions(&self, words: &Mentions, digest: &cache::FileDigest, mentions: bool) {
        let slot = mentions_slot(words);
        self.cache.store_slot(
            cache::Kind::Later,
            self.path,
            &slot,
            &self.context,
            self.stamp,
            digest,
            &mentions,
        );
    }

    /// The entry when the file's stamp is the one recorded: the file is not read.
    fn before_reading(&self, which: Which<'_>) -> Option<(Analysed, cache::FileDigest)> {
        let owner = self.owner();
        let hit = cache::entry::lookup(
            self.cache,
            which,
            self.path,
            &owner,
            &self.context,
            self.stamp,
            None,
        );
        let (entry, digest) = hit?;
        if let Which::First = which {
            self.cache.count(true);
        }
        let len = self.stamp.map_or(0, |s| s.size());
        Some((self.analysed_from(entry, len), digest))
    }

    /// The entry computed from these bytes (stored again under the file's new stamp).
    fn after_reading(
        &self,
        digest: &cache::FileDigest,
        len: u64,
    ) -> Option<(Analysed, cache::FileDigest)> {
        let owner = self.owner();
        let Some((entry, _)) = cache::entry::lookup(
            self.cache,
            Which::First,
            self.path,
            &owner,
            &self.context,
            None,
            Some(digest),
        ) else {
            self.cache.count(false);
            return None;
        };
        self.cache.count(true);
        cache::entry::store(
            self.cache,
            Which::First,
            self.path,
            &self.context,
            self.stamp,
            digest,
            &entry,
        );
        Some((self.analysed_from(entry, len), *digest))
    }

    fn store(&self, which: Which<'_>, digest: &cache::FileDigest, analysed: &Analysed) {
        let outcome = match &analysed.result.outcome {
            Outcome::Analysed { findings } => cache::entry::Outcome::Analysed(findings.clone()),
            Outcome::NotAnalysed(reason) => cache::entry::Outcome::NotAnalysed(reason.clone()),
            Outcome::Exempt(Exempt::Generated) => cache::entry::Outcome::Generated,
            Outcome::Exempt(Exempt::TestCode)
                if analysed.test_reason == Some(TestReason::TestNamed) =>
            {
                cache::entry::Outcome::TestNamed
            }
            Outcome::Exempt(_) => return,
        };
        let entry = cache::entry::FileEntry {
            outcome,
            prefiltered: analysed.result.prefiltered,
            suppressed: analysed.result.suppressed.clone(),
            test_modules: analysed.test_modules.clone(),
            summary: analysed.summary.clone(),
            candidates: analysed
                .result
                .candidates
                .iter()
                .map(|c| (c.rule.clone(), c.region, c.pending.clone()))
                .collect(),
        };
        cache::entry::store(
            self.cache,
            which,
            self.path,
            &self.context,
            self.stamp,
            digest,
            &entry,
        );
    }

    fn analysed_from(&self, entry: cache::entry::FileEntry, len: u64) -> Analysed {
        let mut test_reason = None;
        let outcome = match entry.outcome {
            cache::entry::Outcome::Analysed(findings) => Outcome::Analysed { findings },
            cache::entry::Outcome::NotAnalysed(reason) => Outcome::NotAnalysed(reason),
            cache::entry::Outcome::Generated => Outcome::Exempt(Exempt::Generated),
            cache::entry::Outcome::TestNamed => {
                test_reason = Some(TestReason::TestNamed);
                Outcome::Exempt(Exempt::TestCode)
            }
        };
        let mut analysed = Analysed::new(self.path, self.display, self.unit, outcome, len);
        analysed.test_reason = test_reason;
        analysed.result.prefiltered = entry.prefiltered;
        analysed.result.suppressed = entry.suppressed;
        analysed.result.candidates = entry
            .candidates
            .into_iter()
            .map(|(rule, region, pending)| Candidate {
                rule,
                region,
                pending,
            })
            .collect();
        analysed.summary = entry.summary;
        // As `analyse_text` leaves it: the join parses it later if it names what is wanted.
        analysed.prefiltered_at = entry.prefiltered.then(|| self.path.to_path_buf());
        // As `analyse_text` keeps them: only loose files judge each other by their declarations.
        if self.role == Role::Plain {
            analysed.test_modules = entry.test_modules;
        }
        analysed
    }
}

/// The slot of a file's entry that says whether it mentions `words` (by a digest of them).
fn mentions_slot(words: &Mentions) -> String {
    let print = cache::fingerprint([words.spelled()]).hex();
    format!("mentions:{}", print.get(..32).unwrap_or(&print))
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
    let unit = model.place(path).unit;
    match placement(model, path, options) {
        Placed::Skip(exempt, _) => {
            Analysed::new(path, &display, &unit, Outcome::Exempt(exempt), 0).result
        }
        // As a run skips the file on disk above the limit.
        Placed::Lint(..) if bytes > options.max_file_bytes => {
            let too_large = NotAnalysed::TooLarge {
                bytes,
                limit: options.max_file_bytes,
            };
            Analysed::new(
                path,
                &display,
                &unit,
                Outcome::NotAnalysed(too_large),
                bytes,
            )
            .result
        }
        Placed::Lint(role, crate_info) => {
            let file = TextFile {
                path,
                display: &display,
                text,
                explicit: false,
            };
            let place = model.place(path);
            let standing = Standing {
                role,
                crate_info: &crate_info,
                place: &place,
            };
            // An editor's buffer is judged by its own summary: a candidate that needs another
            // file's (a callee that spawns) is dropped, as a run without that file would.
            let analysed = analyse_text(engine, levels, &file, &standing, options, Pass::Lint);
            let analysed = finish(analysed, || cache::digest(text.as_bytes()), model, path);
            let join = Join::new(analysed.summary.into_iter().collect::<Vec<_>>());
            let mut result = analysed.result;
            decide_file(&mut result, &join);
            result
        }
    }
}

impl Analysed {
    fn new(path: &Path, display: &str, unit: &str, outcome: Outcome, bytes: u64) -> Analysed {
        Analysed {
            result: FileResult {
                path: path.to_path_buf(),
                display: display.to_owned(),
                outcome,
                prefiltered: false,
                suppressed: Vec::new(),
                digest: None,
                candidates: Vec::new(),
                unit: unit.to_owned(),
            },
            test_reason: None,
            test_modules: Vec::new(),
            bytes,
            left_out_in_tools: 0,
            summary: None,
            prefiltered_at: None,
        }
    }
}

/// Where a file stands for its analysis: its role, its crate's facts, its place in the crate.
struct Standing<'a> {
    role: Role,
    crate_info: &'a crate::manifest::CrateInfo,
    place: &'a Place,
}

fn analyse_text(
    engine: &Engine,
    levels: &Levels,
    file: &TextFile<'_>,
    standing: &Standing<'_>,
    options: &RunOptions,
    pass: Pass<'_>,
) -> Analysed {
    let Standing {
        role,
        crate_info,
        place,
    } = *standing;
    let TextFile {
        path,
        display,
        text,
        explicit,
    } = *file;
    let len = text.len() as u64;
    let done = |outcome| Analysed::new(path, display, &place.unit, outcome, len);
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
    if let Pass::Reparse(words) | Pass::Relint(words) | Pass::Dependent(words, _) = pass {
        if !words.matches(text) {
            let mut waiting = done(Outcome::Analysed {
                findings: Vec::new(),
            });
            waiting.prefiltered_at = Some(path.to_path_buf());
            return waiting;
        }
    }
    let analysis = catch_unwind(AssertUnwindSafe(|| {
        if explicit
            || matches!(
                pass,
                Pass::Reparse(_) | Pass::Relint(_) | Pass::Dependent(..)
            )
        {
            engine.analyze_parsed_at(text, crate_info, place)
        } else {
            engine.analyze_at(text, crate_info, place)
        }
    }));
    match analysis {
        Ok(Ok(FileAnalysis {
            findings,
            test_modules,
            prefiltered,
            item_ranges,
            summary,
        })) => {
            let summary = (!prefiltered).then(|| resolve_summary(summary, text, display, place));
            if matches!(
                pass,
                Pass::Summarise | Pass::Reparse(_) | Pass::Dependent(..)
            ) {
                let mut side = done(Outcome::Analysed {
                    findings: Vec::new(),
                });
                side.summary = summary;
                side.prefiltered_at = prefiltered.then(|| path.to_path_buf());
                return side;
            }
            let file_levels = options.config.file_levels(path, &crate_info.levels);
            let level_of = |rule: &str| levels.get_for(rule, Some(&file_levels));
            let (mut findings, mut candidates) =
                resolve_findings(findings, text, display, level_of);
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
                findings.extend(resolve_findings(meta, text, display, level_of).0);
                findings.sort_by(|a, b| (a.region, &a.rule).cmp(&(b.region, &b.rule)));
            }
            // A candidate whose finding was suppressed has nothing left to decide (nor one whose
            // finding is left out in a tool: [`finish`]).
            candidates.retain(|c| {
                findings
                    .iter()
                    .any(|f| f.region == c.region && f.rule == c.rule)
            });
            let mut analysed = done(Outcome::Analysed { findings });
            // Only loose files judge each other by their declarations.
            if role == Role::Plain {
                analysed.test_modules = test_modules;
            }
            analysed.result.prefiltered = prefiltered;
            analysed.result.suppressed = suppressed;
            analysed.result.candidates = candidates;
            analysed.summary = summary;
            analysed.prefiltered_at = prefiltered.then(|| path.to_path_buf());
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
/// Candidates come back apart, by the region and rule of their finding (a finding with no
/// condition wins over a candidate at the same place).
fn resolve_findings(
    raw: Vec<Reported>,
    text: &str,
    display: &str,
    level_of: impl Fn(&str) -> Level,
) -> (Vec<Finding>, Vec<Candidate>) {
    if raw.is_empty() {
        // Most files: no line index to build.
        return (Vec::new(), Vec::new());
    }
    let index = LineIndex::new(text);
    let mut findings: Vec<(Finding, Option<Pending>)> = raw
        .into_iter()
        .filter_map(
            |Reported {
                 finding: r,
                 medium_reason,
                 condition,
             }| {
                let level = level_of(r.rule);
                (level != Level::Allow).then(|| {
                    (
                        Finding {
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
                                    path: None,
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
                        },
                        condition,
                    )
                })
            },
        )
        .collect();
    findings.sort_by(|(a, ca), (b, cb)| {
        (a.region, &a.rule, ca.is_some()).cmp(&(b.region, &b.rule, cb.is_some()))
    });
    findings.dedup_by(|(a, _), (b, _)| a.region == b.region && a.rule == b.rule);
    let mut candidates = Vec::new();
    let mut findings: Vec<Finding> = findings
        .into_iter()
        .map(|(f, pending)| {
            if let Some(pending) = pending {
                candidates.push(Candidate {
                    rule: f.rule.clone(),
                    region: f.region,
                    pending,
                });
            }
            f
        })
        .collect();
    let mut occurrences: HashMap<(String, String), usize> = HashMap::new();
    for f in &mut findings {
        let line = normalise_line(index.line_text(f.region.start.line));
        let k = occurrences
            .entry((f.rule.clone(), line.clone()))
            .or_default();
        f.fingerprint = fingerprint(&f.rule, &line, *k);
        *k += 1;
    }
    (findings, candidates)
}

/// A file's summary with regions instead of byte ranges.
fn resolve_summary(
    raw: crate::engine::summary::RawSummary,
    text: &str,
    display: &str,
    place: &Place,
) -> FileSummary {
    let index = LineIndex::new(text);
    let path: std::sync::Arc<str> = display.into();
    let site = |range| Site {
        path: path.clone(),
        region: index.region(range),
    };
    FileSummary {
        unit: place.unit.clone(),
        functions: raw.functions,
        facts: raw
            .facts
            .into_iter()
            .map(|(key, kind, range)| (key, kind, site(range)))
            .collect(),
        calls: raw
            .calls
            .into_iter()
            .map(|c| crate::engine::summary::CallSite {
                caller: c.caller,
                callee: c.callee,
                under_timeout: c.under_timeout,
                detached: c.detached,
                pace: c.pace,
                args: c.args,
                at: site(c.range),
            })
            .collect(),
    }
}

/// Lints again the linted files the prefilter skipped that name a function with a summarised
/// fact (it spawns per call, returns a builder), or a function that calls one through other
/// skipped files (found lexically, [`chain_callers`]): a call to it may be a finding, and such a
/// file need have no rule's anchor word. The words come from the summaries, never from a list;
/// the join then reads the links of the chain for their summaries. Returns how many files it
/// read again.
fn relint_callers(
    engine: &Engine,
    levels: &Levels,
    model: &CrateModel,
    options: &RunOptions,
    tally: &mut Tally,
    cache: Option<&Cache>,
) -> usize {
    let mut groups: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    for (key, kind, _) in tally.side.summaries.iter().flat_map(|s| s.facts.iter()) {
        let context = engine.candidate_context(kind);
        if !context.is_empty() {
            groups
                .entry(context)
                .or_default()
                .insert(crate::engine::summary::last_name(key).to_owned());
        }
    }
    if groups.is_empty() || tally.lint_prefiltered.is_empty() {
        return 0;
    }
    let mut waiting = std::mem::take(&mut tally.lint_prefiltered);
    waiting.sort();
    // A call to any link of a chain can be the finding, where the context words are (a rule
    // follows one kind of fact to callers today, so links are not told apart by their fact).
    let links = chain_callers(&tally.side.summaries, &groups, &waiting, options);
    for names in groups.values_mut() {
        names.extend(links.iter().cloned());
    }
    let words = Mentions::new(groups);
    let read = waiting.len();
    let results: Vec<Analysed> = waiting
        .into_par_iter()
        .map(|path| {
            let file = SourceFile {
                path,
                explicit: false,
            };
            analyse_file(
                engine,
                levels,
                model,
                &file,
                options,
                Pass::Relint(&words),
                cache,
            )
        })
        .collect();
    for a in results {
        tally.relinted(a);
    }
    read
}

/// The functions that call one of `groups`' functions, directly or through others, as far as
/// the summaries at hand and a lexical reading of the skipped files `waiting` show (up to
/// [`crate::engine::summary::MAX_CHAIN`] links): a helper of the spawning helper in a file the
/// prefilter skipped would otherwise leave the loop that calls it, in another skipped file,
/// unread. Reading a file is cheap; parsing it is what the prefilter saves.
fn chain_callers(
    summaries: &[crate::engine::summary::FileSummary],
    groups: &BTreeMap<Vec<String>, BTreeSet<String>>,
    waiting: &[PathBuf],
    options: &RunOptions,
) -> BTreeSet<String> {
    use crate::engine::summary::last_name;
    let facts: BTreeSet<String> = groups.values().flatten().cloned().collect();
    let mut known = facts.clone();
    let mut frontier = facts.clone();
    for _ in 0..crate::engine::summary::MAX_CHAIN {
        let mut found: BTreeSet<String> = summaries
            .iter()
            .flat_map(|s| s.calls.iter())
            .filter(|c| {
                c.callee
                    .first()
                    .is_some_and(|k| frontier.contains(last_name(k)))
            })
            .filter_map(|c| c.caller.as_deref().map(|k| last_name(k).to_owned()))
            .collect();
        let from_text: Vec<BTreeSet<String>> = waiting
            .par_iter()
            .filter_map(|path| input::read_regular_text(path, options.max_file_bytes).ok())
            .map(|text| crate::engine::prefilter::lexical_callers(&text, &frontier))
            .collect();
        found.extend(from_text.into_iter().flatten());
        found.retain(|name| !known.contains(name));
        if found.is_empty() {
            break;
        }
        known.extend(found.iter().cloned());
        frontier = found;
    }
    known.retain(|name| !facts.contains(name));
    known
}

use crate::engine::summary::MAX_CHAIN;

/// The words of a file that builds an axum router or its request timeout layer.
const ROUTER_WORDS: &[&str] = &["Router", "route", "TimeoutLayer", "ServiceBuilder"];

/// Most rounds of re-reading prefiltered files for the names the join follows (each follows
/// one more link of a chain of calls).
const MAX_SUMMARY_ROUNDS: usize = 3;

/// The mentions of `wanted` not `asked` for in an earlier round (now counted as asked), grouped
/// by context; None when every one was asked already.
fn fresh_mentions(
    wanted: &BTreeSet<(Vec<String>, String)>,
    asked: &mut BTreeSet<(Vec<String>, String)>,
) -> Option<Mentions> {
    let fresh: Vec<(Vec<String>, String)> = wanted.difference(asked).cloned().collect();
    if fresh.is_empty() {
        return None;
    }
    let mut groups: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    for (context, name) in &fresh {
        groups
            .entry(context.clone())
            .or_default()
            .insert(name.clone());
    }
    asked.extend(fresh);
    Some(Mentions::new(groups))
}

/// Joins the summaries of the run. A candidate the files read so far cannot settle (no caller
/// not bounded by a timeout is in view; the callee's summary does not say it spawns) may be
/// settled by a file the prefilter skipped: such files are parsed for their summaries when they
/// name the function (and, each round, one more link of the chain: the callers of an unguarded
/// call, the functions the callee calls).
fn join_summaries(
    engine: &Engine,
    levels: &Levels,
    model: &CrateModel,
    options: &RunOptions,
    kept: &[FileResult],
    side: SideTally,
    cache: Option<&Cache>,
) -> Join {
    let SideTally {
        mut summaries,
        prefiltered,
    } = side;
    let pending: Vec<(&str, &Condition)> = kept
        .iter()
        .flat_map(|r| {
            r.candidates
                .iter()
                .map(|c| (r.unit.as_str(), &c.pending.condition))
        })
        .collect();
    let units: HashSet<&str> = pending.iter().map(|(u, _)| *u).collect();
    // Only the units with a candidate to decide need their summaries joined: the others' are
    // dropped here, before the join indexes them (most of a large tree's).
    summaries.retain(|s| units.contains(s.unit.as_str()));
    let mut join = Join::new(summaries);
    if pending.is_empty() {
        return join;
    }
    // Each unit's function names (lexical), from any of its files.
    let fn_names: HashMap<&str, std::sync::Arc<crate::engine::summary::NameSet>> = kept
        .iter()
        .filter(|r| !r.candidates.is_empty())
        .filter_map(|r| Some((r.unit.as_str(), model.place(&r.path).fn_names?)))
        .collect();
    let mut waiting: Vec<PathBuf> = prefiltered
        .into_iter()
        .filter(|p| units.contains(model.place(p).unit.as_str()))
        .collect();
    waiting.sort();
    let mut asked: BTreeSet<(Vec<String>, String)> = BTreeSet::new();
    // In a unit whose routers register handlers, a chain of calls up to a handler may be longer
    // than the rounds other chains take: its rounds go on as far as the join follows a chain.
    for round in 0..MAX_CHAIN.max(MAX_SUMMARY_ROUNDS) {
        if waiting.is_empty() {
            break;
        }
        let mut wanted: BTreeSet<(Vec<String>, String)> = BTreeSet::new();
        for (unit, condition) in &pending {
            let handlers = join.has_handlers(unit);
            if round >= MAX_SUMMARY_ROUNDS
                && !(handlers && matches!(condition, Condition::SomeCallerUnguarded { .. }))
            {
                continue;
            }
            let decision = join.decide(unit, condition);
            let (start, up) = match condition {
                Condition::SomeCallerUnguarded { function } => {
                    // The files that build the unit's axum routers decide whether a handler's
                    // calls are bounded: all of them, once a handler is seen.
                    if handlers {
                        for word in ROUTER_WORDS {
                            wanted.insert((Vec::new(), (*word).to_owned()));
                        }
                    }
                    if decision.holds && decision.evidence.is_some() && !decision.open {
                        continue;
                    }
                    (vec![function.clone()], true)
                }
                Condition::CallersFeed { functions, .. } => {
                    if decision.upgrade.is_some() {
                        continue;
                    }
                    (functions.clone(), true)
                }
                Condition::CalleeSpawns { callee } => {
                    if decision.holds {
                        continue;
                    }
                    (callee.clone(), false)
                }
                // The functions a sender is passed to (and, each round, the ones they call).
                Condition::CalleeFeeds { targets, .. } => {
                    if decision.upgrade.is_some() || !decision.holds {
                        continue;
                    }
                    (
                        targets.iter().flat_map(|(keys, _)| keys.clone()).collect(),
                        false,
                    )
                }
                // The functions whose callers give the address, and the connect's own function
                // (for the callers that bound it).
                Condition::RemotePeer { params, and } => {
                    if !decision.holds || (decision.also.is_some() && decision.evidence.is_some()) {
                        continue;
                    }
                    let prefix = format!("{unit}#");
                    let mut start: Vec<String> = join
                        .open_address_functions(unit, params)
                        .into_iter()
                        .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
                        .collect();
                    if let Some(Condition::SomeCallerUnguarded { function }) = and.as_deref() {
                        start.push(function.clone());
                    }
                    (start, true)
                }
                // A function that returns a client builder names the client library: its file
                // was parsed.
                Condition::CalleeReturnsBuilderWithoutTimeout { .. } => continue,
                // The feeding file names the struct and the field.
                Condition::FieldFed { owner, field }
                | Condition::FieldHoldsDefaultClient { owner, field } => {
                    if decision.evidence.is_none() {
                        wanted.insert((vec![owner.clone()], field.clone()));
                    }
                    continue;
                }
            };
            let mut keys = start.clone();
            let mut frontier = start;
            for _ in 0..round {
                frontier = frontier
                    .iter()
                    .flat_map(|k| {
                        if up {
                            join.unguarded_callers(unit, k)
                        } else {
                            join.callees(unit, k)
                        }
                    })
                    .collect();
                keys.extend(frontier.iter().cloned());
            }
            for key in &keys {
                // A receiver of unknown type reaches only a method the unit has one of; and a
                // name no file of the package defines after `fn` names nothing of it.
                // The only method of its name, when it is one, is read already.
                if key.starts_with("<?>::") {
                    continue;
                }
                // A name (or a method's type) no file of the package defines names nothing of it.
                let (context, name) = mention_of(key, up);
                let names = fn_names.get(unit);
                let defined = |n: &str| names.is_none_or(|names| names.contains(n));
                if !defined(&name) || (key.starts_with('<') && !context.iter().all(|t| defined(t)))
                {
                    continue;
                }
                // A callee whose summary is in: its definition is read already.
                if !up && join.defines_in(unit, key) {
                    continue;
                }
                wanted.insert((context, name));
            }
        }
        let Some(words) = fresh_mentions(&wanted, &mut asked) else {
            break;
        };
        let side = waiting
            .par_iter()
            .map(|path| {
                let file = SourceFile {
                    path: path.clone(),
                    explicit: false,
                };
                analyse_file(
                    engine,
                    levels,
                    model,
                    &file,
                    options,
                    Pass::Reparse(&words),
                    cache,
                )
            })
            .fold(SideTally::default, |mut side, a| {
                side.add(a.summary, a.prefiltered_at);
                side
            })
            .reduce(SideTally::default, SideTally::merge);
        join.add(side.summaries);
        waiting = side.prefiltered;
        waiting.sort();
    }
    read_dependents(engine, levels, model, options, &pending, &mut join);
    join
}

/// Reads, for the candidates whose peer's address comes from callers out of view
/// ([`Condition::RemotePeer`]), the files of the workspace members that link the unit's library
/// and name one of the functions that give the address (and, each round, the callers whose own
/// parameters they pass on). Their files are in the unit's cache key ([`UnitKey`]).
fn read_dependents(
    engine: &Engine,
    levels: &Levels,
    model: &CrateModel,
    options: &RunOptions,
    pending: &[(&str, &Condition)],
    join: &mut Join,
) {
    let open = |join: &Join| -> Vec<(String, String)> {
        let mut keys = Vec::new();
        for (unit, condition) in pending {
            let Condition::RemotePeer { params, .. } = condition else {
                continue;
            };
            let decision = join.decide(unit, condition);
            if !decision.holds || decision.also.is_some() {
                continue;
            }
            for key in join.open_address_functions(unit, params) {
                keys.push((unit.to_string(), key));
            }
        }
        keys
    };
    let first = open(join);
    let Some(unit) = first.first().map(|(u, _)| u.clone()) else {
        return;
    };
    let Some((lib, mut waiting)) = model.dependent_files(&unit) else {
        return;
    };
    let foreign = (lib, unit);
    let mut asked: BTreeSet<(Vec<String>, String)> = BTreeSet::new();
    let mut keys = first;
    for _ in 0..MAX_SUMMARY_ROUNDS {
        if waiting.is_empty() {
            break;
        }
        let wanted: BTreeSet<(Vec<String>, String)> = keys
            .iter()
            .filter_map(|(_, key)| key.split_once('#').map(|(_, k)| k))
            .filter(|k| !k.starts_with("<?>::"))
            .map(|k| mention_of(k, true))
            .collect();
        let Some(words) = fresh_mentions(&wanted, &mut asked) else {
            break;
        };
        let side = waiting
            .par_iter()
            .map(|path| {
                let file = SourceFile {
                    path: path.clone(),
                    explicit: false,
                };
                let pass = Pass::Dependent(&words, &foreign);
                analyse_file(engine, levels, model, &file, options, pass, None)
            })
            .fold(SideTally::default, |mut side, a| {
                side.add(a.summary, a.prefiltered_at);
                side
            })
            .reduce(SideTally::default, SideTally::merge);
        join.add(side.summaries);
        waiting = side.prefiltered;
        waiting.sort();
        keys = open(join);
    }
}

/// What a file must mention to hold a call to `key` (`call`) or its definition: its name, and
/// for a method of a named type that type's name too (a call the join follows names the type:
/// `Self`, a typed field, a path; a definition is in an `impl` of it).
fn mention_of(key: &str, call: bool) -> (Vec<String>, String) {
    let name = crate::engine::summary::last_name(key).to_owned();
    // `<Conn>::open`, or a path through a type: `net::Conn::open`; a free function of a module
    // is named through that module (`net::dial`, `use crate::net::dial`) or `super`.
    let context = match key.strip_prefix('<') {
        Some(rest) => rest
            .split_once(">::")
            .map(|(ty, _)| ty.to_owned())
            .filter(|ty| ty != "?")
            .into_iter()
            .collect(),
        None => match key.rsplit("::").nth(1) {
            Some(ty) if ty.starts_with(|c: char| c.is_ascii_uppercase()) => vec![ty.to_owned()],
            Some(module) if call => vec![module.to_owned(), "super".to_owned()],
            _ => Vec::new(),
        },
    };
    (context, name)
}

/// Keeps or drops each candidate as the join decides, with a label at the other file's evidence;
/// files left with nothing to report are dropped.
fn decide_candidates(kept: &mut Vec<FileResult>, join: &Join) {
    for result in kept.iter_mut() {
        decide_file(result, join);
    }
    kept.retain(|r| match &r.outcome {
        Outcome::Analysed { findings } => !findings.is_empty() || !r.suppressed.is_empty(),
        _ => true,
    });
}

/// Keeps or drops each candidate of one file as the join decides.
fn decide_file(result: &mut FileResult, join: &Join) {
    let candidates = std::mem::take(&mut result.candidates);
    let Outcome::Analysed { findings } = &mut result.outcome else {
        return;
    };
    for c in candidates {
        let decision = join.decide(&result.unit, &c.pending.condition);
        let at = findings
            .iter()
            .position(|f| f.region == c.region && f.rule == c.rule);
        let Some(at) = at else { continue };
        if !decision.holds {
            findings.remove(at);
            continue;
        }
        let mut evidence_message = decision
            .label
            .clone()
            .unwrap_or_else(|| c.pending.evidence.clone());
        if let Some((message, per)) = decision.upgrade {
            let finding = &mut findings[at];
            finding.message = message;
            finding.confidence = crate::diag::Confidence::High;
            finding.confidence_reason = None;
            evidence_message = evidence_message.replace("{per}", &per);
        }
        if let Some(evidence) = decision.evidence {
            let path = (*evidence.path != *result.display).then(|| evidence.path.to_string());
            findings[at].labels.push(Label {
                region: evidence.region,
                message: evidence_message,
                path,
            });
        }
        if let Some((evidence, message)) = decision.also {
            let path = (*evidence.path != *result.display).then(|| evidence.path.to_string());
            findings[at].labels.push(Label {
                region: evidence.region,
                message,
                path,
            });
        }
    }
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
