//! `--statistics`: the number of findings of each rule, most frequent first, as ruff prints it:
//! count, rule, the rule's summary. With `--format json`, an array of `{count, rule, summary}`.
use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::catalogue::Catalogue;
use crate::run::Report;

#[derive(Serialize)]
struct Row<'a> {
    count: usize,
    rule: &'a str,
    summary: &'a str,
}

fn rows<'a>(report: &'a Report, catalogue: &'a Catalogue) -> Vec<Row<'a>> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in report.findings() {
        *counts.entry(f.rule.as_str()).or_default() += 1;
    }
    let mut rows: Vec<Row<'a>> = counts
        .into_iter()
        .map(|(rule, count)| Row {
            count,
            rule,
            summary: catalogue.get(rule).map_or("", |d| d.summary.as_str()),
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.rule.cmp(b.rule)));
    rows
}

/// The table: one rule a line, counts right-aligned.
pub fn emit_text(report: &Report, catalogue: &Catalogue, out: &mut dyn Write) -> io::Result<()> {
    let rows = rows(report, catalogue);
    let count_width = rows
        .iter()
        .map(|r| r.count.to_string().len())
        .max()
        .unwrap_or(1);
    let rule_width = rows.iter().map(|r| r.rule.len()).max().unwrap_or(0);
    for r in &rows {
        writeln!(
            out,
            "{:>count_width$}  {:rule_width$}  {}",
            r.count, r.rule, r.summary
        )?;
    }
    Ok(())
}

/// The same rows as a JSON array.
pub fn emit_json(report: &Report, catalogue: &Catalogue, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &rows(report, catalogue))?;
    writeln!(out)
}
