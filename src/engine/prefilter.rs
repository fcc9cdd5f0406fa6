//! The file-level prefilter: a file in which no API entry's anchor words all appear as identifiers
//! cannot produce a finding, so it is not parsed. The words are derived from the catalogue's anchor
//! lists (never kept by hand), and `--no-prefilter` turns the skipping off to prove it changes nothing.
use std::collections::{BTreeMap, BTreeSet};

use aho_corasick::AhoCorasick;

use crate::catalogue::Catalogue;

/// The word sets an API entry cannot be used without, one per spelling of its path (the
/// re-export table may spell it differently); a file using the entry contains every word of at
/// least one set. A set is the item (`unbounded_channel`; for `Type::method`, the type: an alias
/// still names it in its `use` item) and the nearest module or crate segment before it (`mpsc`,
/// `http1`, `tokio`). A plain method name is its own single word.
pub fn anchor_terms(entry: &str) -> Vec<Vec<String>> {
    let path = entry.split("->").next().unwrap_or(entry).trim();
    let spellings = crate::engine::resolve::spellings(path);
    // The prelude reaches `std::vec::Vec` with no crate name written: then no spelling needs one.
    let prelude = spellings
        .first()
        .is_some_and(|canonical| crate::engine::resolve::via_prelude(canonical));
    let mut out: Vec<Vec<String>> = Vec::new();
    for terms in spellings
        .iter()
        .filter_map(|segs| spelling_terms(segs, !prelude))
    {
        if !out.contains(&terms) {
            out.push(terms);
        }
    }
    out
}

fn spelling_terms(segs: &[String], with_crate: bool) -> Option<Vec<String>> {
    let item_at = match segs {
        [] => return None,
        [.., ty, method]
            if ty.starts_with(char::is_uppercase) && method.starts_with(char::is_lowercase) =>
        {
            segs.len() - 2
        }
        _ => segs.len() - 1,
    };
    let mut terms = vec![segs[item_at].clone()];
    if item_at >= 1 {
        terms.push(segs[item_at - 1].clone());
    }
    // The crate's name too: a file's paths resolve to a crate only through a `use`, a path or an
    // `extern crate` that names it (or a Cargo rename, which the matcher maps back). The prelude is
    // the exception: `Vec` is `std::vec::Vec` with no `std` written.
    if with_crate && item_at >= 2 {
        terms.push(segs[0].clone());
    }
    Some(terms)
}

/// Every anchor conjunction of the catalogue, plus extra paths (configured API extensions).
pub fn anchor_conjunctions<'a>(
    catalogue: &Catalogue,
    extra: impl IntoIterator<Item = &'a String>,
) -> BTreeSet<Vec<String>> {
    let mut out: BTreeSet<Vec<String>> = catalogue
        .rules
        .iter()
        .flat_map(|r| {
            r.anchors
                .iter()
                .flat_map(move |anchor| anchor_product(r, anchor))
        })
        .collect();
    out.extend(extra.into_iter().flat_map(|e| anchor_terms(e)));
    out.remove(&Vec::new());
    out
}

/// The word sets of one anchor: a list's entries, or for `"a & b"` every union of a set of `a`
/// with a set of `b` (both must appear).
fn anchor_product(rule: &crate::catalogue::RuleDoc, anchor: &str) -> Vec<Vec<String>> {
    anchor
        .split('&')
        .map(|key| {
            rule.list(key.trim())
                .iter()
                .flat_map(|e| anchor_terms(e))
                .collect::<Vec<_>>()
        })
        .fold(vec![Vec::new()], |acc, sets| {
            acc.iter()
                .flat_map(|prefix| {
                    sets.iter().map(move |set| {
                        let mut union = prefix.clone();
                        union.extend(set.iter().filter(|w| !prefix.contains(w)).cloned());
                        union
                    })
                })
                .collect()
        })
}

/// Every word any rule list mentions: macro bodies without one of these are not worth parsing.
pub fn all_list_words(catalogue: &Catalogue) -> BTreeSet<String> {
    catalogue
        .rules
        .iter()
        .flat_map(|r| r.matches.values().flatten())
        .flat_map(|e| {
            let path = e.split("->").next().unwrap_or(e).trim();
            path.split("::").map(str::to_owned).collect::<Vec<_>>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

pub struct Prefilter {
    matcher: AhoCorasick,
    words: Vec<String>,
    /// Each conjunction as indices into `words`.
    conjunctions: Vec<Vec<usize>>,
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl Prefilter {
    pub fn new(conjunctions: BTreeSet<Vec<String>>) -> Prefilter {
        let words: Vec<String> = conjunctions
            .iter()
            .flatten()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let index = |w: &String| words.binary_search(w).unwrap_or(0);
        let conjunctions = conjunctions
            .iter()
            .map(|c| c.iter().map(index).collect())
            .collect();
        // Leftmost-longest, not overlapping: every word is a whole identifier, so a match that is
        // rejected (part of a longer identifier) ends inside that identifier, before the next one
        // starts, and no whole-word match can be skipped. A DFA scans fastest.
        let matcher = AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            // Its own prefilter (candidate start bytes) costs more than it skips: one anchor
            // word starts every 21 bytes of real code (`io`, `rt` inside identifiers).
            .prefilter(false)
            .build(&words)
            .unwrap_or_else(|e| panic!("anchor words form an invalid automaton: {e}"));
        Prefilter {
            matcher,
            words,
            conjunctions,
        }
    }

    /// Which words appear in `text` as whole identifiers; a Cargo rename (`renames`: alias → crate)
    /// found in the text counts as its crate's name, and a re-exported path (`reexports`:
    /// `common::mpsc` → `tokio::sync::mpsc`, `crate::chan` → the same) whose every segment is in
    /// the text counts as every segment of the path it stands for (a path through it spells the
    /// re-export's segments, through a `use` item at least, and the rest as written).
    fn present(
        &self,
        text: &str,
        renames: &std::collections::HashMap<String, String>,
        reexports: &[(Vec<String>, Vec<String>)],
    ) -> Vec<bool> {
        let bytes = text.as_bytes();
        let mut present = vec![false; self.words.len()];
        for m in self.matcher.find_iter(text) {
            let before = m.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(m.end()).copied();
            if !before.is_some_and(is_ident_byte) && !after.is_some_and(is_ident_byte) {
                present[m.pattern().as_usize()] = true;
            }
        }
        for (alias, krate) in renames {
            if let Ok(i) = self.words.binary_search(krate) {
                if !present[i] && contains_word(text, alias) {
                    present[i] = true;
                }
            }
        }
        for (from, to) in reexports {
            // Only a rewrite that would add a missing anchor word is worth the text scans.
            let missing: Vec<usize> = to
                .iter()
                .filter_map(|w| self.words.binary_search(w).ok())
                .filter(|&i| !present[i])
                .collect();
            if !missing.is_empty() && from.iter().rev().all(|w| contains_word(text, w)) {
                for i in missing {
                    present[i] = true;
                }
            }
        }
        present
    }

    /// [`Prefilter::may_fire_with`] for a file of the crate `info` describes (its Cargo renames
    /// and the re-exports of the workspace members it depends on).
    pub fn may_fire_for(&self, text: &str, info: &crate::manifest::CrateInfo) -> bool {
        let present = self.present(text, &info.renames, &info.reexports);
        self.conjunctions
            .iter()
            .any(|c| c.iter().all(|&i| present[i]))
    }

    /// True when every word of some anchor conjunction appears in `text`.
    pub fn may_fire_with(
        &self,
        text: &str,
        renames: &std::collections::HashMap<String, String>,
    ) -> bool {
        let present = self.present(text, renames, &[]);
        self.conjunctions
            .iter()
            .any(|c| c.iter().all(|&i| present[i]))
    }

    pub fn may_fire(&self, text: &str) -> bool {
        self.may_fire_with(text, &Default::default())
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }
}

/// Groups of words a file must mention to matter to the join of the summaries: some word of a
/// group's `names` (functions of the crate) and, when the group has any, some of its `context`
/// (a method's type, the calls that build a client). Whole identifiers only.
pub struct Mentions {
    groups: Vec<(AhoCorasick, Vec<String>)>,
    /// The groups, written out in order: two sets of words with the same spelling match alike.
    spelled: String,
}

impl Mentions {
    pub fn new(groups: BTreeMap<Vec<String>, BTreeSet<String>>) -> Mentions {
        let spelled = format!("{groups:?}");
        let groups = groups
            .into_iter()
            .filter(|(_, names)| !names.is_empty())
            .filter_map(|(context, names)| {
                let matcher = AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                    .build(&names)
                    .ok()?;
                Some((matcher, context))
            })
            .collect();
        Mentions { groups, spelled }
    }

    /// The words as text (for a cache's key of what a file mentions).
    pub fn spelled(&self) -> &str {
        &self.spelled
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    pub fn matches(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        self.groups.iter().any(|(names, context)| {
            let named = names.find_iter(text).any(|m| {
                let before = m.start().checked_sub(1).map(|i| bytes[i]);
                let after = bytes.get(m.end()).copied();
                !before.is_some_and(is_ident_byte) && !after.is_some_and(is_ident_byte)
            });
            named && (context.is_empty() || context.iter().any(|w| contains_word(text, w)))
        })
    }
}

/// The names of the functions of `text` whose bodies name one of `names`, read lexically: each
/// identifier in `names` is taken to be inside the last `fn` declared before it. An estimate
/// (a closure or a nested item counts for its enclosing function), used only to choose which
/// skipped files are worth parsing, so a wrong guess costs a parse or nothing, never a finding
/// that the parsed summaries would give.
pub fn lexical_callers(text: &str, names: &BTreeSet<String>) -> BTreeSet<String> {
    let mut callers = BTreeSet::new();
    let bytes = text.as_bytes();
    let (mut at, mut previous, mut current): (usize, &str, Option<&str>) = (0, "", None);
    while at < bytes.len() {
        if !is_ident_byte(bytes[at]) || bytes[at].is_ascii_digit() {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && is_ident_byte(bytes[at]) {
            at += 1;
        }
        // Identifier bytes are ASCII or part of a UTF-8 sequence: the slice stays on boundaries
        // because a sequence's bytes are all >= 0x80.
        let ident = &text[start..at];
        if previous == "fn" {
            current = Some(ident);
        } else if let Some(caller) = current.filter(|_| names.contains(ident)) {
            callers.insert(caller.to_owned());
        }
        previous = ident;
    }
    callers
}

/// Whether `word` appears in `text` as a whole identifier.
fn contains_word(text: &str, word: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(word).any(|(i, _)| {
        !i.checked_sub(1).is_some_and(|b| is_ident_byte(bytes[b]))
            && !bytes.get(i + word.len()).is_some_and(|&b| is_ident_byte(b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_terms_name_what_must_appear() {
        let terms = |e| anchor_terms(e);
        assert_eq!(
            terms("tokio::sync::mpsc::unbounded_channel -> tokio::sync::mpsc::channel(n)"),
            [["unbounded_channel", "mpsc", "tokio"]]
        );
        assert_eq!(
            terms("hyper::server::conn::http1::Builder::new"),
            [["Builder", "http1", "hyper"]]
        );
        // `tokio::spawn` is also spelled `tokio::task::spawn`.
        assert_eq!(
            terms("tokio::spawn"),
            [vec!["spawn", "tokio"], vec!["spawn", "task", "tokio"]]
        );
        // Reached through the prelude: no crate name need appear.
        assert_eq!(terms("std::vec::Vec::new"), [["Vec", "vec"]]);
        // `crossbeam_channel` may be written `crossbeam::channel`: one set per spelling.
        assert_eq!(
            terms("crossbeam_channel::unbounded"),
            [
                vec!["unbounded", "crossbeam_channel"],
                vec!["unbounded", "channel", "crossbeam"]
            ]
        );
        assert_eq!(
            terms("tower_service::Service"),
            [["Service", "tower_service"], ["Service", "tower"]]
        );
        assert_eq!(terms("notify_one"), [["notify_one"]]);
    }

    #[test]
    fn conjunctions_and_renames() {
        let p = Prefilter::new(
            [
                vec!["spawn".to_owned(), "tokio".to_owned()],
                vec!["unbounded".to_owned()],
            ]
            .into(),
        );
        assert!(p.may_fire("use tokio::spawn;"));
        assert!(!p.may_fire("fn spawn() {} // a local spawn"));
        assert!(p.may_fire("let x = flume::unbounded();"));
        assert!(!p.may_fire("let unbounded_x = 1;"));
        let renames = [("tk".to_owned(), "tokio".to_owned())].into();
        assert!(p.may_fire_with("tk::spawn(f)", &renames));
        assert!(!p.may_fire_with("tkx::spawn(f)", &renames));
    }

    #[test]
    fn lexical_callers_are_the_functions_around_a_mention() {
        let names: BTreeSet<String> = ["spawn_worker".to_owned()].into();
        let text = "fn quiet() { other(); }\nfn relay_one(c: C) {\n    let f = || spawn_worker(c);\n}\nimpl S { pub async fn hand(&self) { self.x.spawn_worker(); } }\nfn spawn_worker() {}\n";
        assert_eq!(
            lexical_callers(text, &names)
                .into_iter()
                .collect::<Vec<_>>(),
            ["hand", "relay_one"]
        );
        assert!(lexical_callers("spawn_worker(); // no fn before", &names).is_empty());
        assert!(lexical_callers("fn a() { spawn_workers(); }", &names).is_empty());
    }
}
