//! `--format github`: one GitHub Actions workflow command per finding, escaped as the runner expects.
use std::io::{self, Write};

use crate::diag::Level;
use crate::run::Report;

/// Escapes the message part of a workflow command.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (also `:` and `,`, which delimit properties).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn emit(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for f in report.findings() {
        let command = if f.level == Level::Deny {
            "error"
        } else {
            "warning"
        };
        writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&f.path),
            f.region.start.line,
            f.region.start.column,
            f.region.end.line,
            f.region.end.column,
            escape_property(&format!("backpressure: {}", f.rule)),
            escape_data(&match &f.confidence_reason {
                Some(reason) => format!(
                    "{}\nnote: medium confidence: {reason}\nhelp: {}",
                    f.message, f.help
                ),
                None => format!("{}\nhelp: {}", f.message, f.help),
            }),
        )?;
    }
    for (file, reason) in report.not_analysed() {
        writeln!(
            out,
            "::notice file={},title={}::{}",
            escape_property(&file.display),
            escape_property("backpressure: file not analysed"),
            escape_data(&reason.to_string())
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_percent_newlines_and_property_delimiters() {
        assert_eq!(escape_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
