//! Code actions: each turns one finding into a `CodeAction` with a workspace edit. For now the one
//! every finding has, a suppression comment (`src/suppress.rs`'s syntax, alone on the line above:
//! it covers the next line); the rules' own fixes become actions through [`edit_action`] when
//! findings carry them.
use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, Diagnostic, Position, Range, TextEdit, Uri, WorkspaceEdit,
};

use crate::diag::Finding;
use crate::suppress;

use super::convert::Utf16Index;

/// The reason the inserted suppression starts with: a suppression should say why, and the
/// placeholder says what is still to be written.
pub const REASON_PLACEHOLDER: &str = "TODO: say why this is bounded";

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
    let edit = TextEdit::new(Range::new(at, at), comment);
    edit_action(
        format!(
            "Suppress `{}` on this line with a backpressure:allow comment",
            finding.rule
        ),
        uri,
        vec![edit],
        diagnostic,
        false,
    )
}
