//! `--format json`: a stable, documented schema (version 1, described in the README).
use std::io::{self, Write};

use serde::Serialize;

use crate::diag::{Finding, NotAnalysed};
use crate::run::Report;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    summary: Summary,
    findings: Vec<&'a Finding>,
    not_analysed: Vec<NotAnalysedEntry<'a>>,
    walk_errors: Vec<WalkErrorEntry<'a>>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary {
    files_scanned: usize,
    files_analysed: usize,
    files_not_analysed: usize,
    /// Read but not parsed: no rule's anchor word appears in them.
    files_prefiltered: usize,
    skipped_test_code: usize,
    skipped_generated: usize,
    bytes_read: u64,
    warnings: usize,
    errors: usize,
    /// Fixes `--fix` applied before this report, and those the findings still offer.
    fixes_applied: usize,
    fixable_safe: usize,
    fixable_unsafe: usize,
}

#[derive(Serialize)]
struct NotAnalysedEntry<'a> {
    path: &'a str,
    reason: &'a NotAnalysed,
    message: String,
}

#[derive(Serialize)]
struct WalkErrorEntry<'a> {
    path: &'a str,
    message: &'a str,
}

pub fn emit(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let exempt = report.exempt_counts();
    let levels = report.count_by_level();
    let (fixable_safe, fixable_unsafe) = crate::fix::available(report);
    let doc = Document {
        version: 1,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        summary: Summary {
            files_scanned: report.counts.scanned,
            files_analysed: report.analysed_count(),
            files_not_analysed: report.not_analysed().count(),
            files_prefiltered: report.counts.prefiltered,
            skipped_test_code: exempt
                .get(&crate::diag::Exempt::TestCode)
                .copied()
                .unwrap_or(0),
            skipped_generated: exempt
                .get(&crate::diag::Exempt::Generated)
                .copied()
                .unwrap_or(0),
            bytes_read: report.bytes_read,
            warnings: levels.get(&crate::diag::Level::Warn).copied().unwrap_or(0),
            errors: levels.get(&crate::diag::Level::Deny).copied().unwrap_or(0),
            fixes_applied: report.fixed,
            fixable_safe,
            fixable_unsafe,
        },
        findings: report.findings().collect(),
        not_analysed: report
            .not_analysed()
            .map(|(f, r)| NotAnalysedEntry {
                path: &f.display,
                reason: r,
                message: r.to_string(),
            })
            .collect(),
        walk_errors: report
            .walk_errors
            .iter()
            .map(|(p, m)| WalkErrorEntry {
                path: p,
                message: m,
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
