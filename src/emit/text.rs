//! `--format text`: rustc-style diagnostics rendered by codespan-reporting, then a summary line.
//! Sources are re-read one file at a time, so the run never holds every file's text.
use std::io::{self, Write};

use codespan_reporting::diagnostic::{Diagnostic, Label, Severity};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::termcolor::{Ansi, NoColor, WriteColor};
use codespan_reporting::term::{self, Config};

use super::EmitContext;
use crate::diag::{Finding, Level};
use crate::input;
use crate::run::{Outcome, Report};

pub fn emit(report: &Report, cx: &EmitContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    if cx.color {
        render(report, cx, &mut Ansi::new(out))
    } else {
        render(report, cx, &mut NoColor::new(out))
    }
}

fn render(report: &Report, cx: &EmitContext<'_>, w: &mut dyn WriteColor) -> io::Result<()> {
    let config = Config::default();
    for file in &report.files {
        match &file.outcome {
            Outcome::Analysed { findings } if !findings.is_empty() => {
                let source =
                    input::read_regular_text(&file.path, cx.max_file_bytes).unwrap_or_default();
                let files = SimpleFile::new(file.display.as_str(), source.as_str());
                for f in findings {
                    let diagnostic = diagnostic(f, source.len());
                    if term::emit_to_write_style(w, &config, &files, &diagnostic).is_err() {
                        // The file changed since it was analysed: fall back to one plain line.
                        writeln!(
                            w,
                            "{}:{}:{}: {}[{}]: {}",
                            f.path,
                            f.region.start.line,
                            f.region.start.column,
                            level_word(f.level),
                            f.rule,
                            f.message
                        )?;
                    }
                }
            }
            Outcome::NotAnalysed(reason) => {
                let d = Diagnostic::<()>::new(Severity::Note)
                    .with_message(format!("{}: not analysed: {reason}", file.display));
                let files = SimpleFile::new("", "");
                let _ = term::emit_to_write_style(w, &config, &files, &d);
            }
            _ => {}
        }
    }
    for (path, message) in &report.walk_errors {
        writeln!(w, "note: {path}: not read: {message}")?;
    }
    w.set_color(codespan_reporting::term::termcolor::ColorSpec::new().set_bold(true))?;
    writeln!(w, "{}", super::summary_line(report))?;
    w.reset()
}

fn level_word(level: Level) -> &'static str {
    if level == Level::Deny {
        "error"
    } else {
        "warning"
    }
}

fn diagnostic(f: &Finding, len: usize) -> Diagnostic<()> {
    let severity = if f.level == Level::Deny {
        Severity::Error
    } else {
        Severity::Warning
    };
    let clamp = |r: std::ops::Range<usize>| r.start.min(len)..r.end.min(len);
    let mut labels = vec![Label::primary(
        (),
        clamp(f.region.start.byte..f.region.end.byte),
    )];
    labels.extend(f.labels.iter().map(|l| {
        Label::secondary((), clamp(l.region.start.byte..l.region.end.byte)).with_message(&l.message)
    }));
    Diagnostic::new(severity)
        .with_code(&f.rule)
        .with_message(&f.message)
        .with_labels(labels)
        .with_notes(vec![
            format!("help: {}", f.help),
            format!("for more, run `cargo backpressure --explain {}`", f.rule),
        ])
}
