//! The file-level prefilter: a file in which no rule's anchor word appears as an identifier cannot
//! produce a finding, so it is not parsed. The words are derived from the catalogue's anchor lists
//! (never kept by hand), and `--no-prefilter` turns the skipping off to prove it changes nothing.
use std::collections::BTreeSet;

use aho_corasick::AhoCorasick;

use crate::catalogue::Catalogue;

pub struct Prefilter {
    matcher: AhoCorasick,
    words: Vec<String>,
}

/// Whether `word` appears in `text` as a whole identifier.
fn contains_word(text: &str, word: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(word).any(|(i, _)| {
        !i.checked_sub(1).is_some_and(|b| is_ident_byte(bytes[b]))
            && !bytes.get(i + word.len()).is_some_and(|&b| is_ident_byte(b))
    })
}

/// The word an API entry cannot appear without: `tokio::sync::mpsc::unbounded_channel` →
/// `unbounded_channel`; `crossbeam_queue::SegQueue::new` → `SegQueue` (an alias still names the type
/// in its `use` item); a function right under a crate root, `ureq::get`, → the crate `ureq` (its own
/// name is too common a word; a Cargo rename of the crate is matched per file); a plain method
/// name is itself.
pub fn anchor_word(entry: &str) -> String {
    let path = entry.split("->").next().unwrap_or(entry).trim();
    let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        [krate, function] if function.starts_with(char::is_lowercase) => (*krate).to_owned(),
        [.., ty, method]
            if ty.starts_with(char::is_uppercase) && method.starts_with(char::is_lowercase) =>
        {
            (*ty).to_owned()
        }
        [.., last] => (*last).to_owned(),
        [] => String::new(),
    }
}

/// Every anchor word of the catalogue, plus extra paths (configured API extensions).
pub fn anchor_words<'a>(
    catalogue: &Catalogue,
    extra: impl IntoIterator<Item = &'a String>,
) -> BTreeSet<String> {
    let mut words: BTreeSet<String> = catalogue
        .rules
        .iter()
        .flat_map(|r| r.anchors.iter().flat_map(move |key| r.list(key)))
        .map(|e| anchor_word(e))
        .collect();
    words.extend(extra.into_iter().map(|e| anchor_word(e)));
    words.remove("");
    words
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

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl Prefilter {
    pub fn new(words: BTreeSet<String>) -> Prefilter {
        let words: Vec<String> = words.into_iter().collect();
        let matcher = AhoCorasick::new(&words)
            .unwrap_or_else(|e| panic!("anchor words form an invalid automaton: {e}"));
        Prefilter { matcher, words }
    }

    /// True when some anchor word, or a Cargo rename of an anchor crate (`renames`: alias → crate),
    /// appears in `text` as a whole identifier.
    pub fn may_fire_with(
        &self,
        text: &str,
        renames: &std::collections::HashMap<String, String>,
    ) -> bool {
        self.may_fire(text)
            || renames.iter().any(|(alias, krate)| {
                self.words.binary_search(krate).is_ok() && contains_word(text, alias)
            })
    }

    /// True when some anchor word appears in `text` as a whole identifier.
    pub fn may_fire(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        self.matcher.find_overlapping_iter(text).any(|m| {
            let before = m.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(m.end()).copied();
            !before.is_some_and(is_ident_byte) && !after.is_some_and(is_ident_byte)
        })
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_words_pick_the_name_that_must_appear() {
        assert_eq!(
            anchor_word("tokio::sync::mpsc::unbounded_channel -> tokio::sync::mpsc::channel(n)"),
            "unbounded_channel"
        );
        assert_eq!(anchor_word("crossbeam_queue::SegQueue::new"), "SegQueue");
        assert_eq!(
            anchor_word("futures::stream::FuturesUnordered"),
            "FuturesUnordered"
        );
        assert_eq!(anchor_word("notify_one"), "notify_one");
        assert_eq!(anchor_word("ureq::get"), "ureq");
        assert_eq!(anchor_word("tokio::net::TcpStream::connect"), "TcpStream");
    }

    #[test]
    fn matches_whole_identifiers_only() {
        let p = Prefilter::new(["unbounded".to_owned(), "spawn".to_owned()].into());
        assert!(p.may_fire("let x = flume::unbounded();"));
        assert!(!p.may_fire("let unbounded_x = 1; fn spawned() {}"));
        assert!(p.may_fire("spawn"));
        let renames = [("u".to_owned(), "spawn".to_owned())].into();
        assert!(p.may_fire_with("u::x()", &renames));
        assert!(!p.may_fire_with("you::x()", &renames));
    }
}
