//! Suppressions in code, applied centrally after the rules ran (rules never see comments):
//! `// backpressure:allow(rule-a, rule-b) reason` at the end of the flagged line, or alone on the
//! line above it; directly above an item it covers the whole item; `//! backpressure:allow(..)` among
//! the first lines of a file covers the file. Unknown ids and unused suppressions are findings of
//! their own (`invalid-suppression`, `unused-suppression`).
use std::collections::HashMap;
use std::ops::Range;

use crate::catalogue::Catalogue;
use crate::diag::Finding;
use crate::engine::RawFinding;
use crate::groups;
use crate::source::LineIndex;

pub use crate::catalogue::{INVALID_SUPPRESSION as INVALID, UNUSED_SUPPRESSION as UNUSED};
pub use crate::source::SUPPRESSION_MARKER as MARKER;

/// The lines a suppression covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Lines(u32, u32),
    File,
}

/// Names one comment may list; more is surely not a real suppression (the catalogue has far fewer
/// rules), and the names beyond it are reported instead of parsed.
pub const MAX_NAMES: usize = 64;

#[derive(Debug, Clone)]
pub struct Suppression {
    pub scope: Scope,
    /// Each named rule, with its byte range in the file and whether it silenced something.
    pub rules: Vec<(String, Range<usize>, bool)>,
    /// The names after the first [`MAX_NAMES`], left unparsed.
    pub excess: Option<Range<usize>>,
}

/// Finds the suppressions of a file; `items` are the line ranges of its items (with attributes).
/// Linear in the size of the text.
pub fn parse(text: &str, items: &[(u32, u32)]) -> Vec<Suppression> {
    // The widest item starting on each line (a comment alone on its line covers it).
    let mut item_at: HashMap<u32, u32> = HashMap::new();
    for &(start, end) in items {
        let widest = item_at.entry(start).or_insert(end);
        *widest = (*widest).max(end);
    }
    let comments = line_comment_starts(text);
    let mut out = Vec::new();
    let mut offset = 0;
    let mut in_header = true;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let number = i as u32 + 1;
        let trimmed = line.trim_start();
        let is_header_line = trimmed.is_empty()
            || trimmed.starts_with("//")
            || trimmed.starts_with("#!")
            || trimmed.starts_with("/*")
            || trimmed.starts_with('*');
        if let Some(at) = line.find(MARKER) {
            // A quoted marker (in backticks, as in documentation) is text, not a suppression.
            // A `//` inside a string literal (test data, say) starts no comment.
            let comment = line[..at]
                .rfind("//")
                .filter(|&c| !line[..c].ends_with('`'))
                .filter(|&c| comments.binary_search(&(offset + c)).is_ok());
            if let Some(comment) = comment {
                let inner = line[comment + 2..at].trim_start_matches(['/', '!']).trim();
                let before = line[..comment].trim();
                if inner.is_empty() {
                    let file_level = line[comment..].starts_with("//!");
                    let scope = if file_level && in_header {
                        Scope::File
                    } else if !before.is_empty() {
                        Scope::Lines(number, number)
                    } else {
                        // Alone on its line: the next line, or the whole item that starts there.
                        let next = number + 1;
                        Scope::Lines(next, item_at.get(&next).copied().unwrap_or(next))
                    };
                    let list_start = at + MARKER.len();
                    if let Some(close) = line[list_start..].find(')') {
                        let list = &line[list_start..list_start + close];
                        let (rules, excess) = parse_names(list, offset + list_start);
                        out.push(Suppression {
                            scope,
                            rules,
                            excess,
                        });
                    }
                }
            }
        }
        in_header &= is_header_line;
        offset += line.len();
    }
    out
}

/// The byte offsets of every `//` that starts a line comment: outside string, byte-string, raw-string
/// and character literals and block comments. One pass over the text.
fn line_comment_starts(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                out.push(i);
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                // Block comments nest.
                let mut depth = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'r' if raw_string_hashes(b, i).is_some() => {
                let (hashes, body) = raw_string_hashes(b, i).unwrap_or((0, i + 1));
                i = body;
                loop {
                    if i >= b.len() {
                        break;
                    }
                    if b[i] == b'"'
                        && b[i + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|&&c| c == b'#')
                            .count()
                            == hashes
                    {
                        i += 1 + hashes;
                        break;
                    }
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'\'' => {
                // A character literal ('x', '\n', '\u{..}'), or a lifetime / label ('a).
                if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' && b[i] != b'\n' {
                        i += 1;
                    }
                    i += 1;
                } else if let Some(c) = text.get(i + 1..).and_then(|t| t.chars().next()) {
                    let after = i + 1 + c.len_utf8();
                    i = if b.get(after) == Some(&b'\'') {
                        after + 1
                    } else {
                        i + 1
                    };
                } else {
                    i += 1;
                }
            }
            b'b' | b'c' if b.get(i + 1) == Some(&b'r') && raw_string_hashes(b, i + 1).is_some() => {
                // `br"..."`, `cr#"..."#`: the raw string starts at the `r`.
                i += 1;
            }
            _ if b[i].is_ascii_alphanumeric() || b[i] == b'_' => {
                // A whole identifier, so an `r` inside one starts no raw string.
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// At `r` (after an optional `b`/`c` prefix): `r"` or `r#..#"` gives the number of hashes and the
/// offset after the opening quote.
fn raw_string_hashes(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut j = at + 1;
    let mut hashes = 0;
    while b.get(j) == Some(&b'#') {
        hashes += 1;
        j += 1;
    }
    (b.get(j) == Some(&b'"')).then_some((hashes, j + 1))
}

type Names = Vec<(String, Range<usize>, bool)>;

/// The comma-separated names of `list` (which starts at byte `at` of the file), at most
/// [`MAX_NAMES`]; the byte range of the rest, if any.
fn parse_names(list: &str, at: usize) -> (Names, Option<Range<usize>>) {
    let mut rules = Vec::new();
    let mut pos = 0;
    for part in list.split(',') {
        let lead = part.len() - part.trim_start().len();
        let id = part.trim();
        if !id.is_empty() {
            if rules.len() == MAX_NAMES {
                let rest = list[pos + lead..].trim_end();
                let start = at + pos + lead;
                return (rules, Some(start..start + rest.len()));
            }
            let start = at + pos + lead;
            rules.push((id.to_owned(), start..start + id.len(), false));
        }
        pos += part.len() + 1;
    }
    (rules, None)
}

/// Takes out the findings a suppression covers (by rule id, family or `all`), marking those
/// suppressions used; returns the findings taken out, for `--report-suppressed`. One sweep in line order: each finding looks only at the suppressions covering its
/// line (as many as there are nested items), and file-wide ones are looked up by rule.
pub fn apply(findings: &mut Vec<Finding>, suppressions: &mut [Suppression]) -> Vec<Finding> {
    let catalogue = Catalogue::global();
    // Rule id → the (suppression, name) pairs naming it file-wide; emptied once marked used, the
    // key staying to say the rule is silenced.
    let mut file_wide: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    let mut by_start: Vec<(u32, u32, usize)> = Vec::new();
    for (s, sup) in suppressions.iter().enumerate() {
        match sup.scope {
            Scope::File => {
                // A family or `all` stands for every rule it covers.
                for (n, (name, _, _)) in sup.rules.iter().enumerate() {
                    let covered = catalogue
                        .ids()
                        .filter(|id| *id != name && groups::covers(catalogue, name, id));
                    for id in std::iter::once(name.as_str()).chain(covered) {
                        file_wide.entry(id.to_owned()).or_default().push((s, n));
                    }
                }
            }
            Scope::Lines(a, b) => by_start.push((a, b, s)),
        }
    }
    by_start.sort_unstable();
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by_key(|&i| findings[i].region.start.line);
    let mut silenced = vec![false; findings.len()];
    let mut active: Vec<(u32, usize)> = Vec::new();
    let mut next = 0;
    for i in order {
        let line = findings[i].region.start.line;
        let rule = findings[i].rule.as_str();
        while next < by_start.len() && by_start[next].0 <= line {
            active.push((by_start[next].1, by_start[next].2));
            next += 1;
        }
        active.retain(|&(end, _)| end >= line);
        for &(_, s) in &active {
            for (id, _, used) in &mut suppressions[s].rules {
                if groups::covers(catalogue, id, rule) {
                    *used = true;
                    silenced[i] = true;
                }
            }
        }
        if let Some(names) = file_wide.get_mut(rule) {
            for (s, n) in std::mem::take(names) {
                suppressions[s].rules[n].2 = true;
            }
            silenced[i] = true;
        }
    }
    let mut hidden = Vec::new();
    let mut flags = silenced.into_iter();
    findings.retain(|f| {
        let silenced = flags.next().unwrap_or(false);
        if silenced {
            hidden.push(f.clone());
        }
        !silenced
    });
    hidden
}

/// Findings about the suppressions themselves: unknown ids, and (when asked) unused ones.
/// `enabled` says whether a rule reports anything here (a suppression of an allowed rule is not unused).
pub fn meta_findings(
    suppressions: &[Suppression],
    catalogue: &Catalogue,
    enabled: impl Fn(&str) -> bool,
) -> Vec<RawFinding> {
    let mut out = Vec::new();
    for s in suppressions {
        if let Some(range) = &s.excess {
            out.push(RawFinding {
                rule: INVALID,
                range: range.clone(),
                message: format!(
                    "this suppression names more than {MAX_NAMES} rules; the rest are ignored"
                ),
                help: "name each rule once (there are far fewer), or `all`".to_owned(),
                labels: Vec::new(),
                fix: None,
            });
        }
        for (id, range, used) in &s.rules {
            let family = groups::is_family(catalogue, id);
            if id != groups::ALL && !family && catalogue.get(id).is_none() {
                let help = match groups::suggest(catalogue, id, false) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "name one of: {}, or a family: {}",
                        catalogue.ids().collect::<Vec<_>>().join(", "),
                        groups::families(catalogue)
                            .into_iter()
                            .map(|(f, _)| f)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                out.push(RawFinding {
                    rule: INVALID,
                    range: range.clone(),
                    message: format!(
                        "`{id}` in this suppression is not a rule, so it silences nothing"
                    ),
                    help,
                    labels: Vec::new(),
                    fix: None,
                });
            } else if !used
                && (id == groups::ALL
                    || enabled(id)
                    || (family
                        && catalogue
                            .rules
                            .iter()
                            .any(|r| r.family == *id && enabled(&r.id))))
            {
                out.push(RawFinding {
                    rule: UNUSED,
                    range: range.clone(),
                    message: format!("this suppression of `{id}` silenced nothing"),
                    help: "remove it, or move it to the line (or the item) that the finding is on"
                        .to_owned(),
                    labels: Vec::new(),
                    fix: None,
                });
            }
        }
    }
    out
}

/// Converts item byte ranges to line ranges.
pub fn item_lines(index: &LineIndex<'_>, items: &[Range<usize>]) -> Vec<(u32, u32)> {
    items
        .iter()
        .map(|r| (index.position(r.start).line, index.position(r.end).line))
        .collect()
}

#[cfg(test)]
mod comment_tests {
    use super::*;

    #[test]
    fn markers_in_literals_are_not_comments() {
        let text = concat!(
            "let a = \"x // backpressure:allow(unbounded-channel)\";\n",
            "let b = r#\"y // backpressure:allow(unbounded-channel)\"#;\n",
            "let c = br\"z // backpressure:allow(unbounded-channel)\";\n",
            "let d = '\"'; let e = '€'; let f: &'static str = \"http://h\"; // backpressure:allow(unbounded-channel) real\n",
            "/* a /* nested */ // backpressure:allow(unbounded-channel) */\n",
        );
        let found = parse(text, &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].scope, Scope::Lines(4, 4));
    }

    #[test]
    fn the_lexer_ends_on_any_text() {
        for text in ["\"", "r#\"", "'", "'\\", "/*", "br#", "'€", "c", "\"\\"] {
            let _ = line_comment_starts(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        let src = "//! backpressure:allow(unbounded-queue)\nfn a() {} // backpressure:allow(unbounded-channel) reason\n// backpressure:allow(unbounded-concurrency, nope)\nfn b() {\n}\n";
        let s = parse(src, &[(2, 2), (4, 5)]);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].scope, Scope::File);
        assert_eq!(s[1].scope, Scope::Lines(2, 2));
        assert_eq!(s[2].scope, Scope::Lines(4, 5));
        assert_eq!(
            s[2].rules.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["unbounded-concurrency", "nope"]
        );
        let (_, range, _) = &s[2].rules[1];
        assert_eq!(&src[range.clone()], "nope");
        assert!(parse(
            "//! Write `// backpressure:allow(rule)` to silence a finding.\n",
            &[]
        )
        .is_empty());
    }

    #[test]
    fn names_beyond_the_cap_are_one_range_left_unparsed() {
        let names = vec!["x"; MAX_NAMES + 3].join(", ");
        let src = format!("fn a() {{}} // backpressure:allow({names} ) reason\n");
        let s = parse(&src, &[]);
        assert_eq!(s[0].rules.len(), MAX_NAMES);
        let excess = s[0].excess.clone().expect("excess");
        assert_eq!(&src[excess], "x, x, x");
    }

    fn finding(rule: &str, line: u32) -> Finding {
        let at = crate::diag::Position {
            line,
            column: 1,
            byte: 0,
        };
        Finding {
            rule: rule.to_owned(),
            level: crate::diag::Level::Warn,
            path: String::new(),
            region: crate::diag::Region { start: at, end: at },
            message: String::new(),
            help: String::new(),
            labels: Vec::new(),
            confidence: crate::diag::Confidence::High,
            confidence_reason: None,
            fingerprint: String::new(),
            fix: None,
        }
    }

    #[test]
    fn apply_honours_nested_items_lines_and_the_file_scope() {
        // 1-2: file-wide b (twice), 3: above the item on lines 4-9, 6: above the item on lines 7-8.
        let src = "//! backpressure:allow(b)\n//! backpressure:allow(b)\n// backpressure:allow(a)\nfn outer() {\n\n    // backpressure:allow(c)\n    fn inner() {\n    }\n}\nfn x() {} // backpressure:allow(c)\n";
        let mut s = parse(src, &[(4, 9), (7, 8), (10, 10)]);
        assert_eq!(s[2].scope, Scope::Lines(4, 9));
        assert_eq!(s[3].scope, Scope::Lines(7, 8));
        let mut findings = vec![
            finding("c", 8),
            finding("a", 5),
            finding("c", 5),
            finding("b", 20),
            finding("c", 10),
        ];
        let dropped = apply(&mut findings, &mut s);
        assert_eq!(dropped.len(), 4);
        // Only `c` on line 5 survives: line 5 is in `outer` (a) but not in `inner` (c).
        assert_eq!(findings.len(), 1);
        assert_eq!(
            (findings[0].rule.as_str(), findings[0].region.start.line),
            ("c", 5)
        );
        let used: Vec<bool> = s.iter().flat_map(|s| s.rules.iter().map(|r| r.2)).collect();
        assert_eq!(used, [true, true, true, true, true]);
    }
}
