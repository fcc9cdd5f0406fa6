//! Text from the files under analysis (source lines, paths, messages quoting code) made safe for a
//! terminal, as rustc does: control characters become visible symbols, so an ESC or OSC sequence in
//! a file cannot drive the terminal, and a newline in a file name cannot forge a diagnostic line.
//! Every character is replaced by exactly one, so columns counted in the original still hold.
use std::borrow::Cow;

/// The visible stand-in for `c`, or `None` when `c` is safe to print. Tabs and newlines are the
/// caller's: source keeps them (the renderer expands tabs and splits lines), a one-line message
/// replaces them too.
fn stand_in(c: char) -> Option<char> {
    match c {
        // C0 controls → the Control Pictures block (␀ .. ␟), DEL → ␡.
        '\0'..='\u{1f}' => char::from_u32(0x2400 + c as u32),
        '\u{7f}' => Some('\u{2421}'),
        // C1 controls (some terminals take U+009B as CSI) and the bidirectional overrides and
        // isolates, which make the bytes on disk differ from what is shown.
        '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => Some('\u{fffd}'),
        _ => None,
    }
}

/// A one-line string (a path, a message, a note) for the terminal: tabs become spaces and every
/// control character, newlines included, a visible symbol.
pub fn line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| stand_in(c).is_some()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push_str("    "),
            _ => out.push(stand_in(c).unwrap_or(c)),
        }
    }
    Cow::Owned(out)
}

/// A source file for the terminal renderer: line breaks (`\n`, and `\r` right before one) and tabs
/// stay, every other control character becomes a visible symbol. Byte offsets into the original
/// map to offsets here with [`Source::offset`].
pub struct Source<'a> {
    pub text: Cow<'a, str>,
    /// Where each line of the original starts, in the original and here (only when they differ).
    line_starts: Vec<(usize, usize)>,
}

/// How the source renderer is given `c` (followed by `next`).
fn shown_in_source(c: char, next: Option<char>) -> char {
    match c {
        '\n' | '\t' => c,
        '\r' if next == Some('\n') => c,
        _ => stand_in(c).unwrap_or(c),
    }
}

/// Each char of `text` with its byte offset and how it is shown.
fn shown_chars(text: &str) -> impl Iterator<Item = (usize, char, char)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (i, c) = chars.next()?;
        Some((i, c, shown_in_source(c, chars.peek().map(|&(_, n)| n))))
    })
}

impl<'a> Source<'a> {
    pub fn new(original: &'a str) -> Source<'a> {
        if shown_chars(original).all(|(_, c, s)| c == s) {
            return Source {
                text: Cow::Borrowed(original),
                line_starts: Vec::new(),
            };
        }
        let mut text = String::with_capacity(original.len() + original.len() / 8);
        let mut line_starts = vec![(0, 0)];
        for (i, c, s) in shown_chars(original) {
            text.push(s);
            if c == '\n' {
                line_starts.push((i + 1, text.len()));
            }
        }
        Source {
            text: Cow::Owned(text),
            line_starts,
        }
    }

    /// The offset here of byte `byte` of the original (clamped to the text, rounded down to a
    /// char boundary). Costs the length of its line.
    pub fn offset(&self, original: &str, byte: usize) -> usize {
        if self.line_starts.is_empty() {
            return byte.min(original.len());
        }
        let mut byte = byte.min(original.len());
        while !original.is_char_boundary(byte) {
            byte -= 1;
        }
        let line = self.line_starts.partition_point(|&(o, _)| o <= byte) - 1;
        let (start, start_here) = self.line_starts[line];
        let mut here = start_here;
        let mut chars = original[start..].chars().peekable();
        let mut at = start;
        while at < byte {
            let Some(c) = chars.next() else { break };
            here += shown_in_source(c, chars.peek().copied()).len_utf8();
            at += c.len_utf8();
        }
        here
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_one_for_one() {
        assert_eq!(line("a\u{1b}]8;;x\u{7}b\nc\td"), "a␛]8;;x␇b␊c    d");
        assert_eq!(line("bidi \u{202e}x\u{9b}"), "bidi \u{fffd}x\u{fffd}");
        assert!(matches!(line("plain ünïcode"), Cow::Borrowed(_)));
    }

    #[test]
    fn source_keeps_line_breaks_and_tabs_and_maps_offsets() {
        let original = "a\r\n\tb\u{1b}[31mc\rd\ne";
        let s = Source::new(original);
        assert_eq!(s.text, "a\r\n\tb␛[31mc␍d\ne");
        for (i, _) in original.char_indices() {
            let here = s.offset(original, i);
            assert!(s.text.is_char_boundary(here), "{i} → {here}");
            assert_eq!(
                original[..i].chars().count(),
                s.text[..here].chars().count(),
                "{i}"
            );
        }
        assert_eq!(s.offset(original, original.len()), s.text.len());
        assert!(matches!(
            Source::new("fn f() {}\r\n").text,
            Cow::Borrowed(_)
        ));
    }
}
