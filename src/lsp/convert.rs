//! From the finding model to LSP's: positions in UTF-16 code units (LSP's default encoding) computed
//! from the findings' byte offsets, severities from levels, and `file:` URIs to paths.
use std::path::PathBuf;

use lsp_types::{
    CodeDescription, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location,
    NumberOrString, Position, Range, Uri,
};

use crate::catalogue::Catalogue;
use crate::diag::{Confidence, Finding, Level, Region};
use crate::docs;

/// What every diagnostic of this server carries as its `source`.
pub const SOURCE: &str = "backpressure";

/// Byte offsets of one text to LSP positions: lines split at `\n` (as the findings' lines are), each
/// column counted in UTF-16 code units from the line's start.
pub struct Utf16Index<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Utf16Index<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Utf16Index { text, line_starts }
    }

    /// The position of `byte` (clamped to the text and back to a char boundary).
    /// The text the index covers.
    pub fn text(&self) -> &'a str {
        self.text
    }

    pub fn position(&self, byte: usize) -> Position {
        let mut byte = byte.min(self.text.len());
        while !self.text.is_char_boundary(byte) {
            byte -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= byte) - 1;
        let start = self.line_starts[line];
        let character = self.text[start..byte].encode_utf16().count();
        Position::new(
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(character).unwrap_or(u32::MAX),
        )
    }

    pub fn range(&self, region: &Region) -> Range {
        Range::new(
            self.position(region.start.byte),
            self.position(region.end.byte.max(region.start.byte)),
        )
    }

    /// The text of 0-based `line`, without its terminator (empty past the end).
    pub fn line_text(&self, line: u32) -> &'a str {
        let Some(&start) = self.line_starts.get(line as usize) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line as usize + 1)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

pub fn severity(level: Level) -> DiagnosticSeverity {
    match level {
        Level::Deny => DiagnosticSeverity::ERROR,
        // Allowed findings are never reported; a warning is the honest fallback.
        Level::Warn | Level::Allow => DiagnosticSeverity::WARNING,
    }
}

/// The rule's documentation page, when the catalogue has the rule (every catalogue rule has one).
pub fn rule_page(rule: &str) -> Option<Uri> {
    Catalogue::global().get(rule)?;
    docs::page_url(rule).parse().ok()
}

/// The finding as a diagnostic of the document `uri`. `data` names the rule, its fingerprint and
/// the primary line, for code actions.
pub fn diagnostic(finding: &Finding, index: &Utf16Index<'_>, uri: &Uri) -> Diagnostic {
    let mut message = finding.message.clone();
    if !finding.help.is_empty() {
        message.push_str("\nhelp: ");
        message.push_str(&finding.help);
    }
    if finding.confidence == Confidence::Medium {
        if let Some(reason) = &finding.confidence_reason {
            message.push_str(&format!("\nconfidence: medium ({reason})"));
        }
    }
    let related: Vec<DiagnosticRelatedInformation> = finding
        .labels
        .iter()
        .map(|label| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), index.range(&label.region)),
            message: label.message.clone(),
        })
        .collect();
    Diagnostic {
        range: index.range(&finding.region),
        severity: Some(severity(finding.level)),
        code: Some(NumberOrString::String(finding.rule.clone())),
        code_description: rule_page(&finding.rule).map(|href| CodeDescription { href }),
        source: Some(SOURCE.to_owned()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: Some(serde_json::json!({
            "rule": finding.rule,
            "fingerprint": finding.fingerprint,
            "line": finding.region.start.line,
        })),
    }
}

/// Whether `at` is inside `range` (both ends included: a cursor just after the call still hovers it).
pub fn contains(range: &Range, at: Position) -> bool {
    let key = |p: Position| (p.line, p.character);
    key(range.start) <= key(at) && key(at) <= key(range.end)
}

/// Whether two ranges share a position (ends included).
pub fn overlaps(a: &Range, b: &Range) -> bool {
    let key = |p: Position| (p.line, p.character);
    key(a.start) <= key(b.end) && key(b.start) <= key(a.end)
}

/// The local path of a `file:` URI, percent-decoded; `None` for other schemes (an unsaved
/// `untitled:` buffer has no package to be judged in).
pub fn file_path(uri: &Uri) -> Option<PathBuf> {
    let text = uri.as_str();
    let (scheme, rest) = text.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("file") {
        return None;
    }
    let rest = rest.strip_prefix("//")?;
    // The authority: empty or `localhost` for a local file.
    let slash = rest.find('/')?;
    let authority = &rest[..slash];
    if !(authority.is_empty() || authority.eq_ignore_ascii_case("localhost")) {
        return None;
    }
    let path = &rest[slash..];
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let decoded = String::from_utf8(percent_decode(path)).ok()?;
    // `file:///C:/x` names `C:/x` on Windows.
    #[cfg(windows)]
    let decoded = match decoded.as_bytes() {
        [b'/', drive, b':', ..] if drive.is_ascii_alphabetic() => decoded[1..].to_owned(),
        _ => decoded,
    };
    Some(PathBuf::from(decoded))
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_utf16_code_units_from_byte_offsets() {
        // 'é' is 2 bytes and 1 unit; '𝄞' is 4 bytes and 2 units (a surrogate pair).
        let text = "ab\né𝄞x\r\ny";
        let index = Utf16Index::new(text);
        let x = text.find('x').unwrap_or(0);
        assert_eq!(index.position(x), Position::new(1, 3));
        // Inside a multi-byte character: back to its start.
        assert_eq!(index.position(x - 1), Position::new(1, 1));
        assert_eq!(index.position(text.len()), Position::new(2, 1));
        assert_eq!(index.line_text(1), "é𝄞x");
    }

    #[test]
    fn file_uris_are_decoded_and_other_schemes_refused() {
        let uri: Uri = "file:///work/my%20crate/src/lib.rs".parse().expect("uri");
        assert_eq!(
            file_path(&uri),
            Some(PathBuf::from("/work/my crate/src/lib.rs"))
        );
        let remote: Uri = "file://server/share/a.rs".parse().expect("uri");
        assert_eq!(file_path(&remote), None);
        let untitled: Uri = "untitled:Untitled-1".parse().expect("uri");
        assert_eq!(file_path(&untitled), None);
    }
}
