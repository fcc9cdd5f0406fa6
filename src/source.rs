//! Line index over one file's text: byte offsets to 1-based lines and code-point columns.
use crate::diag::{Position, Region};

pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, line_starts }
    }

    /// The position of `byte` (clamped to the text and to a char boundary).
    pub fn position(&self, byte: usize) -> Position {
        let mut byte = byte.min(self.text.len());
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
}
