//! Code actions: each turns one finding into `CodeAction`s with workspace edits. Today every
//! finding offers a suppression comment (`src/suppress.rs`'s syntax, alone on the line above: it
//! covers the next line, or the item that starts there). A rule's own fix, a list of byte-range
//! replacements in the file, becomes a preferred quick fix through [`replacements_action`] when
//! findings carry one: [`actions_for`] is the one place to add it.
use std::collections::HashMap;
use std::ops::Range;

use lsp_types::{
    CodeAction, CodeActionKind, Diagnostic, Position, Range as LspRange, TextEdit, Uri,
    WorkspaceEdit,
};

use crate::diag::Finding;
use crate::suppress;

use super::convert::Utf16Index;

/// The reason the inserted suppression starts with: a suppression should say why, and the
/// placeholder says what is still to be written.
pub const REASON_PLACEHOLDER: &str = "TODO: say why this is bounded";

/// The actions a finding offers, best first.
pub fn actions_for(
    finding: &Finding,
    diagnostic: &Diagnostic,
    index: &Utf16Index<'_>,
    uri: &Uri,
) -> Vec<CodeAction> {
    vec![suppress_action(finding, diagnostic, index, uri)]
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
    let edits = replacements
        .iter()
        .map(|(bytes, text)| {
            let range = LspRange::new(index.position(bytes.start), index.position(bytes.end));
            TextEdit::new(range, text.clone())
        })
        .collect();
    edit_action(title, uri, edits, diagnostic, preferred)
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
}
