//! `--format text`: rustc-style diagnostics rendered by codespan-reporting, then a summary line.
//! Sources are re-read one file at a time, so the run never holds every file's text.
use std::io::{self, Write};

use codespan_reporting::diagnostic::{Diagnostic, Label, Severity};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::termcolor::{Ansi, NoColor, WriteColor};
use codespan_reporting::term::{self, Config};

use super::{printable, EmitContext};
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
                // Unreadable now (changed since it was analysed): each finding falls back to a line.
                let source =
                    input::read_regular_text(&file.path, cx.max_file_bytes).unwrap_or_default();
                // rustc counts no column for a byte-order mark, and neither do the findings.
                let bom = if source.starts_with('\u{feff}') { 3 } else { 0 };
                let body = &source[bom..];
                let shown = printable::Source::new(body);
                let display = printable::line(&file.display);
                let files = SimpleFile::new(display.as_ref(), shown.text.as_ref());
                for f in findings {
                    let diagnostic =
                        diagnostic(f, |byte| shown.offset(body, byte.saturating_sub(bom)));
                    if term::emit_to_write_style(w, &config, &files, &diagnostic).is_err() {
                        writeln!(
                            w,
                            "{}:{}:{}: {}[{}]: {}{}",
                            printable::line(&f.path),
                            f.region.start.line,
                            f.region.start.column,
                            level_word(f.level),
                            f.rule,
                            printable::line(&f.message),
                            super::confidence_suffix(f)
                        )?;
                    }
                }
            }
            Outcome::NotAnalysed(reason) => {
                let d = Diagnostic::<()>::new(Severity::Note).with_message(printable::line(
                    &format!("{}: not analysed: {reason}", file.display),
                ));
                let files = SimpleFile::new("", "");
                let _ = term::emit_to_write_style(w, &config, &files, &d);
            }
            _ => {}
        }
    }
    for (path, message) in &report.walk_errors {
        let note = format!("note: {path}: not read: {message}");
        writeln!(w, "{}", printable::line(&note))?;
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

/// The finding as a diagnostic over the shown source: `shown` maps a byte offset of the file to one
/// of the shown text (clamped to it); quoted text in the messages is made printable too.
fn diagnostic(f: &Finding, shown: impl Fn(usize) -> usize) -> Diagnostic<()> {
    let severity = if f.level == Level::Deny {
        Severity::Error
    } else {
        Severity::Warning
    };
    let range = |r: &crate::diag::Region| shown(r.start.byte)..shown(r.end.byte);
    let mut labels = vec![Label::primary((), range(&f.region))];
    labels.extend(
        f.labels.iter().filter(|l| l.path.is_none()).map(|l| {
            Label::secondary((), range(&l.region)).with_message(printable::line(&l.message))
        }),
    );
    let mut notes = Vec::with_capacity(4);
    // A label in another file cannot be drawn over this one: it is named in a note.
    for l in &f.labels {
        if let Some(path) = &l.path {
            notes.push(
                printable::line(&format!(
                    "note: {path}:{}:{}: {}",
                    l.region.start.line, l.region.start.column, l.message
                ))
                .into_owned(),
            );
        }
    }
    // Only a medium finding says so: most findings are high, and a note on each would be noise.
    if let Some(reason) = &f.confidence_reason {
        notes.push(printable::line(&format!("note: medium confidence: {reason}")).into_owned());
    }
    notes.push(printable::line(&format!("help: {}", f.help)).into_owned());
    if let Some(fix) = &f.fix {
        let how = match fix.applicability {
            crate::diag::Applicability::Safe => "[*] fixable with `--fix`",
            crate::diag::Applicability::Unsafe => "fixable with `--unsafe-fixes` (review it)",
        };
        notes.push(printable::line(&format!("fix: {how}: {}", fix.message)).into_owned());
    }
    notes.extend([
        format!("for more, run `cargo backpressure --explain {}`", f.rule),
        format!("rule page: {}", crate::docs::page_url(&f.rule)),
    ]);
    Diagnostic::new(severity)
        .with_code(&f.rule)
        .with_message(printable::line(&format!(
            "{}{}",
            f.message,
            super::confidence_suffix(f)
        )))
        .with_labels(labels)
        .with_notes(notes)
}
