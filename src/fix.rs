//! Applying fixes (`--fix`, `--unsafe-fixes`, `--diff`): the chosen fixes of each file's findings
//! are applied to the text that was analysed, one fix whole or not at all. A fix whose edits
//! overlap one applied before it is left for the next run. Files are written atomically (a
//! temporary file in the same folder, renamed over the original) and only while their bytes are
//! still the ones analysed.
use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::diag::{Applicability, Edit, Finding, Fix};
use crate::run::{Outcome, Report};

/// Which fixes to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--fix`: the safe ones.
    Safe,
    /// `--unsafe-fixes`: the unsafe ones too.
    Unsafe,
}

impl Mode {
    pub fn allows(self, applicability: Applicability) -> bool {
        applicability == Applicability::Safe || self == Mode::Unsafe
    }
}

/// The result of applying fixes to one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub text: String,
    /// Fixes applied.
    pub applied: usize,
    /// Fixes left out because their edits overlap a fix applied before them.
    pub left: usize,
    /// The indices (in the slice given to [`apply`]) of the fixes applied.
    pub taken: Vec<usize>,
}

/// Applies `fixes` to `text` in the order of their place in the file (their last edit). An edit identical to one already
/// taken (the same `use` two fixes need) is shared, not repeated; a fix with an edit that overlaps
/// a taken one, or that does not fit the text, is left out whole.
pub fn apply(text: &str, fixes: &[&Fix]) -> Applied {
    let mut ordered: Vec<(usize, &Fix)> = fixes
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, f)| !f.edits.is_empty())
        .collect();
    // "First" by where the fix works, not by the `use` it may add at the top: its last edit.
    ordered.sort_by_key(|(_, f)| {
        f.edits
            .iter()
            .map(|e| (e.bytes().start, e.bytes().end))
            .max()
    });
    let mut taken: Vec<&Edit> = Vec::new();
    let mut taken_fixes = Vec::new();
    let mut applied = 0;
    let mut left = 0;
    for (index, fix) in ordered {
        let fits = fix.edits.iter().all(|e| {
            let r = e.bytes();
            r.start <= r.end
                && r.end <= text.len()
                && text.is_char_boundary(r.start)
                && text.is_char_boundary(r.end)
        });
        let new: Vec<&Edit> = fix.edits.iter().filter(|e| !taken.contains(e)).collect();
        let clashes = new.iter().any(|e| taken.iter().any(|t| overlaps(e, t)))
            || new
                .iter()
                .enumerate()
                .any(|(i, e)| new[i + 1..].iter().any(|o| overlaps(e, o)));
        if !fits || clashes {
            left += 1;
            continue;
        }
        taken.extend(new);
        taken_fixes.push(index);
        applied += 1;
    }
    // From the end, so that earlier offsets stay valid; at one offset a replacement goes before an
    // insertion, which then lands in front of it.
    taken.sort_by(|a, b| {
        let (ra, rb) = (a.bytes(), b.bytes());
        (rb.start, rb.end).cmp(&(ra.start, ra.end))
    });
    let mut out = text.to_owned();
    for edit in taken {
        out.replace_range(edit.bytes(), &edit.replacement);
    }
    taken_fixes.sort_unstable();
    Applied {
        text: out,
        applied,
        left,
        taken: taken_fixes,
    }
}

/// Two edits clash when their ranges share a byte, or when both insert at one offset (their order
/// would be a guess), or when one inserts strictly inside the other's range.
fn overlaps(a: &Edit, b: &Edit) -> bool {
    let (a, b) = (a.bytes(), b.bytes());
    if a.is_empty() && b.is_empty() {
        return a.start == b.start;
    }
    if a.is_empty() {
        return b.start < a.start && a.start < b.end;
    }
    if b.is_empty() {
        return a.start < b.start && b.start < a.end;
    }
    a.start < b.end && b.start < a.end
}

/// The fixes of one file that `mode` allows, in the file's findings.
pub fn chosen(findings: &[Finding], mode: Mode) -> Vec<&Fix> {
    findings
        .iter()
        .filter_map(|f| f.fix.as_ref())
        .filter(|f| mode.allows(f.applicability))
        .collect()
}

/// What fixing one file would do.
#[derive(Debug)]
pub struct FilePlan {
    pub path: std::path::PathBuf,
    pub display: String,
    pub before: String,
    pub after: Applied,
}

/// Why a file was not fixed.
#[derive(Debug)]
pub struct NotFixed {
    pub display: String,
    pub reason: String,
}

/// Fixes available in a report: (safe, unsafe).
pub fn available(report: &Report) -> (usize, usize) {
    let mut counts = (0, 0);
    for fix in report.findings().filter_map(|f| f.fix.as_ref()) {
        match fix.applicability {
            Applicability::Safe => counts.0 += 1,
            Applicability::Unsafe => counts.1 += 1,
        }
    }
    counts
}

/// Plans the fixes of every file of `report`: re-reads each file with a chosen fix and applies
/// them to its text, if its bytes are still those analysed.
pub fn plan(report: &Report, mode: Mode, max_bytes: u64) -> (Vec<FilePlan>, Vec<NotFixed>) {
    let mut plans = Vec::new();
    let mut refused = Vec::new();
    for file in &report.files {
        let Outcome::Analysed { findings } = &file.outcome else {
            continue;
        };
        let fixes = chosen(findings, mode);
        if fixes.is_empty() {
            continue;
        }
        let not_fixed = |reason: String| NotFixed {
            display: file.display.clone(),
            reason,
        };
        let before = match crate::input::read_regular_text(&file.path, max_bytes) {
            Ok(text) => text,
            Err(e) => {
                refused.push(not_fixed(format!("cannot read it again: {e}")));
                continue;
            }
        };
        if Some(digest(before.as_bytes())) != file.digest {
            refused.push(not_fixed("it changed since it was analysed".to_owned()));
            continue;
        }
        let after = apply(&before, &fixes);
        plans.push(FilePlan {
            path: file.path.clone(),
            display: file.display.clone(),
            before,
            after,
        });
    }
    (plans, refused)
}

pub fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Writes `after` over `path` atomically: a temporary file in the same folder with the original's
/// permissions, renamed over it, after checking once more that the file still holds `before`.
pub fn write(path: &Path, before: &str, after: &str) -> Result<(), String> {
    // A symbolic link stays one: the file it points to is replaced.
    let path = &std::fs::canonicalize(path).map_err(|e| format!("cannot read it again: {e}"))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".backpressure-fix")
        .tempfile_in(dir)
        .map_err(|e| format!("cannot create a temporary file in {}: {e}", dir.display()))?;
    temp.write_all(after.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| format!("cannot write a temporary file: {e}"))?;
    let metadata = std::fs::metadata(path).map_err(|e| format!("cannot read it again: {e}"))?;
    // Best effort: a file system without permissions (or a foreign owner) keeps the default ones.
    let _ = std::fs::set_permissions(temp.path(), metadata.permissions());
    let now = std::fs::read(path).map_err(|e| format!("cannot read it again: {e}"))?;
    if now != before.as_bytes() {
        return Err("it changed while the fixes were prepared".to_owned());
    }
    temp.persist(path)
        .map(|_| ())
        .map_err(|e| format!("cannot replace it: {}", e.error))
}

/// A unified diff of one file's fixes (`--diff`), with `a/` and `b/` headers as git writes them.
pub fn unified_diff(display: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{display}"), &format!("b/{display}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Position, Region};

    fn edit(start: usize, end: usize, replacement: &str) -> Edit {
        let at = |byte| Position {
            line: 1,
            column: byte as u32 + 1,
            byte,
        };
        Edit {
            region: Region {
                start: at(start),
                end: at(end),
            },
            replacement: replacement.to_owned(),
        }
    }

    fn fix(edits: Vec<Edit>) -> Fix {
        Fix {
            message: String::new(),
            applicability: Applicability::Safe,
            edits,
        }
    }

    #[test]
    fn overlapping_fixes_apply_the_first_and_leave_the_other() {
        let text = "abcdef";
        let first = fix(vec![edit(1, 3, "X")]);
        let second = fix(vec![edit(2, 4, "Y")]);
        let third = fix(vec![edit(4, 5, "Z")]);
        let applied = apply(text, &[&second, &third, &first]);
        assert_eq!(applied.text, "aXdZf");
        assert_eq!((applied.applied, applied.left), (2, 1));
    }

    #[test]
    fn a_shared_import_is_added_once_and_an_insertion_goes_before_a_replacement() {
        let text = "use a;\nfn f() { g(); h(); }\n";
        let import = edit(7, 7, "use b;\n");
        let one = fix(vec![edit(16, 17, "G"), import.clone()]);
        let two = fix(vec![edit(21, 22, "H"), import.clone()]);
        let at_start = fix(vec![edit(7, 9, "pub fn")]);
        let applied = apply(text, &[&one, &two, &at_start]);
        assert_eq!(applied.text, "use a;\nuse b;\npub fn f() { G(); H(); }\n");
        assert_eq!((applied.applied, applied.left), (3, 0));
    }

    #[test]
    fn an_edit_outside_the_text_or_off_a_char_boundary_is_left() {
        let text = "é";
        let outside = fix(vec![edit(1, 9, "x")]);
        let inside_char = fix(vec![edit(1, 2, "x")]);
        let applied = apply(text, &[&outside, &inside_char]);
        assert_eq!(applied.text, text);
        assert_eq!((applied.applied, applied.left), (0, 2));
    }
}
