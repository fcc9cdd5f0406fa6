//! A file's analysis outcome as the cache stores it, and the fingerprint of what decides it
//! besides the file's bytes. The stored form is private: the finding model's own serde form is
//! the JSON report's, which leaves out byte offsets that `--fix` needs.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Cache, FileDigest, Fingerprint, Kind, Stamp};
use crate::catalogue::{self, Catalogue};
use crate::config::Config;
use crate::diag::{
    Applicability, Confidence, Edit, Finding, Fix, Label, Level, NotAnalysed, Position, Region,
    Suppressed, SuppressedBy,
};
use crate::engine::summary::{
    AddrShape, CallPace, CallSite, FactKind, FileSummary, Pending, Place, Site,
};
use crate::engine::{Engine, TestModule};
use crate::manifest::CrateInfo;

/// How a file's analysis ended, for the outcomes that depend only on its bytes and context.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Analysed(Vec<Finding>),
    NotAnalysed(NotAnalysed),
    /// Its header says `@generated`.
    Generated,
    /// Its path names it test code.
    TestNamed,
}

/// One file's cached analysis (before the cross-file steps of the run): what it reports and
/// what it gives the join (its summary, and the findings the join decides).
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub outcome: Outcome,
    pub prefiltered: bool,
    pub suppressed: Vec<Suppressed>,
    pub test_modules: Vec<TestModule>,
    /// Its summary when it was parsed (its sites are in this file).
    pub summary: Option<FileSummary>,
    /// (rule, region of the finding, its condition): findings another file's summary decides.
    pub candidates: Vec<(String, Region, Pending)>,
}

/// Where the entry of a file is read back: its display path (its summary's sites are in it)
/// and its unit.
pub struct Owner<'a> {
    pub display: &'a str,
    pub unit: &'a str,
}

/// Which of a file's entries: the first pass's, or a later pass's analysis of a file the
/// prefilter skipped (in `slot`).
#[derive(Clone, Copy)]
pub enum Which<'a> {
    First,
    Later(&'a str),
}

impl Which<'_> {
    fn kind_and_slot(&self) -> (Kind, &str) {
        match self {
            Which::First => (Kind::Result, ""),
            Which::Later(slot) => (Kind::Later, slot),
        }
    }
}

/// The entry for `path` (see [`Cache::lookup`]).
pub fn lookup(
    cache: &Cache,
    which: Which<'_>,
    path: &Path,
    owner: &Owner<'_>,
    context: &Fingerprint,
    stamp: Option<Stamp>,
    digest: Option<&FileDigest>,
) -> Option<(FileEntry, FileDigest)> {
    let (kind, slot) = which.kind_and_slot();
    let (wire, digest) =
        cache.lookup_slot::<WireEntry>(kind, path, slot, context, stamp, digest)?;
    Some((wire.into_entry(owner)?, digest))
}

/// Stores `entry` for `path` (outcomes that do not depend on the bytes alone are not stored).
#[allow(clippy::too_many_arguments)]
pub fn store(
    cache: &Cache,
    which: Which<'_>,
    path: &Path,
    context: &Fingerprint,
    stamp: Option<Stamp>,
    digest: &FileDigest,
    entry: &FileEntry,
) {
    let (kind, slot) = which.kind_and_slot();
    if let Some(wire) = WireEntry::from_entry(entry) {
        cache.store_slot(kind, path, slot, context, stamp, digest, &wire);
    }
}

/// The fingerprint of everything but the bytes that decides a file's outcome: the tool build
/// (the store's), the engine's settings, the configuration's rule options and API extensions,
/// the level of every rule for this file (configuration, package table, overrides and flags),
/// whether generated files are linted, the size limit, the file's crate facts, role and display
/// path, and whether it was named on the command line. `--min-confidence` is applied after the cache.
#[allow(clippy::too_many_arguments)]
pub fn result_context(
    cache: &Cache,
    engine: &Engine,
    config: &Config,
    level_of: &dyn Fn(&str) -> Level,
    include_generated: bool,
    max_file_bytes: u64,
    crate_info: &Arc<CrateInfo>,
    place: &Place,
    role: &str,
    display: &str,
    explicit: bool,
) -> Fingerprint {
    // The same for every file of the run: computed once.
    let run = cache.memo.run.get_or_init(|| {
        let settings = format!(
            "tests={} prefilter={} generated={include_generated} max-bytes={max_file_bytes}",
            engine.include_tests,
            engine.prefilter.is_some()
        );
        let options = format!("{:?}", config.options);
        let api = format!("{:?}", config.api);
        super::fingerprint([settings.as_str(), &options, &api])
    });
    let facts = cache
        .memo
        .crate_facts(crate_info, || super::fingerprint([crate_facts(crate_info)]));
    // The summary records only the method calls some file of the unit can answer: the unit's
    // names decide it (an edit that defines a new name re-reads the unit's files).
    let names = match &place.fn_names {
        // A NameSet iterates in sorted order: the fingerprint does not depend on how it was built.
        Some(names) => cache
            .memo
            .unit_names(names, || super::fingerprint(names.iter())),
        None => super::fingerprint(["all"]),
    };
    let place_text = format!(
        "unit={:?} module={:?} lib={:?}",
        place.unit, place.module, place.lib_name
    );
    let mut levels = String::with_capacity(512);
    for rule in Catalogue::global()
        .rules
        .iter()
        .map(|r| r.id.as_str())
        .chain([
            catalogue::INVALID_SUPPRESSION,
            catalogue::UNUSED_SUPPRESSION,
        ])
    {
        levels.push_str(rule);
        levels.push('=');
        levels.push_str(level_of(rule).as_str());
        levels.push(';');
    }
    let explicit: &[u8] = if explicit { b"explicit" } else { b"found" };
    super::fingerprint([
        &run.0[..],
        &facts.0,
        &names.0,
        place_text.as_bytes(),
        levels.as_bytes(),
        role.as_bytes(),
        display.as_bytes(),
        explicit,
    ])
}

/// The crate facts in a deterministic order (their maps are hash maps).
fn crate_facts(info: &CrateInfo) -> String {
    let sorted = |m: &std::collections::HashMap<String, String>| {
        format!("{:?}", m.iter().collect::<BTreeMap<_, _>>())
    };
    format!(
        "renames={} versions={} reexports={:?} root={:?} built={:?} levels={:?}",
        sorted(&info.renames),
        sorted(&info.versions),
        info.reexports,
        info.root,
        info.always_built.iter().collect::<BTreeMap<_, _>>(),
        info.levels
    )
}

#[derive(Serialize, Deserialize)]
pub(crate) enum WireOutcome {
    Analysed(Vec<WireFinding>),
    NotAnalysed(WireNotAnalysed),
    Generated,
    TestNamed,
}

/// In the store's compact binary form (a clean file's entry is a few bytes); a value that does
/// not decode is a miss.
#[derive(Serialize, Deserialize)]
struct WireEntry {
    outcome: WireOutcome,
    prefiltered: bool,
    /// (finding, silenced by the baseline rather than a comment).
    suppressed: Vec<(WireFinding, bool)>,
    test_modules: Vec<WireTestModule>,
    summary: Option<WireSummary>,
    /// (rule, region, condition).
    candidates: Vec<(String, WireRegion, Pending)>,
}

/// A file's summary; every site is in the file itself.
/// A call site on the wire: caller, callee keys, under a timeout, detached (in a closure or an
/// async block), how often it runs, the arguments that carry an address, where.
type WireCall = (
    Option<String>,
    Vec<String>,
    bool,
    bool,
    CallPace,
    Vec<(u16, AddrShape)>,
    WireRegion,
);

#[derive(Serialize, Deserialize)]
struct WireSummary {
    functions: Vec<String>,
    facts: Vec<(String, FactKind, WireRegion)>,
    /// (caller, callee keys, under a timeout, detached, pace, where).
    calls: Vec<WireCall>,
}

impl WireSummary {
    fn from_summary(s: &FileSummary) -> WireSummary {
        WireSummary {
            functions: s.functions.clone(),
            facts: s
                .facts
                .iter()
                .map(|(key, kind, site)| (key.clone(), kind.clone(), wire_region(&site.region)))
                .collect(),
            calls: s
                .calls
                .iter()
                .map(|c| {
                    (
                        c.caller.clone(),
                        c.callee.clone(),
                        c.under_timeout,
                        c.detached,
                        c.pace.clone(),
                        c.args.clone(),
                        wire_region(&c.at.region),
                    )
                })
                .collect(),
        }
    }

    fn into_summary(self, owner: &Owner<'_>) -> FileSummary {
        let path: Arc<str> = owner.display.into();
        let site = |r| Site {
            path: path.clone(),
            region: region(r),
        };
        FileSummary {
            unit: owner.unit.to_owned(),
            functions: self.functions,
            facts: self
                .facts
                .into_iter()
                .map(|(key, kind, r)| (key, kind, site(r)))
                .collect(),
            calls: self
                .calls
                .into_iter()
                .map(
                    |(caller, callee, under_timeout, detached, pace, args, r)| CallSite {
                        caller,
                        callee,
                        under_timeout,
                        detached,
                        pace,
                        args,
                        at: site(r),
                    },
                )
                .collect(),
        }
    }
}

/// The reasons that follow from the bytes alone (a read error, a size limit or a panic is not cached).
#[derive(Serialize, Deserialize)]
pub(crate) enum WireNotAnalysed {
    Syntax {
        line: u32,
        column: u32,
        message: String,
    },
    TooDeep {
        depth: usize,
        limit: usize,
    },
    TooManyTokens {
        tokens: usize,
        limit: usize,
    },
    FunctionTooLarge {
        line: u32,
        calls: usize,
        expressions: usize,
        limit: usize,
    },
}

/// (line, column, byte).
type WirePosition = (u32, u32, usize);
type WireRegion = (WirePosition, WirePosition);

#[derive(Serialize, Deserialize)]
pub(crate) struct WireFinding {
    rule: String,
    level: Level,
    path: String,
    region: WireRegion,
    message: String,
    help: String,
    /// (region, message, file when another than the finding's).
    labels: Vec<(WireRegion, String, Option<String>)>,
    confidence: Confidence,
    confidence_reason: Option<String>,
    fingerprint: String,
    fix: Option<WireFix>,
}

#[derive(Serialize, Deserialize)]
struct WireFix {
    message: String,
    /// `--fix` applies it (else only `--unsafe-fixes`).
    safe: bool,
    edits: Vec<(WireRegion, String)>,
}

fn wire_region(r: &Region) -> WireRegion {
    let p = |p: &Position| (p.line, p.column, p.byte);
    (p(&r.start), p(&r.end))
}

fn region((start, end): WireRegion) -> Region {
    let p = |(line, column, byte): WirePosition| Position { line, column, byte };
    Region {
        start: p(start),
        end: p(end),
    }
}

impl WireFinding {
    pub(crate) fn from_finding(f: &Finding) -> WireFinding {
        WireFinding {
            rule: f.rule.clone(),
            level: f.level,
            path: f.path.clone(),
            region: wire_region(&f.region),
            message: f.message.clone(),
            help: f.help.clone(),
            labels: f
                .labels
                .iter()
                .map(|l| (wire_region(&l.region), l.message.clone(), l.path.clone()))
                .collect(),
            confidence: f.confidence,
            confidence_reason: f.confidence_reason.clone(),
            fingerprint: f.fingerprint.clone(),
            fix: f.fix.as_ref().map(|fix| WireFix {
                message: fix.message.clone(),
                safe: fix.applicability == Applicability::Safe,
                edits: fix
                    .edits
                    .iter()
                    .map(|e| (wire_region(&e.region), e.replacement.clone()))
                    .collect(),
            }),
        }
    }

    fn into_finding(self) -> Finding {
        Finding {
            rule: self.rule,
            level: self.level,
            path: self.path,
            region: region(self.region),
            message: self.message,
            help: self.help,
            labels: self
                .labels
                .into_iter()
                .map(|(r, message, path)| Label {
                    region: region(r),
                    message,
                    path,
                })
                .collect(),
            confidence: self.confidence,
            confidence_reason: self.confidence_reason,
            fingerprint: self.fingerprint,
            fix: self.fix.map(|fix| Fix {
                message: fix.message,
                applicability: if fix.safe {
                    Applicability::Safe
                } else {
                    Applicability::Unsafe
                },
                edits: fix
                    .edits
                    .into_iter()
                    .map(|(r, replacement)| Edit {
                        region: region(r),
                        replacement,
                    })
                    .collect(),
            }),
        }
    }
}

impl WireEntry {
    fn from_entry(e: &FileEntry) -> Option<WireEntry> {
        let outcome = match &e.outcome {
            Outcome::Analysed(findings) => {
                WireOutcome::Analysed(findings.iter().map(WireFinding::from_finding).collect())
            }
            Outcome::Generated => WireOutcome::Generated,
            Outcome::TestNamed => WireOutcome::TestNamed,
            Outcome::NotAnalysed(reason) => WireOutcome::NotAnalysed(wire_reason(reason)?),
        };
        Some(WireEntry {
            outcome,
            prefiltered: e.prefiltered,
            suppressed: wire_suppressed(&e.suppressed),
            test_modules: wire_test_modules(&e.test_modules),
            summary: e.summary.as_ref().map(WireSummary::from_summary),
            candidates: e
                .candidates
                .iter()
                .map(|(rule, r, pending)| (rule.clone(), wire_region(r), pending.clone()))
                .collect(),
        })
    }

    fn into_entry(self, owner: &Owner<'_>) -> Option<FileEntry> {
        let outcome = match self.outcome {
            WireOutcome::Analysed(findings) => Outcome::Analysed(findings_of(findings)),
            WireOutcome::Generated => Outcome::Generated,
            WireOutcome::TestNamed => Outcome::TestNamed,
            WireOutcome::NotAnalysed(reason) => Outcome::NotAnalysed(reason_of(reason)),
        };
        Some(FileEntry {
            outcome,
            prefiltered: self.prefiltered,
            suppressed: suppressed_of(self.suppressed),
            test_modules: test_modules_of(self.test_modules),
            summary: self.summary.map(|s| s.into_summary(owner)),
            candidates: self
                .candidates
                .into_iter()
                .map(|(rule, r, pending)| (rule, region(r), pending))
                .collect(),
        })
    }
}

/// Whether the cache keeps a file that could not be analysed for this reason: only the reasons
/// that follow from its bytes and context (a read error, a panic, a file that is not regular
/// are tried again).
pub fn keeps_reason(reason: &NotAnalysed) -> bool {
    wire_reason(reason).is_some()
}

pub(crate) fn wire_reason(reason: &NotAnalysed) -> Option<WireNotAnalysed> {
    Some(match reason.clone() {
        NotAnalysed::Syntax {
            line,
            column,
            message,
        } => WireNotAnalysed::Syntax {
            line,
            column,
            message,
        },
        NotAnalysed::TooDeep { depth, limit } => WireNotAnalysed::TooDeep { depth, limit },
        NotAnalysed::TooManyTokens { tokens, limit } => {
            WireNotAnalysed::TooManyTokens { tokens, limit }
        }
        NotAnalysed::FunctionTooLarge {
            line,
            calls,
            expressions,
            limit,
        } => WireNotAnalysed::FunctionTooLarge {
            line,
            calls,
            expressions,
            limit,
        },
        NotAnalysed::NotUtf8
        | NotAnalysed::TooLarge { .. }
        | NotAnalysed::NotRegularFile { .. }
        | NotAnalysed::Io { .. }
        | NotAnalysed::Internal { .. } => return None,
    })
}

pub(crate) fn reason_of(reason: WireNotAnalysed) -> NotAnalysed {
    match reason {
        WireNotAnalysed::Syntax {
            line,
            column,
            message,
        } => NotAnalysed::Syntax {
            line,
            column,
            message,
        },
        WireNotAnalysed::TooDeep { depth, limit } => NotAnalysed::TooDeep { depth, limit },
        WireNotAnalysed::TooManyTokens { tokens, limit } => {
            NotAnalysed::TooManyTokens { tokens, limit }
        }
        WireNotAnalysed::FunctionTooLarge {
            line,
            calls,
            expressions,
            limit,
        } => NotAnalysed::FunctionTooLarge {
            line,
            calls,
            expressions,
            limit,
        },
    }
}

pub(crate) fn findings_of(findings: Vec<WireFinding>) -> Vec<Finding> {
    findings
        .into_iter()
        .map(WireFinding::into_finding)
        .collect()
}

pub(crate) fn wire_suppressed(suppressed: &[Suppressed]) -> Vec<(WireFinding, bool)> {
    suppressed
        .iter()
        .map(|s| {
            (
                WireFinding::from_finding(&s.finding),
                s.by == SuppressedBy::External,
            )
        })
        .collect()
}

pub(crate) fn suppressed_of(suppressed: Vec<(WireFinding, bool)>) -> Vec<Suppressed> {
    suppressed
        .into_iter()
        .map(|(finding, external)| Suppressed {
            finding: finding.into_finding(),
            by: if external {
                SuppressedBy::External
            } else {
                SuppressedBy::InSource
            },
        })
        .collect()
}

/// A `#[cfg(test)] mod` item: (name, `#[path]`).
pub(crate) type WireTestModule = (String, Option<String>);

pub(crate) fn wire_test_modules(modules: &[TestModule]) -> Vec<WireTestModule> {
    modules
        .iter()
        .map(|m| (m.name.clone(), m.path.clone()))
        .collect()
}

pub(crate) fn test_modules_of(modules: Vec<WireTestModule>) -> Vec<TestModule> {
    modules
        .into_iter()
        .map(|(name, path)| TestModule { name, path })
        .collect()
}
