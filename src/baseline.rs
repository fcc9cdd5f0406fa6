//! Baselines: `--write-baseline FILE` records the current findings by their line-independent
//! fingerprints; `--baseline FILE` hides those, so old findings stay hidden when lines shift and new
//! ones still fail the build.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diag::{Suppressed, SuppressedBy};
use crate::input;
use crate::run::{Outcome, Report};

/// Baselines above this size are refused (about a million findings).
pub const MAX_BASELINE_BYTES: u64 = 256 << 20;

#[derive(Debug, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub rule: String,
    pub fingerprint: String,
    /// For people reading the file; not used for matching.
    #[serde(default)]
    pub message: String,
}

impl Baseline {
    pub fn from_report(report: &Report) -> Baseline {
        let findings = report
            .findings()
            .map(|f| Entry {
                path: f.path.clone(),
                rule: f.rule.clone(),
                fingerprint: f.fingerprint.clone(),
                message: f.message.clone(),
            })
            .collect();
        Baseline {
            version: 1,
            findings,
        }
    }

    pub fn write(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n")
            .map_err(|e| format!("cannot write the baseline {}: {e}", path.display()))
    }

    pub fn read(path: &Path) -> Result<Baseline, String> {
        let text = input::read_regular_text(path, MAX_BASELINE_BYTES)
            .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
        let baseline: Baseline = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a baseline file: {e}", path.display()))?;
        if baseline.version != 1 {
            return Err(format!(
                "{}: unsupported baseline version {}",
                path.display(),
                baseline.version
            ));
        }
        Ok(baseline)
    }

    /// Moves the findings the baseline knows out of the report's findings and into each file's
    /// suppressed ones (for `--report-suppressed`); returns how many, and the entries that matched
    /// nothing.
    pub fn hide_known(&self, report: &mut Report) -> Hidden<'_> {
        let known: BTreeSet<(&str, &str, &str)> = self
            .findings
            .iter()
            .map(|e| (e.path.as_str(), e.rule.as_str(), e.fingerprint.as_str()))
            .collect();
        let mut matched: BTreeSet<(String, String, String)> = BTreeSet::new();
        let mut hidden = 0;
        for file in &mut report.files {
            if let Outcome::Analysed { findings } = &mut file.outcome {
                let mut kept = Vec::with_capacity(findings.len());
                for f in findings.drain(..) {
                    let key = (f.path.as_str(), f.rule.as_str(), f.fingerprint.as_str());
                    if known.contains(&key) {
                        matched.insert((f.path.clone(), f.rule.clone(), f.fingerprint.clone()));
                        hidden += 1;
                        file.suppressed.push(Suppressed {
                            finding: f,
                            by: SuppressedBy::External,
                        });
                    } else {
                        kept.push(f);
                    }
                }
                *findings = kept;
            }
        }
        let unmatched = self
            .findings
            .iter()
            .filter(|e| !matched.contains(&(e.path.clone(), e.rule.clone(), e.fingerprint.clone())))
            .collect();
        Hidden { hidden, unmatched }
    }
}

/// What applying a baseline did.
#[derive(Debug)]
pub struct Hidden<'b> {
    /// Findings hidden.
    pub hidden: usize,
    /// Entries no finding of this run matched.
    pub unmatched: Vec<&'b Entry>,
}

impl Hidden<'_> {
    /// The unmatched entries this run could have seen: their file is gone, or lies under one of
    /// `roots` (absolute) and was linted. Entries for files outside the run (a pre-commit run on
    /// the staged files) are not judged.
    pub fn stale(&self, base_dir: &Path, roots: &[PathBuf]) -> usize {
        self.unmatched
            .iter()
            .filter(|e| {
                let path = base_dir.join(&e.path);
                !path.exists() || roots.iter().any(|r| path.starts_with(r))
            })
            .count()
    }
}
