//! Line index over one file's text (byte offsets to 1-based lines and code-point columns), and the
//! marker that starts a suppression comment.
use crate::diag::{Position, Region};

/// What starts a suppression comment; a file without it has none (the engine and the run check
/// this before they look for items or comments).
pub const SUPPRESSION_MARKER: &str = "backpressure:allow(";

pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        // rustc does not count a byte-order mark: line 1 starts after it.
        let first = if text.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        let mut line_starts = vec![first];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, line_starts }
    }

    /// The position of `byte` (clamped to the text, to a char boundary and past a BOM).
    pub fn position(&self, byte: usize) -> Position {
        let mut byte = byte.min(self.text.len()).max(self.line_starts[0]);
        while !self.text.is_char_boundary(byte) {
            byte -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= byte) - 1;
        let start = self.line_starts[line];
        let column = self.text[start..byte].chars().count();
        Position {
            line: (line + 1) as u32,
            column: (column + 1) as u32,
            byte,
        }
    }

    pub fn region(&self, bytes: std::ops::Range<usize>) -> Region {
        Region {
            start: self.position(bytes.start),
            end: self.position(bytes.end.max(bytes.start)),
        }
    }

    /// The text of 1-based `line`, without its line terminator.
    pub fn line_text(&self, line: u32) -> &'a str {
        let i = (line as usize)
            .saturating_sub(1)
            .min(self.line_starts.len() - 1);
        let start = self.line_starts[i];
        let end = self
            .line_starts
            .get(i + 1)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_code_points_and_ignore_crlf() {
        let idx = LineIndex::new("ab\r\nçd x\n");
        let p = idx.position(4 + 3); // after "çd" on line 2 ('ç' is two bytes)
        assert_eq!((p.line, p.column), (2, 3));
        assert_eq!(idx.line_text(1), "ab");
    }

    #[test]
    fn a_byte_order_mark_is_not_a_column() {
        let idx = LineIndex::new("\u{feff}fn f() {}\nx");
        let p = idx.position(3 + 3); // `f`, after the BOM and "fn "
        assert_eq!((p.line, p.column, p.byte), (1, 4, 6));
        assert_eq!(idx.position(0).column, 1);
        assert_eq!(idx.line_text(1), "fn f() {}");
        assert_eq!(idx.position(3 + 10).column, 1);
    }
}
