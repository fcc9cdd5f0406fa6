//! Suppressions in code, applied centrally after the rules ran (rules never see comments):
//! `// backpressure:allow(rule-a, rule-b) reason` at the end of the flagged line, or alone on the
//! line above it; directly above an item it covers the whole item; `//! backpressure:allow(..)` among
//! the first lines of a file covers the file. Unknown ids and unused suppressions are findings of
//! their own (`invalid-suppression`, `unused-suppression`).
use std::ops::Range;

use crate::catalogue::Catalogue;
use crate::diag::Finding;
use crate::engine::RawFinding;
use crate::groups;
use crate::source::LineIndex;

pub const MARKER: &str = "backpressure:allow(";
pub const INVALID: &str = "invalid-suppression";
pub const UNUSED: &str = "unused-suppression";

/// The lines a suppression covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Lines(u32, u32),
    File,
}

#[derive(Debug, Clone)]
pub struct Suppression {
    pub scope: Scope,
    /// Each named rule, with its byte range in the file and whether it silenced something.
    pub rules: Vec<(String, Range<usize>, bool)>,
}

/// Finds the suppressions of a file; `items` are the line ranges of its items (with attributes).
pub fn parse(text: &str, items: &[(u32, u32)]) -> Vec<Suppression> {
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
            let comment = line[..at]
                .rfind("//")
                .filter(|&c| !line[..c].ends_with('`'));
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
                        items
                            .iter()
                            .filter(|(start, _)| *start == next)
                            .map(|(s, e)| Scope::Lines(*s, *e))
                            .max_by_key(|s| match s {
                                Scope::Lines(a, b) => b - a,
                                Scope::File => 0,
                            })
                            .unwrap_or(Scope::Lines(next, next))
                    };
                    let list_start = at + MARKER.len();
                    if let Some(close) = line[list_start..].find(')') {
                        let mut rules = Vec::new();
                        let mut pos = list_start;
                        for part in line[list_start..list_start + close].split(',') {
                            let lead = part.len() - part.trim_start().len();
                            let id = part.trim();
                            if !id.is_empty() {
                                let start = offset + pos + lead;
                                rules.push((id.to_owned(), start..start + id.len(), false));
                            }
                            pos += part.len() + 1;
                        }
                        out.push(Suppression { scope, rules });
                    }
                }
            }
        }
        in_header &= is_header_line;
        offset += line.len();
    }
    out
}

/// Takes out the findings a suppression covers (by rule id, family or `all`), marking those
/// suppressions used; returns the findings taken out, for `--report-suppressed`.
pub fn apply(findings: &mut Vec<Finding>, suppressions: &mut [Suppression]) -> Vec<Finding> {
    let catalogue = Catalogue::global();
    let mut hidden = Vec::new();
    findings.retain(|f| {
        let line = f.region.start.line;
        let mut suppressed = false;
        for s in suppressions.iter_mut() {
            let covers = match s.scope {
                Scope::File => true,
                Scope::Lines(a, b) => (a..=b).contains(&line),
            };
            if !covers {
                continue;
            }
            for (id, _, used) in &mut s.rules {
                if groups::covers(catalogue, id, &f.rule) {
                    *used = true;
                    suppressed = true;
                }
            }
        }
        if suppressed {
            hidden.push(f.clone());
        }
        !suppressed
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
}
