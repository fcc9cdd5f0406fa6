//! `--format short`: `path:line:col: level[rule]: message`, one a line, for editors, grep and hooks.
//! Paths and messages are made printable, so a file's name or code cannot add or colour a line.
use std::io::{self, Write};

use super::printable;
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
            "{}:{}:{}: {level}[{}]: {}{}",
            printable::line(&f.path),
            f.region.start.line,
            f.region.start.column,
            f.rule,
            printable::line(&f.message),
            super::confidence_suffix(f)
        )?;
    }
    for (file, reason) in report.not_analysed() {
        writeln!(
            out,
            "{}:1:1: note[not-analysed]: {}",
            printable::line(&file.display),
            printable::line(&reason.to_string())
        )?;
    }
    Ok(())
}
