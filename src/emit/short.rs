//! `--format short`: `path:line:col: level[rule]: message`, one a line, for editors, grep and hooks.
use std::io::{self, Write};

use crate::diag::Level;
use crate::run::Report;

pub fn emit(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for f in report.findings() {
        let level = if f.level == Level::Deny {
            "error"
        } else {
            "warning"
        };
        writeln!(
            out,
            "{}:{}:{}: {level}[{}]: {}",
            f.path, f.region.start.line, f.region.start.column, f.rule, f.message
        )?;
    }
    for (file, reason) in report.not_analysed() {
        writeln!(out, "{}:1:1: note[not-analysed]: {reason}", file.display)?;
    }
    Ok(())
}
