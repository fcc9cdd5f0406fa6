//! Code actions: each turns one finding into `CodeAction`s with workspace edits. A finding's own
//! fix (its rule's replacements, `src/fix.rs`) becomes a quick fix with those edits: a safe one is
//! the preferred action, an unsafe one says in its title that it changes behaviour. Every finding
//! also offers a suppression comment (`src/suppress.rs`'s syntax, alone on the line above: it
//! covers the next line, or the item that starts there). [`actions_for_findings`] orders them
//! across the findings at a place: safe fixes, then unsafe ones, then the suppressions.
//! [`fix_all_action`] is the document's "fix all" source action (`source.fixAll.backpressure`, as
//! ruff's `source.fixAll.ruff`): every safe fix at once, the edits `--fix` would write.
use std::collections::HashMap;
use std::ops::Range;

use lsp_types::{
    CodeAction, CodeActionKind, Diagnostic, Position, Range as LspRange, TextEdit, Uri,
    WorkspaceEdit,
};

use crate::diag::{Applicability, Finding, Fix};
use crate::fix;
use crate::suppress;

use super::convert::Utf16Index;

/// The reason the inserted suppression starts with: a suppression should say why, and the
/// placeholder says what is still to be written.
pub const REASON_PLACEHOLDER: &str = "TODO: say why this is bounded";

/// What an unsafe fix's title adds to its message: the client applies what it is offered
/// without `--unsafe-fixes`' review step, so the title says it.
pub const UNSAFE_TITLE_SUFFIX: &str = " (unsafe fix: changes behaviour, review it)";

/// The actions a finding offers, best first: its fix, then a suppression.
pub fn actions_for(
    finding: &Finding,
    diagnostic: &Diagnostic,
    index: &Utf16Index<'_>,
    uri: &Uri,
) -> Vec<CodeAction> {
    actions_for_findings([(finding, diagnostic)], index, uri)
}

/// The actions of several findings (those at the requested range), best first across them: the
/// safe fixes, the unsafe fixes, then the suppressions, each group in the findings' order.
pub fn actions_for_findings<'f>(
    found: impl IntoIterator<Item = (&'f Finding, &'f Diagnostic)>,
    index: &Utf16Index<'_>,
    uri: &Uri,
) -> Vec<CodeAction> {
    let mut ranked: Vec<(u8, CodeAction)> = Vec::new();
    for (finding, diagnostic) in found {
        let fix = finding.fix.as_ref().and_then(|fix| {
            let rank = match fix.applicability {
                Applicability::Safe => 0,
                Applicability::Unsafe => 1,
            };
            Some((rank, fix_action(fix, diagnostic, index, uri)?))
        });
        ranked.extend(fix);
        ranked.push((2, suppress_action(finding, diagnostic, index, uri)));
    }
    // Stable: within a rank, the findings' order.
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked.into_iter().map(|(_, action)| action).collect()
}

/// The kind of the "fix all" source action: under `source.fixAll`, so that an editor's
/// fix-on-save (`editor.codeActionsOnSave`, `only: ["source.fixAll"]`) finds it.
pub fn fix_all_kind() -> CodeActionKind {
    CodeActionKind::new("source.fixAll.backpressure")
}

/// Every safe fix of the document's findings as one source action: the fixes [`fix::apply`]
/// takes (one fix whole or not at all; one that overlaps a fix taken before it is left, as
/// `--fix` leaves it for the next run), with an edit two fixes share (the same `use`) made once.
/// None when no safe fix applies.
pub fn fix_all_action<'f>(
    findings: impl IntoIterator<Item = &'f Finding>,
    index: &Utf16Index<'_>,
    uri: &Uri,
) -> Option<CodeAction> {
    let findings: Vec<&Finding> = findings.into_iter().collect();
    let fixes: Vec<&Fix> = findings
        .iter()
        .filter_map(|f| f.fix.as_ref())
        .filter(|f| fix::Mode::Safe.allows(f.applicability))
        .collect();
    let applied = fix::apply(index.text(), &fixes);
    if applied.applied == 0 {
        return None;
    }
    let mut edits: Vec<(Range<usize>, &str)> = Vec::new();
    for &taken in &applied.taken {
        for edit in &fixes[taken].edits {
            let bytes = edit.bytes();
            if !edits
                .iter()
                .any(|(r, t)| *r == bytes && *t == edit.replacement)
            {
                edits.push((bytes, &edit.replacement));
            }
        }
    }
    let edits = text_edits(edits.into_iter(), index);
    let noun = if applied.applied == 1 { "fix" } else { "fixes" };
    Some(CodeAction {
        title: format!(
            "Fix all auto-fixable backpressure findings ({} safe {noun})",
            applied.applied
        ),
        kind: Some(fix_all_kind()),
        edit: Some(WorkspaceEdit::new(HashMap::from([(uri.clone(), edits)]))),
        ..CodeAction::default()
    })
}

/// A finding's fix as a quick fix, preferred when it is safe. None when an edit does not fit the
/// document (a range past its end or inside a character): the fix was computed from other text.
pub fn fix_action(
    fix: &Fix,
    diagnostic: &Diagnostic,
    index: &Utf16Index<'_>,
    uri: &Uri,
) -> Option<CodeAction> {
    let text = index.text();
    let replacements: Vec<(Range<usize>, String)> = fix
        .edits
        .iter()
        .map(|e| (e.bytes(), e.replacement.clone()))
        .collect();
    let fits = replacements.iter().all(|(r, _)| {
        r.start <= r.end
            && r.end <= text.len()
            && text.is_char_boundary(r.start)
            && text.is_char_boundary(r.end)
    });
    if !fits || replacements.is_empty() {
        return None;
    }
    let safe = fix.applicability == Applicability::Safe;
    let title = if safe {
        capitalised(&fix.message)
    } else {
        format!("{}{UNSAFE_TITLE_SUFFIX}", capitalised(&fix.message))
    };
    Some(replacements_action(
        title,
        &replacements,
        diagnostic,
        index,
        uri,
        safe,
    ))
}

/// A fix's message (written to follow "help: ") as a menu entry's title.
fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A quick fix that replaces byte ranges of the document `uri` (whose text `index` covers), attached
/// to `diagnostic`: the shape of a rule's fix.
pub fn replacements_action(
    title: String,
    replacements: &[(Range<usize>, String)],
    diagnostic: &Diagnostic,
    index: &Utf16Index<'_>,
    uri: &Uri,
    preferred: bool,
) -> CodeAction {
    let edits = text_edits(
        replacements.iter().map(|(r, t)| (r.clone(), t.as_str())),
        index,
    );
    edit_action(title, uri, edits, diagnostic, preferred)
}

/// Byte-range replacements of the document `index` covers, as LSP edits (UTF-16 positions).
fn text_edits<'t>(
    replacements: impl Iterator<Item = (Range<usize>, &'t str)>,
    index: &Utf16Index<'_>,
) -> Vec<TextEdit> {
    replacements
        .map(|(bytes, text)| {
            let range = LspRange::new(index.position(bytes.start), index.position(bytes.end));
            TextEdit::new(range, text.to_owned())
        })
        .collect()
}

/// A quick fix that applies `edits` to the document `uri`, attached to `diagnostic`.
pub fn edit_action(
    title: String,
    uri: &Uri,
    edits: Vec<TextEdit>,
    diagnostic: &Diagnostic,
    preferred: bool,
) -> CodeAction {
    CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic.clone()]),
        edit: Some(WorkspaceEdit::new(HashMap::from([(uri.clone(), edits)]))),
        is_preferred: Some(preferred),
        ..CodeAction::default()
    }
}

/// `// backpressure:allow(rule) reason` on its own line above the finding's first line, indented
/// like that line.
pub fn suppress_action(
    finding: &Finding,
    diagnostic: &Diagnostic,
    index: &Utf16Index<'_>,
    uri: &Uri,
) -> CodeAction {
    let line = diagnostic.range.start.line;
    let text = index.line_text(line);
    let indent = &text[..text.len() - text.trim_start().len()];
    let comment = format!(
        "{indent}// {marker}{rule}) {REASON_PLACEHOLDER}\n",
        marker = suppress::MARKER,
        rule = finding.rule
    );
    let at = Position::new(line, 0);
    let edit = TextEdit::new(LspRange::new(at, at), comment);
    edit_action(
        format!(
            "Suppress `{}` here with a backpressure:allow comment",
            finding.rule
        ),
        uri,
        vec![edit],
        diagnostic,
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacements_become_utf16_edits() {
        let text = "let s = \"é\"; let c = LinesCodec::new();\n";
        let index = Utf16Index::new(text);
        let uri: Uri = "file:///a.rs".parse().expect("uri");
        let call = text.find("new()").unwrap_or(0);
        let fix = [(
            call..call + "new()".len(),
            "new_with_max_length(8192)".to_owned(),
        )];
        let action = replacements_action(
            "Bound the line length".to_owned(),
            &fix,
            &Diagnostic::default(),
            &index,
            &uri,
            true,
        );
        let edits = &action.edit.expect("edit").changes.expect("changes")[&uri];
        // 'é' is two bytes, one UTF-16 unit: the edit starts one column before the byte offset.
        assert_eq!(edits[0].range.start, Position::new(0, call as u32 - 1));
        assert_eq!(edits[0].range.end, Position::new(0, call as u32 - 1 + 5));
        assert_eq!(edits[0].new_text, "new_with_max_length(8192)");
        assert_eq!(action.is_preferred, Some(true));
    }

    fn finding(rule: &str, fix: Option<(Applicability, std::ops::Range<usize>)>) -> Finding {
        let at = |byte| crate::diag::Position {
            line: 1,
            column: 1,
            byte,
        };
        let region = crate::diag::Region {
            start: at(0),
            end: at(1),
        };
        Finding {
            rule: rule.to_owned(),
            level: crate::diag::Level::Warn,
            path: "a.rs".to_owned(),
            region,
            message: String::new(),
            help: String::new(),
            labels: Vec::new(),
            confidence: crate::diag::Confidence::High,
            confidence_reason: None,
            fingerprint: String::new(),
            fix: fix.map(|(applicability, bytes)| Fix {
                message: format!("fix {rule}"),
                applicability,
                edits: vec![crate::diag::Edit {
                    region: crate::diag::Region {
                        start: at(bytes.start),
                        end: at(bytes.end),
                    },
                    replacement: "x".to_owned(),
                }],
            }),
        }
    }

    #[test]
    fn safe_fixes_come_first_then_unsafe_then_suppressions() {
        let text = "let a = 1;\nlet é = 2;\n";
        let index = Utf16Index::new(text);
        let uri: Uri = "file:///a.rs".parse().expect("uri");
        let unsafe_one = finding("u", Some((Applicability::Unsafe, 0..3)));
        let safe_one = finding("s", Some((Applicability::Safe, 4..5)));
        // Past the end, and inside 'é': computed from other text, not offered.
        let stale = finding("p", Some((Applicability::Safe, 90..95)));
        let split = finding("c", Some((Applicability::Safe, 16..16)));
        let d = Diagnostic::default();
        let found = [&unsafe_one, &safe_one, &stale, &split].map(|f| (f, &d));
        let titles: Vec<String> = actions_for_findings(found, &index, &uri)
            .into_iter()
            .map(|a| a.title)
            .collect();
        let suppress =
            |rule: &str| format!("Suppress `{rule}` here with a backpressure:allow comment");
        assert_eq!(
            titles,
            [
                "Fix s".to_owned(),
                format!("Fix u{UNSAFE_TITLE_SUFFIX}"),
                suppress("u"),
                suppress("s"),
                suppress("p"),
                suppress("c"),
            ]
        );
    }
}
