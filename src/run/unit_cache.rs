//! A unit's outcome in the cache: what a package's run (its files' counts and kept results, its
//! join decided) comes to, stored under one fingerprint of all its inputs, so that a warm run
//! over an unchanged package neither looks its files up one by one nor joins it again. It sits
//! in the run, whose results it keeps, above the cache's per-file entries it reuses.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{FileCounts, FileResult, Outcome as RunOutcome};
use crate::cache::entry::{
    findings_of, reason_of, suppressed_of, test_modules_of, wire_reason, wire_suppressed,
    wire_test_modules, WireFinding, WireOutcome, WireTestModule,
};
use crate::cache::{Cache, FileDigest, Fingerprint, Kind, Stamp};
use crate::crate_model::TestReason;
use crate::diag::Exempt;
use crate::engine::TestModule;

/// A unit's outcome after its join, as the run folds it: its files' counts, the bytes read, the
/// findings suppressed, the files kept (with findings, or not analysed; their candidates
/// decided) and the `#[cfg(test)] mod` items its loose files declare.
#[derive(Debug, Default)]
pub struct UnitOutcome {
    pub counts: FileCounts,
    pub bytes: u64,
    pub suppressed: usize,
    pub kept: Vec<FileResult>,
    pub test_modules: Vec<(PathBuf, Vec<TestModule>)>,
}

/// A unit's entry: under its name, with the fingerprint of all its inputs as both its digest and
/// its context (see `run.rs`'s `UnitKey`).
pub fn lookup_unit(cache: &Cache, unit: &str, inputs: &Fingerprint) -> Option<UnitOutcome> {
    let (wire, _) =
        cache.lookup_key::<WireUnit>(Kind::Unit, unit, inputs, None, Some(&inputs.0))?;
    wire.into_outcome(unit)
}

/// Stores a unit's outcome (not when a kept file's outcome is one the cache does not keep, or
/// its path is not UTF-8).
pub fn store_unit(cache: &Cache, unit: &str, inputs: &Fingerprint, outcome: &UnitOutcome) {
    if let Some(wire) = WireUnit::from_outcome(outcome) {
        cache.store_key(
            Kind::Unit,
            unit.to_owned(),
            inputs,
            Stamp::NONE,
            false,
            &inputs.0,
            &wire,
        );
    }
}

#[derive(Serialize, Deserialize)]
struct WireUnit {
    scanned: usize,
    analysed: usize,
    prefiltered: usize,
    exempt: Vec<(Exempt, usize)>,
    test_reasons: Vec<(TestReason, usize)>,
    left_out_in_tools: usize,
    bytes: u64,
    suppressed: usize,
    kept: Vec<WireKept>,
    /// (declaring file, its `#[cfg(test)] mod` items).
    test_modules: Vec<(String, Vec<WireTestModule>)>,
}

/// A kept file of a unit: its unit is the entry's.
#[derive(Serialize, Deserialize)]
struct WireKept {
    path: String,
    display: String,
    /// `Analysed` or `NotAnalysed` (no other outcome is kept).
    outcome: WireOutcome,
    prefiltered: bool,
    suppressed: Vec<(WireFinding, bool)>,
    digest: Option<FileDigest>,
}

impl WireUnit {
    fn from_outcome(o: &UnitOutcome) -> Option<WireUnit> {
        let kept = o
            .kept
            .iter()
            .map(|r| {
                let outcome = match &r.outcome {
                    RunOutcome::Analysed { findings } => WireOutcome::Analysed(
                        findings.iter().map(WireFinding::from_finding).collect(),
                    ),
                    RunOutcome::NotAnalysed(reason) => {
                        WireOutcome::NotAnalysed(wire_reason(reason)?)
                    }
                    RunOutcome::Exempt(_) => return None,
                };
                // Decided before the unit's outcome is kept.
                if !r.candidates.is_empty() {
                    return None;
                }
                Some(WireKept {
                    path: r.path.to_str()?.to_owned(),
                    display: r.display.clone(),
                    outcome,
                    prefiltered: r.prefiltered,
                    suppressed: wire_suppressed(&r.suppressed),
                    digest: r.digest,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let test_modules = o
            .test_modules
            .iter()
            .map(|(path, modules)| Some((path.to_str()?.to_owned(), wire_test_modules(modules))))
            .collect::<Option<Vec<_>>>()?;
        let c = &o.counts;
        Some(WireUnit {
            scanned: c.scanned,
            analysed: c.analysed,
            prefiltered: c.prefiltered,
            exempt: c.exempt.iter().map(|(e, n)| (*e, *n)).collect(),
            test_reasons: c.test_reasons.iter().map(|(r, n)| (*r, *n)).collect(),
            left_out_in_tools: c.left_out_in_tools,
            bytes: o.bytes,
            suppressed: o.suppressed,
            kept,
            test_modules,
        })
    }

    /// None for a kept file of an outcome never stored (see `from_outcome`): a bad entry.
    fn into_outcome(self, unit: &str) -> Option<UnitOutcome> {
        let kept = self
            .kept
            .into_iter()
            .map(|k| {
                let outcome = match k.outcome {
                    WireOutcome::NotAnalysed(reason) => RunOutcome::NotAnalysed(reason_of(reason)),
                    WireOutcome::Analysed(findings) => RunOutcome::Analysed {
                        findings: findings_of(findings),
                    },
                    WireOutcome::Generated | WireOutcome::TestNamed => return None,
                };
                Some(FileResult {
                    path: PathBuf::from(k.path),
                    display: k.display,
                    outcome,
                    prefiltered: k.prefiltered,
                    suppressed: suppressed_of(k.suppressed),
                    digest: k.digest,
                    candidates: Vec::new(),
                    unit: unit.to_owned(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(UnitOutcome {
            counts: FileCounts {
                scanned: self.scanned,
                analysed: self.analysed,
                prefiltered: self.prefiltered,
                exempt: self.exempt.into_iter().collect(),
                test_reasons: self.test_reasons.into_iter().collect(),
                left_out_in_tools: self.left_out_in_tools,
            },
            bytes: self.bytes,
            suppressed: self.suppressed,
            kept,
            test_modules: self
                .test_modules
                .into_iter()
                .map(|(path, modules)| (PathBuf::from(path), test_modules_of(modules)))
                .collect(),
        })
    }
}
