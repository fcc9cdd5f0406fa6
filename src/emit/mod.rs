//! Emitters: one module per output format, all reading the same [`Report`]. Nothing else prints.
pub mod github;
pub mod json;
pub mod printable;
pub mod sarif;
pub mod short;
pub mod statistics;
pub mod text;

use std::io::{self, Write};

use crate::catalogue::Catalogue;
use crate::run::Report;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style diagnostics with source snippets (the default).
    Text,
    /// `path:line:col: level[rule]: message`, one a line.
    Short,
    /// A stable JSON document (schema in the README).
    Json,
    /// SARIF 2.1.0 for GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
}

/// What every emitter may need besides the report.
pub struct EmitContext<'a> {
    pub catalogue: &'a Catalogue,
    pub color: bool,
    /// Absolute directory that relative paths in the report are relative to.
    pub base_dir: &'a std::path::Path,
    /// The size limit the run read files with (the text format reads them again, for snippets).
    pub max_file_bytes: u64,
}

pub fn emit(
    format: Format,
    report: &Report,
    cx: &EmitContext<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::emit(report, cx, out),
        Format::Short => short::emit(report, out),
        Format::Json => json::emit(report, out),
        Format::Sarif => sarif::emit(report, cx, out),
        Format::Github => github::emit(report, out),
    }
}

/// The one-line summary: what was read, what was skipped and why, findings by level.
pub fn summary_line(report: &Report) -> String {
    let exempt = report.exempt_counts();
    let levels = report.count_by_level();
    let not_analysed = report.not_analysed().count();
    let mut parts = vec![
        format!(
            "{} {} scanned",
            report.counts.scanned,
            plural(report.counts.scanned, "file")
        ),
        format!("{} analysed", report.analysed_count()),
    ];
    if not_analysed > 0 {
        parts.push(format!("{not_analysed} not analysed"));
    }
    for (kind, n) in &exempt {
        parts.push(format!("{n} skipped as {kind}"));
    }
    if report.suppressed > 0 {
        parts.push(format!("{} suppressed", report.suppressed));
    }
    if report.hidden_by_baseline > 0 {
        parts.push(format!(
            "{} hidden by the baseline",
            report.hidden_by_baseline
        ));
    }
    if report.counts.left_out_in_tools > 0 {
        parts.push(format!(
            "{} left out in tools that serve no peers",
            report.counts.left_out_in_tools
        ));
    }
    if report.hidden_by_confidence > 0 {
        parts.push(format!(
            "{} below the minimum confidence",
            report.hidden_by_confidence
        ));
    }
    if !report.walk_errors.is_empty() {
        parts.push(format!("{} paths not readable", report.walk_errors.len()));
    }
    let warnings = levels.get(&crate::diag::Level::Warn).copied().unwrap_or(0);
    let errors = levels.get(&crate::diag::Level::Deny).copied().unwrap_or(0);
    let mut line = format!(
        "{}; {} {}, {} {}",
        parts.join(", "),
        warnings,
        plural(warnings, "warning"),
        errors,
        plural(errors, "error")
    );
    if report.fixed > 0 {
        line.push_str(&format!("; {} fixed", report.fixed));
    }
    let (safe, unsafe_) = crate::fix::available(report);
    if safe + unsafe_ > 0 {
        line.push_str(" (");
        if safe > 0 {
            line.push_str(&format!("[*] {safe} fixable with `--fix`"));
        }
        if unsafe_ > 0 {
            let (lead, what) = if safe > 0 {
                (", ", "more")
            } else {
                ("", "fixable")
            };
            line.push_str(&format!(
                "{lead}{unsafe_} {what} with `--unsafe-fixes`, which change behaviour: review them"
            ));
        }
        line.push(')');
    }
    line
}

/// What a one-line format appends to a medium-confidence finding (nothing to a high one).
pub fn confidence_suffix(f: &crate::diag::Finding) -> &'static str {
    match f.confidence {
        crate::diag::Confidence::Medium => " (medium confidence)",
        crate::diag::Confidence::High => "",
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}
