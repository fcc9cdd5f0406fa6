//! Whether a file shows that its package serves network peers (binds a listener, runs a server).
//! The scan is lexical, so it is the same for files the prefilter does not parse; the words are
//! data in `serving.toml`. The run joins the per-file answers per package (see `run`).
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServingFile {
    listeners: Vec<String>,
}

/// The first place a file shows a listener: its byte offset and the entry of `serving.toml` it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingEvidence {
    pub offset: usize,
    pub entry: &'static str,
}

pub struct ServingScan {
    /// Matches the first segment of every entry.
    first_words: AhoCorasick,
    /// Per first word (by pattern index): the entries that start with it, as their segments.
    entries: Vec<Vec<(&'static str, Vec<&'static str>)>>,
}

impl ServingScan {
    /// The scanner for the embedded `serving.toml`, built once per process.
    pub fn global() -> &'static ServingScan {
        static SCAN: OnceLock<ServingScan> = OnceLock::new();
        SCAN.get_or_init(|| {
            let file: ServingFile = toml::from_str(include_str!("serving.toml"))
                .unwrap_or_else(|e| panic!("src/engine/serving.toml is invalid: {e}"));
            let listeners: &'static [String] = Vec::leak(file.listeners);
            ServingScan::new(listeners)
        })
    }

    fn new(listeners: &'static [String]) -> ServingScan {
        let mut words: Vec<&'static str> = Vec::new();
        let mut entries: Vec<Vec<(&'static str, Vec<&'static str>)>> = Vec::new();
        for entry in listeners {
            let segments: Vec<&'static str> = entry.split("::").map(str::trim).collect();
            let first = segments[0];
            let index = match words.iter().position(|w| *w == first) {
                Some(i) => i,
                None => {
                    words.push(first);
                    entries.push(Vec::new());
                    words.len() - 1
                }
            };
            entries[index].push((entry.as_str(), segments[1..].to_vec()));
        }
        let first_words = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&words)
            .unwrap_or_else(|e| panic!("serving.toml words: {e}"));
        ServingScan {
            first_words,
            entries,
        }
    }

    /// The entry of `serving.toml` spelled `name` (for a scan read back from the cache).
    pub fn entry_named(&self, name: &str) -> Option<&'static str> {
        self.entries
            .iter()
            .flatten()
            .map(|(entry, _)| *entry)
            .find(|entry| *entry == name)
    }

    /// The first listener the text shows, outside line comments.
    pub fn find(&self, text: &str) -> Option<ServingEvidence> {
        let bytes = text.as_bytes();
        for m in self.first_words.find_iter(text) {
            let (start, end) = (m.start(), m.end());
            let before_ok = start == 0 || !is_ident_byte(bytes[start - 1]);
            let after_ok = end == bytes.len() || !is_ident_byte(bytes[end]);
            if !before_ok || !after_ok || in_line_comment(text, start) {
                continue;
            }
            for (entry, rest) in &self.entries[m.pattern().as_usize()] {
                if follows(&text[end..], rest) {
                    return Some(ServingEvidence {
                        offset: start,
                        entry,
                    });
                }
            }
        }
        None
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `rest` starts with `:: seg` for each segment, whitespace allowed around `::`.
fn follows(mut rest: &str, segments: &[&str]) -> bool {
    for seg in segments {
        let Some(after) = rest.trim_start().strip_prefix("::") else {
            return false;
        };
        let Some(after) = after.trim_start().strip_prefix(seg) else {
            return false;
        };
        if after.bytes().next().is_some_and(is_ident_byte) {
            return false;
        }
        rest = after;
    }
    true
}

fn in_line_comment(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..at];
    line.contains("//") || line.trim_start().starts_with('*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Option<&'static str> {
        ServingScan::global().find(text).map(|e| e.entry)
    }

    #[test]
    fn finds_listeners_as_written() {
        assert_eq!(
            found("let l = tokio::net::TcpListener::bind(addr).await?;"),
            Some("TcpListener")
        );
        assert_eq!(found("axum :: serve(listener, app)"), Some("axum::serve"));
        assert_eq!(
            found("Server::builder().add_service(svc)"),
            Some("Server::builder")
        );
        assert_eq!(
            found("conn.serve_connection_with_upgrades(io, svc)"),
            Some("serve_connection_with_upgrades")
        );
    }

    #[test]
    fn ignores_look_alikes_and_comments() {
        assert_eq!(found("struct MyTcpListenerPool;"), None);
        assert_eq!(found("// a TcpListener would go here\nfn main() {}"), None);
        assert_eq!(found("Server::new(); Server::builderish();"), None);
        assert_eq!(found("let client = reqwest::Client::new();"), None);
    }
}
